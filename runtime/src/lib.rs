//! Wiring: the pieces that turn cores and actors into a running service.
//!
//! # Layout
//!
//! - `clock.rs`: the wall clock (the only place that reads system time for cores).
//! - `bus.rs`: the in-process event bus (journaled events fan out to subscribers).
//! - `supervisor.rs`: the supervision tree: restarts with back-off and a budget.
//! - `service.rs`: [`Runtime`]: opens the journal, records the start, spawns the tree;
//!   shuts it down in order.
//! - `keys.rs`: API keys: configured ones, or a generated admin key in the data dir.
//! - `tokens.rs`: API tokens (HS256 JWTs standing in for a key), their secret.
//! - `secret_file.rs`: a secret generated into the data dir on first start and reused
//!   (the admin key, the token secret); below both `keys` and `tokens`.
//! - `status_code.rs`: the HTTP status of each error class, for HTTP answers and NATS
//!   command replies alike.
//! - `exchange/`: real exchanges behind `actors`' `LiveVenue` trait: `binance/`, the
//!   Binance spot REST adapter (signing, retry/back-off, JSON mapping).
//! - `nats/`: the NATS JetStream transport: market data from outside producers, commands
//!   as request/reply, every journaled event published.
//! - `cluster/`: replicated operation (`TRADPAL_NODE`): leader lease, the journal
//!   replicated through a JetStream log, standbys that follow it and take over.
//! - `alerts/`: alerts (limit breach, kill switch, actor restart, journal stall, NATS
//!   disconnected, session risk stop) from journaled events and runtime signals, to the
//!   log, NATS `tradpal.alert.{kind}` and a webhook (`webhook.rs`, retried).
//! - `tls.rs`: the HTTPS server configuration (rustls) from PEM files; serving the API
//!   over it.
//! - `logging.rs`: tracing set-up (text or JSON lines, plus the OTel layer when on).
//! - `telemetry.rs`: OpenTelemetry traces: `OTEL_*` settings, the OTLP exporter
//!   (HTTP/protobuf or gRPC), `traceparent` in and out, the flush at shutdown.
//! - `metrics.rs`: the Prometheus recorder, the bus observer that counts journaled
//!   events, the sampled session gauges, the journal and NATS counters at scrape time.
//! - `http/`: the axum adapter, one file per concern: `mod.rs` (router, limits),
//!   `error.rs` (JSON errors), `auth.rs`, `ui_sessions.rs` (dashboard logins, a credential
//!   `auth.rs` accepts), `ui/` (the dashboard), `https.rs` (serving a router over HTTPS),
//!   `request_id.rs` (request id, the request span),
//!   `openapi/` (the OpenAPI document from the route table, the docs page), `observe.rs` (access log, request
//!   metrics, rate limits, `/metrics`), `rate_limit.rs` (token buckets), `json.rs` (body extractor), `query.rs` (query-string extractor: axum's `Query` with JSON 400s),
//!   `trading.rs` (session endpoints), `data.rs` (market data), `regime.rs`, `risk.rs`,
//!   `execution.rs` (orders, portfolio, kill switch), `backtest.rs` (runs, optimisations,
//!   walk-forwards, reports), `not_built.rs` (spec routes still to come), `standby.rs`
//!   (what a standby node answers), `ready.rs` (`/ready`), `token.rs` (`/api/auth/token`).

pub mod actor_call;
pub mod alerts;
pub mod bus;
pub mod clock;
pub mod cluster;
pub mod exchange;
pub mod http;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod nats;
pub mod secret_file;
pub mod service;
pub mod status_code;
pub mod supervisor;
pub mod telemetry;
pub mod tls;
pub mod tokens;

pub use service::{Runtime, RuntimeError, RuntimeOptions};
