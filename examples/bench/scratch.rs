//! Scratch databases: a copy of the demo helpdesk per backend, seeded with the benchmark's
//! users, and dropped afterwards.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
};
use scim_bridge::store::sql::TextRow;

use crate::{Backend, REPO};

/// A scratch database on a server: its admin URL (to drop it) and its name.
pub struct Scratch {
    backend: Backend,
    admin: String,
    name: String,
}

fn env_url(backend: Backend) -> String {
    let var = match backend {
        Backend::Postgres => "BENCH_POSTGRES_URL",
        _ => "BENCH_MYSQL_URL",
    };
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set"))
}

/// Rows `seed0@example.com` … as one statement, one per `i` of `from`; `truth` is the
/// dialect's true.
fn seed_rows(from: &str, truth: &str) -> String {
    format!(
        "INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) \
         SELECT CONCAT('seed', i, '@example.com'), CONCAT('seed', i, '@example.com'), 'Seed', CONCAT('User', i), {truth}, 'customer', '!', '2024-01-01 00:00:00', '2024-01-01 00:00:00' FROM {from}"
    )
}

/// A scratch database of `backend` holding the demo helpdesk and `users` seed users; its URL.
pub async fn prepare(
    backend: Backend,
    dir: &std::path::Path,
    users: usize,
) -> (String, Option<Scratch>) {
    let last = users - 1;
    match backend {
        Backend::Sqlite => {
            let path = dir.join("bench.db");
            scim_bridge::store::demo::ensure(&path).unwrap();
            let mut c =
                diesel::sqlite::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
            c.batch_execute(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
                 INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) \
                 SELECT 'seed' || i || '@example.com', 'seed' || i || '@example.com', 'Seed', 'User' || i, 1, 'customer', '!', '2024-01-01 00:00:00', '2024-01-01 00:00:00' FROM n"
            ))
            .unwrap();
            (format!("sqlite://{}", path.display()), None)
        }
        Backend::Postgres | Backend::Mysql => {
            let admin = env_url(backend);
            let name = format!("scimbench_{}", std::process::id());
            let scratch = Scratch {
                backend,
                admin: admin.clone(),
                name: name.clone(),
            };
            scratch
                .admin_batch(&format!("DROP DATABASE IF EXISTS {name}"))
                .await;
            scratch
                .admin_batch(&format!("CREATE DATABASE {name}"))
                .await;
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            let fixture = if backend == Backend::Postgres {
                "postgres"
            } else {
                "mysql"
            };
            let schema =
                std::fs::read_to_string(format!("{REPO}/tests/fixtures/demo.{fixture}.sql"))
                    .unwrap();
            let fill = if backend == Backend::Postgres {
                format!(
                    "SELECT setval('users_id_seq', (SELECT max(id) FROM users)); {}; ANALYZE users;",
                    seed_rows(&format!("generate_series(0, {last}) i"), "TRUE")
                )
            } else {
                // MariaDB's recursion limit (max_recursive_iterations) can be as low as 1,000
                // (seen on this project's machines); the seed needs one per user.
                format!(
                    "SET SESSION max_recursive_iterations = {}; {}; ANALYZE TABLE users;",
                    last + 1,
                    seed_rows(
                        &format!("(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) SELECT i FROM n) n"),
                        "1"
                    )
                )
            };
            for sql in [schema.as_str(), scim_bridge::store::demo::SEED, &fill] {
                batch(backend, &url, sql).await;
            }
            (url, Some(scratch))
        }
    }
}

async fn batch(backend: Backend, url: &str, sql: &str) {
    match backend {
        Backend::Postgres => {
            let mut c = AsyncPgConnection::establish(url).await.unwrap();
            c.batch_execute(sql).await.unwrap();
        }
        _ => {
            let mut c = AsyncMysqlConnection::establish(url).await.unwrap();
            c.batch_execute(sql).await.unwrap();
        }
    }
}

impl Scratch {
    async fn admin_batch(&self, sql: &str) {
        batch(self.backend, &self.admin, sql).await;
    }

    pub async fn drop(self) {
        let force = if self.backend == Backend::Postgres {
            " WITH (FORCE)"
        } else {
            ""
        };
        self.admin_batch(&format!("DROP DATABASE IF EXISTS {}{force}", self.name))
            .await;
    }
}

/// Ids and logins of the first `n` seed users (PATCH and PUT targets).
pub async fn seed_ids(backend: Backend, url: &str, n: usize) -> Vec<(String, String)> {
    let cast = if backend == Backend::Mysql {
        "CHAR"
    } else {
        "TEXT"
    };
    let sql = format!(
        "SELECT CAST(id AS {cast}), login FROM users WHERE login LIKE 'seed%' ORDER BY id LIMIT {n}"
    );
    let rows: Vec<TextRow> = match backend {
        Backend::Sqlite => {
            let mut c =
                diesel::sqlite::SqliteConnection::establish(url.trim_start_matches("sqlite://"))
                    .unwrap();
            diesel::RunQueryDsl::load(diesel::sql_query(sql), &mut c).unwrap()
        }
        Backend::Postgres => {
            let mut c = AsyncPgConnection::establish(url).await.unwrap();
            diesel::sql_query(sql).load(&mut c).await.unwrap()
        }
        Backend::Mysql => {
            let mut c = AsyncMysqlConnection::establish(url).await.unwrap();
            diesel::sql_query(sql).load(&mut c).await.unwrap()
        }
    };
    rows.into_iter()
        .map(|r| (r.get(0).unwrap().to_string(), r.get(1).unwrap().to_string()))
        .collect()
}

/// The section title of a backend: "SQLite", "PostgreSQL 15", "MariaDB 10.11".
pub async fn version(backend: Backend, url: &str) -> String {
    let sql = match backend {
        Backend::Sqlite => return "SQLite".to_string(),
        Backend::Postgres => "SHOW server_version",
        Backend::Mysql => "SELECT VERSION()",
    };
    let rows: Vec<TextRow> = if backend == Backend::Postgres {
        let mut c = AsyncPgConnection::establish(url).await.unwrap();
        diesel::sql_query(sql).load(&mut c).await.unwrap()
    } else {
        let mut c = AsyncMysqlConnection::establish(url).await.unwrap();
        diesel::sql_query(sql).load(&mut c).await.unwrap()
    };
    let v = rows
        .into_iter()
        .next()
        .and_then(|r| r.get(0).map(str::to_string))
        .unwrap_or_default();
    match backend {
        Backend::Postgres => format!("PostgreSQL {}", v.split('.').next().unwrap_or("")),
        _ => {
            let product = if v.contains("MariaDB") {
                "MariaDB"
            } else {
                "MySQL"
            };
            let num: Vec<&str> = v.split(['.', '-']).take(2).collect();
            format!("{product} {}", num.join("."))
        }
    }
}
