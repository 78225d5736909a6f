//! Input checks, run before any arithmetic so that every later step may assume finite,
//! positive, time-ordered data and cannot panic or produce NaN from bad input.

use super::{EquityPoint, MetricsError, MetricsInput, TradeRecord};

/// Checks the whole input; the first problem found is the error.
pub(crate) fn input(input: &MetricsInput) -> Result<(), MetricsError> {
    equity(input.equity)?;
    all_but_the_curve(input)
}

/// [`input`] without the equity curve's own check, for a curve whose producer already
/// holds it to [`equity`]'s rules (see `super::compute_recorded`).
pub(crate) fn all_but_the_curve(input: &MetricsInput) -> Result<(), MetricsError> {
    if input.bar_interval_ns <= 0 {
        return Err(MetricsError::BarInterval(input.bar_interval_ns));
    }
    let rf = input.risk_free_rate;
    if !rf.is_finite() || rf <= -1.0 {
        return Err(MetricsError::RiskFreeRate(rf));
    }
    if input.exposure_bars > input.equity.len() {
        return Err(MetricsError::ExposureBars { got: input.exposure_bars, bars: input.equity.len() });
    }
    if let Some(b) = input.benchmark {
        benchmark(b, input.equity.len())?;
    }
    for (index, t) in input.trades.iter().enumerate() {
        trade(index, t)?;
    }
    Ok(())
}

/// A non-empty curve of finite values > 0, strictly increasing in time, whose
/// `max / min` is finite (so every per-bar return and the total return are finite).
pub(crate) fn equity(points: &[EquityPoint]) -> Result<(), MetricsError> {
    if points.is_empty() {
        return Err(MetricsError::EmptyEquity);
    }
    // One pass (a million-point curve is 16 MB): each point, and the range on the way.
    let mut span = Span::default();
    for (index, p) in points.iter().enumerate() {
        if !(p.equity.is_finite() && p.equity > 0.0) {
            return Err(MetricsError::Equity { index, value: p.equity });
        }
        if index > 0 && p.time <= points[index - 1].time {
            return Err(MetricsError::TimeOrder { index, previous: points[index - 1].time, time: p.time });
        }
        span.add(p.equity);
    }
    span.check("equity")
}

/// Same length as the curve, finite values > 0, finite `max / min`.
fn benchmark(values: &[f64], expected: usize) -> Result<(), MetricsError> {
    if values.len() != expected {
        return Err(MetricsError::BenchmarkLength { got: values.len(), expected });
    }
    let mut span = Span::default();
    for (index, &value) in values.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(MetricsError::Benchmark { index, value });
        }
        span.add(value);
    }
    span.check("benchmark")
}

/// The least and greatest of positive finite values, gathered in the pass that checks
/// them: `max / min` must itself be finite.
struct Span {
    min: f64,
    max: f64,
}

impl Default for Span {
    fn default() -> Self {
        Span { min: f64::INFINITY, max: 0.0 }
    }
}

impl Span {
    #[inline]
    fn add(&mut self, v: f64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    fn check(self, field: &'static str) -> Result<(), MetricsError> {
        let Span { min, max } = self;
        if (max / min).is_finite() {
            Ok(())
        } else {
            Err(MetricsError::Range { field, min, max })
        }
    }
}

/// Every number of a trade is finite (signs are the caller's business: a short's
/// quantity may be recorded either way, and fees may be rebates).
fn trade(index: usize, t: &TradeRecord) -> Result<(), MetricsError> {
    let fields = [
        ("entry_price", t.entry_price),
        ("exit_price", t.exit_price),
        ("quantity", t.quantity),
        ("pnl", t.pnl),
        ("fees", t.fees),
        ("return_pct", t.return_pct),
    ];
    match fields.into_iter().find(|(_, v)| !v.is_finite()) {
        Some((field, value)) => Err(MetricsError::Trade { index, field, value }),
        None => Ok(()),
    }
}
