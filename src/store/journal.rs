//! SQLite's journal mode, read for `check`. The bridge never changes a host application's
//! file on its own: WAL is switched on only by `database.sqlite_wal = true` (the operator's
//! decision, since it changes the file for the application too) or in the demo database the
//! bridge creates itself (`demo.rs`).

use super::dialect::Dialect;
use super::sql::Sql;
use super::{Db, StoreError};

/// `PRAGMA journal_mode` as a new connection reads it (`delete`, `wal`, …); `None` for
/// PostgreSQL and MySQL, which have no such setting.
///
/// # Errors
/// The database's error.
pub(crate) async fn mode(db: &Db) -> Result<Option<String>, StoreError> {
    if db.dialect != Dialect::Sqlite {
        return Ok(None);
    }
    let mut q = Sql::new();
    q.raw("SELECT journal_mode FROM pragma_journal_mode");
    let row = db.reader().await?.row(q).await?;
    Ok(row.and_then(|r| r.get(0).map(str::to_ascii_lowercase)))
}
