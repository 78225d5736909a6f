//! Logs: tracing to stderr, text or JSON lines, level from `LOG_LEVEL`.
//!
//! HTTP requests run inside a span carrying `request_id`, so every line logged while
//! serving a request names it (JSON lines include the span fields).

use tracing_subscriber::EnvFilter;
use tradpal_config::{LogFormat, LogSettings};

/// Installs the global subscriber. `RUST_LOG`, if set, overrides `LOG_LEVEL` for
/// per-crate filters (e.g. `RUST_LOG=tradpal_journal=debug`).
pub fn init(log: &LogSettings) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("{},sled=warn,hyper=warn", log.level.as_str())));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let result = match log.format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second init (tests start several services in one process) keeps the first one.
    let _ = result;
}
