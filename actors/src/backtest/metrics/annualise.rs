//! From per-bar statistics to annual ones: how many bars make a year.
//!
//! Crypto markets trade every day, around the clock, so a year is 365 days of 24 hours
//! (not 252 trading days): `periods_per_year = 365 * 86400 s / bar_interval`. Leap days
//! are ignored, as every annualisation convention does, so that 1d bars give exactly 365.
//! The report carries the number, the interval and this method, so a reader never has to
//! guess how a Sharpe ratio was scaled.

use super::MetricsError;
use serde::{Deserialize, Serialize};
use tradpal_messages::time::NANOS_PER_SEC;

/// Nanoseconds in a 365-day, 24-hour year.
pub const NANOS_PER_YEAR: i64 = 365 * 86_400 * NANOS_PER_SEC;

/// The method string [`Annualisation::method`] always holds.
pub const ANNUALISATION_METHOD: &str = "calendar_365d_24h: periods_per_year = 365 days * 24 h / bar_interval (crypto trades every day)";

/// How per-bar statistics were annualised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annualisation {
    /// Bars in a 365-day, 24-hour year: 525600 for 1m, 8760 for 1h, 365 for 1d.
    pub periods_per_year: f64,
    /// The bar interval in the exchanges' notation ("1m", "4h", "1d"; see [`format_interval`]).
    pub bar_interval: String,
    /// The rule, [`ANNUALISATION_METHOD`].
    pub method: String,
}

/// The annualisation for bars of `bar_interval_ns` nanoseconds:
/// `periods_per_year = NANOS_PER_YEAR / bar_interval_ns` (a fraction for intervals that do
/// not divide a year, e.g. 52.142857... for 1w). Fails for a non-positive interval.
pub fn annualisation(bar_interval_ns: i64) -> Result<Annualisation, MetricsError> {
    if bar_interval_ns <= 0 {
        return Err(MetricsError::BarInterval(bar_interval_ns));
    }
    Ok(Annualisation {
        periods_per_year: NANOS_PER_YEAR as f64 / bar_interval_ns as f64,
        bar_interval: format_interval(bar_interval_ns),
        method: ANNUALISATION_METHOD.to_string(),
    })
}

/// An interval in the largest unit that divides it exactly: `w`, `d`, `h`, `m` (minutes,
/// as exchanges write it), `s`, `ms`, `us`, `ns`. 60e9 -> "1m", 14_400e9 -> "4h",
/// 90e9 -> "90s". Non-positive intervals are written in `ns`.
pub fn format_interval(ns: i64) -> String {
    const UNITS: [(&str, i64); 8] = [
        ("w", 7 * 86_400 * NANOS_PER_SEC),
        ("d", 86_400 * NANOS_PER_SEC),
        ("h", 3_600 * NANOS_PER_SEC),
        ("m", 60 * NANOS_PER_SEC),
        ("s", NANOS_PER_SEC),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let (suffix, unit) = UNITS.iter().find(|(_, u)| ns > 0 && ns % u == 0).copied().unwrap_or(("ns", 1));
    format!("{}{suffix}", ns / unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60 * NANOS_PER_SEC;

    #[test]
    fn periods_per_year_on_a_365_day_calendar() {
        // 365 * 24 * 60 = 525600 minutes, 365 * 24 = 8760 hours, 365 days.
        let cases = [(MIN, 525_600.0, "1m"), (60 * MIN, 8_760.0, "1h"), (1_440 * MIN, 365.0, "1d")];
        for (ns, ppy, text) in cases {
            let a = annualisation(ns).unwrap();
            assert_eq!(a.periods_per_year, ppy, "{text}");
            assert_eq!(a.bar_interval, text);
            assert_eq!(a.method, ANNUALISATION_METHOD);
        }
        assert_eq!(annualisation(240 * MIN).unwrap().periods_per_year, 2_190.0);
        assert!((annualisation(7 * 1_440 * MIN).unwrap().periods_per_year - 365.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn intervals_in_the_largest_exact_unit() {
        assert_eq!(format_interval(15 * MIN), "15m");
        assert_eq!(format_interval(240 * MIN), "4h");
        assert_eq!(format_interval(7 * 1_440 * MIN), "1w");
        assert_eq!(format_interval(90 * NANOS_PER_SEC), "90s");
        assert_eq!(format_interval(1_500_000), "1500us");
        assert_eq!(format_interval(7), "7ns");
        assert_eq!(format_interval(-5), "-5ns");
    }

    #[test]
    fn non_positive_interval_is_an_error() {
        assert_eq!(annualisation(0), Err(MetricsError::BarInterval(0)));
        assert_eq!(annualisation(-60), Err(MetricsError::BarInterval(-60)));
    }
}
