//! Request limits that protect the bridge without refusing the identity provider.
//!
//! - **Failed authentications per client address** (`limits.failed_auth_per_second`,
//!   `failed_auth_burst`): only requests whose authentication *failed* are counted (GCRA from
//!   governor: one atomic compare-and-swap per check). Once an address is over its budget, its
//!   failing requests are answered 429 with `Retry-After` instead of 401. A request with a
//!   valid token is never counted, slowed or refused by this limit, whatever else its address
//!   sends — the identity provider may share a NAT or proxy address with anything. Its token is
//!   therefore always checked: a malformed one costs nothing, a well-formed wrong one costs one
//!   indexed lookup.
//! - **Requests in flight per token** (`limits.per_token_in_flight`, `per_token_queue`,
//!   `per_token_queue_timeout_ms`): admission by concurrency, not by rate. Each token has
//!   `in_flight` slots (a tokio semaphore, FIFO); a request finding them all taken waits in a
//!   queue of at most `queue` requests. It is refused (429) only when that queue is full, or
//!   when it waited longer than the queue timeout. A full-speed push therefore runs as fast as
//!   the database answers and is never refused for its speed alone. The router admits a request
//!   once its body has arrived (a slow upload holds no slot) and releases the slot when the
//!   answer is built.
//! - **Requests per second per token** (`limits.per_token_per_second`, `per_token_burst`): a
//!   plain rate limit, off by default.
//!
//! Every refusal is counted by reason (see [`Refusal`] and `metrics.rs`) and logged, the first
//! one at once and then at most one line per reason every [`LOG_EVERY`], with the count of the
//! refusals in between.
//!
//! Memory stays bounded however many addresses arrive: keys idle long enough to be
//! indistinguishable from new ones are dropped, and past `MAX_KEYS` distinct addresses the
//! overflow shares one limiter instead of growing the table.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::warn;

use super::throttle::Throttle;

/// Most addresses tracked individually.
pub const MAX_KEYS: usize = 100_000;

/// At most one log line per refusal reason this often.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// `Retry-After` for a request refused because its token's queue was full: a slot frees as
/// soon as one request ends, so a prompt retry is right.
const RETRY_QUEUE_FULL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    pub const OFF: Rate = Rate {
        per_second: 0,
        burst: 0,
    };
}

fn quota(r: Rate) -> Option<Quota> {
    let per = NonZeroU32::new(r.per_second)?;
    Some(Quota::per_second(per).allow_burst(NonZeroU32::new(r.burst).unwrap_or(per)))
}

/// Admission by concurrency, per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Requests of one token handled at once.
    pub in_flight: usize,
    /// Requests of one token waiting for a slot; 0: refuse at once when every slot is taken.
    pub queue: usize,
    /// Longest wait in the queue.
    pub queue_timeout: Duration,
}

/// What the limits are set to (from `[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    /// Failed authentications per client address; 0 per second switches it off.
    pub failed_auth: Rate,
    pub admission: Admission,
    /// Requests per token; 0 per second (the default) switches it off.
    pub token_rate: Rate,
}

/// Why a request was refused with 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its authentication failed, and its address has failed too often.
    FailedAuth,
    /// Its token's slots were taken and the queue was full.
    QueueFull,
    /// It waited in its token's queue longer than the queue timeout.
    QueueTimeout,
    /// Its token is over `limits.per_token_per_second`.
    TokenRate,
}

impl Refusal {
    pub const ALL: [Refusal; 4] = [
        Refusal::FailedAuth,
        Refusal::QueueFull,
        Refusal::QueueTimeout,
        Refusal::TokenRate,
    ];

    /// The `reason` label of `scim_bridge_refused_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::FailedAuth => "failed_auth",
            Refusal::QueueFull => "token_queue_full",
            Refusal::QueueTimeout => "token_queue_timeout",
            Refusal::TokenRate => "token_rate",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A refusal and how long the client should wait before retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub reason: Refusal,
    pub retry_after: Duration,
}

/// One token's slots and the requests waiting for one.
struct Gate {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// A request admitted: it holds one of its token's slots until dropped.
pub struct Admitted {
    _slot: OwnedSemaphorePermit,
}

/// Counts a request as waiting until dropped (admitted, timed out or cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub struct Limits {
    config: LimitConfig,
    failed_auth: Option<(DefaultKeyedRateLimiter<IpAddr>, DefaultDirectRateLimiter)>,
    token_rate: Option<DefaultKeyedRateLimiter<String>>,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
    logs: Mutex<[Throttle; Refusal::ALL.len()]>,
    clock: DefaultClock,
}

impl Limits {
    pub fn new(config: LimitConfig) -> Self {
        Limits {
            config,
            failed_auth: quota(config.failed_auth)
                .map(|q| (RateLimiter::keyed(q), RateLimiter::direct(q))),
            token_rate: quota(config.token_rate).map(RateLimiter::keyed),
            gates: Mutex::default(),
            logs: Mutex::new(std::array::from_fn(|_| Throttle::new(LOG_EVERY))),
            clock: DefaultClock::default(),
        }
    }

    pub fn config(&self) -> &LimitConfig {
        &self.config
    }

    /// Counts one failed authentication from `ip`: `Err` when the address is over its limit
    /// (the request is then answered 429 instead of 401).
    pub fn failed_auth(&self, ip: IpAddr) -> Result<(), Refused> {
        let Some((keyed, overflow)) = &self.failed_auth else {
            return Ok(());
        };
        let checked = if keyed.len() >= MAX_KEYS {
            keyed.retain_recent();
            if keyed.len() >= MAX_KEYS {
                overflow.check()
            } else {
                keyed.check_key(&ip)
            }
        } else {
            keyed.check_key(&ip)
        };
        checked.map_err(|n| {
            let refused = Refused {
                reason: Refusal::FailedAuth,
                retry_after: n.wait_time_from(self.clock.now()),
            };
            if let Some(suppressed) = self.log_hit(Refusal::FailedAuth) {
                warn!(
                    client = %ip,
                    limit = format!("{}/s, burst {}", self.config.failed_auth.per_second, self.config.failed_auth.burst),
                    refused_since_last_line = suppressed,
                    "too many failed authentications from this address: answering 429 until it slows down \
                     (requests with a valid token are not affected; limits.failed_auth_per_second)"
                );
            }
            refused
        })
    }

    /// Admits a request of token `name`: at once when one of its slots is free, after a wait
    /// in its queue otherwise. Cancel-safe: dropping the future leaves the queue.
    ///
    /// # Errors
    /// [`Refused`] when the token is over its rate, its queue is full, or the wait was too long.
    pub async fn admit(&self, name: &str) -> Result<Admitted, Refused> {
        if let Some(keyed) = &self.token_rate {
            if let Err(n) = keyed.check_key(&name.to_string()) {
                let wait = n.wait_time_from(self.clock.now());
                self.log_token(Refusal::TokenRate, name);
                return Err(Refused {
                    reason: Refusal::TokenRate,
                    retry_after: wait,
                });
            }
        }
        let gate = self.gate(name);
        // The semaphore is fair: while requests wait, no slot is free for a newcomer to take.
        if let Ok(slot) = gate.slots.clone().try_acquire_owned() {
            return Ok(Admitted { _slot: slot });
        }
        let a = &self.config.admission;
        if gate.waiting.fetch_add(1, Ordering::AcqRel) >= a.queue {
            gate.waiting.fetch_sub(1, Ordering::AcqRel);
            self.log_token(Refusal::QueueFull, name);
            return Err(Refused {
                reason: Refusal::QueueFull,
                retry_after: RETRY_QUEUE_FULL,
            });
        }
        let _waiting = Waiting(&gate.waiting);
        match tokio::time::timeout(a.queue_timeout, gate.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(Admitted { _slot: slot }),
            // The semaphore is never closed; treat it like a timeout all the same.
            Ok(Err(_)) | Err(_) => {
                self.log_token(Refusal::QueueTimeout, name);
                Err(Refused {
                    reason: Refusal::QueueTimeout,
                    // The database answers this token's requests slower than they arrive: come
                    // back after about one queue's worth of time.
                    retry_after: a.queue_timeout.max(Duration::from_secs(1)),
                })
            }
        }
    }

    fn gate(&self, name: &str) -> Arc<Gate> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(g) = gates.get(name) {
            return g.clone();
        }
        let g = Arc::new(Gate {
            slots: Arc::new(Semaphore::new(self.config.admission.in_flight.max(1))),
            waiting: AtomicUsize::new(0),
        });
        gates.insert(name.to_string(), g.clone());
        g
    }

    fn log_hit(&self, r: Refusal) -> Option<u64> {
        let mut logs = self
            .logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        logs[r.index()].hit(Instant::now())
    }

    fn log_token(&self, r: Refusal, name: &str) {
        let Some(suppressed) = self.log_hit(r) else {
            return;
        };
        let a = &self.config.admission;
        match r {
            Refusal::TokenRate => warn!(
                token = name,
                limit = format!("{}/s, burst {}", self.config.token_rate.per_second, self.config.token_rate.burst),
                refused_since_last_line = suppressed,
                "token over its request rate: answering 429 (limits.per_token_per_second; 0 switches it off)"
            ),
            _ => warn!(
                token = name,
                in_flight = a.in_flight,
                queue = a.queue,
                queue_timeout_ms = u64::try_from(a.queue_timeout.as_millis()).unwrap_or(u64::MAX),
                reason = r.as_str(),
                refused_since_last_line = suppressed,
                "token over its concurrency: answering 429 (if this is the identity provider's normal load, \
                 raise limits.per_token_in_flight with database.pool_size, or limits.per_token_queue)"
            ),
        }
    }

    /// Per token: (name, requests in flight, requests queued), for metrics.
    pub fn usage(&self) -> Vec<(String, usize, usize)> {
        let gates = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let total = self.config.admission.in_flight.max(1);
        let mut v: Vec<_> = gates
            .iter()
            .map(|(name, g)| {
                (
                    name.clone(),
                    total.saturating_sub(g.slots.available_permits()),
                    g.waiting.load(Ordering::Acquire),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// Drops idle keys and the gates of tokens with nothing in flight; called periodically.
    pub fn housekeeping(&self) {
        if let Some((keyed, _)) = &self.failed_auth {
            keyed.retain_recent();
            keyed.shrink_to_fit();
        }
        if let Some(keyed) = &self.token_rate {
            keyed.retain_recent();
        }
        let total = self.config.admission.in_flight.max(1);
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        gates.retain(|_, g| {
            Arc::strong_count(g) > 1
                || g.slots.available_permits() < total
                || g.waiting.load(Ordering::Acquire) > 0
        });
    }

    pub fn tracked_addresses(&self) -> usize {
        self.failed_auth.as_ref().map_or(0, |(k, _)| k.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn limits(failed_auth: Rate, in_flight: usize, queue: usize, timeout: Duration) -> Limits {
        Limits::new(LimitConfig {
            failed_auth,
            admission: Admission {
                in_flight,
                queue,
                queue_timeout: timeout,
            },
            token_rate: Rate::OFF,
        })
    }

    #[test]
    fn failed_authentications_burst_then_refuse_with_a_wait() {
        let l = limits(
            Rate {
                per_second: 1,
                burst: 3,
            },
            1,
            0,
            MS,
        );
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(l.failed_auth(ip).is_ok());
        }
        let r = l.failed_auth(ip).unwrap_err();
        assert_eq!(r.reason, Refusal::FailedAuth);
        assert!(r.retry_after > Duration::ZERO && r.retry_after <= Duration::from_secs(1));
        assert!(
            l.failed_auth("192.0.2.2".parse().unwrap()).is_ok(),
            "other addresses are not affected"
        );
        let off = limits(Rate::OFF, 1, 0, MS);
        for _ in 0..100 {
            assert!(off.failed_auth(ip).is_ok(), "0 per second switches it off");
        }
    }

    #[test]
    fn memory_is_bounded() {
        let l = limits(
            Rate {
                per_second: 1000,
                burst: 1000,
            },
            1,
            0,
            MS,
        );
        for i in 0..(u32::try_from(MAX_KEYS).unwrap() + 1000) {
            let _ = l.failed_auth(IpAddr::from(i.to_be_bytes()));
        }
        assert!(l.tracked_addresses() <= MAX_KEYS + 1);
    }

    #[tokio::test]
    async fn admission_queues_then_refuses_when_full_or_too_slow() {
        let l = Arc::new(limits(Rate::OFF, 2, 1, 200 * MS));
        let a1 = l.admit("okta").await.unwrap();
        let _a2 = l.admit("okta").await.unwrap();
        // Other tokens have their own slots.
        let _other = l.admit("entra").await.unwrap();
        // The third waits in the queue...
        let queued = tokio::spawn({
            let l = l.clone();
            async move { l.admit("okta").await.map(|_| ()) }
        });
        tokio::time::sleep(50 * MS).await;
        assert!(!queued.is_finished());
        assert_eq!(l.usage()[1], ("okta".to_string(), 2, 1));
        // ...so the fourth finds the queue full.
        let r = l.admit("okta").await.err().unwrap();
        assert_eq!(
            (r.reason, r.retry_after),
            (Refusal::QueueFull, RETRY_QUEUE_FULL)
        );
        // A slot frees: the queued request gets it.
        drop(a1);
        assert!(queued.await.unwrap().is_ok());
        // Both slots taken again (one by _a2, one by a new request), and a waiter that times out.
        let _a3 = l.admit("okta").await.unwrap();
        let started = Instant::now();
        let r = l.admit("okta").await.err().unwrap();
        assert_eq!(r.reason, Refusal::QueueTimeout);
        assert!(started.elapsed() >= 200 * MS);
        assert!(r.retry_after >= Duration::from_secs(1));
        assert_eq!(l.usage()[1].2, 0, "the waiter left the queue");
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_the_queue() {
        let l = limits(Rate::OFF, 1, 1, Duration::from_secs(10));
        let _a = l.admit("okta").await.unwrap();
        let _ = tokio::time::timeout(20 * MS, l.admit("okta")).await;
        assert_eq!(l.usage()[0], ("okta".to_string(), 1, 0));
        // The queue has room again: this one waits rather than being refused at once.
        assert!(tokio::time::timeout(20 * MS, l.admit("okta"))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn token_rate_is_off_by_default_and_works_when_set() {
        let l = Limits::new(LimitConfig {
            failed_auth: Rate::OFF,
            admission: Admission {
                in_flight: 100,
                queue: 0,
                queue_timeout: MS,
            },
            token_rate: Rate {
                per_second: 1,
                burst: 2,
            },
        });
        let _a = l.admit("okta").await.unwrap();
        let _b = l.admit("okta").await.unwrap();
        let r = l.admit("okta").await.err().unwrap();
        assert_eq!(r.reason, Refusal::TokenRate);
    }

    #[tokio::test]
    async fn housekeeping_forgets_idle_gates_only() {
        let l = limits(Rate::OFF, 1, 0, MS);
        let busy = l.admit("busy").await.unwrap();
        drop(l.admit("idle").await.unwrap());
        l.housekeeping();
        let names: Vec<String> = l.usage().into_iter().map(|u| u.0).collect();
        assert_eq!(names, vec!["busy".to_string()]);
        drop(busy);
    }
}
