//! The order request as clients send it (`POST /api/execution/submit-order`), and its
//! validation into the specs of the order (and its contingent orders).
//!
//! ```json
//! {"client_order_id": "my-1", "symbol": "BTC/USDT", "side": "buy", "type": "limit",
//!  "quantity": "0.01", "price": "30000", "time_in_force": "gtc",
//!  "stop_loss": "29000", "take_profit": "32000"}
//! ```
//!
//! Contingencies: `stop_loss` and/or `take_profit` make a bracket (exits held until the
//! entry fills, then an OCO pair sized to the filled quantity); `oco_stop_price` (with
//! `oco_stop_limit_price` for a stop-limit leg) adds a stop leg that cancels with the
//! main order (one cancels the other); `then` is an order released when this one fills
//! (one triggers the other). Numbers may be JSON strings or numbers; answers use strings.

use super::instrument::Instrument;
use serde::{Deserialize, Serialize};
use tradpal_messages::{Contingency, Fixed, OrderSpec, OrderType, Rounding, SessionId, SharedStr, Side, TimeInForce, TimeWire, Timestamp};

/// Largest trailing distance, in basis points (Binance allows 10..=2000).
pub const TRAILING_BPS_MAX: u32 = 2_000;
/// Longest client order id, in characters.
pub const CLIENT_ORDER_ID_CHARS_MAX: usize = 36;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// Generated when absent (then the request is not idempotent).
    #[serde(default)]
    pub client_order_id: Option<String>,
    pub symbol: SharedStr,
    pub side: Side,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    pub quantity: Fixed,
    #[serde(default)]
    pub price: Option<Fixed>,
    #[serde(default)]
    pub stop_price: Option<Fixed>,
    #[serde(default)]
    pub trailing_bps: Option<u32>,
    #[serde(default)]
    pub time_in_force: Option<TimeInForce>,
    #[serde(default)]
    pub expire_at: Option<TimeWire>,
    #[serde(default)]
    pub reduce_only: bool,
    #[serde(default)]
    pub session_id: Option<SessionId>,
    #[serde(default)]
    pub stop_loss: Option<Fixed>,
    #[serde(default)]
    pub take_profit: Option<Fixed>,
    #[serde(default)]
    pub oco_stop_price: Option<Fixed>,
    #[serde(default)]
    pub oco_stop_limit_price: Option<Fixed>,
    /// One triggers the other: released when this order fills. (`no_recursion`: the
    /// schema refers to itself instead of expanding forever.)
    #[serde(default)]
    #[schema(no_recursion)]
    pub then: Option<Box<OrderRequest>>,
}

impl OrderRequest {
    /// A plain GTC market order with a generated client order id (no contingencies).
    pub fn market(symbol: &str, side: Side, quantity: Fixed) -> Self {
        OrderRequest {
            client_order_id: None,
            symbol: symbol.into(),
            side,
            order_type: OrderType::Market,
            quantity,
            price: None,
            stop_price: None,
            trailing_bps: None,
            time_in_force: None,
            expire_at: None,
            reduce_only: false,
            session_id: None,
            stop_loss: None,
            take_profit: None,
            oco_stop_price: None,
            oco_stop_limit_price: None,
            then: None,
        }
    }
}

/// One order of a validated request: its spec and how it hangs on the others (indexes
/// into the plan's list).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOrder {
    pub spec: OrderSpec,
    pub contingency: Option<Contingency>,
    pub parent: Option<usize>,
    pub sibling: Option<usize>,
}

/// A request turned into orders: the first is the main one.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub orders: Vec<PlannedOrder>,
}

/// A wrong field of an order request (`then.` in front for the triggered order's);
/// nothing was decided. Answered 400 as `field: why`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct OrderRequestError {
    pub field: String,
    pub why: String,
}

fn err(field: &str, why: impl std::fmt::Display) -> OrderRequestError {
    OrderRequestError { field: field.to_string(), why: why.to_string() }
}

/// Checks a price: positive, on the tick.
fn check_price(field: &str, p: Fixed, inst: &Instrument) -> Result<(), OrderRequestError> {
    if !p.is_positive() {
        return Err(err(field, format!("must be > 0, got {p}")));
    }
    if !p.is_multiple_of(inst.tick_size) {
        return Err(err(field, format!("{p} is not a multiple of the tick size {} of {}", inst.tick_size, inst.symbol)));
    }
    Ok(())
}

/// Bytes allowed in a client order id: A-Z a-z 0-9 - _ . : (all ASCII, so a byte is a
/// character here, and a non-ASCII byte is refused).
const CLIENT_ID_BYTE_OK: [bool; 256] = {
    let mut ok = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        ok[c] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':');
        c += 1;
    }
    ok
};

/// Whether every byte of `id` is allowed. A table and no early exit: a generated id's hex
/// digits mix letters and digits at random, and `is_ascii_alphanumeric`'s branches
/// mispredicted on them (about a tenth of a backtest order's submission).
fn client_id_chars_ok(id: &str) -> bool {
    id.bytes().fold(true, |ok, c| ok & CLIENT_ID_BYTE_OK[usize::from(c)])
}

/// Validates one order's own fields (not its contingencies) into a spec.
pub fn validate_spec(
    r: &OrderRequest,
    client_order_id: SharedStr,
    inst: &Instrument,
    now: Timestamp,
    mark: Option<Fixed>,
) -> Result<OrderSpec, OrderRequestError> {
    if client_order_id.is_empty() || client_order_id.len() > CLIENT_ORDER_ID_CHARS_MAX || !client_id_chars_ok(&client_order_id) {
        return Err(err("client_order_id", format!("must be 1..={CLIENT_ORDER_ID_CHARS_MAX} characters of A-Z a-z 0-9 - _ . :")));
    }
    let q = r.quantity;
    if !q.is_positive() {
        return Err(err("quantity", format!("must be > 0, got {q}")));
    }
    if !q.is_multiple_of(inst.lot_size) {
        return Err(err("quantity", format!("{q} is not a multiple of the lot size {} of {}", inst.lot_size, inst.symbol)));
    }
    if q < inst.min_quantity {
        return Err(err("quantity", format!("{q} is below the minimum {} of {}", inst.min_quantity, inst.symbol)));
    }
    let t = r.order_type;
    let needs_price = matches!(t, OrderType::Limit | OrderType::StopLimit);
    let needs_stop = matches!(t, OrderType::StopMarket | OrderType::StopLimit | OrderType::TakeProfit);
    match (needs_price, r.price) {
        (true, None) => return Err(err("price", format!("a {} order needs a limit price", t.as_str()))),
        (false, Some(_)) => return Err(err("price", format!("a {} order takes no limit price", t.as_str()))),
        (true, Some(p)) => check_price("price", p, inst)?,
        (false, None) => {}
    }
    match (needs_stop, r.stop_price) {
        (true, None) => return Err(err("stop_price", format!("a {} order needs a stop price", t.as_str()))),
        (false, Some(_)) => return Err(err("stop_price", format!("a {} order takes no stop price", t.as_str()))),
        (true, Some(p)) => check_price("stop_price", p, inst)?,
        (false, None) => {}
    }
    match (t == OrderType::TrailingStop, r.trailing_bps) {
        (true, None) => return Err(err("trailing_bps", "a trailing_stop order needs trailing_bps")),
        (true, Some(b)) if b == 0 || b > TRAILING_BPS_MAX => {
            return Err(err("trailing_bps", format!("must be in 1..={TRAILING_BPS_MAX}, got {b}")))
        }
        (false, Some(_)) => return Err(err("trailing_bps", format!("a {} order takes no trailing_bps", t.as_str()))),
        _ => {}
    }
    let tif = r.time_in_force.unwrap_or(TimeInForce::Gtc);
    if matches!(tif, TimeInForce::Ioc | TimeInForce::Fok) && !matches!(t, OrderType::Market | OrderType::Limit) {
        return Err(err("time_in_force", format!("{} applies to market and limit orders only", tif.as_str())));
    }
    let expire_at = match (tif, &r.expire_at) {
        (TimeInForce::Gtd, None) => return Err(err("expire_at", "a gtd order needs expire_at")),
        (TimeInForce::Gtd, Some(w)) => {
            let at = w.to_timestamp().map_err(|e| err("expire_at", e))?;
            if at <= now {
                return Err(err("expire_at", format!("{at} is not in the future")));
            }
            Some(at)
        }
        (_, Some(_)) => return Err(err("expire_at", "only gtd orders take expire_at")),
        (_, None) => None,
    };
    // Minimum notional at the order's price (or the last close for market-like orders).
    if let Some(p) = r.price.or(r.stop_price).or(mark) {
        let notional = q.checked_mul(p, Rounding::Down).ok_or_else(|| err("quantity", "quantity * price overflows"))?;
        if notional < inst.min_notional {
            return Err(err("quantity", format!("notional {notional} is below the minimum {} of {}", inst.min_notional, inst.symbol)));
        }
    }
    Ok(OrderSpec {
        client_order_id,
        symbol: r.symbol.clone(),
        side: r.side,
        order_type: t,
        quantity: q,
        price: r.price,
        stop_price: r.stop_price,
        trailing_bps: r.trailing_bps,
        time_in_force: tif,
        expire_at,
        reduce_only: r.reduce_only,
        session_id: r.session_id,
    })
}

/// An exit leg (bracket or OCO) derived from the main order.
fn leg(
    main: &OrderSpec,
    suffix: &str,
    side: Side,
    order_type: OrderType,
    price: Option<Fixed>,
    stop: Option<Fixed>,
    reduce_only: bool,
) -> OrderSpec {
    OrderSpec {
        client_order_id: format!("{}-{suffix}", main.client_order_id).into(),
        side,
        order_type,
        price,
        stop_price: stop,
        trailing_bps: None,
        time_in_force: TimeInForce::Gtc,
        expire_at: None,
        reduce_only,
        ..main.clone()
    }
}

/// Validates the request and its contingencies into a plan of orders, built in `orders`
/// (cleared first: a list the caller reuses from request to request).
pub fn plan(
    r: &OrderRequest,
    client_order_id: SharedStr,
    inst: &Instrument,
    now: Timestamp,
    mark: Option<Fixed>,
    mut orders: Vec<PlannedOrder>,
) -> Result<Plan, OrderRequestError> {
    let main = validate_spec(r, client_order_id, inst, now, mark)?;
    // The legs after the main order (indices in `parent` / `sibling` count the main order
    // as 0); the main order joins them at the end, moved, not copied.
    let mut legs: Vec<PlannedOrder> = Vec::new();
    let (mut contingency, mut sibling_of_main) = (None, None);
    let bracket = r.stop_loss.is_some() || r.take_profit.is_some();
    let oco = r.oco_stop_price.is_some() || r.oco_stop_limit_price.is_some();
    if [bracket, oco, r.then.is_some()].iter().filter(|b| **b).count() > 1 {
        return Err(err("contingency", "use one of stop_loss/take_profit (bracket), oco_stop_price (OCO) or then (OTO)"));
    }
    let exit = main.side.opposite();
    if bracket {
        let entry = main.price.or(main.stop_price).or(mark);
        for (field, p) in [("stop_loss", r.stop_loss), ("take_profit", r.take_profit)] {
            if let Some(p) = p {
                check_price(field, p, inst)?;
                let wrong = entry.is_some_and(|e| match (main.side, field) {
                    (Side::Buy, "stop_loss") | (Side::Sell, "take_profit") => p >= e,
                    _ => p <= e,
                });
                if wrong {
                    return Err(err(field, format!("{p} is on the wrong side of the entry price {}", entry.unwrap_or_default())));
                }
            }
        }
        let mut exits = vec![];
        if let Some(sl) = r.stop_loss {
            exits.push(leg(&main, "sl", exit, OrderType::StopMarket, None, Some(sl), true));
        }
        if let Some(tp) = r.take_profit {
            exits.push(leg(&main, "tp", exit, OrderType::Limit, Some(tp), None, true));
        }
        let n = exits.len();
        for (i, spec) in exits.into_iter().enumerate() {
            let sibling = (n == 2).then_some(if i == 0 { 2 } else { 1 });
            legs.push(PlannedOrder { spec, contingency: Some(Contingency::Bracket), parent: Some(0), sibling });
        }
        contingency = Some(Contingency::Bracket);
    } else if oco {
        let stop = r.oco_stop_price.ok_or_else(|| err("oco_stop_price", "an OCO needs the stop leg's trigger price"))?;
        check_price("oco_stop_price", stop, inst)?;
        let (t, limit) = match r.oco_stop_limit_price {
            Some(l) => {
                check_price("oco_stop_limit_price", l, inst)?;
                (OrderType::StopLimit, Some(l))
            }
            None => (OrderType::StopMarket, None),
        };
        let spec = leg(&main, "oco", main.side, t, limit, Some(stop), main.reduce_only);
        legs.push(PlannedOrder { spec, contingency: Some(Contingency::Oco), parent: None, sibling: Some(0) });
        contingency = Some(Contingency::Oco);
        sibling_of_main = Some(1);
    } else if let Some(child) = &r.then {
        if child.then.is_some() || child.stop_loss.is_some() || child.take_profit.is_some() || child.oco_stop_price.is_some() {
            return Err(err("then", "the triggered order cannot have contingencies of its own"));
        }
        if child.symbol != main.symbol {
            return Err(err("then.symbol", "must be the same symbol as the triggering order"));
        }
        let id = child.client_order_id.clone().unwrap_or_else(|| format!("{}-then", main.client_order_id));
        let spec = validate_spec(child, id.into(), inst, now, mark)
            .map_err(|e| OrderRequestError { field: format!("then.{}", e.field), why: e.why })?;
        legs.push(PlannedOrder { spec, contingency: Some(Contingency::Oto), parent: Some(0), sibling: None });
        contingency = Some(Contingency::Oto);
    }
    orders.clear();
    orders.reserve(1 + legs.len());
    orders.push(PlannedOrder { spec: main, contingency, parent: None, sibling: sibling_of_main });
    orders.extend(legs);
    Ok(Plan { orders })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_id_table_allows_exactly_the_documented_bytes() {
        for c in 0..=255u8 {
            let documented = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':');
            assert_eq!(CLIENT_ID_BYTE_OK[usize::from(c)], documented, "byte {c}");
        }
        assert!(client_id_chars_ok("tp-0123456789abcdef:A_b.c"));
        assert!(!client_id_chars_ok("tp-01 23"));
        assert!(!client_id_chars_ok("tp-é"));
        assert!(!client_id_chars_ok("a/b"));
    }
}
