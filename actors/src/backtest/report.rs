//! The JSON documents the HTTP API serves for a finished backtest (pure).
//!
//! [`performance`] is the full report, and also what is written to the result file:
//! every metric, the counts, the trades (at most [`REPORT_TRADES_MAX`]), the equity curve
//! downsampled to at most [`EQUITY_POINTS_MAX`] points, drawdown periods (at most
//! [`DRAWDOWN_PERIODS_MAX`], deepest kept), monthly returns and the event-stream hash.
//! [`summary`] picks the headline out of it (what `results/{id}` shows).
//!
//! `attribution` (P&L by symbol, side, signal source and month of exit, and inside the
//! deepest drawdown periods: `attribution.rs`) is always there; `monte_carlo` and
//! `lookahead` only when the run asked for them ([`add_sections`]).

use super::attribution::{attribute, with_drawdowns};
use super::metrics::{drawdown_periods, monthly_returns, EquityPoint};
use super::result::BacktestResult;
use super::strategy::StrategySpec;
use serde_json::{json, Value};
use tradpal_messages::BacktestId;

/// Most equity points in a report: the curve is thinned (see [`downsample`]) to at most
/// this many.
pub const EQUITY_POINTS_MAX: usize = 2_000;
/// Most closed trades in a report (the oldest; `trades_truncated` says when cut).
pub const REPORT_TRADES_MAX: usize = 50_000;
/// Most drawdown periods in a report (the deepest, in time order).
pub const DRAWDOWN_PERIODS_MAX: usize = 500;

/// At most `max` (>= 8) points of the curve, in time order: the first and last, the
/// peak and trough of the maximum drawdown, and the highest and lowest point of each of
/// `(max - 4) / 2` equal runs of bars. Even spacing would drop the extremes: a chart of
/// the thinned curve would show a shallower drawdown than the report's own table. With
/// the extremes kept, the chart's deepest drawdown is the table's.
pub fn downsample(points: &[EquityPoint], max: usize) -> Vec<EquityPoint> {
    downsample_indices(points, max).into_iter().map(|i| points[i]).collect()
}

/// The indexes [`downsample`] keeps, in order.
pub fn downsample_indices(points: &[EquityPoint], max: usize) -> Vec<usize> {
    let max = max.max(8);
    if points.len() <= max {
        return (0..points.len()).collect();
    }
    let last = points.len() - 1;
    let mut keep = vec![0, last];
    let (mut peak, mut dd) = (0usize, (0usize, 0usize, 0.0f64));
    for (i, p) in points.iter().enumerate() {
        if p.equity > points[peak].equity {
            peak = i;
        }
        let depth = 1.0 - p.equity / points[peak].equity;
        if depth > dd.2 {
            dd = (peak, i, depth);
        }
    }
    keep.extend([dd.0, dd.1]);
    let buckets = (max - 4) / 2;
    for b in 0..buckets {
        let (from, to) = (1 + b * (last - 1) / buckets, 1 + (b + 1) * (last - 1) / buckets);
        let run = &points[from..to.max(from + 1).min(last)];
        let lo = run.iter().enumerate().min_by(|a, b| a.1.equity.total_cmp(&b.1.equity)).map(|(k, _)| from + k);
        let hi = run.iter().enumerate().max_by(|a, b| a.1.equity.total_cmp(&b.1.equity)).map(|(k, _)| from + k);
        keep.extend(lo.into_iter().chain(hi));
    }
    keep.sort_unstable();
    keep.dedup();
    keep
}

/// The full report of a run (see the module doc); `request` is echoed as sent.
pub fn performance(id: BacktestId, spec: &StrategySpec, request: &Value, r: &BacktestResult) -> Value {
    let mut periods = drawdown_periods(&r.equity).unwrap_or_default();
    if periods.len() > DRAWDOWN_PERIODS_MAX {
        periods.sort_by(|a, b| b.depth.total_cmp(&a.depth));
        periods.truncate(DRAWDOWN_PERIODS_MAX);
        periods.sort_by_key(|p| p.start);
    }
    let monthly: Vec<Value> = monthly_returns(&r.equity)
        .unwrap_or_default()
        .into_iter()
        .map(|(y, m, ret)| json!({ "year": y, "month": m, "return": ret }))
        .collect();
    let trades = &r.trades[..r.trades.len().min(REPORT_TRADES_MAX)];
    let kept = downsample_indices(&r.equity, EQUITY_POINTS_MAX);
    let attribution = with_drawdowns(attribute(&r.trades), &periods, &r.trades);
    let mut doc = json!({
        "backtest_id": id,
        "status": "completed",
        "symbol": r.symbol,
        "timeframe": r.timeframe.as_str(),
        "strategy": r.strategy,
        "strategy_spec": spec,
        "description": spec.describe(),
        "request": request,
        "metrics": r.metrics,
        "counts": r.counts,
        "starting_cash": r.starting_cash,
        "final_equity": r.final_equity,
        "final_cash": r.final_cash,
        "final_position": r.final_position,
        "fees_paid": r.fees_paid,
        "realized_pnl": r.realized_pnl,
        "trades": trades,
        "trades_total": r.trades.len(),
        "trades_truncated": r.trades.len() > trades.len(),
        "open_trade": r.open_trade,
        "equity_curve": kept.iter().map(|&i| r.equity[i]).collect::<Vec<_>>(),
        "benchmark_curve": benchmark_curve(r, &kept),
        "equity_points_total": r.equity.len(),
        "drawdown_periods": periods,
        "monthly_returns": monthly,
        "attribution": attribution,
        "event_count": r.event_count,
        "event_stream_hash": r.event_stream_hash,
        "notes": r.notes,
    });
    // A portfolio's symbols, each with its position, trades and open trade (a
    // one-symbol report keeps its shape).
    if let (false, Some(o)) = (r.per_symbol.is_empty(), doc.as_object_mut()) {
        o.insert("per_symbol".into(), json!(r.per_symbol));
    }
    doc
}

/// Buy and hold at the kept points, scaled to the starting cash (what the cash would be
/// worth held in the benchmark); empty when the run has no benchmark per bar.
fn benchmark_curve(r: &BacktestResult, kept: &[usize]) -> Vec<f64> {
    let (b, cash) = (&r.benchmark, r.starting_cash.to_f64());
    match b.first() {
        Some(&b0) if b.len() == r.equity.len() && b0 > 0.0 => kept.iter().map(|&i| cash * b[i] / b0).collect(),
        _ => Vec::new(),
    }
}

/// Adds named sections (the robustness analyses) to a report made by [`performance`].
pub fn add_sections(doc: &mut Value, sections: impl IntoIterator<Item = (&'static str, Value)>) {
    if let Some(o) = doc.as_object_mut() {
        for (k, v) in sections {
            o.insert(k.to_string(), v);
        }
    }
}

/// The headline of a report made by [`performance`]: the spec's four fields, CAGR, the
/// trade count and a few more, plus `status` and `progress` = 1.
pub fn summary(doc: &Value) -> Value {
    let m = &doc["metrics"];
    json!({
        "backtest_id": doc["backtest_id"],
        "status": "completed",
        "progress": 1.0,
        "symbol": doc["symbol"],
        "timeframe": doc["timeframe"],
        "strategy": doc["strategy"],
        "description": doc["description"],
        "bars": m["bars"],
        "start": m["start"],
        "end": m["end"],
        "total_return": m["total_return"],
        "sharpe_ratio": m["sharpe_ratio"],
        "max_drawdown": m["max_drawdown"],
        "win_rate": m["win_rate"],
        "cagr": m["cagr"],
        "sortino_ratio": m["sortino_ratio"],
        "profit_factor": m["profit_factor"],
        "buy_and_hold_return": m["buy_and_hold_return"],
        "trades": m["number_of_trades"],
        "final_equity": doc["final_equity"],
        "fees_paid": doc["fees_paid"],
        "event_stream_hash": doc["event_stream_hash"],
        "notes": doc["notes"],
    })
}

/// The answer for a run not finished: the headline fields null.
pub fn unfinished(id: BacktestId, status: &str, progress: f64, error: Option<&str>) -> Value {
    json!({
        "backtest_id": id,
        "status": status,
        "progress": progress,
        "error": error,
        "total_return": null,
        "sharpe_ratio": null,
        "max_drawdown": null,
        "win_rate": null,
        "cagr": null,
        "trades": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::Timestamp;

    #[test]
    fn downsample_keeps_ends_and_bound() {
        let pts: Vec<EquityPoint> = (0..10_001).map(|i| EquityPoint { time: Timestamp(i), equity: i as f64 + 1.0 }).collect();
        let d = downsample(&pts, EQUITY_POINTS_MAX);
        assert!(d.len() <= EQUITY_POINTS_MAX && d.len() > EQUITY_POINTS_MAX - 10, "{}", d.len());
        assert_eq!(d[0], pts[0]);
        assert_eq!(*d.last().unwrap(), *pts.last().unwrap());
        assert!(d.windows(2).all(|w| w[0].time < w[1].time));
        assert_eq!(downsample(&pts[..5], EQUITY_POINTS_MAX).len(), 5);
    }

    #[test]
    fn downsample_keeps_the_deepest_drawdown() {
        // A one-bar crash in the middle of 100,000 bars: evenly spaced points miss it.
        let pts: Vec<EquityPoint> = (0..100_000)
            .map(|i| EquityPoint { time: Timestamp(i), equity: if i == 54_321 { 50.0 } else { 100.0 + (i % 7) as f64 } })
            .collect();
        let dd = |p: &[EquityPoint]| {
            let mut peak = f64::MIN;
            p.iter()
                .map(|x| {
                    peak = peak.max(x.equity);
                    1.0 - x.equity / peak
                })
                .fold(0.0f64, f64::max)
        };
        let d = downsample(&pts, EQUITY_POINTS_MAX);
        assert!(d.len() <= EQUITY_POINTS_MAX && d.windows(2).all(|w| w[0].time < w[1].time));
        assert_eq!(dd(&d), dd(&pts), "the chart's drawdown is the table's");
        assert!(d.iter().any(|p| p.time == Timestamp(54_321)));
    }
}
