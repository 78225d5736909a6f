//! Round trips from fills: the [`TradeRecord`]s a run reports.
//!
//! A trade opens when a fill takes the position away from flat and closes when a fill
//! brings it back to flat or through it (a reversal closes one trade and opens the next
//! with the rest of the fill). In exact money, with the portfolio's own rules
//! (`execution/portfolio.rs`): the average entry price changes only when the position
//! grows; a reducing fill realises `closed * (price - average)` (negated for a short).
//!
//! Per trade: `entry_price` / `exit_price` are the volume-weighted prices of the fills
//! that grew / shrank it, `quantity` the units it was grown by in all, `fees` every fee
//! paid on it (a reversal fill's fee is split between the two trades by quantity),
//! `pnl` the realised P&L minus fees, `return_pct = pnl / (entry_price * quantity)`,
//! `bars_held` the bars from the entry fill's bar to the exit fill's bar. Times are the
//! open times of those bars (when the fills happened).

use super::metrics::TradeRecord;
use tradpal_messages::{Fixed, Rounding, SharedStr, Side, Timestamp};

/// One fill as the ledger needs it.
#[derive(Debug, Clone, Copy)]
pub struct LedgerFill {
    pub side: Side,
    pub quantity: Fixed,
    pub price: Fixed,
    pub fee: Fixed,
    pub time: Timestamp,
    pub bar: usize,
}

#[derive(Debug, Clone)]
struct OpenTrade {
    side: Side,
    entry_time: Timestamp,
    entry_bar: usize,
    /// Units still open (> 0).
    open: Fixed,
    average: Fixed,
    entered: Fixed,
    entry_notional: Fixed,
    exited: Fixed,
    exit_notional: Fixed,
    realized: Fixed,
    fees: Fixed,
    /// What produced the signal that opened it (the ledger's source then; shared, so
    /// opening a trade allocates nothing).
    source: SharedStr,
}

/// Folds fills into closed trades.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    open: Option<OpenTrade>,
    pub closed: Vec<TradeRecord>,
    source: SharedStr,
    symbol: SharedStr,
}

fn mul(a: Fixed, b: Fixed) -> Fixed {
    a.checked_mul(b, Rounding::Nearest).unwrap_or(Fixed::ZERO)
}

fn div(a: Fixed, b: Fixed) -> Fixed {
    a.checked_div(b, Rounding::Nearest).unwrap_or(Fixed::ZERO)
}

fn add(a: Fixed, b: Fixed) -> Fixed {
    a.checked_add(b).unwrap_or(a)
}

fn sub(a: Fixed, b: Fixed) -> Fixed {
    a.checked_sub(b).unwrap_or(a)
}

impl Ledger {
    pub fn new(symbol: impl Into<SharedStr>, source: &str) -> Self {
        Ledger { open: None, closed: Vec::new(), source: source.into(), symbol: symbol.into() }
    }

    /// Applies one fill (of this ledger's symbol).
    pub fn fill(&mut self, f: LedgerFill) {
        let Some(t) = self.open.as_mut() else {
            self.open = Some(Self::opened(f, f.quantity, f.fee, self.source.clone()));
            return;
        };
        if t.side == f.side {
            let total = add(mul(t.open, t.average), mul(f.quantity, f.price));
            t.open = add(t.open, f.quantity);
            t.average = div(total, t.open);
            t.entered = add(t.entered, f.quantity);
            t.entry_notional = add(t.entry_notional, mul(f.quantity, f.price));
            t.fees = add(t.fees, f.fee);
            return;
        }
        let closed = t.open.min(f.quantity);
        let rest = sub(f.quantity, closed);
        // The fee share of the closing part; the rest of the fee opens the next trade.
        let fee_closing = if rest.is_zero() {
            f.fee
        } else {
            f.fee.checked_mul(closed, Rounding::Nearest).and_then(|x| x.checked_div(f.quantity, Rounding::Nearest)).unwrap_or(f.fee)
        };
        let per_unit = sub(f.price, t.average);
        let pnl = mul(per_unit, closed);
        t.realized = add(t.realized, if t.side == Side::Buy { pnl } else { Fixed::from_raw(-pnl.raw()) });
        t.exited = add(t.exited, closed);
        t.exit_notional = add(t.exit_notional, mul(closed, f.price));
        t.fees = add(t.fees, fee_closing);
        t.open = sub(t.open, closed);
        if t.open.is_zero() {
            let record = record(t, &self.symbol, f.time, f.bar, None);
            self.closed.push(record);
            self.open = (!rest.is_zero()).then(|| Self::opened(f, rest, sub(f.fee, fee_closing), self.source.clone()));
        }
    }

    /// The source of trades opened from now on (the AI ensemble names the part that
    /// drove each decision: `ml`, `rl` or `regime`).
    pub fn set_source(&mut self, source: &str) {
        if *self.source != *source {
            self.source = source.into();
        }
    }

    fn opened(f: LedgerFill, quantity: Fixed, fee: Fixed, source: SharedStr) -> OpenTrade {
        OpenTrade {
            side: f.side,
            entry_time: f.time,
            entry_bar: f.bar,
            open: quantity,
            average: f.price,
            entered: quantity,
            entry_notional: mul(quantity, f.price),
            exited: Fixed::ZERO,
            exit_notional: Fixed::ZERO,
            realized: Fixed::ZERO,
            fees: fee,
            source,
        }
    }

    /// The trade still open at the end, valued at `mark` (the last close), if any.
    pub fn open_trade(&self, time: Timestamp, bar: usize, mark: Fixed) -> Option<TradeRecord> {
        self.open.as_ref().map(|t| record(t, &self.symbol, time, bar, Some(mark)))
    }
}

/// A trade's record, closed at `time` / `bar`; with `mark`, the open units are valued at
/// that price (no exit fee): the still-open trade at the end of a run.
fn record(t: &OpenTrade, symbol: &SharedStr, time: Timestamp, bar: usize, mark: Option<Fixed>) -> TradeRecord {
    let (mut exited, mut exit_notional, mut realized) = (t.exited, t.exit_notional, t.realized);
    if let Some(m) = mark {
        let pnl = mul(sub(m, t.average), t.open);
        realized = add(realized, if t.side == Side::Buy { pnl } else { Fixed::from_raw(-pnl.raw()) });
        exited = add(exited, t.open);
        exit_notional = add(exit_notional, mul(t.open, m));
    }
    let pnl = sub(realized, t.fees);
    TradeRecord {
        symbol: symbol.clone(),
        side: t.side,
        entry_time: t.entry_time,
        exit_time: time,
        entry_price: div(t.entry_notional, t.entered).to_f64(),
        exit_price: div(exit_notional, exited).to_f64(),
        quantity: t.entered.to_f64(),
        pnl: pnl.to_f64(),
        fees: t.fees.to_f64(),
        return_pct: pnl.to_f64() / t.entry_notional.to_f64(),
        bars_held: u32::try_from(bar.saturating_sub(t.entry_bar)).unwrap_or(u32::MAX),
        source: t.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn fill(side: Side, q: &str, p: &str, fee: &str, bar: usize) -> LedgerFill {
        LedgerFill { side, quantity: f(q), price: f(p), fee: f(fee), time: Timestamp(bar as i64), bar }
    }

    #[test]
    fn long_then_reversal_then_close() {
        let mut l = Ledger::new("BTC/USDT", "test");
        l.fill(fill(Side::Buy, "1", "100", "0.1", 1));
        l.fill(fill(Side::Buy, "1", "110", "0.11", 2));
        // Sell 3 at 120: closes 2 (avg 105: +30), opens 1 short. Fee 0.36 split 2:1.
        l.fill(fill(Side::Sell, "3", "120", "0.36", 5));
        assert_eq!(l.closed.len(), 1);
        let t = &l.closed[0];
        assert_eq!((t.side, t.entry_price, t.exit_price, t.quantity), (Side::Buy, 105.0, 120.0, 2.0));
        assert!((t.fees - 0.45).abs() < 1e-12 && (t.pnl - 29.55).abs() < 1e-12, "{t:?}");
        assert!((t.return_pct - 29.55 / 210.0).abs() < 1e-12);
        assert_eq!((t.bars_held, t.entry_time, t.exit_time), (4, Timestamp(1), Timestamp(5)));
        // The short: 1 at 120, fee 0.12 so far; closed at 100 -> +20 - 0.12 - 0.1.
        let open = l.open_trade(Timestamp(9), 9, f("90")).unwrap();
        assert_eq!((open.side, open.entry_price, open.exit_price), (Side::Sell, 120.0, 90.0));
        assert!((open.pnl - (30.0 - 0.12)).abs() < 1e-12, "{open:?}");
        l.fill(fill(Side::Buy, "1", "100", "0.1", 7));
        assert_eq!(l.closed.len(), 2);
        assert!((l.closed[1].pnl - (20.0 - 0.22)).abs() < 1e-12, "{:?}", l.closed[1]);
        assert!(l.open_trade(Timestamp(9), 9, f("90")).is_none());
    }

    #[test]
    fn partial_exits_weight_the_exit_price() {
        let mut l = Ledger::new("X/USDT", "test");
        l.fill(fill(Side::Sell, "2", "50", "0", 0));
        l.fill(fill(Side::Buy, "1", "40", "0", 1));
        assert!(l.closed.is_empty());
        l.fill(fill(Side::Buy, "1", "60", "0", 3));
        let t = &l.closed[0];
        assert_eq!((t.exit_price, t.pnl, t.quantity, t.bars_held), (50.0, 0.0, 2.0, 3));
    }
}
