//! Logs: tracing to stderr, text or JSON lines, level from `LOG_LEVEL`; and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, the same spans exported as OpenTelemetry traces
//! (`telemetry.rs`). With traces on, the request span also carries `trace_id`, so every
//! line logged while serving a request names its trace.
//!
//! HTTP requests run inside a span carrying `request_id`, so every line logged while
//! serving a request names it (JSON lines include the span fields). The access log is
//! target `access` (see `http::observe`).
//!
//! JSON keys are unique: tracing-subscriber writes a span as its fields followed by
//! `"name": <span name>`, so a span with a field called `name` (ractor's `Actor` span
//! has `id` and `name`, the actor's name) gave `{"name":"market_data","name":"Actor"}`,
//! which strict parsers refuse and lenient ones resolve by dropping one. Span fields go
//! through [`SpanFields`], which writes such a field as `name_field`.

use crate::telemetry::{OtelSettings, Telemetry, TelemetryError};
use std::fmt;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::FormattedFields;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};
use tradpal_config::{LogFormat, LogSettings};

/// What a span field called `name` is written as in JSON lines.
pub const RENAMED_NAME_FIELD: &str = "name_field";

/// Installs the global subscriber. `RUST_LOG`, if set, overrides `LOG_LEVEL` for
/// per-crate filters (e.g. `RUST_LOG=tradpal_journal=debug`, `RUST_LOG=info,access=off`).
/// With `otel`, spans are also exported (call outside async code); the returned
/// [`Telemetry`] flushes them at shutdown.
pub fn init(log: &LogSettings, otel: Option<&OtelSettings>) -> Result<Telemetry, TelemetryError> {
    let filter = std::env::var("RUST_LOG").ok().and_then(|v| EnvFilter::try_new(v).ok()).unwrap_or_else(|| {
        EnvFilter::new(format!("{},sled=warn,hyper=warn,h2=warn,tonic=warn,opentelemetry_sdk=warn", log.level.as_str()))
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    // Each layer has its own filter: LOG_LEVEL decides what is logged, not what is traced.
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match log.format {
        LogFormat::Json => fmt.json().with_current_span(true).with_span_list(false).fmt_fields(SpanFields).with_filter(filter).boxed(),
        LogFormat::Text => fmt.with_filter(filter).boxed(),
    };
    let (telemetry, traces) = match otel {
        Some(settings) => {
            let (telemetry, tracer) = crate::telemetry::provider(settings)?;
            (telemetry, Some(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(EnvFilter::new(TRACED))))
        }
        None => (Telemetry::default(), None),
    };
    // A second init (tests start several services in one process) keeps the first one.
    let _ = tracing_subscriber::registry().with(fmt).with(traces).try_init();
    Ok(telemetry)
}

/// What becomes a trace span, whatever `LOG_LEVEL` says: TradPal's spans at info and
/// above; not the actors' lifetime spans (ractor), not the exporter's own HTTP/2 and
/// HTTP client spans (which would trace the export of traces).
pub const TRACED: &str =
    "info,ractor=off,h2=off,hyper=off,hyper_util=off,tonic=off,tower=off,reqwest=off,opentelemetry=off,opentelemetry_sdk=off,opentelemetry_http=off,opentelemetry_otlp=off,sled=off";

/// tracing-subscriber's JSON span fields, with a field called `name` renamed so that it
/// cannot collide with the span's own `name` key.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpanFields;

impl SpanFields {
    /// The JSON object of `fields`, merged over `current` (a span's earlier fields).
    fn merged<R: RecordFields>(current: &str, fields: R) -> Result<String, fmt::Error> {
        let mut fresh = String::new();
        JsonFields::new().format_fields(Writer::new(&mut fresh), fields)?;
        if current.is_empty() && !fresh.contains("\"name\"") {
            return Ok(fresh); // the common case: nothing to merge or rename
        }
        let object = |text: &str| -> Result<serde_json::Map<String, serde_json::Value>, fmt::Error> {
            if text.is_empty() {
                return Ok(serde_json::Map::new());
            }
            serde_json::from_str(text).map_err(|_| fmt::Error)
        };
        let mut map = object(current)?;
        for (k, v) in object(&fresh)? {
            let k = if k == "name" { RENAMED_NAME_FIELD.to_string() } else { k };
            map.insert(k, v);
        }
        serde_json::to_string(&map).map_err(|_| fmt::Error)
    }
}

impl<'writer> FormatFields<'writer> for SpanFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let text = Self::merged("", fields)?;
        writer.write_str(&text)
    }

    fn add_fields(&self, current: &'writer mut FormattedFields<Self>, fields: &tracing::span::Record<'_>) -> fmt::Result {
        current.fields = Self::merged(&current.fields, fields)?;
        Ok(())
    }
}
