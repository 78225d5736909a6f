//! Returns per UTC calendar month, the table every backtest report shows.
//!
//! A point belongs to the month of its `time` (UTC). Callers stamp points the way candles
//! are stamped (`Candle::open_time`, the bar's start), so the last daily bar of January
//! counts in January; a curve stamped with close times would put it in February.

use super::validate;
use super::{EquityPoint, MetricsError};
use tradpal_messages::time::{civil_from_days, NANOS_PER_SEC};
use tradpal_messages::Timestamp;

const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// `(year, month)` of a timestamp in UTC, month 1..=12. Floor division, so instants before
/// 1970 fall on the right day too.
pub(crate) fn year_month(t: Timestamp) -> (i64, u32) {
    let (y, m, _) = civil_from_days(t.0.div_euclid(NANOS_PER_DAY));
    (y, m as u32)
}

/// `(year, month, return)` for every calendar month holding at least one point, oldest
/// first, with `return = last_equity(month) / last_equity(previous month) - 1`: month-end
/// to month-end, so the months compound to the total return. The first month is measured
/// from the curve's first point.
///
/// A month without points (a gap in the data) gets no row; the next month's return is
/// measured from the last equity before the gap, so no change is lost. O(n). Fails like
/// [`super::compute`] on an empty, non-positive, non-finite or time-disordered curve.
pub fn monthly_returns(equity: &[EquityPoint]) -> Result<Vec<(i64, u32, f64)>, MetricsError> {
    validate::equity(equity)?;
    let mut out = Vec::new();
    let mut base = equity[0].equity;
    let mut month = year_month(equity[0].time);
    let mut last = base;
    for p in &equity[1..] {
        let ym = year_month(p.time);
        if ym != month {
            out.push((month.0, month.1, last / base - 1.0));
            (base, month) = (last, ym);
        }
        last = p.equity;
    }
    out.push((month.0, month.1, last / base - 1.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::time::days_from_civil;

    fn at(y: i64, m: i64, d: i64, secs: i64) -> Timestamp {
        Timestamp(days_from_civil(y, m, d).expect("a real date") * NANOS_PER_DAY + secs * NANOS_PER_SEC)
    }

    fn point(time: Timestamp, equity: f64) -> EquityPoint {
        EquityPoint { time, equity }
    }

    fn close(a: &[(i64, u32, f64)], b: &[(i64, u32, f64)]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0 && x.1 == y.1 && (x.2 - y.2).abs() < 1e-12)
    }

    #[test]
    fn across_month_boundaries_in_a_leap_year() {
        // Jan: 100 -> 110 (+10%). Feb: from Jan's last 110, its own last (Feb 29) is 121:
        // 121 / 110 - 1 = +10%. Mar: 133.1 / 121 - 1 = +10%. The one-second-before-midnight
        // point is still January.
        let c = [
            point(at(2024, 1, 30, 0), 100.0),
            point(at(2024, 1, 31, 86_399), 110.0),
            point(at(2024, 2, 1, 0), 99.0),
            point(at(2024, 2, 29, 0), 121.0),
            point(at(2024, 3, 1, 0), 133.1),
        ];
        let got = monthly_returns(&c).unwrap();
        assert!(close(&got, &[(2024, 1, 0.1), (2024, 2, 0.1), (2024, 3, 0.1)]), "{got:?}");
    }

    #[test]
    fn year_boundary_and_gaps() {
        // Dec 2023: 200 -> 150 (-25%). No point in January. Feb 2024: 180 / 150 - 1 = +20%
        // (from December's last: the January move is not lost).
        let c = [point(at(2023, 12, 1, 0), 200.0), point(at(2023, 12, 31, 3600), 150.0), point(at(2024, 2, 10, 0), 180.0)];
        let got = monthly_returns(&c).unwrap();
        assert!(close(&got, &[(2023, 12, -0.25), (2024, 2, 0.2)]), "{got:?}");
    }

    #[test]
    fn single_point_and_before_1970() {
        assert_eq!(monthly_returns(&[point(at(2024, 5, 5, 0), 10.0)]).unwrap(), vec![(2024, 5, 0.0)]);
        // 1969-12-31T23:59:59Z is a negative timestamp; floor division keeps it in December.
        let c = [point(Timestamp(-NANOS_PER_SEC), 100.0), point(Timestamp(0), 105.0)];
        assert!(close(&monthly_returns(&c).unwrap(), &[(1969, 12, 0.0), (1970, 1, 0.05)]));
        assert_eq!(monthly_returns(&[]), Err(MetricsError::EmptyEquity));
    }
}
