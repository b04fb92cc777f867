//! Reproducible benchmark: `cargo run --release --example bench -- [sqlite] [postgres] [mysql]`.
//!
//! For each backend: a scratch copy of the demo helpdesk seeded with `BENCH_USERS` users
//! (default 100,000); the database's own ceilings measured first through the same driver
//! (single-row INSERT + COMMIT per transaction; a create-shaped transaction — host row, link
//! row and audit row, the statements a create writes; the indexed SELECT by login); then the
//! release binary started as its own process (`scim-bridge serve`, so its RSS is the bridge's
//! alone) and driven over loopback HTTP by this program's hyper client at concurrency 1, 8, 16
//! and 64: Okta-shaped creates, `userName eq` GETs, PATCH deactivations, PUTs, and paging
//! through every user. Prints one line per figure, then a Markdown table for BENCHMARKS.md.
//!
//! PostgreSQL needs `BENCH_POSTGRES_URL` (e.g. postgres://postgres@127.0.0.1:5432/postgres),
//! MariaDB/MySQL `BENCH_MYSQL_URL` (e.g. mysql://root@127.0.0.1:3306/mysql); a scratch
//! database is created there and dropped afterwards. `BENCH_GROUP=50000` adds the large-group
//! scenario (SQLite). `BENCH_POOL` sets database.pool_size (default: none written, so the
//! bridge derives it); the raw ceilings use as many connections, at most the concurrency. The binary is looked
//! for under `CARGO_TARGET_DIR` when that is set.
//!
//! `cargo run --release --example bench -- trips [backends]` counts instead the statements
//! (and round trips) each kind of request sends, from the bridge's statement trace
//! (`trips.rs`).

mod bridge;
mod measure;
mod raw;
mod scenarios;
mod scratch;
mod trips;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// 8 is the concurrency issue 18 compares SCIM servers at (worst p99 ≤ 10 ms).
const CONCURRENCY: [usize; 4] = [1, 8, 16, 64];

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

/// Backends named on the command line (`sqlite`, `postgres`, `mysql`/`mariadb`), else SQLite
/// and each server whose URL is set.
fn backends() -> Vec<Backend> {
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
    backends
}

#[tokio::main]
async fn main() {
    let users: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let bin = bridge::build_binary();
    println!("load average before: {}", loadavg());
    if std::env::args().nth(1).as_deref() == Some("trips") {
        let mut all = Vec::new();
        for b in backends() {
            all.push(Box::pin(trips::count(b, &bin)).await);
        }
        println!("load average after: {}", loadavg());
        trips::report(&all);
        return;
    }
    let mut reports = Vec::new();
    for b in backends() {
        reports.push(Box::pin(scenarios::bench(b, &bin, users)).await);
    }
    println!("load average after: {}", loadavg());
    for r in &reports {
        summary(r, users);
    }
}

/// `1234.5` as "1,235": the tables' number format.
fn thousands(x: f64) -> String {
    let digits = format!("{x:.0}");
    let (sign, digits) = digits
        .strip_prefix('-')
        .map_or(("", digits.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

fn pct(part: f64, whole: f64) -> String {
    format!("{:.0}%", 100.0 * part / whole)
}

/// The Markdown for BENCHMARKS.md: the 2026-11-30 section and table format unchanged, then
/// the create-shaped ceiling (host row + link + audit in one transaction) in a table of its
/// own, so rows stay comparable with earlier runs.
fn summary(r: &scenarios::Report, users: usize) {
    println!("\n### {}\n", r.title);
    println!("| concurrency | creates/s (raw INSERT+COMMIT/s, ratio) | `userName eq` GETs/s (raw SELECT/s, ratio) | GET p50 / p99 | PATCH/s | PUT/s | create p50 / p99 | bridge CPU µs per request: create, GET, PATCH, PUT |");
    println!("|---|---|---|---|---|---|---|---|");
    for ((conc, f), (_, raw)) in r.bridge.iter().zip(&r.raw) {
        let (c, g, p, u) = (&f[0], &f[1], &f[2], &f[3]);
        let (ri, rs) = (&raw.insert, &raw.select);
        let failed: usize =
            f.iter().map(|x| x.failed).sum::<usize>() + ri.failed + raw.create.failed + rs.failed;
        let cpu: Vec<String> = f
            .iter()
            .map(|x| format!("{:.0}", x.cpu_us.unwrap_or(0.0)))
            .collect();
        println!(
            "| {conc} | {} ({}, {}) | {} ({}, {}) | {:.2} / {:.2} ms | {} | {} | {:.2} / {:.2} ms | {} |{}",
            thousands(c.rate), thousands(ri.rate), pct(c.rate, ri.rate),
            thousands(g.rate), thousands(rs.rate), pct(g.rate, rs.rate),
            g.p50, g.p99, thousands(p.rate), thousands(u.rate), c.p50, c.p99, cpu.join(", "),
            if failed > 0 { format!(" {failed} failed") } else { String::new() }
        );
    }
    println!(
        "\nReady to serve {:.0} ms after start; {} users paged in pages of 100 in {:.2} s; bridge peak RSS {:.1} MB; pool_size {}; {} pre-existing users.",
        r.ready_ms, thousands(r.paged as f64), r.paging_s, r.rss_mb, r.pool, thousands(users as f64)
    );
    println!("\n| concurrency | creates/s | raw create-shaped transactions/s (host row + link + audit) | creates' ratio |");
    println!("|---|---|---|---|");
    for ((conc, f), (_, raw)) in r.bridge.iter().zip(&r.raw) {
        let (c, rc) = (&f[0], &raw.create);
        println!(
            "| {conc} | {} | {} | {} |",
            thousands(c.rate),
            thousands(rc.rate),
            pct(c.rate, rc.rate)
        );
    }
}
