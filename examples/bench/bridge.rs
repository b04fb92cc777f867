//! The bridge under test: the release binary built and started as its own process (so its
//! RSS and CPU time are the bridge's alone), and an HTTP client speaking to it.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::REPO;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub struct Bridge {
    child: Child,
    base: String,
    token: String,
    client: HttpClient,
    log: Option<Mutex<Receiver<String>>>,
    pub ready_ms: f64,
}

impl Bridge {
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Bytes) {
        let (status, body, _) = self.call_traced(method, path, body).await;
        (status, body)
    }

    /// As `call`, also returning the request id the bridge logged the request under.
    pub async fn call_traced(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Bytes, String) {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token));
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/scim+json");
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        match self.client.request(b.body(body).unwrap()).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let rid = resp
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .map(http_body_util::Collected::to_bytes)
                    .unwrap_or_default();
                (status, body, rid)
            }
            Err(_) => (0, Bytes::new(), String::new()),
        }
    }

    /// The bridge's log lines, when it was started with a log filter of the benchmark's.
    pub fn log(&self) -> Option<&Mutex<Receiver<String>>> {
        self.log.as_ref()
    }

    /// Peak resident memory of the bridge process (VmHWM), in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|k| k.parse::<f64>().ok())
                })
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// CPU seconds (user + system) the bridge process has used so far.
    pub fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is 14th, stime 15th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<f64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let ticks = 100.0; // sysconf(_SC_CLK_TCK) on Linux
        f.get(11)
            .zip(f.get(12))
            .map_or(0.0, |(u, s)| (u + s) / ticks)
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Builds the release binary (the benchmark measures what operators run) and returns its
/// path (`BENCH_BIN` names one instead): under `CARGO_TARGET_DIR` when that is set, as cargo itself does, else `target/`.
pub fn build_binary() -> String {
    // An already built binary: building `--bin` after the example switches dev-dependency
    // features and rebuilds much of the tree.
    if let Ok(bin) = std::env::var("BENCH_BIN") {
        return bin;
    }
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "scim-bridge"])
        .current_dir(REPO)
        .status()
        .expect("cargo build");
    assert!(status.success(), "cargo build --release failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(
            || Path::new(REPO).join("target"),
            |t| {
                if t.is_relative() {
                    Path::new(REPO).join(t)
                } else {
                    t
                }
            },
        );
    target
        .join("release/scim-bridge")
        .to_string_lossy()
        .into_owned()
}

/// An installed bridge, not yet serving: its config file and a token. Installing runs the
/// bridge's migrations, so the raw create-shaped ceiling can write `scim_users` and
/// `scim_audit` before the bridge starts.
pub struct Installed {
    config: PathBuf,
    token: String,
}

pub fn install(bin: &str, dir: &Path, db_url: &str, pool: Option<usize>) -> Installed {
    let config = dir.join("bench.toml");
    // No pool_size line: the bridge's own default for the backend (BENCH_POOL overrides).
    let pool = pool.map_or(String::new(), |p| format!("pool_size = {p}\n"));
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{db_url}\"\n{pool}acquire_timeout_ms = 30000\n[mapping]\nfile = \"{REPO}/mappings/demo.toml\"\n[limits]\nper_token_per_second = 1000000\nper_token_burst = 1000000\n[log]\nformat = \"json\"\nlevel = \"info\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args(["token", "create", "--name", "bench"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    Installed { config, token }
}

/// Starts `serve`; "ready" is measured from here to the log line that announces it. With
/// `rust_log` (a tracing filter), the bridge logs under it and its lines after "ready" are
/// kept for [`Bridge::log`]; otherwise its own `RUST_LOG` is cleared and the lines dropped.
pub fn start(bin: &str, installed: Installed, rust_log: Option<&str>) -> Bridge {
    let started = Instant::now();
    let mut cmd = Command::new(bin);
    cmd.arg("--config").arg(&installed.config).arg("serve");
    match rust_log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("scim-bridge ready") {
            let v: Value = serde_json::from_str(&line).unwrap();
            addr = v["listen"].as_str().unwrap().to_string();
            break;
        }
    }
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(!addr.is_empty(), "the bridge did not start");
    let (tx, rx) = channel();
    let keep = rust_log.is_some();
    std::thread::spawn(move || {
        // Read to the end either way, so the bridge never blocks on a full pipe.
        for line in lines.map_while(Result::ok) {
            if keep {
                let _ = tx.send(line);
            }
        }
    });
    Bridge {
        child,
        base: format!("http://{addr}/scim/v2"),
        token: installed.token,
        client: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(128)
            .build_http(),
        log: keep.then(|| Mutex::new(rx)),
        ready_ms,
    }
}
