//! Long windows on every core. A rolling kernel (`series.rs`) adds each window's squared
//! deviations (Bollinger's and the volatility's variance) from its oldest value, `period`
//! adds a window, so a 20,000-bar window over a million bars is 2 * 10^10 adds: 1.2 s on
//! one core. (Window sums are split too, but only up to 128 values are added oldest first:
//! a longer window's sum is exact, one add and one subtract a window, `exact.rs`.) The windows are independent of each other, so the kernel runs
//! on contiguous runs of windows side by side, and the caller gets the same values in the
//! same order as from one thread: each window's adds are the same adds in the same order
//! wherever it is computed (`split_tests` compares the bits).
//!
//! Short windows (SMA 20 over a million bars: 2 * 10^7 adds, about a millisecond) stay on
//! the caller's thread, where starting threads would cost more than it saves.

use super::series::{windows, LANES_AVX512};
use std::ops::Range;

/// Adds (windows x period) below which a kernel runs on the caller's thread alone: about
/// 4 ms of work on one core, against tens of microseconds to start a thread.
pub(crate) const SPLIT_ADDS_MIN: usize = 1 << 26;

/// Threads one kernel call is split over, at most.
pub(crate) const SPLIT_THREADS_MAX: usize = 8;

/// Where to split `len` values with windows of `period`, or `None` to run on one thread:
/// [`parts_with`] at [`SPLIT_ADDS_MIN`] and the machine's cores (at most
/// [`SPLIT_THREADS_MAX`]). The core count changes only how the work is shared, never a
/// value.
pub(crate) fn parts(len: usize, period: usize) -> Option<Vec<Range<usize>>> {
    // Short work first: asking for the core count reads the cgroup's files on Linux, and
    // every batch indicator call (SMA 20 included) comes through here.
    if windows(len, period).saturating_mul(period) < SPLIT_ADDS_MIN {
        return None;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    parts_with(len, period, SPLIT_ADDS_MIN, cores.min(SPLIT_THREADS_MAX))
}

/// The value ranges of up to `threads` parts when the windows of `period` over `len`
/// values take at least `adds_min` adds: part `j` holds the values of one contiguous run
/// of windows (neighbouring parts share `period - 1` values), at least a full chunk of
/// [`LANES_AVX512`] windows each, in order. `None` when one part would do.
pub(crate) fn parts_with(len: usize, period: usize, adds_min: usize, threads: usize) -> Option<Vec<Range<usize>>> {
    let windows = windows(len, period);
    if windows == 0 || windows.saturating_mul(period) < adds_min {
        return None;
    }
    let threads = threads.min(windows / LANES_AVX512);
    if threads < 2 {
        return None;
    }
    let per = windows.div_ceil(threads);
    let parts: Vec<Range<usize>> = (0..threads)
        .map(|t| (t * per, ((t + 1) * per).min(windows)))
        .filter(|(first, end)| first < end)
        .map(|(first, end)| first..end + period - 1)
        .collect();
    debug_assert_eq!(parts.iter().map(|r| r.len() + 1 - period).sum::<usize>(), windows, "every window in exactly one part");
    Some(parts)
}

/// `kernel` over each part of `values`, the first on the caller's thread and the others
/// on threads of their own; the outputs in part order. A part whose thread cannot start
/// runs on the caller's thread; a kernel's panic is raised again here.
pub(crate) fn run<T: Send>(values: &[f64], parts: &[Range<usize>], kernel: impl Fn(&[f64]) -> T + Sync) -> Vec<T> {
    let kernel = &kernel;
    std::thread::scope(|s| {
        let others: Vec<_> = parts[1..]
            .iter()
            .map(|r| {
                let part = &values[r.clone()];
                let thread = std::thread::Builder::new().name("indicator-part".into()).spawn_scoped(s, move || kernel(part));
                (part, thread.ok())
            })
            .collect();
        let mut out = Vec::with_capacity(parts.len());
        out.push(kernel(&values[parts[0].clone()]));
        for (part, thread) in others {
            out.push(match thread {
                Some(t) => t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => kernel(part),
            });
        }
        out
    })
}

#[cfg(test)]
mod split_tests {
    use super::*;
    use crate::market_data::indicators::bollinger;
    use crate::market_data::indicators::series::{rolling_moments_in, rolling_sums_in};

    /// A random walk with spikes of 1,000 times: sums whose order matters to the last bit.
    fn series(n: usize, seed: u64) -> Vec<f64> {
        crate::market_data::indicators::testing::walk(n, seed, 100.0, 1e3)
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn parts_cover_every_window_once_in_order() {
        for (len, period, threads) in [(10_000, 1, 2), (10_000, 20, 3), (10_000, 9_000, 8), (20_000, 19_800, 3), (64 * 7 + 5, 3, 7)] {
            let parts = parts_with(len, period, 0, threads).expect("split");
            assert!(parts.len() >= 2 && parts.len() <= threads);
            assert_eq!(parts[0].start, 0);
            assert_eq!(parts.last().unwrap().end, len);
            for w in parts.windows(2) {
                assert_eq!(w[1].start, w[0].end + 1 - period, "the next part starts at the next window");
            }
        }
        assert_eq!(parts_with(10_000, 20, 1 << 30, 8), None, "too little work");
        assert_eq!(parts_with(100, 20, 0, 8), None, "fewer windows than two chunks");
        assert_eq!(parts_with(10, 20, 0, 8), None, "no window");
    }

    #[test]
    fn split_kernels_give_one_threads_bits() {
        let values = series(9_000, 7);
        for period in [1, 2, 63, 64, 65, 500, 8_000] {
            for threads in [2, 3, 8] {
                let parts = parts_with(values.len(), period, 0, threads);
                let (mut one, mut split) = (Vec::new(), Vec::new());
                rolling_sums_in(&values, period, None, |s| one.extend_from_slice(s));
                rolling_sums_in(&values, period, parts.clone(), |s| {
                    assert!(s.len() <= LANES_AVX512, "chunks of at most a lane set");
                    split.extend_from_slice(s)
                });
                assert_eq!(bits(&one), bits(&split), "sums, period {period}, {threads} threads");

                let (mut one, mut split) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
                rolling_moments_in(&values, period, None, |m, s| {
                    one.0.extend_from_slice(m);
                    one.1.extend_from_slice(s);
                });
                rolling_moments_in(&values, period, parts.clone(), |m, s| {
                    split.0.extend_from_slice(m);
                    split.1.extend_from_slice(s);
                });
                assert_eq!((bits(&one.0), bits(&one.1)), (bits(&split.0), bits(&split.1)), "moments, period {period}");

                let (mut one, mut split) = (bollinger::Rows::default(), bollinger::Rows::default());
                bollinger::push_bands_in(&values, period, 2.0, None, &mut one);
                bollinger::push_bands_in(&values, period, 2.0, parts, &mut split);
                let columns = |r: &bollinger::Rows| [bits(&r.upper), bits(&r.middle), bits(&r.lower), bits(&r.percent_b), bits(&r.width)];
                assert_eq!(columns(&one), columns(&split), "bands, period {period}");
            }
        }
    }

    #[test]
    fn a_panicking_part_is_raised_in_the_caller() {
        let values = series(2_000, 3);
        let parts = parts_with(values.len(), 10, 0, 4).unwrap();
        let caught = std::panic::catch_unwind(|| run(&values, &parts, |part| assert!(part[0] != values[parts[2].start], "part 2")));
        assert!(caught.is_err());
    }
}
