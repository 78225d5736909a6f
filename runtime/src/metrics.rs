//! Prometheus metrics (`/metrics`), with the `metrics` facade and its Prometheus
//! exporter (no listener of its own: the HTTP adapter renders the handle).
//!
//! Where each family is recorded, and why there:
//!
//! - HTTP requests, latency, rate-limit refusals and auth failures: the HTTP edge
//!   (`http::observe`), the one place that sees every request and its matched route.
//! - Orders, fills, rejects, sessions started/stopped, actor restarts, training jobs,
//!   ingested candles: [`spawn_observer`], a subscriber of the in-process bus that counts
//!   journaled events by kind. Every one of those facts is an event already, so counting
//!   events means the actors, the supervisor and the cores stay free of metrics code
//!   and a count cannot disagree with the journal. If the subscriber lags (a burst larger
//!   than the bus buffer), the missed events are counted in `tradpal_events_lagged_total`.
//! - Journal appends, bytes, group commits, fsync latency and group size: the journal's
//!   own relaxed counters and log2 histograms ([`tradpal_journal::JournalStats`]), read at
//!   scrape time by [`render`]. The journal crate stays free of a metrics dependency (it
//!   is a storage library also used by the CLI and its benches), and the numbers are
//!   exact at scrape time rather than sampled.
//! - NATS ingest: the ingest task's counters (`NatsStats`), read at scrape time.
//! - Sessions active and each session's P&L: sampled gauges, refreshed every
//!   `METRICS_UPDATE_INTERVAL` by [`spawn_sampler`] (asking the session actor, as
//!   `/api/trading/status` does). A stopped session's gauges disappear after three
//!   intervals without an update (the exporter's idle timeout for gauges).
//!
//! `ENABLE_PERFORMANCE_MONITORING=false`: no recorder is installed (every `metrics`
//! macro is then a no-op), no observer or sampler runs, and `/metrics` answers 503.

use crate::bus::InProcessBus;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Duration;
use tradpal_config::MonitoringSettings;
use tradpal_messages::Event;

/// Metric names (Prometheus conventions: base units, `_total` for counters).
pub mod names {
    pub const HTTP_REQUESTS: &str = "tradpal_http_requests_total";
    pub const HTTP_DURATION: &str = "tradpal_http_request_duration_seconds";
    pub const RATE_LIMITED: &str = "tradpal_http_rate_limited_total";
    pub const AUTH_FAILURES: &str = "tradpal_http_auth_failures_total";
    pub const ORDERS_SUBMITTED: &str = "tradpal_orders_submitted_total";
    pub const ORDER_FILLS: &str = "tradpal_order_fills_total";
    pub const ORDER_REJECTS: &str = "tradpal_order_rejects_total";
    pub const ORDERS_CANCELED: &str = "tradpal_orders_canceled_total";
    pub const SESSIONS_STARTED: &str = "tradpal_sessions_started_total";
    pub const SESSIONS_STOPPED: &str = "tradpal_sessions_stopped_total";
    pub const SESSIONS_ACTIVE: &str = "tradpal_sessions_active";
    pub const SESSION_PNL: &str = "tradpal_session_pnl";
    pub const SESSION_EQUITY: &str = "tradpal_session_equity";
    pub const ACTOR_RESTARTS: &str = "tradpal_actor_restarts_total";
    pub const TRAINING_STARTED: &str = "tradpal_training_jobs_started_total";
    pub const TRAINING_FINISHED: &str = "tradpal_training_jobs_finished_total";
    pub const CANDLES_INGESTED: &str = "tradpal_candles_ingested_total";
    pub const EVENTS_LAGGED: &str = "tradpal_events_lagged_total";
}

/// Latency buckets of the HTTP histogram, in seconds (100 µs .. 10 s).
const HTTP_BUCKETS_SECONDS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Sampled gauges not refreshed for this many update intervals are dropped.
const GAUGE_IDLE_INTERVALS: u32 = 3;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global recorder once per process and returns its handle; `None` when
/// `ENABLE_PERFORMANCE_MONITORING` is false (nothing installed, nothing recorded).
pub fn install(settings: &MonitoringSettings) -> Option<PrometheusHandle> {
    if !settings.performance_monitoring {
        return None;
    }
    let idle = settings.metrics_update_interval.saturating_mul(GAUGE_IDLE_INTERVALS);
    let handle = HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(HTTP_BUCKETS_SECONDS)
            .expect("the bucket list is not empty")
            .idle_timeout(MetricKindMask::GAUGE, Some(idle));
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only the journal and NATS counters");
        }
        handle
    });
    Some(handle.clone())
}

/// Counts journaled events by kind (see the module docs for why events).
pub fn spawn_observer(bus: &InProcessBus) -> tokio::task::JoinHandle<()> {
    let mut rx = bus.subscribe();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match rx.recv().await {
                Ok(env) => count_event(&env.event),
                Err(RecvError::Lagged(n)) => metrics::counter!(names::EVENTS_LAGGED).increment(n),
                Err(RecvError::Closed) => return,
            }
        }
    })
}

fn count_event(event: &Event) {
    use metrics::counter;
    match event {
        Event::OrderSubmitted(_) => counter!(names::ORDERS_SUBMITTED).increment(1),
        Event::OrderFilled(_) => counter!(names::ORDER_FILLS).increment(1),
        Event::OrderRejected(r) => counter!(names::ORDER_REJECTS, "reason" => r.source.as_str()).increment(1),
        Event::OrderCanceled(_) => counter!(names::ORDERS_CANCELED).increment(1),
        Event::SessionStarted(_) => counter!(names::SESSIONS_STARTED).increment(1),
        Event::SessionStopped(_) => counter!(names::SESSIONS_STOPPED).increment(1),
        Event::ActorRestarted(a) => {
            let outcome = if a.restarted { "restarted" } else { "given_up" };
            counter!(names::ACTOR_RESTARTS, "actor" => a.actor.clone(), "outcome" => outcome).increment(1)
        }
        Event::MlTrainingStarted(_) => counter!(names::TRAINING_STARTED, "kind" => "ml").increment(1),
        Event::MlModelTrained(_) => counter!(names::TRAINING_FINISHED, "kind" => "ml", "outcome" => "ok").increment(1),
        Event::MlTrainingFailed(_) => counter!(names::TRAINING_FINISHED, "kind" => "ml", "outcome" => "failed").increment(1),
        Event::RlTrainingStarted(_) => counter!(names::TRAINING_STARTED, "kind" => "rl").increment(1),
        Event::RlAgentTrained(_) => counter!(names::TRAINING_FINISHED, "kind" => "rl", "outcome" => "ok").increment(1),
        Event::RlTrainingFailed(_) => counter!(names::TRAINING_FINISHED, "kind" => "rl", "outcome" => "failed").increment(1),
        Event::CandlesIngested(c) => {
            let source = serde_json::to_value(c.source).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            counter!(names::CANDLES_INGESTED, "source" => source).increment(c.candles.len() as u64)
        }
        _ => {}
    }
}

/// Refreshes the sampled gauges every `interval` and runs the exporter's upkeep.
pub fn spawn_sampler(handle: PrometheusHandle, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            sample_sessions().await;
            handle.run_upkeep();
        }
    })
}

async fn sample_sessions() {
    use tradpal_actors::session::SessionMsg;
    use tradpal_messages::SessionStatus;
    let Ok(rows) = crate::actor_call::call_actor(tradpal_actors::names::SESSION, |reply| SessionMsg::List { reply }).await else {
        return; // the session actor is restarting: keep the last values until next time
    };
    let active: Vec<_> = rows.iter().filter(|r| r.info.status != SessionStatus::Stopped).collect();
    metrics::gauge!(names::SESSIONS_ACTIVE).set(active.len() as f64);
    for row in active {
        let Some(pnl) = &row.pnl else { continue };
        let id = row.info.session_id.to_string();
        metrics::gauge!(names::SESSION_EQUITY, "session_id" => id.clone()).set(pnl.equity.to_f64());
        metrics::gauge!(names::SESSION_PNL, "session_id" => id).set(pnl.equity.to_f64() - pnl.capital);
    }
}

/// What the journal and the NATS ingest counted, in the Prometheus text format, to be
/// appended to the recorder's rendering.
pub fn render_counters(journal: &tradpal_journal::JournalStats, nats: Option<&crate::nats::NatsStats>) -> String {
    let mut out = String::new();
    let j = journal;
    counter(&mut out, "tradpal_journal_appends_total", "Records appended to the journal.", j.records);
    counter(&mut out, "tradpal_journal_appended_bytes_total", "Bytes appended to the journal (headers included).", j.bytes);
    counter(&mut out, "tradpal_journal_group_commits_total", "Group commits (one write and one fsync each).", j.groups);
    let fsync_bounds: Vec<f64> = (0..j.fsync_micros_log2.len()).map(|i| (1u64 << i) as f64 / 1e6).collect();
    histogram(
        &mut out,
        "tradpal_journal_fsync_seconds",
        "Write + fsync time of one group commit.",
        &fsync_bounds,
        &j.fsync_micros_log2,
        j.write_fsync_nanos as f64 / 1e9,
    );
    let group_bounds: Vec<f64> = (0..j.group_records_log2.len()).map(|i| (1u64 << i) as f64).collect();
    histogram(
        &mut out,
        "tradpal_journal_group_commit_records",
        "Records per group commit.",
        &group_bounds,
        &j.group_records_log2,
        j.records as f64,
    );
    // Calls waiting on each actor (queued in its mailbox or being handled): the backlog
    // callers feel. ractor exposes no mailbox length; casts are not counted.
    let name = "tradpal_actor_calls_in_flight";
    let _ =
        write!(out, "# HELP {name} Calls waiting for an actor's answer (queued in its mailbox or being handled).\n# TYPE {name} gauge\n");
    for (actor, n) in tradpal_actors::calls::in_flight() {
        let _ = writeln!(out, "{name}{{actor=\"{actor}\"}} {n}");
    }
    if let Some(n) = nats {
        use std::sync::atomic::Ordering::Relaxed;
        counter(
            &mut out,
            "tradpal_nats_messages_received_total",
            "Market-data messages received from NATS.",
            n.messages_received.load(Relaxed),
        );
        counter(&mut out, "tradpal_nats_candles_stored_total", "Candles from NATS journaled.", n.candles_stored.load(Relaxed));
        counter(
            &mut out,
            "tradpal_nats_duplicates_dropped_total",
            "Candles from NATS dropped as duplicates.",
            n.duplicates_dropped.load(Relaxed),
        );
        counter(
            &mut out,
            "tradpal_nats_messages_rejected_total",
            "Market-data messages from NATS rejected.",
            n.messages_rejected.load(Relaxed),
        );
        gauge(
            &mut out,
            "tradpal_nats_consumer_pending",
            "Market-data messages in the stream not yet delivered to the ingest consumer (its lag).",
            n.consumer_pending.load(Relaxed),
        );
        counter(
            &mut out,
            "tradpal_nats_batches_failed_total",
            "NATS ingest batches that failed (redelivered).",
            n.batches_failed.load(Relaxed),
        );
    }
    out
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
}

/// A histogram from per-bucket (not cumulative) counts whose upper bounds are `bounds`;
/// the last bucket also holds everything above its bound, so it goes to `+Inf`.
fn histogram(out: &mut String, name: &str, help: &str, bounds: &[f64], counts: &[u64], sum: f64) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} histogram\n");
    let mut cumulative = 0u64;
    let last = counts.len().saturating_sub(1);
    for (i, (bound, n)) in bounds.iter().zip(counts).enumerate() {
        cumulative += n;
        if i < last {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
    }
    let _ = write!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}\n{name}_sum {sum}\n{name}_count {cumulative}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_text_is_cumulative_and_ends_at_inf() {
        let mut out = String::new();
        histogram(&mut out, "h", "help", &[1.0, 2.0, 4.0], &[3, 0, 2], 9.5);
        assert!(out.contains("h_bucket{le=\"1\"} 3\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"2\"} 3\n"), "{out}");
        assert!(!out.contains("le=\"4\""), "{out}");
        assert!(out.contains("h_bucket{le=\"+Inf\"} 5\nh_sum 9.5\nh_count 5\n"), "{out}");
    }
}
