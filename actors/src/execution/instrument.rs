//! Per-symbol trading rules: price tick, quantity lot, minimum quantity and notional.
//!
//! Why: a venue refuses `0.123456789 BTC` or a price of `30000.005` on a 0.01 tick, so we
//! refuse it first, with the rule named, instead of finding out from the exchange. The
//! table has Binance's rules for common pairs and a default for every other valid symbol;
//! all symbols of one account share its quote currency (the portfolio is kept in it).

use std::borrow::Cow;
use std::collections::BTreeMap;
use tradpal_messages::{is_valid_symbol, Fixed};

/// Why a symbol cannot be traded in this account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    #[error("symbol {0:?} is not BASE/QUOTE (e.g. BTC/USDT)")]
    NotAPair(String),
    #[error("symbol {symbol:?} is quoted in {quote}, this account trades in {account}")]
    OtherQuote { symbol: String, quote: String, account: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    pub symbol: String,
    /// Prices are multiples of this.
    pub tick_size: Fixed,
    /// Quantities are multiples of this.
    pub lot_size: Fixed,
    pub min_quantity: Fixed,
    /// Smallest `price * quantity`, in the quote currency.
    pub min_notional: Fixed,
}

impl Instrument {
    pub fn base(&self) -> &str {
        self.symbol.split_once('/').map_or("", |(b, _)| b)
    }
    pub fn quote(&self) -> &str {
        self.symbol.split_once('/').map_or("", |(_, q)| q)
    }
}

fn fx(s: &str) -> Fixed {
    Fixed::parse(s).expect("instrument table constant")
}

/// The instruments the account can trade.
#[derive(Debug, Clone)]
pub struct Instruments {
    quote: String,
    known: BTreeMap<String, Instrument>,
    default_rule: (Fixed, Fixed, Fixed, Fixed),
}

impl Instruments {
    /// Binance spot rules (tick, lot, min quantity, min notional) for common `*/USDT`
    /// pairs; every other valid `X/USDT` symbol gets tick 0.00000001, lot 0.00000001,
    /// minimum notional 1.
    pub fn binance_usdt() -> Self {
        let rows = [
            ("BTC/USDT", "0.01", "0.00001", "0.00001", "5"),
            ("ETH/USDT", "0.01", "0.0001", "0.0001", "5"),
            ("BNB/USDT", "0.01", "0.001", "0.001", "5"),
            ("SOL/USDT", "0.01", "0.001", "0.001", "5"),
            ("XRP/USDT", "0.0001", "0.1", "0.1", "5"),
            ("ADA/USDT", "0.0001", "0.1", "0.1", "5"),
            ("DOGE/USDT", "0.00001", "1", "1", "1"),
        ];
        let known = rows
            .iter()
            .map(|(s, t, l, q, n)| {
                let i = Instrument { symbol: s.to_string(), tick_size: fx(t), lot_size: fx(l), min_quantity: fx(q), min_notional: fx(n) };
                (s.to_string(), i)
            })
            .collect();
        let tiny = Fixed::from_raw(1);
        Self { quote: "USDT".into(), known, default_rule: (tiny, tiny, tiny, Fixed::ONE) }
    }

    /// An account in `quote` with no table: every valid `X/<quote>` symbol gets the
    /// generic rule (tick and lot 0.00000001, minimum notional 1), as unknown USDT pairs do.
    pub fn generic(quote: &str) -> Self {
        let tiny = Fixed::from_raw(1);
        Self { quote: quote.to_string(), known: BTreeMap::new(), default_rule: (tiny, tiny, tiny, Fixed::ONE) }
    }

    /// The account's currency: every symbol must be quoted in it.
    pub fn quote(&self) -> &str {
        &self.quote
    }

    /// The rules for `symbol`, or why it cannot be traded here.
    ///
    /// A listed instrument is lent, not copied: every order submission asks.
    pub fn get(&self, symbol: &str) -> Result<Cow<'_, Instrument>, InstrumentError> {
        if let Some(i) = self.known.get(symbol) {
            return Ok(Cow::Borrowed(i));
        }
        if !is_valid_symbol(symbol) {
            return Err(InstrumentError::NotAPair(symbol.to_string()));
        }
        let quote = symbol.split_once('/').map_or("", |(_, q)| q);
        if quote != self.quote {
            return Err(InstrumentError::OtherQuote { symbol: symbol.to_string(), quote: quote.to_string(), account: self.quote.clone() });
        }
        let (tick_size, lot_size, min_quantity, min_notional) = self.default_rule;
        Ok(Cow::Owned(Instrument { symbol: symbol.to_string(), tick_size, lot_size, min_quantity, min_notional }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_default_and_refused() {
        let t = Instruments::binance_usdt();
        assert_eq!(t.get("BTC/USDT").unwrap().tick_size, fx("0.01"));
        let d = t.get("PEPE/USDT").unwrap();
        assert_eq!((d.base(), d.quote(), d.lot_size), ("PEPE", "USDT", Fixed::from_raw(1)));
        assert!(t.get("ETH/BTC").unwrap_err().to_string().contains("quoted in BTC"));
        assert!(t.get("BTCUSDT").unwrap_err().to_string().contains("BASE/QUOTE"));
    }
}
