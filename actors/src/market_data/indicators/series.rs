//! Whole-series kernels: the batch functions' tight loops.
//!
//! Each kernel computes exactly what its incremental struct computes, bar for bar, with
//! the same floating-point operations in the same order, so the two paths stay
//! bit-identical (every indicator's tests compare them on a real file). What differs is
//! only how the work is laid out:
//!
//! - no `Option` state machine per bar: the warm-up is written once, then a loop without
//!   branches;
//! - rolling windows ([`rolling_sums`], [`rolling_square_sums`]) sum every window from
//!   its oldest value, as `Window::mean` and `Window::variance` do (no running sum, no
//!   drift), but [`LANES`] windows at a time: lane `l` holds window `k + l`, so the adds
//!   of one window stay in time order while the CPU adds eight windows at once (SIMD);
//! - recurrences (EMA, Wilder) keep their one dependency chain, which sets their speed.
//!
//! On x86-64 CPUs with AVX2 (checked at run time) the rolling kernels are compiled a
//! second time for AVX2: wider registers, the same operations (Rust never fuses a
//! multiply and an add, so the results are the same bits).

/// Windows summed side by side.
pub const LANES: usize = 8;

/// The starting value of `Iterator::sum` for `f64` (`+0.0` or `-0.0`, depending on the
/// standard library's version): a sum that starts there adds exactly as `sum()` does.
fn sum_start() -> f64 {
    std::iter::empty::<f64>().sum()
}

/// Calls `emit` with the sum of every full window of `period` values (window `k` is
/// `values[k..k + period]`, summed oldest first as `sum()` does), in order, in chunks.
/// Nothing when `values` is shorter than one window.
pub fn rolling_sums(values: &[f64], period: usize, emit: &mut dyn FnMut(&[f64])) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { rolling_sums_avx2(values, period, emit) };
    }
    rolling_sums_generic(values, period, emit)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rolling_sums_avx2(values: &[f64], period: usize, emit: &mut dyn FnMut(&[f64])) {
    rolling_sums_generic(values, period, emit)
}

#[inline(always)]
fn rolling_sums_generic(values: &[f64], period: usize, emit: &mut dyn FnMut(&[f64])) {
    if period == 0 || values.len() < period {
        return;
    }
    let windows = values.len() + 1 - period;
    let zero = sum_start();
    let mut k = 0;
    while k + LANES <= windows {
        let mut acc = [zero; LANES];
        for j in 0..period {
            let w: &[f64; LANES] = values[k + j..k + j + LANES].try_into().expect("LANES values");
            for l in 0..LANES {
                acc[l] += w[l];
            }
        }
        emit(&acc);
        k += LANES;
    }
    for k in k..windows {
        emit(&[values[k..k + period].iter().sum::<f64>()]);
    }
}

/// For every full window `k` with mean `means[k]`: the sum of `(v - mean)^2` over the
/// window, oldest first (as `Window::variance` adds it), in chunks. `means` has one
/// entry per window.
pub fn rolling_square_sums(values: &[f64], period: usize, means: &[f64], emit: &mut dyn FnMut(&[f64])) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { rolling_square_sums_avx2(values, period, means, emit) };
    }
    rolling_square_sums_generic(values, period, means, emit)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rolling_square_sums_avx2(values: &[f64], period: usize, means: &[f64], emit: &mut dyn FnMut(&[f64])) {
    rolling_square_sums_generic(values, period, means, emit)
}

#[inline(always)]
fn rolling_square_sums_generic(values: &[f64], period: usize, means: &[f64], emit: &mut dyn FnMut(&[f64])) {
    if period == 0 || values.len() < period {
        return;
    }
    let windows = (values.len() + 1 - period).min(means.len());
    let zero = sum_start();
    let mut k = 0;
    while k + LANES <= windows {
        let mut acc = [zero; LANES];
        let m: &[f64; LANES] = means[k..k + LANES].try_into().expect("LANES means");
        for j in 0..period {
            let w: &[f64; LANES] = values[k + j..k + j + LANES].try_into().expect("LANES values");
            for l in 0..LANES {
                let d = w[l] - m[l];
                acc[l] += d * d;
            }
        }
        emit(&acc);
        k += LANES;
    }
    for k in k..windows {
        let mean = means[k];
        emit(&[values[k..k + period].iter().map(|v| (v - mean) * (v - mean)).sum::<f64>()]);
    }
}

/// Rolling means (`sum / period`, as `Window::mean`), one per full window.
pub fn rolling_means(values: &[f64], period: usize) -> Vec<f64> {
    let n = period as f64;
    let mut out = Vec::with_capacity((values.len() + 1).saturating_sub(period));
    rolling_sums(values, period, &mut |sums| out.extend(sums.iter().map(|s| s / n)));
    out
}

/// `None` for the first `warm_up` rows (or all of them), then `Some` of each value.
pub fn with_warm_up(len: usize, warm_up: usize, values: impl Iterator<Item = f64>) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(len);
    out.extend(std::iter::repeat_n(None, warm_up.min(len)));
    out.extend(values.take(len.saturating_sub(warm_up)).map(Some));
    out
}

/// The EMA recurrence of `ema.rs` over `values`: seeded at index `period - 1` with the
/// mean of the first `period` values (summed from `0.0` as `Ema` does), then
/// `alpha * x + (1 - alpha) * prev`. One value per input from the seed on.
pub fn ema_values(values: &[f64], period: usize) -> Vec<f64> {
    let period = period.max(1);
    if values.len() < period {
        return Vec::new();
    }
    let alpha = 2.0 / (period as f64 + 1.0);
    let beta = 1.0 - alpha;
    let mut sum = 0.0;
    for x in &values[..period] {
        sum += x;
    }
    let mut prev = sum / period as f64;
    let mut out = Vec::with_capacity(values.len() + 1 - period);
    out.push(prev);
    out.extend(values[period..].iter().map(|&x| {
        prev = alpha * x + beta * prev;
        prev
    }));
    out
}

/// Wilder's smoothing (`wilder.rs`) over `values`: the mean of the first `period` (summed
/// from `0.0`), then `(prev * (n - 1) + x) / n`. One value per input from index
/// `period - 1` on.
pub fn wilder_values(values: impl ExactSizeIterator<Item = f64>, period: usize) -> Vec<f64> {
    let period = period.max(1);
    let len = values.len();
    if len < period {
        return Vec::new();
    }
    let n = period as f64;
    let mut values = values;
    let mut sum = 0.0;
    for x in values.by_ref().take(period) {
        sum += x;
    }
    let mut prev = sum / n;
    let mut out = Vec::with_capacity(len + 1 - period);
    out.push(prev);
    out.extend(values.map(|x| {
        prev = (prev * (n - 1.0) + x) / n;
        prev
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_sums_add_each_window_from_its_oldest_value() {
        let values: Vec<f64> = (0..37).map(|i| 0.1 * i as f64 + 1e-9 * (i * i) as f64).collect();
        for period in [1, 3, 8, 20, 37] {
            let mut got = Vec::new();
            rolling_sums(&values, period, &mut |s| got.extend_from_slice(s));
            let want: Vec<f64> = values.windows(period).map(|w| w.iter().sum::<f64>()).collect();
            assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
        let mut none = Vec::new();
        rolling_sums(&values[..2], 3, &mut |s| none.extend_from_slice(s));
        assert!(none.is_empty());
    }

    #[test]
    fn warm_up_rows_are_none() {
        assert_eq!(with_warm_up(4, 2, [1.0, 2.0].into_iter()), vec![None, None, Some(1.0), Some(2.0)]);
        assert_eq!(with_warm_up(2, 5, std::iter::empty()), vec![None, None]);
    }
}
