//! The paper exchange at work: bars in, triggers / fills / cancels out (rules in
//! `fill.rs`), and the clock's expiries.
//!
//! Per bar, for each working order of the symbol in submission order: skip it unless the bar opens at or after its `matched_until`;
//! expire it if its GTD time has come; else match it (`fill::match_bar`) and emit the
//! trigger, the fill, the IOC/FOK/reduce-only cancel, the OCO sibling's cancel and the
//! release of held children. Then every order of the symbol that saw the bar moves its
//! `matched_until` to the bar's close, and the portfolio is marked at the close.

use super::core::ExecutionCore;
use super::error::ExecutionError;
use super::fill::match_bar;
use super::order::Order;
use super::symbol_map::SymbolKey;
use tradpal_messages::{Candle, Event, OrderExpired, OrderFilled, OrderId, OrderStatus, OrderTriggered, Timeframe, Timestamp};

impl ExecutionCore {
    /// Orders of `symbol` that a bar opening at `open` may touch, in submission order.
    fn eligible<K: SymbolKey + ?Sized>(&self, symbol: &K, open: Timestamp) -> Vec<OrderId> {
        let mut ids = Vec::new();
        self.eligible_into(symbol, open, &mut ids);
        ids
    }

    /// [`Self::eligible`] appended to `ids` (a buffer reused from bar to bar).
    fn eligible_into<K: SymbolKey + ?Sized>(&self, symbol: &K, open: Timestamp, ids: &mut Vec<OrderId>) {
        if self.open_orders() == 0 {
            return; // nothing working anywhere: no lookup
        }
        let Some(set) = self.open_by_symbol.get(symbol) else { return };
        ids.extend(set.iter().map(|(_, id)| *id).filter(|id| {
            let o = &self.orders[id];
            o.status.is_working() && open >= o.matched_until
        }));
    }

    /// Matches journaled bars (`cause` = the journal sequence of their record) against
    /// the working orders. Returns the decided events, already applied.
    pub fn on_bars<K: SymbolKey + ?Sized>(
        &mut self,
        symbol: &K,
        timeframe: Timeframe,
        bars: &[Candle],
        cause: u64,
    ) -> Result<Vec<Event>, ExecutionError> {
        Ok(self.on_bars_grouped(symbol, timeframe, bars, cause)?.into_iter().flatten().collect())
    }

    /// [`Self::on_bars`] for one bar, its events appended to `out`: the backtest's per-bar
    /// path, with a buffer reused from bar to bar (no allocation when nothing matches).
    /// The same matching, in the same order, as `on_bars`.
    pub fn on_bar_into<K: SymbolKey + ?Sized>(
        &mut self,
        symbol: &K,
        timeframe: Timeframe,
        bar: &Candle,
        cause: u64,
        out: &mut Vec<Event>,
    ) -> Result<(), ExecutionError> {
        if self.is_live() {
            self.mark_bars(symbol, timeframe, std::slice::from_ref(bar));
            return Ok(());
        }
        self.match_bar(symbol, timeframe, bar, cause, out, |_| ())
    }

    /// One bar's matching (simulated venue): every eligible order in turn, its match's
    /// events appended to `out` and `matched` called after each order, then the bar's
    /// after-effects. The one loop behind [`Self::on_bar_into`] and
    /// [`Self::on_bars_grouped`].
    fn match_bar<K: SymbolKey + ?Sized>(
        &mut self,
        symbol: &K,
        timeframe: Timeframe,
        bar: &Candle,
        cause: u64,
        out: &mut Vec<Event>,
        mut matched: impl FnMut(&mut Vec<Event>),
    ) -> Result<(), ExecutionError> {
        let close_time = Timestamp(bar.open_time.0.saturating_add(timeframe.nanos()));
        if self.open_orders() == 0 {
            // Nothing can match (most bars of a backtest): only the bar's after-effects,
            // without taking the buffer.
            self.after_bar(symbol, &[], bar, close_time);
            return Ok(());
        }
        // The buffer lives in the core between bars (no allocation per bar with an order
        // working); an error drops it, and the next bar starts a new one.
        let mut eligible = std::mem::take(&mut self.eligible_scratch);
        eligible.clear();
        self.eligible_into(symbol, bar.open_time, &mut eligible);
        for id in &eligible {
            self.match_one(out, *id, bar, close_time, cause)?;
            matched(out);
        }
        self.after_bar(symbol, &eligible, bar, close_time);
        self.eligible_scratch = eligible;
        Ok(())
    }

    /// [`Self::on_bars`], with the events of each order's match kept together (a fill
    /// with its OCO sibling's cancel and its children's release): the actor journals
    /// large bars in several batches and cuts only between groups, so a crash between
    /// batches leaves every order either wholly matched or not at all (and re-matching
    /// skips the first kind: see `matched_through`).
    pub fn on_bars_grouped<K: SymbolKey + ?Sized>(
        &mut self,
        symbol: &K,
        timeframe: Timeframe,
        bars: &[Candle],
        cause: u64,
    ) -> Result<Vec<Vec<Event>>, ExecutionError> {
        let mut groups = Vec::new();
        if self.is_live() {
            self.mark_bars(symbol, timeframe, bars); // the venue matches, not us
            return Ok(groups);
        }
        let mut group = Vec::new();
        for bar in bars {
            self.match_bar(symbol, timeframe, bar, cause, &mut group, |g| {
                if !g.is_empty() {
                    groups.push(std::mem::take(g));
                }
            })?;
        }
        Ok(groups)
    }

    /// What a replay does with a journaled bar that was already matched live: only the
    /// derived state (marks, trailing anchors, `matched_until`); its events follow it
    /// in the journal.
    pub fn observe_bars<K: SymbolKey + ?Sized>(&mut self, symbol: &K, timeframe: Timeframe, bars: &[Candle]) {
        if self.is_live() {
            return self.mark_bars(symbol, timeframe, bars);
        }
        for bar in bars {
            let close_time = Timestamp(bar.open_time.0.saturating_add(timeframe.nanos()));
            let eligible = self.eligible(symbol, bar.open_time);
            for id in &eligible {
                let o = &self.orders[id];
                if o.trigger_price.is_none() {
                    let inst = match self.config.instruments.get(symbol.text()) {
                        Ok(i) => i,
                        Err(_) => continue,
                    };
                    let anchor = match_bar(o, bar, &inst, &self.config.fill, self.portfolio.position(symbol)).trail_anchor;
                    if let Some(o) = self.orders.get_mut(id) {
                        o.trail_anchor = anchor.or(o.trail_anchor);
                    }
                }
            }
            self.after_bar(symbol, &eligible, bar, close_time);
        }
    }

    /// Live mode: bars only mark the portfolio.
    fn mark_bars<K: SymbolKey + ?Sized>(&mut self, symbol: &K, timeframe: Timeframe, bars: &[Candle]) {
        for bar in bars {
            let close_time = Timestamp(bar.open_time.0.saturating_add(timeframe.nanos()));
            if let Some(close) = Self::close_of(bar) {
                self.mark(symbol, close, close_time);
            }
        }
    }

    fn after_bar<K: SymbolKey + ?Sized>(&mut self, symbol: &K, eligible: &[OrderId], bar: &Candle, close_time: Timestamp) {
        for id in eligible {
            if let Some(o) = self.orders.get_mut(id) {
                o.matched_until = o.matched_until.max(close_time);
            }
        }
        if let Some(close) = Self::close_of(bar) {
            self.mark(symbol, close, close_time);
        }
    }

    fn match_one(
        &mut self,
        out: &mut Vec<Event>,
        id: OrderId,
        bar: &Candle,
        close_time: Timestamp,
        cause: u64,
    ) -> Result<(), ExecutionError> {
        let order: &Order = &self.orders[&id];
        if !order.status.is_working() {
            return Ok(()); // ended earlier on this bar (an OCO sibling filled)
        }
        if let Some(at) = order.spec.expire_at {
            if bar.open_time >= at {
                let e = OrderExpired { order_id: id, reason: format!("good till {at}"), cause_sequence: cause };
                self.emit(out, Event::OrderExpired(e), close_time)?;
                return self.after_terminal(out, id, close_time, cause);
            }
        }
        let symbol = order.spec.symbol.clone();
        let inst = self.config.instruments.get(&symbol).map_err(|e| ExecutionError::Internal(e.to_string()))?;
        let outcome = match_bar(order, bar, &inst, &self.config.fill, self.portfolio.position(&symbol));
        if let Some(anchor) = outcome.trail_anchor {
            self.orders.get_mut(&id).expect("exists").trail_anchor = Some(anchor);
        }
        if let Some(trigger_price) = outcome.triggered {
            let e = OrderTriggered {
                order_id: id,
                trigger_price,
                market_time: bar.open_time,
                matched_through: close_time,
                cause_sequence: cause,
            };
            self.emit(out, Event::OrderTriggered(e), close_time)?;
        }
        if let Some(f) = outcome.fill {
            let o = &self.orders[&id];
            let e = OrderFilled {
                order_id: id,
                fill_seq: o.fill_count + 1,
                symbol, // its last use: moved, not copied
                side: o.spec.side,
                quantity: f.quantity,
                price: f.price,
                fee: f.fee,
                liquidity: f.liquidity,
                market_time: bar.open_time,
                matched_through: close_time,
                cause_sequence: cause,
            };
            self.emit(out, Event::OrderFilled(e), close_time)?;
            // One cancels the other: the sibling goes at the first fill.
            let sibling = self.orders[&id].link.as_ref().and_then(|l| l.sibling);
            if let Some(s) = sibling {
                if self.orders.get(&s).is_some_and(|o| !o.status.is_terminal() && o.status != OrderStatus::Held) {
                    self.cancel_one(out, s, &format!("OCO: order {id} filled"), close_time, cause)?;
                }
            }
        }
        if let Some(why) = outcome.cancel {
            if !self.orders[&id].status.is_terminal() {
                self.cancel_one(out, id, &why, close_time, cause)?;
                return Ok(());
            }
        }
        if self.orders[&id].status == OrderStatus::Filled {
            self.after_terminal(out, id, close_time, cause)?;
        }
        Ok(())
    }

    /// The clock's part: GTD orders whose time has come and orders the venue did not
    /// acknowledge within `ORDER_TIMEOUT` expire. Live: a GTD order's time asks the venue
    /// for a cancel, and an unacknowledged order expires only when a query says the venue
    /// does not know it ([`ExecutionCore::on_venue_unknown`]).
    pub fn on_timer(&mut self, now: Timestamp) -> Result<Vec<Event>, ExecutionError> {
        let mut out = Vec::new();
        if self.is_live() {
            self.live_timer(&mut out, now)?;
            return Ok(out);
        }
        let due: Vec<(OrderId, String)> = self
            .open_ids()
            .filter_map(|id| {
                let o = &self.orders[&id];
                if o.status.is_terminal() || o.status == OrderStatus::Held {
                    return None;
                }
                if o.spec.expire_at.is_some_and(|at| now >= at) {
                    return Some((id, format!("good till {}", o.spec.expire_at.unwrap_or_default())));
                }
                let timeout = self.config.order_timeout_ns;
                (o.status == OrderStatus::Submitted && now.0.saturating_sub(o.submitted_at.0) >= timeout)
                    .then(|| (id, format!("not acknowledged by the venue within {} s (ORDER_TIMEOUT)", timeout / 1_000_000_000)))
            })
            .collect();
        for (id, reason) in due {
            self.emit(&mut out, Event::OrderExpired(OrderExpired { order_id: id, reason, cause_sequence: 0 }), now)?;
            self.after_terminal(&mut out, id, now, 0)?;
        }
        Ok(out)
    }
}
