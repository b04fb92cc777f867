//! Accept loop with connection caps and graceful shutdown: on the shutdown signal the listener
//! closes (new connections are refused), in-flight requests get `grace` to finish, then the
//! server returns.
//!
//! Each connection runs in its own task under [`lifetime::drive`], which closes connections
//! that are silent too long (before or between requests); the caps are in [`connections`],
//! the accept back-off in [`accept`].
//!
//! [`lifetime::drive`]: super::lifetime::drive
//! [`connections`]: super::connections
//! [`accept`]: super::accept

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::accept::Acceptor;
use super::connections::{Connections, Permit};
use super::lifetime::{self, Activity, Timeouts, TrackedBody};
use super::router::handle;
use super::state::State;
use super::throttle::Throttle;

/// Serves plain HTTP until `shutdown` resolves, then drains for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    serve_with_tls(listener, state, shutdown, grace, None).await;
}

/// What every connection task shares.
struct Shared {
    state: Arc<State>,
    builder: Builder<TokioExecutor>,
    tls: Option<Arc<super::tls::Tls>>,
    timeouts: Timeouts,
    stop: watch::Receiver<bool>,
}

/// As [`serve`], terminating TLS when `tls` is given.
pub async fn serve_with_tls(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    tls: Option<Arc<super::tls::Tls>>,
) {
    let settings = state.http.connections;
    let connections = Connections::new(&settings);
    let (stop_tx, stop) = watch::channel(false);
    let shared = Arc::new(Shared {
        state: state.clone(),
        builder: lifetime::builder(),
        tls,
        timeouts: Timeouts {
            header: settings.header_timeout,
            idle: settings.idle_timeout,
            grace,
        },
        stop,
    });
    // Forget idle rate-limit keys now and then; ends with the server.
    let weak = Arc::downgrade(&state);
    drop(state);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            match weak.upgrade() {
                Some(s) => s.limits.housekeeping(),
                None => return,
            }
        }
    });
    let mut acceptor = Acceptor::new(listener);
    let mut refused_log = Throttle::per_second();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            (stream, peer) = acceptor.accept(&connections) => {
                match connections.try_open(peer.ip()) {
                    Ok(permit) => {
                        tokio::spawn(connection(stream, peer, permit, shared.clone()));
                    }
                    Err(cap) => {
                        // Closed at once: no task, no read, no answer to build.
                        drop(stream);
                        if let Some(suppressed) = refused_log.hit(Instant::now()) {
                            warn!(
                                client = %peer.ip(),
                                cap = cap.key(),
                                open_connections = connections.open(),
                                refused_since_last_line = suppressed,
                                "connection refused: over the cap"
                            );
                        }
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(acceptor);
    let _ = stop_tx.send(true);
    info!(
        in_flight_connections = connections.open(),
        "shutting down: listener closed, draining"
    );
    tokio::select! {
        () = connections.all_closed() => info!("all connections closed"),
        () = tokio::time::sleep(grace) => warn!(grace_secs = grace.as_secs(), "grace period over; closing remaining connections"),
    }
}

/// One client connection, from accept to close. `permit` is released last, once the socket
/// is closed.
async fn connection(stream: TcpStream, peer: SocketAddr, permit: Permit, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let mut stop = shared.stop.clone();
    match &shared.tls {
        None => serve_io(stream, peer, &activity, &shared, &mut stop).await,
        Some(tls) => {
            // The handshake runs in the connection's task, so a slow client holds up nobody
            // else; it counts against the header timeout.
            let handshake =
                tokio::time::timeout(shared.timeouts.header, tls.acceptor().accept(stream));
            let tls_stream = tokio::select! {
                r = handshake => match r {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return debug!(cause = %e, "TLS handshake failed"),
                    Err(_) => return debug!("TLS handshake timed out"),
                },
                () = lifetime::stopping(&mut stop) => return,
            };
            serve_io(tls_stream, peer, &activity, &shared, &mut stop).await;
        }
    }
    drop(permit);
}

async fn serve_io<I>(
    io: I,
    peer: SocketAddr,
    activity: &Arc<Activity>,
    shared: &Shared,
    stop: &mut watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let state = shared.state.clone();
    let tracker = activity.clone();
    let svc = service_fn(move |req| {
        let busy = tracker.begin();
        let state = state.clone();
        async move {
            let resp = handle(state, req, peer.ip()).await;
            Ok::<_, Infallible>(resp.map(|body| TrackedBody::new(body, busy)))
        }
    });
    let conn = shared.builder.serve_connection(TokioIo::new(io), svc);
    lifetime::drive(
        conn,
        hyper_util::server::conn::auto::Connection::graceful_shutdown,
        activity,
        shared.timeouts,
        stop,
    )
    .await;
}
