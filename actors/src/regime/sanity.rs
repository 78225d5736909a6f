//! Checking regimes on real data, where no true labels exist: do the labels mean what they
//! say? `tradpal regime evaluate` without `--labels` prints this report.
//!
//! Over the classified bars (each label causal: from bars up to it):
//!
//! - the share of bars per trend and per volatility label;
//! - per trend label, the mean **trailing** log return over the last [`SANITY_HORIZON_BARS`]
//!   bars (what the label claims to have seen) and the mean **forward** log return over
//!   the next ones (whether it persisted; reported, not judged: a regime label is a
//!   description, not a forecast);
//! - per volatility label, the mean realised volatility (20-bar RMS of log returns);
//! - switches per 1,000 bars, per axis and of the pair;
//! - a verdict: bull bars have a positive mean trailing return, bear bars a negative one,
//!   and the mean realised vol rises from low to normal to high. A label with no bars fails
//!   its part (a detector that never says bear has not shown it can).

use super::axis::{Axis, AXIS_REGIMES};
use super::error::RegimeError;
use super::features::{features, TREND_WINDOW_BARS};
use super::tracker::BarRegime;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use tradpal_messages::regime::{Trend, Vol};
use tradpal_messages::Candle;

/// Horizon of the trailing and forward returns, in bars (the trend window).
pub const SANITY_HORIZON_BARS: usize = TREND_WINDOW_BARS;

/// One trend label's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendRow {
    pub regime: Trend,
    pub bars: usize,
    pub share: f64,
    /// Mean `ln(close_t / close_{t-h})` over this label's bars with `h` bars behind them.
    pub mean_trailing_return: Option<f64>,
    /// Mean `ln(close_{t+h} / close_t)` over this label's bars with `h` bars ahead.
    pub mean_forward_return: Option<f64>,
}

/// One volatility label's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolRow {
    pub regime: Vol,
    pub bars: usize,
    pub share: f64,
    /// Mean 20-bar realised vol (per bar, not annualised) over this label's bars.
    pub mean_realised_vol: Option<f64>,
}

/// The verdict (module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub bull_trailing_positive: bool,
    pub bear_trailing_negative: bool,
    pub volatility_ordered: bool,
    pub pass: bool,
    /// What failed, in words (empty when `pass`).
    pub failures: Vec<String>,
}

/// The sanity report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SanityReport {
    pub bars: usize,
    pub horizon_bars: usize,
    pub trend: Vec<TrendRow>,
    pub volatility: Vec<VolRow>,
    pub trend_switches_per_1000_bars: f64,
    pub volatility_switches_per_1000_bars: f64,
    pub switches_per_1000_bars: f64,
    pub verdict: Verdict,
}

fn mean(sum: f64, n: usize) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// The report for `regimes` (one per candle, in order, as [`track`](super::track) gives).
pub fn sanity(candles: &[Candle], regimes: &[BarRegime]) -> Result<SanityReport, RegimeError> {
    if candles.len() != regimes.len() {
        return Err(RegimeError::LengthMismatch { what: "sanity", predicted: regimes.len(), truth: candles.len() });
    }
    if candles.is_empty() {
        return Err(RegimeError::Empty { what: "sanity" });
    }
    let feats = features(candles)?;
    let n = candles.len();
    let h = SANITY_HORIZON_BARS;
    let ln_close: Vec<f64> = candles.iter().map(|c| c.close.ln()).collect();
    // Per trend label: bars, trailing (sum, n), forward (sum, n).
    let mut t = [(0usize, 0.0, 0usize, 0.0, 0usize); AXIS_REGIMES];
    let mut v = [(0usize, 0.0); AXIS_REGIMES];
    for (i, r) in regimes.iter().enumerate() {
        let row = &mut t[r.trend.index()];
        row.0 += 1;
        if i >= h {
            row.1 += ln_close[i] - ln_close[i - h];
            row.2 += 1;
        }
        if i + h < n {
            row.3 += ln_close[i + h] - ln_close[i];
            row.4 += 1;
        }
        let vr = &mut v[r.volatility.index()];
        vr.0 += 1;
        vr.1 += feats[i].realised_vol;
    }
    let trend: Vec<TrendRow> = Trend::ALL
        .iter()
        .map(|a| {
            let (bars, ts, tn, fs, fnn) = t[a.index()];
            TrendRow {
                regime: *a,
                bars,
                share: bars as f64 / n as f64,
                mean_trailing_return: mean(ts, tn),
                mean_forward_return: mean(fs, fnn),
            }
        })
        .collect();
    let volatility: Vec<VolRow> = Vol::ALL
        .iter()
        .map(|a| {
            let (bars, s) = v[a.index()];
            VolRow { regime: *a, bars, share: bars as f64 / n as f64, mean_realised_vol: mean(s, bars) }
        })
        .collect();
    let per_1000 = |changed: &dyn Fn(&BarRegime, &BarRegime) -> bool| {
        regimes.windows(2).filter(|w| changed(&w[0], &w[1])).count() as f64 * 1000.0 / n as f64
    };
    let verdict = verdict(&trend, &volatility);
    Ok(SanityReport {
        bars: n,
        horizon_bars: h,
        trend_switches_per_1000_bars: per_1000(&|a, b| a.trend != b.trend),
        volatility_switches_per_1000_bars: per_1000(&|a, b| a.volatility != b.volatility),
        switches_per_1000_bars: per_1000(&|a, b| a.label() != b.label()),
        trend,
        volatility,
        verdict,
    })
}

fn verdict(trend: &[TrendRow], volatility: &[VolRow]) -> Verdict {
    let mut failures = Vec::new();
    let trailing = |r: Trend| trend[r.index()].mean_trailing_return;
    let bull = trailing(Trend::Bull).is_some_and(|x| x > 0.0);
    if !bull {
        failures.push(format!("bull bars' mean trailing return is {:?}, not > 0", trailing(Trend::Bull)));
    }
    let bear = trailing(Trend::Bear).is_some_and(|x| x < 0.0);
    if !bear {
        failures.push(format!("bear bars' mean trailing return is {:?}, not < 0", trailing(Trend::Bear)));
    }
    let rv: Vec<Option<f64>> = volatility.iter().map(|r| r.mean_realised_vol).collect();
    let ordered = match rv[..] {
        [Some(low), Some(normal), Some(high)] => low < normal && normal < high,
        _ => false,
    };
    if !ordered {
        failures.push(format!("mean realised vol by label (low, normal, high) {rv:?} is not increasing"));
    }
    Verdict { bull_trailing_positive: bull, bear_trailing_negative: bear, volatility_ordered: ordered, pass: failures.is_empty(), failures }
}

impl SanityReport {
    /// The report as a plain-text table (what the CLI prints).
    pub fn table(&self) -> String {
        let pct = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:+.3}%", v * 100.0));
        let mut out = String::new();
        let _ = writeln!(out, "bars {}  (returns over {} bars)", self.bars, self.horizon_bars);
        let _ = writeln!(out, "| trend | share | mean trailing return | mean forward return |");
        let _ = writeln!(out, "|---|---|---|---|");
        for r in &self.trend {
            let _ = writeln!(
                out,
                "| {} | {:.1}% | {} | {} |",
                r.regime,
                r.share * 100.0,
                pct(r.mean_trailing_return),
                pct(r.mean_forward_return)
            );
        }
        let _ = writeln!(out, "| volatility | share | mean realised vol (per bar) |");
        let _ = writeln!(out, "|---|---|---|");
        for r in &self.volatility {
            let rv = r.mean_realised_vol.map_or("-".to_string(), |v| format!("{:.4}%", v * 100.0));
            let _ = writeln!(out, "| {} | {:.1}% | {rv} |", r.regime, r.share * 100.0);
        }
        let _ = writeln!(
            out,
            "switches per 1,000 bars: trend {:.1}, volatility {:.1}, either {:.1}",
            self.trend_switches_per_1000_bars, self.volatility_switches_per_1000_bars, self.switches_per_1000_bars
        );
        let v = &self.verdict;
        let _ = writeln!(
            out,
            "verdict: {} (bull trailing > 0: {}, bear trailing < 0: {}, volatility ordered: {})",
            if v.pass { "PASS" } else { "FAIL" },
            v.bull_trailing_positive,
            v.bear_trailing_negative,
            v.volatility_ordered
        );
        for f in &v.failures {
            let _ = writeln!(out, "  - {f}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::model::RegimeProbs;
    use tradpal_messages::Timestamp;

    fn bar(i: usize, c: &Candle, trend: Trend, volatility: Vol) -> BarRegime {
        BarRegime {
            bar: i,
            open_time: c.open_time,
            trend,
            volatility,
            trend_confidence: 1.0,
            volatility_confidence: 1.0,
            confidence: 1.0,
            probs: RegimeProbs::default(),
        }
    }

    /// 600 bars: up 1% a bar for 300 (calm), then down 1% a bar with wide swings.
    fn up_then_down() -> Vec<Candle> {
        let mut close = 100.0;
        (0..600)
            .map(|i| {
                let open = close;
                let wiggle = if i >= 300 && i % 2 == 0 {
                    1.05
                } else if i >= 300 {
                    1.0 / 1.05
                } else {
                    1.0
                };
                close *= if i < 300 { 1.01 } else { 0.99 } * wiggle;
                Candle {
                    open_time: Timestamp(i as i64 * 60_000_000_000),
                    open,
                    high: open.max(close),
                    low: open.min(close),
                    close,
                    volume: 1.0,
                }
            })
            .collect()
    }

    #[test]
    fn right_labels_pass_and_swapped_labels_fail() {
        let c = up_then_down();
        let right: Vec<BarRegime> = c
            .iter()
            .enumerate()
            .map(|(i, k)| match i {
                0..=99 => bar(i, k, Trend::Sideways, Vol::Normal),
                100..=299 => bar(i, k, Trend::Bull, Vol::Low),
                300..=399 => bar(i, k, Trend::Sideways, Vol::Normal),
                _ => bar(i, k, Trend::Bear, Vol::High),
            })
            .collect();
        let r = sanity(&c, &right).unwrap();
        assert!(r.verdict.pass, "{}", r.table());
        assert_eq!((r.trend[0].bars, r.trend[1].bars, r.trend[2].bars), (200, 200, 200));
        assert!((r.trend[0].share - 1.0 / 3.0).abs() < 1e-12);
        assert!(r.trend[0].mean_trailing_return.unwrap() > 0.9 && r.trend[1].mean_trailing_return.unwrap() < -0.9);
        // Three switches in 600 bars.
        assert!((r.switches_per_1000_bars - 5.0).abs() < 1e-9);
        assert!(r.table().contains("verdict: PASS"));
        // Bull and bear swapped, low and high swapped: every part fails, each said.
        let swapped: Vec<BarRegime> = right
            .iter()
            .map(|b| {
                let t = match b.trend {
                    Trend::Bull => Trend::Bear,
                    Trend::Bear => Trend::Bull,
                    s => s,
                };
                let v = match b.volatility {
                    Vol::Low => Vol::High,
                    Vol::High => Vol::Low,
                    n => n,
                };
                BarRegime { trend: t, volatility: v, ..*b }
            })
            .collect();
        let r = sanity(&c, &swapped).unwrap();
        assert!(!r.verdict.pass && !r.verdict.bull_trailing_positive && !r.verdict.bear_trailing_negative && !r.verdict.volatility_ordered);
        assert_eq!(r.verdict.failures.len(), 3);
    }

    #[test]
    fn missing_labels_fail_and_bad_input_is_refused() {
        let c = up_then_down();
        let all_sideways: Vec<BarRegime> = c.iter().enumerate().map(|(i, k)| bar(i, k, Trend::Sideways, Vol::Normal)).collect();
        let r = sanity(&c, &all_sideways).unwrap();
        assert!(!r.verdict.pass && r.trend[0].mean_trailing_return.is_none());
        assert_eq!(r.switches_per_1000_bars, 0.0);
        assert!(matches!(sanity(&c[..3], &all_sideways), Err(RegimeError::LengthMismatch { .. })));
        assert!(matches!(sanity(&[], &[]), Err(RegimeError::Empty { .. })));
    }
}
