//! Whole-series kernels: the batch functions' tight loops.
//!
//! Each kernel computes exactly what its incremental struct computes, bar for bar, with
//! the same floating-point operations in the same order, so the two paths stay
//! bit-identical (`batch_tests.rs` compares them by `f64::to_bits` on random series, every
//! indicator's tests on a real file). What differs is only how the work is laid out:
//!
//! - no `Option` state machine per bar: the warm-up is written once, then a loop without
//!   branches, appending plain `f64`s to the output ([`Column`](super::Column) rows);
//! - rolling windows ([`rolling_sums`], [`rolling_moments`]) of up to
//!   [`OLDEST_FIRST_PERIOD_MAX`] values sum every window from its oldest value, as
//!   `Window::mean` and `Window::variance` do (no running sum, no drift), but [`LANES`]
//!   windows at a time (longer windows take their sums exact, one integer add and
//!   subtract a window, `exact.rs`, and their squared deviations as here): lane `l`
//!   holds window `k + l`, so the adds of one window stay in time order while the CPU
//!   adds many windows at once (SIMD). 32 lanes are eight AVX2 registers: enough
//!   independent adds in flight to hide the add's latency (with 8 lanes, two registers,
//!   the adds waited on each other: SMA 20 took 3.8 ms a million bars, see the bench);
//! - recurrences (EMA, Wilder) keep their one dependency chain, which sets their speed:
//!   several chains of one indicator (MACD's three EMAs, RSI's two averages) advance in
//!   the same loop, so they overlap. Each step is one fused multiply-add on the chain
//!   (`prev.mul_add(keep, take * x)`, the product `take * x` off it): 4 cycles a bar,
//!   where `(prev * (n - 1) + x) / n` took a multiply, an add and a division (about 21)
//!   and `alpha * x + beta * prev` a multiply and an add. The structs compute the same
//!   expression, so the two paths still agree to the bit.
//!
//! On x86-64 CPUs with AVX2 (checked at run time) the rolling kernels are compiled a
//! second time for AVX2: wider registers, the same operations (Rust never fuses a
//! multiply and an add by itself, so the results are the same bits). The recurrences
//! are compiled a second time for AVX2 and FMA ([`simd_dispatch`]): `f64::mul_add` is
//! correctly rounded everywhere (one instruction with FMA, libm's `fma` without), so
//! both copies give the same bits, the first without a call per step.

use super::exact::RollingSums;
pub use super::exact::OLDEST_FIRST_PERIOD_MAX;
use std::ops::Range;

/// Windows summed side by side in the plain and AVX2 copies: eight AVX2 registers.
pub const LANES: usize = 32;

/// Windows summed side by side in the AVX-512 copies: eight AVX-512 registers again
/// (with 32 lanes, four, the adds waited on each other: Bollinger 20 took 0.3 ms more a
/// million bars). A chunk is never longer.
pub const LANES_AVX512: usize = 64;

/// The starting value of `Iterator::sum` for `f64` (`+0.0` or `-0.0`, depending on the
/// standard library's version): a sum that starts there adds exactly as `sum()` does.
fn sum_start() -> f64 {
    std::iter::empty::<f64>().sum()
}

/// Number of full windows of `period` values in `len` values.
pub(crate) fn windows(len: usize, period: usize) -> usize {
    if period == 0 {
        0
    } else {
        (len + 1).saturating_sub(period)
    }
}

/// Defines `$avx512` and `$avx2`: `$generic(args)` compiled for AVX-512 (eight lanes a
/// register, [`LANES_AVX512`] windows a chunk) and for AVX2 (four, [`LANES`]), the same
/// operations as the plain build.
macro_rules! with_simd {
    ($avx512:ident, $avx2:ident, $generic:ident, ($($arg:ident: $ty:ty),*), $emit:ident: $bound:path) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        unsafe fn $avx512<F: $bound>($($arg: $ty,)* $emit: F) {
            $generic::<LANES_AVX512, F>($($arg,)* $emit)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2<F: $bound>($($arg: $ty,)* $emit: F) {
            $generic::<LANES, F>($($arg,)* $emit)
        }
    };
}

/// Whether the CPU has every feature of `features`, one of the sets the kernels are
/// compiled for ([`simd_dispatch`]); the standard library caches the answers.
#[inline]
pub(crate) fn cpu_has(features: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    return match features {
        "avx2,fma" => std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
        "avx512f" => std::is_x86_feature_detected!("avx512f"),
        "avx2" => std::is_x86_feature_detected!("avx2"),
        _ => false,
    };
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = features;
        false
    }
}

/// Defines `fn $name(args)`, which runs `$copy(args)` for the first feature set of the
/// list the CPU has ([`cpu_has`]), compiled for those features, else `$plain(args)` as
/// built. The copies are one `#[inline(always)]` kernel (with its own lane count where
/// it has one), so its whole body is compiled into each: wider registers, and with FMA
/// `f64::mul_add` as one instruction (in the plain copy it is a call to libm's `fma`).
/// The operations are the same and each is correctly rounded, so every copy gives the
/// same bits (`dispatch_tests.rs` compares the chosen one with the plain one).
macro_rules! simd_dispatch {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) {
        $($features:literal => $copy:expr,)+
        _ => $plain:expr $(,)?
    }) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) {
            simd_dispatch!(@copies ($($arg: $ty),*) [$($features => $copy),+]);
            $plain($($arg),*)
        }
    };
    // One copy per feature set, tried in order.
    (@copies ($($arg:ident: $ty:ty),*) [$features:literal => $copy:expr $(, $rest:literal => $rest_copy:expr)*]) => {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = $features)]
            unsafe fn simd($($arg: $ty),*) {
                $copy($($arg),*)
            }
            if $crate::market_data::indicators::series::cpu_has($features) {
                // SAFETY: the CPU has these features (checked just above).
                return unsafe { simd($($arg),*) };
            }
        }
        simd_dispatch!(@copies ($($arg: $ty),*) [$($rest => $rest_copy),*]);
    };
    (@copies ($($arg:ident: $ty:ty),*) []) => {};
}
pub(crate) use simd_dispatch;

/// Calls `emit` with the sum of every full window of `period` values (window `k` is
/// `values[k..k + period]`), in order, in chunks of at most [`LANES_AVX512`]. Nothing when
/// `values` is shorter than one window. A window of up to [`OLDEST_FIRST_PERIOD_MAX`]
/// values is summed oldest first as `sum()` does, [`LANES`] windows side by side (long
/// series on several threads, [`super::split`], the same values in the same order); a
/// longer one exactly, one integer add and subtract a window (`exact.rs`).
pub fn rolling_sums<F: FnMut(&[f64])>(values: &[f64], period: usize, emit: F) {
    if period > OLDEST_FIRST_PERIOD_MAX {
        return super::exact::rolling_sums(values, period, emit);
    }
    rolling_sums_in(values, period, super::split::parts(values.len(), period), emit)
}

/// [`rolling_sums`] over the given parts (`None`: on this thread).
pub(crate) fn rolling_sums_in<F: FnMut(&[f64])>(values: &[f64], period: usize, parts: Option<Vec<Range<usize>>>, mut emit: F) {
    let Some(parts) = parts else { return rolling_sums_here(values, period, emit) };
    let sums = super::split::run(values, &parts, |part| {
        let mut sums = Vec::with_capacity(windows(part.len(), period));
        rolling_sums_here(part, period, |s| sums.extend_from_slice(s));
        sums
    });
    for chunk in sums.iter().flat_map(|s| s.chunks(LANES_AVX512)) {
        emit(chunk);
    }
}

/// [`rolling_sums`] on the caller's thread.
fn rolling_sums_here<F: FnMut(&[f64])>(values: &[f64], period: usize, emit: F) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        return unsafe { rolling_sums_avx512(values, period, emit) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { rolling_sums_avx2(values, period, emit) };
    }
    rolling_sums_generic::<LANES, F>(values, period, emit)
}

with_simd!(rolling_sums_avx512, rolling_sums_avx2, rolling_sums_generic, (values: &[f64], period: usize), emit: FnMut(&[f64]));

#[inline(always)]
fn rolling_sums_generic<const L: usize, F: FnMut(&[f64])>(values: &[f64], period: usize, mut emit: F) {
    let windows = windows(values.len(), period);
    let mut k = 0;
    while k + L <= windows {
        emit(&lane_sums::<L>(&values[k..k + period - 1 + L], period));
        k += L;
    }
    for k in k..windows {
        emit(&[values[k..k + period].iter().sum::<f64>()]);
    }
}

/// The sums of the `L` windows of `period` values starting in `values` (which holds
/// exactly `period - 1 + L` values), each from its oldest value.
#[inline(always)]
fn lane_sums<const L: usize>(values: &[f64], period: usize) -> [f64; L] {
    let mut acc = [sum_start(); L];
    for w in values.windows(L) {
        let w: &[f64; L] = w.try_into().expect("L values");
        for l in 0..L {
            acc[l] += w[l];
        }
    }
    debug_assert_eq!(values.len(), period - 1 + L);
    acc
}

/// For every full window of `period` values, in order and in chunks as
/// [`rolling_sums`]: `emit(means, squares)`, the window's mean (its sum as
/// [`rolling_sums`] takes it, over `period`: as `Window::mean`) and the sum of
/// `(v - mean)^2` over it oldest first (as `Window::variance` adds it). One pass: the
/// window is still in cache for the second sum. The squares cost `period` adds a window
/// at any length, so long series with long windows run on several threads.
pub fn rolling_moments<F: FnMut(&[f64], &[f64])>(values: &[f64], period: usize, emit: F) {
    rolling_moments_in(values, period, super::split::parts(values.len(), period), emit)
}

/// [`rolling_moments`] over the given parts (`None`: on this thread).
pub(crate) fn rolling_moments_in<F: FnMut(&[f64], &[f64])>(values: &[f64], period: usize, parts: Option<Vec<Range<usize>>>, mut emit: F) {
    let Some(parts) = parts else { return rolling_moments_here(values, period, emit) };
    let moments = super::split::run(values, &parts, |part| {
        let n = windows(part.len(), period);
        let (mut means, mut squares) = (Vec::with_capacity(n), Vec::with_capacity(n));
        rolling_moments_here(part, period, |m, s| {
            means.extend_from_slice(m);
            squares.extend_from_slice(s);
        });
        (means, squares)
    });
    for (means, squares) in &moments {
        for (m, s) in means.chunks(LANES_AVX512).zip(squares.chunks(LANES_AVX512)) {
            emit(m, s);
        }
    }
}

/// [`rolling_moments`] on the caller's thread.
fn rolling_moments_here<F: FnMut(&[f64], &[f64])>(values: &[f64], period: usize, emit: F) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        return unsafe { rolling_moments_avx512(values, period, emit) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { rolling_moments_avx2(values, period, emit) };
    }
    rolling_moments_generic::<LANES, F>(values, period, emit)
}

with_simd!(rolling_moments_avx512, rolling_moments_avx2, rolling_moments_generic, (values: &[f64], period: usize), emit: FnMut(&[f64], &[f64]));

#[inline(always)]
fn rolling_moments_generic<const L: usize, F: FnMut(&[f64], &[f64])>(values: &[f64], period: usize, mut emit: F) {
    let windows = windows(values.len(), period);
    let mut all_means = Means::new(values, period);
    let mut k = 0;
    while k + L <= windows {
        let (means, squares) = lane_moments::<L>(&values[k..k + period - 1 + L], period, &mut all_means);
        emit(&means, &squares);
        k += L;
    }
    for k in k..windows {
        let (mean, squares) = window_moments(&values[k..k + period], &mut all_means);
        emit(&[mean], &[squares]);
    }
}

/// The means of a rolling kernel's windows, asked for in order, each window once: summed
/// oldest first in lanes for windows of up to [`OLDEST_FIRST_PERIOD_MAX`] values, from
/// the exact running sums for longer ones (as `Window::mean`).
pub(crate) struct Means<'a> {
    exact: Option<RollingSums<'a>>,
    n: f64,
}

impl<'a> Means<'a> {
    /// For the windows of `period` over `values` (all of them, from the first).
    pub fn new(values: &'a [f64], period: usize) -> Self {
        Means { exact: (period > OLDEST_FIRST_PERIOD_MAX).then(|| RollingSums::new(values, period)), n: period as f64 }
    }

    /// The next `L` windows' means; `chunk` holds their values (`period - 1 + L`).
    #[inline(always)]
    fn lanes<const L: usize>(&mut self, chunk: &[f64], period: usize) -> [f64; L] {
        let mut means = match &mut self.exact {
            Some(sums) => {
                let mut means = [0.0; L];
                sums.fill(&mut means);
                means
            }
            None => lane_sums::<L>(chunk, period),
        };
        means.iter_mut().for_each(|m| *m /= self.n);
        means
    }

    /// The next window's mean; `window` holds its values.
    #[inline(always)]
    fn one(&mut self, window: &[f64]) -> f64 {
        let sum = match &mut self.exact {
            Some(sums) => {
                let mut sum = [0.0];
                sums.fill(&mut sum);
                sum[0]
            }
            None => window.iter().sum::<f64>(),
        };
        sum / self.n
    }
}

/// The means and squared deviations ([`rolling_moments`]) of the next `L` windows of
/// `period` values, which start in `chunk` (it holds exactly `period - 1 + L`).
#[inline(always)]
pub(crate) fn lane_moments<const L: usize>(chunk: &[f64], period: usize, means: &mut Means) -> ([f64; L], [f64; L]) {
    let means = means.lanes::<L>(chunk, period);
    let mut acc = [sum_start(); L];
    for w in chunk.windows(L) {
        let w: &[f64; L] = w.try_into().expect("L values");
        for l in 0..L {
            let d = w[l] - means[l];
            acc[l] += d * d;
        }
    }
    (means, acc)
}

/// The mean and squared deviations ([`rolling_moments`]) of the next window, one value
/// at a time.
#[inline(always)]
pub(crate) fn window_moments(window: &[f64], means: &mut Means) -> (f64, f64) {
    let mean = means.one(window);
    (mean, window.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>())
}

/// Appends the rolling means (the sum as [`rolling_sums`] takes it, over `period`: as
/// `Window::mean`) of every full window.
pub fn push_rolling_means(values: &[f64], period: usize, out: &mut Vec<f64>) {
    let n = period as f64;
    out.reserve(windows(values.len(), period));
    rolling_sums(values, period, |sums| out.extend(sums.iter().map(|s| s / n)));
}

/// The EMA of `ema.rs` with `period` bars: its smoothing factors and its seed.
#[derive(Debug, Clone, Copy)]
pub struct EmaChain {
    pub alpha: f64,
    pub beta: f64,
    /// Where the first value is: `period - 1`.
    pub seed_at: usize,
}

impl EmaChain {
    pub fn new(period: usize) -> Self {
        let alpha = 2.0 / (period.max(1) as f64 + 1.0);
        Self { alpha, beta: 1.0 - alpha, seed_at: period.max(1) - 1 }
    }

    /// The seed: the mean of the first `period` values, summed from `0.0` as `Ema` does.
    /// `values` holds at least `period`.
    pub fn seed(&self, values: &[f64]) -> f64 {
        let mut sum = 0.0;
        for x in &values[..=self.seed_at] {
            sum += x;
        }
        sum / (self.seed_at + 1) as f64
    }

    /// One step: `(1 - alpha) * prev + alpha * x`, the first product and the sum rounded
    /// once (a fused multiply-add: one operation on the chain from `prev`).
    #[inline(always)]
    pub fn step(&self, prev: f64, x: f64) -> f64 {
        prev.mul_add(self.beta, self.alpha * x)
    }
}

simd_dispatch!(
    /// Appends the EMA recurrence of `ema.rs` over `values` ([`push_ema_generic`]) to `out`.
    pub fn push_ema(values: &[f64], period: usize, out: &mut Vec<f64>) {
        "avx2,fma" => push_ema_generic,
        _ => push_ema_generic,
    }
);

/// The EMA recurrence of `ema.rs` over `values`: the seed at index `period - 1`, then
/// one value per input; nothing when `values` is shorter than `period`. A plain loop
/// with nothing left to inline: an iterator adapter's `fold` could stay out of line,
/// compiled without FMA (a call to libm a step).
#[inline(always)]
pub(super) fn push_ema_generic(values: &[f64], period: usize, out: &mut Vec<f64>) {
    let chain = EmaChain::new(period);
    if values.len() <= chain.seed_at {
        return;
    }
    let mut ema = chain.seed(values);
    out.push(ema);
    for &x in &values[chain.seed_at + 1..] {
        ema = chain.step(ema, x);
        out.push(ema);
    }
}

/// Wilder's smoothing of `wilder.rs` with `period` bars: its two weights.
#[derive(Debug, Clone, Copy)]
pub struct WilderChain {
    /// `(n - 1) / n`, the previous average's weight.
    keep: f64,
    /// `1 / n`, the new input's weight.
    take: f64,
}

impl WilderChain {
    pub fn new(period: usize) -> Self {
        let n = period.max(1) as f64;
        Self { keep: (n - 1.0) / n, take: 1.0 / n }
    }

    /// One step: `prev * (n - 1) / n + x / n` as `prev.mul_add(keep, x * take)`: one
    /// fused multiply-add on the chain from `prev` (see the module doc).
    #[inline(always)]
    pub fn step(&self, prev: f64, x: f64) -> f64 {
        prev.mul_add(self.keep, x * self.take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn rolling_sums_add_short_windows_from_their_oldest_value_and_long_ones_exactly() {
        // Long enough for two full chunks of the widest lanes and a tail, at every period.
        let values: Vec<f64> = (0..2 * LANES_AVX512 + 37).map(|i| 0.1 * i as f64 + 1e-9 * (i * i) as f64).collect();
        for period in [1, 3, 8, 20, 37, values.len()] {
            let mut got = Vec::new();
            rolling_sums(&values, period, |s| got.extend_from_slice(s));
            // Oldest first up to OLDEST_FIRST_PERIOD_MAX, exact past it.
            let sum = |w: &[f64]| if period > OLDEST_FIRST_PERIOD_MAX { super::super::exact::exact_sum(w) } else { w.iter().sum::<f64>() };
            let want: Vec<f64> = values.windows(period).map(sum).collect();
            assert_eq!(bits(&got), bits(&want), "period {period}");
        }
        let mut none = Vec::new();
        rolling_sums(&values[..2], 3, |s| none.extend_from_slice(s));
        rolling_sums(&values, 0, |s| none.extend_from_slice(s));
        assert!(none.is_empty());
    }

    #[test]
    fn rolling_moments_are_the_windows_mean_and_squares() {
        let values: Vec<f64> = (0..3 * LANES_AVX512 + 5).map(|i| (i as f64 * 0.7).sin() * 100.0 + 1e4).collect();
        for period in [1, 2, 20, LANES + 3, LANES_AVX512 + 3, OLDEST_FIRST_PERIOD_MAX + 22] {
            let (mut means, mut squares) = (Vec::new(), Vec::new());
            rolling_moments(&values, period, |m, s| {
                means.extend_from_slice(m);
                squares.extend_from_slice(s);
            });
            let sum = |w: &[f64]| if period > OLDEST_FIRST_PERIOD_MAX { super::super::exact::exact_sum(w) } else { w.iter().sum::<f64>() };
            let want_means: Vec<f64> = values.windows(period).map(|w| sum(w) / period as f64).collect();
            let want_squares: Vec<f64> =
                values.windows(period).zip(&want_means).map(|(w, m)| w.iter().map(|v| (v - m) * (v - m)).sum::<f64>()).collect();
            assert_eq!(bits(&means), bits(&want_means), "period {period}");
            assert_eq!(bits(&squares), bits(&want_squares), "period {period}");
        }
    }
}
