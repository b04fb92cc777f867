//! The database's own ceilings, through the bridge's drivers (diesel / diesel-async): a
//! single-row INSERT + COMMIT per transaction; a create-shaped transaction (the host row
//! inserted returning its key, the `scim_users` link and the `scim_audit` row — the statement
//! shapes the bridge issues for a create, without its reads); and the indexed SELECT by login.

use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::Connection;
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
};
use scim_bridge::store::sql::TextRow;

use crate::measure::{measure, measure_blocking, Figure};
use crate::{Backend, CONCURRENCY};

/// The ceilings at one concurrency.
pub struct Ceiling {
    pub insert: Figure,
    pub create: Figure,
    pub select: Figure,
}

/// A row as the bridge inserts it for an Okta create (the demo mapping's columns); `$n`
/// placeholders, rewritten to `?` for SQLite and MySQL.
const RAW_INSERT: &str = "INSERT INTO users (login, email, firstname, lastname, department, phone, active, role, password, created_at, updated_at) VALUES ($1, $2, 'Raw', 'Insert', NULL, NULL, TRUE, 'customer', '!', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)";
const RAW_LINK: &str = "INSERT INTO scim_users (host_table, host_key, user_name, user_name_hash, external_id, resource, created_at, updated_at, origin) VALUES ('users', $1, $2, $3, $4, $5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'scim')";
const RAW_AUDIT: &str = "INSERT INTO scim_audit (at, token_name, resource_type, resource_id, user_name, operation, attributes) VALUES (CURRENT_TIMESTAMP, 'bench', 'User', $1, $2, 'create', 'userName,name.givenName,name.familyName,emails,active')";
const RAW_SELECT_PG: &str = "SELECT CAST(id AS TEXT), login, email, firstname, lastname, department, phone, CAST(active AS TEXT) FROM users WHERE lower(login) = lower($1)";
const RAW_SELECT_LITE: &str = "SELECT CAST(id AS TEXT), login, email, firstname, lastname, department, phone, CAST(active AS TEXT) FROM users WHERE login = ? COLLATE NOCASE";
const RAW_SELECT_MY: &str = "SELECT CAST(id AS CHAR), login, email, firstname, lastname, department, phone, CAST(active AS CHAR) FROM users WHERE login = ?";

fn qmarks(sql: &str) -> String {
    let mut s = sql.to_string();
    for n in (1..=5).rev() {
        s = s.replace(&format!("${n}"), "?");
    }
    s
}

/// The values of one create-shaped transaction: login, userName hash (64 hex digits, unique
/// per run), externalId and the stored resource.
fn create_values(tag: &str, conc: usize, i: usize) -> (String, String, String, String) {
    let login = format!("{tag}{conc}x{i}@example.com");
    let hash = format!("{:08x}{:08x}{i:048x}", tag.len(), conc);
    let resource = format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{login}","name":{{"givenName":"Raw","familyName":"Create"}},"emails":[{{"primary":true,"value":"{login}","type":"work"}}],"active":true}}"#
    );
    (login, hash, format!("00r{conc}x{i}"), resource)
}

/// A PostgreSQL or MySQL connection for the raw ceilings.
#[allow(
    clippy::large_enum_variant,
    reason = "a few per run, opened once and never moved"
)]
enum Server {
    Pg(AsyncPgConnection),
    My(AsyncMysqlConnection),
}

impl Server {
    async fn open(backend: Backend, url: &str) -> Server {
        match backend {
            Backend::Postgres => {
                let mut c = AsyncPgConnection::establish(url).await.unwrap();
                c.batch_execute("SET TIME ZONE 'UTC'").await.unwrap();
                Server::Pg(c)
            }
            Backend::Mysql => {
                let mut c = AsyncMysqlConnection::establish(url).await.unwrap();
                c.batch_execute("SET time_zone = '+00:00'").await.unwrap();
                Server::My(c)
            }
            Backend::Sqlite => unreachable!("SQLite is measured with blocking connections"),
        }
    }

    /// An autocommitted single-row insert.
    async fn insert(&mut self, login: &str) -> bool {
        match self {
            Server::Pg(c) => diesel::sql_query(RAW_INSERT)
                .bind::<Text, _>(login)
                .bind::<Text, _>(login)
                .execute(c)
                .await
                .is_ok(),
            Server::My(c) => diesel::sql_query(qmarks(RAW_INSERT))
                .bind::<Text, _>(login)
                .bind::<Text, _>(login)
                .execute(c)
                .await
                .is_ok(),
        }
    }

    /// BEGIN, host row (key returned; MySQL: LAST_INSERT_ID), link, audit, COMMIT.
    async fn create(&mut self, v: &(String, String, String, String)) -> bool {
        let (login, hash, ext, resource) = v;
        match self {
            Server::Pg(c) => {
                let ok = async {
                    c.batch_execute("BEGIN").await.ok()?;
                    let key: Vec<TextRow> =
                        diesel::sql_query(format!("{RAW_INSERT} RETURNING CAST(id AS TEXT)"))
                            .bind::<Text, _>(login)
                            .bind::<Text, _>(login)
                            .load(c)
                            .await
                            .ok()?;
                    let key = key.into_iter().next()?.get(0)?.to_string();
                    diesel::sql_query(RAW_LINK)
                        .bind::<Text, _>(&key)
                        .bind::<Text, _>(login)
                        .bind::<Text, _>(hash)
                        .bind::<Text, _>(ext)
                        .bind::<Text, _>(resource)
                        .execute(c)
                        .await
                        .ok()?;
                    diesel::sql_query(RAW_AUDIT)
                        .bind::<Text, _>(&key)
                        .bind::<Text, _>(login)
                        .execute(c)
                        .await
                        .ok()?;
                    c.batch_execute("COMMIT").await.ok()
                }
                .await;
                if ok.is_none() {
                    let _ = c.batch_execute("ROLLBACK").await;
                }
                ok.is_some()
            }
            Server::My(c) => {
                let ok = async {
                    c.batch_execute("BEGIN").await.ok()?;
                    diesel::sql_query(qmarks(RAW_INSERT))
                        .bind::<Text, _>(login)
                        .bind::<Text, _>(login)
                        .execute(c)
                        .await
                        .ok()?;
                    let key: Vec<TextRow> =
                        diesel::sql_query("SELECT CAST(LAST_INSERT_ID() AS CHAR)")
                            .load(c)
                            .await
                            .ok()?;
                    let key = key.into_iter().next()?.get(0)?.to_string();
                    diesel::sql_query(qmarks(RAW_LINK))
                        .bind::<Text, _>(&key)
                        .bind::<Text, _>(login)
                        .bind::<Text, _>(hash)
                        .bind::<Text, _>(ext)
                        .bind::<Text, _>(resource)
                        .execute(c)
                        .await
                        .ok()?;
                    diesel::sql_query(qmarks(RAW_AUDIT))
                        .bind::<Text, _>(&key)
                        .bind::<Text, _>(login)
                        .execute(c)
                        .await
                        .ok()?;
                    c.batch_execute("COMMIT").await.ok()
                }
                .await;
                if ok.is_none() {
                    let _ = c.batch_execute("ROLLBACK").await;
                }
                ok.is_some()
            }
        }
    }

    async fn select(&mut self, login: &str) -> bool {
        let rows: Result<Vec<TextRow>, _> = match self {
            Server::Pg(c) => {
                diesel::sql_query(RAW_SELECT_PG)
                    .bind::<Text, _>(login)
                    .load(c)
                    .await
            }
            Server::My(c) => {
                diesel::sql_query(RAW_SELECT_MY)
                    .bind::<Text, _>(login)
                    .load(c)
                    .await
            }
        };
        rows.is_ok_and(|r| r.len() == 1)
    }
}

type Shared = Arc<Vec<Arc<tokio::sync::Mutex<Server>>>>;

async fn servers(backend: Backend, url: &str, n: usize) -> Shared {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(Arc::new(tokio::sync::Mutex::new(
            Server::open(backend, url).await,
        )));
    }
    Arc::new(v)
}

fn seed_login(i: usize, users: usize) -> String {
    format!("seed{}@example.com", (i * 7919) % users)
}

/// The three ceilings at each concurrency. PostgreSQL and MySQL use as many connections as
/// the bridge's pool holds, at most the concurrency; SQLite one writer (it has one) and up to
/// 8 readers.
pub async fn ceilings(
    backend: Backend,
    url: &str,
    users: usize,
    pool: usize,
) -> Vec<(usize, Ceiling)> {
    let mut out = Vec::new();
    for conc in CONCURRENCY {
        let c = match backend {
            Backend::Sqlite => sqlite(url, users, conc).await,
            Backend::Postgres | Backend::Mysql => server(backend, url, users, conc, pool).await,
        };
        out.push((conc, c));
    }
    out
}

async fn server(backend: Backend, url: &str, users: usize, conc: usize, pool: usize) -> Ceiling {
    let workers = conc.min(pool);
    let conns = servers(backend, url, workers).await;
    let c = conns.clone();
    let insert = measure(
        &format!("raw INSERT+COMMIT, concurrency {conc}"),
        2000,
        workers,
        move |w, i| {
            let c = c[w].clone();
            async move {
                c.lock()
                    .await
                    .insert(&format!("raw{conc}x{i}@example.com"))
                    .await
            }
        },
    )
    .await;
    let c = conns.clone();
    let create = measure(
        &format!("raw create-shaped transaction, concurrency {conc}"),
        2000,
        workers,
        move |w, i| {
            let c = c[w].clone();
            async move { c.lock().await.create(&create_values("rc", conc, i)).await }
        },
    )
    .await;
    let select = measure(
        &format!("raw SELECT by login, concurrency {conc}"),
        10000,
        workers,
        move |w, i| {
            let c = conns[w].clone();
            async move { c.lock().await.select(&seed_login(i, users)).await }
        },
    )
    .await;
    Ceiling {
        insert,
        create,
        select,
    }
}

fn lite(path: &str) -> diesel::sqlite::SqliteConnection {
    let mut c = diesel::sqlite::SqliteConnection::establish(path).unwrap();
    c.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
        .unwrap();
    c
}

async fn sqlite(url: &str, users: usize, conc: usize) -> Ceiling {
    let path = url.trim_start_matches("sqlite://").to_string();
    // SQLite has one writer: the write ceilings are one connection committing in a loop.
    let p = path.clone();
    let insert = measure_blocking(
        &format!("raw INSERT+COMMIT, concurrency {conc}"),
        1000,
        1,
        move || lite(&p),
        move |c, i| {
            let login = format!("raw{conc}x{i}@example.com");
            c.batch_execute("BEGIN IMMEDIATE").is_ok()
                && diesel::RunQueryDsl::execute(
                    diesel::sql_query(qmarks(RAW_INSERT))
                        .bind::<Text, _>(&login)
                        .bind::<Text, _>(&login),
                    c,
                )
                .is_ok()
                && c.batch_execute("COMMIT").is_ok()
        },
    )
    .await;
    let p = path.clone();
    let create = measure_blocking(
        &format!("raw create-shaped transaction, concurrency {conc}"),
        1000,
        1,
        move || lite(&p),
        move |c, i| {
            let (login, hash, ext, resource) = create_values("rc", conc, i);
            let ok = (|| -> Option<()> {
                c.batch_execute("BEGIN IMMEDIATE").ok()?;
                let key: Vec<TextRow> = diesel::RunQueryDsl::load(
                    diesel::sql_query(format!("{} RETURNING CAST(id AS TEXT)", qmarks(RAW_INSERT)))
                        .bind::<Text, _>(&login)
                        .bind::<Text, _>(&login),
                    c,
                )
                .ok()?;
                let key = key.into_iter().next()?.get(0)?.to_string();
                diesel::RunQueryDsl::execute(
                    diesel::sql_query(qmarks(RAW_LINK))
                        .bind::<Text, _>(&key)
                        .bind::<Text, _>(&login)
                        .bind::<Text, _>(&hash)
                        .bind::<Text, _>(&ext)
                        .bind::<Text, _>(&resource),
                    c,
                )
                .ok()?;
                diesel::RunQueryDsl::execute(
                    diesel::sql_query(qmarks(RAW_AUDIT))
                        .bind::<Text, _>(&key)
                        .bind::<Text, _>(&login),
                    c,
                )
                .ok()?;
                c.batch_execute("COMMIT").ok()
            })();
            if ok.is_none() {
                let _ = c.batch_execute("ROLLBACK");
            }
            ok.is_some()
        },
    )
    .await;
    let select = measure_blocking(
        &format!("raw SELECT by login, concurrency {conc}"),
        5000,
        conc.min(8),
        move || lite(&path),
        move |c, i| {
            diesel::RunQueryDsl::load::<TextRow>(
                diesel::sql_query(RAW_SELECT_LITE).bind::<Text, _>(seed_login(i, users)),
                c,
            )
            .is_ok_and(|r| r.len() == 1)
        },
    )
    .await;
    Ceiling {
        insert,
        create,
        select,
    }
}
