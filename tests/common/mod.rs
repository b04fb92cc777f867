//! Black-box test harness: a real server on 127.0.0.1:0 over a fresh database, a small HTTP
//! client, and direct SQL reads of the host tables to check what the bridge really wrote.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use scim_bridge::config::Settings;
use scim_bridge::http::State;
use scim_bridge::store::sql::TextRow;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

pub struct TestApp {
    pub addr: SocketAddr,
    pub token: String,
    pub db_path: PathBuf,
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

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(opts: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("helpdesk.db");
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout_secs = 10\n{extra}\n[database]\nurl = \"sqlite://{db}\"\ncreate_demo = true\n[mapping]\nfile = \"{mapping}\"\n[log]\nlevel = \"warn\"\n",
        db = db_path.display(),
        mapping = opts.mapping,
        extra = opts.extra_config,
    );
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let settings = Settings::load(&config_path).expect("test config loads");
    let app = scim_bridge::cli::prepare(&settings, Duration::from_secs(5))
        .await
        .expect("bridge prepares");
    let token = scim_bridge::store::tokens::create(&app.db, "test")
        .await
        .expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State {
        app,
        http: scim_bridge::cli::http_settings(&settings),
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(scim_bridge::http::serve(
        listener,
        state,
        async move {
            let _ = rx.await;
        },
        Duration::from_secs(5),
    ));
    TestApp {
        addr,
        token,
        db_path,
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

    /// Rows of a SQL query against the host database, every column as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut c =
            diesel::sqlite::SqliteConnection::establish(&self.db_path.to_string_lossy()).unwrap();
        c.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
        diesel::sql_query(sql)
            .load::<TextRow>(&mut c)
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }

    /// Runs SQL against the host database as the application would.
    pub fn exec(&self, sql: &str) {
        let mut c =
            diesel::sqlite::SqliteConnection::establish(&self.db_path.to_string_lossy()).unwrap();
        c.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
        c.batch_execute(sql).unwrap();
    }

    /// One row of the demo `users` table by login, as text.
    pub fn user_row(&self, login: &str) -> Option<Vec<Option<String>>> {
        self.rows(&format!(
            "SELECT CAST(id AS TEXT), login, email, firstname, lastname, department, phone, CAST(active AS TEXT), role, password, created_at, updated_at FROM users WHERE login = '{}'",
            login.replace('\'', "''")
        ))
        .into_iter()
        .next()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.rows(sql)[0][0].as_deref().unwrap().parse().unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
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
