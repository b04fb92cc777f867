//! Databases: one pool per backend, transactions, and every statement the bridge runs.
//!
//! The backend is chosen explicitly by the URL scheme. All SQL text is assembled in
//! [`sql`] and [`dialect`]; callers above this module see typed operations only.

pub mod audit;
pub mod demo;
pub mod dialect;
pub mod groups;
pub mod introspect;
pub mod migrate;
pub mod preview;
pub mod sql;
pub mod tokens;
pub mod users;

use std::path::PathBuf;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
};

use crate::mapping::Dialect;
use sql::{Sql, TextRow};

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// A random (version 4) UUID, for keys the bridge generates itself.
pub fn new_uuid() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (connect failure, pool timeout, lost connection).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint refused the write.
    #[error("unique constraint: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// A value the application's data does not allow (an unknown lookup value).
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Query(#[from] DieselError),
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    fn from_diesel(e: DieselError) -> StoreError {
        match &e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.message().to_string())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => StoreError::Unavailable(info.message().to_string()),
            DieselError::DatabaseError(_, info) if is_unavailable_message(info.message()) => {
                StoreError::Unavailable(info.message().to_string())
            }
            _ => StoreError::Query(e),
        }
    }
}

fn is_unavailable_message(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    [
        "database is locked",
        "connection",
        "broken pipe",
        "server has gone away",
        "lost connection",
        "terminating",
    ]
    .iter()
    .any(|n| m.contains(n))
}

/// Where the database is, parsed from `database.url`.
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(String),
    Mysql(String),
}

impl std::fmt::Debug for DbUrl {
    /// Never prints credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DbUrl::Postgres(u) => write!(f, "{}", redact(u)),
            DbUrl::Mysql(u) => write!(f, "{}", redact(u)),
        }
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl DbUrl {
    /// # Errors
    /// A message naming the accepted schemes when the scheme is unknown.
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        let lower = url.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("sqlite:").map(|_| &url[7..]) {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or("");
            if path.is_empty() {
                return Err("a sqlite URL needs a file path, e.g. sqlite://data/helpdesk.db or sqlite:///var/lib/app/app.db".into());
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
            let rest = url.split_once("://").map(|(_, r)| r).unwrap_or("");
            return Ok(DbUrl::Mysql(format!("mysql://{rest}")));
        }
        let scheme = url
            .split("://")
            .next()
            .filter(|s| s.len() < url.len())
            .unwrap_or(url);
        Err(format!(
            "unknown database scheme in \"{}\"; use sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
            if scheme.len() < 20 { scheme } else { "…" }
        ))
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            DbUrl::Sqlite(_) => Dialect::Sqlite,
            DbUrl::Postgres(_) => Dialect::Postgres,
            DbUrl::Mysql(_) => Dialect::Mysql,
        }
    }
}

/// Pool and connection settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub pool_size: usize,
    pub acquire_timeout: Duration,
    /// SQLite only: `PRAGMA journal_mode=WAL`; changes the host application's file, so it is the
    /// operator's choice.
    pub sqlite_wal: bool,
    pub sqlite_busy_timeout: Duration,
}

enum AnyPool {
    Pg(Pool<AsyncPgConnection>),
    My(Pool<AsyncMysqlConnection>),
    Lite(Pool<SqliteConn>),
}

/// Settings for a database server's pool: each new connection runs `setup` first, and a
/// connection the server dropped is replaced rather than handed to a request. PostgreSQL's
/// driver notices a closed connection itself (`Fast`: no round trip per checkout, which was
/// three extra round trips per request); MySQL's does not, so it pays a ping (`Verified`).
fn server_config<C>(setup: &'static str, recycling: RecyclingMethod<C>) -> ManagerConfig<C>
where
    C: AsyncConnection + SimpleAsyncConnection + Send + 'static,
{
    let mut cfg = ManagerConfig::<C>::default();
    cfg.recycling_method = recycling;
    cfg.custom_setup = Box::new(move |url| {
        let url = url.to_string();
        Box::pin(async move {
            let mut c = C::establish(&url).await?;
            c.batch_execute(setup)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(c)
        })
    });
    cfg
}

/// A pooled connection of any backend, as the pool hands it out.
#[allow(
    clippy::large_enum_variant,
    reason = "one per request, moved once; boxing would add an allocation per checkout"
)]
enum Pooled {
    Pg(Object<AsyncPgConnection>),
    My(Object<AsyncMysqlConnection>),
    Lite(Object<SqliteConn>),
}

/// A checked-out connection that knows whether it is clean.
///
/// A request's future can be dropped at any `.await` (the client hung up, a timeout fired,
/// the server is shutting down). If that happens while a statement is in flight or between
/// `BEGIN` and `COMMIT`, the connection is in a state the next user must never inherit: inside
/// a transaction (on SQLite that holds the file's lock for good), read-only, or mid-protocol.
/// So every operation marks the connection busy until it completes, a transaction marks it
/// until it ends, and dropping a connection that is not clean closes it instead of returning
/// it to the pool — closing rolls back on every backend. No round trip is spent on this.
pub struct Conn {
    pooled: Option<Pooled>,
    /// A statement was sent and its answer not yet read.
    busy: bool,
    /// `BEGIN` was sent and neither `COMMIT` nor `ROLLBACK` has completed.
    in_tx: bool,
}

/// Runs `$body` with `$c` bound to the backend connection; the body is type-checked once per
/// backend, which is how one piece of code serves all three.
macro_rules! on_conn {
    ($pooled:expr, |$c:ident| $body:expr) => {
        match $pooled {
            Pooled::Pg(o) => {
                let $c: &mut diesel_async::AsyncPgConnection = &mut *o;
                $body
            }
            Pooled::My(o) => {
                let $c: &mut diesel_async::AsyncMysqlConnection = &mut *o;
                $body
            }
            Pooled::Lite(o) => {
                let $c: &mut SqliteConn = &mut *o;
                $body
            }
        }
    };
}

impl Conn {
    fn new(pooled: Pooled) -> Conn {
        Conn {
            pooled: Some(pooled),
            busy: false,
            in_tx: false,
        }
    }

    fn pooled(&mut self) -> Result<&mut Pooled, StoreError> {
        self.pooled
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("connection already closed".into()))
    }

    /// Runs one operation on the connection with the busy mark held across its `.await`; a
    /// lost connection is closed rather than reused.
    async fn guarded<T>(
        &mut self,
        op: impl AsyncFnOnce(&mut Pooled) -> Result<T, DieselError>,
    ) -> Result<T, StoreError> {
        self.busy = true;
        let r = op(self.pooled()?).await.map_err(StoreError::from_diesel);
        self.busy = false;
        if matches!(r, Err(StoreError::Unavailable(_))) {
            self.close();
        }
        r
    }

    /// Runs a query and returns its rows as text.
    pub async fn rows(&mut self, q: Sql) -> Result<Vec<TextRow>, StoreError> {
        preview::note(&q);
        self.guarded(async |p| on_conn!(p, |c| q.load::<TextRow>(c).await))
            .await
    }
    pub async fn row(&mut self, q: Sql) -> Result<Option<TextRow>, StoreError> {
        Ok(self.rows(q).await?.into_iter().next())
    }
    /// Runs a statement and returns the number of affected rows.
    pub async fn exec(&mut self, q: Sql) -> Result<usize, StoreError> {
        preview::note(&q);
        self.guarded(async |p| on_conn!(p, |c| q.execute(c).await))
            .await
    }
    pub async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.guarded(async |p| on_conn!(p, |c| c.batch_execute(sql).await))
            .await
    }

    /// Whether the pool may hand this connection to someone else.
    fn is_clean(&self) -> bool {
        !self.busy && !self.in_tx
    }

    /// Takes the connection out of the pool and closes it.
    fn close(&mut self) {
        match self.pooled.take() {
            Some(Pooled::Pg(o)) => drop(Object::take(o)),
            Some(Pooled::My(o)) => drop(Object::take(o)),
            Some(Pooled::Lite(o)) => drop(Object::take(o)),
            None => {}
        }
    }
}

impl Drop for Conn {
    /// The check on the way back to the pool: a connection that is mid-statement or inside a
    /// transaction is closed, never reused.
    fn drop(&mut self) {
        if !self.is_clean() {
            tracing::debug!(
                busy = self.busy,
                in_transaction = self.in_tx,
                "connection abandoned mid-request; closing it"
            );
            self.close();
        }
    }
}

/// The database: a dialect and its pools. SQLite gets a single writer connection (its
/// writes are serialised by the file lock anyway, and one writer rules out busy deadlocks)
/// plus a pool of readers; PostgreSQL and MySQL use one pool for both.
pub struct Db {
    pub dialect: Dialect,
    write: AnyPool,
    read: Option<AnyPool>,
    acquire_timeout: Duration,
}

impl Db {
    /// Builds the pools and checks that one connection can be opened.
    ///
    /// # Errors
    /// `Unavailable` with the driver's reason when no connection can be made.
    pub async fn connect(url: &DbUrl, opts: &DbOptions) -> Result<Db, StoreError> {
        let build_err = |e: diesel_async::pooled_connection::deadpool::BuildError| {
            StoreError::Other(e.to_string())
        };
        let db = match url {
            DbUrl::Sqlite(path) => {
                let path = path.to_string_lossy().to_string();
                let make = |size: usize, writer: bool| {
                    let mut cfg = ManagerConfig::<SqliteConn>::default();
                    let wal = opts.sqlite_wal;
                    let busy = opts.sqlite_busy_timeout.as_millis();
                    cfg.custom_setup = Box::new(move |url| {
                        let url = url.to_string();
                        Box::pin(async move {
                            let mut c = SqliteConn::establish(&url).await?;
                            let mut pragmas =
                                format!("PRAGMA busy_timeout = {busy}; PRAGMA foreign_keys = ON;");
                            if wal && writer {
                                pragmas.push_str(
                                    " PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                                );
                            }
                            c.batch_execute(&pragmas)
                                .await
                                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                            Ok(c)
                        })
                    });
                    Pool::builder(AsyncDieselConnectionManager::new_with_config(
                        path.clone(),
                        cfg,
                    ))
                    .max_size(size)
                    .build()
                };
                Db {
                    dialect: Dialect::Sqlite,
                    write: AnyPool::Lite(make(1, true).map_err(build_err)?),
                    read: Some(AnyPool::Lite(
                        make(opts.pool_size.max(1), false).map_err(build_err)?,
                    )),
                    acquire_timeout: opts.acquire_timeout,
                }
            }
            // Timestamps are written in UTC; make `timestamptz` columns read them so.
            DbUrl::Postgres(u) => Db {
                dialect: Dialect::Postgres,
                write: AnyPool::Pg(
                    Pool::builder(AsyncDieselConnectionManager::new_with_config(u.clone(), server_config("SET TIME ZONE 'UTC'", RecyclingMethod::Fast)))
                        .max_size(opts.pool_size)
                        .build()
                        .map_err(build_err)?,
                ),
                read: None,
                acquire_timeout: opts.acquire_timeout,
            },
            // Strict mode turns silent truncation into errors; UTC keeps TIMESTAMP columns
            // unambiguous.
            DbUrl::Mysql(u) => Db {
                dialect: Dialect::Mysql,
                write: AnyPool::My(
                    Pool::builder(AsyncDieselConnectionManager::new_with_config(
                        u.clone(),
                        server_config("SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_TRANS_TABLES'), time_zone = '+00:00'", RecyclingMethod::Verified),
                    ))
                    .max_size(opts.pool_size)
                    .build()
                    .map_err(build_err)?,
                ),
                read: None,
                acquire_timeout: opts.acquire_timeout,
            },
        };
        let mut c = db.reader().await?;
        c.batch("SELECT 1").await?;
        Ok(db)
    }

    async fn get(&self, pool: &AnyPool) -> Result<Conn, StoreError> {
        let t = self.acquire_timeout;
        let unavailable = |e: String| StoreError::Unavailable(e);
        let timeout = || {
            StoreError::Unavailable(format!(
                "no database connection within {} ms",
                t.as_millis()
            ))
        };
        Ok(match pool {
            AnyPool::Pg(p) => Conn::new(Pooled::Pg(
                tokio::time::timeout(t, p.get())
                    .await
                    .map_err(|_| timeout())?
                    .map_err(|e| unavailable(e.to_string()))?,
            )),
            AnyPool::My(p) => Conn::new(Pooled::My(
                tokio::time::timeout(t, p.get())
                    .await
                    .map_err(|_| timeout())?
                    .map_err(|e| unavailable(e.to_string()))?,
            )),
            AnyPool::Lite(p) => Conn::new(Pooled::Lite(
                tokio::time::timeout(t, p.get())
                    .await
                    .map_err(|_| timeout())?
                    .map_err(|e| unavailable(e.to_string()))?,
            )),
        })
    }

    /// A connection for reads outside a transaction.
    pub async fn reader(&self) -> Result<Conn, StoreError> {
        self.get(self.read.as_ref().unwrap_or(&self.write)).await
    }

    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, so the write lock is taken up
    /// front and concurrent writers queue instead of failing).
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        let begin = match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
            Dialect::Mysql => "START TRANSACTION",
        };
        Tx::begin(self.get(&self.write).await?, begin).await
    }

    /// Starts a read-only snapshot for multi-statement reads (count + page).
    pub async fn begin_read(&self) -> Result<Tx, StoreError> {
        let begin = match self.dialect {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Dialect::Mysql => "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        };
        Tx::begin(self.reader().await?, begin).await
    }

    /// Runs `work` in one write transaction: committed when it returns `Ok`, rolled back
    /// when it returns `Err`, and rolled back by closing the connection when the caller's
    /// future is dropped half-way.
    ///
    /// # Errors
    /// `work`'s error, or the store's (begin, commit) converted into `E`.
    pub async fn write<T, E: From<StoreError>>(
        &self,
        work: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.begin_write().await?;
        tx.run(work).await
    }

    /// As [`Db::write`], in a read-only snapshot.
    ///
    /// # Errors
    /// `work`'s error, or the store's converted into `E`.
    pub async fn read<T, E: From<StoreError>>(
        &self,
        work: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.begin_read().await?;
        tx.run(work).await
    }

    /// Connections per pool: (pool, max, open, idle, waiting), for metrics.
    pub fn pool_usage(&self) -> Vec<(&'static str, usize, usize, usize, usize)> {
        let status = |p: &AnyPool| {
            let s = match p {
                AnyPool::Pg(p) => p.status(),
                AnyPool::My(p) => p.status(),
                AnyPool::Lite(p) => p.status(),
            };
            (s.max_size, s.size, s.available, s.waiting)
        };
        let mut out = Vec::new();
        let (m, s, a, w) = status(&self.write);
        out.push((
            if self.read.is_some() { "write" } else { "main" },
            m,
            s,
            a,
            w,
        ));
        if let Some(r) = &self.read {
            let (m, s, a, w) = status(r);
            out.push(("read", m, s, a, w));
        }
        out
    }

    /// Cheap liveness probe.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.reader().await?.batch("SELECT 1").await
    }
}

/// An open transaction. Commit or roll back explicitly; if it is dropped open (the request was
/// cancelled or timed out), its connection is closed rather than returned to the pool, which
/// rolls the transaction back on every backend (see [`Conn`]).
pub struct Tx {
    conn: Conn,
}

impl Tx {
    /// Marks the connection as in a transaction *before* sending `BEGIN`: if the caller is
    /// dropped while `BEGIN` is in flight, the server may still start the transaction.
    async fn begin(mut conn: Conn, begin: &str) -> Result<Tx, StoreError> {
        conn.in_tx = true;
        conn.batch(begin).await?;
        Ok(Tx { conn })
    }

    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// # Errors
    /// The database's error; the transaction is then rolled back by closing the connection.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        if preview::active() {
            self.rollback().await;
            return Ok(());
        }
        self.conn.batch("COMMIT").await?;
        self.conn.in_tx = false;
        Ok(())
    }

    pub async fn rollback(mut self) {
        if self.conn.batch("ROLLBACK").await.is_ok() {
            self.conn.in_tx = false;
        }
    }

    /// Commits on `Ok`, rolls back on `Err`.
    pub async fn finish<T>(self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match r {
            Ok(v) => {
                self.commit().await?;
                Ok(v)
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }

    async fn run<T, E: From<StoreError>>(
        mut self,
        work: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        match work(&mut self.conn).await {
            Ok(v) => {
                self.commit().await?;
                Ok(v)
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes_are_explicit() {
        assert_eq!(
            DbUrl::parse("sqlite://data/x.db").unwrap(),
            DbUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            DbUrl::parse("sqlite:///var/x.db").unwrap(),
            DbUrl::Sqlite("/var/x.db".into())
        );
        assert_eq!(
            DbUrl::parse("sqlite:x.db").unwrap(),
            DbUrl::Sqlite("x.db".into())
        );
        assert!(matches!(
            DbUrl::parse("postgresql://u@h/db").unwrap(),
            DbUrl::Postgres(_)
        ));
        assert_eq!(
            DbUrl::parse("mariadb://root@h/test").unwrap(),
            DbUrl::Mysql("mysql://root@h/test".into())
        );
        for bad in ["sqlit://x.db", "x.db", "postgress://h/db", "sqlite://"] {
            assert!(DbUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/helpdesk"),
            "postgres://app:***@db:5432/helpdesk"
        );
        assert_eq!(redact("postgres://db/helpdesk"), "postgres://db/helpdesk");
        assert_eq!(
            format!("{:?}", DbUrl::parse("mysql://root:pw@h/t").unwrap()),
            "mysql://root:***@h/t"
        );
    }
}
