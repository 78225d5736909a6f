//! What clients see of orders and the portfolio (JSON answers). Money is a decimal
//! string; times are RFC 3339.

use super::core::ExecutionCore;
use super::order::Order;
use serde::{Deserialize, Serialize};
use tradpal_messages::{Contingency, Fixed, OrderId, OrderStatus, OrderType, SessionId, Side, TimeInForce, Timestamp, TradingState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderView {
    pub order_id: OrderId,
    pub client_order_id: String,
    pub symbol: String,
    pub side: Side,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    pub status: OrderStatus,
    pub quantity: Fixed,
    pub requested_quantity: Fixed,
    pub filled_quantity: Fixed,
    pub remaining_quantity: Fixed,
    pub price: Option<Fixed>,
    pub stop_price: Option<Fixed>,
    pub trailing_bps: Option<u32>,
    pub time_in_force: TimeInForce,
    pub expire_at: Option<Timestamp>,
    pub reduce_only: bool,
    pub average_price: Option<Fixed>,
    pub fees: Fixed,
    pub fills: u32,
    pub trigger_price: Option<Fixed>,
    pub contingency: Option<Contingency>,
    pub list_id: Option<OrderId>,
    pub parent_order_id: Option<OrderId>,
    pub sibling_order_id: Option<OrderId>,
    /// Why it was rejected, canceled or expired.
    pub reason: Option<String>,
    /// Why the risk check resized it.
    pub risk_note: Option<String>,
    pub session_id: Option<SessionId>,
    pub submitted_at: Timestamp,
    pub updated_at: Timestamp,
}

impl OrderView {
    pub fn of(o: &Order) -> Self {
        let link = o.link.as_ref();
        OrderView {
            order_id: o.id,
            client_order_id: o.spec.client_order_id.to_string(),
            symbol: o.spec.symbol.to_string(),
            side: o.spec.side,
            order_type: o.spec.order_type,
            status: o.status,
            quantity: o.quantity,
            requested_quantity: o.requested_quantity,
            filled_quantity: o.filled,
            remaining_quantity: o.remaining(),
            price: o.spec.price,
            stop_price: o.spec.stop_price,
            trailing_bps: o.spec.trailing_bps,
            time_in_force: o.spec.time_in_force,
            expire_at: o.spec.expire_at,
            reduce_only: o.spec.reduce_only,
            average_price: o.average_price(),
            fees: o.fees,
            fills: o.fill_count,
            trigger_price: o.trigger_price,
            contingency: link.map(|l| l.contingency),
            list_id: link.map(|l| l.list_id),
            parent_order_id: link.and_then(|l| l.parent),
            sibling_order_id: link.and_then(|l| l.sibling),
            reason: o.reason.clone(),
            risk_note: Some(o.risk_note.clone()).filter(|n| !n.is_empty()),
            session_id: o.spec.session_id,
            submitted_at: o.submitted_at,
            updated_at: o.updated_at,
        }
    }
}

/// The answer to submit-order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmitReply {
    /// False when this client order id was submitted before with the same request.
    pub created: bool,
    pub order: OrderView,
    /// The other orders of its contingency list (bracket exits, OCO leg, OTO child).
    pub linked: Vec<OrderView>,
}

/// Filters of `GET /api/execution/orders`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    pub symbol: Option<String>,
    /// A status, or `open` (not terminal) / `closed` (terminal).
    pub status: Option<String>,
    pub session_id: Option<SessionId>,
    pub client_order_id: Option<String>,
    /// Newest first; at most [`ORDERS_PAGE_MAX`].
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Most orders one page lists.
pub const ORDERS_PAGE_MAX: usize = 500;
pub const ORDERS_PAGE_DEFAULT: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrdersPage {
    pub orders: Vec<OrderView>,
    /// Orders matching the filters, all pages.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    /// The offset of the next page, if there is one.
    pub next_offset: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PositionView {
    pub symbol: String,
    /// `long`, `short` or `flat`.
    pub side: String,
    pub quantity: Fixed,
    pub average_price: Fixed,
    pub mark_price: Option<Fixed>,
    pub mark_time: Option<Timestamp>,
    pub market_value: Fixed,
    pub unrealized_pnl: Fixed,
    pub realized_pnl: Fixed,
    pub fees: Fixed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PortfolioView {
    pub currency: String,
    pub cash: Fixed,
    pub equity: Fixed,
    pub deposits: Fixed,
    pub realized_pnl: Fixed,
    pub unrealized_pnl: Fixed,
    pub fees: Fixed,
    /// realised - fees + unrealised.
    pub total_pnl: Fixed,
    pub trading_state: TradingState,
    pub open_orders: usize,
    pub positions: Vec<PositionView>,
    /// The latest close execution has seen per symbol (what market orders are valued at).
    pub last_prices: std::collections::BTreeMap<String, PriceView>,
    /// Journal sequence this view reflects (compare two views for staleness).
    pub as_of_sequence: u64,
    /// Live trading: the venue's balances as of the start-up reconciliation (not
    /// journaled; absent in paper mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue_balances: Option<Vec<BalanceView>>,
}

/// A free/locked balance of one asset at the venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BalanceView {
    pub asset: String,
    pub free: Fixed,
    pub locked: Fixed,
}

impl From<&super::venue::VenueBalance> for BalanceView {
    fn from(b: &super::venue::VenueBalance) -> Self {
        BalanceView { asset: b.asset.clone(), free: b.free, locked: b.locked }
    }
}

impl PortfolioView {
    pub fn of(core: &ExecutionCore, as_of_sequence: u64) -> Self {
        let p = &core.portfolio;
        let positions = p
            .positions
            .values()
            .map(|x| PositionView {
                symbol: x.symbol.clone(),
                side: if x.quantity.is_positive() {
                    "long"
                } else if x.quantity.is_negative() {
                    "short"
                } else {
                    "flat"
                }
                .into(),
                quantity: x.quantity,
                average_price: x.average_price,
                mark_price: x.mark_price,
                mark_time: x.mark_time,
                market_value: x.market_value(),
                unrealized_pnl: x.unrealized_pnl(),
                realized_pnl: x.realized_pnl,
                fees: x.fees,
            })
            .collect();
        let (realized, unrealized, fees) = (p.realized_pnl(), p.unrealized_pnl(), p.fees());
        let total = realized.checked_sub(fees).and_then(|x| x.checked_add(unrealized)).unwrap_or_default();
        PortfolioView {
            currency: p.currency.clone(),
            cash: p.cash,
            equity: p.equity(),
            deposits: p.deposits,
            realized_pnl: realized,
            unrealized_pnl: unrealized,
            fees,
            total_pnl: total,
            trading_state: core.trading_state,
            open_orders: core.open_orders(),
            positions,
            last_prices: core
                .last_price
                .iter()
                .map(|(s, (price, time))| (s.to_string(), PriceView { price: *price, time: *time }))
                .collect(),
            as_of_sequence,
            venue_balances: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceView {
    pub price: Fixed,
    /// Close time of the bar it came from.
    pub time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TradingStateView {
    pub trading_state: TradingState,
    /// False when the switch was already in that state (nothing recorded).
    pub changed: bool,
    /// Orders cancelled with the move (`cancel_working`), in the same journal batch.
    #[serde(default)]
    pub canceled_orders: Vec<OrderId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlattenReply {
    pub canceled_orders: Vec<OrderId>,
    /// Reduce-only market orders that close the positions at the next bar.
    pub closing_orders: Vec<OrderView>,
}

/// A wrong orders query (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrdersQueryError {
    #[error("limit must be in 1..={ORDERS_PAGE_MAX}, got {0}")]
    Limit(usize),
    /// `known`: the accepted statuses, comma-separated.
    #[error("status: unknown {given:?}; use open, closed or one of {known}")]
    Status { given: String, known: String },
}

impl ExecutionCore {
    /// Orders matching the query, newest first.
    pub fn list(&self, q: &OrdersQuery) -> Result<OrdersPage, OrdersQueryError> {
        let limit = q.limit.unwrap_or(ORDERS_PAGE_DEFAULT);
        if limit == 0 || limit > ORDERS_PAGE_MAX {
            return Err(OrdersQueryError::Limit(limit));
        }
        let status_filter: Option<Box<dyn Fn(OrderStatus) -> bool>> = match q.status.as_deref() {
            None => None,
            Some("open") => Some(Box::new(|s: OrderStatus| !s.is_terminal())),
            Some("closed") => Some(Box::new(|s: OrderStatus| s.is_terminal())),
            Some(x) => {
                let s = OrderStatus::ALL.iter().copied().find(|s| s.as_str() == x).ok_or_else(|| {
                    let all: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
                    OrdersQueryError::Status { given: x.to_string(), known: all.join(", ") }
                })?;
                Some(Box::new(move |t: OrderStatus| t == s))
            }
        };
        let mut numbered: Vec<(u64, &Order)> = self.orders.values().map(|o| (o.number, o)).collect();
        numbered.sort_by_key(|&(n, _)| std::cmp::Reverse(n));
        let matching: Vec<&Order> = numbered
            .into_iter()
            .map(|(_, o)| o)
            .filter(|o| q.symbol.as_ref().is_none_or(|s| &o.spec.symbol == s))
            .filter(|o| q.session_id.is_none_or(|s| o.spec.session_id == Some(s)))
            .filter(|o| q.client_order_id.as_ref().is_none_or(|c| &o.spec.client_order_id == c))
            .filter(|o| status_filter.as_ref().is_none_or(|f| f(o.status)))
            .collect();
        let offset = q.offset.unwrap_or(0);
        let orders: Vec<OrderView> = matching.iter().skip(offset).take(limit).map(|o| OrderView::of(o)).collect();
        let next = offset + orders.len();
        Ok(OrdersPage { total: matching.len(), next_offset: (next < matching.len()).then_some(next), offset, limit, orders })
    }

    /// The views of an order's contingency list other than itself (its children, its
    /// OCO sibling, its parent and the parent's other children), in submission order.
    pub fn linked(&self, id: OrderId) -> Vec<OrderView> {
        let Some(order) = self.orders.get(&id) else { return vec![] };
        let mut ids: Vec<OrderId> = self.children.get(&id).cloned().unwrap_or_default();
        if let Some(l) = &order.link {
            ids.extend(l.sibling);
            if let Some(p) = l.parent {
                ids.push(p);
                ids.extend(self.children.get(&p).cloned().unwrap_or_default());
            }
        }
        let mut v: Vec<(u64, OrderId)> =
            ids.into_iter().filter(|x| *x != id).filter_map(|x| self.orders.get(&x).map(|o| (o.number, x))).collect();
        v.sort();
        v.dedup();
        v.into_iter().map(|(_, x)| OrderView::of(&self.orders[&x])).collect()
    }
}
