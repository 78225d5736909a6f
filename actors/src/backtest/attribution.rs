//! P&L attribution of a run's closed trades (pure): where the money was made or lost.
//!
//! Every closed [`TradeRecord`] lands in exactly one bucket of each breakdown, so each
//! breakdown's buckets add up to [`Attribution::total`]:
//!
//! - `by_symbol`: the trade's symbol;
//! - `by_side`: `long` (entered with a buy) or `short`;
//! - `by_source`: the trade's `source`, what produced its signal (the strategy's name
//!   today; for the ensemble, `ml`, `rl`, `regime` become keys with no change here);
//! - `by_month`: the UTC calendar month of the trade's exit (`YYYY-MM`): P&L counts when
//!   it is realised.
//!
//! Per bucket: trades, wins (net P&L > 0), losses (< 0), gross P&L (before fees), fees,
//! net P&L (after fees; the trade's `pnl`), win rate. Sums are compensated (Neumaier), so
//! the buckets' totals agree with the total to rounding of the last bit, whatever the
//! order the trades were added in.
//!
//! The trade still open at the end of a run is not attributed (as it is not in the trade
//! metrics): it has no exit yet. Drawdown periods are not recomputed here: the caller
//! hands in the ones `metrics::drawdown_periods` found (the report computes them once)
//! and [`with_drawdowns`] adds the P&L of the trades that closed inside the deepest
//! [`DRAWDOWN_ATTRIBUTION_MAX`] of them.

use super::metrics::{year_month, DrawdownPeriod, TradeRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tradpal_messages::{Side, Timestamp};

/// Most drawdown periods given a P&L breakdown (the deepest ones).
pub const DRAWDOWN_ATTRIBUTION_MAX: usize = 10;

/// One bucket of a breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Bucket {
    pub trades: usize,
    /// Trades with net P&L > 0.
    pub wins: usize,
    /// Trades with net P&L < 0 (a trade at exactly 0 is neither).
    pub losses: usize,
    /// Net P&L plus fees: what the prices alone made.
    pub gross_pnl: f64,
    pub fees: f64,
    /// The sum of the trades' `pnl` (after fees), in quote currency.
    pub net_pnl: f64,
    /// `wins / trades`; `None` without trades.
    pub win_rate: Option<f64>,
}

/// The P&L of the trades that closed inside one drawdown period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DrawdownAttribution {
    #[serde(flatten)]
    pub period: DrawdownPeriod,
    /// Trades whose exit falls in `[start, end)` (to the end of the run when not recovered).
    pub trades: usize,
    pub net_pnl: f64,
}

/// Every breakdown of a run's closed trades (see the module doc).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Attribution {
    pub total: Bucket,
    pub by_symbol: BTreeMap<String, Bucket>,
    pub by_side: BTreeMap<String, Bucket>,
    pub by_source: BTreeMap<String, Bucket>,
    /// Keyed `YYYY-MM` (UTC, of the exit), so the map's order is time order.
    pub by_month: BTreeMap<String, Bucket>,
    /// The deepest drawdown periods (at most [`DRAWDOWN_ATTRIBUTION_MAX`], deepest
    /// first) with the P&L closed inside each; empty until [`with_drawdowns`].
    pub drawdowns: Vec<DrawdownAttribution>,
}

/// A compensated sum (Neumaier): exact to the last bit for the sizes a report holds.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    sum: f64,
    carry: f64,
}

impl Sum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.carry += (self.sum - t) + x;
        } else {
            self.carry += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(self) -> f64 {
        self.sum + self.carry
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    trades: usize,
    wins: usize,
    losses: usize,
    fees: Sum,
    net: Sum,
}

impl Acc {
    fn add(&mut self, t: &TradeRecord) {
        self.trades += 1;
        self.wins += usize::from(t.pnl > 0.0);
        self.losses += usize::from(t.pnl < 0.0);
        self.fees.add(t.fees);
        self.net.add(t.pnl);
    }

    fn bucket(self) -> Bucket {
        let (net_pnl, fees) = (self.net.value(), self.fees.value());
        Bucket {
            trades: self.trades,
            wins: self.wins,
            losses: self.losses,
            gross_pnl: net_pnl + fees,
            fees,
            net_pnl,
            win_rate: (self.trades > 0).then(|| self.wins as f64 / self.trades as f64),
        }
    }
}

/// `long` for a trade entered with a buy, `short` for one entered with a sell.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "long",
        Side::Sell => "short",
    }
}

/// `YYYY-MM` of a time, UTC.
pub fn month_key(t: Timestamp) -> String {
    let (y, m) = year_month(t);
    format!("{y:04}-{m:02}")
}

fn finish(map: BTreeMap<String, Acc>) -> BTreeMap<String, Bucket> {
    map.into_iter().map(|(k, a)| (k, a.bucket())).collect()
}

/// Every breakdown of `trades` (closed round trips, any order). O(trades · log keys).
pub fn attribute(trades: &[TradeRecord]) -> Attribution {
    let mut total = Acc::default();
    let (mut by_symbol, mut by_side, mut by_source, mut by_month) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    // A key is copied into its map once, when first seen (not once a trade: a run may
    // close tens of thousands); a month's key is printed once a month.
    let add = |map: &mut BTreeMap<String, Acc>, key: &str, t: &TradeRecord| match map.get_mut(key) {
        Some(acc) => acc.add(t),
        None => map.entry(key.to_string()).or_default().add(t),
    };
    let mut month: Option<((i64, u32), String)> = None;
    for t in trades {
        total.add(t);
        add(&mut by_symbol, &t.symbol, t);
        add(&mut by_side, side_name(t.side), t);
        add(&mut by_source, &t.source, t);
        let ym = year_month(t.exit_time);
        if month.as_ref().is_none_or(|(m, _)| *m != ym) {
            month = Some((ym, month_key(t.exit_time)));
        }
        add(&mut by_month, month.as_ref().map_or("", |(_, k)| k.as_str()), t);
    }
    Attribution {
        total: total.bucket(),
        by_symbol: finish(by_symbol),
        by_side: finish(by_side),
        by_source: finish(by_source),
        by_month: finish(by_month),
        drawdowns: Vec::new(),
    }
}

/// Adds the P&L closed inside each of the deepest [`DRAWDOWN_ATTRIBUTION_MAX`] `periods`
/// (as `metrics::drawdown_periods` reports them; not recomputed). O(periods_max · trades).
pub fn with_drawdowns(mut a: Attribution, periods: &[DrawdownPeriod], trades: &[TradeRecord]) -> Attribution {
    let mut deepest: Vec<&DrawdownPeriod> = periods.iter().collect();
    deepest.sort_by(|x, y| y.depth.total_cmp(&x.depth).then(x.start.cmp(&y.start)));
    deepest.truncate(DRAWDOWN_ATTRIBUTION_MAX);
    a.drawdowns = deepest
        .into_iter()
        .map(|p| {
            let inside = |t: &&TradeRecord| t.exit_time >= p.start && p.end.is_none_or(|end| t.exit_time < end);
            let mut acc = Acc::default();
            trades.iter().filter(inside).for_each(|t| acc.add(t));
            DrawdownAttribution { period: *p, trades: acc.trades, net_pnl: acc.net.value() }
        })
        .collect();
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tradpal_messages::time::{days_from_civil, NANOS_PER_SEC};

    fn day(y: i64, m: i64, d: i64) -> Timestamp {
        Timestamp(days_from_civil(y, m, d).expect("a real date") * 86_400 * NANOS_PER_SEC)
    }

    fn trade(symbol: &str, side: Side, source: &str, exit: Timestamp, pnl: f64, fees: f64) -> TradeRecord {
        TradeRecord {
            symbol: symbol.into(),
            side,
            entry_time: Timestamp(exit.0 - 1),
            exit_time: exit,
            entry_price: 100.0,
            exit_price: 101.0,
            quantity: 1.0,
            pnl,
            fees,
            return_pct: pnl / 100.0,
            bars_held: 1,
            source: source.into(),
        }
    }

    #[test]
    fn buckets_by_symbol_side_source_month() {
        let trades = vec![
            trade("BTC/USDT", Side::Buy, "ml", day(2024, 1, 31), 10.0, 1.0),
            trade("BTC/USDT", Side::Sell, "rl", day(2024, 2, 1), -4.0, 0.5),
            trade("ETH/USDT", Side::Buy, "ml", day(2024, 2, 29), 0.0, 0.25),
            trade("ETH/USDT", Side::Sell, "regime", day(2023, 12, 31), 2.5, 0.0),
        ];
        let a = attribute(&trades);
        assert_eq!((a.total.trades, a.total.wins, a.total.losses), (4, 2, 1));
        assert_eq!((a.total.net_pnl, a.total.fees, a.total.gross_pnl), (8.5, 1.75, 10.25));
        assert_eq!(a.total.win_rate, Some(0.5));
        assert_eq!(a.by_symbol["BTC/USDT"].net_pnl, 6.0);
        assert_eq!(a.by_symbol["ETH/USDT"].fees, 0.25);
        assert_eq!((a.by_side["long"].trades, a.by_side["short"].net_pnl), (2, -1.5));
        assert_eq!(a.by_source.keys().collect::<Vec<_>>(), ["ml", "regime", "rl"]);
        assert_eq!(a.by_source["ml"].gross_pnl, 11.25);
        assert_eq!(a.by_month.keys().collect::<Vec<_>>(), ["2023-12", "2024-01", "2024-02"]);
        assert_eq!((a.by_month["2024-02"].trades, a.by_month["2024-02"].net_pnl), (2, -4.0));
        assert_eq!(a.by_month["2024-02"].win_rate, Some(0.0));
    }

    #[test]
    fn no_trades_is_empty_not_nan() {
        let a = attribute(&[]);
        assert_eq!(a.total, Bucket::default());
        assert!(a.by_month.is_empty() && a.drawdowns.is_empty());
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains("\"win_rate\":null"), "{json}");
    }

    #[test]
    fn drawdowns_count_the_trades_closed_inside_the_deepest() {
        let trades: Vec<TradeRecord> = (1..=10).map(|d| trade("X/USDT", Side::Buy, "s", day(2024, 3, d), d as f64 - 5.0, 0.0)).collect();
        let p = |s: i64, e: Option<i64>, depth: f64| DrawdownPeriod {
            start: day(2024, 3, s),
            trough: day(2024, 3, s),
            end: e.map(|e| day(2024, 3, e)),
            depth,
            bars: 1,
        };
        let mut periods = vec![p(2, Some(4), 0.1), p(6, None, 0.3)];
        periods.extend((0..DRAWDOWN_ATTRIBUTION_MAX).map(|_| p(20, Some(21), 0.01)));
        let a = with_drawdowns(attribute(&trades), &periods, &trades);
        assert_eq!(a.drawdowns.len(), DRAWDOWN_ATTRIBUTION_MAX);
        // Deepest first: [Mar 6, end) holds days 6..=10 -> 1+2+3+4+5; [Mar 2, Mar 4) days 2, 3.
        assert_eq!((a.drawdowns[0].trades, a.drawdowns[0].net_pnl), (5, 15.0));
        assert_eq!((a.drawdowns[1].trades, a.drawdowns[1].net_pnl), (2, -5.0));
        assert_eq!(a.drawdowns[2].trades, 0);
    }

    fn arb_trade() -> impl Strategy<Value = TradeRecord> {
        let sym = prop::sample::select(vec!["BTC/USDT", "ETH/USDT", "X/BTC"]);
        let src = prop::sample::select(vec!["ml", "rl", "regime", "sma_cross"]);
        let side = prop::bool::ANY.prop_map(|b| if b { Side::Buy } else { Side::Sell });
        (sym, side, src, 0i64..2_000, -1e6..1e6f64, 0.0..1e3f64).prop_map(|(sym, side, src, d, pnl, fees)| {
            trade(sym, side, src, Timestamp(day(2020, 1, 1).0 + d * 86_400 * NANOS_PER_SEC), pnl, fees)
        })
    }

    fn close(a: f64, b: f64, scale: f64) -> bool {
        (a - b).abs() <= 1e-12 * scale.max(1.0)
    }

    proptest! {
        /// Each breakdown partitions the trades: counts, fees and P&L add up to the total,
        /// and the total is the plain sum of the trades' P&L.
        #[test]
        fn every_breakdown_sums_to_the_total(trades in prop::collection::vec(arb_trade(), 0..200)) {
            let a = attribute(&trades);
            let scale: f64 = trades.iter().map(|t| t.pnl.abs() + t.fees).sum();
            let plain: f64 = trades.iter().map(|t| t.pnl).sum();
            prop_assert!(close(a.total.net_pnl, plain, scale));
            prop_assert_eq!(a.total.trades, trades.len());
            for map in [&a.by_symbol, &a.by_side, &a.by_source, &a.by_month] {
                let n: usize = map.values().map(|b| b.trades).sum();
                let wins: usize = map.values().map(|b| b.wins).sum();
                let net: f64 = map.values().map(|b| b.net_pnl).sum();
                let fees: f64 = map.values().map(|b| b.fees).sum();
                prop_assert_eq!((n, wins), (a.total.trades, a.total.wins));
                prop_assert!(close(net, a.total.net_pnl, scale), "{} vs {}", net, a.total.net_pnl);
                prop_assert!(close(fees, a.total.fees, scale));
                for b in map.values() {
                    prop_assert!(close(b.gross_pnl - b.fees, b.net_pnl, scale));
                }
            }
        }
    }
}
