//! Rate limits: per client address before authentication (slows token guessing), per token
//! after it. GCRA from governor: one atomic compare-and-swap per check, no lock on the hot path.
//!
//! Memory stays bounded however many addresses arrive: keys idle long enough to be
//! indistinguishable from new ones are dropped, and past `MAX_KEYS` distinct addresses the
//! overflow shares one limiter instead of growing the table.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Most addresses tracked individually.
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

fn quota(r: Rate) -> Option<Quota> {
    let per = NonZeroU32::new(r.per_second)?;
    Some(Quota::per_second(per).allow_burst(NonZeroU32::new(r.burst.max(1)).unwrap_or(per)))
}

pub struct Limits {
    by_address: Option<(DefaultKeyedRateLimiter<IpAddr>, DefaultDirectRateLimiter)>,
    by_token: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl Limits {
    /// A rate of 0 per second switches that limit off.
    pub fn new(per_address: Rate, per_token: Rate) -> Self {
        Limits {
            by_address: quota(per_address).map(|q| (RateLimiter::keyed(q), RateLimiter::direct(q))),
            by_token: quota(per_token).map(RateLimiter::keyed),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when the address is over its limit.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some((keyed, overflow)) = &self.by_address else {
            return Ok(());
        };
        let r = if keyed.len() >= MAX_KEYS {
            keyed.retain_recent();
            if keyed.len() >= MAX_KEYS {
                return overflow
                    .check()
                    .map_err(|n| n.wait_time_from(self.clock.now()));
            }
            keyed.check_key(&ip)
        } else {
            keyed.check_key(&ip)
        };
        r.map_err(|n| n.wait_time_from(self.clock.now()))
    }

    /// `Err(wait)` when the token (by name) is over its limit.
    pub fn check_token(&self, name: &str) -> Result<(), Duration> {
        let Some(keyed) = &self.by_token else {
            return Ok(());
        };
        keyed
            .check_key(&name.to_string())
            .map_err(|n| n.wait_time_from(self.clock.now()))
    }

    /// Drops idle keys; called periodically.
    pub fn housekeeping(&self) {
        if let Some((keyed, _)) = &self.by_address {
            keyed.retain_recent();
            keyed.shrink_to_fit();
        }
        if let Some(keyed) = &self.by_token {
            keyed.retain_recent();
        }
    }

    pub fn tracked_addresses(&self) -> usize {
        self.by_address.as_ref().map_or(0, |(k, _)| k.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_with_a_wait() {
        let l = Limits::new(
            Rate {
                per_second: 1,
                burst: 3,
            },
            Rate {
                per_second: 0,
                burst: 0,
            },
        );
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check_address(ip).is_ok());
        }
        let wait = l.check_address(ip).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(
            l.check_address("192.0.2.2".parse().unwrap()).is_ok(),
            "other addresses are not affected"
        );
        assert!(
            l.check_token("okta").is_ok(),
            "0 switches the token limit off"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let l = Limits::new(
            Rate {
                per_second: 1000,
                burst: 1000,
            },
            Rate {
                per_second: 1,
                burst: 1,
            },
        );
        for i in 0..(MAX_KEYS as u32 + 1000) {
            let _ = l.check_address(IpAddr::from(i.to_be_bytes()));
        }
        assert!(l.tracked_addresses() <= MAX_KEYS + 1);
    }
}
