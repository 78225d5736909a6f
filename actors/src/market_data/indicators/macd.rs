//! Moving Average Convergence/Divergence (Gerald Appel), default 12, 26, 9.
//!
//! Definition: line = EMA(fast) - EMA(slow) of the input; signal = EMA(signal period) of
//! the line; histogram = line - signal. Each EMA is `ema.rs`'s (seeded with the SMA of
//! its first n inputs; each step one fused multiply-add, which `ema.rs` explains: its
//! values moved in the last bits when that came in). The line exists once the slow EMA
//! does (index slow - 1 = 25); the signal EMA starts on the first line value, so its
//! seed is the mean of the first 9 line values and it exists from index
//! slow + signal - 2 = 33. Until then the output carries the line with `signal` and
//! `histogram` as `None`.
//!
//! Both EMAs of the line start at the same bar, as TA-Lib's `MACD` starts them: the fast
//! one skips the first `slow - fast` inputs, so its seed is the mean of the `fast`
//! inputs that end where the slow one's seed ends (closes 14..=25 by default, not
//! 0..=11). Started at the first input instead, the fast EMA would have run 14 bars
//! longer and the first few hundred lines would differ from TA-Lib's by up to a few
//! units (the gap halves every ~4 bars: `tests/talib_parity.rs` checks every row).

use super::ema::Ema;
use super::series::{simd_dispatch, EmaChain};
use super::{check_period, Column, Indicator, IndicatorError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MacdOutput {
    pub line: f64,
    pub signal: Option<f64>,
    pub histogram: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Macd {
    fast: Ema,
    slow: Ema,
    signal: Ema,
    /// Inputs the fast EMA still skips (`slow - fast` at the start: see the module doc).
    fast_skips: usize,
}

impl Macd {
    /// Appel's periods: fast 12, slow 26, signal 9.
    pub const DEFAULT_PERIODS: (usize, usize, usize) = (12, 26, 9);

    pub fn new(fast: usize, slow: usize, signal: usize) -> Result<Self, IndicatorError> {
        check_period("macd fast", fast, 1)?;
        check_period("macd slow", slow, 1)?;
        check_period("macd signal", signal, 1)?;
        if fast >= slow {
            return Err(IndicatorError::FastNotShorter { fast, slow });
        }
        Ok(Self::unchecked(fast, slow, signal))
    }

    fn unchecked(fast: usize, slow: usize, signal: usize) -> Self {
        Self { fast: Ema::unchecked(fast), slow: Ema::unchecked(slow), signal: Ema::unchecked(signal), fast_skips: slow - fast }
    }
}

impl Default for Macd {
    fn default() -> Self {
        let (fast, slow, signal) = Self::DEFAULT_PERIODS;
        Self::unchecked(fast, slow, signal)
    }
}

impl Indicator for Macd {
    type Input = f64;
    type Output = MacdOutput;

    fn update(&mut self, x: f64) -> Option<MacdOutput> {
        if self.fast_skips > 0 {
            // Before the fast EMA's window: the slow one is still warming up too.
            self.fast_skips -= 1;
            self.slow.update(x);
            return None;
        }
        let fast = self.fast.update(x);
        let slow = self.slow.update(x);
        let line = fast? - slow?;
        let signal = self.signal.update(line);
        Some(MacdOutput { line, signal, histogram: signal.map(|s| line - s) })
    }
}

/// MACD(`fast`, `slow`, `signal`) of every value (see the module doc).
pub fn macd(values: &[f64], fast: usize, slow: usize, signal: usize) -> Result<Vec<Option<MacdOutput>>, IndicatorError> {
    let c = macd_columns(values, fast, slow, signal)?;
    let row = |i| c.line.get(i).map(|line| MacdOutput { line, signal: c.signal.get(i), histogram: c.histogram.get(i) });
    Ok((0..values.len()).map(row).collect())
}

/// [`macd`]'s three outputs as [`Column`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct MacdColumns {
    pub line: Column,
    pub signal: Column,
    pub histogram: Column,
}

/// [`macd`] as three [`Column`]s (8 bytes a row each: the faster form). The line's
/// warm-up is `slow - 1` rows, the signal's and histogram's `slow + signal - 2`.
pub fn macd_columns(values: &[f64], fast: usize, slow: usize, signal: usize) -> Result<MacdColumns, IndicatorError> {
    Macd::new(fast, slow, signal)?;
    let len = values.len();
    let (line_lead, signal_lead) = (slow - 1, slow + signal - 2);
    let [mut lines, mut signals, mut histogram] = [line_lead, signal_lead, signal_lead].map(|lead| Column::rows(len, lead));
    push_macd(values, (fast, slow, signal), &mut lines, &mut signals, &mut histogram);
    Ok(MacdColumns {
        line: Column::new(line_lead, lines),
        signal: Column::new(signal_lead, signals),
        histogram: Column::new(signal_lead, histogram),
    })
}

simd_dispatch!(
    /// Appends the line, signal and histogram rows after their warm-ups ([`push_macd_generic`]).
    pub(super) fn push_macd(
        values: &[f64],
        periods: (usize, usize, usize),
        lines: &mut Vec<f64>,
        signals: &mut Vec<f64>,
        histogram: &mut Vec<f64>,
    ) {
        "avx2,fma" => push_macd_generic,
        _ => push_macd_generic,
    }
);

/// The batch loop of [`macd`]: the three EMAs of [`Macd::update`] advance together, so
/// their dependency chains (one fused multiply-add a bar each, `ema.rs`) overlap. Both
/// EMAs are seeded on the window that ends at index `slow - 1` (the fast one over the
/// last `fast` inputs of it: the module doc); from there on a line row a bar, and from the signal's seed on (the mean of its
/// first `signal` lines) a signal and a histogram row too. `1 <= fast < slow`,
/// `signal >= 1`.
///
/// The steady loop writes its rows straight into the columns' reserved room.
#[inline(always)]
pub(super) fn push_macd_generic(
    values: &[f64],
    (fast, slow, signal): (usize, usize, usize),
    lines: &mut Vec<f64>,
    signals: &mut Vec<f64>,
    histogram: &mut Vec<f64>,
) {
    if values.len() < slow {
        return;
    }
    let (f, s, g) = (EmaChain::new(fast), EmaChain::new(slow), EmaChain::new(signal));
    let mut fast_ema = f.seed(&values[slow - fast..]);
    let mut slow_ema = s.seed(values);
    let mut line = fast_ema - slow_ema;
    let mut rest = values[slow..].iter();
    // The signal's seed: the mean of its first `signal` lines, summed from 0.0 as `Ema`.
    let mut sum = 0.0;
    for seen in 1.. {
        sum += line;
        if seen == signal {
            break;
        }
        lines.push(line);
        let Some(&x) = rest.next() else { return };
        (fast_ema, slow_ema) = (f.step(fast_ema, x), s.step(slow_ema, x));
        line = fast_ema - slow_ema;
    }
    let mut signal_ema = sum / signal as f64;
    lines.push(line);
    signals.push(signal_ema);
    histogram.push(line - signal_ema);
    // The steady rows are written into the three columns' reserved room and their
    // lengths set once at the end (as `atr.rs::smooth`): a `Vec::push` a row (whose
    // rarely taken growth path is a call) made the compiler keep the EMAs on the stack,
    // a store and a load on each chain, and an L1 block copied every row once more.
    let rest = rest.as_slice();
    let rows = rest.len();
    for column in [&mut *lines, &mut *signals, &mut *histogram] {
        column.reserve(rows);
    }
    let filled = [lines.len(), signals.len(), histogram.len()];
    let slots = lines.spare_capacity_mut()[..rows]
        .iter_mut()
        .zip(&mut signals.spare_capacity_mut()[..rows])
        .zip(&mut histogram.spare_capacity_mut()[..rows]);
    for (&x, ((line_slot, signal_slot), histogram_slot)) in rest.iter().zip(slots) {
        (fast_ema, slow_ema) = (f.step(fast_ema, x), s.step(slow_ema, x));
        line = fast_ema - slow_ema;
        signal_ema = g.step(signal_ema, line);
        line_slot.write(line);
        signal_slot.write(signal_ema);
        histogram_slot.write(line - signal_ema);
    }
    // SAFETY: the loop wrote `rows` slots after each column's `filled` rows (every side
    // of the zip has `rows` items), into room `reserve` made.
    unsafe {
        lines.set_len(filled[0] + rows);
        signals.set_len(filled[1] + rows);
        histogram.set_len(filled[2] + rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::ema::ema;
    use crate::market_data::indicators::testing::{assert_bits_eq, closes, warm_up};

    #[test]
    fn reference_values() {
        // fast 2 (alpha 2/3), slow 3 (alpha 1/2), signal 2 on 1, 2, 4, 8: the fast EMA
        // skips slow - fast = 1 input, so both are seeded on the window ending at i=2.
        // EMA2: seed (2+4)/2 = 3 at i=2; i=3: 2/3*8 + 1/3*3 = 19/3.
        // EMA3: seed (1+2+4)/3 = 7/3 at i=2; i=3: 8/2 + 7/6 = 31/6.
        // line: i=2: 3 - 7/3 = 2/3; i=3: 38/6 - 31/6 = 7/6.
        // signal (n=2): seed (2/3 + 7/6)/2 = 11/12 at i=3; histogram 7/6 - 11/12 = 1/4.
        let got = macd(&[1.0, 2.0, 4.0, 8.0], 2, 3, 2).unwrap();
        assert_eq!(&got[..2], &[None, None]);
        let two = got[2].unwrap();
        assert!((two.line - 2.0 / 3.0).abs() < 1e-12 && two.signal.is_none() && two.histogram.is_none(), "{two:?}");
        let three = got[3].unwrap();
        assert!((three.line - 7.0 / 6.0).abs() < 1e-12, "{three:?}");
        assert!((three.signal.unwrap() - 11.0 / 12.0).abs() < 1e-12, "{three:?}");
        assert!((three.histogram.unwrap() - 0.25).abs() < 1e-12, "{three:?}");
        assert!(Macd::new(26, 12, 9).is_err() && Macd::new(12, 12, 9).is_err() && Macd::new(12, 26, 0).is_err());
    }

    #[test]
    fn is_built_from_emas_and_matches_incremental_on_btcperp() {
        let closes = closes();
        let batch = macd(&closes, 12, 26, 9).unwrap();
        let mut m = Macd::default();
        let incremental: Vec<_> = closes.iter().map(|&x| m.update(x)).collect();
        assert_eq!(incremental, batch);
        assert_eq!(warm_up(&batch), 25);
        let signal_start = batch.iter().position(|o| o.is_some_and(|o| o.signal.is_some()));
        assert_eq!(signal_start, Some(33));
        // line == EMA12 (started 14 bars in) - EMA26, signal == EMA9 of the line, bit for bit.
        let (e12, e26) = (ema(&closes[14..], 12).unwrap(), ema(&closes, 26).unwrap());
        let line: Vec<_> = batch.iter().map(|o| o.map(|o| o.line)).collect();
        let want_line: Vec<_> = e26.iter().enumerate().map(|(i, b)| Some((*e12.get(i.checked_sub(14)?)?)? - (*b)?)).collect();
        assert_bits_eq(&line, &want_line);
        let line_values: Vec<f64> = line.iter().flatten().copied().collect();
        let want_signal = ema(&line_values, 9).unwrap();
        let signal: Vec<_> = batch[25..].iter().map(|o| o.and_then(|o| o.signal)).collect();
        assert_bits_eq(&signal, &want_signal);
    }
}
