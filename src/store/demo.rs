//! The embedded demo helpdesk: the one place the bridge creates host tables.
//!
//! With `database.create_demo = true` (the repository's default config) and a SQLite URL whose
//! file does not exist yet, the bridge creates a small helpdesk database — a `users` table
//! shaped like real helpdesks' (login, email, names, an `active` flag, a role, NOT NULL
//! bookkeeping columns) with a few pre-existing users — so a newcomer can try the bridge
//! before pointing it at a real application. Never used for PostgreSQL or MySQL. The bridge
//! creates it in WAL mode: the file is its own, unlike a host's, whose journal only the
//! operator switches (`database.sqlite_wal`).

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl as _};

use super::StoreError;

pub const SCHEMA: &str = r#"
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    login VARCHAR(255) NOT NULL,
    email VARCHAR(255) NOT NULL,
    firstname VARCHAR(100) NOT NULL DEFAULT '',
    lastname VARCHAR(100) NOT NULL DEFAULT '',
    department VARCHAR(200) NULL,
    phone VARCHAR(100) NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    role VARCHAR(20) NOT NULL,
    password VARCHAR(100) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX users_login ON users (login COLLATE NOCASE);
CREATE INDEX users_email ON users (email COLLATE NOCASE);
"#;

/// Dialect-neutral: the tests load the same rows into PostgreSQL and MySQL.
pub const SEED: &str = r#"
INSERT INTO users (id, login, email, firstname, lastname, department, phone, active, role, password, created_at, updated_at) VALUES
 (1, 'admin@helpdesk.example', 'admin@helpdesk.example', 'Ada', 'Admin', 'IT', NULL, TRUE, 'agent', '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaA', '2024-01-02 09:00:00', '2024-01-02 09:00:00'),
 (2, 'maria.garcia@acme.example', 'maria.garcia@acme.example', 'María', 'García', 'Sales', '+34 600 000 000', TRUE, 'customer', '!', '2024-02-01 10:00:00', '2024-02-01 10:00:00'),
 (3, 'Bob.Brown@Acme.Example', 'Bob.Brown@Acme.Example', 'Bob', 'Brown', NULL, NULL, TRUE, 'customer', '!', '2024-03-02 08:00:00', '2024-03-02 08:00:00'),
 (4, 'kenji.wong@acme.example', 'kenji.wong@acme.example', 'Kenji', 'Wong', 'Support', NULL, FALSE, 'customer', '!', '2024-03-05 08:00:00', '2024-06-30 18:00:00'),
 (5, 'lea.petit@globex.example', 'lea.petit@globex.example', 'Léa', 'Petit', 'Einkauf', NULL, TRUE, 'customer', '!', '2024-04-11 12:00:00', '2024-04-11 12:00:00');
"#;

/// Creates the demo database at `path` if the file does not exist, in SQLite's default
/// rollback journal — as a host application's file usually is, which is why the tests and the
/// benchmark use it to stand in for one. Returns whether it created the file.
///
/// # Errors
/// When the directory or file cannot be created.
pub fn ensure(path: &Path) -> Result<bool, StoreError> {
    create(path, false)
}

/// The demo the bridge serves (`database.create_demo = true`): as [`ensure`], in WAL mode.
/// The file is then the bridge's own, so it takes the journal that lets reads run beside a
/// write and commits with one sync instead of the rollback journal's several (issue 18
/// measured creates at ~1,890/s in WAL mode, with `database.sqlite_wal`'s
/// `synchronous = NORMAL`, against ~736/s); a host's file is never switched without
/// `database.sqlite_wal = true`. A demo file that already exists keeps its journal.
///
/// # Errors
/// When the directory or file cannot be created.
pub fn ensure_wal(path: &Path) -> Result<bool, StoreError> {
    create(path, true)
}

fn create(path: &Path, wal: bool) -> Result<bool, StoreError> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Other(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut c = diesel::sqlite::SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    c.transaction(|c| {
        c.batch_execute(SCHEMA)?;
        diesel::sql_query(SEED).execute(c)?;
        Ok::<_, diesel::result::Error>(())
    })?;
    if wal {
        // Recorded in the file: every later connection, the application's too, opens it in WAL.
        c.batch_execute("PRAGMA journal_mode = WAL")?;
    }
    Ok(true)
}
