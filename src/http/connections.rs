//! Connection caps: at most `max_total` open connections, and at most `max_per_address` from
//! one client address, so that one client holding thousands of idle sockets can neither run the
//! process out of file descriptors nor crowd out everybody else.
//!
//! A connection counts from `accept` until its task ends (TLS handshake included). The accept
//! loop asks for a [`Permit`] before spawning anything; a connection over a cap is closed at
//! once, which costs one `accept` and one `close` and never a task.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// Caps and timeouts of client connections, from `[server]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Open connections, all clients together.
    pub max_total: usize,
    /// Open connections from one client address (the TCP peer, never `X-Forwarded-For`).
    pub max_per_address: usize,
    /// From accept until the first request's headers are in: TLS handshake, HTTP/1-or-2
    /// detection and the HTTP/2 preface included.
    pub header_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for ConnectionSettings {
    /// The shipped defaults (see `config.toml`).
    fn default() -> Self {
        ConnectionSettings {
            max_total: 2048,
            max_per_address: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
        }
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Total,
    PerAddress,
}

impl Refused {
    /// The configuration key whose cap was hit, for the log.
    pub fn key(self) -> &'static str {
        match self {
            Refused::Total => "server.max_connections",
            Refused::PerAddress => "server.max_connections_per_address",
        }
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    /// Only addresses with an open connection: bounded by `max_total` entries.
    by_address: HashMap<IpAddr, usize>,
}

/// Counts open connections. Cheap to clone; every clone shares the counts.
#[derive(Clone)]
pub struct Connections {
    max_total: usize,
    max_per_address: usize,
    counts: Arc<Mutex<Counts>>,
    closed: Arc<Notify>,
}

impl Connections {
    pub fn new(settings: &ConnectionSettings) -> Self {
        Connections {
            max_total: settings.max_total.max(1),
            max_per_address: settings.max_per_address.max(1),
            counts: Arc::default(),
            closed: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A permit for one more connection from `ip`, or the cap it would exceed.
    pub fn try_open(&self, ip: IpAddr) -> Result<Permit, Refused> {
        let mut c = self.lock();
        if c.total >= self.max_total {
            return Err(Refused::Total);
        }
        let n = c.by_address.entry(ip).or_insert(0);
        if *n >= self.max_per_address {
            return Err(Refused::PerAddress);
        }
        *n += 1;
        c.total += 1;
        Ok(Permit {
            owner: self.clone(),
            ip,
        })
    }

    /// Open connections now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    /// Resolves once a connection has closed since the last call (or now, if one closed while
    /// nobody was waiting): a file descriptor may have come free.
    pub async fn one_closed(&self) {
        self.closed.notified().await;
    }

    /// Resolves when no connection is open.
    pub async fn all_closed(&self) {
        loop {
            let notified = self.closed.notified();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }

    fn release(&self, ip: IpAddr) {
        {
            let mut c = self.lock();
            c.total = c.total.saturating_sub(1);
            if let Some(n) = c.by_address.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    c.by_address.remove(&ip);
                }
            }
        }
        // Both the accept loop (backing off after EMFILE) and the shutdown wait listen.
        self.closed.notify_waiters();
        self.closed.notify_one();
    }
}

/// One open connection; dropping it (after the socket is closed) frees its place.
pub struct Permit {
    owner: Connections,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.owner.release(self.ip);
    }
}

/// Open files a process needs besides its client connections: standard streams, the
/// listeners, the runtime's event queue, database connections and SQLite's journal files, and
/// room to accept (and close) a connection over the cap.
pub const FD_RESERVE: u64 = 64;

/// The soft open-file limit (`ulimit -n`, systemd's `LimitNOFILE=`) of this process, when the
/// platform says (Linux: `/proc/self/limits`).
pub fn open_file_limit() -> Option<u64> {
    parse_open_file_limit(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

fn parse_open_file_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    if soft == "unlimited" {
        return Some(u64::MAX);
    }
    soft.parse().ok()
}

/// A warning when the caps allow more connections than the open-file limit can hold: past it
/// `accept` fails with EMFILE and new clients wait in the kernel's queue until some connection
/// closes (the accept loop backs off meanwhile), instead of being refused promptly.
pub fn fd_limit_warning(max_total: usize, extra: u64, limit: Option<u64>) -> Option<String> {
    let limit = limit?;
    let needed = max_total as u64 + FD_RESERVE + extra;
    (needed > limit).then(|| {
        format!(
            "server.max_connections = {max_total} needs about {needed} open files but the limit is {limit}; \
             raise it (LimitNOFILE= in the systemd unit, ulimit -n) or lower server.max_connections"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(total: usize, per: usize) -> Connections {
        Connections::new(&ConnectionSettings {
            max_total: total,
            max_per_address: per,
            ..Default::default()
        })
    }

    #[test]
    fn caps_count_per_address_and_in_total() {
        let c = conns(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = c.try_open(a).unwrap();
        let _p2 = c.try_open(a).unwrap();
        assert_eq!(c.try_open(a).err(), Some(Refused::PerAddress));
        let _p3 = c.try_open(b).unwrap();
        assert_eq!(c.try_open(b).err(), Some(Refused::Total));
        drop(p1);
        assert_eq!(c.open(), 2);
        let _p4 = c.try_open(b).expect("a place came free");
        assert_eq!(c.try_open(a).err(), Some(Refused::Total));
    }

    #[test]
    fn addresses_without_connections_are_forgotten() {
        let c = conns(10, 10);
        for i in 0..5u8 {
            drop(c.try_open(IpAddr::from([192, 0, 2, i])).unwrap());
        }
        assert!(c.lock().by_address.is_empty());
        assert_eq!(c.open(), 0);
    }

    #[tokio::test]
    async fn all_closed_waits_for_the_last_permit() {
        let c = conns(10, 10);
        let p = c.try_open("192.0.2.1".parse().unwrap()).unwrap();
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.all_closed().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(p);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken when the last connection closed")
            .unwrap();
    }

    #[test]
    fn reads_the_soft_open_file_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             63439                63439                processes \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_file_limit(text), Some(1024));
        assert_eq!(
            parse_open_file_limit(
                "Max open files            unlimited            unlimited            files"
            ),
            Some(u64::MAX)
        );
        assert_eq!(parse_open_file_limit("nothing here"), None);
        assert!(fd_limit_warning(2048, 4, Some(1024))
            .unwrap()
            .contains("LimitNOFILE"));
        assert_eq!(fd_limit_warning(2048, 4, Some(8192)), None);
        assert_eq!(fd_limit_warning(2048, 4, None), None);
    }
}
