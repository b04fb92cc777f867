//! The database: the backend chosen by the URL's scheme, its pools, and the transactions every
//! operation runs in.

use std::path::PathBuf;
use std::time::Duration;

use deadpool::managed::{Manager, Metrics, RecycleResult};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError, PoolableConnection, RecyclingMethod,
};
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};

use super::conn::{Conn, Pooled, SqliteConn, Tx};
use super::group_commit::GroupCommit;
use super::pool_size::{self, PoolSize};
use super::StoreError;
use crate::store::dialect::Dialect;

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
    /// Connections requests share; 0 derives the number from the backend (`pool_size.rs`).
    pub pool_size: usize,
    pub acquire_timeout: Duration,
    /// SQLite only: `PRAGMA journal_mode=WAL`; changes the host application's file, so it is the
    /// operator's choice.
    pub sqlite_wal: bool,
    pub sqlite_busy_timeout: Duration,
}

enum AnyPool {
    Pg(Pool<AsyncPgConnection>),
    My(deadpool::managed::Pool<MysqlManager>),
    Lite(Pool<SqliteConn>),
}

/// A MySQL connection used this recently is handed out without a ping.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// MySQL's pool: diesel-async's manager, with its checkout ping (`SELECT 1`, a round trip on
/// every checkout — two per request, a quarter of a `userName eq` lookup's statements) kept
/// for connections idle for [`PING_WHEN_IDLE_FOR`] or more. The ping exists for connections
/// the server dropped while they sat in the pool (`wait_timeout`, a restart); one that
/// completed a checkout within the last second is all but certainly alive, and if it is not,
/// its first statement fails as any statement on a connection lost mid-request does (503,
/// the connection is closed, see `Conn::guarded`) and the next checkout gets another.
pub(super) struct MysqlManager(AsyncDieselConnectionManager<AsyncMysqlConnection>);

impl Manager for MysqlManager {
    type Type = AsyncMysqlConnection;
    type Error = PoolError;

    async fn create(&self) -> Result<AsyncMysqlConnection, PoolError> {
        self.0.create().await
    }

    async fn recycle(
        &self,
        c: &mut AsyncMysqlConnection,
        metrics: &Metrics,
    ) -> RecycleResult<PoolError> {
        if metrics.last_used() < PING_WHEN_IDLE_FOR && !c.is_broken() {
            return Ok(());
        }
        // Shows in the statement trace, which counts round trips (`bench -- trips`).
        tracing::debug!(target: super::conn::STATEMENTS, statement = "SELECT 1 (checkout ping)", cached = true);
        self.0.recycle(c, metrics).await
    }
}

/// Settings for a database server's pool: each new connection runs `setup` first, and a
/// connection the server dropped is replaced rather than handed to a request. PostgreSQL's
/// driver notices a closed connection itself (`Fast`: no round trip per checkout, which was
/// three extra round trips per request); MySQL's does not, so a connection idle for a while
/// pays a ping (`Verified`, see [`MysqlManager`]).
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

/// The pool of a SQLite file: the single writer (`writer`; it switches the file to WAL when
/// `database.sqlite_wal` asks) or the readers.
fn sqlite_pool(
    path: &str,
    opts: &DbOptions,
    size: usize,
    writer: bool,
) -> Result<AnyPool, StoreError> {
    let mut cfg = ManagerConfig::<SqliteConn>::default();
    let wal = opts.sqlite_wal;
    let busy = opts.sqlite_busy_timeout.as_millis();
    cfg.custom_setup = Box::new(move |url| {
        let url = url.to_string();
        Box::pin(async move {
            let mut c = SqliteConn::establish(&url).await?;
            let mut pragmas = format!("PRAGMA busy_timeout = {busy}; PRAGMA foreign_keys = ON;");
            if wal && writer {
                pragmas.push_str(" PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
            }
            c.batch_execute(&pragmas)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(c)
        })
    });
    Pool::builder(AsyncDieselConnectionManager::new_with_config(
        path.to_string(),
        cfg,
    ))
    .max_size(size)
    .build()
    .map(AnyPool::Lite)
    .map_err(build_err)
}

/// The one pool of a database server (PostgreSQL, MySQL/MariaDB).
fn server_pool(dialect: Dialect, url: &str, size: usize) -> Result<AnyPool, StoreError> {
    match dialect {
        // Timestamps are written in UTC; make `timestamptz` columns read them so.
        Dialect::Postgres => Pool::builder(AsyncDieselConnectionManager::new_with_config(
            url.to_string(),
            server_config("SET TIME ZONE 'UTC'", RecyclingMethod::Fast),
        ))
        .max_size(size)
        .build()
        .map(AnyPool::Pg),
        // Strict mode turns silent truncation into errors; UTC keeps TIMESTAMP columns
        // unambiguous; a user's groups are read as one GROUP_CONCAT, whose default limit
        // (MySQL: 1,024 bytes) would cut a long list short with a mere warning.
        _ => deadpool::managed::Pool::builder(MysqlManager(AsyncDieselConnectionManager::new_with_config(
            url.to_string(),
            server_config("SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_TRANS_TABLES'), time_zone = '+00:00', group_concat_max_len = 16777216", RecyclingMethod::Verified),
        )))
        .max_size(size)
        .build()
        .map(AnyPool::My),
    }
    .map_err(build_err)
}

fn build_err(e: diesel_async::pooled_connection::deadpool::BuildError) -> StoreError {
    StoreError::Other(e.to_string())
}

/// The database: a dialect and its pools. SQLite gets a single writer connection (its
/// writes are serialised by the file lock anyway, and one writer rules out busy deadlocks)
/// plus a pool of readers; PostgreSQL and MySQL use one pool for both.
pub struct Db {
    pub dialect: Dialect,
    write: AnyPool,
    read: Option<AnyPool>,
    acquire_timeout: Duration,
    pool: PoolSize,
    /// SQLite: writes waiting for the single writer share its transaction.
    group: Option<GroupCommit>,
}

impl Db {
    /// Builds the pools, sized by `opts.pool_size` or, when it is 0, by the backend's rule
    /// (`pool_size.rs`; a server's limit is read on the first connection), and checks that
    /// one connection can be opened.
    ///
    /// # Errors
    /// `Unavailable` with the driver's reason when no connection can be made.
    pub async fn connect(url: &DbUrl, opts: &DbOptions) -> Result<Db, StoreError> {
        let derived = opts.pool_size == 0;
        let pool = match url {
            _ if !derived => PoolSize::explicit(opts.pool_size),
            DbUrl::Sqlite(_) => PoolSize::sqlite(pool_size::cpus()),
            // Until the server's limit is read, below.
            _ => PoolSize::server(pool_size::cpus(), &Err("not read yet".into())),
        };
        let dialect = url.dialect();
        let (write, read) = match url {
            DbUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                (
                    sqlite_pool(&path, opts, 1, true)?,
                    Some(sqlite_pool(&path, opts, pool.size, false)?),
                )
            }
            DbUrl::Postgres(u) | DbUrl::Mysql(u) => (server_pool(dialect, u, pool.size)?, None),
        };
        let mut db = Db {
            dialect,
            write,
            read,
            acquire_timeout: opts.acquire_timeout,
            pool,
            group: (dialect == Dialect::Sqlite).then(GroupCommit::new),
        };
        let mut c = db.reader().await?;
        if derived && dialect != Dialect::Sqlite {
            let limit = match pool_size::server_limit(&mut c, dialect).await {
                Err(e @ StoreError::Unavailable(_)) => return Err(e),
                other => other.map_err(|e| e.to_string()),
            };
            drop(c);
            db.pool = PoolSize::server(pool_size::cpus(), &limit);
            db.resize(db.pool.size);
        } else {
            c.batch("SELECT 1").await?;
        }
        Ok(db)
    }

    /// The size of the pool requests share, and why.
    pub fn pool_size(&self) -> &PoolSize {
        &self.pool
    }

    /// Sets the largest number of connections of the shared pool (a server's one pool,
    /// SQLite's readers).
    fn resize(&self, size: usize) {
        match self.read.as_ref().unwrap_or(&self.write) {
            AnyPool::Pg(p) => p.resize(size),
            AnyPool::My(p) => p.resize(size),
            AnyPool::Lite(p) => p.resize(size),
        }
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
    /// future is dropped half-way. On SQLite the transaction may be shared with the writes
    /// queued behind it (`group_commit.rs`): `work` runs inside a savepoint of its own, which
    /// is what an error or a dropped future rolls back, and returns after the shared
    /// `COMMIT`.
    ///
    /// # Errors
    /// `work`'s error, or the store's (begin, commit) converted into `E`.
    pub async fn write<T, E: From<StoreError>>(
        &self,
        work: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some(group) = self.group.as_ref().filter(|_| !super::preview::active()) {
            return group
                .run(
                    self.acquire_timeout,
                    async || self.begin_write().await,
                    work,
                )
                .await;
        }
        let tx = self.begin_write().await?;
        tx.run(work).await
    }

    /// SQLite's group commit: (transactions committed, writes they held); `None` elsewhere.
    pub fn group_commits(&self) -> Option<(u64, u64)> {
        self.group.as_ref().map(GroupCommit::usage)
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
