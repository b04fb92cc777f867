//! A checked-out connection and the transactions on it, cancellation-safe by construction.

use std::sync::Arc;

use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use tokio::sync::Mutex;

use super::sql::{Sql, TextRow};
use super::{preview, StoreError};

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// A pooled connection of any backend, as the pool hands it out.
#[allow(
    clippy::large_enum_variant,
    reason = "one per request, moved once; boxing would add an allocation per checkout"
)]
pub(super) enum Pooled {
    Pg(Object<AsyncPgConnection>),
    My(deadpool::managed::Object<super::db::MysqlManager>),
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
    /// SQLite's group-commit writer: held by each statement's blocking task until the
    /// statement is done (see [`Conn::track_statements`]).
    statements: Option<Arc<Mutex<()>>>,
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

/// The tracing target of one event per statement sent (`RUST_LOG=scim_bridge::sql=debug`):
/// how round trips per request are counted (BENCHMARKS.md, `examples/bench -- trips`). Off,
/// it costs one check of the callsite's interest; the statement text is only built when the
/// target is enabled.
pub const STATEMENTS: &str = "scim_bridge::sql";

/// `cached = false` marks a statement kept out of the prepared-statement cache: on
/// PostgreSQL and MySQL it is prepared on every use, a second round trip.
fn trace_statement(q: &Sql) {
    tracing::debug!(target: STATEMENTS, statement = %q.describe().0, cached = !q.uncacheable);
}

impl Conn {
    pub(super) fn new(pooled: Pooled) -> Conn {
        Conn {
            pooled: Some(pooled),
            busy: false,
            in_tx: false,
            statements: None,
        }
    }

    /// Makes every later statement on this SQLite connection hold `lock` until it has
    /// finished, including one whose request was abandoned while it ran (a statement runs to
    /// the end on its blocking thread whatever happens to the future that sent it). Whoever
    /// takes the lock afterwards therefore knows the connection is idle: the group commit
    /// uses it to roll back an abandoned request's savepoint instead of closing the
    /// connection and losing every write it shares the transaction with. diesel-async 0.9
    /// already blocks a dropped statement's future until the statement is done on a
    /// multi-thread runtime; this lock keeps the guarantee ours, on any runtime and version.
    pub(super) fn track_statements(&mut self, lock: Arc<Mutex<()>>) {
        self.statements = Some(lock);
    }

    /// After the request using this connection was abandoned: waits until its last
    /// statement has finished, then treats the connection as idle again. Only for a
    /// connection whose statements are tracked; others stay marked busy.
    pub(super) async fn after_abandoned(&mut self) {
        if let Some(lock) = &self.statements {
            drop(lock.clone().lock_owned().await);
            self.busy = false;
        }
    }

    fn is_tracked(&self) -> bool {
        self.statements.is_some() && matches!(self.pooled, Some(Pooled::Lite(_)))
    }

    /// A statement on a tracked SQLite connection, run on the blocking pool holding the
    /// tracking lock until it is done.
    async fn tracked<R: Send + 'static>(
        &mut self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, DieselError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let lock = self.statements.clone();
        self.guarded(async move |p| {
            let (Some(lock), Pooled::Lite(o)) = (lock, p) else {
                return Err(DieselError::QueryBuilderError(
                    "statement tracking is for SQLite connections".into(),
                ));
            };
            let held = lock.lock_owned().await;
            let c: &mut SqliteConn = &mut *o;
            c.spawn_blocking(move |c| {
                let r = task(c);
                drop(held);
                r
            })
            .await
        })
        .await
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
        trace_statement(&q);
        if self.is_tracked() {
            return self
                .tracked(move |c| diesel::RunQueryDsl::load::<TextRow>(q, c))
                .await;
        }
        self.guarded(async |p| on_conn!(p, |c| q.load::<TextRow>(c).await))
            .await
    }
    pub async fn row(&mut self, q: Sql) -> Result<Option<TextRow>, StoreError> {
        Ok(self.rows(q).await?.into_iter().next())
    }
    /// Runs a statement and returns the number of affected rows.
    pub async fn exec(&mut self, q: Sql) -> Result<usize, StoreError> {
        preview::note(&q);
        trace_statement(&q);
        if self.is_tracked() {
            return self
                .tracked(move |c| diesel::RunQueryDsl::execute(q, c))
                .await;
        }
        self.guarded(async |p| on_conn!(p, |c| q.execute(c).await))
            .await
    }
    /// Runs writes that need nothing from each other's results, in one round trip where the
    /// database allows it: on PostgreSQL as one statement (`WITH w1 AS (…), w2 AS (…) …`,
    /// each a data-modifying `WITH` that runs to completion whatever the last one does);
    /// elsewhere one after another. None of them may read what another writes.
    pub async fn exec_all(&mut self, mut stmts: Vec<Sql>) -> Result<(), StoreError> {
        if stmts.len() > 1 && matches!(self.pooled, Some(Pooled::Pg(_))) {
            let last = stmts.pop().unwrap_or_default();
            let mut q = with_clauses(stmts, false);
            q.append(last);
            self.exec(q).await?;
            return Ok(());
        }
        for s in stmts {
            self.exec(s).await?;
        }
        Ok(())
    }
    pub async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        tracing::debug!(target: STATEMENTS, statement = sql);
        if self.is_tracked() {
            let sql = sql.to_string();
            return self
                .tracked(move |c| diesel::connection::SimpleConnection::batch_execute(c, &sql))
                .await;
        }
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
            Some(Pooled::My(o)) => drop(deadpool::managed::Object::take(o)),
            Some(Pooled::Lite(o)) => drop(Object::take(o)),
            None => {}
        }
    }
}

/// The name of clause `i` of [`with_clauses`]: in the bridge's own `scim_` namespace, so that
/// it cannot hide a host table of the same name in the statement it heads.
pub(crate) fn clause_name(i: usize) -> String {
    format!("scim_w{i}")
}

/// `WITH scim_w0 AS (…), scim_w1 AS (…) ` — PostgreSQL's data-modifying `WITH`: each clause
/// runs to completion whatever the statement that follows does with it. With
/// `returning_first`, the first clause returns its rows (`RETURNING *`).
pub(crate) fn with_clauses(stmts: Vec<Sql>, returning_first: bool) -> Sql {
    let mut q = Sql::new();
    for (i, s) in stmts.into_iter().enumerate() {
        q.raw(if i == 0 { "WITH " } else { ", " })
            .owned(format!("{} AS (", clause_name(i)))
            .append(s);
        if returning_first && i == 0 {
            q.raw(" RETURNING *");
        }
        q.raw(") ");
    }
    q
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

/// An open transaction. Commit or roll back explicitly; if it is dropped open (the request was
/// cancelled or timed out), its connection is closed rather than returned to the pool, which
/// rolls the transaction back on every backend (see [`Conn`]).
pub struct Tx {
    conn: Conn,
}

impl Tx {
    /// Marks the connection as in a transaction *before* sending `BEGIN`: if the caller is
    /// dropped while `BEGIN` is in flight, the server may still start the transaction.
    pub(super) async fn begin(mut conn: Conn, begin: &str) -> Result<Tx, StoreError> {
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

    pub(super) async fn run<T, E: From<StoreError>>(
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
