//! Hysteresis: turning per-bar probabilities into a regime that does not flicker.
//!
//! The filtered probabilities already move smoothly (the chain is sticky), but near a
//! tie the most probable regime can alternate bar by bar, and every alternation would be
//! a "regime change" for a strategy reading it. So the stable regime switches from
//! `current` to `candidate` only when, for `bars` consecutive bars, `candidate` is the
//! most probable regime **and** its probability exceeds `current`'s by at least `margin`.
//! A bar that breaks the run resets it. The first bar sets the regime outright.
//!
//! The cost is delay: a switch is reported at least `bars - 1` bars after the
//! probabilities first favour it clearly. Defaults ([`HysteresisParams::default`]) were
//! chosen on training seeds of synthetic data (see `evaluation_tests.rs`) to trade
//! detection delay against false switches.

use super::axis::{Axis, AxisProbs};
use super::error::{check_range, RegimeError};
use serde::{Deserialize, Serialize};

/// Largest `*_bars` accepted (a day of 1m bars).
pub const HYSTERESIS_BARS_MAX: usize = 1_440;

/// Margins and run lengths of the two axes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HysteresisParams {
    /// Probability lead a new trend needs over the current one, `0..=1`.
    pub trend_margin: f64,
    /// Consecutive bars the lead must hold, `1..=HYSTERESIS_BARS_MAX`.
    pub trend_bars: usize,
    /// Probability lead a new volatility regime needs, `0..=1`.
    pub volatility_margin: f64,
    /// Consecutive bars that lead must hold, `1..=HYSTERESIS_BARS_MAX`.
    pub volatility_bars: usize,
}

impl Default for HysteresisParams {
    /// Trend: a lead of 0.05 held for 2 bars. Volatility: a lead of 0.1 held for 3 bars.
    ///
    /// The trend defaults come from a sweep on the tuning seeds 1-6 (1m synth, 100k bars,
    /// fit on the first half, scored on the second; `sweep_hysteresis` in
    /// `evaluation_tests.rs`). Raw argmax switching gives ~9 false switches per 1,000
    /// bars; 0.05 x 2 bars brings that to ~3.5 for ~2 bars more median delay (~19) and
    /// no accuracy; each further bar or +0.05 of margin removes ~0.7 false switches per
    /// 1,000 bars and adds 3-5 bars of delay. Volatility is identified within a few bars
    /// (its states' sigmas are far apart); the 3-bar run keeps brief spikes from counting.
    /// The volatility margin was 0.3 while only the switching model classified; the window
    /// detector's volatility probabilities are flatter (its most probable `normal` is
    /// ~0.45, a lead of ~0.2 over `low`), and at 0.3 a market that had gone calm or wild
    /// could never return to `normal` (0.1% of BTC minutes were normal).
    fn default() -> Self {
        Self { trend_margin: 0.05, trend_bars: 2, volatility_margin: 0.1, volatility_bars: 3 }
    }
}

impl HysteresisParams {
    pub fn check(&self) -> Result<(), RegimeError> {
        check_range("trend_margin", self.trend_margin, 0.0..=1.0, "[0, 1]")?;
        check_range("trend_bars", self.trend_bars, 1..=HYSTERESIS_BARS_MAX, "1..=1440")?;
        check_range("volatility_margin", self.volatility_margin, 0.0..=1.0, "[0, 1]")?;
        check_range("volatility_bars", self.volatility_bars, 1..=HYSTERESIS_BARS_MAX, "1..=1440")
    }
}

/// The stable regime of one axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Hysteresis<A: Axis> {
    margin: f64,
    bars: usize,
    current: Option<A>,
    candidate: Option<A>,
    run: usize,
}

impl<A: Axis> Hysteresis<A> {
    pub fn new(margin: f64, bars: usize) -> Self {
        Self { margin, bars: bars.max(1), current: None, candidate: None, run: 0 }
    }

    pub fn current(&self) -> Option<A> {
        self.current
    }

    /// Feeds one bar's probabilities; returns `Some((from, to))` when the stable regime
    /// changes (`from` is `None` at the first bar). NaN probabilities never win a switch.
    pub fn update(&mut self, probs: &AxisProbs<A>) -> Option<(Option<A>, A)> {
        let (best, p_best) = probs.argmax();
        let Some(current) = self.current else {
            self.current = Some(best);
            return Some((None, best));
        };
        let lead = p_best - probs.get(current);
        if best == current || lead.is_nan() || lead < self.margin {
            self.candidate = None;
            self.run = 0;
            return None;
        }
        if self.candidate == Some(best) {
            self.run += 1;
        } else {
            self.candidate = Some(best);
            self.run = 1;
        }
        if self.run < self.bars {
            return None;
        }
        self.current = Some(best);
        self.candidate = None;
        self.run = 0;
        Some((Some(current), best))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::regime::Trend;

    fn p(bull: f64, bear: f64) -> AxisProbs<Trend> {
        AxisProbs::new([bull, bear, 1.0 - bull - bear])
    }

    #[test]
    fn switches_only_after_a_run_of_clear_leads() {
        let mut h = Hysteresis::<Trend>::new(0.2, 3);
        assert_eq!(h.update(&p(0.6, 0.1)), Some((None, Trend::Bull)));
        // A lead below the margin never counts.
        for _ in 0..10 {
            assert_eq!(h.update(&p(0.35, 0.45)), None);
        }
        // Two clear bars, then a break: the run restarts.
        assert_eq!(h.update(&p(0.2, 0.7)), None);
        assert_eq!(h.update(&p(0.2, 0.7)), None);
        assert_eq!(h.update(&p(0.5, 0.4)), None);
        assert_eq!(h.update(&p(0.2, 0.7)), None);
        assert_eq!(h.update(&p(0.2, 0.7)), None);
        assert_eq!(h.update(&p(0.1, 0.8)), Some((Some(Trend::Bull), Trend::Bear)));
        assert_eq!(h.current(), Some(Trend::Bear));
        // A change of candidate restarts the run too.
        assert_eq!(h.update(&p(0.8, 0.1)), None);
        assert_eq!(h.update(&p(0.1, 0.1)), None); // sideways leads now
        assert_eq!(h.update(&p(0.8, 0.1)), None);
        assert_eq!(h.update(&p(0.8, 0.1)), None);
        assert_eq!(h.update(&p(0.8, 0.1)), Some((Some(Trend::Bear), Trend::Bull)));
    }

    #[test]
    fn nan_never_switches_and_params_are_checked() {
        let mut h = Hysteresis::<Trend>::new(0.0, 1);
        h.update(&p(0.6, 0.1));
        assert_eq!(h.update(&AxisProbs::new([f64::NAN, 1.0, 0.0])), None);
        assert_eq!(h.update(&AxisProbs::new([f64::NAN; 3])), None);
        assert!(HysteresisParams::default().check().is_ok());
        let bad = HysteresisParams { trend_margin: f64::NAN, ..Default::default() };
        assert_eq!(bad.check().unwrap_err().to_string(), "trend_margin: NaN is outside [0, 1]");
        assert!(HysteresisParams { volatility_bars: 0, ..Default::default() }.check().is_err());
    }
}
