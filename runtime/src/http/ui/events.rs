//! `GET /api/events/stream`: server-sent events of what the journal recorded, for the
//! dashboard (or any client) to refresh on change instead of polling.
//!
//! Each SSE event is named by the journaled event's kind (`order_filled`,
//! `candles_ingested`, ...), with data `{"sequence", "kind", "session_id", "timestamp"}`
//! and, for candles, the symbol and timeframe. The payloads are summaries: the client
//! fetches what it shows from the API, under its own role. A subscriber that falls
//! behind the bus gets a `lagged` event (with how many it missed) and should refetch.
//! Connections are capped at `SSE_STREAMS_MAX`; past it, 503.

use super::super::auth::Viewer;
use super::super::error::ApiError;
use super::super::AppState;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tradpal_messages::{Envelope, ErrorCode, Event};

/// Event streams open at once, over all callers.
pub const SSE_STREAMS_MAX: usize = 256;
/// A comment line this often keeps proxies from closing an idle stream.
pub const SSE_KEEPALIVE_MS: u64 = 15_000;

static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Releases its slot of `SSE_STREAMS_MAX` when the client goes away.
struct Slot;
impl Drop for Slot {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

fn summary(env: &Envelope) -> SseEvent {
    let kind = env.event.kind().as_str();
    let mut data = serde_json::json!({
        "sequence": env.sequence,
        "kind": kind,
        "session_id": env.session_id.or_else(|| env.event.session_id()),
        "timestamp": env.timestamp,
    });
    if let Event::CandlesIngested(c) = &env.event {
        data["symbol"] = serde_json::to_value(&c.symbol).unwrap_or_default();
        data["timeframe"] = serde_json::to_value(c.timeframe).unwrap_or_default();
        data["candles"] = c.candles.len().into();
    }
    SseEvent::default().event(kind).id(env.sequence.to_string()).data(data.to_string())
}

pub async fn stream(
    _role: Viewer,
    State(state): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let bus = state
        .bus
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this node has no event bus (a standby): nothing to stream"))?;
    if OPEN.fetch_add(1, Ordering::Relaxed) >= SSE_STREAMS_MAX {
        OPEN.fetch_sub(1, Ordering::Relaxed);
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            format!("too many event streams open (SSE_STREAMS_MAX = {SSE_STREAMS_MAX}); close one and retry"),
        ));
    }
    let rx = bus.subscribe();
    let hello = SseEvent::default().event("hello").data(serde_json::json!({ "last_sequence": state.journal.last_sequence() }).to_string());
    let first = futures_util::stream::once(async move { Ok::<_, Infallible>(hello) });
    let rest = futures_util::stream::unfold((rx, Arc::new(Slot)), |(mut rx, slot)| async move {
        let ev = match rx.recv().await {
            Ok(env) => summary(&env),
            Err(RecvError::Lagged(n)) => SseEvent::default().event("lagged").data(serde_json::json!({ "missed": n }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(ev), (rx, slot)))
    });
    use futures_util::StreamExt;
    Ok(Sse::new(first.chain(rest)).keep_alive(KeepAlive::new().interval(Duration::from_millis(SSE_KEEPALIVE_MS))))
}
