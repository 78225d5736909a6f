//! Resampling: base-timeframe candles into bars of a higher timeframe.
//!
//! Higher bars align to UTC boundaries of the target timeframe (a 4h bar opens at 00:00,
//! 04:00, ... UTC; a 1d bar at midnight UTC), whatever the first base bar's time.
//! open = first base open, high = max, low = min, close = last base close,
//! volume = sum (in time order). Each bar says how many base bars it holds: a gap makes a
//! bar with fewer, and a period with no base bar at all produces no bar (nothing is
//! invented). `complete` is false only for a bar whose period has not ended with the data
//! given: the last bar, when its last base bar closes before the bar's close.
//!
//! Two implementations on purpose: [`resample`] is a plain group-by over a slice, and
//! [`Resampler`] is the streaming state machine live feeds and backtests push through.
//! They are kept separate so the tests can cross-check the state machine against the
//! obvious definition (on real data and random series with gaps).

use serde::Serialize;
use tradpal_messages::{Candle, Timeframe, Timestamp};

/// A bar of the higher timeframe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ResampledBar {
    /// `open_time` is the higher bar's UTC boundary.
    pub candle: Candle,
    /// False while the bar's period may still receive base bars.
    pub complete: bool,
    /// Base bars aggregated (fewer than target/base when the data has gaps).
    pub base_bars: u32,
}

/// Why base bars cannot be resampled. `index` counts base bars from 0 (pushes, for the
/// streaming resampler).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample {base} bars to {target}: the target must be a longer timeframe, a whole multiple of the base")]
    NotHigher { base: Timeframe, target: Timeframe },
    #[error("base bar {index} opens at {open_time}, not on a {base} boundary")]
    Misaligned { index: usize, open_time: Timestamp, base: Timeframe },
    #[error("base bar {index} opens at {open_time}, not after the previous base bar's {previous}")]
    NotIncreasing { index: usize, open_time: Timestamp, previous: Timestamp },
    #[error("base bar {index} opens at {open_time}, too close to the end of the time range to have a {target} bar")]
    OutOfRange { index: usize, open_time: Timestamp, target: Timeframe },
}

/// Checks that `target` is a longer whole multiple of `base`.
fn check_timeframes(base: Timeframe, target: Timeframe) -> Result<(), ResampleError> {
    if target.nanos() > base.nanos() && target.nanos() % base.nanos() == 0 {
        Ok(())
    } else {
        Err(ResampleError::NotHigher { base, target })
    }
}

/// The (open, close) of the `target` period holding base bar `index` opening at `t`,
/// after checking the bar is on a `base` boundary.
fn period_of(index: usize, t: Timestamp, base: Timeframe, target: Timeframe) -> Result<(i64, i64), ResampleError> {
    if t.0.rem_euclid(base.nanos()) != 0 {
        return Err(ResampleError::Misaligned { index, open_time: t, base });
    }
    let out_of_range = ResampleError::OutOfRange { index, open_time: t, target };
    let open = t.0.checked_sub(t.0.rem_euclid(target.nanos())).ok_or(out_of_range)?;
    let close = open.checked_add(target.nanos()).ok_or(out_of_range)?;
    // The base bar's own close must be representable too (it is compared with `close`).
    t.0.checked_add(base.nanos()).ok_or(out_of_range)?;
    Ok((open, close))
}

/// A new higher bar opening at `open` from its first base bar.
fn start(open: i64, c: &Candle) -> ResampledBar {
    ResampledBar { candle: Candle { open_time: Timestamp(open), ..*c }, complete: false, base_bars: 1 }
}

/// Adds the next base bar of the same period.
fn merge(bar: &mut ResampledBar, c: &Candle) {
    bar.candle.high = bar.candle.high.max(c.high);
    bar.candle.low = bar.candle.low.min(c.low);
    bar.candle.close = c.close;
    bar.candle.volume += c.volume;
    bar.base_bars = bar.base_bars.saturating_add(1);
}

/// Resamples a whole series of `base` candles (strictly increasing, aligned) to `target`.
pub fn resample(candles: &[Candle], base: Timeframe, target: Timeframe) -> Result<Vec<ResampledBar>, ResampleError> {
    check_timeframes(base, target)?;
    let mut periods = Vec::with_capacity(candles.len());
    for (index, c) in candles.iter().enumerate() {
        if let Some(previous) = index.checked_sub(1).and_then(|i| candles.get(i)) {
            if c.open_time <= previous.open_time {
                return Err(ResampleError::NotIncreasing { index, open_time: c.open_time, previous: previous.open_time });
            }
        }
        periods.push(period_of(index, c.open_time, base, target)?);
    }
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&(open, close)) = periods.get(i) {
        let end = i + periods[i..].iter().take_while(|p| p.0 == open).count();
        let group = &candles[i..end];
        let mut bar = start(open, &group[0]);
        group[1..].iter().for_each(|c| merge(&mut bar, c));
        let last_close = group[group.len() - 1].open_time.0 + base.nanos();
        bar.complete = end < candles.len() || last_close >= close;
        out.push(bar);
        i = end;
    }
    Ok(out)
}

/// Up to two bars completed by one push: the bar a new period closes, and the new bar
/// itself when its single base bar already ends its period (possible after a gap).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Emitted([Option<ResampledBar>; 2]);

impl Emitted {
    fn add(&mut self, bar: ResampledBar) {
        let slot = if self.0[0].is_none() { 0 } else { 1 };
        self.0[slot] = Some(bar);
    }

    pub fn is_empty(&self) -> bool {
        self.0[0].is_none()
    }
}

impl IntoIterator for Emitted {
    type Item = ResampledBar;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<ResampledBar>, 2>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().flatten()
    }
}

/// Streaming resampler: push base candles in time order; each higher bar comes out as
/// soon as it is complete (when its period's last base bar arrives, or when a base bar
/// of a later period shows the period is over), never later, never earlier.
#[derive(Debug, Clone)]
pub struct Resampler {
    base: Timeframe,
    target: Timeframe,
    current: Option<(ResampledBar, i64)>,
    previous: Option<Timestamp>,
    pushed: usize,
}

impl Resampler {
    pub fn new(base: Timeframe, target: Timeframe) -> Result<Self, ResampleError> {
        check_timeframes(base, target)?;
        Ok(Self { base, target, current: None, previous: None, pushed: 0 })
    }

    /// Adds the next base candle; returns the bars it completes. A refused candle changes
    /// nothing, so the stream may go on.
    pub fn push(&mut self, c: Candle) -> Result<Emitted, ResampleError> {
        let index = self.pushed;
        if let Some(previous) = self.previous.filter(|p| c.open_time <= *p) {
            return Err(ResampleError::NotIncreasing { index, open_time: c.open_time, previous });
        }
        let (open, close) = period_of(index, c.open_time, self.base, self.target)?;
        let mut emitted = Emitted::default();
        match self.current.as_mut() {
            Some((bar, _)) if bar.candle.open_time.0 == open => merge(bar, &c),
            _ => {
                if let Some((mut done, _)) = self.current.replace((start(open, &c), close)) {
                    done.complete = true;
                    emitted.add(done);
                }
            }
        }
        if c.open_time.0 + self.base.nanos() >= close {
            if let Some((mut done, _)) = self.current.take() {
                done.complete = true;
                emitted.add(done);
            }
        }
        self.previous = Some(c.open_time);
        self.pushed += 1;
        Ok(emitted)
    }

    /// The bar being built (always `complete: false`), if its period has base bars.
    pub fn partial(&self) -> Option<ResampledBar> {
        self.current.map(|(bar, _)| bar)
    }

    pub fn base(&self) -> Timeframe {
        self.base
    }

    pub fn target(&self) -> Timeframe {
        self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::testdata;
    use proptest::prelude::*;

    const MIN: i64 = 60_000_000_000;

    fn bar(minute: i64, price: f64) -> Candle {
        Candle { open_time: Timestamp(minute * MIN), open: price, high: price + 1.0, low: price - 1.0, close: price + 0.5, volume: 1.0 }
    }

    /// Streams `candles` through a resampler: emitted bars, then the partial one.
    fn stream(candles: &[Candle], base: Timeframe, target: Timeframe) -> Vec<ResampledBar> {
        let mut r = Resampler::new(base, target).unwrap();
        let mut out: Vec<_> = candles.iter().flat_map(|c| r.push(*c).unwrap()).collect();
        out.extend(r.partial());
        out
    }

    #[test]
    fn aggregates_ohlcv_and_counts_base_bars() {
        // Minutes 0..=4 make a full 5m bar; 5, 6 and 9 a bar with a gap; 12 a partial one.
        let candles: Vec<_> = [0, 1, 2, 3, 4, 5, 6, 9, 12].iter().map(|&m| bar(m, 10.0 + m as f64)).collect();
        let out = resample(&candles, Timeframe::M1, Timeframe::M5).unwrap();
        let first = Candle { open_time: Timestamp(0), open: 10.0, high: 15.0, low: 9.0, close: 14.5, volume: 5.0 };
        assert_eq!(out[0], ResampledBar { candle: first, complete: true, base_bars: 5 });
        assert_eq!((out[1].candle.open_time, out[1].base_bars, out[1].complete), (Timestamp(5 * MIN), 3, true));
        assert_eq!((out[1].candle.close, out[1].candle.high), (19.5, 20.0));
        assert_eq!((out[2].candle.open_time, out[2].base_bars, out[2].complete), (Timestamp(10 * MIN), 1, false));
        assert_eq!(out.len(), 3);
        assert_eq!(stream(&candles, Timeframe::M1, Timeframe::M5), out);
    }

    #[test]
    fn a_period_without_base_bars_makes_no_bar() {
        let candles = [bar(0, 1.0), bar(31, 1.0)];
        let out = resample(&candles, Timeframe::M1, Timeframe::M15).unwrap();
        let opens: Vec<_> = out.iter().map(|b| b.candle.open_time.0 / MIN).collect();
        assert_eq!(opens, vec![0, 30]);
    }

    #[test]
    fn streaming_emits_a_bar_the_moment_its_last_base_bar_arrives() {
        let mut r = Resampler::new(Timeframe::M1, Timeframe::M5).unwrap();
        for m in 0..4 {
            assert!(r.push(bar(m, 1.0)).unwrap().is_empty());
            assert_eq!(r.partial().map(|b| (b.base_bars, b.complete)), Some((m as u32 + 1, false)));
        }
        let done: Vec<_> = r.push(bar(4, 1.0)).unwrap().into_iter().collect();
        assert_eq!((done.len(), done[0].complete, done[0].base_bars), (1, true, 5));
        assert_eq!(r.partial(), None);
    }

    #[test]
    fn one_push_can_close_two_bars() {
        // 1h -> 4h: 00:00 and 01:00, then only 07:00, which ends the 04:00 bar on its own.
        let h = |hour: i64| Candle { open_time: Timestamp(hour * 60 * MIN), ..bar(0, 5.0) };
        let mut r = Resampler::new(Timeframe::H1, Timeframe::H4).unwrap();
        r.push(h(0)).unwrap();
        r.push(h(1)).unwrap();
        let done: Vec<_> = r.push(h(7)).unwrap().into_iter().collect();
        let shape: Vec<_> = done.iter().map(|b| (b.candle.open_time.0 / (60 * MIN), b.base_bars, b.complete)).collect();
        assert_eq!(shape, vec![(0, 2, true), (4, 1, true)]);
        assert_eq!(resample(&[h(0), h(1), h(7)], Timeframe::H1, Timeframe::H4).unwrap(), done);
    }

    #[test]
    fn refuses_bad_timeframes_and_bad_series() {
        for (base, target) in [(Timeframe::M5, Timeframe::M1), (Timeframe::H1, Timeframe::H1)] {
            assert_eq!(Resampler::new(base, target).unwrap_err(), ResampleError::NotHigher { base, target });
            assert!(resample(&[], base, target).is_err());
        }
        let misaligned = Candle { open_time: Timestamp(MIN + 7), ..bar(0, 1.0) };
        assert!(matches!(
            resample(&[bar(0, 1.0), misaligned], Timeframe::M1, Timeframe::M5),
            Err(ResampleError::Misaligned { index: 1, .. })
        ));
        let err = resample(&[bar(3, 1.0), bar(3, 1.0)], Timeframe::M1, Timeframe::M5).unwrap_err();
        assert!(matches!(err, ResampleError::NotIncreasing { index: 1, .. }), "{err}");
        let mut r = Resampler::new(Timeframe::M1, Timeframe::M5).unwrap();
        r.push(bar(3, 1.0)).unwrap();
        assert!(r.push(bar(2, 1.0)).is_err());
        assert_eq!(r.partial().map(|b| b.base_bars), Some(1), "a refused bar changes nothing");
        let end = Candle { open_time: Timestamp(i64::MAX - i64::MAX.rem_euclid(MIN)), ..bar(0, 1.0) };
        assert!(matches!(r.push(end), Err(ResampleError::OutOfRange { .. })));
        assert!(resample(
            &[Candle { open_time: Timestamp(i64::MIN + 8 * MIN - i64::MIN.rem_euclid(MIN)), ..end }],
            Timeframe::M1,
            Timeframe::D1
        )
        .is_err());
    }

    #[test]
    fn btcperp_streaming_equals_batch_for_every_target() {
        let candles = testdata::candles("btcperp-1m.csv", Timeframe::M1);
        let volume: f64 = candles.iter().map(|c| c.volume).sum();
        for target in [Timeframe::M5, Timeframe::M15, Timeframe::H1, Timeframe::H4, Timeframe::D1] {
            let batch = resample(&candles, Timeframe::M1, target).unwrap();
            assert_eq!(stream(&candles, Timeframe::M1, target), batch, "{target}");
            assert_eq!(batch.iter().map(|b| b.base_bars as usize).sum::<usize>(), candles.len(), "{target}");
            let resampled_volume: f64 = batch.iter().map(|b| b.candle.volume).sum();
            assert!((resampled_volume - volume).abs() <= volume * 1e-12, "{target}");
            assert!(batch.iter().rev().skip(1).all(|b| b.complete), "{target}");
        }
        // Data runs 2021-12-31T23:01 .. 2022-02-01T05:31.
        let days = resample(&candles, Timeframe::M1, Timeframe::D1).unwrap();
        assert_eq!(days.len(), 33);
        assert_eq!(
            (days[0].candle.open_time.to_rfc3339().as_str(), days[0].base_bars, days[0].complete),
            ("2021-12-31T00:00:00Z", 59, true)
        );
        assert_eq!((days[1].base_bars, days[32].base_bars, days[32].complete), (1440, 332, false));
        let fives = resample(&candles, Timeframe::M1, Timeframe::M5).unwrap();
        assert_eq!((fives[0].base_bars, fives[0].complete), (4, true));
        let last = fives.last().unwrap();
        assert_eq!((last.candle.open_time.to_rfc3339().as_str(), last.base_bars, last.complete), ("2022-02-01T05:30:00Z", 2, false));
        // Resampling in steps gives the same prices as resampling at once.
        let hours_via_5m = resample(&fives.iter().map(|b| b.candle).collect::<Vec<_>>(), Timeframe::M5, Timeframe::H1).unwrap();
        let hours = resample(&candles, Timeframe::M1, Timeframe::H1).unwrap();
        let prices = |bars: &[ResampledBar]| {
            bars.iter()
                .map(|b| (b.candle.open_time, b.candle.open, b.candle.high, b.candle.low, b.candle.close, b.complete))
                .collect::<Vec<_>>()
        };
        assert_eq!(prices(&hours_via_5m), prices(&hours));
    }

    /// 1h -> 4h and 1d on real data, against a group-by written independently here
    /// (integer division of epoch seconds; no shared helper with the code under test).
    #[test]
    fn eurusd_hours_to_4h_and_1d_match_an_independent_group_by() {
        let candles = testdata::candles("eurusd-1h.csv", Timeframe::H1);
        for (target, secs) in [(Timeframe::H4, 14_400i64), (Timeframe::D1, 86_400)] {
            let mut groups: Vec<(i64, Vec<&Candle>)> = Vec::new();
            for c in &candles {
                let key = c.open_time.0 / 1_000_000_000 / secs;
                match groups.last_mut() {
                    Some((k, g)) if *k == key => g.push(c),
                    _ => groups.push((key, vec![c])),
                }
            }
            let bars = resample(&candles, Timeframe::H1, target).unwrap();
            assert_eq!(bars.len(), groups.len(), "{target}");
            for (bar, (key, g)) in bars.iter().zip(&groups) {
                let b = &bar.candle;
                assert_eq!(b.open_time.0, key * secs * 1_000_000_000, "{target}");
                assert_eq!(b.open, g[0].open);
                assert_eq!(b.close, g[g.len() - 1].close);
                assert_eq!(b.high, g.iter().map(|c| c.high).fold(f64::MIN, f64::max));
                assert_eq!(b.low, g.iter().map(|c| c.low).fold(f64::MAX, f64::min));
                assert_eq!(b.volume, g.iter().map(|c| c.volume).sum::<f64>());
                assert_eq!(bar.base_bars as usize, g.len());
            }
        }
    }

    #[test]
    fn altbtc_gaps_make_short_bars() {
        let candles = testdata::candles("altbtc-1m-gaps.csv", Timeframe::M1);
        let batch = resample(&candles, Timeframe::M1, Timeframe::M15).unwrap();
        assert_eq!(stream(&candles, Timeframe::M1, Timeframe::M15), batch);
        assert!(batch.iter().any(|b| b.base_bars < 15 && b.complete));
        assert_eq!(batch.iter().map(|b| b.base_bars as usize).sum::<usize>(), candles.len());
    }

    /// Random increasing minute series with random gaps (steps of 1 to 90 minutes).
    fn series() -> impl Strategy<Value = Vec<Candle>> {
        let steps = proptest::collection::vec((1i64..90, 1.0f64..100.0, 0.0f64..1.0, 0.0f64..1.0, 0.0f64..10.0), 1..150);
        (0i64..3000, steps).prop_map(|(start, steps)| {
            let mut minute = start;
            steps
                .into_iter()
                .map(|(step, price, up, down, volume)| {
                    minute += if step > 60 { step } else { 1 };
                    let (high, low) = (price + up, price - down);
                    Candle { open_time: Timestamp(minute * MIN), open: price, high, low, close: low + (high - low) * up, volume }
                })
                .collect()
        })
    }

    fn any_candle() -> impl Strategy<Value = Candle> {
        let time = prop_oneof![
            3 => (0i64..500).prop_map(|m| m * MIN),
            1 => any::<i64>(),
            1 => Just(i64::MAX),
            1 => Just(i64::MIN),
        ];
        (time, prop::num::f64::ANY, prop::num::f64::ANY).prop_map(|(t, price, volume)| Candle {
            open_time: Timestamp(t),
            open: price,
            high: price,
            low: price,
            close: price,
            volume,
        })
    }

    proptest! {
        #[test]
        fn any_input_is_resampled_or_refused_without_panic(
            candles in proptest::collection::vec(any_candle(), 0..40),
            base in 0usize..6,
            target in 0usize..6,
        ) {
            let (base, target) = (Timeframe::ALL[base], Timeframe::ALL[target]);
            if let Ok(bars) = resample(&candles, base, target) {
                prop_assert_eq!(bars.iter().map(|b| b.base_bars as usize).sum::<usize>(), candles.len());
            }
            if let Ok(mut r) = Resampler::new(base, target) {
                let mut bars = 0;
                for c in &candles {
                    bars += r.push(*c).map(|e| e.into_iter().map(|b| b.base_bars as usize).sum::<usize>()).unwrap_or(0);
                }
                prop_assert!(bars + r.partial().map_or(0, |b| b.base_bars as usize) <= candles.len());
            }
        }

        #[test]
        fn no_bar_uses_data_from_after_its_close(candles in series(), target in 1usize..6) {
            let target = Timeframe::ALL[target];
            let full = resample(&candles, Timeframe::M1, target).unwrap();
            prop_assert_eq!(stream(&candles, Timeframe::M1, target), full.clone());
            for bar in &full {
                let close = bar.candle.open_time.0 + target.nanos();
                let before_close: Vec<_> = candles.iter().copied().filter(|c| c.open_time.0 < close).collect();
                let prefix = resample(&before_close, Timeframe::M1, target).unwrap();
                let same = prefix.last().unwrap();
                prop_assert_eq!((same.candle, same.base_bars), (bar.candle, bar.base_bars));
            }
            // Streaming: what is out after k pushes (plus the partial bar) is exactly the
            // batch result on the first k candles, and nothing comes out before it closes.
            let mut r = Resampler::new(Timeframe::M1, target).unwrap();
            let mut out = Vec::new();
            for (k, c) in candles.iter().enumerate() {
                for bar in r.push(*c).unwrap() {
                    let bar_close = bar.candle.open_time.0 + target.nanos();
                    prop_assert!(bar_close <= c.open_time.0 + MIN, "emitted before its close");
                    out.push(bar);
                }
                let mut seen = out.clone();
                seen.extend(r.partial());
                let want = resample(&candles[..=k], Timeframe::M1, target).unwrap();
                prop_assert_eq!(seen, want);
            }
        }
    }
}
