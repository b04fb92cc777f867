//! Reproducible benchmark: `cargo run --release --example bench -- [sqlite|postgres URL]`.
//!
//! Starts the bridge in-process on a scratch copy of the demo helpdesk, seeds it, and drives it
//! over real HTTP on loopback with its own small hyper client (so the load generator shares
//! the machine, as the targets in BENCHMARKS.md assume). Prints one line per figure.
//!
//! Scenarios: creates (Okta-shaped POST) at concurrency 1 and 16, filtered GETs
//! (`userName eq`) at 1 and 16, paging through every user in pages of 100, and a 50,000-member
//! group taking 1,000-member PATCHes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use scim_bridge::config::Settings;
use scim_bridge::http::State;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Target {
    base: String,
    token: String,
    client: HttpClient,
}

impl Target {
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Bytes) {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token));
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/scim+json");
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = self
            .client
            .request(b.body(body).unwrap())
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.into_body().collect().await.unwrap().to_bytes())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `n` requests at `concurrency`, each built by `make(i)`; prints rate and latency.
async fn run<F, Fut>(label: &str, n: usize, concurrency: usize, make: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = u16> + Send,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (make, next) = (make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut bad = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                let status = make(i).await;
                lat.push(t.elapsed());
                if status >= 300 {
                    bad += 1;
                }
            }
            (lat, bad)
        }));
    }
    let mut lat = Vec::new();
    let mut bad = 0;
    for t in tasks {
        let (l, b) = t.await.unwrap();
        lat.extend(l);
        bad += b;
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    println!(
        "{label:<44} {:>9.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({n} requests, {bad} failed)",
        n as f64 / secs,
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let users_total: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let group_size: usize = std::env::var("BENCH_GROUP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("bench.db");
    scim_bridge::store::demo::ensure(&db_path).unwrap();
    // Seed users straight into the host table (this measures the bridge, not the seeding).
    {
        let mut c =
            diesel::sqlite::SqliteConnection::establish(&db_path.to_string_lossy()).unwrap();
        let mut sql = String::from("BEGIN;");
        for i in 0..users_total {
            sql.push_str(&format!(
                "INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) VALUES ('seed{i}@example.com', 'seed{i}@example.com', 'Seed', 'User{i}', 1, 'customer', '!', '2024-01-01 00:00:00', '2024-01-01 00:00:00');"
            ));
        }
        sql.push_str("COMMIT;");
        c.batch_execute(&sql).unwrap();
    }
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}\"\nsqlite_wal = {}\n[mapping]\nfile = \"{}/mappings/demo.toml\"\n[log]\nlevel = \"warn\"\n",
            db_path.display(),
            std::env::var("BENCH_WAL").map_or("false".to_string(), |v| v),
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let settings = Settings::load(&config).unwrap();
    let t0 = Instant::now();
    let app = scim_bridge::cli::prepare(&settings, Duration::from_secs(5))
        .await
        .unwrap();
    let token = scim_bridge::store::tokens::create(&app.db, "bench")
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    println!(
        "ready to serve after {:.0} ms (migrations, introspection, mapping check)",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    let state = Arc::new(State {
        app,
        http: scim_bridge::cli::http_settings(&settings),
        metrics: Default::default(),
        // The benchmark measures the bridge, not its rate limits.
        limits: scim_bridge::http::limits::Limits::new(
            scim_bridge::http::limits::Rate {
                per_second: 0,
                burst: 0,
            },
            scim_bridge::http::limits::Rate {
                per_second: 0,
                burst: 0,
            },
        ),
    });
    tokio::spawn(scim_bridge::http::serve(
        listener,
        state,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    let target = Arc::new(Target {
        base: format!("http://{addr}/scim/v2"),
        token,
        client: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(64)
            .build_http(),
    });
    println!("SQLite (rollback journal unless BENCH_WAL=true), {users_total} pre-existing users");

    for conc in [1, 16] {
        let t = target.clone();
        run(&format!("POST /Users (create), concurrency {conc}"), 1000, conc, move |i| {
            let t = t.clone();
            async move {
                let u = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("c{conc}-{i}@okta.example"),
                    "name": {"givenName": "Bench", "familyName": "User"}, "emails": [{"primary": true, "value": format!("c{conc}-{i}@okta.example"), "type": "work"}],
                    "displayName": "Bench User", "externalId": format!("00u{conc}x{i}"), "groups": [], "password": "x", "active": true});
                t.call(Method::POST, "/Users", Some(&u)).await.0
            }
        })
        .await;
    }
    for conc in [1, 16] {
        let t = target.clone();
        run(
            &format!("GET /Users?filter=userName eq, concurrency {conc}"),
            5000,
            conc,
            move |i| {
                let t = t.clone();
                async move {
                    t.call(
                        Method::GET,
                        &format!(
                            "/Users?filter=userName%20eq%20%22seed{}%40example.com%22",
                            (i * 7919) % users_total
                        ),
                        None,
                    )
                    .await
                    .0
                }
            },
        )
        .await;
    }
    {
        let t = target.clone();
        run("PATCH /Users/{id} (deactivate), concurrency 16", 1000, 16, move |i| {
            let t = t.clone();
            async move {
                let p = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": i % 2 == 0}}]});
                t.call(Method::PATCH, &format!("/Users/{}", 6 + (i % 1000)), Some(&p)).await.0
            }
        })
        .await;
    }
    // Paging through everything, as Okta's import does.
    let started = Instant::now();
    let mut start = 1;
    let mut seen = 0;
    loop {
        let (status, body) = target
            .call(
                Method::GET,
                &format!("/Users?startIndex={start}&count=100"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&body).unwrap();
        let n = v["itemsPerPage"].as_u64().unwrap() as usize;
        seen += n;
        if n == 0 {
            break;
        }
        start += 100;
    }
    println!(
        "{:<44} {:>9.2} s   ({seen} users, pages of 100)",
        "paging GET /Users",
        started.elapsed().as_secs_f64()
    );

    // A large group.
    let (_, body) = target
        .call(
            Method::POST,
            "/Groups",
            Some(&json!({"displayName": "Everyone"})),
        )
        .await;
    let gid = serde_json::from_slice::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    for chunk in 0..group_size / 1000 {
        let members: Vec<Value> = (0..1000)
            .map(|j| json!({"value": (6 + chunk * 1000 + j).to_string()}))
            .collect();
        let p = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": members}]});
        let (status, _) = target
            .call(Method::PATCH, &format!("/Groups/{gid}"), Some(&p))
            .await;
        assert_eq!(status, 204);
    }
    println!(
        "{:<44} {:>9.1} ms per 1,000-member PATCH (to {group_size} members)",
        "group build-up",
        started.elapsed().as_secs_f64() * 1000.0 / (group_size / 1000) as f64
    );
    let mut lat = Vec::new();
    for k in 0..10 {
        let members: Vec<Value> = (0..1000)
            .map(|j| json!({"value": (6 + (k * 1000 + j) % group_size).to_string()}))
            .collect();
        let p = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "remove", "path": "members", "value": members}, {"op": "add", "path": "members", "value": members}]});
        let t = Instant::now();
        let (status, _) = target
            .call(Method::PATCH, &format!("/Groups/{gid}"), Some(&p))
            .await;
        assert_eq!(status, 204);
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "{:<44} p50 {:>6.1} ms  max {:>6.1} ms",
        format!("PATCH 1,000 removes + 1,000 adds, {group_size}-member group"),
        percentile(&lat, 0.5),
        lat.last().unwrap().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let (status, body) = target
        .call(
            Method::GET,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    println!(
        "{:<44} {:>9.2} ms ({} bytes)",
        "GET group, excludedAttributes=members",
        t.elapsed().as_secs_f64() * 1000.0,
        body.len()
    );
    let t = Instant::now();
    let (status, body) = target
        .call(Method::GET, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(status, 200);
    println!(
        "{:<44} {:>9.2} ms ({} bytes)",
        "GET group with all members",
        t.elapsed().as_secs_f64() * 1000.0,
        body.len()
    );
    println!(
        "peak RSS of the process (bridge + load generator): {:.1} MB",
        peak_rss_mb()
    );
}
