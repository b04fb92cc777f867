//! How many connections the bridge keeps open. `database.pool_size = 0` (the default) derives
//! the number from the backend, this machine's CPUs and, for a database server, how many
//! connections the server allows; any other value is used as written.
//!
//! The rule, and why:
//! - **SQLite: one reader per CPU, at least 2 and at most 8**, plus the one writer connection
//!   every SQLite database gets anyway. A read runs inside this process, on one CPU from start
//!   to end, so readers beyond the CPUs only take turns; two keep a long page read from
//!   stalling a lookup; each reader holds its own page cache (2 MB), so past 8 the memory
//!   grows faster than the reads do.
//! - **PostgreSQL and MySQL/MariaDB: 2 × CPUs + 2, at most 16, and at most a quarter of the
//!   connections the server allows ordinary users** (PostgreSQL: `max_connections` less the
//!   superuser and role reservations; MySQL: `max_connections`, its one spare is for
//!   administrators). A connection spends most of a request waiting for the server's answer
//!   and commit, while this process's CPU serves another request, hence twice the CPUs (and
//!   two so that even one CPU overlaps a request's round trips with another's). The server's
//!   commit rate stops rising long before 16 connections (BENCHMARKS.md 2026-11-30: raw
//!   INSERT+COMMIT at 7,535/s with 16 clients, 8,000/s with 64), and the host application
//!   shares the server: the bridge is a sidecar and takes no more than a quarter of it. When
//!   the server's limit cannot be read, the CPU rule alone applies.
//!
//! Requests per token (`limits.per_token_in_flight = 0`) are twice whichever size results.

use super::conn::Conn;
use super::dialect::Dialect;
use super::sql::Sql;
use super::StoreError;

/// The size of the pool requests share and the rule that gave it, for `check` and the
/// start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSize {
    /// Connections requests share (SQLite: readers; its one writer comes on top).
    pub size: usize,
    /// Where `size` comes from, in the configuration's words.
    pub why: String,
}

/// SQLite readers when derived.
const SQLITE_READERS: (usize, usize) = (2, 8);
/// At most this many connections to a database server when derived.
const SERVER_MAX: usize = 16;
/// The bridge takes at most one part in this many of the server's ordinary connections.
const SERVER_SHARE: u64 = 4;

/// What a database server allows: `max_connections` and how many of them are reserved for
/// superusers or privileged roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimit {
    pub max_connections: u64,
    pub reserved: u64,
}

impl PoolSize {
    /// The largest pool a derived size can be, whatever the machine and the server (for
    /// budgets such as open files).
    pub const MAX_DERIVED: usize = SERVER_MAX;

    /// `database.pool_size` as written (1–256).
    pub fn explicit(n: usize) -> PoolSize {
        PoolSize {
            size: n,
            why: format!("database.pool_size = {n}"),
        }
    }

    /// SQLite's readers for `cpus` CPUs.
    pub fn sqlite(cpus: usize) -> PoolSize {
        let (low, high) = SQLITE_READERS;
        let size = cpus.clamp(low, high);
        PoolSize {
            size,
            why: format!(
                "database.pool_size = 0: one reader per CPU ({cpus} CPU{}), kept within {low}–{high}; writes use one connection of their own",
                plural(cpus)
            ),
        }
    }

    /// A database server's pool for `cpus` CPUs and what the server allows (or why that could
    /// not be read).
    pub fn server(cpus: usize, limit: &Result<ServerLimit, String>) -> PoolSize {
        let by_cpu = 2 * cpus + 2;
        let mut size = by_cpu.min(SERVER_MAX);
        let mut why = format!(
            "database.pool_size = 0: 2 × {cpus} CPU{} + 2 = {by_cpu}",
            plural(cpus)
        );
        if by_cpu > SERVER_MAX {
            why.push_str(&format!(", capped at {SERVER_MAX}"));
        }
        match limit {
            Ok(l) => {
                let usable = l.max_connections.saturating_sub(l.reserved);
                let share = usize::try_from(usable / SERVER_SHARE)
                    .unwrap_or(usize::MAX)
                    .max(1);
                let server = if l.reserved > 0 {
                    format!(
                        "max_connections {} − {} reserved = {usable}",
                        l.max_connections, l.reserved
                    )
                } else {
                    format!("max_connections {usable}")
                };
                if share < size {
                    size = share;
                    why.push_str(&format!(
                        ", capped at a quarter of the server's {server}: {share}"
                    ));
                } else if by_cpu > SERVER_MAX {
                    why.push_str(&format!(
                        "; within a quarter of the server's {server} ({share})"
                    ));
                } else {
                    why.push_str(&format!(
                        "; within {SERVER_MAX} and a quarter of the server's {server} ({share})"
                    ));
                }
            }
            Err(e) => why.push_str(&format!(
                "; at most {SERVER_MAX} (the server's max_connections could not be read: {e})"
            )),
        }
        PoolSize { size, why }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The CPUs this process may use (cgroup quotas included), at least 1.
pub(super) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Reads what the server allows: PostgreSQL's `max_connections` less
/// `superuser_reserved_connections` and (PostgreSQL 16+) `reserved_connections`; MySQL's and
/// MariaDB's `@@max_connections` (their extra connection for administrators is on top).
///
/// # Errors
/// The database's error; `StoreError::Invalid` when SQLite is asked or a value is not a
/// number.
pub(super) async fn server_limit(
    c: &mut Conn,
    dialect: Dialect,
) -> Result<ServerLimit, StoreError> {
    let mut q = Sql::new();
    match dialect {
        Dialect::Postgres => q.raw("SELECT current_setting('max_connections'), current_setting('superuser_reserved_connections'), COALESCE(current_setting('reserved_connections', true), '0')"),
        Dialect::Mysql => q.raw("SELECT CAST(@@max_connections AS CHAR), '0'"),
        Dialect::Sqlite => return Err(StoreError::Invalid("SQLite has no connection limit".into())),
    };
    let row = c.row(q).await?;
    let number = |i: usize| {
        row.as_ref()
            .and_then(|r| r.get(i))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| StoreError::Invalid(format!("not a number: {row:?}")))
    };
    let reserved = match dialect {
        Dialect::Postgres => number(1)? + number(2)?,
        _ => 0,
    };
    Ok(ServerLimit {
        max_connections: number(0)?,
        reserved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a server allows, as `server_limit` reads it.
    fn limit(max_connections: u64, reserved: u64) -> ServerLimit {
        ServerLimit {
            max_connections,
            reserved,
        }
    }

    #[test]
    fn sqlite_has_a_reader_per_cpu_between_two_and_eight() {
        for (cpus, readers) in [(1, 2), (2, 2), (3, 3), (4, 4), (8, 8), (64, 8)] {
            assert_eq!(PoolSize::sqlite(cpus).size, readers, "{cpus} CPUs");
        }
        let p = PoolSize::sqlite(1);
        assert!(
            p.why.contains("pool_size = 0") && p.why.contains("1 CPU)") && p.why.contains("2–8"),
            "{}",
            p.why
        );
    }

    #[test]
    fn servers_get_twice_the_cpus_plus_two_at_most_sixteen() {
        let pg_default = limit(100, 3);
        for (cpus, size) in [(1, 4), (2, 6), (4, 10), (7, 16), (32, 16)] {
            assert_eq!(
                PoolSize::server(cpus, &Ok(pg_default)).size,
                size,
                "{cpus} CPUs"
            );
        }
        let p = PoolSize::server(2, &Ok(pg_default));
        assert_eq!(
            p.why,
            "database.pool_size = 0: 2 × 2 CPUs + 2 = 6; within 16 and a quarter of the server's max_connections 100 − 3 reserved = 97 (24)"
        );
        let p = PoolSize::server(32, &Ok(limit(151, 0)));
        assert_eq!(
            p.why,
            "database.pool_size = 0: 2 × 32 CPUs + 2 = 66, capped at 16; within a quarter of the server's max_connections 151 (37)"
        );
    }

    #[test]
    fn servers_leave_three_quarters_of_their_connections_to_the_application() {
        // max_connections 23, 3 reserved: 20 ordinary connections, the bridge takes 5.
        let p = PoolSize::server(4, &Ok(limit(23, 3)));
        assert_eq!(p.size, 5);
        assert!(
            p.why.ends_with(
                "capped at a quarter of the server's max_connections 23 − 3 reserved = 20: 5"
            ),
            "{}",
            p.why
        );
        // A tiny server still gets one connection, never none.
        assert_eq!(PoolSize::server(4, &Ok(limit(5, 3))).size, 1);
        assert_eq!(PoolSize::server(4, &Ok(limit(2, 3))).size, 1);
        // A generous one does not lift the CPU rule.
        assert_eq!(PoolSize::server(2, &Ok(limit(10_000, 0))).size, 6);
    }

    #[test]
    fn an_unreadable_server_limit_falls_back_to_the_cpu_rule() {
        let p = PoolSize::server(2, &Err("permission denied".into()));
        assert_eq!(p.size, 6);
        assert!(
            p.why.contains("could not be read: permission denied"),
            "{}",
            p.why
        );
        assert_eq!(
            PoolSize::server(64, &Err(String::new())).size,
            PoolSize::MAX_DERIVED
        );
    }

    #[test]
    fn an_explicit_size_is_used_as_written() {
        let p = PoolSize::explicit(3);
        assert_eq!((p.size, p.why.as_str()), (3, "database.pool_size = 3"));
    }
}
