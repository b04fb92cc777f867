//! The request limits, over HTTP: the shipped `[limits]` never refuse an identity provider
//! pushing at full speed, failed authentications are limited per address without touching a
//! valid token from the same address, and a token over its concurrency with a full queue is
//! refused with 429 + Retry-After. The limits do not depend on the database, so these run on
//! SQLite only.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use hyper::Method;
use tokio::io::AsyncWriteExt;

/// The `[limits]` section of the repository's config.toml, verbatim, so these tests run with
/// the shipped values (not the built-in defaults, and not overrides).
fn shipped_limits() -> String {
    let text = std::fs::read_to_string(format!("{REPO}/config.toml")).unwrap();
    let start = text.find("\n[limits]").expect("config.toml has [limits]") + 1;
    let rest = &text[start..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
    format!("\n{}\n", &rest[..end])
}

fn shipped() -> Options {
    Options {
        extra_config: shipped_limits(),
        ..Options::default()
    }
}

async fn metrics(app: &TestApp) -> String {
    let r = app
        .raw(
            hyper::Request::get(format!("http://{}/metrics", app.metrics_addr))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    String::from_utf8(r.raw.to_vec()).unwrap()
}

/// The value of one sample, e.g. `scim_bridge_refused_total{reason="failed_auth"}`.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn refused(text: &str, reason: &str) -> u64 {
    sample(
        text,
        &format!("scim_bridge_refused_total{{reason=\"{reason}\"}}"),
    )
    .unwrap_or_else(|| panic!("no refused count for {reason} in\n{text}"))
}

/// How many creates the full-speed push sends (one token, eight at a time).
const PUSH: usize = 2000;

/// Issue 17: with the shipped limits, the old per-address (50/s) and per-token (100/s) rates
/// refused an Okta push. A push at full speed must now answer no 429 at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_limits_never_refuse_a_full_speed_push() {
    let app = Arc::new(spawn_with(Backend::Sqlite, shipped()).await);
    // The database file in WAL mode (what `database.sqlite_wal = true` does): the push then runs
    // about three times faster than with SQLite's rollback journal on this disk, which keeps the
    // test short and is the harder case for any limit. `[limits]` is left as shipped.
    assert_eq!(
        app.rows("PRAGMA journal_mode = WAL").await[0][0].as_deref(),
        Some("wal")
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (app, next) = (app.clone(), next.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= PUSH {
                        return statuses;
                    }
                    let r = app
                        .post(
                            "/Users",
                            &okta_user(&format!("push{i}@example.com"), "Push", &i.to_string()),
                        )
                        .await;
                    statuses.push(r.status.as_u16());
                }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for w in workers {
        statuses.extend(w.await.unwrap());
    }
    let took = started.elapsed();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    eprintln!(
        "{PUSH} creates at concurrency 8: {took:.2?} ({:.0}/s), {limited} answered 429",
        PUSH as f64 / took.as_secs_f64()
    );
    assert_eq!(
        limited, 0,
        "{limited} of {PUSH} creates were refused with 429"
    );
    assert!(
        statuses.iter().all(|&s| s == 201),
        "not all created: {:?}",
        statuses
            .iter()
            .filter(|&&s| s != 201)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE login LIKE 'push%'")
            .await,
        i64::try_from(PUSH).unwrap()
    );
    let text = metrics(&app).await;
    for reason in [
        "failed_auth",
        "token_queue_full",
        "token_queue_timeout",
        "token_rate",
    ] {
        assert_eq!(refused(&text, reason), 0, "{reason}");
    }
    assert_eq!(sample(&text, "scim_bridge_rate_limited_total"), Some(0));
    Arc::try_unwrap(app).ok().unwrap().stop().await;
}

/// 100 wrong-token requests a second from one address: 401 for the burst, then 429; meanwhile
/// a valid token from the same address gets every answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_limited_but_a_valid_token_never_is() {
    let app = spawn_with(Backend::Sqlite, shipped()).await;
    let well_formed_wrong = format!("Bearer scimb_{}", "0".repeat(80));
    let mut bad = Vec::new();
    let mut good = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let started = Instant::now();
    for i in 0..200 {
        tick.tick().await;
        // Three kinds of failure: no Authorization, a malformed token, a well-formed wrong one.
        let r = match i % 3 {
            0 => {
                app.raw(
                    hyper::Request::get(app.url("/Users?count=1"))
                        .body(Default::default())
                        .unwrap(),
                )
                .await
            }
            1 => {
                app.send(
                    Method::GET,
                    "/Users?count=1",
                    None,
                    &[("authorization", "Bearer guess")],
                )
                .await
            }
            _ => {
                app.send(
                    Method::GET,
                    "/Users?count=1",
                    None,
                    &[("authorization", well_formed_wrong.as_str())],
                )
                .await
            }
        };
        if r.status == 429 {
            r.assert_error(429, None);
            assert_eq!(r.header("retry-after"), Some("1"), "{}", r.body);
            assert!(
                r.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("too many failed authentications"),
                "{}",
                r.body
            );
        } else {
            r.assert_error(401, None);
        }
        bad.push(r.status.as_u16());
        if i % 4 == 0 {
            // (whether the address was already over its limit, the valid token's status)
            let over = bad.contains(&429);
            good.push((over, app.get("/Users?count=1").await.status.as_u16()));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let unauthorized = bad.iter().filter(|&&s| s == 401).count();
    let limited = bad.iter().filter(|&&s| s == 429).count();
    eprintln!("200 wrong-token requests in {secs:.2} s: {unauthorized} × 401, {limited} × 429");
    assert!(
        good.iter().all(|&(_, s)| s == 200),
        "valid token refused: {good:?}"
    );
    assert_eq!(good.len(), 50);
    let while_over = good.iter().filter(|&&(over, _)| over).count();
    assert!(
        while_over >= 40,
        "only {while_over} valid requests were sent while the address was over its limit"
    );
    // The burst (20) is answered 401, then only what the rate (10/s) refills.
    assert!(
        bad[..20].iter().all(|&s| s == 401),
        "the burst is 401: {:?}",
        &bad[..20]
    );
    assert!(
        unauthorized as f64 <= 20.0 + 10.0 * secs + 2.0,
        "{unauthorized} answered 401 in {secs:.2} s"
    );
    assert_eq!(unauthorized + limited, 200);
    let text = metrics(&app).await;
    assert_eq!(refused(&text, "failed_auth"), limited as u64);
    assert_eq!(refused(&text, "token_queue_full"), 0);
    // Health checks are never limited.
    let r = app
        .raw(
            hyper::Request::get(format!("http://{}/healthz", app.addr))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    app.stop().await;
}

/// A POST whose body never arrives.
async fn stalled_request(app: &TestApp) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{",
            app.addr, app.token
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    s
}

/// Waits until the token's gauge `state` shows `n`.
async fn wait_for_gauge(app: &TestApp, state: &str, n: u64) {
    let series = format!(
        "scim_bridge_token_requests{{token=\"{}\",state=\"{state}\"}}",
        app.token_name
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = metrics(app).await;
        if sample(&text, &series).unwrap_or(0) == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never reached {n}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_concurrency_with_a_full_queue_gets_429_with_retry_after() {
    // One slot and a queue of one, so that a single blocked request fills them.
    let app = Arc::new(
        spawn_with(
            Backend::Sqlite,
            Options {
                extra_config: "\n[limits]\nper_token_in_flight = 1\nper_token_queue = 1\nper_token_queue_timeout_ms = 600\n".into(),
                ..Options::default()
            },
        )
        .await,
    );
    // A second token, made as an operator would.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
        .arg("--config")
        .arg(app.dir.path().join("config.toml"))
        .args(["token", "create", "--name", "other-idp"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let other = format!("Bearer {}", String::from_utf8(out.stdout).unwrap().trim());
    let other_header = [("authorization", other.as_str())];
    let as_other = || app.send(Method::GET, "/Users?count=1", None, &other_header);
    // Both tokens used once (their last-use time is written now, not while the lock is held).
    assert_eq!(app.get("/Users?count=1").await.status, 200);
    assert_eq!(as_other().await.status, 200);

    // A request whose body never arrives holds no slot: the one slot still serves at once.
    let stalled = stalled_request(&app).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    assert_eq!(app.get("/Users?count=1").await.status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );

    // The application holds its database's write lock: a create takes the slot and waits.
    let mut lock = AnyConn::open(Backend::Sqlite, &app.db_url).await;
    lock.batch("BEGIN IMMEDIATE").await;
    let blocked = tokio::spawn({
        let app = app.clone();
        async move {
            app.post("/Users", &okta_user("held@example.com", "He", "Ld"))
                .await
        }
    });
    wait_for_gauge(&app, "in_flight", 1).await;
    // The next request waits in the queue (of one)...
    let queued = tokio::spawn({
        let app = app.clone();
        async move {
            let t = Instant::now();
            let r = app.get("/Users?count=1").await;
            (r, t.elapsed())
        }
    });
    wait_for_gauge(&app, "queued", 1).await;
    // ...so the one after it finds the queue full: 429 at once, with Retry-After.
    let t = Instant::now();
    let r = app.get("/Users?count=1").await;
    r.assert_error(429, None);
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("request slots are busy"), "{detail}");
    // Another token has slots of its own.
    let r = as_other().await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The queued request gives up after the queue timeout: 429 with Retry-After too.
    let (r, waited) = queued.await.unwrap();
    r.assert_error(429, None);
    assert!(
        waited >= Duration::from_millis(550) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("waited 600 ms"),
        "{}",
        r.body
    );
    let text = metrics(&app).await;
    assert_eq!(refused(&text, "token_queue_full"), 1);
    assert_eq!(refused(&text, "token_queue_timeout"), 1);
    assert_eq!(refused(&text, "failed_auth"), 0);

    // The lock goes: the blocked create completes, and the token is served again.
    lock.batch("ROLLBACK").await;
    let r = blocked.await.unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    wait_for_gauge(&app, "in_flight", 0).await;
    assert_eq!(app.get("/Users?count=1").await.status, 200);
    drop(stalled);
    Arc::try_unwrap(app).ok().unwrap().stop().await;
}
