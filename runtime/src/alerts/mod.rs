//! Alerts (issue 19): what an operator must hear about without watching a dashboard.
//!
//! Kinds: `limit_breach` (a risk limit breached, or an order refused by one),
//! `kill_switch` (the trading state moved), `actor_restart` (a supervised actor failed),
//! `journal_stall` (a group commit slower than [`JOURNAL_STALL_US`]), `nats_disconnected`,
//! `session_risk_stop` (a session stopped by its own risk limits).
//!
//! Where they come from, as for `/metrics`: the journaled events on the in-process bus
//! (`rules.rs`, a pure mapping: the actors and the supervisor carry no alerting code, and
//! an alert cannot disagree with the journal), plus the runtime's own signals: NATS
//! connection events (the client's callback) and the journal's commit-time histogram
//! (a watchdog reading it every [`JOURNAL_WATCH_MS`]).
//!
//! Where they go, from one dispatcher task: always the log (target `alert`, level warn,
//! or error for critical ones); NATS core subject `tradpal.alert.{kind}` when NATS is
//! configured (header `Nats-Msg-Id` = the alert id); and, with `TRADPAL_ALERT_WEBHOOK`,
//! a JSON POST (`webhook.rs`) retried with back-off. An alert id is delivered once: the
//! dispatcher drops an id it has seen (the last [`ALERT_IDS_REMEMBERED`]), and a
//! webhook retry reuses the id (`X-Tradpal-Alert-Id`) so a receiver can de-duplicate too.
//!
//! Bounded everywhere: the alert queue ([`ALERT_QUEUE_MAX`]) and the webhook queue
//! ([`webhook::WEBHOOK_QUEUE_MAX`]) drop (and log) what does not fit rather than hold the
//! service back: alerting must never slow trading down.

pub mod rules;
pub mod webhook;

use crate::bus::InProcessBus;
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Alerts waiting for the dispatcher; past it, new ones are dropped (and logged).
pub const ALERT_QUEUE_MAX: usize = 1024;
/// Alerts kept for `GET /api/alerts` and the dashboard (newest first; older ones are in
/// the logs, on NATS and at the webhook).
pub const ALERTS_RECENT_MAX: usize = 200;
/// Alert ids remembered for de-duplication.
pub const ALERT_IDS_REMEMBERED: usize = 4096;
/// A group commit (write + fsync) slower than this is a journal stall: 2^19 µs, about
/// 0.52 s (the journal's histogram has power-of-two buckets).
pub const JOURNAL_STALL_US: u64 = 1 << 19;
/// Longest wait to hand an alert to the NATS client (its buffer is full while NATS is
/// away); past it the alert is not published (it was logged and POSTed already).
pub const NATS_PUBLISH_TIMEOUT_MS: u64 = 1_000;
/// How often the watchdog reads the journal's commit-time histogram.
pub const JOURNAL_WATCH_MS: u64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    LimitBreach,
    KillSwitch,
    ActorRestart,
    JournalStall,
    NatsDisconnected,
    SessionRiskStop,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::LimitBreach => "limit_breach",
            AlertKind::KillSwitch => "kill_switch",
            AlertKind::ActorRestart => "actor_restart",
            AlertKind::JournalStall => "journal_stall",
            AlertKind::NatsDisconnected => "nats_disconnected",
            AlertKind::SessionRiskStop => "session_risk_stop",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// One alert, as logged, published and POSTed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `{kind}-{journal sequence}` for alerts from journaled events; `{kind}-{run}-{n}`
    /// for the runtime's own signals (`run`: this process's id seed).
    pub id: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub message: String,
    pub at_unix_ms: i64,
    /// The journal record it comes from, if any.
    pub sequence: Option<u64>,
    pub session_id: Option<String>,
    pub details: serde_json::Value,
}

/// Raises alerts (cheap to clone). Never blocks: a full queue drops the alert, logged.
#[derive(Clone)]
pub struct Alerts {
    tx: mpsc::Sender<Alert>,
    /// The NATS client, once the bridge is up (alerts before that are logged and POSTed).
    nats: Arc<OnceLock<async_nats::Client>>,
    run: String,
    counter: Arc<std::sync::atomic::AtomicU64>,
    /// The last [`ALERTS_RECENT_MAX`] alerts dispatched, newest first.
    recent: Arc<Mutex<VecDeque<Alert>>>,
}

impl Alerts {
    pub fn raise(&self, alert: Alert) {
        if let Err(e) = self.tx.try_send(alert) {
            let alert = match e {
                mpsc::error::TrySendError::Full(a) | mpsc::error::TrySendError::Closed(a) => a,
            };
            tracing::error!(target: "alert", id = %alert.id, kind = alert.kind.as_str(), message = %alert.message,
                "alert queue full ({ALERT_QUEUE_MAX}): this alert is only logged");
        }
    }

    /// An alert from the runtime's own signals (no journal record): a fresh id.
    pub fn raise_signal(&self, kind: AlertKind, severity: Severity, message: String, details: serde_json::Value) {
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let id = format!("{}-{}-{n}", kind.as_str(), self.run);
        self.raise(Alert { id, kind, severity, message, at_unix_ms: unix_now_ms(), sequence: None, session_id: None, details });
    }

    /// The alerts dispatched since the service started, newest first (at most
    /// [`ALERTS_RECENT_MAX`]).
    pub fn recent(&self) -> Vec<Alert> {
        self.recent.lock().map(|r| r.iter().cloned().collect()).unwrap_or_default()
    }

    /// Alerts are published on NATS from now on.
    pub fn attach_nats(&self, client: async_nats::Client) {
        let _ = self.nats.set(client);
    }
}

/// The running alert tasks (aborted at shutdown).
pub struct AlertService {
    pub alerts: Alerts,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl AlertService {
    /// Subscribes to the bus (before the actors start, so nothing is missed), and starts
    /// the dispatcher, the webhook sender (when configured) and the journal watchdog.
    pub fn start(bus: &InProcessBus, journal: tradpal_journal::Journal, webhook: Option<String>, run: u64) -> AlertService {
        let (tx, rx) = mpsc::channel(ALERT_QUEUE_MAX);
        let alerts = Alerts { tx, nats: Arc::default(), run: format!("{run:016x}"), counter: Arc::default(), recent: Arc::default() };
        let mut tasks = Vec::new();
        let hook = webhook.map(|url| {
            let (hook_tx, hook_rx) = mpsc::channel(webhook::WEBHOOK_QUEUE_MAX);
            tasks.push(tokio::spawn(webhook::deliver(url, hook_rx)));
            hook_tx
        });
        tasks.push(tokio::spawn(dispatch(rx, alerts.nats.clone(), alerts.recent.clone(), hook)));
        tasks.push(spawn_observer(bus, alerts.clone()));
        tasks.push(tokio::spawn(watch_journal(journal, alerts.clone())));
        AlertService { alerts, tasks }
    }

    pub fn shutdown(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn spawn_observer(bus: &InProcessBus, alerts: Alerts) -> tokio::task::JoinHandle<()> {
    let mut rx = bus.subscribe();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        let mut rules = rules::AlertRules::default();
        loop {
            match rx.recv().await {
                Ok(env) => {
                    if let Some(alert) = rules.on_event(&env) {
                        alerts.raise(alert);
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(target: "alert", missed = n, "the alert observer lagged: alerts of {n} events may be missing (the journal has them)")
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}

async fn watch_journal(journal: tradpal_journal::Journal, alerts: Alerts) {
    let mut seen = rules::slow_commits(&journal.stats().fsync_micros_log2);
    let mut tick = tokio::time::interval(Duration::from_millis(JOURNAL_WATCH_MS));
    loop {
        tick.tick().await;
        let now = rules::slow_commits(&journal.stats().fsync_micros_log2);
        if now > seen {
            let message = format!(
                "{} journal commit(s) took longer than {} ms (write + fsync): the disk is stalling appends",
                now - seen,
                JOURNAL_STALL_US / 1000
            );
            alerts.raise_signal(
                AlertKind::JournalStall,
                Severity::Critical,
                message,
                serde_json::json!({ "slow_commits": now - seen, "threshold_us": JOURNAL_STALL_US }),
            );
            seen = now;
        }
    }
}

/// Logs, publishes and queues for the webhook each alert id once.
async fn dispatch(
    mut rx: mpsc::Receiver<Alert>,
    nats: Arc<OnceLock<async_nats::Client>>,
    recent: Arc<Mutex<VecDeque<Alert>>>,
    hook: Option<mpsc::Sender<Alert>>,
) {
    let mut seen = BTreeSet::new();
    let mut order = VecDeque::new();
    while let Some(alert) = rx.recv().await {
        if !seen.insert(alert.id.clone()) {
            continue;
        }
        order.push_back(alert.id.clone());
        if order.len() > ALERT_IDS_REMEMBERED {
            if let Some(old) = order.pop_front() {
                seen.remove(&old);
            }
        }
        log(&alert);
        if let Ok(mut r) = recent.lock() {
            r.push_front(alert.clone());
            r.truncate(ALERTS_RECENT_MAX);
        }
        // The webhook first: its queue never blocks, while a NATS publish can wait on a
        // connection that is away (bounded by NATS_PUBLISH_TIMEOUT_MS).
        if let Some(hook) = &hook {
            if hook.try_send(alert.clone()).is_err() {
                tracing::error!(target: "alert", id = %alert.id, "webhook queue full ({}): this alert is not POSTed", webhook::WEBHOOK_QUEUE_MAX);
            }
        }
        if let Some(client) = nats.get() {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", alert.id.as_str());
            let subject = format!("tradpal.alert.{}", alert.kind.as_str());
            let body = serde_json::to_vec(&alert).unwrap_or_default();
            let publish = client.publish_with_headers(subject, headers, body.into());
            match tokio::time::timeout(Duration::from_millis(NATS_PUBLISH_TIMEOUT_MS), publish).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(target: "alert", id = %alert.id, error = %e, "cannot publish the alert on NATS"),
                Err(_) => tracing::warn!(target: "alert", id = %alert.id, "NATS publish of the alert timed out (NATS away?)"),
            }
        }
    }
}

fn log(a: &Alert) {
    let kind = a.kind.as_str();
    match a.severity {
        Severity::Critical => tracing::error!(target: "alert", id = %a.id, kind, severity = "critical", message = %a.message, "alert"),
        Severity::Warning => tracing::warn!(target: "alert", id = %a.id, kind, severity = "warning", message = %a.message, "alert"),
        Severity::Info => tracing::warn!(target: "alert", id = %a.id, kind, severity = "info", message = %a.message, "alert"),
    }
}

/// Now in Unix milliseconds: the time a runtime signal was seen (an edge concern,
/// nothing replayed reads it).
#[allow(clippy::disallowed_methods)]
fn unix_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
