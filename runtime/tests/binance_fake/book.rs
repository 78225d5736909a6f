//! The fake server's account: orders, trades, balances, and the endpoints over them.

// Handlers return the error response itself as `Err` (test code: size does not matter).
#![allow(clippy::result_large_err)]

use super::error;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use tradpal_messages::{Fixed, Rounding};

pub struct Order {
    pub symbol: String,
    pub order_id: u64,
    pub client_order_id: String,
    pub side: String,
    pub kind: String,
    pub tif: Option<String>,
    pub price: Fixed,
    pub stop_price: Fixed,
    pub trailing_delta: Option<u32>,
    pub orig_qty: Fixed,
    pub executed: Fixed,
    pub cum_quote: Fixed,
    pub status: &'static str,
    pub time: i64,
    pub update_time: i64,
}

impl Order {
    fn is_open(&self) -> bool {
        matches!(self.status, "NEW" | "PARTIALLY_FILLED")
    }
}

pub struct Trade {
    pub id: u64,
    pub order_id: u64,
    pub symbol: String,
    pub price: Fixed,
    pub qty: Fixed,
    pub commission: Fixed,
    pub commission_asset: String,
    pub is_maker: bool,
    pub is_buyer: bool,
    pub time: i64,
}

pub struct Book {
    pub orders: Vec<Order>,
    pub trades: Vec<Trade>,
    /// (asset, free, locked) in the order returned.
    pub balances: Vec<(String, Fixed, Fixed)>,
    /// Symbol -> (base, quote, price a MARKET order fills at first).
    pub markets: HashMap<String, (&'static str, &'static str, Fixed)>,
    /// When false, `omitZeroBalances=true` is ignored (zero balances are sent anyway).
    pub honour_omit_zero: bool,
    next_order_id: u64,
    next_trade_id: u64,
    next_cancel_id: u64,
}

/// A decimal as Binance prints it: always 8 decimals.
pub fn fmt8(x: Fixed) -> String {
    let r = x.raw();
    let sign = if r < 0 { "-" } else { "" };
    format!("{sign}{}.{:08}", r.abs() / 100_000_000, r.abs() % 100_000_000)
}

fn fx(text: &str) -> Fixed {
    Fixed::parse(text).unwrap()
}

fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn missing(name: &str) -> Response {
    error(StatusCode::BAD_REQUEST, -1102, &format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."))
}

type Params = BTreeMap<String, String>;

/// A decimal parameter, if sent; an error response if malformed.
fn decimal(p: &Params, name: &str) -> Result<Option<Fixed>, Response> {
    match p.get(name) {
        None => Ok(None),
        Some(v) => Fixed::parse(v).map(Some).map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                -1100,
                &format!("Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."),
            )
        }),
    }
}

impl Book {
    pub fn new() -> Self {
        let markets = HashMap::from([
            ("BTCUSDT".to_string(), ("BTC", "USDT", fx("30000.01"))),
            ("ETHBTC".to_string(), ("ETH", "BTC", fx("0.05"))),
            ("ETHUSDT".to_string(), ("ETH", "USDT", fx("2000"))),
        ]);
        Self {
            orders: vec![],
            trades: vec![],
            balances: vec![],
            markets,
            honour_omit_zero: true,
            next_order_id: 1,
            next_trade_id: 100,
            next_cancel_id: 1,
        }
    }

    pub fn dispatch(&mut self, method: &Method, path: &str, p: &Params, now_ms: i64) -> Response {
        let result = match (method.as_str(), path) {
            ("POST", "/api/v3/order") => self.new_order(p, now_ms),
            ("DELETE", "/api/v3/order") => self.cancel(p, now_ms),
            ("GET", "/api/v3/order") => self.query(p),
            ("GET", "/api/v3/openOrders") => Ok(ok(Value::Array(
                self.orders.iter().filter(|o| o.is_open() && p.get("symbol").is_none_or(|s| *s == o.symbol)).map(order_json).collect(),
            ))),
            ("GET", "/api/v3/myTrades") => self.my_trades(p),
            ("GET", "/api/v3/account") => Ok(self.account(p)),
            _ => Ok((StatusCode::NOT_FOUND, "not found").into_response()),
        };
        result.unwrap_or_else(|r| r)
    }

    fn find(&self, p: &Params) -> Result<Option<usize>, Response> {
        let symbol = p.get("symbol").ok_or_else(|| missing("symbol"))?;
        let by_client = p.get("origClientOrderId");
        let by_id: Option<u64> = p.get("orderId").and_then(|i| i.parse().ok());
        if by_client.is_none() && by_id.is_none() {
            return Err(missing("orderId"));
        }
        Ok(self.orders.iter().rposition(|o| {
            &o.symbol == symbol && by_client.is_none_or(|c| *c == o.client_order_id) && by_id.is_none_or(|i| i == o.order_id)
        }))
    }

    fn query(&self, p: &Params) -> Result<Response, Response> {
        match self.find(p)? {
            Some(i) => Ok(ok(order_json(&self.orders[i]))),
            None => Err(error(StatusCode::BAD_REQUEST, -2013, "Order does not exist.")),
        }
    }

    fn cancel(&mut self, p: &Params, now_ms: i64) -> Result<Response, Response> {
        let Some(i) = self.find(p)?.filter(|i| self.orders[*i].is_open()) else {
            return Err(error(StatusCode::BAD_REQUEST, -2011, "Unknown order sent."));
        };
        let cancel_id = format!("cancel{}", self.next_cancel_id);
        self.next_cancel_id += 1;
        let o = &mut self.orders[i];
        o.status = "CANCELED";
        o.update_time = now_ms;
        let mut body = order_json(o);
        body["origClientOrderId"] = json!(o.client_order_id);
        body["clientOrderId"] = json!(cancel_id);
        body["transactTime"] = json!(now_ms);
        for k in ["time", "updateTime", "isWorking", "workingTime"] {
            body.as_object_mut().unwrap().remove(k);
        }
        Ok(ok(body))
    }

    /// Checks the parameters a type requires and refuses those it does not take.
    fn check_type(kind: &str, p: &Params) -> Result<(), Response> {
        let (limit, stop) = match kind {
            "MARKET" => (false, false),
            "LIMIT" => (true, false),
            "STOP_LOSS" | "TAKE_PROFIT" => (false, true),
            "STOP_LOSS_LIMIT" | "TAKE_PROFIT_LIMIT" => (true, true),
            _ => return Err(error(StatusCode::BAD_REQUEST, -1116, "Invalid orderType.")),
        };
        for (name, wanted) in [("timeInForce", limit), ("price", limit)] {
            match (p.contains_key(name), wanted) {
                (false, true) => return Err(missing(name)),
                (true, false) => return Err(error(StatusCode::BAD_REQUEST, -1106, &format!("Parameter '{name}' sent when not required."))),
                _ => {}
            }
        }
        if stop && !p.contains_key("stopPrice") && !p.contains_key("trailingDelta") {
            return Err(missing("stopPrice"));
        }
        if !stop && (p.contains_key("stopPrice") || p.contains_key("trailingDelta")) {
            return Err(error(StatusCode::BAD_REQUEST, -1106, "Parameter 'stopPrice' sent when not required."));
        }
        match p.get("timeInForce").map(String::as_str) {
            None | Some("GTC" | "IOC" | "FOK") => Ok(()),
            Some(_) => Err(error(StatusCode::BAD_REQUEST, -1115, "Invalid timeInForce.")),
        }
    }

    fn new_order(&mut self, p: &Params, now_ms: i64) -> Result<Response, Response> {
        let symbol = p.get("symbol").ok_or_else(|| missing("symbol"))?.clone();
        let &(base, quote, market_price) =
            self.markets.get(&symbol).ok_or_else(|| error(StatusCode::BAD_REQUEST, -1121, "Invalid symbol."))?;
        let side = p.get("side").filter(|s| *s == "BUY" || *s == "SELL").ok_or_else(|| missing("side"))?.clone();
        let kind = p.get("type").ok_or_else(|| missing("type"))?.clone();
        Self::check_type(&kind, p)?;
        let qty = decimal(p, "quantity")?.ok_or_else(|| missing("quantity"))?;
        let client_order_id = p.get("newClientOrderId").cloned().unwrap_or_else(|| format!("gen{}", self.next_order_id));
        if self.orders.iter().any(|o| o.client_order_id == client_order_id && o.is_open()) {
            return Err(error(StatusCode::BAD_REQUEST, -2010, "Duplicate order sent."));
        }
        let mut order = Order {
            symbol: symbol.clone(),
            order_id: self.next_order_id,
            client_order_id,
            side: side.clone(),
            kind: kind.clone(),
            tif: p.get("timeInForce").cloned(),
            price: decimal(p, "price")?.unwrap_or(Fixed::ZERO),
            stop_price: decimal(p, "stopPrice")?.unwrap_or(Fixed::ZERO),
            trailing_delta: p.get("trailingDelta").and_then(|t| t.parse().ok()),
            orig_qty: qty,
            executed: Fixed::ZERO,
            cum_quote: Fixed::ZERO,
            status: "NEW",
            time: now_ms,
            update_time: now_ms,
        };
        self.next_order_id += 1;
        let mut fills = vec![];
        if kind == "MARKET" {
            // Two fills: up to 0.001 at the market price, the rest one tick (0.01) higher.
            let first = qty.min(fx("0.001"));
            for (q, px) in [(first, market_price), (qty.checked_sub(first).unwrap(), market_price.checked_add(fx("0.01")).unwrap())] {
                if q.is_positive() {
                    let t = self.execute(&mut order, q, px, false, (base, quote), now_ms);
                    fills.push(json!({ "price": fmt8(t.price), "qty": fmt8(t.qty), "commission": fmt8(t.commission), "commissionAsset": t.commission_asset, "tradeId": t.id }));
                    self.trades.push(t);
                }
            }
        } else if kind == "LIMIT" && matches!(order.tif.as_deref(), Some("IOC" | "FOK")) {
            // Nothing crosses in this fake book: an IOC/FOK limit expires at once.
            order.status = "EXPIRED";
        }
        let mut body = order_json(&order);
        body["transactTime"] = json!(now_ms);
        body["fills"] = Value::Array(fills);
        for k in ["time", "updateTime", "isWorking", "stopPrice", "icebergQty"] {
            body.as_object_mut().unwrap().remove(k);
        }
        if p.get("newOrderRespType").map(String::as_str) != Some("FULL") {
            body = json!({ "symbol": symbol, "orderId": order.order_id, "orderListId": -1, "clientOrderId": order.client_order_id, "transactTime": now_ms });
        }
        self.orders.push(order);
        Ok(ok(body))
    }

    /// One execution of `o`: updates it and returns the trade (not yet stored).
    fn execute(&mut self, o: &mut Order, qty: Fixed, price: Fixed, maker: bool, (base, quote): (&str, &str), now_ms: i64) -> Trade {
        let notional = price.checked_mul(qty, Rounding::Nearest).unwrap();
        let is_buyer = o.side == "BUY";
        // 0.1% fee, in what the order receives.
        let fee_rate = fx("0.001");
        let (commission, asset) = if is_buyer {
            (qty.checked_mul(fee_rate, Rounding::Up).unwrap(), base)
        } else {
            (notional.checked_mul(fee_rate, Rounding::Up).unwrap(), quote)
        };
        o.executed = o.executed.checked_add(qty).unwrap();
        o.cum_quote = o.cum_quote.checked_add(notional).unwrap();
        o.status = if o.executed == o.orig_qty { "FILLED" } else { "PARTIALLY_FILLED" };
        o.update_time = now_ms;
        let id = self.next_trade_id;
        self.next_trade_id += 1;
        Trade {
            id,
            order_id: o.order_id,
            symbol: o.symbol.clone(),
            price,
            qty,
            commission,
            commission_asset: asset.into(),
            is_maker: maker,
            is_buyer,
            time: now_ms,
        }
    }

    /// Test hook: the market trades `qty` of a resting order at `price` (maker).
    pub fn fill_resting(&mut self, client_order_id: &str, qty: Fixed, price: Fixed, now_ms: i64) {
        let i = self.orders.iter().position(|o| o.client_order_id == client_order_id && o.is_open()).expect("an open order");
        let mut o = self.orders.remove(i);
        let &(base, quote, _) = self.markets.get(&o.symbol).unwrap();
        let t = self.execute(&mut o, qty, price, true, (base, quote), now_ms);
        self.trades.push(t);
        self.orders.insert(i, o);
    }

    fn my_trades(&self, p: &Params) -> Result<Response, Response> {
        let symbol = p.get("symbol").ok_or_else(|| missing("symbol"))?;
        let order_id: Option<u64> = p.get("orderId").and_then(|i| i.parse().ok());
        let limit: usize = p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(500);
        if !(1..=1000).contains(&limit) {
            return Err(error(StatusCode::BAD_REQUEST, -1100, "Illegal characters found in parameter 'limit'."));
        }
        let trades = self.trades.iter().filter(|t| &t.symbol == symbol && order_id.is_none_or(|i| i == t.order_id)).take(limit);
        Ok(ok(Value::Array(trades.map(|t| json!({
            "symbol": t.symbol, "id": t.id, "orderId": t.order_id, "orderListId": -1,
            "price": fmt8(t.price), "qty": fmt8(t.qty), "quoteQty": fmt8(t.price.checked_mul(t.qty, Rounding::Nearest).unwrap()),
            "commission": fmt8(t.commission), "commissionAsset": t.commission_asset, "time": t.time,
            "isBuyer": t.is_buyer, "isMaker": t.is_maker, "isBestMatch": true
        })).collect())))
    }

    fn account(&self, p: &Params) -> Response {
        let omit = self.honour_omit_zero && p.get("omitZeroBalances").map(String::as_str) == Some("true");
        let balances: Vec<Value> = self
            .balances
            .iter()
            .filter(|(_, free, locked)| !(omit && free.is_zero() && locked.is_zero()))
            .map(|(asset, free, locked)| json!({ "asset": asset, "free": fmt8(*free), "locked": fmt8(*locked) }))
            .collect();
        ok(json!({
            "makerCommission": 15, "takerCommission": 15, "buyerCommission": 0, "sellerCommission": 0,
            "canTrade": true, "canWithdraw": true, "canDeposit": true, "brokered": false,
            "requireSelfTradePrevention": false, "preventSor": false, "updateTime": 123456789,
            "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 354937868
        }))
    }
}

/// An order as `GET /api/v3/order` returns it.
fn order_json(o: &Order) -> Value {
    json!({
        "symbol": o.symbol, "orderId": o.order_id, "orderListId": -1, "clientOrderId": o.client_order_id,
        "price": fmt8(o.price), "origQty": fmt8(o.orig_qty), "executedQty": fmt8(o.executed),
        "cummulativeQuoteQty": fmt8(o.cum_quote), "status": o.status, "timeInForce": o.tif.clone().unwrap_or("GTC".into()),
        "type": o.kind, "side": o.side, "stopPrice": fmt8(o.stop_price), "icebergQty": "0.00000000",
        "time": o.time, "updateTime": o.update_time, "isWorking": true, "workingTime": o.time,
        "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "EXPIRE_MAKER"
    })
}
