//! The per-user rate limit on writes (`USER_WRITE_RATE` per second, bursts of
//! `USER_WRITE_BURST`): one token cannot loop PlaceOrder (or any other write) faster
//! than a person would. GCRA by `governor`, keyed by the caller's user id, in this
//! instance's memory (with several gateways, each allows the rate: a bound, not an
//! exact quota). Refused writes are RESOURCE_EXHAUSTED / RATE_LIMITED (HTTP 429 with
//! `Retry-After`) and change nothing.

use std::{num::NonZeroU32, sync::Arc};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::error::Error;
use crate::ids::UserId;

#[derive(Clone)]
pub struct Throttle {
    limiter: Arc<DefaultKeyedRateLimiter<UserId>>,
}

impl Throttle {
    pub fn new(per_second: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Self {
            limiter: Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            )),
        }
    }

    /// Takes one write of `user`'s allowance, or refuses it.
    pub fn write(&self, user: UserId) -> Result<(), Error> {
        self.limiter.check_key(&user).map_err(|not_until| {
            let retry_after = not_until.wait_time_from(DefaultClock::default().now());
            metrics::counter!("shop_rate_limited_total").increment(1);
            Error::RateLimited { retry_after }
        })
    }

    /// Forgets users whose allowance is full again (their state says nothing), so the
    /// table holds only recent writers.
    pub fn forget_idle(&self) -> usize {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_common::status;
    use tonic::Code;

    #[test]
    fn a_burst_passes_then_writes_are_refused_per_user() {
        let throttle = Throttle::new(1, 3);
        let (busy, other) = (UserId::generate(), UserId::generate());
        for _ in 0..3 {
            assert!(throttle.write(busy).is_ok());
        }
        let refused = throttle.write(busy).unwrap_err().into_status();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        assert_eq!(status::reason(&refused).as_deref(), Some("RATE_LIMITED"));
        assert!(
            throttle.write(other).is_ok(),
            "another user has their own allowance"
        );
    }
}
