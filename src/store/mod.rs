//! Databases: one pool per backend, transactions, and every statement the bridge runs.
//!
//! The backend is chosen explicitly by the URL scheme. All SQL text is assembled in
//! [`sql`] and [`dialect`]; callers above this module see typed operations only.

pub(crate) mod audit;
mod conn;
mod db;
pub mod demo;
pub(crate) mod dialect;
mod group_commit;
pub(crate) mod groups;
pub(crate) mod introspect;
pub(crate) mod journal;
pub(crate) mod migrate;
mod pool_size;
pub(crate) mod predicate;
pub(crate) mod preview;
pub(crate) mod refusal;
mod rows;
pub mod sql;
pub mod tokens;
pub(crate) mod users;

pub use conn::{Conn, SqliteConn, Tx};
pub use db::{redact, Db, DbOptions, DbUrl};
pub use pool_size::PoolSize;

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
    /// A value several rows of the application hold where one is expected (a lookup text
    /// two rows hold case-insensitively): answered 409 like an ambiguous user match.
    #[error("ambiguous: {0}")]
    Ambiguous(String),
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

/// Why a connection attempt can never succeed as configured, with the fix; `None` when it may
/// be transient (server starting, network down, pool timeout) and is worth retrying.
///
/// Decided from the driver's message, since the drivers report these as plain connection
/// errors: PostgreSQL `database "x" does not exist`, `role "x" does not exist`, `password
/// authentication failed`, `no pg_hba.conf entry`; MySQL/MariaDB `Unknown database`, `Access
/// denied for user`; a TLS handshake the server refuses; a URL the driver cannot use.
pub fn permanent_connect_error(message: &str) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if has(&["unknown database"]) || (m.contains("database \"") && m.contains("does not exist")) {
        Some("the database named in database.url does not exist: create it, or correct the name at the end of the URL")
    } else if has(&[
        "password authentication failed",
        "access denied for user",
        "no pg_hba.conf entry",
        "authentication failed",
    ]) || (m.contains("role \"") && m.contains("does not exist"))
    {
        Some("the server refused these credentials: check the user and password in database.url (or SCIM_BRIDGE__DATABASE__URL), and that the server lets this user connect from this host (pg_hba.conf, MySQL GRANT)")
    } else if has(&[
        "unknown connection url parameter",
        "invalid connection url",
        "invalid port",
    ]) {
        // Tested before TLS: a parameter such as `ssl_mode` mentions ssl without a TLS failure.
        Some("the driver cannot use this URL: correct database.url (see README, Configuration reference)")
    } else if has(&["tls handshake", "ssl", "server does not support tls"]) {
        Some("the TLS connection to the database failed: check the server's TLS set-up and the URL's sslmode / ssl-mode parameter")
    } else {
        None
    }
}

#[cfg(test)]
mod permanent_tests {
    use super::permanent_connect_error as p;

    #[test]
    fn permanent_connect_errors_are_told_from_transient_ones() {
        for permanent in [
            "Error occurred while creating a new object: database \"helpdesk\" does not exist",
            "Error occurred while creating a new object: role \"nobody\" does not exist",
            "password authentication failed for user \"app\"",
            "no pg_hba.conf entry for host \"10.0.0.5\", user \"app\", database \"helpdesk\"",
            "Error occurred while creating a new object: Unknown database 'nonexist'",
            "Access denied for user 'nobody'@'127.0.0.1' (using password: YES)",
            "Error occurred while creating a new object: error performing TLS handshake",
            "Unknown connection URL parameter `ssl_mode'",
        ] {
            assert!(p(permanent).is_some(), "{permanent}");
        }
        for transient in [
            "Error occurred while creating a new object: error connecting to server",
            "no database connection within 5000 ms",
            "Connection refused (os error 111)",
            "the database system is starting up",
            "server has gone away",
            "database is locked",
        ] {
            assert_eq!(p(transient), None, "{transient}");
        }
        // Each kind names its own fix.
        assert!(p("database \"x\" does not exist")
            .unwrap()
            .contains("create it"));
        assert!(p("password authentication failed for user \"a\"")
            .unwrap()
            .contains("user and password"));
        assert!(p("Unknown connection URL parameter `ssl_mode'")
            .unwrap()
            .contains("correct database.url"));
        assert!(p("error performing TLS handshake").unwrap().contains("TLS"));
    }
}
