//! Abrupt clients, on every backend: requests abandoned mid-flight (the client closes its
//! connection, as load generators, proxies and `curl -m` do) must never leave a pooled
//! database connection inside a transaction. After a burst of abandoned reads and writes,
//! every later request succeeds promptly.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use std::io::Write;

fn patch_body(family: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "value": {"name.familyName": family}}]})
}

/// Sends raw HTTP/1.1 requests on fresh connections for `run`, each connection reset (RST,
/// as a client killed mid-request or a proxy giving up does) after a delay spread, with
/// microsecond precision, over the time the server takes to answer that request — so the
/// resets land all along the request's path, inside its transaction too. A plain close would
/// not do: the server supports HTTP/1.1 half-close, so a client that only shuts down its
/// side still gets its answer and nothing is cancelled. Returns how many were sent.
fn abandon_for(
    addr: std::net::SocketAddr,
    requests: Vec<(String, u64)>,
    seed: u64,
    run: Duration,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        // A runtime of its own for the socket calls; the delays are blocking sleeps, which
        // are precise to tens of microseconds where tokio's timer has millisecond steps.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < run {
            n += 1;
            let (req, answer_us) = &requests[usize::try_from(n).unwrap() % requests.len()];
            let sent = rt.block_on(async {
                let sock = tokio::net::TcpSocket::new_v4().ok()?;
                // Linger 0: dropping the socket sends RST instead of FIN.
                #[allow(
                    deprecated,
                    reason = "the blocking-close caveat does not apply to a zero linger"
                )]
                sock.set_linger(Some(Duration::ZERO)).ok()?;
                let mut s = sock.connect(addr).await.ok()?;
                tokio::io::AsyncWriteExt::write_all(&mut s, req.as_bytes())
                    .await
                    .ok()?;
                Some(s)
            });
            let Some(s) = sent else { continue };
            // A cheap spread of delays that differs per thread.
            let wait = (n.wrapping_mul(2654435761).wrapping_add(seed * 977)) % answer_us.max(&1);
            std::thread::sleep(Duration::from_micros(wait));
            rt.block_on(async move { drop(s) });
        }
        n
    })
}

/// How long the server takes to answer `request` on a fresh connection (the slowest of a
/// few), in microseconds.
fn answer_time(addr: std::net::SocketAddr, request: &str) -> u64 {
    use std::io::Read;
    (0..5)
        .map(|_| {
            let t = Instant::now();
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).unwrap();
            u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
        })
        .max()
        .unwrap_or(1000)
}

fn request(app: &TestApp, method: &str, path: &str, body: Option<&Value>) -> String {
    let body = body.map(Value::to_string).unwrap_or_default();
    format!(
        "{method} /scim/v2{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {len}\r\n\r\n{body}",
        addr = app.addr,
        token = app.token,
        len = body.len(),
    )
}

async fn abandoned_requests_never_poison_a_connection(b: Backend) {
    // The shipped limits and pool (derived: a few connections, at most 16, against a burst of
    // 24 requests): a poisoned connection is certain to be handed out again.
    let app = Arc::new(spawn_app(b).await);
    let mut ids = Vec::new();
    for i in 0..8 {
        let r = app
            .post(
                "/Users",
                &okta_user(&format!("cancel{i}@example.com"), "Can", &format!("Cel{i}")),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    // A burst of abandoned requests at concurrency 8: searches (a read snapshot), PATCHes and
    // creates (write transactions).
    let mut requests = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        requests.push(request(
            &app,
            "GET",
            &format!("/Users?filter=userName%20eq%20%22cancel{i}%40example.com%22"),
            None,
        ));
        requests.push(request(
            &app,
            "PATCH",
            &format!("/Users/{id}"),
            Some(&patch_body(&format!("Burst{i}"))),
        ));
        requests.push(request(
            &app,
            "POST",
            "/Users",
            Some(&okta_user(&format!("burst{i}@example.com"), "Bur", "St")),
        ));
    }
    let addr = app.addr;
    let requests: Vec<(String, u64)> = tokio::task::spawn_blocking(move || {
        requests
            .into_iter()
            .map(|r| {
                let t = answer_time(addr, &r);
                (r, t)
            })
            .collect()
    })
    .await
    .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| abandon_for(app.addr, requests.clone(), t, Duration::from_millis(2500)))
        .collect();
    let sent: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(sent > 100, "only {sent} abandoned requests were sent");
    // Whatever the server was doing when its clients vanished, it has finished within this.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Every later request succeeds, promptly: writes (which would wait on a lock held by an
    // abandoned SQLite transaction, or draw a read-only PostgreSQL connection) and reads.
    for round in 0..12 {
        let id = &ids[round % ids.len()];
        let t = Instant::now();
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &patch_body(&format!("After{round}")),
            )
            .await;
        assert_eq!(
            r.status, 200,
            "PATCH after the burst (round {round}): {}",
            r.body
        );
        let r = app
            .post(
                "/Users",
                &okta_user(&format!("after{round}@example.com"), "Af", "Ter"),
            )
            .await;
        assert_eq!(
            r.status, 201,
            "POST after the burst (round {round}): {}",
            r.body
        );
        let r = app
            .get(&format!(
                "/Users?filter=userName%20eq%20%22after{round}%40example.com%22"
            ))
            .await;
        assert_eq!(r.status, 200, "search after the burst: {}", r.body);
        assert_eq!(r.body["totalResults"], 1, "{}", r.body);
        let r = app.get("/Users?startIndex=1&count=5").await;
        assert_eq!(r.status, 200, "list after the burst: {}", r.body);
        // A poisoned connection shows as an error above (SQLite: 503 after the lock wait;
        // PostgreSQL: 500 from a read-only snapshot); this bound only catches a hang, with
        // room for a loaded CI machine.
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "four requests took {:?}",
            t.elapsed()
        );
    }
    let family = app
        .rows(&format!(
            "SELECT lastname FROM users WHERE id = {}",
            ids[11 % ids.len()]
        ))
        .await;
    assert_eq!(family[0][0].as_deref(), Some("After11"));
    if b == Backend::Postgres {
        // No connection of this bridge is left inside a transaction.
        let stuck = app
            .count(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND state LIKE 'idle in transaction%'",
            )
            .await;
        assert_eq!(stuck, 0, "connections left idle in transaction");
    }
    Arc::try_unwrap(app).ok().unwrap().stop().await;
}

/// Wakes the test when the future under test can make progress.
struct Signal(tokio::sync::Notify);

impl std::task::Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.0.notify_one();
    }
}

/// Polls `f` `polls` times, each time after its pending I/O has completed and woken it (so
/// each poll moves it exactly one step: pool checkout, `BEGIN`, a statement, `COMMIT`), then
/// drops it.
async fn drop_after_polls<F: std::future::Future>(f: F, polls: usize) {
    let signal = Arc::new(Signal(tokio::sync::Notify::new()));
    let waker = std::task::Waker::from(signal.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    for _ in 0..polls {
        if f.as_mut().poll(&mut cx).is_ready() {
            return;
        }
        tokio::time::timeout(Duration::from_secs(5), signal.0.notified())
            .await
            .expect("the future under test is woken");
    }
}

/// The store itself, with one connection per pool so that a connection returned dirty is
/// certainly the next one handed out: read snapshots and write transactions dropped after
/// 1, 2, 3… polls (so at `BEGIN`, between statements, at `COMMIT`) leave nothing behind.
async fn transactions_dropped_at_any_step_leave_clean_connections(b: Backend) {
    use scim_bridge::store::sql::Sql;
    use scim_bridge::store::{Db, DbOptions, DbUrl};
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(b, dir.path()).await;
    let opts = DbOptions {
        pool_size: 1,
        acquire_timeout: Duration::from_secs(2),
        sqlite_wal: false,
        sqlite_busy_timeout: Duration::from_secs(2),
    };
    let db = Db::connect(&DbUrl::parse(&url).unwrap(), &opts)
        .await
        .unwrap();
    let update = |v: &'static str| {
        let mut q = Sql::new();
        q.raw("UPDATE users SET firstname = ")
            .raw(v)
            .raw(" WHERE id = 1");
        q
    };
    for polls in (1..=8).chain(1..=8) {
        drop_after_polls(
            async {
                let mut tx = db.begin_read().await.unwrap();
                let mut q = Sql::new();
                q.raw("SELECT COUNT(*) FROM users");
                tx.conn().rows(q).await.unwrap();
                tx.commit().await.unwrap();
            },
            polls,
        )
        .await;
        drop_after_polls(
            async {
                let mut tx = db.begin_write().await.unwrap();
                tx.conn().exec(update("'cancelled'")).await.unwrap();
                tx.conn().exec(update("'cancelled twice'")).await.unwrap();
                tx.commit().await.unwrap();
            },
            polls,
        )
        .await;
        // Whatever was in flight has reached the database by now.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t = Instant::now();
        // A write first: a connection left inside a read-only snapshot fails it (PostgreSQL).
        let mut tx = db
            .begin_write()
            .await
            .unwrap_or_else(|e| panic!("write after {polls} polls: {e}"));
        tx.conn()
            .exec(update("'written'"))
            .await
            .unwrap_or_else(|e| panic!("write after {polls} polls: {e}"));
        tx.commit().await.unwrap();
        let mut tx = db
            .begin_read()
            .await
            .unwrap_or_else(|e| panic!("read after {polls} polls: {e}"));
        let mut q = Sql::new();
        q.raw("SELECT COUNT(*) FROM users");
        tx.conn().rows(q).await.unwrap();
        tx.commit().await.unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "waited {:?} after {polls} polls",
            t.elapsed()
        );
    }
    let mut c = AnyConn::open(b, &url).await;
    assert_eq!(
        c.rows("SELECT firstname FROM users WHERE id = 1").await[0][0].as_deref(),
        Some("written")
    );
    if b == Backend::Postgres {
        // Closed connections are gone, and none is left inside a transaction.
        let mut left = 1;
        for _ in 0..40 {
            left = c
                .rows("SELECT CAST(COUNT(*) AS TEXT) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'")
                .await[0][0]
                .as_deref()
                .unwrap()
                .parse::<i64>()
                .unwrap();
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(left, 0, "connections left idle in transaction");
    }
    drop(db);
    if b != Backend::Sqlite {
        drop(c);
        let name = url.rsplit('/').next().unwrap().to_string();
        let force = if b == Backend::Postgres {
            " WITH (FORCE)"
        } else {
            ""
        };
        AnyConn::open(b, &b.admin_url().unwrap())
            .await
            .batch(&format!("DROP DATABASE IF EXISTS {name}{force}"))
            .await;
    }
}

/// Requests that time out while waiting for a lock another client of the database holds —
/// the server drops them wherever they are, on SQLite inside `BEGIN IMMEDIATE` — leave no
/// connection behind: once the lock is gone, every request succeeds.
async fn requests_timed_out_on_a_lock_leave_nothing_behind(b: Backend) {
    let app = spawn_with(
        b,
        Options {
            extra_config: "request_timeout_secs = 1\n".into(),
            ..Options::default()
        },
    )
    .await;
    let r = app
        .post("/Users", &okta_user("locked@example.com", "Lock", "Ed"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    // Another program holds the lock the bridge's write needs.
    let mut holder = AnyConn::open(b, &app.db_url).await;
    if b == Backend::Sqlite {
        holder.batch("BEGIN IMMEDIATE").await;
    } else {
        holder.batch("BEGIN").await;
        holder
            .rows(&format!("SELECT id FROM users WHERE id = {id} FOR UPDATE"))
            .await;
    }
    let app = Arc::new(app);
    // One request waiting on the lock, and two more waiting for the (single) writer behind it:
    // all three are dropped by the timeout at different points.
    let waiting: Vec<_> = (0..3)
        .map(|i| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move {
                app.patch(&format!("/Users/{id}"), &patch_body(&format!("Waited{i}")))
                    .await
                    .status
                    .as_u16()
            })
        })
        .collect();
    for w in waiting {
        assert_eq!(w.await.unwrap(), 503, "a request that outlived the timeout");
    }
    holder.batch("ROLLBACK").await;
    drop(holder);
    let t = Instant::now();
    let r = app
        .patch(&format!("/Users/{id}"), &patch_body("Released"))
        .await;
    assert_eq!(
        r.status, 200,
        "PATCH after the lock was released: {}",
        r.body
    );
    let r = app
        .post("/Users", &okta_user("after.lock@example.com", "Af", "Ter"))
        .await;
    assert_eq!(
        r.status, 201,
        "POST after the lock was released: {}",
        r.body
    );
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let family = app
        .rows(&format!("SELECT lastname FROM users WHERE id = {id}"))
        .await;
    assert_eq!(family[0][0].as_deref(), Some("Released"));
    if b == Backend::Postgres {
        let mut left = 1;
        for _ in 0..40 {
            left = app
                .count(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND state LIKE 'idle in transaction%'",
                )
                .await;
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(left, 0, "connections left idle in transaction");
    }
    Arc::try_unwrap(app).ok().unwrap().stop().await;
}

backend_tests!(
    abandoned_requests_never_poison_a_connection,
    requests_timed_out_on_a_lock_leave_nothing_behind,
    transactions_dropped_at_any_step_leave_clean_connections,
);
