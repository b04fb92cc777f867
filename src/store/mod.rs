//! Databases: one pool per backend, transactions, and every statement the bridge runs.
//!
//! The backend is chosen explicitly by the URL scheme. All SQL text is assembled in
//! [`sql`] and [`dialect`]; callers above this module see typed operations only.

pub mod audit;
mod conn;
mod db;
pub mod demo;
pub mod dialect;
pub mod groups;
pub mod introspect;
pub mod migrate;
pub mod predicate;
pub mod preview;
pub mod refusal;
mod rows;
pub mod sql;
pub mod tokens;
pub mod users;

pub use conn::{Conn, SqliteConn, Tx};
pub use db::{redact, Db, DbOptions, DbUrl};

use diesel::result::{DatabaseErrorKind, Error as DieselError};

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
    /// The row is one the mapping protects (`users.protect`): SCIM may not change it. Says
    /// who such rows are.
    #[error("protected row: {0}")]
    Protected(String),
    /// The database refused a value: a constraint, or a value the column cannot hold.
    #[error("refused by the database: {}", .0.cause)]
    Refused(refusal::Refusal),
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
            DieselError::DatabaseError(kind, info) => {
                match refusal::classify(kind, info.as_ref()) {
                    Some(r) => StoreError::Refused(r),
                    None if matches!(
                        kind,
                        DatabaseErrorKind::ClosedConnection
                            | DatabaseErrorKind::UnableToSendCommand
                    ) || is_unavailable_message(info.message()) =>
                    {
                        StoreError::Unavailable(info.message().to_string())
                    }
                    None => StoreError::Query(e),
                }
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
