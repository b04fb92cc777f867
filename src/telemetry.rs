//! Logging set-up: pretty or JSON lines on stderr, filter from config unless `RUST_LOG` is set.
//!
//! JSON lines carry the fields of the span they were logged in (a request's `request_id`,
//! `method` and `route`) under `"span"`, so every line of a request — the request line and any
//! warning logged while serving it — can be joined by its request id, as the pretty format
//! shows them as `request{request_id=… method=… route=…}`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A lost log stream (journald restarted, the pipe closed) must not cost answers: by
        // default a failed write is reported with `eprintln!`, which panics when stderr is
        // gone — every request then died with an empty reply.
        .log_internal_errors(false)
        .with_target(false)
        .with_ansi(ansi);
    let _ = if format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
}
