//! Prometheus text metrics, served on their own listen address (`metrics.listen`), never on the
//! public SCIM port: requests by route and status, latency, database pool usage, rate-limited
//! requests and provisioning outcomes.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::response;
use super::router::State;

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
        self.latency_sum_micros
            .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn outcome(&self, o: Outcome) {
        self.outcomes[o as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, pools: &[(&'static str, usize, usize, usize, usize)]) -> String {
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

/// Serves `GET /metrics` on its own listener until the process ends.
pub async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let state = state.clone();
                async move {
                    Ok::<_, Infallible>(if req.uri().path() == "/metrics" {
                        let mut r = response::text(StatusCode::OK, "");
                        *r.body_mut() =
                            response::full_text(state.metrics.render(&state.app.db.pool_usage()));
                        r
                    } else {
                        response::text(StatusCode::NOT_FOUND, "metrics are at /metrics\n")
                    })
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
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
        let text = m.render(&[("main", 4, 2, 1, 0)]);
        assert!(
            text.contains(
                "scim_bridge_requests_total{route=\"/Users\",method=\"POST\",status=\"201\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("scim_bridge_request_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("scim_bridge_request_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("scim_bridge_rate_limited_total 1"));
        assert!(text.contains("scim_bridge_provisioning_total{outcome=\"created\"} 1"));
        assert!(text.contains("scim_bridge_db_connections{pool=\"main\",state=\"open\"} 2"));
    }
}
