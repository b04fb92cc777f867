//! How long a connection may stay open. hyper-util's auto builder reads the first bytes to tell
//! HTTP/1 from HTTP/2 with no timeout, hyper's HTTP/1 header timeout starts only after that,
//! and HTTP/2 has no idle timeout at all; so the server keeps its own clock per connection,
//! counting requests rather than bytes:
//!
//! - before the first request: `header_timeout` from accept, covering the TLS handshake,
//!   protocol detection, the HTTP/2 preface and the first request's headers;
//! - afterwards: `idle_timeout` from the end of the last response whenever no request is in
//!   progress (HTTP/1.1 keep-alive, an HTTP/2 connection without streams, a half-sent next
//!   request alike). A request counts as in progress until its response body has been sent.
//!
//! When time is up the connection is shut down gracefully (HTTP/2: GOAWAY), and dropped if the
//! client still has not let go after [`CLOSE_AFTER`] without a request in progress.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// After a graceful shutdown, how long an idle client gets to close (to acknowledge HTTP/2's
/// GOAWAY ping) before the socket is dropped.
pub const CLOSE_AFTER: Duration = Duration::from_secs(1);

/// HTTP/2 keep-alive: a ping after this long without a frame from the client...
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
/// ...which must be acknowledged within this, or the connection is closed (a dead peer holding
/// streams open).
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection builder every listener uses (the SCIM port and the metrics port), HTTP/1.1
/// and HTTP/2 alike.
pub fn builder() -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    // No HTTP/1 header_read_timeout: hyper starts it at the end of the previous response, so
    // it would cut keep-alive at the header timeout; `drive` enforces both instead.
    // half_close: a client may send its request and shut down its sending side (`nc -N`,
    // some proxies); it still gets its answer.
    b.http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .half_close(true);
    b.http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    b
}

/// Requests in progress on one connection, and since when it has had none.
pub struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

struct ActivityState {
    in_progress: usize,
    idle_since: Instant,
    served: bool,
}

impl Activity {
    /// A connection accepted now: idle, no request yet.
    pub fn new() -> Self {
        Activity {
            state: Mutex::new(ActivityState {
                in_progress: 0,
                idle_since: Instant::now(),
                served: false,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request has arrived (its headers are parsed); it is in progress until the returned
    /// guard is dropped.
    pub fn begin(self: &std::sync::Arc<Self>) -> Busy {
        {
            let mut s = self.lock();
            s.in_progress += 1;
            s.served = true;
        }
        self.changed.notify_waiters();
        Busy(self.clone())
    }

    /// Resolves once the connection has been without a request in progress for
    /// `limit(served)` (`served`: whether any request arrived), counted from no earlier than
    /// `floor` when given.
    async fn idle_for(&self, limit: impl Fn(bool) -> Duration, floor: Option<Instant>) {
        loop {
            // Registered before the state is read, so no change in between is missed.
            let changed = self.changed.notified();
            let deadline = {
                let s = self.lock();
                (s.in_progress == 0)
                    .then(|| floor.map_or(s.idle_since, |f| s.idle_since.max(f)) + limit(s.served))
            };
            match deadline {
                None => changed.await,
                Some(d) if d <= Instant::now() => return,
                Some(d) => {
                    tokio::select! {
                        () = changed => {}
                        () = tokio::time::sleep_until(d) => {}
                    }
                }
            }
        }
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}

/// One request in progress.
pub struct Busy(std::sync::Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        {
            let mut s = self.0.lock();
            s.in_progress -= 1;
            if s.in_progress == 0 {
                s.idle_since = Instant::now();
            }
        }
        self.0.changed.notify_waiters();
    }
}

/// A response body that keeps its request in progress until hyper has sent it (or dropped it):
/// a long streamed answer is not mistaken for an idle connection.
pub struct TrackedBody<B> {
    inner: B,
    _busy: Busy,
}

impl<B> TrackedBody<B> {
    pub fn new(inner: B, busy: Busy) -> Self {
        TrackedBody { inner, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for TrackedBody<B>
where
    B::Data: Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Resolves when the server shuts down (or its signal is gone).
pub async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Timeouts [`drive`] enforces.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
    /// On server shutdown, how long requests in progress may still take.
    pub grace: Duration,
}

/// Runs connection `conn` until it ends, the client is idle too long, or the server stops;
/// `graceful` starts the connection's graceful shutdown.
pub async fn drive<C, T, F>(
    conn: C,
    graceful: F,
    activity: &Activity,
    timeouts: Timeouts,
    stop: &mut watch::Receiver<bool>,
) where
    C: Future<Output = T>,
    F: FnOnce(Pin<&mut C>),
{
    let mut conn = pin!(conn);
    let limit = |served: bool| {
        if served {
            timeouts.idle
        } else {
            timeouts.header
        }
    };
    let stopped = tokio::select! {
        _ = conn.as_mut() => return,
        () = activity.idle_for(limit, None) => false,
        () = stopping(stop) => true,
    };
    graceful(conn.as_mut());
    let closing = async {
        let since = Instant::now();
        tokio::select! {
            _ = conn.as_mut() => {}
            () = activity.idle_for(|_| CLOSE_AFTER, Some(since)) => {}
        }
    };
    if stopped {
        let _ = tokio::time::timeout(timeouts.grace, closing).await;
    } else {
        closing.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn idle_clock_runs_only_without_requests_in_progress() {
        let a = Arc::new(Activity::new());
        let limit = |served: bool| if served { 300 * MS } else { 100 * MS };
        // No request yet: the header timeout, from accept.
        let t0 = Instant::now();
        a.idle_for(limit, None).await;
        let took = t0.elapsed();
        assert!(took >= 100 * MS && took < 300 * MS, "{took:?}");
        // A request in progress stops the clock however long it takes.
        let busy = a.begin();
        let waiter = tokio::spawn({
            let a = a.clone();
            async move { a.idle_for(limit, None).await }
        });
        tokio::time::sleep(500 * MS).await;
        assert!(!waiter.is_finished());
        let ended = Instant::now();
        drop(busy);
        waiter.await.unwrap();
        // Then the idle timeout, from the end of the response.
        let took = ended.elapsed();
        assert!(took >= 300 * MS && took < 500 * MS, "{took:?}");
        // A floor restarts the count (the grace after a graceful shutdown).
        let floor = Instant::now();
        a.idle_for(|_| 100 * MS, Some(floor)).await;
        assert!(floor.elapsed() >= 100 * MS);
    }
}
