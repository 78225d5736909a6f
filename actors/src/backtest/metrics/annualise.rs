//! From per-bar statistics to annual ones: how many bars make a year, and how long the
//! curve really lasted.
//!
//! Two questions, answered separately:
//!
//! - **How long did the run last?** Calendar time, always: `years = (end - start) / year`
//!   with a 365-day, 24-hour year. CAGR compounds over it, so a daily equity file of 8.5
//!   calendar years (about 2,140 trading days) grows over 8.5 years, not over 2,140 / 365.
//! - **How many bars make a year?** It scales Sharpe, Sortino, volatility and alpha by
//!   `sqrt(periods_per_year)` or `periods_per_year`. By default it is *observed*: the
//!   curve's bars per calendar year, `m * year / (end - start)`. That is 525,600 for 1m
//!   crypto (trades around the clock), about 252 for daily stocks and about 6,200 for
//!   hourly FX, with no table to keep. A declared [`Calendar`] fixes it instead: 24/7
//!   crypto, 252-day equities (6.5-hour sessions), 24/5 FX.
//!
//! The report carries the calendar, the number, the interval, the span in years and the
//! rule ([`Annualisation`]), so a reader never has to guess how a Sharpe ratio was scaled.
//! Leap days are ignored, as every annualisation convention does, so that 1d bars of a
//! 24/7 market give exactly 365 and a continuous series' numbers are the same whichever
//! of `observed` and `crypto_24_7` is asked for.

use super::MetricsError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use tradpal_messages::time::NANOS_PER_SEC;

/// Nanoseconds in a 365-day, 24-hour year.
pub const NANOS_PER_YEAR: i64 = 365 * 86_400 * NANOS_PER_SEC;
const DAY_NS: f64 = 86_400.0 * NANOS_PER_SEC as f64;
const HOUR_NS: f64 = 3_600.0 * NANOS_PER_SEC as f64;

/// Which bars-per-year scales the per-bar statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calendar {
    /// The curve's own bars per calendar year, `m * year / (end - start)` (the default).
    #[default]
    Observed,
    /// Every day, around the clock: `365 * 24 h / bar_interval`.
    #[serde(rename = "crypto_24_7")]
    Crypto24x7,
    /// 252 trading days a year, sessions of 6.5 hours: `252 * 1d / bar_interval` for daily
    /// and longer bars, `252 * 6.5 h / bar_interval` for intraday ones.
    #[serde(rename = "equities_252")]
    Equities252,
    /// 24 hours a day, 5 days a week (260 days): `260 * 24 h / bar_interval`.
    #[serde(rename = "fx_24_5")]
    Fx24x5,
}

impl Calendar {
    /// Every calendar's name, for help texts and errors.
    pub const NAMES: &'static str = "observed, crypto_24_7, equities_252, fx_24_5";

    pub fn as_str(self) -> &'static str {
        match self {
            Calendar::Observed => "observed",
            Calendar::Crypto24x7 => "crypto_24_7",
            Calendar::Equities252 => "equities_252",
            Calendar::Fx24x5 => "fx_24_5",
        }
    }

    /// Bars per year of a declared calendar (`None` for [`Calendar::Observed`]).
    fn declared(self, interval_ns: f64) -> Option<f64> {
        match self {
            Calendar::Observed => None,
            Calendar::Crypto24x7 => Some(NANOS_PER_YEAR as f64 / interval_ns),
            Calendar::Equities252 if interval_ns >= DAY_NS => Some(252.0 * DAY_NS / interval_ns),
            Calendar::Equities252 => Some(252.0 * 6.5 * HOUR_NS / interval_ns),
            Calendar::Fx24x5 => Some(260.0 * DAY_NS / interval_ns),
        }
    }
}

impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar name that is none of [`Calendar::NAMES`] (nor an alias).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown calendar {0:?}: expected one of {names}", names = Calendar::NAMES)]
pub struct UnknownCalendar(pub String);

impl FromStr for Calendar {
    type Err = UnknownCalendar;
    fn from_str(s: &str) -> Result<Self, UnknownCalendar> {
        match s {
            "observed" => Ok(Calendar::Observed),
            "crypto_24_7" | "crypto" => Ok(Calendar::Crypto24x7),
            "equities_252" | "equities" => Ok(Calendar::Equities252),
            "fx_24_5" | "fx" => Ok(Calendar::Fx24x5),
            other => Err(UnknownCalendar(other.to_string())),
        }
    }
}

/// How per-bar statistics were annualised, and over how much calendar time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annualisation {
    /// The calendar asked for.
    pub calendar: Calendar,
    /// Bars per year used to scale Sharpe, Sortino, volatility and alpha.
    pub periods_per_year: f64,
    /// The bar interval in the exchanges' notation ("1m", "4h", "1d"; see [`format_interval`]).
    pub bar_interval: String,
    /// Calendar years from the first equity point to the last (365-day years); CAGR
    /// compounds over them. 0 for a one-point curve.
    pub years: f64,
    /// The rule, in words, with the numbers it used.
    pub method: String,
}

/// The annualisation of a curve of `m` bar intervals of `bar_interval_ns` spanning
/// `span_ns` of calendar time. An observed calendar with nothing elapsed (`m = 0` or
/// `span_ns <= 0`) falls back to 24/7 and says so. Fails for a non-positive interval.
pub fn annualisation(bar_interval_ns: i64, calendar: Calendar, span_ns: i64, m: usize) -> Result<Annualisation, MetricsError> {
    if bar_interval_ns <= 0 {
        return Err(MetricsError::BarInterval(bar_interval_ns));
    }
    let interval = bar_interval_ns as f64;
    let years = span_ns.max(0) as f64 / NANOS_PER_YEAR as f64;
    let bar_interval = format_interval(bar_interval_ns);
    let (periods_per_year, method) = match calendar.declared(interval) {
        Some(ppy) => (ppy, format!("declared calendar {calendar}: {ppy:.2} bars of {bar_interval} a year")),
        None if m > 0 && years > 0.0 => {
            // m * year / span rather than m / years: exact for whole days of a 24/7 series.
            let ppy = m as f64 * NANOS_PER_YEAR as f64 / span_ns as f64;
            (ppy, format!("observed: {m} bars over {years:.4} calendar years = {ppy:.2} bars a year"))
        }
        None => {
            let ppy = NANOS_PER_YEAR as f64 / interval;
            (ppy, format!("observed, but no time elapsed: 365 days * 24 h / {bar_interval} = {ppy:.2} bars a year"))
        }
    };
    Ok(Annualisation { calendar, periods_per_year, bar_interval, years, method })
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
    const DAY: i64 = 1_440 * MIN;

    #[test]
    fn a_continuous_series_observes_the_24_7_calendar() {
        // 365 * 24 * 60 = 525600 minutes, 365 * 24 = 8760 hours, 365 days.
        let cases = [(MIN, 525_600.0, "1m"), (60 * MIN, 8_760.0, "1h"), (DAY, 365.0, "1d")];
        for (ns, ppy, text) in cases {
            for calendar in [Calendar::Observed, Calendar::Crypto24x7] {
                let a = annualisation(ns, calendar, 1_000 * ns, 1_000).unwrap();
                assert!((a.periods_per_year - ppy).abs() < 1e-6 * ppy, "{text} {calendar}: {}", a.periods_per_year);
                assert_eq!((a.bar_interval.as_str(), a.calendar), (text, calendar));
            }
        }
        let a = annualisation(240 * MIN, Calendar::Crypto24x7, 0, 0).unwrap();
        assert_eq!(a.periods_per_year, 2_190.0);
        assert!((annualisation(7 * DAY, Calendar::Crypto24x7, 0, 0).unwrap().periods_per_year - 365.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn trading_days_observe_their_own_rate() {
        // 2,140 daily bars over 8.5 calendar years (weekends and holidays missing): about
        // 252 a year, not 365; the span is the calendar's.
        let span = (8.5 * NANOS_PER_YEAR as f64) as i64;
        let a = annualisation(DAY, Calendar::Observed, span, 2_140).unwrap();
        assert!((a.periods_per_year - 2_140.0 / 8.5).abs() < 1e-9, "{}", a.periods_per_year);
        assert!((a.years - 8.5).abs() < 1e-12);
        assert!(a.method.starts_with("observed: 2140 bars over 8.5000"), "{}", a.method);
    }

    #[test]
    fn declared_calendars() {
        let ppy = |ns, c| annualisation(ns, c, 10 * DAY, 10).unwrap().periods_per_year;
        assert_eq!(ppy(DAY, Calendar::Equities252), 252.0);
        assert_eq!(ppy(60 * MIN, Calendar::Equities252), 252.0 * 6.5);
        assert_eq!(ppy(DAY, Calendar::Fx24x5), 260.0);
        assert_eq!(ppy(60 * MIN, Calendar::Fx24x5), 260.0 * 24.0);
        assert_eq!(ppy(DAY, Calendar::Crypto24x7), 365.0);
        for c in [Calendar::Observed, Calendar::Crypto24x7, Calendar::Equities252, Calendar::Fx24x5] {
            assert_eq!(c.as_str().parse::<Calendar>(), Ok(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert!("nyse".parse::<Calendar>().unwrap_err().to_string().contains("equities_252"));
    }

    #[test]
    fn nothing_elapsed_falls_back_to_24_7_and_says_so() {
        let a = annualisation(DAY, Calendar::Observed, 0, 0).unwrap();
        assert_eq!((a.periods_per_year, a.years), (365.0, 0.0));
        assert!(a.method.contains("no time elapsed"), "{}", a.method);
    }

    #[test]
    fn intervals_in_the_largest_exact_unit() {
        assert_eq!(format_interval(15 * MIN), "15m");
        assert_eq!(format_interval(240 * MIN), "4h");
        assert_eq!(format_interval(7 * DAY), "1w");
        assert_eq!(format_interval(90 * NANOS_PER_SEC), "90s");
        assert_eq!(format_interval(1_500_000), "1500us");
        assert_eq!(format_interval(7), "7ns");
        assert_eq!(format_interval(-5), "-5ns");
    }

    #[test]
    fn non_positive_interval_is_an_error() {
        assert_eq!(annualisation(0, Calendar::Observed, 1, 1), Err(MetricsError::BarInterval(0)));
        assert_eq!(annualisation(-60, Calendar::Observed, 1, 1), Err(MetricsError::BarInterval(-60)));
    }
}
