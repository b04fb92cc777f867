//! Prometheus text metrics, served on their own listen address (`metrics.listen`), never on the
//! public SCIM port: requests by route and status, latency, database pool usage, requests
//! refused by the limits (by reason) and each token's requests in flight and queued, and
//! provisioning outcomes.
//!
//! This module depends on nothing else of the HTTP layer but the connection plumbing; the
//! router's state provides the text through [`Exposition`].

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::warn;

use super::accept::Acceptor;
use super::connections::{ConnectionSettings, Connections};
use super::lifetime::{self, Activity, Timeouts, TrackedBody};
use super::limits::Refusal;
use super::response;
use super::throttle::Throttle;

/// Latency bucket upper bounds, seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Adopted,
    Updated,
    Deactivated,
    Conflict,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    rate_limited: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
    outcomes: [AtomicU64; 5],
}

impl Metrics {
    pub fn request(
        &self,
        route: &'static str,
        method: &'static str,
        status: u16,
        latency: Duration,
    ) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route, method, status)).or_default() += 1;
        }
        let secs = latency.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A request refused by a limit (it is also counted as a 429 by [`Metrics::request`]).
    pub fn refused(&self, r: Refusal) {
        self.refused[r.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn outcome(&self, o: Outcome) {
        self.outcomes[o as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text. `pools`: (pool, max, open, idle, waiting) per database pool;
    /// `tokens`: (token name, requests in flight, requests queued) per token.
    pub fn render(
        &self,
        pools: &[(&'static str, usize, usize, usize, usize)],
        tokens: &[(String, usize, usize)],
    ) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP scim_bridge_requests_total HTTP requests by route, method and status.\n# TYPE scim_bridge_requests_total counter");
        if let Ok(m) = self.requests.lock() {
            for ((route, method, status), n) in m.iter() {
                let _ = writeln!(s, "scim_bridge_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}");
            }
        }
        let _ = writeln!(s, "# HELP scim_bridge_request_duration_seconds Request latency.\n# TYPE scim_bridge_request_duration_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "scim_bridge_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "scim_bridge_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            s,
            "scim_bridge_request_duration_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "scim_bridge_request_duration_seconds_count {count}");
        let _ = writeln!(s, "# HELP scim_bridge_rate_limited_total Requests refused with 429.\n# TYPE scim_bridge_rate_limited_total counter");
        let _ = writeln!(
            s,
            "scim_bridge_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        let _ = writeln!(s, "# HELP scim_bridge_refused_total Requests refused with 429 by a limit, by reason: failed_auth (limits.failed_auth_*), token_queue_full and token_queue_timeout (limits.per_token_*), token_rate (limits.per_token_per_second).\n# TYPE scim_bridge_refused_total counter");
        for r in Refusal::ALL {
            let _ = writeln!(
                s,
                "scim_bridge_refused_total{{reason=\"{}\"}} {}",
                r.as_str(),
                self.refused[r.index()].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(s, "# HELP scim_bridge_token_requests Requests per token: in flight (at most limits.per_token_in_flight) and queued for a slot.\n# TYPE scim_bridge_token_requests gauge");
        for (token, in_flight, queued) in tokens {
            let token = label(token);
            let _ = writeln!(
                s,
                "scim_bridge_token_requests{{token=\"{token}\",state=\"in_flight\"}} {in_flight}"
            );
            let _ = writeln!(
                s,
                "scim_bridge_token_requests{{token=\"{token}\",state=\"queued\"}} {queued}"
            );
        }
        let _ = writeln!(s, "# HELP scim_bridge_provisioning_total Provisioning outcomes.\n# TYPE scim_bridge_provisioning_total counter");
        for (i, name) in ["created", "adopted", "updated", "deactivated", "conflict"]
            .iter()
            .enumerate()
        {
            let _ = writeln!(
                s,
                "scim_bridge_provisioning_total{{outcome=\"{name}\"}} {}",
                self.outcomes[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(s, "# HELP scim_bridge_db_connections Database pool connections.\n# TYPE scim_bridge_db_connections gauge");
        for (pool, max, open, idle, waiting) in pools {
            let _ = writeln!(
                s,
                "scim_bridge_db_connections{{pool=\"{pool}\",state=\"max\"}} {max}"
            );
            let _ = writeln!(
                s,
                "scim_bridge_db_connections{{pool=\"{pool}\",state=\"open\"}} {open}"
            );
            let _ = writeln!(
                s,
                "scim_bridge_db_connections{{pool=\"{pool}\",state=\"idle\"}} {idle}"
            );
            let _ = writeln!(
                s,
                "scim_bridge_db_connections{{pool=\"{pool}\",state=\"waiting\"}} {waiting}"
            );
        }
        s
    }
}

/// SQLite's group commit: how many transactions committed how many writes (their ratio is
/// the mean batch; 1 means writes never overlapped).
pub fn render_group_commits(s: &mut String, commits: u64, writes: u64) {
    let _ = writeln!(s, "# HELP scim_bridge_sqlite_commits_total Write transactions committed on SQLite (each may hold several requests' writes).\n# TYPE scim_bridge_sqlite_commits_total counter\nscim_bridge_sqlite_commits_total {commits}");
    let _ = writeln!(s, "# HELP scim_bridge_sqlite_committed_writes_total Requests' writes those transactions held.\n# TYPE scim_bridge_sqlite_committed_writes_total counter\nscim_bridge_sqlite_committed_writes_total {writes}");
}

/// A label value with `\\`, `"` and line feeds escaped (token names are the operator's).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What the metrics endpoint serves, and the connection timeouts it applies (the SCIM
/// port's). Implemented by the router's state; a trait so that this module does not depend
/// on the router.
pub trait Exposition: Send + Sync + 'static {
    /// The exposition text.
    fn exposition(&self) -> String;
    /// The SCIM port's connection settings; only their timeouts are used here.
    fn connection_settings(&self) -> ConnectionSettings;
}

/// Open connections to the metrics endpoint: a scraper needs one or two.
pub const MAX_CONNECTIONS: usize = 32;

/// Serves `GET /metrics` on its own listener until the process ends (or the returned future is
/// dropped). Accepting backs off on resource errors such as EMFILE, as the SCIM port does (see
/// `accept.rs`), and each connection gets the SCIM port's header and idle timeouts (see
/// `lifetime.rs`); at most [`MAX_CONNECTIONS`] are open at once.
pub async fn serve<S: Exposition>(listener: TcpListener, source: Arc<S>) {
    let settings = source.connection_settings();
    let connections = Connections::new(&ConnectionSettings {
        max_total: MAX_CONNECTIONS,
        max_per_address: MAX_CONNECTIONS,
        ..settings
    });
    let timeouts = Timeouts {
        header: settings.header_timeout,
        idle: settings.idle_timeout,
        grace: Duration::ZERO,
    };
    let builder = Arc::new(lifetime::builder());
    // Never signalled: the endpoint lives as long as this future. Dropping the future drops the
    // sender, which shuts the open connections down gracefully.
    let (_stop_tx, stop) = watch::channel(false);
    let mut acceptor = Acceptor::new(listener);
    let mut refused_log = Throttle::per_second();
    loop {
        let (stream, peer) = acceptor.accept(&connections).await;
        let permit = match connections.try_open(peer.ip()) {
            Ok(p) => p,
            Err(_) => {
                drop(stream);
                if let Some(suppressed) = refused_log.hit(Instant::now()) {
                    warn!(
                        client = %peer.ip(),
                        open_connections = connections.open(),
                        refused_since_last_line = suppressed,
                        "metrics connection refused: {MAX_CONNECTIONS} already open"
                    );
                }
                continue;
            }
        };
        let (source, builder, mut stop) = (source.clone(), builder.clone(), stop.clone());
        tokio::spawn(async move {
            let activity = Arc::new(Activity::new());
            let tracker = activity.clone();
            let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let busy = tracker.begin();
                let source = source.clone();
                async move {
                    let r = if req.uri().path() == "/metrics" {
                        let mut r = response::text(StatusCode::OK, "");
                        *r.body_mut() = response::full_text(source.exposition());
                        r
                    } else {
                        response::text(StatusCode::NOT_FOUND, "metrics are at /metrics\n")
                    };
                    Ok::<_, Infallible>(r.map(|body| TrackedBody::new(body, busy)))
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            lifetime::drive(
                conn,
                hyper_util::server::conn::auto::Connection::graceful_shutdown,
                &activity,
                timeouts,
                &mut stop,
            )
            .await;
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format() {
        let m = Metrics::default();
        m.request("/Users", "POST", 201, Duration::from_millis(3));
        m.request("/Users", "GET", 429, Duration::from_micros(200));
        m.outcome(Outcome::Created);
        m.refused(Refusal::QueueFull);
        let text = m.render(
            &[("main", 4, 2, 1, 0)],
            &[("okta \"prod\"".to_string(), 8, 3)],
        );
        assert!(
            text.contains(
                "scim_bridge_requests_total{route=\"/Users\",method=\"POST\",status=\"201\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("scim_bridge_request_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("scim_bridge_request_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("scim_bridge_rate_limited_total 1"));
        assert!(text.contains("scim_bridge_refused_total{reason=\"token_queue_full\"} 1"));
        assert!(text.contains("scim_bridge_refused_total{reason=\"failed_auth\"} 0"));
        assert!(text.contains(
            "scim_bridge_token_requests{token=\"okta \\\"prod\\\"\",state=\"queued\"} 3"
        ));
        assert!(text.contains("scim_bridge_provisioning_total{outcome=\"created\"} 1"));
        assert!(text.contains("scim_bridge_db_connections{pool=\"main\",state=\"open\"} 2"));
    }
}
