//! OpenTelemetry traces over OTLP, configured by the standard variables and off unless
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set (then nothing is installed: no layer, no thread,
//! no extra span fields; the cost of the off state is one relaxed atomic load per
//! request, see [`enabled`]).
//!
//! - `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL. For `http/protobuf` the
//!   exporter appends `/v1/traces` (the OTel rule); for `grpc` it is the server address.
//! - `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` (the default) or `grpc`; anything
//!   else (`http/json` included) is refused at start with exit code 2.
//! - `OTEL_SERVICE_NAME`: the `service.name` resource attribute (default `tradpal`).
//! - The SDK's own `OTEL_BSP_*` variables (batch delay and sizes) and
//!   `OTEL_RESOURCE_ATTRIBUTES` apply as usual.
//!
//! Spans: `request` (HTTP, named `METHOD /route/template`, kind server, joins an incoming
//! W3C `traceparent`), `actor.message` (the actor, the message, the request and
//! correlation ids), `journal.append` (records, the last sequence; open until durable).
//! The request span's `trace_id` field puts the trace id in every log line of the
//! request, and the answer carries `traceparent`.
//!
//! The gRPC exporter (tonic) needs a tokio reactor, and the SDK's batch processor exports
//! from its own thread; [`OnRuntime`] runs each export on a one-worker runtime owned by
//! the exporter. The HTTP exporter uses a blocking client and needs none.
//! [`Telemetry::shutdown`] flushes what is queued and stops the exporter.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The service name when `OTEL_SERVICE_NAME` is unset.
pub const DEFAULT_SERVICE_NAME: &str = "tradpal";
/// How long shutdown waits for the last export.
pub const SHUTDOWN_FLUSH_MS: u64 = 5_000;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether traces are exported (set once at start).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    Grpc,
}

/// What the `OTEL_*` variables ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtelSettings {
    pub endpoint: String,
    pub protocol: Protocol,
    pub service_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTEL_EXPORTER_OTLP_PROTOCOL={0:?} is not supported: use http/protobuf or grpc")]
    Protocol(String),
    #[error("cannot build the OTLP {protocol} exporter for {endpoint}: {why}")]
    Exporter { protocol: &'static str, endpoint: String, why: String },
    #[error("cannot start the OTLP exporter's runtime: {0}")]
    Runtime(std::io::Error),
}

impl OtelSettings {
    /// `None` when no endpoint is set (traces off).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, TelemetryError> {
        let Some(endpoint) = var("OTEL_EXPORTER_OTLP_ENDPOINT").map(|e| e.trim().to_string()).filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        let protocol = match var("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref().map(str::trim) {
            None | Some("") | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("grpc") => Protocol::Grpc,
            Some(other) => return Err(TelemetryError::Protocol(other.to_string())),
        };
        let service_name =
            var("OTEL_SERVICE_NAME").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_SERVICE_NAME.into());
        Ok(Some(OtelSettings { endpoint, protocol, service_name }))
    }

    pub fn from_env() -> Result<Option<Self>, TelemetryError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }
}

/// The installed tracer provider, to flush and stop at shutdown. Inert when traces are off.
#[derive(Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes queued spans and stops the exporter. Call outside async code (the batch
    /// thread is joined).
    pub fn shutdown(self) {
        if let Some(p) = self.provider {
            if let Err(e) = p.shutdown_with_timeout(Duration::from_millis(SHUTDOWN_FLUSH_MS)) {
                eprintln!("warning: traces not flushed at shutdown: {e}");
            }
        }
    }
}

/// Builds the exporter and the provider. Call outside async code.
pub(crate) fn provider(s: &OtelSettings) -> Result<(Telemetry, opentelemetry_sdk::trace::Tracer), TelemetryError> {
    let failed = |protocol: &'static str| {
        let endpoint = s.endpoint.clone();
        move |e: opentelemetry_otlp::ExporterBuildError| TelemetryError::Exporter { protocol, endpoint, why: e.to_string() }
    };
    let resource = Resource::builder().with_service_name(s.service_name.clone()).build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let builder = match s.protocol {
        Protocol::HttpProtobuf => {
            // The endpoint is read from OTEL_EXPORTER_OTLP_ENDPOINT by the exporter, which
            // appends /v1/traces to it.
            let exporter = SpanExporter::builder().with_http().build().map_err(failed("http/protobuf"))?;
            builder.with_batch_exporter(exporter)
        }
        Protocol::Grpc => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otlp-grpc")
                .enable_all()
                .build()
                .map_err(TelemetryError::Runtime)?;
            let rt = Arc::new(rt);
            let inner = {
                let _in_runtime = rt.enter(); // tonic's channel spawns its worker here
                SpanExporter::builder().with_tonic().with_endpoint(s.endpoint.clone()).build().map_err(failed("grpc"))?
            };
            builder.with_batch_exporter(OnRuntime { inner, rt })
        }
    };
    let provider = builder.build();
    let tracer = provider.tracer("tradpal");
    ENABLED.store(true, Ordering::Relaxed);
    Ok((Telemetry { provider: Some(provider) }, tracer))
}

/// An exporter whose exports run on its own tokio runtime (see the module doc).
#[derive(Debug)]
struct OnRuntime {
    inner: SpanExporter,
    rt: Arc<tokio::runtime::Runtime>,
}

impl opentelemetry_sdk::trace::SpanExporter for OnRuntime {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        // The SDK calls this from its batch thread, outside any runtime.
        self.rt.block_on(self.inner.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _in_runtime = self.rt.enter();
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The W3C `traceparent` of a span's context, or `None` when it has none.
pub fn traceparent(span: &tracing::Span) -> Option<(String, String)> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if !sc.is_valid() {
        return None;
    }
    let trace_id = sc.trace_id().to_string();
    let header = format!("00-{}-{}-{:02x}", trace_id, sc.span_id(), sc.trace_flags().to_u8());
    Some((trace_id, header))
}

/// Makes `span` a child of the caller's trace when the request carries `traceparent`.
pub fn join_remote_parent(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use opentelemetry::propagation::TextMapPropagator as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    struct Headers<'a>(&'a axum::http::HeaderMap);
    impl opentelemetry::propagation::Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }
    if headers.contains_key("traceparent") {
        let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&Headers(headers));
        let _ = span.set_parent(cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn off_without_an_endpoint() {
        assert_eq!(OtelSettings::from_vars(vars(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])).unwrap(), None);
        assert_eq!(OtelSettings::from_vars(vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])).unwrap(), None);
    }

    #[test]
    fn protocols_and_service_name() {
        let s = OtelSettings::from_vars(vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")])).unwrap().unwrap();
        assert_eq!((s.protocol, s.service_name.as_str()), (Protocol::HttpProtobuf, DEFAULT_SERVICE_NAME));
        let s = OtelSettings::from_vars(vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "desk-7"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((s.protocol, s.service_name.as_str()), (Protocol::Grpc, "desk-7"));
        let e = OtelSettings::from_vars(vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "x"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]));
        assert!(e.unwrap_err().to_string().contains("http/json"), "names the refused value");
    }
}
