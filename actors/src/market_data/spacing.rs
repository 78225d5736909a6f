//! What timeframe a series of bars is, from the bars themselves.
//!
//! A file does not say its bar length, and a wrong claim is silent: daily bars read as
//! hourly ones are all on the hour grid, so every row validates, and annualised numbers
//! come out 24 times too large. The bars' spacing tells: the most common distance
//! between consecutive open times is the bar length (gaps, weekends and holidays are
//! rarer than regular steps). [`infer_timeframe`] reads it; [`check_timeframe`] refuses a
//! claim that disagrees. Pure: no I/O.

use crate::backtest::metrics::format_interval;
use std::collections::BTreeMap;
use tradpal_messages::{Timeframe, Timestamp};

/// Why a series' bar length could not be confirmed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpacingError {
    /// The claimed timeframe is not the bars' spacing.
    #[error(
        "the timeframe given is {claimed} but the bars are {spacing} apart ({share_pct}% of consecutive bars); give --timeframe {fix} (or leave it out to infer it)",
        fix = .inferred.map_or_else(|| .spacing.clone(), |t| t.as_str().to_string())
    )]
    Mismatch { claimed: Timeframe, spacing: String, share_pct: u32, inferred: Option<Timeframe> },
    /// The bars' spacing is not a supported timeframe.
    #[error("the bars are {spacing} apart ({share_pct}% of consecutive bars), which is not a timeframe (1m, 5m, 15m, 1h, 4h, 1d)")]
    Unsupported { spacing: String, share_pct: u32 },
    /// Fewer than two bars: no spacing to read.
    #[error("{bars} bar(s): the timeframe cannot be inferred from fewer than 2; give it")]
    TooFew { bars: usize },
}

/// The most common positive distance between consecutive open times (ties: the shorter),
/// with the share of distances that are it, in percent. `None` for fewer than 2 times.
pub fn typical_spacing(times: impl IntoIterator<Item = Timestamp>) -> Option<(i64, u32)> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    let mut prev: Option<Timestamp> = None;
    let mut total = 0usize;
    for t in times {
        if let Some(p) = prev {
            let d = t.0 - p.0;
            if d > 0 {
                *counts.entry(d).or_default() += 1;
                total += 1;
            }
        }
        prev = Some(t);
    }
    // BTreeMap iterates shortest first, and max_by_key keeps the last maximum: reverse it.
    let (spacing, n) = counts.into_iter().rev().max_by_key(|(_, n)| *n)?;
    Some((spacing, (n * 100 / total.max(1)) as u32))
}

/// The timeframe whose length is the bars' typical spacing.
pub fn infer_timeframe(times: impl IntoIterator<Item = Timestamp>) -> Result<Timeframe, SpacingError> {
    let times: Vec<Timestamp> = times.into_iter().collect();
    let Some((spacing, share_pct)) = typical_spacing(times.iter().copied()) else {
        return Err(SpacingError::TooFew { bars: times.len() });
    };
    Timeframe::ALL
        .into_iter()
        .find(|t| t.nanos() == spacing)
        .ok_or(SpacingError::Unsupported { spacing: format_interval(spacing), share_pct })
}

/// `Ok` when `claimed` is the bars' typical spacing, or when there are fewer than two
/// bars to tell (a short continuation of a stored series).
pub fn check_timeframe(times: impl IntoIterator<Item = Timestamp>, claimed: Timeframe) -> Result<(), SpacingError> {
    match typical_spacing(times) {
        Some((spacing, share_pct)) if spacing != claimed.nanos() => Err(SpacingError::Mismatch {
            claimed,
            spacing: format_interval(spacing),
            share_pct,
            inferred: Timeframe::ALL.into_iter().find(|t| t.nanos() == spacing),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::testdata;

    fn times(step_s: i64, n: i64) -> Vec<Timestamp> {
        (0..n).map(|i| Timestamp(i * step_s * 1_000_000_000)).collect()
    }

    #[test]
    fn real_files_have_their_own_timeframe() {
        for (file, tf) in [("goog-1d.csv", Timeframe::D1), ("eurusd-1h.csv", Timeframe::H1), ("btcperp-1m.csv", Timeframe::M1)] {
            let bars = testdata::candles(file, Timeframe::M1);
            assert_eq!(infer_timeframe(bars.iter().map(|c| c.open_time)), Ok(tf), "{file}");
            assert_eq!(check_timeframe(bars.iter().map(|c| c.open_time), tf), Ok(()), "{file}");
        }
        // Daily stock bars claimed as hourly: every one is on the hour grid, yet refused.
        let goog = testdata::candles("goog-1d.csv", Timeframe::M1);
        let e = check_timeframe(goog.iter().map(|c| c.open_time), Timeframe::H1).unwrap_err();
        assert!(matches!(e, SpacingError::Mismatch { inferred: Some(Timeframe::D1), .. }), "{e}");
        assert!(e.to_string().contains("bars are 1d apart") && e.to_string().contains("--timeframe 1d"), "{e}");
    }

    #[test]
    fn gaps_do_not_change_the_answer_and_odd_spacings_are_named() {
        let mut t = times(300, 100);
        t.extend(times(300, 10).into_iter().map(|x| Timestamp(x.0 + 10_000_000_000_000)));
        assert_eq!(infer_timeframe(t), Ok(Timeframe::M5));
        assert!(infer_timeframe(times(7, 10)).unwrap_err().to_string().contains("7s apart"));
        assert_eq!(infer_timeframe(times(60, 1)), Err(SpacingError::TooFew { bars: 1 }));
        assert_eq!(check_timeframe(times(60, 1), Timeframe::H1), Ok(()), "one bar cannot disagree");
    }
}
