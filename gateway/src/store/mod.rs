//! The gateway's own SQL outside the saga log (which stays in `saga::log`).
//!
//! - [`offsets`]: where each event consumer is in the stream it follows.
//! - [`parked`]: events a consumer could not apply, parked for later and for operators.

pub mod offsets;
pub mod parked;
