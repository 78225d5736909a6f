//! The portfolio: a fold over fills (and cash adjustments), in exact money.
//!
//! Conventions: one quote currency for the whole account; a position is signed
//! (long > 0, short < 0); buying spends `price * quantity + fee` of cash, selling receives
//! `price * quantity - fee` (a short's proceeds are cash too: margin is not modelled).
//! The average entry price changes only when a position grows; reducing realises
//! `closed * (price - average)` (times the sign of the position); crossing through zero
//! realises the closed part and opens the rest at the fill price. Fees are kept apart
//! from realised P&L (net = realised - fees).

use super::symbol_map::{SymbolKey, SymbolMap};
use tradpal_messages::{Fixed, Rounding, Side, Timestamp};

/// The portfolio refuses a change that overflows [`Fixed`]; nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PortfolioError {
    #[error("cash overflows")]
    CashOverflow,
    #[error("deposits overflow")]
    DepositsOverflow,
    #[error("fill of {quantity} {symbol} at {price} overflows the portfolio")]
    FillOverflow { symbol: String, quantity: Fixed, price: Fixed },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    pub symbol: String,
    /// Signed units of the base asset.
    pub quantity: Fixed,
    /// Average entry price of the open quantity (zero when flat).
    pub average_price: Fixed,
    pub realized_pnl: Fixed,
    pub fees: Fixed,
    /// Last known price (the latest bar's close), for unrealised P&L.
    pub mark_price: Option<Fixed>,
    pub mark_time: Option<Timestamp>,
}

impl Position {
    fn set_mark(&mut self, price: Fixed, at: Timestamp) {
        (self.mark_price, self.mark_time) = (Some(price), Some(at));
    }

    /// `quantity * (mark - average)`; zero without a mark.
    pub fn unrealized_pnl(&self) -> Fixed {
        match self.mark_price {
            Some(m) => {
                m.checked_sub(self.average_price).and_then(|d| d.checked_mul(self.quantity, Rounding::Nearest)).unwrap_or(Fixed::ZERO)
            }
            None => Fixed::ZERO,
        }
    }

    /// `quantity * mark` (signed); at the average price without a mark.
    pub fn market_value(&self) -> Fixed {
        if self.quantity.is_zero() {
            return Fixed::ZERO; // flat: no multiplication (equity is asked every bar)
        }
        let p = self.mark_price.unwrap_or(self.average_price);
        self.quantity.checked_mul(p, Rounding::Nearest).unwrap_or(Fixed::ZERO)
    }
}

/// The cash and one position after a fill, not yet written ([`Portfolio::fill_outcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillOutcome {
    pub cash: Fixed,
    pub quantity: Fixed,
    pub average_price: Fixed,
    pub realized_pnl: Fixed,
    pub fees: Fixed,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Portfolio {
    pub currency: String,
    pub cash: Fixed,
    /// Net cash put in (starting cash and adjustments).
    pub deposits: Fixed,
    /// Every symbol ever traded, flat ones included (their realised P&L stays). Read
    /// freely; changed only by [`Self::commit_fill`], which keeps `open` in step.
    pub positions: SymbolMap<Position>,
    /// How many of `positions` are not flat: a bar's mark finds equity without walking
    /// the map when the marked position is the only open one (most bars of a backtest),
    /// and "is anything open" is one comparison.
    open: usize,
}

impl Portfolio {
    pub fn new(currency: &str) -> Self {
        Portfolio { currency: currency.to_string(), ..Default::default() }
    }

    pub fn adjust_cash(&mut self, amount: Fixed) -> Result<(), PortfolioError> {
        self.cash = self.cash.checked_add(amount).ok_or(PortfolioError::CashOverflow)?;
        self.deposits = self.deposits.checked_add(amount).ok_or(PortfolioError::DepositsOverflow)?;
        Ok(())
    }

    pub fn position<K: SymbolKey + ?Sized>(&self, symbol: &K) -> Fixed {
        self.positions.get(symbol).map_or(Fixed::ZERO, |p| p.quantity)
    }

    /// Applies one fill (all-or-nothing: on overflow nothing changes).
    pub fn apply_fill<K: SymbolKey + ?Sized>(
        &mut self,
        symbol: &K,
        side: Side,
        quantity: Fixed,
        price: Fixed,
        fee: Fixed,
    ) -> Result<(), PortfolioError> {
        let next = self.fill_outcome(symbol, side, quantity, price, fee)?;
        self.commit_fill(symbol, next);
        Ok(())
    }

    /// What one fill would make of the cash and the symbol's position, changing nothing:
    /// `Err` on overflow. [`Self::commit_fill`] writes it. Split so that a caller with
    /// more checks (the core's order) can refuse between the two without a copy.
    pub fn fill_outcome<K: SymbolKey + ?Sized>(
        &self,
        symbol: &K,
        side: Side,
        quantity: Fixed,
        price: Fixed,
        fee: Fixed,
    ) -> Result<FillOutcome, PortfolioError> {
        let overflow = || PortfolioError::FillOverflow { symbol: symbol.text().to_string(), quantity, price };
        let notional = quantity.checked_mul(price, Rounding::Nearest).ok_or_else(overflow)?;
        let cash = match side {
            Side::Buy => self.cash.checked_sub(notional).and_then(|c| c.checked_sub(fee)),
            Side::Sell => self.cash.checked_add(notional).and_then(|c| c.checked_sub(fee)),
        }
        .ok_or_else(overflow)?;
        let (old, mut average_price, mut realized_pnl, fees) = match self.positions.get(symbol) {
            Some(p) => (p.quantity, p.average_price, p.realized_pnl, p.fees),
            None => (Fixed::ZERO, Fixed::ZERO, Fixed::ZERO, Fixed::ZERO),
        };
        let signed = if side == Side::Buy { quantity } else { quantity.checked_neg().ok_or_else(overflow)? };
        let new = old.checked_add(signed).ok_or_else(overflow)?;
        let growing = old.is_zero() || (old.is_positive() == signed.is_positive());
        if growing {
            // average = (|old| * avg + qty * price) / |new|
            let total =
                old.abs().checked_mul(average_price, Rounding::Nearest).and_then(|a| a.checked_add(notional)).ok_or_else(overflow)?;
            average_price = total.checked_div(new.abs(), Rounding::Nearest).ok_or_else(overflow)?;
        } else {
            let closed = old.abs().min(quantity);
            let per_unit = price.checked_sub(average_price).ok_or_else(overflow)?;
            let mut pnl = per_unit.checked_mul(closed, Rounding::Nearest).ok_or_else(overflow)?;
            if old.is_negative() {
                pnl = pnl.checked_neg().ok_or_else(overflow)?;
            }
            realized_pnl = realized_pnl.checked_add(pnl).ok_or_else(overflow)?;
            if new.is_zero() {
                average_price = Fixed::ZERO;
            } else if new.is_positive() != old.is_positive() {
                average_price = price; // crossed through zero: the rest opened here
            }
        }
        let fees = fees.checked_add(fee).ok_or_else(overflow)?;
        Ok(FillOutcome { cash, quantity: new, average_price, realized_pnl, fees })
    }

    /// Writes a [`Self::fill_outcome`] of `symbol` (the position is created at its first
    /// fill; after that it is updated in place).
    pub fn commit_fill<K: SymbolKey + ?Sized>(&mut self, symbol: &K, next: FillOutcome) {
        self.cash = next.cash;
        let pos = self.positions.get_or_insert_with(symbol, || Position { symbol: symbol.text().to_string(), ..Default::default() });
        match (pos.quantity.is_zero(), next.quantity.is_zero()) {
            (true, false) => self.open += 1,
            (false, true) => self.open -= 1,
            _ => {}
        }
        pos.quantity = next.quantity;
        pos.average_price = next.average_price;
        pos.realized_pnl = next.realized_pnl;
        pos.fees = next.fees;
    }

    /// Marks a symbol's position at `price` (a bar's close).
    pub fn mark<K: SymbolKey + ?Sized>(&mut self, symbol: &K, price: Fixed, at: Timestamp) {
        if let Some(p) = self.positions.get_mut(symbol) {
            p.set_mark(price, at);
        }
    }

    /// Marks `symbol` at `price` (as [`Self::mark`]) and returns the equity after it
    /// ([`Self::equity`], the same value): when nothing but this position is open, cash
    /// plus its value, with no walk over the other positions (whose values are zero).
    pub fn mark_equity<K: SymbolKey + ?Sized>(&mut self, symbol: &K, price: Fixed, at: Timestamp) -> Fixed {
        let cash = self.cash;
        let only_open = match self.positions.get_mut(symbol) {
            Some(p) => {
                p.set_mark(price, at);
                match (self.open, p.quantity.is_zero()) {
                    (0, _) => return cash,
                    (1, false) => Some(p.market_value()),
                    _ => None,
                }
            }
            None if self.open == 0 => return cash,
            None => None,
        };
        match only_open {
            // The fold of `equity` over one non-zero value: every flat one adds zero.
            Some(value) => cash.checked_add(value).unwrap_or(cash),
            None => self.equity(),
        }
    }

    /// Cash plus the market value of every position.
    pub fn equity(&self) -> Fixed {
        self.positions.values().fold(self.cash, |e, p| e.checked_add(p.market_value()).unwrap_or(e))
    }

    /// Whether any position is open (not flat).
    pub fn has_open_position(&self) -> bool {
        debug_assert_eq!(self.open, self.open_positions().count(), "the open count follows the positions");
        self.open > 0
    }

    pub fn realized_pnl(&self) -> Fixed {
        self.positions.values().fold(Fixed::ZERO, |a, p| a.checked_add(p.realized_pnl).unwrap_or(a))
    }

    pub fn unrealized_pnl(&self) -> Fixed {
        self.positions.values().fold(Fixed::ZERO, |a, p| a.checked_add(p.unrealized_pnl()).unwrap_or(a))
    }

    pub fn fees(&self) -> Fixed {
        self.positions.values().fold(Fixed::ZERO, |a, p| a.checked_add(p.fees).unwrap_or(a))
    }

    /// Open (non-zero) positions.
    pub fn open_positions(&self) -> impl Iterator<Item = &Position> {
        self.positions.values().filter(|p| !p.quantity.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn long_round_trip_realises_and_pays_fees() {
        let mut p = Portfolio::new("USDT");
        p.adjust_cash(f("10000")).unwrap();
        p.apply_fill("BTC/USDT", Side::Buy, f("0.1"), f("30000"), f("3")).unwrap();
        p.apply_fill("BTC/USDT", Side::Buy, f("0.1"), f("31000"), f("3.1")).unwrap();
        let pos = &p.positions["BTC/USDT"];
        assert_eq!((pos.quantity, pos.average_price), (f("0.2"), f("30500")));
        assert_eq!(p.cash, f("3893.9"));
        p.mark("BTC/USDT", f("32000"), Timestamp(0));
        assert_eq!(p.unrealized_pnl(), f("300"));
        assert_eq!(p.equity(), f("10293.9"));
        p.apply_fill("BTC/USDT", Side::Sell, f("0.2"), f("32000"), f("6.4")).unwrap();
        let pos = &p.positions["BTC/USDT"];
        assert_eq!((pos.quantity, pos.realized_pnl, pos.fees), (Fixed::ZERO, f("300"), f("12.5")));
        assert_eq!(p.cash, f("10287.5"));
        assert_eq!(p.equity(), f("10287.5"));
    }

    #[test]
    fn short_and_flip() {
        let mut p = Portfolio::new("USDT");
        p.adjust_cash(f("1000")).unwrap();
        p.apply_fill("ETH/USDT", Side::Sell, f("1"), f("2000"), Fixed::ZERO).unwrap();
        assert_eq!(p.position("ETH/USDT"), f("-1"));
        // Buy 3 at 1900: closes the short (+100), opens 2 long at 1900.
        p.apply_fill("ETH/USDT", Side::Buy, f("3"), f("1900"), Fixed::ZERO).unwrap();
        let pos = &p.positions["ETH/USDT"];
        assert_eq!((pos.quantity, pos.average_price, pos.realized_pnl), (f("2"), f("1900"), f("100")));
        assert_eq!(p.cash, f("-2700"));
    }

    proptest! {
        /// The mark's shortcut (`mark_equity`) gives `equity()` exactly, and the open count
        /// follows the positions, whatever the fills: several symbols, flips through zero,
        /// positions closed and reopened, marks of symbols never traded.
        #[test]
        fn mark_equity_is_equity_and_the_open_count_follows(
            steps in prop::collection::vec((0usize..4, any::<bool>(), 0i64..4, 1i64..1000, 1i64..1000), 1..80),
        ) {
            let symbols = ["A/USDT", "B/USDT", "C/USDT", "D/USDT"];
            let mut p = Portfolio::new("USDT");
            p.adjust_cash(Fixed::from_int(1_000_000)).unwrap();
            for (k, buy, q, px, mark) in steps {
                let side = if buy { Side::Buy } else { Side::Sell };
                // Symbol D is only ever marked, never traded.
                if k < 3 && q > 0 {
                    p.apply_fill(symbols[k], side, Fixed::from_int(q), Fixed::from_int(px), Fixed::ZERO).unwrap();
                }
                let equity = p.mark_equity(symbols[k], Fixed::from_int(mark), Timestamp(mark));
                prop_assert_eq!(equity, p.equity());
                prop_assert_eq!(p.has_open_position(), p.open_positions().next().is_some());
                prop_assert_eq!(p.positions.get(symbols[k]).and_then(|x| x.mark_price), (k < 3 && p.positions.contains_key(symbols[k])).then(|| Fixed::from_int(mark)));
            }
        }

        /// With fills at integer prices (exact averages), equity always equals deposits +
        /// realised + unrealised - fees, to the unit.
        #[test]
        fn equity_identity(fills in prop::collection::vec((any::<bool>(), 1i64..50, 1i64..1000, 0i64..5), 1..60), mark in 1i64..1000) {
            let mut p = Portfolio::new("USDT");
            p.adjust_cash(Fixed::from_int(100_000)).unwrap();
            let traded_units: i128 = fills.iter().map(|f| f.1 as i128).sum();
            let steps = fills.len() as i128;
            for (buy, q, px, fee) in fills {
                let side = if buy { Side::Buy } else { Side::Sell };
                p.apply_fill("X/USDT", side, Fixed::from_int(q), Fixed::from_int(px), Fixed::from_int(fee)).unwrap();
            }
            p.mark("X/USDT", Fixed::from_int(mark), Timestamp(0));
            let rhs = p.deposits.raw() + p.realized_pnl().raw() + p.unrealized_pnl().raw() - p.fees().raw();
            // Each averaging step rounds the average to 1e-8 (at most one raw unit per unit
            // held); that error reaches realised and unrealised P&L through at most every
            // unit traded, once per step: a bound of traded units * steps raw units.
            let slack = traded_units * steps + 1;
            prop_assert!((p.equity().raw() - rhs).abs() <= slack, "equity {} vs {} (slack {slack} raw)", p.equity(), Fixed::from_raw(rhs));
        }
    }
}
