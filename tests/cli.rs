//! The `scim-bridge` binary as an operator uses it: help, config errors, check, tokens, and a
//! serve that drains in-flight requests on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// A temp directory with a config pointing at a fresh demo database and a copy of the demo
/// mapping (so tests can edit it).
fn setup(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        format!("{REPO}/mappings/demo.toml"),
        dir.path().join("mapping.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://helpdesk.db\"\ncreate_demo = true\n[mapping]\nfile = \"mapping.toml\"\n[log]\nformat = \"json\"\n{extra}"),
    )
    .unwrap();
    dir
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .env_remove("RUST_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_explains_every_command() {
    let o = Command::new(BIN).arg("--help").output().unwrap();
    let t = text(&o);
    for cmd in ["serve", "migrate", "token", "check"] {
        assert!(t.contains(cmd), "{t}");
    }
    let t = text(
        &Command::new(BIN)
            .args(["token", "create", "--help"])
            .output()
            .unwrap(),
    );
    assert!(t.contains("--name") && t.contains("hash"), "{t}");
    let t = text(
        &Command::new(BIN)
            .args(["serve", "--help"])
            .output()
            .unwrap(),
    );
    assert!(t.contains("SIGTERM"), "{t}");
}

#[test]
fn check_passes_on_the_demo_and_names_every_problem_otherwise() {
    let dir = setup("");
    let o = run(dir.path(), &["check"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("0 error(s)"), "{}", text(&o));

    let mapping = dir.path().join("mapping.toml");
    let m = std::fs::read_to_string(&mapping).unwrap();
    let broken = m
        .replace(
            "role       = { value = \"customer\", on = \"insert\" }\n",
            "",
        )
        .replace("firstname  = {", "first_nam  = {")
        .replace("transform = \"trim\"", "transform = \"trimm\"");
    std::fs::write(&mapping, broken).unwrap();
    let o = run(dir.path(), &["check"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("users.columns.role") && t.contains("NOT NULL"),
        "{t}"
    );
    assert!(
        t.contains("first_nam") && t.contains("did you mean firstname"),
        "{t}"
    );
    assert!(t.contains("trimm"), "{t}");
    assert!(
        t.contains("3 error(s)"),
        "only the three real problems, no consequential ones: {t}"
    );
    // serve refuses to start with the same errors.
    let o = run(dir.path(), &["serve"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("users.columns.role"), "{}", text(&o));
}

#[test]
fn config_errors_name_key_value_and_fix_and_env_overrides_apply() {
    let dir = setup("");
    let o = run(
        dir.path(),
        &["check"],
        &[("SCIM_BRIDGE__SERVER__LISTEN", "localhost")],
    );
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(
        t.contains("server.listen") && t.contains("localhost") && t.contains("127.0.0.1:8080"),
        "{t}"
    );
    let o = run(
        dir.path(),
        &["check"],
        &[("SCIM_BRIDGE__DATABASE__URL", "sqllite://x.db")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("database.url"), "{}", text(&o));
    // A real override: another database file (created as the demo).
    let o = run(
        dir.path(),
        &["check"],
        &[("SCIM_BRIDGE__DATABASE__URL", "sqlite://other.db")],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("other.db"));
    assert!(dir.path().join("other.db").exists());
    // A missing SQLite file is an error when it is not the demo: never a silently created file.
    let o = run(
        dir.path(),
        &["check"],
        &[
            ("SCIM_BRIDGE__DATABASE__URL", "sqlite://missing.db"),
            ("SCIM_BRIDGE__DATABASE__CREATE_DEMO", "false"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("does not exist"), "{}", text(&o));
    assert!(!dir.path().join("missing.db").exists());
    // A mistyped variable is an error naming the key.
    let o = run(
        dir.path(),
        &["token", "list"],
        &[("SCIM_BRIDGE__DATABASE__URLL", "x")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("urll"), "{}", text(&o));
    let o = Command::new(BIN)
        .args(["--config", "/nonexistent/config.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("does not exist"));
}

#[test]
fn tokens_are_shown_once_listed_without_secret_and_revoked() {
    let dir = setup("");
    let o = run(dir.path(), &["token", "create", "--name", "okta"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let token = String::from_utf8(o.stdout.clone())
        .unwrap()
        .trim()
        .to_string();
    assert!(token.starts_with("scimb_") && token.len() == 86, "{token}");
    let again = run(dir.path(), &["token", "create", "--name", "okta"], &[]);
    assert_eq!(again.status.code(), Some(1));
    let list = text(&run(dir.path(), &["token", "list"], &[]));
    assert!(list.contains("okta") && list.contains("never"), "{list}");
    assert!(!list.contains(&token[6..]), "no secret in the listing");
    let o = run(dir.path(), &["token", "revoke", "--name", "okta"], &[]);
    assert!(o.status.success());
    assert!(text(&run(dir.path(), &["token", "list"], &[])).contains("no tokens"));
    assert_eq!(
        run(dir.path(), &["token", "revoke", "--name", "okta"], &[])
            .status
            .code(),
        Some(1)
    );
}

/// A token named `name`, created with the CLI (its text is printed once).
fn create_token(dir: &Path, name: &str) -> String {
    String::from_utf8(run(dir, &["token", "create", "--name", name], &[]).stdout)
        .unwrap()
        .trim()
        .to_string()
}

/// journald restarting, or whatever reads the service's stderr going away, must not stop
/// the bridge answering: before, every request got an empty reply once a log line failed.
#[test]
fn serve_keeps_answering_when_its_log_stream_is_gone() {
    let dir = setup("");
    let token = create_token(dir.path(), "t");
    let (mut child, lines, _, addr) = start_serve_with(dir.path(), Some("info"));
    drop(lines); // the reading end closes: every later log line fails to write
    let request = |head: &str, body: &str| http_with(&addr, head, &token, body);
    for i in 0..3 {
        let body = format!(
            r#"{{"userName":"quiet{i}@example.com","emails":[{{"value":"quiet{i}@example.com"}}]}}"#
        );
        let resp = request("POST /scim/v2/Users", &body);
        assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    }
    let resp = request("GET /scim/v2/Users?filter=userName%20sw%20%22quiet%22", "");
    assert!(
        resp.starts_with("HTTP/1.1 200") && resp.contains("\"totalResults\":3"),
        "{resp}"
    );
    assert!(Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert_eq!(
        child.0.wait().unwrap().code(),
        Some(0),
        "clean exit without a log stream"
    );
}

#[test]
fn serve_drains_in_flight_requests_on_sigterm_and_exits_zero() {
    let dir = setup("");
    let token = create_token(dir.path(), "t");
    let (mut child, mut lines, before, addr) = start_serve_with(dir.path(), None);
    for line in &before {
        assert!(!line.contains(&token[6..]), "token in a log line");
    }
    // Start a request and leave its body half-sent.
    let body = r#"{"userName":"drain@example.com","emails":[{"value":"drain@example.com"}]}"#;
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(s, "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
    s.write_all(&body.as_bytes()[..10]).unwrap();
    s.flush().unwrap();
    // Wait until the server has the request (a complete request line and headers).
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap()
        .success());
    let mut shutdown_seen = false;
    for line in lines.by_ref() {
        if line.unwrap().contains("SIGTERM received") {
            shutdown_seen = true;
            break;
        }
    }
    assert!(shutdown_seen);
    // New connections are refused once the listener is closed.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "listener still open after SIGTERM"
    );
    // The in-flight request completes.
    s.write_all(&body.as_bytes()[10..]).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    for line in lines {
        assert!(!line.unwrap().contains(&token[6..]), "token in a log line");
    }
}

#[test]
fn serve_retries_an_unreachable_database_then_gives_up_with_the_reason() {
    let dir = setup("");
    let started = std::time::Instant::now();
    let o = run(
        dir.path(),
        &["serve"],
        &[
            (
                "SCIM_BRIDGE__DATABASE__URL",
                "postgres://nobody@127.0.0.1:1/none",
            ),
            ("SCIM_BRIDGE__DATABASE__STARTUP_RETRY_SECS", "2"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.matches("database unreachable; retrying").count() >= 2,
        "{t}"
    );
    assert!(t.contains("127.0.0.1:1"), "names the database: {t}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "kept retrying for the configured time"
    );
}

/// A running `serve`, ended (SIGTERM, then waited for) when dropped, also when a test fails.
struct Serve(std::process::Child);

impl Serve {
    fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

type StderrLines = std::io::Lines<BufReader<std::process::ChildStderr>>;

/// Starts `serve` on the test directory's config; returns it, its stderr lines and its address
/// once it is ready.
fn start_serve(dir: &Path) -> (Serve, StderrLines, String) {
    let (serve, lines, _, addr) = start_serve_with(dir, None);
    (serve, lines, addr)
}

/// [`start_serve`] with `RUST_LOG` set (else unset), also returning the lines logged before
/// the ready line.
fn start_serve_with(
    dir: &Path,
    rust_log: Option<&str>,
) -> (Serve, StderrLines, Vec<String>, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(dir.join("config.toml"))
        .arg("serve")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    if let Some(level) = rust_log {
        cmd.env("RUST_LOG", level);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut before = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("scim-bridge ready") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let addr = v["listen"].as_str().unwrap().to_string();
            return (Serve(child), lines, before, addr);
        }
        before.push(line);
    }
    let _ = child.wait();
    panic!("serve ended before it was ready");
}

/// One HTTP/1.1 request on a fresh connection; the whole answer.
fn http(addr: &str, request_line: &str, token: &str) -> String {
    http_with(addr, request_line, token, "")
}

/// [`http`] with a SCIM JSON body (none when empty).
fn http_with(addr: &str, request_line: &str, token: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body_headers = if body.is_empty() {
        String::new()
    } else {
        format!(
            "Content-Type: application/scim+json\r\nContent-Length: {}\r\n",
            body.len()
        )
    };
    write!(
        s,
        "{request_line} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n{body_headers}Connection: close\r\n\r\n{body}"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp
}

fn stop(child: Serve) {
    drop(child);
}

#[test]
fn json_request_lines_keep_the_span_fields_and_latency_is_a_number() {
    let dir = setup("");
    let token = create_token(dir.path(), "okta");
    let (child, mut lines, addr) = start_serve(dir.path());
    let resp = http(&addr, "GET /scim/v2/Users?count=1", &token);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let rid = resp
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("x-request-id header")
        .trim()
        .to_string();
    let line = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.contains("\"message\":\"request\""))
        .expect("a request log line");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["span"]["request_id"], rid.as_str(), "{line}");
    assert_eq!(v["span"]["method"], "GET", "{line}");
    assert_eq!(v["span"]["route"], "/Users", "{line}");
    assert_eq!(v["token"], "okta", "{line}");
    assert_eq!(v["status"], 200, "{line}");
    assert!(v["latency_ms"].is_f64(), "a number: {line}");
    assert!(v["latency_ms"].as_f64().unwrap() >= 0.0);
    stop(child);
}

#[test]
fn sighup_reloads_the_mapping_and_a_bad_one_keeps_the_old_serving() {
    // `systemctl reload` sends SIGHUP (ExecReload=): the mapping is read and validated again;
    // without TLS there is nothing else to re-read, and the bridge keeps serving throughout.
    let dir = setup("");
    let token = create_token(dir.path(), "okta");
    let (mut child, mut lines, addr) = start_serve(dir.path());
    let kenji = "GET /scim/v2/Users?filter=userName%20eq%20%22kenji.wong%40acme.example%22";
    let resp = http(&addr, kenji, &token);
    assert!(
        resp.starts_with("HTTP/1.1 200") && resp.contains("\"Support\""),
        "{resp}"
    );
    let hup = |lines: &mut std::io::Lines<BufReader<std::process::ChildStderr>>| {
        assert!(Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        lines
            .by_ref()
            .map(Result::unwrap)
            .find(|l| l.contains("SIGHUP"))
            .expect("the SIGHUP is logged")
    };
    // The department no longer mapped: new requests no longer serve it.
    let mapping = dir.path().join("mapping.toml");
    let text = std::fs::read_to_string(&mapping).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("department"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, text);
    std::fs::write(&mapping, &without).unwrap();
    let said = hup(&mut lines);
    assert!(said.contains("mapping reloaded"), "{said}");
    let resp = http(&addr, kenji, &token);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(!resp.contains("Support"), "{resp}");
    // A mapping that does not fit the database is refused; the previous one keeps serving.
    std::fs::write(
        &mapping,
        format!("{without}nickname_col = {{ attr = \"nickName\" }}\n"),
    )
    .unwrap();
    let said = hup(&mut lines);
    assert!(said.contains("mapping not reloaded"), "{said}");
    assert!(said.contains("nickname_col"), "names what is wrong: {said}");
    let resp = http(&addr, kenji, &token);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(!resp.contains("Support"), "{resp}");
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
    stop(child);
}

#[test]
fn audit_prints_csv_and_refuses_unknown_operations() {
    let dir = setup("");
    let token = create_token(dir.path(), "okta");
    let (child, _lines, addr) = start_serve(dir.path());
    // Two changes: a create (userName with a comma, to be quoted) and a deactivation.
    let body = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"csv, quoted@example.com","name":{"givenName":"C","familyName":"Q"}}"#;
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(s, "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    stop(child);

    let o = run(dir.path(), &["audit", "--format", "csv"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows[0],
        "at,token,resource_type,resource_id,operation,user_name,attributes"
    );
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[1].contains(",okta,User,") && rows[1].contains(",create,\"csv, quoted@example.com\","),
        "{out}"
    );
    assert!(!out.contains("AT (UTC)"), "not the table: {out}");

    let o = run(dir.path(), &["audit", "--operation", "frobnicate"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("frobnicate"), "{t}");
    for op in [
        "create",
        "adopt",
        "deactivate",
        "soft_delete",
        "unlink",
        "update",
    ] {
        assert!(t.contains(op), "names {op}: {t}");
    }
    let o = run(
        dir.path(),
        &["audit", "--operation", "create", "--format", "json"],
        &[],
    );
    assert!(o.status.success());
    assert_eq!(String::from_utf8(o.stdout).unwrap().lines().count(), 1);
}

#[test]
fn a_missing_mapping_file_is_reported_once_with_the_fix() {
    let dir = setup("");
    std::fs::remove_file(dir.path().join("mapping.toml")).unwrap();
    let o = run(dir.path(), &["check"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert_eq!(t.matches("No such file or directory").count(), 1, "{t}");
    assert!(
        t.contains("mapping.toml") && t.contains("fix:") && t.contains("init --database"),
        "{t}"
    );
}

#[test]
fn check_speaks_the_mapping_files_words() {
    let dir = setup("");
    let m = dir.path().join("mapping.toml");
    let text_of = std::fs::read_to_string(&m).unwrap().replace(
        "on_delete = \"deactivate\"",
        "on_delete = \"soft_delete\"\nsoft_delete = { role = \"deleted\" }\nscope = { role = [\"customer\", \"agent\"] }",
    ).replace(
        "department = { attr = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\" }",
        "department = { attr = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\", transform = [\"trim\", \"null_if_empty\"] }",
    );
    std::fs::write(&m, text_of).unwrap();
    let o = run(dir.path(), &["check"], &[]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("on_delete = \"soft_delete\""), "{t}");
    assert!(
        t.contains("transform = [\"trim\", \"null_if_empty\"]"),
        "{t}"
    );
    assert!(t.contains("on = \"insert\""), "{t}");
    for debug in ["SoftDelete", "DELETE:", "nullifempty", "(on insert)"] {
        assert!(!t.contains(debug), "Rust words {debug:?} in: {t}");
    }
}

/// A server URL from the test environment with another database name.
fn with_database(var: &str, db: &str) -> Option<String> {
    let url = std::env::var(var).ok().filter(|u| !u.is_empty())?;
    let (base, _) = url.rsplit_once('/')?;
    Some(format!("{base}/{db}"))
}

fn require(var: &str) {
    if std::env::var("SCIM_BRIDGE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("{var} is required (SCIM_BRIDGE_TEST_REQUIRE_ALL=1)");
    }
}

#[test]
fn a_missing_database_or_bad_credentials_fail_at_once_with_the_fix() {
    let mut cases = Vec::new();
    match with_database("SCIM_BRIDGE_TEST_POSTGRES_URL", "scim_bridge_no_such_db") {
        Some(u) => {
            cases.push((u, "does not exist", "create it"));
            let creds = with_database("SCIM_BRIDGE_TEST_POSTGRES_URL", "postgres")
                .unwrap()
                .replacen("://", "://scim_bridge_no_such_role:pw@", 1);
            // postgres://user@host → postgres://scim_bridge_no_such_role:pw@user@host is not a
            // URL; rebuild it from the host part.
            let host = creds.rsplit('@').next().unwrap();
            cases.push((
                format!("postgres://scim_bridge_no_such_role:pw@{host}"),
                "scim_bridge_no_such_role",
                "check the user and password",
            ));
        }
        None => require("SCIM_BRIDGE_TEST_POSTGRES_URL"),
    }
    match with_database("SCIM_BRIDGE_TEST_MYSQL_URL", "scim_bridge_no_such_db") {
        Some(u) => cases.push((u, "Unknown database", "create it")),
        None => require("SCIM_BRIDGE_TEST_MYSQL_URL"),
    }
    for (url, cause, fix) in cases {
        let dir = setup("");
        let started = std::time::Instant::now();
        let o = run(
            dir.path(),
            &["serve"],
            &[
                ("SCIM_BRIDGE__DATABASE__URL", &url),
                ("SCIM_BRIDGE__DATABASE__STARTUP_RETRY_SECS", "30"),
            ],
        );
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{t}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "not retried for 30 s: {t}"
        );
        assert!(!t.contains("retrying"), "{t}");
        assert!(t.contains(cause) && t.contains(fix), "{t}");
        assert!(!t.contains("creating a new object"), "no pool jargon: {t}");
        assert!(!t.contains(":pw@"), "no password: {t}");
    }
}
