//! delivery-svc API tests: the real App on a real socket, a fresh Postgres database per
//! test and a real Redis, called through the generated tonic client.

mod cancel;
mod confirm;
mod events;
mod helpers;
mod holds;
mod privacy;
mod receipts;
mod redis_down;
mod retention;
mod sentinel;
mod statuses;
