//! Settings: defaults, then the TOML file, then `SCIM_BRIDGE__SECTION__KEY` environment
//! variables (how systemd units and containers set them).
//!
//! Relative paths (the mapping file, a SQLite database) are resolved against the directory of
//! the config file, so the service behaves the same whatever its working directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use crate::store::{DbOptions, DbUrl};

pub const ENV_PREFIX: &str = "SCIM_BRIDGE";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot load configuration: {0}")]
    Load(String),
    #[error("{key} = {value}: {problem}; {fix}")]
    Invalid {
        key: &'static str,
        value: String,
        problem: String,
        fix: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: String,
    pub base_path: String,
    /// Public base URL for `meta.location`, e.g. `https://helpdesk.example.com/scim/v2`.
    /// Empty: derived from the request's Host header.
    #[serde(default)]
    pub public_url: String,
    pub body_limit_bytes: u64,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    /// Open client connections, all clients together; past it new connections are closed at
    /// once. Keep the open-file limit (systemd `LimitNOFILE=`) well above it.
    pub max_connections: usize,
    /// Open connections from one client address (the TCP peer), so one client cannot take
    /// them all. Behind a reverse proxy every connection comes from the proxy's address.
    pub max_connections_per_address: usize,
    /// A new connection must deliver its first request's headers within this (TLS handshake,
    /// HTTP/1-or-2 detection and the HTTP/2 preface included).
    pub header_timeout_secs: u64,
    /// A connection with no request in progress for this long is closed (HTTP/1.1 keep-alive,
    /// HTTP/2 without open streams); the next request's headers must arrive within it.
    pub idle_timeout_secs: u64,
    /// PEM certificate chain and private key for TLS termination; both empty = plain HTTP
    /// (behind a reverse proxy). Re-read on SIGHUP.
    pub tls_cert_file: String,
    pub tls_key_file: String,
}

/// The database URL; its `Debug` never shows a password.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(pub String);

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::store::redact(&self.0))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretUrl,
    /// Connections requests share (SQLite: readers); 0 (the default) derives it from the
    /// backend, the CPUs and the server's `max_connections` (`store/pool_size.rs`).
    pub pool_size: usize,
    pub acquire_timeout_ms: u64,
    pub migrate_on_start: bool,
    /// Create the demo helpdesk SQLite database when the file is missing. Demo only.
    pub create_demo: bool,
    pub sqlite_wal: bool,
    pub sqlite_busy_timeout_ms: u64,
    /// How long `serve` keeps retrying an unreachable database at start-up.
    pub startup_retry_secs: u64,
}

/// Request limits (see `http/limits.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Failed authentications per second (and burst) per client address; once over, that
    /// address's failing requests get 429 instead of 401. Requests with a valid token are never
    /// counted or refused. 0 per second switches it off.
    pub failed_auth_per_second: u32,
    pub failed_auth_burst: u32,
    /// Requests of one token handled at once; 0 (the default) = twice the pool the bridge
    /// runs with (`database.pool_size`, or the size derived from the backend).
    pub per_token_in_flight: usize,
    /// Requests of one token waiting for a slot; past it, 429.
    pub per_token_queue: usize,
    /// Longest wait for a slot before 429 (never more than half the request timeout).
    pub per_token_queue_timeout_ms: u64,
    /// A plain rate limit per token; 0 per second (the default) switches it off.
    pub per_token_per_second: u32,
    pub per_token_burst: u32,
    /// Take the client address from the last `X-Forwarded-For` entry (behind a reverse proxy
    /// that sets it). Off by default: otherwise any client could claim any address.
    pub trust_forwarded_for: bool,
    /// Replaced keys, accepted by the parser only to be refused with the new key's name.
    #[serde(default)]
    per_address_per_second: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    per_address_burst: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Address for Prometheus `GET /metrics`; empty switches it off. Keep it private.
    pub listen: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSettings {
    pub file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `scim_bridge=debug`; `RUST_LOG` overrides it.
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub mapping: MappingSettings,
    pub limits: LimitSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    /// Directory of the config file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

const DEFAULTS: &str = r#"
[server]
listen = "127.0.0.1:8080"
base_path = "/scim/v2"
public_url = ""
body_limit_bytes = 1048576
request_timeout_secs = 30
shutdown_grace_secs = 20
max_connections = 2048
max_connections_per_address = 256
header_timeout_secs = 10
idle_timeout_secs = 75
tls_cert_file = ""
tls_key_file = ""
[database]
url = "sqlite://data/helpdesk-demo.db"
pool_size = 0
acquire_timeout_ms = 5000
migrate_on_start = true
create_demo = false
sqlite_wal = false
sqlite_busy_timeout_ms = 5000
startup_retry_secs = 60
[mapping]
file = "mappings/demo.toml"
[limits]
failed_auth_per_second = 10
failed_auth_burst = 20
per_token_in_flight = 0
per_token_queue = 256
per_token_queue_timeout_ms = 5000
per_token_per_second = 0
per_token_burst = 0
trust_forwarded_for = false
[metrics]
listen = ""
[log]
format = "pretty"
level = "info"
"#;

impl Settings {
    /// Loads defaults, the file at `path`, then the environment, and validates the result.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key, the bad value and the fix.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let mut b = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if path.exists() {
            b = b.add_source(File::from(path).format(FileFormat::Toml));
        } else {
            return Err(ConfigError::Load(format!(
                "config file {} does not exist; pass --config PATH or create it from the repository's config.toml",
                path.display()
            )));
        }
        b = b.add_source(
            Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        let cfg = b.build().map_err(|e| ConfigError::Load(e.to_string()))?;
        let mut s: Settings = cfg
            .try_deserialize()
            .map_err(|e| ConfigError::Load(explain(e.to_string())))?;
        s.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        s.validate()?;
        Ok(s)
    }

    /// Checks every section; the first problem found is the error.
    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_server()?;
        self.validate_connections()?;
        self.validate_database()?;
        self.validate_limits()?;
        self.validate_metrics()?;
        self.validate_log()
    }

    /// `[server]`: where it listens and what requests look like.
    fn validate_server(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let bp = &self.server.base_path;
        if !bp.starts_with('/')
            || bp.contains(['?', '#', ' ', '_'])
            || (bp.len() > 1 && bp.ends_with('/'))
        {
            return Err(ConfigError::Invalid {
                key: "server.base_path",
                value: format!("{bp:?}"),
                problem: "not a usable URL path (Okta rejects base URLs containing '_')".into(),
                fix: "use an absolute path without a trailing slash, such as \"/scim/v2\"".into(),
            });
        }
        let pu = &self.server.public_url;
        if !(pu.is_empty() || pu.starts_with("https://") || pu.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                key: "server.public_url",
                value: format!("{pu:?}"),
                problem: "not an http(s) URL".into(),
                fix: "use the URL the identity provider calls, e.g. \"https://helpdesk.example.com/scim/v2\", or leave it empty".into(),
            });
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "server.body_limit_bytes",
                value: self.server.body_limit_bytes.to_string(),
                problem: "too small for any SCIM request".into(),
                fix: "use at least 1024; the default is 1048576 (1 MiB)".into(),
            });
        }
        if self.server.request_timeout_secs == 0 || self.server.request_timeout_secs > 55 {
            return Err(ConfigError::Invalid {
                key: "server.request_timeout_secs",
                value: self.server.request_timeout_secs.to_string(),
                problem: "must be between 1 and 55 seconds (Okta gives up after 60)".into(),
                fix: "use e.g. 30".into(),
            });
        }
        Ok(())
    }

    /// `[server]`: connection caps, connection timeouts and TLS.
    fn validate_connections(&self) -> Result<(), ConfigError> {
        if self.server.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "server.max_connections",
                value: "0".into(),
                problem: "no connection could ever be served".into(),
                fix: "use at least 1; the default is 2048".into(),
            });
        }
        if self.server.max_connections_per_address == 0
            || self.server.max_connections_per_address > self.server.max_connections
        {
            return Err(ConfigError::Invalid {
                key: "server.max_connections_per_address",
                value: self.server.max_connections_per_address.to_string(),
                problem: format!(
                    "must be between 1 and server.max_connections ({})",
                    self.server.max_connections
                ),
                fix: "the default is 256; behind a reverse proxy (one address for every client) set it to server.max_connections".into(),
            });
        }
        for (key, value, max) in [
            (
                "server.header_timeout_secs",
                self.server.header_timeout_secs,
                300,
            ),
            (
                "server.idle_timeout_secs",
                self.server.idle_timeout_secs,
                3600,
            ),
        ] {
            if value == 0 || value > max {
                return Err(ConfigError::Invalid {
                    key,
                    value: value.to_string(),
                    problem: format!("must be between 1 and {max} seconds"),
                    fix: "the defaults are header_timeout_secs = 10 and idle_timeout_secs = 75"
                        .into(),
                });
            }
        }
        if self.server.tls_cert_file.is_empty() != self.server.tls_key_file.is_empty() {
            return Err(ConfigError::Invalid {
                key: "server.tls_cert_file",
                value: format!("{:?} with tls_key_file = {:?}", self.server.tls_cert_file, self.server.tls_key_file),
                problem: "TLS needs both a certificate and a key".into(),
                fix: "set both server.tls_cert_file and server.tls_key_file, or neither (plain HTTP behind a reverse proxy)".into(),
            });
        }
        Ok(())
    }

    /// `[database]`.
    fn validate_database(&self) -> Result<(), ConfigError> {
        self.db_url()?;
        if self.database.pool_size > 256 {
            return Err(ConfigError::Invalid {
                key: "database.pool_size",
                value: self.database.pool_size.to_string(),
                problem: "must be between 0 and 256".into(),
                fix: "use 0 (the default: derived from the backend and the CPUs, at most 16; `scim-bridge check` prints the result), or the number of connections you want".into(),
            });
        }
        Ok(())
    }

    /// `[metrics]`.
    fn validate_metrics(&self) -> Result<(), ConfigError> {
        if !self.metrics.listen.is_empty() && self.metrics.listen.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::Invalid {
                key: "metrics.listen",
                value: format!("{:?}", self.metrics.listen),
                problem: "not an IP address and port".into(),
                fix: "use e.g. \"127.0.0.1:9898\", or \"\" to switch metrics off".into(),
            });
        }
        Ok(())
    }

    /// `[log]`.
    fn validate_log(&self) -> Result<(), ConfigError> {
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            return Err(ConfigError::Invalid {
                key: "log.format",
                value: format!("{:?}", self.log.format),
                problem: "unknown log format".into(),
                fix: "use \"pretty\" or \"json\"".into(),
            });
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::Invalid {
                key: "log.level",
                value: format!("{:?}", self.log.level),
                problem: e.to_string(),
                fix: "use a level such as \"info\" or \"debug\", or a filter such as \"scim_bridge=debug,info\"".into(),
            });
        }
        Ok(())
    }

    fn validate_limits(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        for (key, new_key, present) in [
            (
                "limits.per_address_per_second",
                "limits.failed_auth_per_second",
                l.per_address_per_second.is_some(),
            ),
            (
                "limits.per_address_burst",
                "limits.failed_auth_burst",
                l.per_address_burst.is_some(),
            ),
        ] {
            if present {
                return Err(ConfigError::Invalid {
                    key,
                    value: "(set)".into(),
                    problem: format!(
                        "this key was replaced by {new_key}, which counts only failed authentications per address, so the identity provider's own requests never meet it"
                    ),
                    fix: format!(
                        "rename it to {new_key} (defaults: failed_auth_per_second = 10, failed_auth_burst = 20); the per-token rate limit is now off by default and requests per token are limited by limits.per_token_in_flight instead"
                    ),
                });
            }
        }
        for (key, per_second, burst) in [
            (
                "limits.failed_auth_burst",
                l.failed_auth_per_second,
                l.failed_auth_burst,
            ),
            (
                "limits.per_token_burst",
                l.per_token_per_second,
                l.per_token_burst,
            ),
        ] {
            if per_second > 0 && burst == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    value: "0".into(),
                    problem: "a limit with a rate needs a burst of at least 1".into(),
                    fix: "set it to at least the per-second rate (e.g. twice it), or set the rate to 0 to switch the limit off".into(),
                });
            }
        }
        if l.per_token_in_flight > 4096 {
            return Err(ConfigError::Invalid {
                key: "limits.per_token_in_flight",
                value: l.per_token_in_flight.to_string(),
                problem: "must be between 0 and 4096".into(),
                fix: "use 0 (twice the pool size, the default), or a number near the database connections the bridge may use".into(),
            });
        }
        if l.per_token_queue > 100_000 {
            return Err(ConfigError::Invalid {
                key: "limits.per_token_queue",
                value: l.per_token_queue.to_string(),
                problem: "must be between 0 and 100000".into(),
                fix: "the default is 256; each waiting request holds a connection, so more than server.max_connections cannot wait anyway".into(),
            });
        }
        if l.per_token_queue_timeout_ms == 0 || l.per_token_queue_timeout_ms > 60_000 {
            return Err(ConfigError::Invalid {
                key: "limits.per_token_queue_timeout_ms",
                value: l.per_token_queue_timeout_ms.to_string(),
                problem: "must be between 1 and 60000 milliseconds".into(),
                fix: "the default is 5000; a queued request waits at most half of server.request_timeout_secs in any case".into(),
            });
        }
        Ok(())
    }

    /// Requests of one token handled at once: `limits.per_token_in_flight`, or when it is 0,
    /// twice `pool`, the size of the pool the bridge runs with (`database.pool_size`, or the
    /// size derived from the backend when that is 0, known once connected: `Db::pool_size`).
    /// Each request needs a database connection for most of its time, so twice the pool keeps
    /// every connection busy (while some requests parse, check their token or send their
    /// answer) without admitting requests that could only wait for a connection. With SQLite,
    /// writes share one writer connection and queue for it inside.
    pub fn token_in_flight(&self, pool: usize) -> usize {
        match self.limits.per_token_in_flight {
            0 => 2 * pool,
            n => n,
        }
    }

    /// How long a request may wait for one of its token's slots: `per_token_queue_timeout_ms`,
    /// capped at half of `server.request_timeout_secs` so that a queued request is answered
    /// 429 (retry later) rather than 503 (timed out).
    pub fn token_queue_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.per_token_queue_timeout_ms)
            .min(Duration::from_secs(self.server.request_timeout_secs) / 2)
    }

    /// # Errors
    /// When `server.listen` is not `HOST:PORT`.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| ConfigError::Invalid {
            key: "server.listen",
            value: format!("{:?}", self.server.listen),
            problem: "not an IP address and port".into(),
            fix: "use HOST:PORT such as \"127.0.0.1:8080\" (or \"0.0.0.0:8080\" to listen on every interface)".into(),
        })
    }

    /// The database URL with a relative SQLite path resolved against the config directory.
    ///
    /// # Errors
    /// When the scheme is unknown.
    pub fn db_url(&self) -> Result<DbUrl, ConfigError> {
        let url = DbUrl::parse(&self.database.url.0).map_err(|problem| ConfigError::Invalid {
            key: "database.url",
            value: format!("{:?}", crate::store::redact(&self.database.url.0)),
            problem,
            fix: "set database.url (or SCIM_BRIDGE__DATABASE__URL) to the application's database"
                .into(),
        })?;
        Ok(match url {
            DbUrl::Sqlite(p) if p.is_relative() => DbUrl::Sqlite(self.base_dir.join(p)),
            other => other,
        })
    }

    /// The TLS certificate and key paths, resolved against the config directory, when set.
    pub fn tls_paths(&self) -> Option<(PathBuf, PathBuf)> {
        if self.server.tls_cert_file.is_empty() {
            return None;
        }
        let resolve = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_relative() {
                self.base_dir.join(p)
            } else {
                p
            }
        };
        Some((
            resolve(&self.server.tls_cert_file),
            resolve(&self.server.tls_key_file),
        ))
    }

    pub fn mapping_path(&self) -> PathBuf {
        if self.mapping.file.is_relative() {
            self.base_dir.join(&self.mapping.file)
        } else {
            self.mapping.file.clone()
        }
    }

    pub fn db_options(&self) -> DbOptions {
        DbOptions {
            pool_size: self.database.pool_size,
            acquire_timeout: Duration::from_millis(self.database.acquire_timeout_ms),
            sqlite_wal: self.database.sqlite_wal,
            sqlite_busy_timeout: Duration::from_millis(self.database.sqlite_busy_timeout_ms),
        }
    }
}

/// Adds the fix to serde's terse messages.
fn explain(msg: String) -> String {
    if msg.contains("unknown field") {
        format!("{msg}; remove the key or correct its spelling (see config.toml in the repository for every key)")
    } else if msg.contains("invalid type") || msg.contains("invalid digit") {
        format!("{msg}; check the value's type (numbers unquoted, true/false for switches)")
    } else {
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn load(text: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        Settings::load(&p)
    }

    #[test]
    fn repository_config_is_valid_and_complete() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml")).unwrap();
        let s = load(&text).unwrap();
        assert_eq!(s.server.base_path, "/scim/v2");
        assert!(s.database.create_demo);
        // The shipped file documents every key the defaults define.
        for line in DEFAULTS.lines().filter(|l| l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap();
            assert!(
                text.contains(&format!("\n{key} =")),
                "config.toml does not document {key}"
            );
        }
    }

    #[test]
    fn errors_name_key_value_and_fix() {
        let e = load("[server]\nlisten = \"localhost\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("server.listen") && e.contains("localhost") && e.contains("HOST:PORT"),
            "{e}"
        );
        let e = load("[database]\nurl = \"sqlit://x.db\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("database.url") && e.contains("sqlite://"), "{e}");
        let e = load("[server]\nlisen = \"1\"\n").unwrap_err().to_string();
        assert!(e.contains("lisen"), "{e}");
        let e = load("[log]\nformat = \"xml\"\n").unwrap_err().to_string();
        assert!(e.contains("log.format") && e.contains("json"), "{e}");
        let e = load("[server]\nbase_path = \"/scim_v2\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.base_path"), "{e}");
        let e = load("[server]\nmax_connections = 100\nmax_connections_per_address = 200\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("server.max_connections_per_address") && e.contains("reverse proxy"),
            "{e}"
        );
        let e = load("[server]\nidle_timeout_secs = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.idle_timeout_secs"), "{e}");
    }

    #[test]
    fn limits_replaced_keys_name_their_successor() {
        for (old, new) in [
            (
                "per_address_per_second = 50",
                "limits.failed_auth_per_second",
            ),
            ("per_address_burst = 200", "limits.failed_auth_burst"),
        ] {
            let e = load(&format!("[limits]\n{old}\n")).unwrap_err().to_string();
            assert!(e.contains(new) && e.contains("rename"), "{e}");
        }
        let e = load("[limits]\nper_token_per_second = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limits.per_token_burst"), "{e}");
        let e = load("[limits]\nper_token_queue_timeout_ms = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limits.per_token_queue_timeout_ms"), "{e}");
        let e = load("[limits]\nper_token_in_flight = 100000\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limits.per_token_in_flight"), "{e}");
    }

    #[test]
    fn token_concurrency_is_sized_from_the_pool() {
        let s = load("[database]\npool_size = 6\n").unwrap();
        assert_eq!(s.db_options().pool_size, 6);
        assert_eq!(s.token_in_flight(6), 12);
        assert_eq!(s.limits.per_token_per_second, 0, "the rate limit is off");
        let s = load("[limits]\nper_token_in_flight = 3\n").unwrap();
        assert_eq!(s.token_in_flight(10), 3);
        // The queue wait stays under the request timeout.
        assert_eq!(s.token_queue_timeout(), Duration::from_secs(5));
        let s = load("[server]\nrequest_timeout_secs = 2\n").unwrap();
        assert_eq!(s.token_queue_timeout(), Duration::from_secs(1));
    }

    #[test]
    fn pool_size_is_derived_unless_written() {
        // 0 reaches the store, which derives the size from the backend (store/pool_size.rs).
        let s = load("").unwrap();
        assert_eq!(s.db_options().pool_size, 0);
        let s = load("[database]\npool_size = 256\n").unwrap();
        assert_eq!(s.db_options().pool_size, 256);
        let e = load("[database]\npool_size = 257\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("database.pool_size") && e.contains("use 0") && e.contains("derived"),
            "{e}"
        );
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let s = load("[database]\nurl = \"sqlite://data/x.db\"\n").unwrap();
        match s.db_url().unwrap() {
            DbUrl::Sqlite(p) => assert!(p.ends_with("data/x.db") && p.is_absolute(), "{p:?}"),
            _ => panic!(),
        }
        assert!(s.mapping_path().is_absolute());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = load("[database]\nurl = \"postgres://app:hunter2@db/helpdesk\"\n").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
