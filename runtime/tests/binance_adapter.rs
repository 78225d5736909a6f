//! The Binance spot adapter against a fake Binance server over real HTTP (see
//! `binance_fake/`): signing, order life cycle, error mapping, retries, exact decimals.

// Test code: real-time waits and timings against a real HTTP server.
#![allow(clippy::disallowed_methods)]

mod binance_fake;

use binance_fake::{fixed, Failure, FakeBinance};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tradpal_actors::execution::venue::{LiveVenue, VenueBalance, VenueError, VenueFill, VenueOrder};
use tradpal_messages::{Clock, Fixed, OrderStatus, OrderType, Side, SimClock, TimeInForce, Timestamp};
use tradpal_runtime::exchange::binance::{from_venue_symbol, to_venue_symbol, LOCAL_REFUSAL_CODE};
use tradpal_runtime::exchange::{BinanceConfig, BinanceVenue};

const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
/// 2024-01-01T00:00:00Z.
const T0_MS: i64 = 1_704_067_200_000;
const RETRIES_MAX: u32 = 3;
const BACKOFF_BASE_MS: u64 = 5;
const BACKOFF_MAX_MS: u64 = 50;

fn config(url: &str) -> BinanceConfig {
    BinanceConfig {
        base_url: url.to_string(),
        api_key: KEY.into(),
        api_secret: SECRET.into(),
        recv_window_ms: 5_000,
        request_timeout_ms: 2_000,
        retries_max: RETRIES_MAX,
        backoff_base_ms: BACKOFF_BASE_MS,
        backoff_max_ms: BACKOFF_MAX_MS,
    }
}

/// A fake server and an adapter whose clock agrees with it.
async fn setup() -> (FakeBinance, BinanceVenue, SimClock) {
    let fake = FakeBinance::start(KEY, SECRET, T0_MS).await;
    let clock = SimClock::new(Timestamp::from_millis(T0_MS));
    let venue = BinanceVenue::new(config(&fake.url), Arc::new(clock.clone())).unwrap();
    (fake, venue, clock)
}

fn market(symbol: &str, id: &str, side: Side, qty: &str) -> VenueOrder {
    VenueOrder {
        symbol: symbol.into(),
        client_order_id: id.into(),
        side,
        order_type: OrderType::Market,
        quantity: fixed(qty),
        price: None,
        stop_price: None,
        trailing_bps: None,
        time_in_force: TimeInForce::Gtc,
    }
}

fn limit(symbol: &str, id: &str, side: Side, qty: &str, price: &str) -> VenueOrder {
    VenueOrder { order_type: OrderType::Limit, price: Some(fixed(price)), ..market(symbol, id, side, qty) }
}

#[tokio::test]
async fn requests_are_signed_with_the_secret_and_a_wrong_secret_or_key_is_auth() {
    let (fake, venue, _) = setup().await;
    let state = venue.place(limit("BTC/USDT", "sig-1", Side::Buy, "0.01", "25000")).await.unwrap();
    assert_eq!(state.status, OrderStatus::Accepted);
    let r = fake.last_request();
    assert_eq!(r.api_key.as_deref(), Some(KEY));
    assert_eq!((r.param("timestamp").unwrap().as_str(), r.param("recvWindow").unwrap().as_str()), ("1704067200000", "5000"));
    assert!(r.query.ends_with(&format!("&signature={}", r.param("signature").unwrap())), "signature is last: {}", r.query);
    assert_eq!(r.param("signature").unwrap().len(), 64);

    let clock = Arc::new(SimClock::new(Timestamp::from_millis(T0_MS)));
    let wrong_secret =
        BinanceVenue::new(BinanceConfig { api_secret: "not-the-secret".into(), ..config(&fake.url) }, clock.clone()).unwrap();
    let e = wrong_secret.place(limit("BTC/USDT", "sig-2", Side::Buy, "0.01", "25000")).await.unwrap_err();
    assert!(matches!(&e, VenueError::Auth(m) if m.contains("Signature")), "{e:?}");
    let wrong_key = BinanceVenue::new(BinanceConfig { api_key: "someone-else".into(), ..config(&fake.url) }, clock).unwrap();
    assert!(matches!(wrong_key.balances().await, Err(VenueError::Auth(_))));
    // Neither reached the book.
    let open = venue.open_orders(None).await.unwrap();
    assert_eq!(open.iter().map(|o| o.client_order_id.as_str()).collect::<Vec<_>>(), ["sig-1"]);
}

#[tokio::test]
async fn market_order_fills_at_once_with_exact_fills() {
    let (fake, venue, _) = setup().await;
    let state = venue.place(market("BTC/USDT", "mkt-1", Side::Buy, "0.003")).await.unwrap();
    let r = fake.last_request();
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/v3/order"));
    assert_eq!(r.param("quantity").as_deref(), Some("0.003"));
    assert_eq!(r.param("newOrderRespType").as_deref(), Some("FULL"));
    assert_eq!(
        (r.param("symbol").as_deref(), r.param("type").as_deref(), r.param("side").as_deref()),
        (Some("BTCUSDT"), Some("MARKET"), Some("BUY"))
    );
    assert_eq!(r.param("timeInForce"), None);

    assert_eq!(state.status, OrderStatus::Filled);
    assert_eq!((state.symbol.as_str(), state.client_order_id.as_str(), state.venue_order_id.as_str()), ("BTC/USDT", "mkt-1", "1"));
    assert_eq!(state.executed_quantity, fixed("0.003"));
    // 0.001 * 30000.01 + 0.002 * 30000.02, exactly.
    assert_eq!(state.cumulative_quote, fixed("90.00005"));
    assert_eq!(state.update_time_ms, T0_MS);
    let fill = |id, price, qty, commission| VenueFill {
        trade_id: id,
        price: fixed(price),
        quantity: fixed(qty),
        commission: fixed(commission),
        commission_asset: "BTC".into(),
        maker: false,
    };
    assert_eq!(state.fills, vec![fill(100, "30000.01", "0.001", "0.000001"), fill(101, "30000.02", "0.002", "0.000002")]);
    // The same fills through myTrades.
    let fills = venue.fills("BTC/USDT".into(), state.venue_order_id.clone()).await.unwrap();
    assert_eq!(fills, state.fills);
    let r = fake.last_request();
    assert_eq!(
        (r.path.as_str(), r.param("orderId").as_deref(), r.param("limit").as_deref()),
        ("/api/v3/myTrades", Some("1"), Some("1000"))
    );
}

#[tokio::test]
async fn limit_order_is_accepted_then_canceled() {
    let (fake, venue, _) = setup().await;
    let placed = venue.place(limit("ETH/BTC", "lim-1", Side::Sell, "0.5", "0.05123456")).await.unwrap();
    assert_eq!(fake.last_request().param("price").as_deref(), Some("0.05123456"));
    assert_eq!(fake.last_request().param("timeInForce").as_deref(), Some("GTC"));
    assert_eq!((placed.status, placed.executed_quantity, placed.fills.len()), (OrderStatus::Accepted, Fixed::ZERO, 0));
    assert_eq!(placed.symbol, "ETH/BTC");
    venue.place(limit("BTC/USDT", "lim-2", Side::Buy, "0.001", "20000")).await.unwrap();

    let queried = venue.query("ETH/BTC".into(), "lim-1".into()).await.unwrap();
    assert_eq!((queried.status, queried.venue_order_id.as_str()), (OrderStatus::Accepted, placed.venue_order_id.as_str()));
    let all = venue.open_orders(None).await.unwrap();
    let mut seen: Vec<(String, String)> = all.iter().map(|o| (o.symbol.clone(), o.client_order_id.clone())).collect();
    seen.sort();
    assert_eq!(seen, [("BTC/USDT".into(), "lim-2".into()), ("ETH/BTC".into(), "lim-1".into())]);
    assert_eq!(fake.last_request().param("symbol"), None);
    let eth = venue.open_orders(Some("ETH/BTC".into())).await.unwrap();
    assert_eq!(eth.len(), 1);
    assert_eq!(fake.last_request().param("symbol").as_deref(), Some("ETHBTC"));

    let canceled = venue.cancel("ETH/BTC".into(), "lim-1".into()).await.unwrap();
    let r = fake.last_request();
    assert_eq!((r.method.as_str(), r.param("origClientOrderId").as_deref()), ("DELETE", Some("lim-1")));
    // Binance names the cancel request `clientOrderId`: ours comes back as the order's id.
    assert_eq!((canceled.status, canceled.client_order_id.as_str()), (OrderStatus::Canceled, "lim-1"));
    assert_eq!(venue.query("ETH/BTC".into(), "lim-1".into()).await.unwrap().status, OrderStatus::Canceled);
    assert!(matches!(venue.cancel("ETH/BTC".into(), "lim-1".into()).await, Err(VenueError::UnknownOrder(_))));
    assert_eq!(venue.open_orders(Some("ETH/BTC".into())).await.unwrap(), vec![]);
}

#[tokio::test]
async fn duplicate_open_client_order_id_is_refused() {
    let (_fake, venue, _) = setup().await;
    venue.place(limit("BTC/USDT", "dup", Side::Buy, "0.001", "20000")).await.unwrap();
    let e = venue.place(limit("BTC/USDT", "dup", Side::Buy, "0.001", "20000")).await.unwrap_err();
    assert_eq!(e, VenueError::Refused { code: -2010, message: "Duplicate order sent.".into() });
    assert_eq!(venue.open_orders(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_order_and_venue_refusals_map() {
    let (fake, venue, _) = setup().await;
    assert!(
        matches!(venue.query("BTC/USDT".into(), "never-placed".into()).await, Err(VenueError::UnknownOrder(m)) if m == "Order does not exist.")
    );
    let e = venue.place(market("XRP/DOGE", "x-1", Side::Buy, "1")).await.unwrap_err();
    assert_eq!(e, VenueError::Refused { code: -1121, message: "Invalid symbol.".into() });
    // An IOC limit that does not cross expires at once.
    let ioc = VenueOrder { time_in_force: TimeInForce::Ioc, ..limit("BTC/USDT", "ioc-1", Side::Buy, "1", "1") };
    assert_eq!(venue.place(ioc).await.unwrap().status, OrderStatus::Expired);
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn partial_fill_of_a_resting_order_and_its_maker_fills() {
    let (fake, venue, _) = setup().await;
    let placed = venue.place(limit("BTC/USDT", "rest-1", Side::Sell, "1", "31000.5")).await.unwrap();
    fake.clock.advance_nanos(2_000_000_000);
    let now = fake.clock.now().as_millis();
    fake.with_state(|s| s.book.fill_resting("rest-1", fixed("0.4"), fixed("31000.5"), now));
    let q = venue.query("BTC/USDT".into(), "rest-1".into()).await.unwrap();
    assert_eq!((q.status, q.executed_quantity, q.cumulative_quote), (OrderStatus::PartiallyFilled, fixed("0.4"), fixed("12400.2")));
    assert_eq!((q.update_time_ms, q.fills.len()), (T0_MS + 2_000, 0));
    let fills = venue.fills("BTC/USDT".into(), placed.venue_order_id).await.unwrap();
    // A sell pays 0.1% of 12400.2 USDT.
    assert_eq!(
        fills,
        vec![VenueFill {
            trade_id: 100,
            price: fixed("31000.5"),
            quantity: fixed("0.4"),
            commission: fixed("12.4002"),
            commission_asset: "USDT".into(),
            maker: true
        }]
    );
    assert!(matches!(
        venue.fills("BTC/USDT".into(), "not-a-number".into()).await,
        Err(VenueError::Refused { code: LOCAL_REFUSAL_CODE, .. })
    ));
}

#[tokio::test]
async fn stop_and_trailing_orders_send_binance_types() {
    let (fake, venue, _) = setup().await;
    let trailing =
        VenueOrder { order_type: OrderType::TrailingStop, trailing_bps: Some(150), ..market("BTC/USDT", "trail-1", Side::Sell, "0.01") };
    assert_eq!(venue.place(trailing).await.unwrap().status, OrderStatus::Accepted);
    let r = fake.last_request();
    assert_eq!(
        (r.param("type").as_deref(), r.param("trailingDelta").as_deref(), r.param("stopPrice")),
        (Some("STOP_LOSS"), Some("150"), None)
    );
    let stop_limit = VenueOrder {
        order_type: OrderType::StopLimit,
        stop_price: Some(fixed("29000")),
        price: Some(fixed("28990.99")),
        ..market("BTC/USDT", "sl-1", Side::Sell, "0.01")
    };
    assert_eq!(venue.place(stop_limit).await.unwrap().status, OrderStatus::Accepted);
    let r = fake.last_request();
    assert_eq!(
        (r.param("type").as_deref(), r.param("stopPrice").as_deref(), r.param("price").as_deref()),
        (Some("STOP_LOSS_LIMIT"), Some("29000"), Some("28990.99"))
    );
}

#[tokio::test]
async fn rate_limited_twice_then_success_after_retries() {
    let (fake, venue, _) = setup().await;
    fake.fail_next(2, Failure::TooMany { retry_after_s: Some(0) });
    let state = venue.place(limit("BTC/USDT", "rl-1", Side::Buy, "0.001", "20000")).await.unwrap();
    assert_eq!(state.status, OrderStatus::Accepted);
    assert_eq!(fake.request_count(), 3);
    // One order, though the request went out three times.
    assert_eq!(venue.open_orders(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn rate_limited_without_retry_after_backs_off_exponentially_then_gives_up() {
    let (fake, venue, _) = setup().await;
    fake.fail_next(100, Failure::TooMany { retry_after_s: None });
    let started = Instant::now();
    let e = venue.balances().await.unwrap_err();
    // 5 + 10 + 20 ms slept; the next wait would have been 40 ms.
    assert_eq!(e, VenueError::RateLimited { retry_after_ms: 40 });
    assert!(started.elapsed() >= Duration::from_millis(35), "{:?}", started.elapsed());
    assert_eq!(fake.request_count(), RETRIES_MAX as usize + 1);
}

#[tokio::test]
async fn long_retry_after_is_handed_back_not_slept() {
    let (fake, venue, _) = setup().await;
    fake.fail_next(1, Failure::TooMany { retry_after_s: Some(120) });
    let started = Instant::now();
    assert_eq!(venue.balances().await, Err(VenueError::RateLimited { retry_after_ms: 120_000 }));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn banned_is_not_retried() {
    let (fake, venue, _) = setup().await;
    fake.fail_next(5, Failure::Banned { retry_after_s: 300 });
    let e = venue.place(market("BTC/USDT", "ban-1", Side::Buy, "0.001")).await.unwrap_err();
    assert_eq!(e, VenueError::Banned { retry_after_ms: 300_000 });
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn server_error_on_place_is_unknown_and_never_resent() {
    let (fake, venue, _) = setup().await;
    fake.fail_next(1, Failure::ServerError);
    let e = venue.place(market("BTC/USDT", "u-1", Side::Buy, "0.001")).await.unwrap_err();
    assert!(matches!(e, VenueError::Unknown(_)), "{e:?}");
    assert_eq!(fake.request_count(), 1);
    // Here the server had not acted: the query says so.
    assert!(matches!(venue.query("BTC/USDT".into(), "u-1".into()).await, Err(VenueError::UnknownOrder(_))));

    // Here it had: the order exists once, and the query finds it.
    fake.fail_next(1, Failure::ServerErrorAfterProcessing);
    let e = venue.place(limit("BTC/USDT", "u-2", Side::Buy, "0.001", "20000")).await.unwrap_err();
    assert!(matches!(e, VenueError::Unknown(_)), "{e:?}");
    assert_eq!(fake.request_count(), 3);
    assert_eq!(venue.query("BTC/USDT".into(), "u-2".into()).await.unwrap().status, OrderStatus::Accepted);
}

#[tokio::test]
async fn timeout_is_unknown_and_not_retried() {
    let fake = FakeBinance::start(KEY, SECRET, T0_MS).await;
    let clock = Arc::new(SimClock::new(Timestamp::from_millis(T0_MS)));
    let venue = BinanceVenue::new(BinanceConfig { request_timeout_ms: 100, ..config(&fake.url) }, clock).unwrap();
    fake.fail_next(1, Failure::Delay { ms: 600 });
    let e = venue.place(market("BTC/USDT", "slow-1", Side::Buy, "0.001")).await.unwrap_err();
    assert!(matches!(&e, VenueError::Unknown(m) if m.contains("100 ms")), "{e:?}");
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn connection_refused_is_unknown() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let venue = BinanceVenue::new(config(&url), Arc::new(SimClock::new(Timestamp::from_millis(T0_MS)))).unwrap();
    assert!(matches!(venue.balances().await, Err(VenueError::Unknown(_))));
}

#[tokio::test]
async fn balances_are_exact_and_zero_ones_omitted() {
    let (fake, venue, _) = setup().await;
    fake.with_state(|s| {
        s.book.balances = vec![
            ("BTC".into(), fixed("0.12345678"), fixed("0.00000001")),
            ("ETH".into(), Fixed::ZERO, Fixed::ZERO),
            ("USDT".into(), fixed("1000000.5"), Fixed::ZERO),
            ("BNB".into(), Fixed::ZERO, fixed("2.5")),
        ]
    });
    let expected = vec![
        VenueBalance { asset: "BTC".into(), free: Fixed::from_raw(12_345_678), locked: Fixed::from_raw(1) },
        VenueBalance { asset: "USDT".into(), free: fixed("1000000.5"), locked: Fixed::ZERO },
        VenueBalance { asset: "BNB".into(), free: Fixed::ZERO, locked: fixed("2.5") },
    ];
    assert_eq!(venue.balances().await.unwrap(), expected);
    assert_eq!(fake.last_request().param("omitZeroBalances").as_deref(), Some("true"));
    // A server that sends zero balances anyway: the adapter drops them itself.
    fake.with_state(|s| s.book.honour_omit_zero = false);
    assert_eq!(venue.balances().await.unwrap(), expected);
}

#[tokio::test]
async fn gtd_and_malformed_orders_are_refused_without_a_request() {
    let (fake, venue, _) = setup().await;
    let gtd = VenueOrder { time_in_force: TimeInForce::Gtd, ..limit("BTC/USDT", "gtd-1", Side::Buy, "1", "1") };
    let e = venue.place(gtd).await.unwrap_err();
    assert!(matches!(&e, VenueError::Refused { code: LOCAL_REFUSAL_CODE, message } if message.contains("GTD")), "{e:?}");
    assert!(matches!(
        venue.place(market("btcusdt", "s-1", Side::Buy, "1")).await,
        Err(VenueError::Refused { code: LOCAL_REFUSAL_CODE, .. })
    ));
    assert!(matches!(
        venue.place(market("BTC/USDT", "bad id!", Side::Buy, "1")).await,
        Err(VenueError::Refused { code: LOCAL_REFUSAL_CODE, .. })
    ));
    assert!(matches!(venue.cancel("BTCUSDT".into(), "c".into()).await, Err(VenueError::Refused { code: LOCAL_REFUSAL_CODE, .. })));
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn timestamps_outside_the_recv_window_are_refused() {
    let (fake, venue, clock) = setup().await;
    // The server is 6 s ahead of us: our timestamp is older than recvWindow (5 s).
    fake.clock.advance_nanos(6_000_000_000);
    assert_eq!(
        venue.balances().await.unwrap_err(),
        VenueError::Refused { code: -1021, message: "Timestamp for this request is outside of the recvWindow.".into() }
    );
    // Within the window again.
    clock.advance_nanos(2_000_000_000);
    assert!(venue.balances().await.is_ok());
    // More than 1 s ahead of the server.
    clock.advance_nanos(5_000_000_000);
    assert!(matches!(venue.balances().await, Err(VenueError::Refused { code: -1021, .. })));
}

#[test]
fn symbols_map_both_ways() {
    for (ours, theirs) in [("BTC/USDT", "BTCUSDT"), ("ETH/BTC", "ETHBTC"), ("BNB/FDUSD", "BNBFDUSD"), ("1INCH/USDC", "1INCHUSDC")] {
        assert_eq!(to_venue_symbol(ours).unwrap(), theirs);
        assert_eq!(from_venue_symbol(theirs), ours);
    }
}

#[test]
fn config_debug_masks_key_and_secret_and_bad_configs_fail() {
    let c = config("http://127.0.0.1:1");
    let shown = format!("{c:?}");
    assert!(!shown.contains(KEY) && !shown.contains(SECRET) && !shown.contains(&KEY[..8]), "{shown}");
    assert!(shown.contains("127.0.0.1:1"));
    let clock = || Arc::new(SimClock::new(Timestamp::from_millis(T0_MS)));
    let venue = BinanceVenue::new(c.clone(), clock()).unwrap();
    assert!(!format!("{venue:?}").contains(KEY));
    assert_eq!(venue.name(), "binance");
    for bad in [
        BinanceConfig { base_url: "127.0.0.1:1".into(), ..c.clone() },
        BinanceConfig { base_url: "http://x/".into(), ..c.clone() },
        BinanceConfig { api_secret: String::new(), ..c.clone() },
        BinanceConfig { recv_window_ms: 60_001, ..c.clone() },
        BinanceConfig { backoff_base_ms: 100, backoff_max_ms: 10, ..c.clone() },
    ] {
        assert!(BinanceVenue::new(bad, clock()).is_err());
    }
}
