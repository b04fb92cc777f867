//! The benchmark scenarios against the running bridge: creates, `userName eq` GETs, PATCHes
//! and PUTs at each concurrency, paging through every user, and the large group.

use std::sync::Arc;
use std::time::Instant;

use hyper::Method;
use serde_json::{json, Value};

use crate::bridge::{self, Bridge};
use crate::measure::{measure, percentile, Figure};
use crate::raw::{self, Ceiling};
use crate::scratch::{prepare, seed_ids, version};
use crate::{Backend, CONCURRENCY};

pub fn okta_user(user_name: &str, i: usize) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
        "name": {"givenName": "Bench", "familyName": format!("User{i}")},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Bench User", "externalId": format!("00u{i}"), "groups": [], "password": "x", "active": true})
}

pub fn patch_active(active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": active}}]})
}

pub struct Report {
    /// The section title: "SQLite", "PostgreSQL 15", "MariaDB 10.11".
    pub title: String,
    pub ready_ms: f64,
    pub raw: Vec<(usize, Ceiling)>,
    /// Per concurrency: create, GET, PATCH, PUT.
    pub bridge: Vec<(usize, Vec<Figure>)>,
    pub paging_s: f64,
    pub paged: usize,
    pub rss_mb: f64,
    pub pool: usize,
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

/// The pool size the bridge is installed with: `BENCH_POOL`, else none (the shipped default,
/// derived by the bridge from the backend).
pub fn pool_size() -> Option<usize> {
    std::env::var("BENCH_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// The pool the bridge uses, for the raw ceilings' connections and the report: `BENCH_POOL`,
/// else the bridge's own rule for this machine (its server-limit cap does not bind on a
/// benchmark's local server).
fn effective_pool(backend: Backend, pool: Option<usize>) -> usize {
    use scim_bridge::store::PoolSize;
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    pool.unwrap_or_else(|| match backend {
        Backend::Sqlite => PoolSize::sqlite(cpus).size,
        Backend::Postgres | Backend::Mysql => PoolSize::server(cpus, &Err(String::new())).size,
    })
}

pub async fn bench(backend: Backend, bin: &str, users: usize) -> Report {
    let dir = tempfile::tempdir().unwrap();
    println!("\n== {backend:?}: {users} pre-existing users");
    let (url, scratch) = prepare(backend, dir.path(), users).await;
    let title = version(backend, &url).await;
    let installed = bridge::install(bin, dir.path(), &url, pool_size());
    let pool = effective_pool(backend, pool_size());
    let raw = raw::ceilings(backend, &url, users, pool).await;
    let bridge = Arc::new(bridge::start(bin, installed, None));
    println!(
        "{:<52} {:>8.1} ms",
        "ready to serve after start", bridge.ready_ms
    );
    let targets = Arc::new(seed_ids(backend, &url, 2000).await);
    let mut figures = Vec::new();
    for conc in CONCURRENCY {
        figures.push((conc, at_concurrency(&bridge, &targets, users, conc).await));
    }
    let (paging_s, paged) = paging(&bridge).await;
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
    if let Some(scratch) = scratch {
        scratch.drop().await;
    }
    Report {
        title,
        ready_ms,
        raw,
        bridge: figures,
        paging_s,
        paged,
        rss_mb,
        pool,
    }
}

/// Creates, `userName eq` GETs, PATCHes and PUTs at one concurrency, in that order.
async fn at_concurrency(
    bridge: &Arc<Bridge>,
    targets: &Arc<Vec<(String, String)>>,
    users: usize,
    conc: usize,
) -> Vec<Figure> {
    let mut f = Vec::new();
    let b = bridge.clone();
    f.push(
        measure_bridge(
            bridge,
            &format!("POST /Users (Okta create), concurrency {conc}"),
            1000,
            conc,
            move |_, i| {
                let b = b.clone();
                async move {
                    let user = okta_user(&format!("c{conc}x{i}@okta.example"), i);
                    b.call(Method::POST, "/Users", Some(&user)).await.0 == 201
                }
            },
        )
        .await,
    );
    let b = bridge.clone();
    f.push(
        measure_bridge(
            bridge,
            &format!("GET /Users?filter=userName eq, concurrency {conc}"),
            5000,
            conc,
            move |_, i| {
                let b = b.clone();
                async move {
                    let path = format!(
                        "/Users?filter=userName%20eq%20%22seed{}%40example.com%22",
                        (i * 7919) % users
                    );
                    b.call(Method::GET, &path, None).await.0 == 200
                }
            },
        )
        .await,
    );
    let (b, t) = (bridge.clone(), targets.clone());
    f.push(
        measure_bridge(
            bridge,
            &format!("PATCH /Users/{{id}} (active), concurrency {conc}"),
            1000,
            conc,
            move |_, i| {
                let (b, t) = (b.clone(), t.clone());
                async move {
                    let p = patch_active(i % 2 == 1);
                    let path = format!("/Users/{}", t[i % t.len()].0);
                    b.call(Method::PATCH, &path, Some(&p)).await.0 == 200
                }
            },
        )
        .await,
    );
    let (b, t) = (bridge.clone(), targets.clone());
    f.push(
        measure_bridge(
            bridge,
            &format!("PUT /Users/{{id}}, concurrency {conc}"),
            1000,
            conc,
            move |_, i| {
                let (b, t) = (b.clone(), t.clone());
                async move {
                    let (id, login) = &t[(i + 1000) % t.len()];
                    let path = format!("/Users/{id}");
                    b.call(Method::PUT, &path, Some(&okta_user(login, i)))
                        .await
                        .0
                        == 200
                }
            },
        )
        .await,
    );
    f
}

/// Pages through every user, as Okta's import does: seconds taken and users seen.
async fn paging(bridge: &Bridge) -> (f64, usize) {
    let started = Instant::now();
    let (mut start, mut seen) = (1, 0);
    let mut page_times = Vec::new();
    loop {
        let t = Instant::now();
        let path = format!("/Users?startIndex={start}&count=100");
        let (status, body) = bridge.call(Method::GET, &path, None).await;
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
        percentile(&page_times, 500),
        percentile(&page_times, 990),
        page_times.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
    println!(
        "{:<52} {:>8.2} s   ({seen} users, pages of 100)",
        "paging GET /Users", paging_s
    );
    (paging_s, seen)
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
