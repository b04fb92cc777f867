//! Reproducible benchmark: `cargo run --release --example bench -- [sqlite] [postgres]`.
//!
//! For each backend: a scratch copy of the demo helpdesk seeded with `BENCH_USERS` users
//! (default 100,000); the database's own ceiling measured first through the same driver
//! (single-row INSERT + COMMIT per transaction, indexed SELECT by login); then the release
//! binary started as its own process (`scim-bridge serve`, so its RSS is the bridge's alone)
//! and driven over loopback HTTP by this program's hyper client at concurrency 1, 16 and 64:
//! Okta-shaped creates, `userName eq` GETs, PATCH deactivations, PUTs, and paging through
//! every user. Prints one line per figure, then a Markdown table for BENCHMARKS.md.
//!
//! PostgreSQL needs `BENCH_POSTGRES_URL` (e.g. postgres://postgres@127.0.0.1:5432/postgres);
//! a scratch database is created there and dropped afterwards. `BENCH_GROUP=50000` adds the
//! large-group scenario (SQLite). `BENCH_POOL` sets database.pool_size (default 4, the shipped
//! default); the raw ceiling uses as many connections, at most the concurrency.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::Connection;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const CONCURRENCY: [usize; 3] = [1, 16, 64];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One measured scenario.
#[derive(Clone)]
struct Figure {
    label: String,
    rate: f64,
    p50: f64,
    p99: f64,
    failed: usize,
    /// CPU time the bridge process spent per request (user + system), in µs: a figure the
    /// machine's other load barely moves.
    cpu_us: Option<f64>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank: `p` is in 0..=1, so the index is within the slice.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `n` operations on `workers` tasks, each built by `op(worker, i)`; `op` returns
/// whether it succeeded.
async fn measure<F, Fut>(label: &str, n: usize, workers: usize, op: F) -> Figure
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut bad = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                if !op(w, i).await {
                    bad += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, bad)
        }));
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, b) = t.await.unwrap();
        lat.extend(l);
        failed += b;
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    let f = Figure {
        label: label.to_string(),
        rate: n as f64 / secs,
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
        failed,
        cpu_us: None,
    };
    println!(
        "{:<52} {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({n}, {} failed)",
        f.label, f.rate, f.p50, f.p99, f.failed
    );
    f
}

struct Bridge {
    child: Child,
    base: String,
    token: String,
    client: HttpClient,
    ready_ms: f64,
}

impl Bridge {
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
        match self.client.request(b.body(body).unwrap()).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (
                    status,
                    resp.into_body()
                        .collect()
                        .await
                        .map(http_body_util::Collected::to_bytes)
                        .unwrap_or_default(),
                )
            }
            Err(_) => (0, Bytes::new()),
        }
    }

    /// Peak resident memory of the bridge process (VmHWM), in MB.
    fn peak_rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
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

    /// CPU seconds (user + system) the bridge process has used so far.
    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is 14th, stime 15th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<f64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let ticks = 100.0; // sysconf(_SC_CLK_TCK) on Linux
        f.get(11)
            .zip(f.get(12))
            .map_or(0.0, |(u, s)| (u + s) / ticks)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Builds the release binary (the benchmark measures what operators run).
fn build_binary() -> String {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "scim-bridge"])
        .current_dir(REPO)
        .status()
        .expect("cargo build");
    assert!(status.success(), "cargo build --release failed");
    format!("{REPO}/target/release/scim-bridge")
}

fn start_bridge(bin: &str, dir: &std::path::Path, db_url: &str, pool: usize) -> Bridge {
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{db_url}\"\npool_size = {pool}\nacquire_timeout_ms = 30000\n[mapping]\nfile = \"{REPO}/mappings/demo.toml\"\n[limits]\nper_address_per_second = 1000000\nper_address_burst = 1000000\nper_token_per_second = 1000000\nper_token_burst = 1000000\n[log]\nformat = \"json\"\nlevel = \"info\"\n"
        ),
    )
    .unwrap();
    // Migrations and the token first, so "ready" below is the start of an installed bridge.
    let out = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args(["token", "create", "--name", "bench"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("scim-bridge ready") {
            let v: Value = serde_json::from_str(&line).unwrap();
            addr = v["listen"].as_str().unwrap().to_string();
            break;
        }
    }
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(!addr.is_empty(), "the bridge did not start");
    std::thread::spawn(move || for _ in lines {});
    Bridge {
        child,
        base: format!("http://{addr}/scim/v2"),
        token,
        client: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(128)
            .build_http(),
        ready_ms,
    }
}

/// A row as the bridge inserts it for an Okta create (the demo mapping's columns).
const RAW_INSERT: &str = "INSERT INTO users (login, email, firstname, lastname, department, phone, active, role, password, created_at, updated_at) VALUES ($1, $2, 'Raw', 'Insert', NULL, NULL, TRUE, 'customer', '!', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)";

/// The database's own ceiling: single-row INSERT + COMMIT per transaction, and indexed
/// SELECT by login, through the bridge's driver (diesel / diesel-async).
async fn raw_ceiling(
    backend: Backend,
    url: &str,
    users: usize,
    pool: usize,
) -> Vec<(usize, Figure, Figure)> {
    let mut out = Vec::new();
    for conc in CONCURRENCY {
        let (insert, select) = match backend {
            Backend::Sqlite => {
                let path = url.trim_start_matches("sqlite://").to_string();
                // SQLite has one writer: the ceiling is one connection committing in a loop.
                let p = path.clone();
                let insert = measure_blocking(
                    &format!("raw INSERT+COMMIT, concurrency {conc}"),
                    1000,
                    1,
                    move || {
                        let mut c = diesel::sqlite::SqliteConnection::establish(&p).unwrap();
                        c.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                            .unwrap();
                        c
                    },
                    move |c, i| {
                        c.batch_execute("BEGIN IMMEDIATE").is_ok()
                            && diesel::RunQueryDsl::execute(
                                diesel::sql_query(RAW_INSERT.replace("$1", "?").replace("$2", "?"))
                                    .bind::<Text, _>(format!("raw{conc}x{i}@example.com"))
                                    .bind::<Text, _>(format!("raw{conc}x{i}@example.com")),
                                c,
                            )
                            .is_ok()
                            && c.batch_execute("COMMIT").is_ok()
                    },
                )
                .await;
                let p = path.clone();
                let select = measure_blocking(&format!("raw SELECT by login, concurrency {conc}"), 5000, conc.min(8), move || {
                    let mut c = diesel::sqlite::SqliteConnection::establish(&p).unwrap();
                    c.batch_execute("PRAGMA busy_timeout = 5000;").unwrap();
                    c
                }, move |c, i| {
                    diesel::RunQueryDsl::load::<scim_bridge::store::sql::TextRow>(
                        diesel::sql_query("SELECT CAST(id AS TEXT), login, email, firstname, lastname, department, phone, CAST(active AS TEXT) FROM users WHERE login = ? COLLATE NOCASE")
                            .bind::<Text, _>(format!("seed{}@example.com", (i * 7919) % users)),
                        c,
                    )
                    .is_ok_and(|r| r.len() == 1)
                })
                .await;
                (insert, select)
            }
            Backend::Postgres => {
                let workers = conc.min(pool);
                let conns = pg_conns(url, workers).await;
                let c2 = conns.clone();
                let insert = measure(
                    &format!("raw INSERT+COMMIT, concurrency {conc}"),
                    2000,
                    workers,
                    move |w, i| {
                        let c = c2[w].clone();
                        async move {
                            let mut c = c.lock().await;
                            diesel::sql_query(RAW_INSERT)
                                .bind::<Text, _>(format!("raw{conc}x{i}@example.com"))
                                .bind::<Text, _>(format!("raw{conc}x{i}@example.com"))
                                .execute(&mut *c)
                                .await
                                .is_ok()
                        }
                    },
                )
                .await;
                let select = measure(&format!("raw SELECT by login, concurrency {conc}"), 10000, workers, move |w, i| {
                    let c = conns[w].clone();
                    async move {
                        let mut c = c.lock().await;
                        diesel::sql_query("SELECT CAST(id AS TEXT), login, email, firstname, lastname, department, phone, CAST(active AS TEXT) FROM users WHERE lower(login) = lower($1)")
                            .bind::<Text, _>(format!("seed{}@example.com", (i * 7919) % users))
                            .load::<scim_bridge::store::sql::TextRow>(&mut *c)
                            .await
                            .is_ok_and(|r| r.len() == 1)
                    }
                })
                .await;
                (insert, select)
            }
        };
        out.push((conc, insert, select));
    }
    out
}

async fn pg_conns(url: &str, n: usize) -> Vec<Arc<tokio::sync::Mutex<AsyncPgConnection>>> {
    let mut v = Vec::new();
    for _ in 0..n {
        let mut c = AsyncPgConnection::establish(url).await.unwrap();
        c.batch_execute("SET TIME ZONE 'UTC'").await.unwrap();
        v.push(Arc::new(tokio::sync::Mutex::new(c)));
    }
    v
}

/// `measure` for blocking drivers: one thread and connection per worker.
async fn measure_blocking<C: 'static>(
    label: &str,
    n: usize,
    workers: usize,
    connect: impl Fn() -> C + Send + Sync + 'static,
    op: impl Fn(&mut C, usize) -> bool + Send + Sync + 'static,
) -> Figure {
    let label = label.to_string();
    tokio::task::spawn_blocking(move || {
        let (connect, op) = (Arc::new(connect), Arc::new(op));
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (connect, op, next) = (connect.clone(), op.clone(), next.clone());
                std::thread::spawn(move || {
                    let mut c = connect();
                    let (mut lat, mut bad) = (Vec::new(), 0);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let t = Instant::now();
                        if !op(&mut c, i) {
                            bad += 1;
                        }
                        lat.push(t.elapsed());
                    }
                    (lat, bad)
                })
            })
            .collect();
        let (mut lat, mut failed) = (Vec::new(), 0);
        for h in handles {
            let (l, b) = h.join().unwrap();
            lat.extend(l);
            failed += b;
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort();
        let f = Figure {
            label,
            rate: n as f64 / secs,
            p50: percentile(&lat, 0.5),
            p99: percentile(&lat, 0.99),
            failed,
            cpu_us: None,
        };
        println!(
            "{:<52} {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({n}, {} failed)",
            f.label, f.rate, f.p50, f.p99, f.failed
        );
        f
    })
    .await
    .unwrap()
}

/// A scratch database of `backend` holding the demo helpdesk and `users` seed users.
async fn prepare(
    backend: Backend,
    dir: &std::path::Path,
    users: usize,
) -> (String, Option<(String, String)>) {
    match backend {
        Backend::Sqlite => {
            let path = dir.join("bench.db");
            scim_bridge::store::demo::ensure(&path).unwrap();
            let mut c =
                diesel::sqlite::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
            c.batch_execute(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
                 INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) \
                 SELECT 'seed' || i || '@example.com', 'seed' || i || '@example.com', 'Seed', 'User' || i, 1, 'customer', '!', '2024-01-01 00:00:00', '2024-01-01 00:00:00' FROM n",
                users - 1
            ))
            .unwrap();
            (format!("sqlite://{}", path.display()), None)
        }
        Backend::Postgres => {
            let admin = std::env::var("BENCH_POSTGRES_URL").expect("BENCH_POSTGRES_URL");
            let name = format!("scimbench_{}", std::process::id());
            let mut a = AsyncPgConnection::establish(&admin).await.unwrap();
            a.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .unwrap();
            a.batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            let mut c = AsyncPgConnection::establish(&url).await.unwrap();
            c.batch_execute(
                &std::fs::read_to_string(format!("{REPO}/tests/fixtures/demo.postgres.sql"))
                    .unwrap(),
            )
            .await
            .unwrap();
            c.batch_execute(scim_bridge::store::demo::SEED)
                .await
                .unwrap();
            c.batch_execute(&format!(
                "SELECT setval('users_id_seq', (SELECT max(id) FROM users)); \
                 INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) \
                 SELECT 'seed' || i || '@example.com', 'seed' || i || '@example.com', 'Seed', 'User' || i, TRUE, 'customer', '!', '2024-01-01', '2024-01-01' FROM generate_series(0, {}) i; ANALYZE users;",
                users - 1
            ))
            .await
            .unwrap();
            (url, Some((admin, name)))
        }
    }
}

/// Ids and logins of the first `n` seed users (PATCH and PUT targets).
async fn seed_ids(backend: Backend, url: &str, n: usize) -> Vec<(String, String)> {
    let sql = format!(
        "SELECT CAST(id AS TEXT), login FROM users WHERE login LIKE 'seed%' ORDER BY id LIMIT {n}"
    );
    let rows: Vec<scim_bridge::store::sql::TextRow> = match backend {
        Backend::Sqlite => {
            let mut c =
                diesel::sqlite::SqliteConnection::establish(url.trim_start_matches("sqlite://"))
                    .unwrap();
            diesel::RunQueryDsl::load(diesel::sql_query(sql), &mut c).unwrap()
        }
        Backend::Postgres => {
            let mut c = AsyncPgConnection::establish(url).await.unwrap();
            diesel::sql_query(sql).load(&mut c).await.unwrap()
        }
    };
    rows.into_iter()
        .map(|r| (r.get(0).unwrap().to_string(), r.get(1).unwrap().to_string()))
        .collect()
}

fn okta_user(user_name: &str, i: usize) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
        "name": {"givenName": "Bench", "familyName": format!("User{i}")},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Bench User", "externalId": format!("00u{i}"), "groups": [], "password": "x", "active": true})
}

struct Report {
    backend: Backend,
    ready_ms: f64,
    raw: Vec<(usize, Figure, Figure)>,
    bridge: Vec<(usize, Vec<Figure>)>,
    paging_s: f64,
    paged: usize,
    rss_mb: f64,
}

/// `measure` against the bridge, adding its CPU time per request.
async fn measure_bridge<F, Fut>(
    bridge: &Arc<Bridge>,
    label: &str,
    n: usize,
    workers: usize,
    op: F,
) -> Figure
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let before = bridge.cpu_secs();
    let mut f = measure(label, n, workers, op).await;
    let us = (bridge.cpu_secs() - before) * 1e6 / n as f64;
    println!("{:<52} {:>8.0} µs bridge CPU per request", "", us);
    f.cpu_us = Some(us);
    f
}

#[allow(
    clippy::too_many_lines,
    reason = "one run's phases in the order they are printed"
)]
async fn bench(backend: Backend, bin: &str, users: usize) -> Report {
    let dir = tempfile::tempdir().unwrap();
    println!("\n== {backend:?}: {users} pre-existing users");
    let (url, scratch) = prepare(backend, dir.path(), users).await;
    let pool = std::env::var("BENCH_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let raw = raw_ceiling(backend, &url, users, pool).await;
    let bridge = Arc::new(start_bridge(bin, dir.path(), &url, pool));
    println!(
        "{:<52} {:>8.1} ms",
        "ready to serve after start", bridge.ready_ms
    );
    let targets = Arc::new(seed_ids(backend, &url, 2000).await);
    let mut figures = Vec::new();
    for conc in CONCURRENCY {
        let mut f = Vec::new();
        let b = bridge.clone();
        f.push(
            measure_bridge(
                &bridge,
                &format!("POST /Users (Okta create), concurrency {conc}"),
                1000,
                conc,
                move |_, i| {
                    let b = b.clone();
                    async move {
                        b.call(
                            Method::POST,
                            "/Users",
                            Some(&okta_user(&format!("c{conc}x{i}@okta.example"), i)),
                        )
                        .await
                        .0 == 201
                    }
                },
            )
            .await,
        );
        let b = bridge.clone();
        f.push(
            measure_bridge(
                &bridge,
                &format!("GET /Users?filter=userName eq, concurrency {conc}"),
                5000,
                conc,
                move |_, i| {
                    let b = b.clone();
                    async move {
                        b.call(
                            Method::GET,
                            &format!(
                                "/Users?filter=userName%20eq%20%22seed{}%40example.com%22",
                                (i * 7919) % users
                            ),
                            None,
                        )
                        .await
                        .0 == 200
                    }
                },
            )
            .await,
        );
        let (b, t) = (bridge.clone(), targets.clone());
        f.push(measure_bridge(&bridge, &format!("PATCH /Users/{{id}} (active), concurrency {conc}"), 1000, conc, move |_, i| {
            let (b, t) = (b.clone(), t.clone());
            async move {
                let p = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": i % 2 == 1}}]});
                b.call(Method::PATCH, &format!("/Users/{}", t[i % t.len()].0), Some(&p)).await.0 == 200
            }
        }).await);
        let (b, t) = (bridge.clone(), targets.clone());
        f.push(
            measure_bridge(
                &bridge,
                &format!("PUT /Users/{{id}}, concurrency {conc}"),
                1000,
                conc,
                move |_, i| {
                    let (b, t) = (b.clone(), t.clone());
                    async move {
                        let (id, login) = &t[(i + 1000) % t.len()];
                        b.call(
                            Method::PUT,
                            &format!("/Users/{id}"),
                            Some(&okta_user(login, i)),
                        )
                        .await
                        .0 == 200
                    }
                },
            )
            .await,
        );
        figures.push((conc, f));
    }
    // Paging through everything, as Okta's import does.
    let started = Instant::now();
    let (mut start, mut seen) = (1, 0);
    let mut page_times = Vec::new();
    loop {
        let t = Instant::now();
        let (status, body) = bridge
            .call(
                Method::GET,
                &format!("/Users?startIndex={start}&count=100"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let n = serde_json::from_slice::<Value>(&body).unwrap()["itemsPerPage"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap();
        page_times.push(t.elapsed());
        if n == 0 {
            break;
        }
        seen += n;
        start += 100;
    }
    let paging_s = started.elapsed().as_secs_f64();
    page_times.sort();
    println!(
        "{:<52} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
        "  per page",
        percentile(&page_times, 0.5),
        percentile(&page_times, 0.99),
        page_times.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
    println!(
        "{:<52} {:>8.2} s   ({seen} users, pages of 100)",
        "paging GET /Users", paging_s
    );
    if backend == Backend::Sqlite {
        if let Some(size) = std::env::var("BENCH_GROUP")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            group_scenario(&bridge, &targets, size).await;
        }
    }
    let rss_mb = bridge.peak_rss_mb();
    println!(
        "{:<52} {:>8.1} MB",
        "bridge peak RSS (VmHWM of the serve process)", rss_mb
    );
    let ready_ms = bridge.ready_ms;
    Arc::try_unwrap(bridge).ok().unwrap().stop();
    if let Some((admin, name)) = scratch {
        let mut a = AsyncPgConnection::establish(&admin).await.unwrap();
        let _ = a
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
    Report {
        backend,
        ready_ms,
        raw,
        bridge: figures,
        paging_s,
        paged: seen,
        rss_mb,
    }
}

async fn group_scenario(bridge: &Arc<Bridge>, targets: &[(String, String)], size: usize) {
    let (_, body) = bridge
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
    let first: usize = targets[0].0.parse().unwrap();
    let started = Instant::now();
    for chunk in 0..size / 1000 {
        let members: Vec<Value> = (0..1000)
            .map(|j| json!({"value": (first + chunk * 1000 + j).to_string()}))
            .collect();
        let p = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": members}]});
        assert_eq!(
            bridge
                .call(Method::PATCH, &format!("/Groups/{gid}"), Some(&p))
                .await
                .0,
            204
        );
    }
    println!(
        "{:<52} {:>8.1} ms per 1,000-member PATCH",
        format!("group build-up to {size}"),
        started.elapsed().as_secs_f64() * 1000.0 / (size / 1000) as f64
    );
    let t = Instant::now();
    let (status, body) = bridge
        .call(Method::GET, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(status, 200);
    println!(
        "{:<52} {:>8.1} ms ({} bytes)",
        "GET that group with all members",
        t.elapsed().as_secs_f64() * 1000.0,
        body.len()
    );
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let users: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut backends: Vec<Backend> = std::env::args()
        .skip(1)
        .filter_map(|a| match a.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" => Some(Backend::Postgres),
            _ => None,
        })
        .collect();
    if backends.is_empty() {
        backends.push(Backend::Sqlite);
        if std::env::var("BENCH_POSTGRES_URL").is_ok() {
            backends.push(Backend::Postgres);
        }
    }
    let bin = build_binary();
    println!("load average before: {}", loadavg());
    let mut reports = Vec::new();
    for b in backends {
        reports.push(bench(b, &bin, users).await);
    }
    println!("load average after: {}", loadavg());
    // The Markdown summary for BENCHMARKS.md.
    for r in &reports {
        println!("\n### {:?}, {users} pre-existing users\n", r.backend);
        println!("| concurrency | creates/s (raw INSERT+COMMIT/s, ratio) | GET userName eq /s (raw SELECT/s, ratio) | GET p50 / p99 | PATCH/s | PUT/s | create p50 / p99 | bridge CPU µs/request: create, GET, PATCH, PUT |");
        println!("|---|---|---|---|---|---|---|---|");
        for ((conc, f), (_, ri, rs)) in r.bridge.iter().zip(&r.raw) {
            let (c, g, p, u) = (&f[0], &f[1], &f[2], &f[3]);
            let failed: usize = f.iter().map(|x| x.failed).sum::<usize>() + ri.failed + rs.failed;
            println!(
                "| {conc} | {:.0} ({:.0}, {:.0}%) | {:.0} ({:.0}, {:.0}%) | {:.2} / {:.2} ms | {:.0} | {:.0} | {:.2} / {:.2} ms | {:.0}, {:.0}, {:.0}, {:.0} |{}",
                c.rate, ri.rate, 100.0 * c.rate / ri.rate, g.rate, rs.rate, 100.0 * g.rate / rs.rate, g.p50, g.p99, p.rate, u.rate, c.p50, c.p99,
                c.cpu_us.unwrap_or(0.0), g.cpu_us.unwrap_or(0.0), p.cpu_us.unwrap_or(0.0), u.cpu_us.unwrap_or(0.0),
                if failed > 0 { format!(" {failed} failed") } else { String::new() }
            );
        }
        println!("\nready to serve {:.0} ms; paging {} users in pages of 100: {:.2} s; bridge peak RSS {:.1} MB", r.ready_ms, r.paged, r.paging_s, r.rss_mb);
    }
}
