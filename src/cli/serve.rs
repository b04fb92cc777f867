use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing::info;

use crate::config::Settings;
use crate::http::{self, HttpSettings, State};

pub fn http_settings(settings: &Settings) -> HttpSettings {
    HttpSettings {
        base_path: settings.server.base_path.clone(),
        public_url: Some(settings.server.public_url.clone()).filter(|u| !u.is_empty()),
        body_limit: settings.server.body_limit_bytes,
        request_timeout: Duration::from_secs(settings.server.request_timeout_secs),
        trust_forwarded_for: settings.limits.trust_forwarded_for,
        connections: http::ConnectionSettings {
            max_total: settings.server.max_connections,
            max_per_address: settings.server.max_connections_per_address,
            header_timeout: Duration::from_secs(settings.server.header_timeout_secs),
            idle_timeout: Duration::from_secs(settings.server.idle_timeout_secs),
        },
    }
}

/// The limits configured under `[limits]`; the concurrency per token is sized from `pool`, the
/// size of the pool the bridge runs with (`Db::pool_size`).
pub fn limits(settings: &Settings, pool: usize) -> crate::http::limits::Limits {
    use crate::http::limits::{Admission, LimitConfig, Limits, Rate};
    let l = &settings.limits;
    Limits::new(LimitConfig {
        failed_auth: Rate {
            per_second: l.failed_auth_per_second,
            burst: l.failed_auth_burst,
        },
        admission: Admission {
            in_flight: settings.token_in_flight(pool),
            queue: l.per_token_queue,
            queue_timeout: settings.token_queue_timeout(),
        },
        token_rate: Rate {
            per_second: l.per_token_per_second,
            burst: l.per_token_burst,
        },
    })
}

pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let app = super::prepare(
        settings,
        Duration::from_secs(settings.database.startup_retry_secs),
    )
    .await?;
    let pool = app.db.pool_size().clone();
    // Past the open-file limit accept fails (EMFILE) instead of refusing over the cap.
    if let Some(w) = http::connections::fd_limit_warning(
        settings.server.max_connections,
        pool.size as u64 * 2,
        http::connections::open_file_limit(),
    ) {
        tracing::warn!("{w}");
    }
    let addr = settings.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (server.listen)"))?;
    let state = Arc::new(State {
        app: app.into(),
        http: http_settings(settings),
        limits: limits(settings, pool.size),
        metrics: Default::default(),
    });
    if !settings.metrics.listen.is_empty() {
        let addr: std::net::SocketAddr = settings.metrics.listen.parse()?;
        let ml = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (metrics.listen)"))?;
        info!(metrics = %addr, "metrics at /metrics");
        tokio::spawn(crate::http::metrics::serve(ml, state.clone()));
    }
    let tls = match settings.tls_paths() {
        None => None,
        Some((cert, key)) => Some(Arc::new(
            crate::http::tls::Tls::new(cert, key)
                .context("server.tls_cert_file / server.tls_key_file")?,
        )),
    };
    // SIGHUP (`systemctl reload`) re-reads the TLS files and the mapping; never the default
    // action of ending the process.
    #[cfg(unix)]
    {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("installing the SIGHUP handler")?;
        let (tls, state, settings) = (tls.clone(), Arc::clone(&state), settings.clone());
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                reload(tls.as_deref(), &state, &settings).await;
            }
        });
    }
    info!(
        listen = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        base_path = %settings.server.base_path,
        database = ?settings.db_url()?,
        mapping = %settings.mapping_path().display(),
        table = %state.app.load().users.table,
        tls = tls.is_some(),
        pool_size = pool.size,
        pool_rule = %pool.why,
        requests_per_token = settings.token_in_flight(pool.size),
        queue_per_token = settings.limits.per_token_queue,
        "scim-bridge ready"
    );
    // systemd (Type=notify): ready only now — database reachable, migrations current, mapping
    // valid, socket bound. A no-op outside systemd.
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let mut watchdog_usec = 0;
    if sd_notify::watchdog_enabled(false, &mut watchdog_usec) {
        let every = Duration::from_micros(watchdog_usec / 2);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            }
        });
    }
    http::serve_with_tls(
        listener,
        state,
        shutdown_signal(),
        Duration::from_secs(settings.server.shutdown_grace_secs),
        tls,
    )
    .await;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("SIGINT received"),
        () = term => info!("SIGTERM received"),
    }
}

/// What SIGHUP re-reads: the TLS files, then the mapping — validated against the live schema
/// first, as at start; a file that fails keeps the previous certificate or mapping serving,
/// and the log says why.
#[cfg(unix)]
async fn reload(tls: Option<&crate::http::tls::Tls>, state: &State, settings: &Settings) {
    if let Some(t) = tls {
        match t.reload() {
            Ok(()) => info!("SIGHUP: TLS certificate reloaded"),
            Err(e) => {
                tracing::error!(cause = %e, "SIGHUP: TLS certificate not reloaded; the previous one stays in use");
            }
        }
    }
    let current = state.app.load();
    match super::load_mapping(settings, &current.db).await {
        Ok(users) => {
            let table = users.table.clone();
            state.app.replace(current.with_users(users));
            info!(mapping = %settings.mapping_path().display(), table = %table, "SIGHUP: mapping reloaded; new requests use it");
        }
        Err(e) => {
            tracing::error!(mapping = %settings.mapping_path().display(), cause = %e, "SIGHUP: mapping not reloaded; the previous one keeps serving");
        }
    }
}
