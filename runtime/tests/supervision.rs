//! Supervision is real: a panicking actor is restarted with its state rebuilt from the
//! journal and serves again; a crash loop exhausts its budget and stays down; shutdown
//! stops every child.

use ractor::ActorRef;
use std::time::Duration;
use tradpal_actors::concern::ConcernMsg;
use tradpal_actors::session::SessionMsg;
use tradpal_actors::{names, Fault, RequestMeta};
use tradpal_config::Settings;
use tradpal_messages::{ActorRestarted, ActorState, CorrelationId, Event, SessionId, StartSession, TradingMode};
use tradpal_runtime::supervisor::RestartPolicy;
use tradpal_runtime::{Runtime, RuntimeOptions};

/// Longest wait for the supervisor's failure records to be durable.
const JOURNALED_WAIT_MS: u64 = 5_000;

fn settings(dir: &std::path::Path) -> Settings {
    let mut s = Settings::defaults();
    s.data_dir = dir.to_path_buf();
    s
}

fn fast_policy(restarts_max: u32) -> RuntimeOptions {
    RuntimeOptions { restart_policy: RestartPolicy { backoff_initial_ms: 10, backoff_max_ms: 50, restarts_max, restart_window_ms: 60_000 } }
}

async fn session_actor() -> ActorRef<SessionMsg> {
    for _ in 0..400 {
        if let Some(a) = ActorRef::<SessionMsg>::where_is(names::SESSION) {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("session actor never came back");
}

async fn start(symbol: &str) -> SessionId {
    let cmd = StartSession {
        symbol: symbol.into(),
        capital: 1000.0,
        strategy: "sma_cross".into(),
        risk_per_trade: 0.01,
        mode: TradingMode::Paper,
        timeframe: None,
        params: Default::default(),
        commission: None,
        slippage_bps: None,
        max_drawdown: None,
        max_daily_loss: None,
        model_id: None,
        agent_id: None,
    };
    let meta = RequestMeta { request_id: Some("test".into()), correlation_id: CorrelationId(1) };
    let actor = session_actor().await;
    let reply = ractor::call!(actor, |reply| SessionMsg::Start { cmd, idempotency_key: None, meta, reply }).unwrap().unwrap();
    reply.session_id
}

async fn wait_for(rt: &Runtime, name: &str, pred: impl Fn(ActorState, u32) -> bool) -> (ActorState, u32) {
    for _ in 0..500 {
        let st = rt.statuses.read().unwrap().get(name).map(|s| (s.state, s.restart_count));
        if let Some((state, n)) = st {
            if pred(state, n) {
                return (state, n);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never reached the expected state: {:?}", rt.statuses.read().unwrap().get(name));
}

/// The journaled `ActorRestarted` records, once `done` holds on them (in journal order).
async fn wait_restarts_journaled(rt: &Runtime, done: impl Fn(&[ActorRestarted]) -> bool) -> Vec<ActorRestarted> {
    let journal = rt.services.journal.clone();
    let read = || -> Vec<ActorRestarted> {
        journal
            .read_range(1, journal.last_sequence())
            .filter_map(|e| match e.unwrap().event {
                Event::ActorRestarted(r) => Some(r),
                _ => None,
            })
            .collect()
    };
    for _ in 0..JOURNALED_WAIT_MS / 10 {
        let got = read();
        if done(&got) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the restarts were not journaled within {JOURNALED_WAIT_MS} ms: {:?}", read());
}

// ractor's registry is global to the process: these scenarios run in one test, in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_scenarios() {
    panicking_actor_restarts_with_state_rebuilt().await;
    crash_loop_exhausts_budget().await;
}

async fn panicking_actor_restarts_with_state_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::start(settings(dir.path()), fast_policy(5)).await.unwrap();
    wait_for(&rt, names::SESSION, |s, _| s == ActorState::Running).await;
    let a = start("BTC/USDT").await;
    let b = start("ETH/USDT").await;

    let before = session_actor().await;
    before.cast(SessionMsg::Fault(Fault::Panic)).unwrap();
    let (state, restarts) = wait_for(&rt, names::SESSION, |s, n| s == ActorState::Running && n == 1).await;
    assert_eq!((state, restarts), (ActorState::Running, 1));
    let after = session_actor().await;
    assert_ne!(before.get_id(), after.get_id(), "a new incarnation serves");

    // State rebuilt from the journal: both sessions are known to the new incarnation.
    let list = ractor::call!(after, |reply| SessionMsg::List { reply }).unwrap();
    let ids: Vec<SessionId> = list.iter().map(|s| s.info.session_id).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&a) && ids.contains(&b));
    // And it serves again.
    start("ADA/USDT").await;

    // An error (not a panic) is handled the same way.
    after.cast(SessionMsg::Fault(Fault::Error)).unwrap();
    wait_for(&rt, names::SESSION, |s, n| s == ActorState::Running && n == 2).await;
    let list = ractor::call!(session_actor().await, |reply| SessionMsg::List { reply }).unwrap();
    assert_eq!(list.len(), 3);

    // Each failure is journaled (off the supervisor's mailbox, so a moment later), once.
    let restarts = wait_restarts_journaled(&rt, |r| r.len() >= 2).await;
    let seen: Vec<(&str, u32, bool)> = restarts.iter().map(|r| (r.actor.as_str(), r.restart_count, r.restarted)).collect();
    assert_eq!(seen, [(names::SESSION, 1, true), (names::SESSION, 2, true)]);

    rt.shutdown().await;
    assert!(ActorRef::<SessionMsg>::where_is(names::SESSION).is_none(), "children stopped with the tree");
}

async fn crash_loop_exhausts_budget() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::start(settings(dir.path()), fast_policy(2)).await.unwrap();
    wait_for(&rt, names::LIVE_BOT, |s, _| s == ActorState::Running).await;
    for n in 1..=3u32 {
        let risk = loop {
            if let Some(a) = ActorRef::<ConcernMsg>::where_is(names::LIVE_BOT) {
                break a;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        risk.cast(ConcernMsg::Fault(Fault::Panic)).unwrap();
        wait_for(&rt, names::LIVE_BOT, |_, c| c == n).await;
    }
    let (state, _) = wait_for(&rt, names::LIVE_BOT, |s, _| s == ActorState::Failed).await;
    assert_eq!(state, ActorState::Failed);
    // The supervisor's own record of its decision: the third failure is given up on (no
    // restart is scheduled), not restarted.
    let restarts = wait_restarts_journaled(&rt, |r| r.iter().any(|r| r.restart_count == 3)).await;
    let seen: Vec<(&str, u32, bool)> = restarts.iter().map(|r| (r.actor.as_str(), r.restart_count, r.restarted)).collect();
    assert_eq!(seen, [(names::LIVE_BOT, 1, true), (names::LIVE_BOT, 2, true), (names::LIVE_BOT, 3, false)]);
    assert!(ActorRef::<ConcernMsg>::where_is(names::LIVE_BOT).is_none(), "a failed actor stays down");
    // The others are unaffected.
    assert_eq!(rt.statuses.read().unwrap()[names::SESSION].state, ActorState::Running);
    rt.shutdown().await;
}
