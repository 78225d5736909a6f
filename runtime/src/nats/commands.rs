//! Commands over NATS request/reply: the same actor messages as the HTTP routes, for
//! programs that already speak NATS (and for processes of one deployment).
//!
//! Subjects (`messages::subjects`): `tradpal.cmd.execution.submit-order`,
//! `.cancel-order`, `.orders`, `.portfolio`, `.trading-state`, and
//! `tradpal.cmd.risk.calculate-position-size`. The request payload is the HTTP body's
//! JSON (`orders` takes the query as JSON: `{"status": "open", "limit": 10}`); the reply
//! is the HTTP answer's JSON, or `{"error": {"code", "message", "status"}}`.
//!
//! Trust: NATS has no per-request API key; whoever may publish on `tradpal.cmd.>` may
//! trade. Restrict it with NATS accounts and permissions (the credentials in
//! `NATS_URL`). The subscription is a queue group, so with several service processes
//! each request is answered once.

use crate::actor_call::call_actor;
use crate::status_code::status_of;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;
use tradpal_actors::execution::actor::{ExecutionMsg, OrderRef};
use tradpal_actors::execution::view::OrdersQuery;
use tradpal_actors::execution::OrderRequest;
use tradpal_actors::risk::actor::RiskMsg;
use tradpal_actors::risk::sizing::PositionSizeRequest;
use tradpal_actors::session::SessionMsg;
use tradpal_actors::{names, RequestMeta};
use tradpal_messages::{subjects, CorrelationId, ErrorCode, ErrorReply, OrderId, TradingState};

/// Command requests handled at once (more wait in the subscription's buffer).
pub const COMMANDS_IN_FLIGHT_MAX: usize = 256;

#[derive(Debug, Default)]
pub struct CommandStats {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
}

fn error_json(e: &ErrorReply) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"error": {"code": e.code.as_str(), "message": e.message, "status": status_of(e.code).as_u16()}}))
        .unwrap_or_default()
}

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, ErrorReply> {
    let de = &mut serde_json::Deserializer::from_slice(payload);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." { String::new() } else { format!(" at {path}") };
        ErrorReply::new(ErrorCode::BadRequest, format!("invalid JSON payload{at}: {inner}"))
    })
}

fn ok<T: Serialize>(v: Result<T, ErrorReply>) -> Result<Vec<u8>, ErrorReply> {
    v.and_then(|v| serde_json::to_vec(&v).map_err(|e| ErrorReply::new(ErrorCode::Internal, e.to_string())))
}

// A fresh correlation id per command: unseeded on purpose (the NATS edge).
#[allow(clippy::disallowed_methods)]
fn meta(request_id: Option<String>) -> RequestMeta {
    RequestMeta { request_id, correlation_id: CorrelationId(rand::random()) }
}

async fn ask<M: ractor::Message, T: Send + 'static>(
    name: &str,
    msg: impl FnOnce(ractor::RpcReplyPort<Result<T, ErrorReply>>) -> M,
) -> Result<T, ErrorReply> {
    call_actor(name, msg).await?
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelCmd {
    order_id: Option<OrderId>,
    client_order_id: Option<String>,
    reason: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TradingStateCmd {
    state: Option<TradingState>,
    reason: Option<String>,
    #[serde(default)]
    cancel_working: bool,
}

/// Runs one command; the payload's JSON in, the reply's JSON out.
async fn dispatch(command: &str, payload: &[u8], request_id: Option<String>) -> Result<Vec<u8>, ErrorReply> {
    let empty: &[u8] = b"{}";
    let body = if payload.is_empty() { empty } else { payload };
    match command {
        "execution.submit-order" => {
            let (req, meta) = (Box::new(parse::<OrderRequest>(body)?), meta(request_id));
            ok(ask(names::EXECUTION, |reply| ExecutionMsg::Submit { req, meta, reply }).await)
        }
        "execution.cancel-order" => {
            let c: CancelCmd = parse(body)?;
            let order = match (c.order_id, c.client_order_id) {
                (Some(id), None) => OrderRef::Id(id),
                (None, Some(cid)) => OrderRef::Client(cid),
                _ => return Err(ErrorReply::new(ErrorCode::BadRequest, "give exactly one of order_id and client_order_id")),
            };
            let (reason, meta) = (c.reason.unwrap_or_else(|| "canceled over NATS".into()), meta(request_id));
            ok(ask(names::EXECUTION, |reply| ExecutionMsg::Cancel { order, reason, meta, reply }).await)
        }
        "execution.orders" => {
            let query: OrdersQuery = parse(body)?;
            ok(ask(names::EXECUTION, |reply| ExecutionMsg::Orders { query, reply }).await)
        }
        "execution.portfolio" => ok(ask(names::EXECUTION, |reply| ExecutionMsg::Portfolio { reply }).await),
        "execution.trading-state" => {
            let c: TradingStateCmd = parse(body)?;
            match c.state {
                None => ok(ask(names::EXECUTION, |reply| ExecutionMsg::Portfolio { reply })
                    .await
                    .map(|p| serde_json::json!({"trading_state": p.trading_state}))),
                Some(to) => {
                    let (reason, meta) = (c.reason.unwrap_or_else(|| "set over NATS".into()), meta(request_id));
                    let cancel_working = c.cancel_working;
                    ok(ask(names::EXECUTION, |reply| ExecutionMsg::SetTradingState { to, reason, cancel_working, meta, reply }).await)
                }
            }
        }
        "trading.start-session" => {
            let (cmd, meta) = (parse::<tradpal_messages::StartSession>(body)?, meta(request_id));
            let msg = |reply| SessionMsg::Start { cmd, idempotency_key: None, meta, reply };
            ok(ask(names::SESSION, msg).await)
        }
        "trading.stop-session" | "trading.emergency-stop" => {
            let reason = if command == "trading.stop-session" { "requested" } else { "emergency_stop" }.to_string();
            let mut cmd = parse::<tradpal_messages::StopSession>(body)?;
            cmd.close_positions |= reason == "emergency_stop";
            let meta = meta(request_id);
            ok(ask(names::SESSION, |reply| SessionMsg::Stop { cmd, reason, meta, reply }).await)
        }
        "trading.performance" => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Query {
                session_id: tradpal_messages::SessionId,
            }
            let q: Query = parse(body)?;
            ok(ask(names::SESSION, |reply| SessionMsg::Performance { session_id: q.session_id, reply }).await)
        }
        "risk.calculate-position-size" => {
            let req = Box::new(parse::<PositionSizeRequest>(body)?);
            ok(ask(names::RISK, |reply| RiskMsg::Size { req, reply }).await)
        }
        other => Err(ErrorReply::new(ErrorCode::NotFound, format!("no command {other:?} (subject {}.{other})", subjects::CMD_PREFIX))),
    }
}

/// Serves command requests until told to stop; resubscribes after a failure.
pub async fn serve(client: async_nats::Client, stats: Arc<CommandStats>, mut stop: watch::Receiver<bool>) {
    let limit = Arc::new(tokio::sync::Semaphore::new(COMMANDS_IN_FLIGHT_MAX));
    while !*stop.borrow() {
        let mut sub = match client.queue_subscribe(subjects::CMD_ALL, subjects::CMD_QUEUE_GROUP.to_string()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "nats command subscription failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                continue;
            }
        };
        tracing::info!(subjects = subjects::CMD_ALL, queue = subjects::CMD_QUEUE_GROUP, "nats commands ready");
        loop {
            let msg = tokio::select! {
                m = sub.next() => m,
                _ = stop.changed() => return,
            };
            let Some(msg) = msg else { break };
            let Some(reply_to) = msg.reply.clone() else { continue };
            let permit = limit.clone().acquire_owned().await.expect("semaphore never closed");
            let (client, stats) = (client.clone(), stats.clone());
            tokio::spawn(async move {
                let _permit = permit;
                stats.requests.fetch_add(1, Ordering::Relaxed);
                let command =
                    msg.subject.as_str().strip_prefix(subjects::CMD_PREFIX).and_then(|s| s.strip_prefix('.')).unwrap_or("").to_string();
                let request_id = msg.headers.as_ref().and_then(|h| h.get("X-Request-Id")).map(|v| v.as_str().chars().take(128).collect());
                let body = match dispatch(&command, &msg.payload, request_id).await {
                    Ok(b) => b,
                    Err(e) => {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                        error_json(&e)
                    }
                };
                if let Err(e) = client.publish(reply_to, body.into()).await {
                    tracing::warn!(error = %e, "cannot send a NATS command reply");
                }
            });
        }
    }
}
