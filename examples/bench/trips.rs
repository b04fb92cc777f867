//! Statements and round trips per request: `cargo run --release --example bench -- trips
//! [sqlite] [postgres] [mysql]`.
//!
//! The bridge is started with `RUST_LOG=info,scim_bridge::sql=debug`: the store logs one event
//! per statement it sends (`store::conn`, and MySQL's ping per pool checkout from `store::db`),
//! each inside its request's span, so the events are joined to requests by the request id the
//! bridge returns in `x-request-id`. Each operation runs `REPEAT` times one after another on a
//! warm pool (its statements already prepared); the last run's statements are listed. A
//! statement kept out of the prepared-statement cache is prepared on every use, a second
//! round trip on PostgreSQL and MySQL; SQLite has no round trips, only statements.

use std::time::Duration;

use hyper::Method;
use serde_json::Value;

use crate::bridge::{self, Bridge};
use crate::scenarios::{okta_user, patch_active, pool_size};
use crate::scratch::{prepare, seed_ids, version};
use crate::Backend;

const REPEAT: usize = 3;

/// The statements one request sent: text (shortened) and whether it was a cached statement.
type Statements = Vec<(String, bool)>;

/// One operation's count on one backend.
pub struct OpTrips {
    pub op: &'static str,
    /// Statements per run (all `REPEAT` runs, to show whether they vary).
    pub statements: Vec<usize>,
    /// Statements not in the prepared-statement cache, in the last run.
    pub uncached: usize,
    /// The last run's statements.
    pub last: Statements,
}

pub struct Trips {
    pub title: String,
    pub backend: Backend,
    pub ops: Vec<OpTrips>,
}

impl OpTrips {
    /// Round trips of the last run: none on SQLite (in process); on a server one per
    /// statement plus one per uncached statement's prepare.
    pub fn round_trips(&self, backend: Backend) -> Option<usize> {
        (backend != Backend::Sqlite).then(|| self.last.len() + self.uncached)
    }
}

/// Reads the bridge's log until the request line of `rid`, returning that request's
/// statement events.
fn statements_of(bridge: &Bridge, rid: &str) -> Statements {
    let log = bridge
        .log()
        .expect("started with a log filter")
        .lock()
        .unwrap();
    let mut out = Vec::new();
    while let Ok(line) = log.recv_timeout(Duration::from_secs(10)) {
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if v["span"]["request_id"].as_str() != Some(rid) {
            continue;
        }
        if let Some(s) = v["statement"].as_str() {
            let short: String = s.chars().take(150).collect();
            out.push((short, v["cached"].as_bool().unwrap_or(true)));
        } else if v["message"] == "request" {
            return out;
        }
    }
    panic!("request {rid} never logged its request line");
}

/// One request; its status and the statements it sent.
async fn traced(
    bridge: &Bridge,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value, Statements) {
    let (status, body, rid) = bridge.call_traced(method, path, body).await;
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, v, statements_of(bridge, &rid))
}

/// Records one run of `op`; the expected status is checked so a failing request is not
/// counted as a cheap one.
fn record(ops: &mut Vec<OpTrips>, op: &'static str, run: (u16, Value, Statements), want: u16) {
    let (status, body, statements) = run;
    assert_eq!(status, want, "{op}: {body}");
    if let Some(o) = ops.iter_mut().find(|o| o.op == op) {
        o.statements.push(statements.len());
        o.uncached = statements.iter().filter(|(_, cached)| !cached).count();
        o.last = statements;
    } else {
        let uncached = statements.iter().filter(|(_, cached)| !cached).count();
        ops.push(OpTrips {
            op,
            statements: vec![statements.len()],
            uncached,
            last: statements,
        });
    }
}

pub async fn count(backend: Backend, bin: &str) -> Trips {
    let dir = tempfile::tempdir().unwrap();
    let (url, scratch) = prepare(backend, dir.path(), 1000).await;
    let title = version(backend, &url).await;
    let installed = bridge::install(bin, dir.path(), &url, pool_size());
    let bridge = bridge::start(bin, installed, Some("info,scim_bridge::sql=debug"));
    let seeds = seed_ids(backend, &url, 2 * REPEAT).await;
    let mut ops = Vec::new();
    for i in 0..REPEAT {
        run_once(&bridge, &mut ops, &seeds, i).await;
    }
    bridge.stop();
    if let Some(scratch) = scratch {
        scratch.drop().await;
    }
    Trips {
        title,
        backend,
        ops,
    }
}

/// One run of every operation: a create of a new user, a create that adopts an existing
/// host row, a `userName eq` GET, a PATCH that changes `active`, the same PATCH again (a
/// no-op), a PUT that changes the names, and a GET by id.
async fn run_once(bridge: &Bridge, ops: &mut Vec<OpTrips>, seeds: &[(String, String)], i: usize) {
    let name = format!("trip{i}@okta.example");
    let run = traced(bridge, Method::POST, "/Users", Some(&okta_user(&name, i))).await;
    let id = run.1["id"].as_str().unwrap_or_default().to_string();
    record(ops, "POST /Users, new user", run, 201);
    let adopt = okta_user(&seeds[i].1, i);
    let run = traced(bridge, Method::POST, "/Users", Some(&adopt)).await;
    record(ops, "POST /Users adopting an existing row", run, 201);
    let get = format!(
        "/Users?filter=userName%20eq%20%22{}%22",
        name.replace('@', "%40")
    );
    let run = traced(bridge, Method::GET, &get, None).await;
    record(ops, "GET /Users?filter=userName eq", run, 200);
    let path = format!("/Users/{id}");
    let run = traced(bridge, Method::PATCH, &path, Some(&patch_active(false))).await;
    record(ops, "PATCH active (a change)", run, 200);
    let run = traced(bridge, Method::PATCH, &path, Some(&patch_active(false))).await;
    record(ops, "PATCH active (no change)", run, 200);
    let put = okta_user(&name, i + 1000);
    let run = traced(bridge, Method::PUT, &path, Some(&put)).await;
    record(ops, "PUT (names changed)", run, 200);
    let run = traced(bridge, Method::GET, &path, None).await;
    record(ops, "GET /Users/{id}", run, 200);
}

/// Prints each operation's statements, then the table for BENCHMARKS.md.
pub fn report(all: &[Trips]) {
    for t in all {
        println!(
            "\n#### {}: statements of each operation (last run)\n",
            t.title
        );
        for o in &t.ops {
            println!("{} — {} statements", o.op, o.last.len());
            for (n, (s, cached)) in o.last.iter().enumerate() {
                let mark = if *cached { "" } else { " [not cached]" };
                println!("  {}. {s}{mark}", n + 1);
            }
        }
    }
    let titles: Vec<&str> = all.iter().map(|t| t.title.as_str()).collect();
    println!("\n| operation | {} |", titles.join(" | "));
    println!("|---|{}", "---|".repeat(all.len()));
    let Some(first) = all.first() else { return };
    for (k, o) in first.ops.iter().enumerate() {
        let cells: Vec<String> = all.iter().map(|t| cell(t, k)).collect();
        println!("| {} | {} |", o.op, cells.join(" | "));
    }
    println!("\nCells: statements (round trips, counting a second one for each statement not in the prepared-statement cache and MySQL's checkout ping, which is one of the statements); runs that differed are listed as a range.");
}

fn cell(t: &Trips, k: usize) -> String {
    let o = &t.ops[k];
    let (lo, hi) = (
        o.statements.iter().min().copied().unwrap_or(0),
        o.statements.iter().max().copied().unwrap_or(0),
    );
    let n = if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    };
    match o.round_trips(t.backend) {
        Some(rt) => format!("{n} ({rt})"),
        None => n,
    }
}
