//! Our types <-> Binance spot JSON: symbols (`BTC/USDT` <-> `BTCUSDT`), order parameters,
//! statuses, and the order, fill, trade and balance responses.
//!
//! Binance sends every decimal as a string with 8 decimals (`"0.00100000"`); [`Fixed`]
//! reads those exactly. We send [`Fixed`]'s trimmed text (`0.001`), which Binance accepts.

use super::sign::Params;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tradpal_actors::execution::venue::{VenueBalance, VenueError, VenueFill, VenueOrder, VenueOrderState};
use tradpal_messages::{Fixed, OrderStatus, OrderType, Side, TimeInForce};

/// `code` of a [`VenueError::Refused`] produced by the adapter itself: the request was
/// never sent. (Binance's own codes are negative; a positive code is the HTTP status of
/// an error response without a readable body.)
pub const LOCAL_REFUSAL_CODE: i64 = 0;
/// Binance's rule for `newClientOrderId`: `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
pub const CLIENT_ORDER_ID_LEN_MAX: usize = 36;
/// Quote assets recognised when a venue symbol comes back without our spelling (open
/// orders of all symbols). Longest match wins (`FDUSD` before `USD...`).
pub const QUOTE_ASSETS: &[&str] = &[
    "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDP", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "JPY", "GBP", "AUD", "XRP", "TRX",
    "DOGE", "SOL", "PLN", "RON", "ZAR", "UAH", "ARS", "MXN", "COP", "CZK", "IDR",
];
/// Characters included in an error message quoting a response body.
const BODY_QUOTE_MAX: usize = 200;

pub fn local_refusal(message: impl Into<String>) -> VenueError {
    VenueError::Refused { code: LOCAL_REFUSAL_CODE, message: message.into() }
}

/// `BTC/USDT` -> `BTCUSDT`. Both parts must be upper-case ASCII letters or digits.
pub fn to_venue_symbol(symbol: &str) -> Result<String, VenueError> {
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    match symbol.split_once('/') {
        Some((base, quote)) if ok(base) && ok(quote) => Ok(format!("{base}{quote}")),
        _ => Err(local_refusal(format!("symbol {symbol:?} is not BASE/QUOTE in upper case (e.g. BTC/USDT)"))),
    }
}

/// `BTCUSDT` -> `BTC/USDT` by the longest known quote asset suffix; a symbol with no
/// known quote comes back unchanged (without a slash) rather than guessed.
pub fn from_venue_symbol(symbol: &str) -> String {
    QUOTE_ASSETS
        .iter()
        .filter(|q| symbol.len() > q.len() && symbol.ends_with(*q))
        .max_by_key(|q| q.len())
        .map(|q| format!("{}/{}", &symbol[..symbol.len() - q.len()], q))
        .unwrap_or_else(|| symbol.to_string())
}

/// Binance order status -> ours (see `VenueOrderState::status`). `PENDING_NEW` (an order
/// list leg waiting for its working leg) is at the venue: accepted.
pub fn status_from_venue(status: &str) -> Option<OrderStatus> {
    Some(match status {
        "NEW" | "PENDING_NEW" => OrderStatus::Accepted,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "FILLED" => OrderStatus::Filled,
        "CANCELED" => OrderStatus::Canceled,
        "PENDING_CANCEL" => OrderStatus::PendingCancel,
        "REJECTED" => OrderStatus::Rejected,
        "EXPIRED" | "EXPIRED_IN_MATCH" => OrderStatus::Expired,
        _ => return None,
    })
}

pub fn side_to_venue(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// GTC/IOC/FOK; GTD has no Binance spot equivalent and is refused.
pub fn tif_to_venue(tif: TimeInForce) -> Result<&'static str, VenueError> {
    match tif {
        TimeInForce::Gtc => Ok("GTC"),
        TimeInForce::Ioc => Ok("IOC"),
        TimeInForce::Fok => Ok("FOK"),
        TimeInForce::Gtd => Err(local_refusal("time in force GTD is not supported by Binance spot (GTC, IOC, FOK only)")),
    }
}

pub fn check_client_order_id(id: &str) -> Result<(), VenueError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'_' | b'-');
    if id.is_empty() || id.len() > CLIENT_ORDER_ID_LEN_MAX || !id.bytes().all(allowed) {
        return Err(local_refusal(format!("client order id {id:?} does not match Binance's [.A-Z:/a-z0-9_-]{{1,36}}")));
    }
    Ok(())
}

fn positive(name: &str, value: Option<Fixed>, order_type: OrderType) -> Result<Fixed, VenueError> {
    match value {
        Some(v) if v.is_positive() => Ok(v),
        Some(v) => Err(local_refusal(format!("{name} {v} of a {} order must be positive", order_type.as_str()))),
        None => Err(local_refusal(format!("a {} order needs a {name}", order_type.as_str()))),
    }
}

/// The parameters of `POST /api/v3/order` for `order` (without `recvWindow`, `timestamp`
/// and `signature`). Fields the order type does not use are not sent (Binance refuses
/// unexpected ones, -1106); a trailing stop's `stop_price` is not sent either, because
/// Binance reads `stopPrice` next to `trailingDelta` as an activation price, so the
/// trailing starts at once from the market price.
pub fn order_params(order: &VenueOrder) -> Result<Params, VenueError> {
    check_client_order_id(&order.client_order_id)?;
    let tif = tif_to_venue(order.time_in_force)?;
    let quantity = positive("quantity", Some(order.quantity), order.order_type)?;
    let t = order.order_type;
    let mut p: Params = vec![("symbol", to_venue_symbol(&order.symbol)?), ("side", side_to_venue(order.side).to_string())];
    // (Binance type, limit price if any, stop price if any, trailing delta if any)
    let (kind, price, stop, trailing) = match t {
        OrderType::Market => ("MARKET", None, None, None),
        OrderType::Limit => ("LIMIT", Some(positive("price", order.price, t)?), None, None),
        OrderType::StopMarket => ("STOP_LOSS", None, Some(positive("stop price", order.stop_price, t)?), None),
        OrderType::StopLimit => {
            ("STOP_LOSS_LIMIT", Some(positive("price", order.price, t)?), Some(positive("stop price", order.stop_price, t)?), None)
        }
        OrderType::TakeProfit => {
            let stop = Some(positive("stop price", order.stop_price, t)?);
            match order.price {
                None => ("TAKE_PROFIT", None, stop, None),
                Some(_) => ("TAKE_PROFIT_LIMIT", Some(positive("price", order.price, t)?), stop, None),
            }
        }
        OrderType::TrailingStop => {
            let bps = order.trailing_bps.filter(|b| *b > 0).ok_or_else(|| local_refusal("a trailing stop needs trailing_bps > 0"))?;
            match order.price {
                None => ("STOP_LOSS", None, None, Some(bps)),
                Some(_) => ("STOP_LOSS_LIMIT", Some(positive("price", order.price, t)?), None, Some(bps)),
            }
        }
    };
    p.push(("type", kind.to_string()));
    if price.is_some() {
        p.push(("timeInForce", tif.to_string()));
    }
    p.push(("quantity", quantity.to_string()));
    if let Some(price) = price {
        p.push(("price", price.to_string()));
    }
    if let Some(stop) = stop {
        p.push(("stopPrice", stop.to_string()));
    }
    if let Some(bps) = trailing {
        p.push(("trailingDelta", bps.to_string()));
    }
    p.push(("newClientOrderId", order.client_order_id.clone()));
    p.push(("newOrderRespType", "FULL".to_string()));
    Ok(p)
}

/// Binance's error body: `{"code":-1013,"msg":"..."}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub code: i64,
    pub msg: String,
}

/// An order as Binance returns it from `POST`, `DELETE` and `GET /api/v3/order` and
/// `GET /api/v3/openOrders` (the fields we use; others are ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderJson {
    pub symbol: String,
    pub order_id: u64,
    /// The cancel request's own id in a `DELETE` response; the order's id otherwise.
    pub client_order_id: String,
    /// The order's id in a `DELETE` response.
    #[serde(default)]
    pub orig_client_order_id: Option<String>,
    pub status: String,
    pub executed_qty: Fixed,
    pub cummulative_quote_qty: Fixed,
    #[serde(default)]
    pub fills: Vec<FillJson>,
    #[serde(default)]
    pub transact_time: Option<i64>,
    #[serde(default)]
    pub update_time: Option<i64>,
    #[serde(default)]
    pub time: Option<i64>,
}

/// One fill of a `newOrderRespType=FULL` response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FillJson {
    pub price: Fixed,
    pub qty: Fixed,
    pub commission: Fixed,
    pub commission_asset: String,
    pub trade_id: u64,
}

/// One entry of `GET /api/v3/myTrades`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TradeJson {
    pub id: u64,
    pub price: Fixed,
    pub qty: Fixed,
    pub commission: Fixed,
    pub commission_asset: String,
    pub is_maker: bool,
}

#[derive(Debug, Deserialize)]
pub struct AccountJson {
    pub balances: Vec<BalanceJson>,
}

#[derive(Debug, Deserialize)]
pub struct BalanceJson {
    pub asset: String,
    pub free: Fixed,
    pub locked: Fixed,
}

/// Parses a 2xx body. A body we cannot read is `Unknown`: the request did reach Binance
/// (an order may exist), so the caller must query rather than assume a failure.
pub fn parse<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, VenueError> {
    serde_json::from_str(body).map_err(|e| {
        let quoted: String = body.chars().take(BODY_QUOTE_MAX).collect();
        VenueError::Unknown(format!("unreadable Binance response to {what} ({e}): {quoted}"))
    })
}

/// An order response in our terms. `symbol` is our spelling when the caller knows it
/// (it asked about that symbol); otherwise it is derived from Binance's.
pub fn order_state(json: OrderJson, symbol: Option<&str>) -> Result<VenueOrderState, VenueError> {
    let status = status_from_venue(&json.status)
        .ok_or_else(|| VenueError::Unknown(format!("unrecognised Binance order status {:?}", json.status)))?;
    // Fills at placement take liquidity: the order crossed the book as it arrived.
    let fills = json
        .fills
        .into_iter()
        .map(|f| VenueFill {
            trade_id: f.trade_id,
            price: f.price,
            quantity: f.qty,
            commission: f.commission,
            commission_asset: f.commission_asset,
            maker: false,
        })
        .collect();
    Ok(VenueOrderState {
        symbol: symbol.map(str::to_string).unwrap_or_else(|| from_venue_symbol(&json.symbol)),
        client_order_id: json.orig_client_order_id.unwrap_or(json.client_order_id),
        venue_order_id: json.order_id.to_string(),
        status,
        executed_quantity: json.executed_qty,
        cumulative_quote: json.cummulative_quote_qty,
        fills,
        update_time_ms: json.update_time.or(json.transact_time).or(json.time).unwrap_or(0),
    })
}

pub fn trade_fill(t: TradeJson) -> VenueFill {
    VenueFill {
        trade_id: t.id,
        price: t.price,
        quantity: t.qty,
        commission: t.commission,
        commission_asset: t.commission_asset,
        maker: t.is_maker,
    }
}

/// Balances with something free or locked (zero balances are omitted).
pub fn balances(account: AccountJson) -> Vec<VenueBalance> {
    account
        .balances
        .into_iter()
        .filter(|b| !(b.free.is_zero() && b.locked.is_zero()))
        .map(|b| VenueBalance { asset: b.asset, free: b.free, locked: b.locked })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(order_type: OrderType) -> VenueOrder {
        VenueOrder {
            symbol: "BTC/USDT".into(),
            client_order_id: "c-1".into(),
            side: Side::Sell,
            order_type,
            quantity: Fixed::parse("0.00100000").unwrap(),
            price: None,
            stop_price: None,
            trailing_bps: None,
            time_in_force: TimeInForce::Gtc,
        }
    }

    fn text(p: &Params) -> String {
        super::super::sign::encode_query(p)
    }

    #[test]
    fn symbols_map_both_ways() {
        assert_eq!(to_venue_symbol("BTC/USDT").unwrap(), "BTCUSDT");
        assert_eq!(to_venue_symbol("1000SATS/FDUSD").unwrap(), "1000SATSFDUSD");
        for bad in ["BTCUSDT", "btc/usdt", "BTC/", "/USDT", "BTC/US/DT", "BTC-USDT"] {
            assert!(matches!(to_venue_symbol(bad), Err(VenueError::Refused { code: LOCAL_REFUSAL_CODE, .. })), "{bad}");
        }
        assert_eq!(from_venue_symbol("BTCUSDT"), "BTC/USDT");
        assert_eq!(from_venue_symbol("ETHBTC"), "ETH/BTC");
        assert_eq!(from_venue_symbol("BTCFDUSD"), "BTC/FDUSD");
        assert_eq!(from_venue_symbol("USDTTRY"), "USDT/TRY");
        assert_eq!(from_venue_symbol("XYZABC"), "XYZABC");
        assert_eq!(from_venue_symbol("USDT"), "USDT");
    }

    #[test]
    fn statuses_map() {
        assert_eq!(status_from_venue("NEW"), Some(OrderStatus::Accepted));
        assert_eq!(status_from_venue("EXPIRED_IN_MATCH"), Some(OrderStatus::Expired));
        assert_eq!(status_from_venue("PENDING_CANCEL"), Some(OrderStatus::PendingCancel));
        assert_eq!(status_from_venue("new"), None);
    }

    #[test]
    fn order_types_map_to_binance_parameters() {
        let tail = "newClientOrderId=c-1&newOrderRespType=FULL";
        let p = order_params(&order(OrderType::Market)).unwrap();
        assert_eq!(text(&p), format!("symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001&{tail}"));
        let p = order_params(&VenueOrder {
            price: Some(Fixed::parse("30000.10").unwrap()),
            time_in_force: TimeInForce::Ioc,
            ..order(OrderType::Limit)
        })
        .unwrap();
        assert_eq!(text(&p), format!("symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=IOC&quantity=0.001&price=30000.1&{tail}"));
        let stop = Some(Fixed::parse("29000").unwrap());
        let p = order_params(&VenueOrder { stop_price: stop, ..order(OrderType::StopMarket) }).unwrap();
        assert_eq!(text(&p), format!("symbol=BTCUSDT&side=SELL&type=STOP_LOSS&quantity=0.001&stopPrice=29000&{tail}"));
        let p = order_params(&VenueOrder { stop_price: stop, price: Some(Fixed::from_int(28990)), ..order(OrderType::StopLimit) }).unwrap();
        assert!(text(&p).contains("type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.001&price=28990&stopPrice=29000&"));
        let p = order_params(&VenueOrder { stop_price: stop, ..order(OrderType::TakeProfit) }).unwrap();
        assert!(text(&p).contains("type=TAKE_PROFIT&quantity=0.001&stopPrice=29000&"));
        let p = order_params(&VenueOrder { stop_price: stop, price: Some(Fixed::from_int(1)), ..order(OrderType::TakeProfit) }).unwrap();
        assert!(text(&p).contains("type=TAKE_PROFIT_LIMIT&timeInForce=GTC&quantity=0.001&price=1&stopPrice=29000&"));
        let p = order_params(&VenueOrder { trailing_bps: Some(150), stop_price: stop, ..order(OrderType::TrailingStop) }).unwrap();
        assert_eq!(text(&p), format!("symbol=BTCUSDT&side=SELL&type=STOP_LOSS&quantity=0.001&trailingDelta=150&{tail}"));
        let p = order_params(&VenueOrder { trailing_bps: Some(150), price: Some(Fixed::from_int(2)), ..order(OrderType::TrailingStop) })
            .unwrap();
        assert!(text(&p).contains("type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.001&price=2&trailingDelta=150&"));
    }

    #[test]
    fn incomplete_or_unsupported_orders_are_refused_locally() {
        let refused = |o: VenueOrder| matches!(order_params(&o), Err(VenueError::Refused { code: LOCAL_REFUSAL_CODE, .. }));
        assert!(refused(order(OrderType::Limit)));
        assert!(refused(order(OrderType::StopMarket)));
        assert!(refused(order(OrderType::TrailingStop)));
        assert!(refused(VenueOrder { trailing_bps: Some(0), ..order(OrderType::TrailingStop) }));
        assert!(refused(VenueOrder { quantity: Fixed::ZERO, ..order(OrderType::Market) }));
        assert!(refused(VenueOrder { price: Some(Fixed::from_int(-1)), ..order(OrderType::Limit) }));
        assert!(refused(VenueOrder { time_in_force: TimeInForce::Gtd, ..order(OrderType::Market) }));
        assert!(refused(VenueOrder { client_order_id: "has space".into(), ..order(OrderType::Market) }));
        assert!(refused(VenueOrder { client_order_id: "x".repeat(37), ..order(OrderType::Market) }));
        assert!(!refused(VenueOrder { client_order_id: "A.b:c/d_e-f".into(), ..order(OrderType::Market) }));
    }

    #[test]
    fn responses_parse_exactly() {
        let body = r#"{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"cancel-9",
            "origClientOrderId":"c-1","transactTime":1507725176595,"price":"0.00000000",
            "origQty":"10.00000000","executedQty":"0.00100000","cummulativeQuoteQty":"30.00001000",
            "status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"SELL"}"#;
        let s = order_state(parse("test", body).unwrap(), None).unwrap();
        assert_eq!((s.symbol.as_str(), s.client_order_id.as_str(), s.venue_order_id.as_str()), ("BTC/USDT", "c-1", "28"));
        assert_eq!(
            (s.status, s.executed_quantity, s.cumulative_quote),
            (OrderStatus::Canceled, Fixed::from_raw(100_000), Fixed::from_raw(3_000_001_000))
        );
        assert_eq!(s.update_time_ms, 1_507_725_176_595);
        let bad = parse::<OrderJson>("test", r#"{"symbol":"BTCUSDT"}"#).unwrap_err();
        assert!(matches!(bad, VenueError::Unknown(_)), "{bad:?}");
        let weird = body.replace("CANCELED", "MYSTERY");
        assert!(matches!(order_state(parse("test", &weird).unwrap(), None), Err(VenueError::Unknown(_))));
    }
}
