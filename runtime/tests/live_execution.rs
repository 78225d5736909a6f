//! Live order routing end to end with real parts: the `Runtime` (journal, supervision
//! tree, execution actor) with paper trading off, talking HTTP to the fake Binance
//! server through the real `BinanceVenue`.
//!
//! One scenario, in turn (ractor's registry is global to the process): a market order is
//! filled with the fake's fills and the portfolio follows; a limit order is accepted and
//! canceled at the venue; then the service stops, the fake fills a resting order "while
//! we were down", and the restart's reconciliation learns the fill (from the venue, not a
//! guess) and expires an order whose placement never reached the venue once a query says
//! the venue does not know it. Last, a venue that cannot be reached halts trading.

mod binance_fake;

use binance_fake::{fixed, Failure, FakeBinance};
use ractor::ActorRef;
use std::time::Duration;
use tradpal_actors::execution::actor::{ExecutionMsg, OrderRef};
use tradpal_actors::execution::view::{OrderView, PortfolioView};
use tradpal_actors::execution::OrderRequest;
use tradpal_actors::{names, RequestMeta};
use tradpal_config::Settings;
use tradpal_messages::{Candle, CandlesIngested, Clock, CorrelationId, DataSource, Event, OrderStatus, Timeframe, Timestamp, TradingState};
use tradpal_runtime::clock::WallClock;
use tradpal_runtime::{Runtime, RuntimeOptions};

const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn settings(dir: &std::path::Path, base_url: &str) -> Settings {
    let mut s = Settings::defaults();
    s.data_dir = dir.to_path_buf();
    s.execution.paper_trading = false;
    s.execution.order_timeout = Duration::from_secs(1);
    s.execution.binance_api_key = Some(KEY.parse().unwrap());
    s.execution.binance_api_secret = Some(SECRET.parse().unwrap());
    s.execution.binance_base_url = base_url.to_string();
    s
}

fn meta() -> RequestMeta {
    RequestMeta { request_id: Some("live-test".into()), correlation_id: CorrelationId(7) }
}

async fn execution() -> ActorRef<ExecutionMsg> {
    for _ in 0..500 {
        if let Some(a) = ActorRef::<ExecutionMsg>::where_is(names::EXECUTION) {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no execution actor");
}

async fn submit(json: &str) -> OrderView {
    let req: OrderRequest = serde_json::from_str(json).unwrap();
    let a = execution().await;
    ractor::call!(a, |reply| ExecutionMsg::Submit { req: Box::new(req), meta: meta(), reply }).unwrap().unwrap().order
}

async fn get(cid: &str) -> OrderView {
    let a = execution().await;
    ractor::call!(a, |reply| ExecutionMsg::Get { order: OrderRef::Client(cid.into()), reply }).unwrap().unwrap()
}

async fn portfolio() -> PortfolioView {
    let a = execution().await;
    ractor::call!(a, |reply| ExecutionMsg::Portfolio { reply }).unwrap().unwrap()
}

async fn wait_status(cid: &str, want: OrderStatus) -> OrderView {
    for _ in 0..300 {
        let o = get(cid).await;
        if o.status == want {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{cid} never became {}: {:?}", want.as_str(), get(cid).await);
}

/// Longest wait for the execution actor to ask the venue about an order (its tick runs
/// every second).
const QUERY_WAIT_MS: u64 = 10_000;

/// Waits until the fake has been asked about `cid` (`GET /api/v3/order`) `n` times.
async fn wait_queries(fake: &FakeBinance, cid: &str, n: usize) {
    let asked = || {
        let requests = fake.requests();
        requests
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/api/v3/order" && r.param("origClientOrderId").as_deref() == Some(cid))
            .count()
    };
    for _ in 0..QUERY_WAIT_MS / 20 {
        if asked() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{cid}: asked about {} times within {QUERY_WAIT_MS} ms, not {n}: {:?}", asked(), get(cid).await);
}

/// The fake checks `timestamp` against its own clock: keep it on the wall clock.
fn follow_wall_clock(fake: &FakeBinance) {
    let clock = fake.clock.clone();
    tokio::spawn(async move {
        loop {
            clock.set(WallClock.now());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

async fn journal_a_price(rt: &Runtime) {
    let candle = Candle { open_time: Timestamp(0), open: 30_000.0, high: 30_000.0, low: 30_000.0, close: 30_000.0, volume: 1.0 };
    let event = Event::CandlesIngested(CandlesIngested {
        symbol: "BTC/USDT".into(),
        timeframe: Timeframe::H1,
        source: DataSource::Http,
        candles: vec![candle],
    });
    rt.services.record(rt.services.draft(&meta(), event)).await.unwrap();
    for _ in 0..200 {
        if portfolio().await.last_prices.contains_key("BTC/USDT") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the candle never marked the portfolio");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_trading_scenarios() {
    let fake = FakeBinance::start(KEY, SECRET, WallClock.now().as_millis()).await;
    follow_wall_clock(&fake);
    fake.with_state(|s| s.book.balances = vec![("USDT".into(), fixed("100000"), fixed("0")), ("BNB".into(), fixed("1"), fixed("0"))]);
    let dir = tempfile::tempdir().unwrap();
    routes_orders_then_reconciles_after_a_restart(&fake, dir.path()).await;
    an_unreachable_venue_halts_trading().await;
}

async fn routes_orders_then_reconciles_after_a_restart(fake: &FakeBinance, dir: &std::path::Path) {
    let rt = Runtime::start(settings(dir, &fake.url), RuntimeOptions::default()).await.unwrap();
    let p = portfolio().await;
    assert_eq!((p.cash, p.trading_state), (fixed("100000"), TradingState::Active), "funded from the venue's USDT balance");
    assert_eq!(p.venue_balances.as_ref().map(Vec::len), Some(2), "balances shown: {p:?}");
    journal_a_price(&rt).await;

    // A market order: submitted at once, filled by the venue's two fills.
    let o = submit(r#"{"client_order_id":"mkt-1","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.002"}"#).await;
    assert_eq!(o.status, OrderStatus::Submitted, "the venue accepts, not us");
    let o = wait_status("mkt-1", OrderStatus::Filled).await;
    assert_eq!((o.filled_quantity, o.average_price), (fixed("0.002"), Some(fixed("30000.015"))));
    // The fake charges 0.1% in BTC on buys: valued at the fill prices.
    assert_eq!(o.fees, fixed("0.06000003"));
    let p = portfolio().await;
    assert_eq!(p.positions.iter().find(|x| x.symbol == "BTC/USDT").map(|x| x.quantity), Some(fixed("0.002")));
    assert_eq!(p.cash, fixed("100000").checked_sub(fixed("60.00003")).unwrap().checked_sub(fixed("0.06000003")).unwrap());

    // A limit order: accepted at the venue, then canceled there.
    submit(r#"{"client_order_id":"lim-1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.001","price":"29000"}"#).await;
    assert!(wait_status("lim-1", OrderStatus::Accepted).await.reason.is_none());
    let a = execution().await;
    let c = ractor::call!(a, |reply| ExecutionMsg::Cancel {
        order: OrderRef::Client("lim-1".into()),
        reason: "test".into(),
        meta: meta(),
        reply
    })
    .unwrap()
    .unwrap();
    assert_eq!(c.status, OrderStatus::PendingCancel, "the venue confirms the cancel");
    wait_status("lim-1", OrderStatus::Canceled).await;
    assert!(fake.with_state(|s| s.book.orders.iter().any(|o| o.client_order_id == "lim-1" && o.status == "CANCELED")));

    // The venue takes an order but the answer is lost (HTTP 500 after processing): the
    // order stays `submitted` until the tick's query finds it accepted.
    fake.fail_next(1, Failure::ServerErrorAfterProcessing);
    submit(r#"{"client_order_id":"ack-lost","symbol":"BTC/USDT","side":"sell","type":"limit","quantity":"0.001","price":"31000"}"#).await;
    let o = wait_status("ack-lost", OrderStatus::Accepted).await;
    assert_eq!(o.filled_quantity, fixed("0"));
    let queried = fake
        .requests()
        .iter()
        .any(|r| r.method == "GET" && r.path == "/api/v3/order" && r.param("origClientOrderId").as_deref() == Some("ack-lost"));
    assert!(queried, "resolved by a query");

    // A resting order, and one whose placement never reaches the venue.
    submit(r#"{"client_order_id":"rest-1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.001","price":"29500"}"#).await;
    wait_status("rest-1", OrderStatus::Accepted).await;
    fake.fail_next(10_000, Failure::ServerError);
    let lost =
        submit(r#"{"client_order_id":"lost-1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.001","price":"29400"}"#).await;
    // The placement fails (500), and so do the tick's queries. A query is sent only once
    // the previous answer about the order was applied (one request per order at a time):
    // the second query means the placement's and the first query's answers are in.
    wait_queries(fake, "lost-1", 2).await;
    assert_eq!(get("lost-1").await.status, OrderStatus::Submitted, "an unknown outcome is never guessed");
    rt.shutdown().await;

    // While we are down: the venue is back, and the resting order trades.
    fake.with_state(|s| s.failures.clear());
    fake.with_state(|s| s.book.fill_resting("rest-1", fixed("0.001"), fixed("29500"), WallClock.now().as_millis()));
    assert!(fake.with_state(|s| !s.book.orders.iter().any(|o| o.client_order_id == "lost-1")), "the placement never arrived");
    // Not a wait for an event: the order timeout (1 s in `settings`) is a span of time,
    // and the restart expires the order only once it has passed since the submission.
    let since = Duration::from_nanos((WallClock.now().0 - lost.submitted_at.0).max(0) as u64);
    tokio::time::sleep(Duration::from_millis(1_100).saturating_sub(since)).await;

    let asked_before = fake.request_count();
    let rt = Runtime::start(settings(dir, &fake.url), RuntimeOptions::default()).await.unwrap();
    let rest = get("rest-1").await;
    assert_eq!(
        (rest.status, rest.filled_quantity, rest.average_price),
        (OrderStatus::Filled, fixed("0.001"), Some(fixed("29500"))),
        "learned from the venue"
    );
    let lost = get("lost-1").await;
    assert_eq!(lost.status, OrderStatus::Expired);
    assert!(lost.reason.as_deref().unwrap().contains("does not know"), "{lost:?}");
    let queried: Vec<String> =
        fake.requests()[asked_before..].iter().filter(|r| r.path == "/api/v3/order").filter_map(|r| r.param("origClientOrderId")).collect();
    assert!(queried.contains(&"rest-1".to_string()) && queried.contains(&"lost-1".to_string()), "{queried:?}");
    let p = portfolio().await;
    assert_eq!(p.trading_state, TradingState::Active);
    assert_eq!(p.positions.iter().find(|x| x.symbol == "BTC/USDT").map(|x| x.quantity), Some(fixed("0.003")));
    assert_eq!(p.deposits, fixed("100000"), "the venue balance is journaled once, at the first live start");
    rt.shutdown().await;
}

async fn an_unreachable_venue_halts_trading() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::start(settings(dir.path(), &url), RuntimeOptions::default()).await.unwrap();
    let p = portfolio().await;
    assert_eq!(p.trading_state, TradingState::Halted, "no trading on unknown state");
    let r = submit(r#"{"client_order_id":"x-1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.001","price":"29000"}"#).await;
    assert_eq!(r.status, OrderStatus::Rejected);
    rt.shutdown().await;
}
