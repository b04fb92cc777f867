//! SQLite group commit (`store/group_commit.rs`): writes queued behind the single writer
//! share one transaction, each inside a savepoint of its own. A failed write is rolled back
//! alone, an abandoned one too; a write is answered only after its commit, and an open
//! transaction is always ended even when every request in it is gone. SQLite only: the
//! servers have concurrent writers and commit each request on its own. The runtime is
//! multi-threaded as in production (diesel-async waits for a dropped SQLite statement with
//! `block_in_place`, which a current-thread runtime does not allow).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use scim_bridge::store::sql::Sql;
use scim_bridge::store::{Conn, Db, DbOptions, DbUrl, StoreError};
use tokio::sync::Notify;

async fn open_db(dir: &std::path::Path) -> (Db, String) {
    let url = fresh_database(Backend::Sqlite, dir).await;
    let opts = DbOptions {
        pool_size: 2,
        acquire_timeout: Duration::from_secs(5),
        sqlite_wal: false,
        sqlite_busy_timeout: Duration::from_secs(2),
    };
    (
        Db::connect(&DbUrl::parse(&url).unwrap(), &opts)
            .await
            .unwrap(),
        url,
    )
}

/// `UPDATE users SET firstname = 'value' WHERE id = id`; values are the test's own literals.
async fn set_name(c: &mut Conn, id: i64, value: &str) -> Result<(), StoreError> {
    let mut q = Sql::new();
    q.raw("UPDATE users SET firstname = ")
        .text(value)
        .raw(" WHERE id = ")
        .int(id);
    assert_eq!(c.exec(q).await?, 1, "user {id} exists");
    Ok(())
}

async fn first_names(url: &str) -> Vec<Option<String>> {
    let mut c = AnyConn::open(Backend::Sqlite, url).await;
    c.rows("SELECT firstname FROM users WHERE id IN (1, 2, 3) ORDER BY id")
        .await
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect()
}

/// What a spawned write does after its `UPDATE`.
enum Then {
    Commit,
    WaitFor(Arc<Notify>),
    Fail,
    Hang,
}

/// Spawns `db.write` setting user `id`'s first name to `value`, then doing `then`.
fn spawn_write(
    db: &Arc<Db>,
    id: i64,
    value: &'static str,
    then: Then,
) -> tokio::task::JoinHandle<Result<(), StoreError>> {
    let db = db.clone();
    tokio::spawn(async move {
        db.write(async |c| -> Result<(), StoreError> {
            set_name(c, id, value).await?;
            match then {
                Then::Commit => Ok(()),
                Then::WaitFor(go) => {
                    go.notified().await;
                    Ok(())
                }
                Then::Fail => Err(StoreError::Invalid("the test refuses this write".into())),
                Then::Hang => std::future::pending().await,
            }
        })
        .await
    })
}

/// Lets what was just spawned reach the writer's queue, or the point where it waits: a
/// spawned write gets there within microseconds.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Three writes in one transaction, the middle one failing: it is rolled back alone, the
/// other two are committed, by one `COMMIT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_is_rolled_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = open_db(dir.path()).await;
    let db = Arc::new(db);
    let before = first_names(&url).await;
    let (commits0, writes0) = db.group_commits().unwrap();
    let go = Arc::new(Notify::new());
    // A holds the writer until told to go; B and C queue behind it meanwhile.
    let a = spawn_write(&db, 1, "first", Then::WaitFor(go.clone()));
    settle().await;
    let b = spawn_write(&db, 2, "refused", Then::Fail);
    settle().await;
    let c = spawn_write(&db, 3, "third", Then::Commit);
    settle().await;
    go.notify_one();
    a.await.unwrap().unwrap();
    assert!(matches!(b.await.unwrap(), Err(StoreError::Invalid(_))));
    c.await.unwrap().unwrap();
    let after = first_names(&url).await;
    assert_eq!(after[0].as_deref(), Some("first"));
    assert_eq!(after[1], before[1], "the failed write left its row alone");
    assert_eq!(after[2].as_deref(), Some("third"));
    let (commits, writes) = db.group_commits().unwrap();
    assert_eq!(
        (commits - commits0, writes - writes0),
        (1, 2),
        "two writes and one failure, one COMMIT"
    );
}

/// B finishes its write and waits for the commit it shares with A; A is abandoned inside its
/// savepoint. A's write is rolled back alone, B's is committed and B answered, and the
/// connection is reused (no reconnect, no lost lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_write_is_rolled_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = open_db(dir.path()).await;
    let db = Arc::new(db);
    let before = first_names(&url).await;
    let go = Arc::new(Notify::new());
    // B waits until A is queued behind it: then B leaves the transaction open for A.
    let b = spawn_write(&db, 2, "shared", Then::WaitFor(go.clone()));
    settle().await;
    let a = spawn_write(&db, 1, "abandoned", Then::Hang);
    settle().await;
    go.notify_one();
    // A is inside its savepoint now, B waiting for the commit.
    settle().await;
    assert!(!b.is_finished(), "B is answered only after the commit");
    a.abort();
    assert!(a.await.unwrap_err().is_cancelled());
    let t = Instant::now();
    match tokio::time::timeout(Duration::from_secs(5), b).await {
        Ok(Ok(Ok(()))) => {}
        other => panic!("B's write is committed and B answered: {other:?}"),
    }
    let after = first_names(&url).await;
    assert_eq!(after[0], before[0], "A's write was rolled back");
    assert_eq!(after[1].as_deref(), Some("shared"));
    let pool = db.pool_usage();
    assert_eq!(
        pool.iter().find(|p| p.0 == "write").map(|p| p.2),
        Some(1),
        "the writer connection was kept, not replaced: {pool:?}"
    );
    db.write(async |c| -> Result<(), StoreError> { set_name(c, 3, "after").await })
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(first_names(&url).await[2].as_deref(), Some("after"));
}

/// A write that left the transaction open for a request queued behind it, which then gave
/// up — while queued, or after joining — still commits and is answered. The follower is
/// abandoned at varying moments around the hand-over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_follower_gave_up_is_still_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = open_db(dir.path()).await;
    let db = Arc::new(db);
    for round in 0..60usize {
        // Unique per round: a round whose write was rolled back must not find an earlier one's.
        let name: &'static str = format!("round{round}").leak();
        let go = Arc::new(Notify::new());
        let a = spawn_write(&db, 1, name, Then::WaitFor(go.clone()));
        tokio::time::sleep(Duration::from_millis(5)).await;
        let follower = spawn_write(&db, 2, name, Then::Commit);
        tokio::time::sleep(Duration::from_millis(2)).await;
        go.notify_one();
        // 0 to ~300 µs: before, during and after A hands the writer on.
        std::thread::sleep(Duration::from_micros(u64::try_from(round).unwrap() * 5));
        follower.abort();
        let r = tokio::time::timeout(Duration::from_secs(5), a).await;
        assert!(
            matches!(r, Ok(Ok(Ok(())))),
            "round {round}: A is answered after its write committed: {r:?}"
        );
        assert_eq!(first_names(&url).await[0].as_deref(), Some(name));
        // Whatever happened to the follower, the writer is free.
        tokio::time::timeout(
            Duration::from_secs(5),
            db.write(async |c| -> Result<(), StoreError> { set_name(c, 3, name).await }),
        )
        .await
        .unwrap_or_else(|_| panic!("round {round}: the writer was left held"))
        .unwrap();
    }
}

/// Over HTTP: a burst of concurrent creates is answered 201 each, every user and link is
/// there, and the writes shared commits (the metrics say how many).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_share_commits_and_all_land() {
    let app = Arc::new(spawn_app(Backend::Sqlite).await);
    let users_before = app.count("SELECT COUNT(*) FROM users").await;
    let n = 48;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post(
                    "/Users",
                    &okta_user(&format!("burst{i}@example.com"), "Bur", &format!("St{i}")),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        users_before + n
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM scim_users WHERE user_name LIKE 'burst%'")
            .await,
        n
    );
    let metrics = scrape(app.metrics_addr).await;
    let value = |name: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    let (commits, writes) = (
        value("scim_bridge_sqlite_commits_total"),
        value("scim_bridge_sqlite_committed_writes_total"),
    );
    assert!(writes >= n, "{writes} writes for {n} creates");
    assert!(
        commits < writes,
        "{commits} commits for {writes} writes: no write shared a commit"
    );
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// A write leaves the transaction open for the one queued behind it, then both are abandoned
/// (the first while waiting for the commit, the other while waiting for the writer or inside
/// its savepoint), at varying moments. The transaction is still ended: another program gets
/// SQLite's write lock at once, and the next write goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_everyone_left_is_still_ended() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = open_db(dir.path()).await;
    let db = Arc::new(db);
    let mut other = AnyConn::open(Backend::Sqlite, &url).await;
    other.batch("PRAGMA busy_timeout = 2000").await;
    for round in 0..40u64 {
        let go = Arc::new(Notify::new());
        let a = spawn_write(&db, 1, "left", Then::WaitFor(go.clone()));
        tokio::time::sleep(Duration::from_millis(5)).await;
        let follower = spawn_write(&db, 2, "left", Then::Commit);
        tokio::time::sleep(Duration::from_millis(2)).await;
        go.notify_one();
        std::thread::sleep(Duration::from_micros(round * 7));
        a.abort();
        follower.abort();
        let _ = a.await;
        let _ = follower.await;
        let t = Instant::now();
        other.batch("BEGIN IMMEDIATE").await;
        other.batch("ROLLBACK").await;
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "round {round}: the write lock was held {:?} after everyone left",
            t.elapsed()
        );
        tokio::time::timeout(
            Duration::from_secs(5),
            db.write(async |c| -> Result<(), StoreError> { set_name(c, 3, "next").await }),
        )
        .await
        .unwrap_or_else(|_| panic!("round {round}: the writer was left held"))
        .unwrap();
    }
}
