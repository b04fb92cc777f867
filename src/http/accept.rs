//! Accepting connections. When `accept` fails for lack of resources (EMFILE: out of file
//! descriptors; ENFILE, ENOBUFS, ENOMEM) retrying at once fails again, so the loop backs off —
//! 5 ms doubling up to 1 s, cut short as soon as one of our connections closes (which frees a
//! descriptor) — and logs at most one line a second, with the count of failures in between.
//! Errors that belong to one aborted connection are skipped without a pause.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

use super::connections::Connections;
use super::throttle::Throttle;

const BACKOFF_MIN: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

pub struct Acceptor {
    listener: TcpListener,
    backoff: Duration,
    log: Throttle,
}

/// An error about one connection that died in the queue (Linux hands pending network errors
/// of the new socket to `accept`): the next `accept` can succeed right away.
fn is_per_connection(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted
            | ConnectionReset
            | ConnectionRefused
            | Interrupted
            | WouldBlock
            | NetworkDown
            | NetworkUnreachable
            | HostUnreachable
    )
}

impl Acceptor {
    pub fn new(listener: TcpListener) -> Self {
        Acceptor {
            listener,
            backoff: Duration::ZERO,
            log: Throttle::per_second(),
        }
    }

    /// The next connection. Cancel-safe: dropping the future loses no connection.
    pub async fn accept(&mut self, connections: &Connections) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(accepted) => {
                    self.backoff = Duration::ZERO;
                    return accepted;
                }
                Err(e) if is_per_connection(&e) => debug!(cause = %e, "accept: connection lost"),
                Err(e) => {
                    self.backoff = (self.backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
                    if let Some(suppressed) = self.log.hit(Instant::now()) {
                        warn!(
                            cause = %e,
                            open_connections = connections.open(),
                            failures_since_last_line = suppressed,
                            "accept failed; backing off until a connection closes"
                        );
                    }
                    tokio::select! {
                        () = tokio::time::sleep(self.backoff) => {}
                        () = connections.one_closed() => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_errors_back_off_and_connection_errors_do_not() {
        assert!(is_per_connection(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
        // EMFILE and ENFILE come as "other" / uncategorized kinds.
        assert!(!is_per_connection(&io::Error::from_raw_os_error(24)));
        assert!(!is_per_connection(&io::Error::from_raw_os_error(23)));
    }
}
