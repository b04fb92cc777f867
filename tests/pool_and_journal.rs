//! Issue 18's configuration parts, through the binary as an operator runs it: the pool size
//! derived from the backend (`database.pool_size = 0`, the default) as `check` and the
//! start-up log print it, on every backend; SQLite's journal mode as `check` reports it; the
//! demo database created in WAL mode, and a host's file never switched.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");

/// Writes a config for `db_url` (plus `extra` under `[database]`) into `dir`; returns its path.
fn config(dir: &Path, name: &str, db_url: &str, extra: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!("[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{db_url}\"\n{extra}[mapping]\nfile = \"{REPO}/mappings/demo.toml\"\n[log]\nformat = \"json\"\nlevel = \"info\"\n"),
    )
    .unwrap();
    p
}

/// `scim-bridge --config CONFIG ARGS`: whether it succeeded, what it printed on stdout, and
/// that followed by its log (stderr).
fn output(config: &Path, args: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let all = format!("{stdout}{}", String::from_utf8_lossy(&o.stderr));
    (o.status.success(), stdout, all)
}

/// [`output`] without the stdout alone.
fn run(config: &Path, args: &[&str]) -> (bool, String) {
    let (ok, _, all) = output(config, args);
    (ok, all)
}

/// The line of `text` starting with `prefix`.
fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

/// A running `serve`, ended (SIGTERM, then waited for) when dropped, also when a test fails.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Starts `serve`; returns it and its "scim-bridge ready" log line.
fn start_serve(config: &Path) -> (Serve, serde_json::Value) {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let serve = Serve(child);
    for l in lines.by_ref() {
        let l = l.unwrap();
        if l.contains("scim-bridge ready") {
            // The rest of the log is read until the process ends: a closed stderr would fail
            // its requests.
            std::thread::spawn(move || lines.for_each(drop));
            return (serve, serde_json::from_str(&l).unwrap());
        }
    }
    panic!("serve ended before it was ready");
}

/// The CPUs the bridge sees (the same machine and cgroup as this test).
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The pool the rule gives on this machine and this server, computed here independently of
/// the bridge from what the server says: SQLite one reader per CPU within 2–8; a server
/// 2 × CPUs + 2, at most 16 and at most a quarter of its ordinary connections.
async fn expected_pool(app: &TestApp) -> usize {
    let number = |rows: Vec<Vec<Option<String>>>, i: usize| -> usize {
        rows[0][i].as_deref().unwrap().trim().parse().unwrap()
    };
    let ordinary = match app.backend {
        Backend::Sqlite => return cpus().clamp(2, 8),
        Backend::Postgres => {
            let r = app.rows("SELECT current_setting('max_connections'), current_setting('superuser_reserved_connections'), COALESCE(current_setting('reserved_connections', true), '0')").await;
            number(r.clone(), 0) - number(r.clone(), 1) - number(r, 2)
        }
        Backend::Mysql => number(app.rows("SELECT CAST(@@max_connections AS CHAR)").await, 0),
    };
    (2 * cpus() + 2).min(16).min((ordinary / 4).max(1))
}

/// `check` prints the pool the bridge runs with and why, derived by default and as written
/// otherwise, with the requests per token that follow; `serve` logs the same at start-up.
async fn check_and_serve_print_the_effective_pool(b: Backend) {
    let app = spawn_app(b).await;
    let dir = app.dir.path();
    let want = expected_pool(&app).await;
    let size = |n: usize| match b {
        Backend::Sqlite => format!("{n} reader(s) + 1 writer"),
        _ => format!("{n} connection(s)"),
    };

    let derived = config(dir, "derived.toml", &app.db_url, "");
    let (ok, out) = run(&derived, &["check"]);
    assert!(ok, "{out}");
    let pool = line(&out, "pool:");
    assert!(
        pool.starts_with(&format!(
            "pool:     {} (database.pool_size = 0: ",
            size(want)
        )),
        "{pool}"
    );
    let rule = match b {
        Backend::Sqlite => format!("one reader per CPU ({} CPU", cpus()),
        _ => format!("2 × {} CPU", cpus()),
    };
    assert!(pool.contains(&rule), "{pool}");
    if b != Backend::Sqlite {
        assert!(
            pool.contains("the server's max_connections"),
            "read: {pool}"
        );
        assert!(!pool.contains("could not be read"), "{pool}");
    }
    assert_eq!(
        line(&out, "requests:"),
        format!(
            "requests: {} at once per token (limits.per_token_in_flight = 0: twice the pool)",
            2 * want
        )
    );

    // The start-up log line says the same.
    let (serve, ready) = start_serve(&derived);
    assert_eq!(ready["pool_size"], want, "{ready}");
    assert!(
        ready["pool_rule"]
            .as_str()
            .is_some_and(|r| r.starts_with("database.pool_size = 0: ") && r.contains(&rule)),
        "{ready}"
    );
    assert_eq!(ready["requests_per_token"], 2 * want, "{ready}");
    drop(serve);

    // An explicit size wins, and the requests per token follow it unless set themselves.
    let explicit = config(dir, "explicit.toml", &app.db_url, "pool_size = 3\n");
    let (ok, out) = run(&explicit, &["check"]);
    assert!(ok, "{out}");
    assert_eq!(
        line(&out, "pool:"),
        format!("pool:     {} (database.pool_size = 3)", size(3))
    );
    assert!(
        line(&out, "requests:").starts_with("requests: 6 at once"),
        "{out}"
    );
    let (serve, ready) = start_serve(&explicit);
    assert_eq!(ready["pool_size"], 3, "{ready}");
    assert_eq!(ready["requests_per_token"], 6, "{ready}");
    drop(serve);
    std::fs::write(
        &explicit,
        std::fs::read_to_string(&explicit)
            .unwrap()
            .replace("[log]", "[limits]\nper_token_in_flight = 5\n[log]"),
    )
    .unwrap();
    let (ok, out) = run(&explicit, &["check"]);
    assert!(ok, "{out}");
    assert_eq!(
        line(&out, "requests:"),
        "requests: 5 at once per token (limits.per_token_in_flight)"
    );
    // Only SQLite has a journal line.
    assert_eq!(out.contains("journal:"), b == Backend::Sqlite, "{out}");
    app.stop().await;
}

backend_tests!(check_and_serve_print_the_effective_pool);

/// The journal mode of a SQLite file as a new connection reads it.
async fn journal_mode(path: &Path) -> String {
    let url = format!("sqlite://{}", path.display());
    AnyConn::open(Backend::Sqlite, &url)
        .await
        .rows("PRAGMA journal_mode")
        .await[0][0]
        .clone()
        .unwrap()
}

/// On a host's file in the rollback journal, `check` prints the mode, what WAL would buy and
/// the setting that switches it, and changes nothing; on a WAL file only the mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_the_journal_mode_and_what_wal_would_buy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("host.db");
    // A host's file as SQLite makes it by default.
    scim_bridge::store::demo::ensure(&db).unwrap();
    let url = format!("sqlite://{}", db.display());
    let cfg = config(dir.path(), "config.toml", &url, "");
    let (ok, out) = run(&cfg, &["check"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("\njournal:  delete (PRAGMA journal_mode)\n"),
        "{out}"
    );
    let advice = line(&out, "    not WAL:");
    for words in [
        "~1,890/s instead of ~736/s",
        "issue 18",
        "database.sqlite_wal = true switches it",
        "changes the file for the application too",
    ] {
        assert!(advice.contains(words), "{words:?} in {advice}");
    }
    assert_eq!(journal_mode(&db).await, "delete", "check switched nothing");
    assert!(!dir.path().join("host.db-wal").exists());

    // With database.sqlite_wal = true, check says serve will switch it, and still does not.
    let wal_on = config(dir.path(), "wal.toml", &url, "sqlite_wal = true\n");
    let (ok, out) = run(&wal_on, &["check"]);
    assert!(ok, "{out}");
    assert!(
        line(&out, "    database.sqlite_wal = true:").contains("switches the file to WAL"),
        "{out}"
    );
    assert!(!out.contains("not WAL:"), "{out}");
    assert_eq!(journal_mode(&db).await, "delete");

    // The application (or the operator) switched the file to WAL: only the mode is printed.
    let url_text = format!("sqlite://{}", db.display());
    let mut c = AnyConn::open(Backend::Sqlite, &url_text).await;
    assert_eq!(
        c.rows("PRAGMA journal_mode = WAL").await[0][0].as_deref(),
        Some("wal")
    );
    drop(c);
    let (ok, out) = run(&cfg, &["check"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("\njournal:  wal (PRAGMA journal_mode)\n"),
        "{out}"
    );
    assert!(
        !out.contains("not WAL") && !out.contains("    database.sqlite_wal"),
        "{out}"
    );
}

/// One HTTP/1.1 POST of a user on a fresh connection; the status line.
fn post_user(addr: &str, token: &str, user_name: &str) -> String {
    let body = okta_user(user_name, "Jo", "Journal").to_string();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.lines().next().unwrap_or_default().to_string()
}

/// The demo database the bridge creates is in WAL mode after its first start; a host's file
/// served and written to keeps its rollback journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_is_created_in_wal_and_a_hosts_file_is_never_switched() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("data/demo.db");
    let cfg = config(
        dir.path(),
        "demo.toml",
        &format!("sqlite://{}", demo.display()),
        "create_demo = true\n",
    );
    assert!(!demo.exists());
    let (serve, ready) = start_serve(&cfg);
    assert_eq!(ready["pool_size"], cpus().clamp(2, 8), "{ready}");
    assert_eq!(journal_mode(&demo).await, "wal");
    drop(serve);
    let (ok, out) = run(&cfg, &["check"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("\njournal:  wal (PRAGMA journal_mode)\n"),
        "{out}"
    );

    // A host's file (create_demo = false), served and written to: still the rollback journal.
    let host = dir.path().join("host.db");
    scim_bridge::store::demo::ensure(&host).unwrap();
    let cfg = config(
        dir.path(),
        "host.toml",
        &format!("sqlite://{}", host.display()),
        "",
    );
    let (ok, token, all) = output(&cfg, &["token", "create", "--name", "okta"]);
    assert!(ok, "{all}");
    let (serve, ready) = start_serve(&cfg);
    let addr = ready["listen"].as_str().unwrap();
    let status = post_user(addr, token.trim(), "journal.kept@example.com");
    assert!(status.starts_with("HTTP/1.1 201"), "{status}");
    drop(serve);
    assert_eq!(journal_mode(&host).await, "delete");
    assert!(!dir.path().join("host.db-wal").exists());
}
