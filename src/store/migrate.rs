//! The bridge's own schema: diesel migrations embedded at build time, one tree per backend,
//! forward-only. Applied versions are recorded in `scim_schema_migrations` — not diesel's
//! default `__diesel_schema_migrations`, which a host application built on diesel may own.

use diesel::migration::{Migration, MigrationSource};
use diesel::{Connection, RunQueryDsl as _};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncMysqlConnection, AsyncPgConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

use super::{DbUrl, StoreError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const MYSQL: EmbeddedMigrations = embed_migrations!("migrations/mysql");

const TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS scim_schema_migrations (version VARCHAR(64) NOT NULL PRIMARY KEY, run_on VARCHAR(32) NOT NULL)";

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// What `pending` found or `run` did.
#[derive(Debug, Clone, Default)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub pending: Vec<String>,
}

/// Per backend, a query naming `scim_schema_migrations` if it exists (column `version`), so
/// that listing pending migrations reads the catalog instead of creating the table: a dry run
/// (`check`, `preview`, `import`, `migrate --dry-run`) writes nothing to the application's
/// database.
const SQLITE_EXISTS: &str = "SELECT name AS version FROM sqlite_master WHERE type = 'table' AND name = 'scim_schema_migrations'";
const POSTGRES_EXISTS: &str = "SELECT CAST(table_name AS TEXT) AS version FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'scim_schema_migrations'";
const MYSQL_EXISTS: &str = "SELECT CAST(table_name AS CHAR) AS version FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'scim_schema_migrations'";

fn run_sync<C>(
    conn: &mut C,
    source: &EmbeddedMigrations,
    apply: bool,
    exists: &str,
) -> Result<MigrationReport, StoreError>
where
    C: Connection,
    EmbeddedMigrations: MigrationSource<C::Backend>,
    C: diesel::connection::BoxableConnection<C::Backend> + diesel::connection::LoadConnection,
    Version: diesel::deserialize::QueryableByName<C::Backend>,
    String: diesel::serialize::ToSql<diesel::sql_types::Text, C::Backend>,
    C::Backend: diesel::sql_types::HasSqlType<diesel::sql_types::Text>
        + diesel::backend::DieselReserveSpecialization,
    diesel::query_builder::SqlQuery: diesel::query_builder::QueryFragment<C::Backend>,
{
    let err = |e: String| StoreError::Other(format!("migration: {e}"));
    let recorded = apply
        || !diesel::sql_query(exists)
            .load::<Version>(conn)
            .map_err(|e| err(e.to_string()))?
            .is_empty();
    if apply {
        conn.batch_execute(TABLE_DDL)
            .map_err(|e| err(e.to_string()))?;
    }
    let done: Vec<String> = if recorded {
        diesel::sql_query("SELECT version FROM scim_schema_migrations")
            .load::<Version>(conn)
            .map_err(|e| err(e.to_string()))?
            .into_iter()
            .map(|v| v.version)
            .collect()
    } else {
        Vec::new()
    };
    let mut report = MigrationReport::default();
    let migrations =
        MigrationSource::<C::Backend>::migrations(source).map_err(|e| err(e.to_string()))?;
    for m in migrations {
        let version = m.name().version().to_string();
        if done.contains(&version) {
            continue;
        }
        if !apply {
            report.pending.push(m.name().to_string());
            continue;
        }
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            m.run(c)
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
            diesel::sql_query("INSERT INTO scim_schema_migrations (version, run_on) VALUES (")
                .sql("'")
                .sql(version.replace('\'', ""))
                .sql("', '")
                .sql(&now)
                .sql("')")
                .execute(c)?;
            Ok(())
        })
        .map_err(|e| err(format!("{}: {e}", m.name())))?;
        report.applied.push(m.name().to_string());
    }
    Ok(report)
}

/// Applies pending migrations (`apply = true`) or only lists them.
///
/// # Errors
/// `Unavailable` when the database cannot be reached, `Other` when a migration fails.
pub async fn migrate(url: &DbUrl, apply: bool) -> Result<MigrationReport, StoreError> {
    let url = url.clone();
    tokio::task::spawn_blocking(move || match url {
        DbUrl::Sqlite(path) => {
            let mut c = diesel::sqlite::SqliteConnection::establish(&path.to_string_lossy())
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            run_sync(&mut c, &SQLITE, apply, SQLITE_EXISTS)
        }
        DbUrl::Postgres(u) => {
            let mut c = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&u)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            run_sync(&mut c, &POSTGRES, apply, POSTGRES_EXISTS)
        }
        DbUrl::Mysql(u) => {
            let mut c = AsyncConnectionWrapper::<AsyncMysqlConnection>::establish(&u)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            run_sync(&mut c, &MYSQL, apply, MYSQL_EXISTS)
        }
    })
    .await
    .map_err(|e| StoreError::Other(format!("migration task failed: {e}")))?
}

/// How many migrations this build ships for the dialect.
pub fn shipped(d: crate::store::dialect::Dialect) -> usize {
    use crate::store::dialect::Dialect;
    let n = match d {
        Dialect::Sqlite => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE).map(|m| m.len())
        }
        Dialect::Postgres => {
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES).map(|m| m.len())
        }
        Dialect::Mysql => {
            MigrationSource::<diesel::mysql::Mysql>::migrations(&MYSQL).map(|m| m.len())
        }
    };
    n.unwrap_or(0)
}

/// Whether the database has every migration this build ships (for `/readyz`).
pub async fn current(db: &super::Db) -> Result<bool, StoreError> {
    let mut c = db.reader().await?;
    let mut q = super::sql::Sql::new();
    q.raw("SELECT CAST(COUNT(*) AS ")
        .raw(super::dialect::text_type(db.dialect))
        .raw(") FROM scim_schema_migrations");
    let applied: usize = c
        .row(q)
        .await?
        .and_then(|r| r.get(0).and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    Ok(applied >= shipped(db.dialect))
}
