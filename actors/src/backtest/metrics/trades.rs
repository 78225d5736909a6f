//! Trade statistics: how often the strategy wins, by how much, and how reliably.
//!
//! Conventions: a trade wins when its net `pnl > 0` and loses when `pnl < 0`; a trade at
//! exactly 0 (breakeven) counts in the number of trades but is neither. P&L figures are in
//! quote currency, net of fees; return figures are `TradeRecord::return_pct` as given.

use super::stats::{finite, mean, sample_std};
use super::TradeRecord;
use serde::{Deserialize, Serialize};

/// Trade statistics; every field but the count is `None` without trades.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TradeStats {
    pub number_of_trades: usize,
    /// `wins / n`, a win being `pnl > 0`.
    pub win_rate: Option<f64>,
    /// `gross_profit / gross_loss`; `None` without a losing trade.
    pub profit_factor: Option<f64>,
    /// `win_rate * avg_win - loss_rate * avg_loss` (= mean P&L per trade), currency per trade.
    pub expectancy: Option<f64>,
    /// `mean(return_pct)`.
    pub avg_trade_return: Option<f64>,
    /// `mean(pnl)`.
    pub avg_trade_pnl: Option<f64>,
    /// `max(return_pct)`.
    pub best_trade_return: Option<f64>,
    /// `max(pnl)` (may be another trade than the best return).
    pub best_trade_pnl: Option<f64>,
    /// `min(return_pct)`.
    pub worst_trade_return: Option<f64>,
    /// `min(pnl)`.
    pub worst_trade_pnl: Option<f64>,
    /// `sqrt(n) * mean(pnl) / std(pnl)`; `None` for fewer than two trades.
    pub sqn: Option<f64>,
}

/// All trade statistics in one call; each formula is documented on its function. Trades
/// must have finite numbers (`compute` validates them); an overflowing sum is `None`.
pub fn trade_stats(trades: &[TradeRecord]) -> TradeStats {
    if trades.is_empty() {
        return TradeStats::default();
    }
    let pnl: Vec<f64> = trades.iter().map(|t| t.pnl).collect();
    let ret: Vec<f64> = trades.iter().map(|t| t.return_pct).collect();
    let wins = pnl.iter().filter(|&&p| p > 0.0).count();
    TradeStats {
        number_of_trades: trades.len(),
        win_rate: Some(wins as f64 / trades.len() as f64),
        profit_factor: profit_factor(&pnl),
        expectancy: expectancy(&pnl),
        avg_trade_return: finite(mean(&ret)),
        avg_trade_pnl: finite(mean(&pnl)),
        best_trade_return: ret.iter().copied().reduce(f64::max),
        best_trade_pnl: pnl.iter().copied().reduce(f64::max),
        worst_trade_return: ret.iter().copied().reduce(f64::min),
        worst_trade_pnl: pnl.iter().copied().reduce(f64::min),
        sqn: sqn(&pnl),
    }
}

/// Profit factor, `gross_profit / gross_loss = sum(pnl > 0) / |sum(pnl < 0)|`: money won
/// per unit of money lost; above 1 the strategy made money. `None` without a losing trade
/// (a ratio to zero is not infinity in a report).
pub fn profit_factor(pnl: &[f64]) -> Option<f64> {
    let gross_profit: f64 = pnl.iter().filter(|&&p| p > 0.0).sum();
    let gross_loss: f64 = -pnl.iter().filter(|&&p| p < 0.0).sum::<f64>();
    if gross_loss <= 0.0 {
        return None;
    }
    finite(gross_profit / gross_loss)
}

/// Expectancy, `win_rate * avg_win - loss_rate * avg_loss`, in currency per trade, with
/// `win_rate = wins / n`, `loss_rate = losses / n`, `avg_win` the mean P&L of winners and
/// `avg_loss` the mean |P&L| of losers (each 0 when there are none).
///
/// Breakeven trades add 0, so this equals `mean(pnl)`: what one more trade is worth on
/// average. It is computed from the parts so the doc's formula is the code. `None` without
/// trades.
pub fn expectancy(pnl: &[f64]) -> Option<f64> {
    if pnl.is_empty() {
        return None;
    }
    let n = pnl.len() as f64;
    let (wins, losses): (Vec<f64>, Vec<f64>) = pnl.iter().filter(|&&p| p != 0.0).partition(|&&p| p > 0.0);
    let avg = |xs: &[f64]| if xs.is_empty() { 0.0 } else { mean(xs).abs() };
    let (win_rate, loss_rate) = (wins.len() as f64 / n, losses.len() as f64 / n);
    finite(win_rate * avg(&wins) - loss_rate * avg(&losses))
}

/// Van Tharp's System Quality Number on net P&L, `sqrt(n) * mean(pnl) / std(pnl)` with the
/// sample std (`n - 1`): the t-statistic of the mean trade, i.e. how sure we are that the
/// edge is not luck. Uses P&L rather than R-multiples (no initial risk is recorded) and
/// does not cap `n` at 100 as some variants do. `None` for fewer than two trades or a std
/// at or below `1e-12 * max|pnl|` (identical trades: rounding noise, not a spread).
pub fn sqn(pnl: &[f64]) -> Option<f64> {
    if pnl.len() < 2 {
        return None;
    }
    let sd = sample_std(pnl);
    let scale = pnl.iter().fold(0.0f64, |m, p| m.max(p.abs()));
    if !sd.is_finite() || sd <= 1e-12 * scale {
        return None;
    }
    finite((pnl.len() as f64).sqrt() * mean(pnl) / sd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::{Side, Timestamp};

    fn trade(pnl: f64, return_pct: f64) -> TradeRecord {
        TradeRecord {
            symbol: "BTC/USDT".into(),
            side: Side::Buy,
            entry_time: Timestamp(0),
            exit_time: Timestamp(1),
            entry_price: 100.0,
            exit_price: 100.0 + pnl,
            quantity: 1.0,
            pnl,
            fees: 0.1,
            return_pct,
            bars_held: 1,
            source: "sma_cross".into(),
        }
    }

    #[test]
    fn four_trades_by_hand() {
        // P&L +10, -5, +20, -5. Wins 2 of 4: win rate 0.5.
        // Profit factor (10 + 20) / (5 + 5) = 3.
        // Expectancy 0.5 * 15 - 0.5 * 5 = 5 (= mean 20 / 4).
        // SQN: mean 5, deviations 5, -10, 15, -10, sample var (25+100+225+100)/3 = 150,
        // sqrt(4) * 5 / sqrt(150) = 10 / 12.2474 = 0.8165.
        let t: Vec<_> = [(10.0, 0.1), (-5.0, -0.05), (20.0, 0.2), (-5.0, -0.05)].map(|(p, r)| trade(p, r)).into();
        let s = trade_stats(&t);
        assert_eq!(s.number_of_trades, 4);
        assert_eq!(s.win_rate, Some(0.5));
        assert_eq!(s.profit_factor, Some(3.0));
        assert_eq!(s.expectancy, Some(5.0));
        assert_eq!(s.avg_trade_pnl, Some(5.0));
        assert!((s.avg_trade_return.unwrap() - 0.05).abs() < 1e-15);
        assert_eq!((s.best_trade_pnl, s.worst_trade_pnl), (Some(20.0), Some(-5.0)));
        assert_eq!((s.best_trade_return, s.worst_trade_return), (Some(0.2), Some(-0.05)));
        assert!((s.sqn.unwrap() - 2.0 * 5.0 / 150f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn breakeven_trades_count_but_neither_win_nor_lose() {
        // +10, 0, -5, -5: win rate 1/4, loss rate 2/4; expectancy 0.25 * 10 - 0.5 * 5 = 0.
        let t: Vec<_> = [10.0, 0.0, -5.0, -5.0].map(|p| trade(p, p / 100.0)).into();
        let s = trade_stats(&t);
        assert_eq!(s.win_rate, Some(0.25));
        assert_eq!(s.expectancy, Some(0.0));
        assert_eq!(s.profit_factor, Some(1.0));
    }

    #[test]
    fn undefined_statistics_are_none() {
        assert_eq!(trade_stats(&[]), TradeStats::default());
        let only_wins: Vec<_> = [1.0, 2.0].map(|p| trade(p, p)).into();
        let s = trade_stats(&only_wins);
        assert_eq!(s.profit_factor, None, "no losing trade");
        assert_eq!(s.win_rate, Some(1.0));
        assert_eq!(sqn(&[3.0]), None, "one trade has no spread");
        assert_eq!(sqn(&[0.1, 0.1, 0.1]), None, "identical trades have no spread");
    }
}
