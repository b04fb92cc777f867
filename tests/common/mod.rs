//! Black-box test harness: a real server on 127.0.0.1:0 over a fresh database, a small HTTP
//! client, and direct SQL reads of the host tables to check what the bridge really wrote.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
};
use scim_bridge::config::Settings;
use scim_bridge::http::State;
use scim_bridge::store::sql::TextRow;
use scim_bridge::store::SqliteConn;

pub mod order;
pub mod replay;
pub mod snapshot;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The databases the suite runs on. SQLite always; PostgreSQL and MySQL/MariaDB when their
/// server URLs are given (see [`Backend::admin_url`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    fn env_var(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "SCIM_BRIDGE_TEST_POSTGRES_URL",
            Backend::Mysql => "SCIM_BRIDGE_TEST_MYSQL_URL",
        }
    }

    /// A URL of a server where the tests may create and drop databases.
    pub fn admin_url(self) -> Option<String> {
        match self {
            Backend::Sqlite => Some(String::new()),
            b => std::env::var(b.env_var()).ok().filter(|u| !u.is_empty()),
        }
    }

    /// Whether this backend runs; says so on stderr when it is skipped. With
    /// `SCIM_BRIDGE_TEST_REQUIRE_ALL=1` (CI) a missing backend fails instead.
    pub fn available(self) -> bool {
        if self.admin_url().is_some() {
            return true;
        }
        let hint = match self {
            Backend::Postgres => "postgres://postgres@127.0.0.1:5432/postgres",
            _ => "mysql://root@127.0.0.1:3306/test",
        };
        if std::env::var("SCIM_BRIDGE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
            panic!(
                "{self:?} is required (SCIM_BRIDGE_TEST_REQUIRE_ALL=1) but {} is not set",
                self.env_var()
            );
        }
        // Written to stderr directly, not through eprintln!, so the test harness does not
        // swallow it: a skipped backend must be visible. Once per backend per test binary.
        static SAID: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        let mut said = SAID
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !said.contains(&self.env_var()) {
            said.push(self.env_var());
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "note: {self:?} tests SKIPPED (they pass without running); set {}={hint} to run them", self.env_var());
        }
        false
    }

    /// The SQL type text casts use.
    pub fn text(self) -> &'static str {
        if self == Backend::Mysql {
            "CHAR"
        } else {
            "TEXT"
        }
    }
}

/// Generates one test per backend for each listed `async fn name(b: Backend)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if Backend::Postgres.available() {
                        super::$name(Backend::Postgres).await
                    }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    if Backend::Mysql.available() {
                        super::$name(Backend::Mysql).await
                    }
                }
            }
        )*
    };
}

/// [`backend_tests!`] for one test that documents a known bug: its three backend tests are
/// `#[ignore]`d with the reason given (`cargo test -- --ignored` runs them).
#[macro_export]
macro_rules! backend_tests_ignored {
    ($reason:literal, $name:ident $(,)?) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = $reason]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = $reason]
            async fn postgres() {
                if Backend::Postgres.available() {
                    super::$name(Backend::Postgres).await
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = $reason]
            async fn mysql() {
                if Backend::Mysql.available() {
                    super::$name(Backend::Mysql).await
                }
            }
        }
    };
}

/// Connects to a database URL of any backend.
#[allow(clippy::large_enum_variant, reason = "a handful per test")]
pub enum AnyConn {
    Pg(AsyncPgConnection),
    My(AsyncMysqlConnection),
    Lite(SqliteConn),
}

impl AnyConn {
    pub async fn open(b: Backend, url: &str) -> AnyConn {
        match b {
            Backend::Postgres => AnyConn::Pg(
                AsyncPgConnection::establish(url)
                    .await
                    .expect("connect to PostgreSQL"),
            ),
            Backend::Mysql => AnyConn::My(
                AsyncMysqlConnection::establish(url)
                    .await
                    .expect("connect to MySQL"),
            ),
            Backend::Sqlite => {
                let path = url.trim_start_matches("sqlite://");
                let mut c = SqliteConn::establish(path).await.expect("open SQLite");
                c.batch_execute("PRAGMA busy_timeout = 5000").await.unwrap();
                AnyConn::Lite(c)
            }
        }
    }
    pub async fn batch(&mut self, sql: &str) {
        match self {
            AnyConn::Pg(c) => c.batch_execute(sql).await,
            AnyConn::My(c) => c.batch_execute(sql).await,
            AnyConn::Lite(c) => c.batch_execute(sql).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    pub async fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let q = diesel::sql_query(sql);
        let rows: Vec<TextRow> = match self {
            AnyConn::Pg(c) => q.load(c).await,
            AnyConn::My(c) => q.load(c).await,
            AnyConn::Lite(c) => q.load(c).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter().map(|r| r.0).collect()
    }
}

/// A fresh database with the demo helpdesk's users table and seed rows; returns its URL.
pub async fn fresh_database(b: Backend, dir: &std::path::Path) -> String {
    let name = format!("scimtest_{}", hex_id());
    match b {
        Backend::Sqlite => {
            let path = dir.join("helpdesk.db");
            scim_bridge::store::demo::ensure(&path).unwrap();
            format!("sqlite://{}", path.display())
        }
        Backend::Postgres | Backend::Mysql => {
            let admin = b.admin_url().unwrap();
            AnyConn::open(b, &admin)
                .await
                .batch(&format!("CREATE DATABASE {name}"))
                .await;
            let url = replace_db(&admin, &name);
            let mut c = AnyConn::open(b, &url).await;
            let schema = std::fs::read_to_string(format!(
                "{REPO}/tests/fixtures/demo.{}.sql",
                if b == Backend::Postgres {
                    "postgres"
                } else {
                    "mysql"
                }
            ))
            .unwrap();
            c.batch(&schema).await;
            c.batch(scim_bridge::store::demo::SEED).await;
            if b == Backend::Postgres {
                c.batch("SELECT setval('users_id_seq', (SELECT max(id) FROM users))")
                    .await;
            }
            url
        }
    }
}

/// A fresh database holding one fixture helpdesk (`tests/fixtures/helpdesks/<app>`): its
/// schema for this backend and its seed rows; returns its URL.
pub async fn helpdesk_database(b: Backend, dir: &std::path::Path, app: &str) -> String {
    let fx = format!("{REPO}/tests/fixtures/helpdesks/{app}");
    let read = |f: &str| {
        std::fs::read_to_string(format!("{fx}/{f}")).unwrap_or_else(|e| panic!("{fx}/{f}: {e}"))
    };
    let (url, dialect) = match b {
        Backend::Sqlite => {
            let path = dir.join(format!("{app}.db"));
            std::fs::File::create(&path).unwrap();
            (format!("sqlite://{}", path.display()), "sqlite")
        }
        Backend::Postgres | Backend::Mysql => {
            let name = format!("scimtest_{}", hex_id());
            let admin = b.admin_url().unwrap();
            AnyConn::open(b, &admin)
                .await
                .batch(&format!("CREATE DATABASE {name}"))
                .await;
            let dialect = if b == Backend::Postgres {
                "postgres"
            } else {
                "mysql"
            };
            (replace_db(&admin, &name), dialect)
        }
    };
    let mut c = AnyConn::open(b, &url).await;
    c.batch(&read(&format!("schema.{dialect}.sql"))).await;
    let seed =
        if b == Backend::Mysql && std::path::Path::new(&format!("{fx}/seed.mysql.sql")).exists() {
            read("seed.mysql.sql")
        } else {
            read("seed.sql")
        };
    c.batch(&seed).await;
    if b == Backend::Postgres {
        c.batch(
            &std::fs::read_to_string(format!(
                "{REPO}/tests/fixtures/helpdesks/_pg_reset_sequences.sql"
            ))
            .unwrap(),
        )
        .await;
    }
    url
}

/// Starts a server over a fresh copy of a fixture helpdesk with the repo's preset mapping
/// `mappings/<preset>.toml`.
pub async fn spawn_helpdesk(b: Backend, app: &str, preset: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = helpdesk_database(b, dir.path(), app).await;
    spawn_on_url(
        b,
        db_url,
        dir,
        Options {
            mapping: format!("{REPO}/mappings/{preset}.toml"),
            extra_config: String::new(),
        },
    )
    .await
}

fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

pub fn hex_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    // The low bits: a unique suffix, not a time.
    let t = u64::try_from(t % u128::from(u64::MAX)).unwrap_or_default();
    format!(
        "{:x}{:x}{:x}",
        std::process::id(),
        t & 0xffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub struct TestApp {
    pub backend: Backend,
    pub addr: SocketAddr,
    pub token: String,
    pub token_name: String,
    pub metrics_addr: SocketAddr,
    pub db_url: String,
    db_name: Option<String>,
    pub dir: tempfile::TempDir,
    client: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts a SCIM error with this status (and scimType, when given).
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.to_string());
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            self.body
        );
        if let Some(t) = scim_type {
            assert_eq!(self.body["scimType"], t, "{}", self.body);
        }
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
    }
}

/// Options for a test server.
pub struct Options {
    pub mapping: String,
    pub extra_config: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mapping: format!("{REPO}/mappings/demo.toml"),
            extra_config: String::new(),
        }
    }
}

pub async fn spawn_app(b: Backend) -> TestApp {
    spawn_with(b, Options::default()).await
}

/// Starts a server over a fresh database of backend `b`.
pub async fn spawn_with(b: Backend, opts: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = fresh_database(b, dir.path()).await;
    spawn_on_url(b, db_url, dir, opts).await
}

/// Starts a server over an existing database (a second replica, for instance).
pub async fn spawn_on_url(
    b: Backend,
    db_url: String,
    dir: tempfile::TempDir,
    opts: Options,
) -> TestApp {
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{timeout}{extra}\n[database]\nurl = \"{db}\"\nacquire_timeout_ms = 5000\nstartup_retry_secs = 5\n[mapping]\nfile = \"{mapping}\"\n[log]\nlevel = \"warn\"\n",
        db = db_url,
        mapping = opts.mapping,
        extra = opts.extra_config,
        timeout = if opts.extra_config.contains("request_timeout_secs") {
            ""
        } else {
            "request_timeout_secs = 10\n"
        },
    );
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let settings = Settings::load(&config_path).expect("test config loads");
    let app = scim_bridge::cli::prepare(&settings, Duration::from_secs(5))
        .await
        .expect("bridge prepares");
    let token_name = format!("test-{}", hex_id());
    let token = scim_bridge::store::tokens::create(&app.db, &token_name)
        .await
        .expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = scim_bridge::cli::limits(&settings, app.db.pool_size().size);
    let state = Arc::new(State {
        app: app.into(),
        http: scim_bridge::cli::http_settings(&settings),
        limits,
        metrics: Default::default(),
    });
    // The metrics endpoint, on its own port as in production.
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = metrics_listener.local_addr().unwrap();
    tokio::spawn(scim_bridge::http::metrics::serve(
        metrics_listener,
        state.clone(),
    ));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // TLS when the extra configuration names a certificate and key, as `serve` does.
    let tls = settings.tls_paths().map(|(cert, key)| {
        Arc::new(scim_bridge::http::tls::Tls::new(cert, key).expect("test certificate loads"))
    });
    let server = tokio::spawn(scim_bridge::http::serve_with_tls(
        listener,
        state,
        async move {
            let _ = rx.await;
        },
        Duration::from_secs(5),
        tls,
    ));
    let db_name = (b != Backend::Sqlite).then(|| {
        db_url
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_string()
    });
    TestApp {
        backend: b,
        addr,
        token,
        token_name,
        metrics_addr,
        db_url,
        db_name,
        dir,
        client: Client::builder(TokioExecutor::new()).build_http(),
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/scim/v2{path}", self.addr)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(self.url(path));
        let mut has_auth = false;
        for (k, v) in headers {
            has_auth |= k.eq_ignore_ascii_case("authorization");
            b = b.header(*k, *v);
        }
        if !has_auth {
            b = b.header("authorization", format!("Bearer {}", self.token));
        }
        let body = match body {
            Some(v) => {
                if !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                {
                    b = b.header("content-type", "application/scim+json");
                }
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        self.raw(b.body(body).unwrap()).await
    }

    pub async fn raw(&self, req: Request<Full<Bytes>>) -> Resp {
        let resp = self.client.request(req).await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let raw = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or(Value::Null)
        };
        Resp {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PUT, path, Some(body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Rows of a SQL query against the host database; `{T}` stands for the backend's text type
    /// (for casts).
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        AnyConn::open(self.backend, &self.db_url)
            .await
            .rows(&sql.replace("{T}", self.backend.text()))
            .await
    }

    /// Runs SQL against the host database as the application would.
    pub async fn exec(&self, sql: &str) {
        AnyConn::open(self.backend, &self.db_url)
            .await
            .batch(sql)
            .await;
    }

    /// `scim-bridge ARGS` on this app's database with the mapping text `mapping` (written
    /// beside the app's own config): whether it succeeded, and what it printed.
    pub fn cli_with(&self, mapping: &str, args: &[&str]) -> (bool, String) {
        let dir = self.dir.path();
        let m = dir.join("cli-mapping.toml");
        std::fs::write(&m, mapping).unwrap();
        let cfg = dir.join("cli.toml");
        std::fs::write(
            &cfg,
            format!(
                "[database]\nurl = \"{}\"\n[mapping]\nfile = \"{}\"\n[log]\nlevel = \"warn\"\n",
                self.db_url,
                m.display()
            ),
        )
        .unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    }

    /// `scim-bridge check` of the mapping text `mapping` on this app's database.
    pub fn check(&self, mapping: &str) -> (bool, String) {
        self.cli_with(mapping, &["check"])
    }

    /// One row of the demo `users` table by login, as text (`active` as "1"/"0").
    pub async fn user_row(&self, login: &str) -> Option<Vec<Option<String>>> {
        self.rows(&format!(
            "SELECT CAST(id AS {{T}}), login, email, firstname, lastname, department, phone, CASE WHEN active THEN '1' ELSE '0' END, role, password, CAST(created_at AS {{T}}), CAST(updated_at AS {{T}}) FROM users WHERE login = '{}'",
            login.replace('\'', "''")
        ))
        .await
        .into_iter()
        .next()
    }

    /// A quoted identifier in this backend's syntax.
    pub fn ident(&self, name: &str) -> String {
        if self.backend == Backend::Mysql {
            format!("`{}`", name.replace('`', "``"))
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    /// The columns of a host table, in their declared order.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        let t = table.replace('\'', "''");
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"),
            Backend::Postgres => format!("SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{t}' ORDER BY ordinal_position"),
            Backend::Mysql => format!("SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{t}' ORDER BY ordinal_position"),
        };
        let cols: Vec<String> = self
            .rows(&sql)
            .await
            .into_iter()
            .filter_map(|mut r| r.remove(0))
            .collect();
        assert!(
            !cols.is_empty(),
            "table {table} has no columns (does it exist?)"
        );
        cols
    }

    /// Whole rows: every column of the rows of `table` matching the SQL condition `filter`,
    /// each cast to text, ordered by `order_by` — (column, value) pairs, to compare a host
    /// row byte for byte before and after a write.
    pub async fn whole_rows(
        &self,
        table: &str,
        filter: &str,
        order_by: &str,
    ) -> Vec<Vec<(String, Option<String>)>> {
        let cols = self.columns(table).await;
        let list: Vec<String> = cols
            .iter()
            .map(|c| format!("CAST({} AS {{T}})", self.ident(c)))
            .collect();
        // ORDER BY the table's column, qualified: PostgreSQL names `CAST("id" AS TEXT)` "id"
        // and would otherwise sort by the text.
        let sql = format!(
            "SELECT {} FROM {t} WHERE {filter} ORDER BY {t}.{}",
            list.join(", "),
            self.ident(order_by),
            t = self.ident(table),
        );
        self.rows(&sql)
            .await
            .into_iter()
            .map(|r| cols.iter().cloned().zip(r).collect())
            .collect()
    }

    /// `SELECT COUNT(*) FROM …` as a number.
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sql.replacen("COUNT(*)", "CAST(COUNT(*) AS {T})", 1);
        self.rows(&sql).await[0][0]
            .as_deref()
            .unwrap()
            .parse()
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
        if let Some(name) = self.db_name.take() {
            let admin = self.backend.admin_url().unwrap();
            let force = if self.backend == Backend::Postgres {
                " WITH (FORCE)"
            } else {
                ""
            };
            AnyConn::open(self.backend, &admin)
                .await
                .batch(&format!("DROP DATABASE IF EXISTS {name}{force}"))
                .await;
        }
    }
}

/// The body Okta's create sends (from Okta's SCIM 2.0 reference).
pub fn okta_user(user_name: &str, given: &str, family: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{}", user_name.len()),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A PatchOp request body carrying `operations` (RFC 7644 §3.5.2).
pub fn patch_op(operations: Value) -> Value {
    let mut body = serde_json::json!({ "schemas": [PATCH_OP] });
    body["Operations"] = operations;
    body
}

/// A TCP forwarder to the database that can be cut and restored, to simulate an outage
/// without stopping the shared server other tests use.
pub struct Cable {
    pub addr: SocketAddr,
    up: std::sync::Arc<std::sync::Mutex<bool>>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Cable {
    pub async fn to(target: SocketAddr) -> Cable {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::Mutex::new(true));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (u, l) = (up.clone(), links.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !*u.lock().unwrap() {
                    drop(inbound);
                    continue;
                }
                let h = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                l.lock().unwrap().push(h);
            }
        });
        Cable { addr, up, links }
    }
    /// Refuses new connections and closes the open ones (waiting until they are closed).
    pub async fn cut(&self) {
        *self.up.lock().unwrap() = false;
        let links: Vec<_> = self.links.lock().unwrap().drain(..).collect();
        for h in links {
            h.abort();
            let _ = h.await;
        }
    }
    pub fn restore(&self) {
        *self.up.lock().unwrap() = true;
    }
}
