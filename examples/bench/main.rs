//! Reproducible benchmark: `cargo run --release --example bench -- [sqlite] [postgres] [mysql]`.
//!
//! For each backend: a scratch copy of the demo helpdesk seeded with `BENCH_USERS` users
//! (default 100,000); the database's own ceilings measured first through the same driver
//! (single-row INSERT + COMMIT per transaction; a create-shaped transaction — host row, link
//! row and audit row, the statements a create writes; the indexed SELECT by login); then the
//! release binary started as its own process (`scim-bridge serve`, so its RSS is the bridge's
//! alone) and driven over loopback HTTP by this program's hyper client at concurrency 1, 16
//! and 64: Okta-shaped creates, `userName eq` GETs, PATCH deactivations, PUTs, and paging
//! through every user. Prints one line per figure, then a Markdown table for BENCHMARKS.md.
//!
//! PostgreSQL needs `BENCH_POSTGRES_URL` (e.g. postgres://postgres@127.0.0.1:5432/postgres),
//! MariaDB/MySQL `BENCH_MYSQL_URL` (e.g. mysql://root@127.0.0.1:3306/mysql); a scratch
//! database is created there and dropped afterwards. `BENCH_GROUP=50000` adds the large-group
//! scenario (SQLite). `BENCH_POOL` sets database.pool_size (default 4, the shipped default);
//! the raw ceilings use as many connections, at most the concurrency. The binary is looked
//! for under `CARGO_TARGET_DIR` when that is set.

mod bridge;
mod measure;
mod raw;
mod scenarios;
mod scratch;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const CONCURRENCY: [usize; 3] = [1, 16, 64];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let users: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut backends: Vec<Backend> = std::env::args()
        .skip(1)
        .filter_map(|a| match a.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::Mysql),
            _ => None,
        })
        .collect();
    if backends.is_empty() {
        backends.push(Backend::Sqlite);
        if std::env::var("BENCH_POSTGRES_URL").is_ok() {
            backends.push(Backend::Postgres);
        }
        if std::env::var("BENCH_MYSQL_URL").is_ok() {
            backends.push(Backend::Mysql);
        }
    }
    let bin = bridge::build_binary();
    println!("load average before: {}", loadavg());
    let mut reports = Vec::new();
    for b in backends {
        reports.push(scenarios::bench(b, &bin, users).await);
    }
    println!("load average after: {}", loadavg());
    for r in &reports {
        summary(r, users);
    }
}

/// The Markdown table for BENCHMARKS.md: the 2026-11-30 columns, then the create-shaped
/// ceiling (host row + link + audit in one transaction) and creates' share of it.
fn summary(r: &scenarios::Report, users: usize) {
    println!("\n### {:?}, {users} pre-existing users\n", r.backend);
    println!("| concurrency | creates/s (raw INSERT+COMMIT/s, ratio) | GET userName eq /s (raw SELECT/s, ratio) | GET p50 / p99 | PATCH/s | PUT/s | create p50 / p99 | bridge CPU µs/request: create, GET, PATCH, PUT | raw create-shaped tx/s (creates' ratio) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for ((conc, f), (_, raw)) in r.bridge.iter().zip(&r.raw) {
        let (c, g, p, u) = (&f[0], &f[1], &f[2], &f[3]);
        let (ri, rc, rs) = (&raw.insert, &raw.create, &raw.select);
        let failed: usize =
            f.iter().map(|x| x.failed).sum::<usize>() + ri.failed + rc.failed + rs.failed;
        println!(
            "| {conc} | {:.0} ({:.0}, {:.0}%) | {:.0} ({:.0}, {:.0}%) | {:.2} / {:.2} ms | {:.0} | {:.0} | {:.2} / {:.2} ms | {:.0}, {:.0}, {:.0}, {:.0} | {:.0} ({:.0}%) |{}",
            c.rate, ri.rate, 100.0 * c.rate / ri.rate, g.rate, rs.rate, 100.0 * g.rate / rs.rate, g.p50, g.p99, p.rate, u.rate, c.p50, c.p99,
            c.cpu_us.unwrap_or(0.0), g.cpu_us.unwrap_or(0.0), p.cpu_us.unwrap_or(0.0), u.cpu_us.unwrap_or(0.0),
            rc.rate, 100.0 * c.rate / rc.rate,
            if failed > 0 { format!(" {failed} failed") } else { String::new() }
        );
    }
    println!("\nready to serve {:.0} ms; paging {} users in pages of 100: {:.2} s; bridge peak RSS {:.1} MB; pool_size {}", r.ready_ms, r.paged, r.paging_s, r.rss_mb, r.pool);
}
