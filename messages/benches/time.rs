//! RFC 3339 and calendar arithmetic: `tradpal_messages::time` (jiff since issue 23)
//! against the hand-written code it replaced (module `hand` below, kept for this
//! comparison: a hand-written version stays only where a benchmark shows it wins).
//! `same_answers` runs before timing, so a faster wrong answer cannot win.
//! `cargo bench -p tradpal-messages --bench time`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tradpal_messages::time::{civil_from_days, days_from_civil, Timestamp};

/// The hand-written code that `tradpal_messages::time` had before issue 23 (verbatim but
/// for `pub`), kept here as the other side of the comparison.
#[allow(dead_code)]
mod hand {
    const NANOS_PER_SEC: i64 = 1_000_000_000;
    const SECS_PER_DAY: i64 = 86_400;
    #[derive(Clone, Copy)]
    pub struct Timestamp(pub i64);

    impl Timestamp {
        /// RFC 3339 in UTC, `Z` suffix, fractional seconds only as long as needed.
        pub fn to_rfc3339(self) -> String {
            let secs = self.0.div_euclid(NANOS_PER_SEC);
            let nanos = self.0.rem_euclid(NANOS_PER_SEC);
            let days = secs.div_euclid(SECS_PER_DAY);
            let sod = secs.rem_euclid(SECS_PER_DAY);
            let (y, m, d) = civil_from_days(days);
            let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60);
            if nanos != 0 {
                let frac = format!("{nanos:09}");
                out.push('.');
                out.push_str(frac.trim_end_matches('0'));
            }
            out.push('Z');
            out
        }
    }

    fn num(s: &str) -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }

    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        // Byte-position slicing below is only sound on ASCII; any other text is invalid anyway.
        if !text.is_ascii() {
            return None;
        }
        let b = text.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let (y, m, d) = (num(&text[0..4])?, num(&text[5..7])?, num(&text[8..10])?);
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        let days = days_from_civil(y, m, d);
        if b.len() == 10 {
            return Some(Timestamp(days.checked_mul(SECS_PER_DAY * NANOS_PER_SEC)?));
        }
        if b.len() < 20 || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (hh, mm, ss) = (num(&text[11..13])?, num(&text[14..16])?, num(&text[17..19])?);
        if hh > 23 || mm > 59 || ss > 59 {
            return None;
        }
        let mut rest = &text[19..];
        let mut nanos = 0i64;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            nanos = num(&frac[..digits])? * 10i64.pow(9 - digits as u32);
            rest = &frac[digits..];
        }
        let offset_secs = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && &rest[3..4] == ":" => {
                let (oh, om) = (num(&rest[1..3])?, num(&rest[4..6])?);
                if oh > 23 || om > 59 {
                    return None;
                }
                let s = oh * 3600 + om * 60;
                if rest.starts_with('-') {
                    -s
                } else {
                    s
                }
            }
            _ => return None,
        };
        let secs = days.checked_mul(SECS_PER_DAY)? + hh * 3600 + mm * 60 + ss - offset_secs;
        Some(Timestamp(secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)?))
    }

    /// Whether `y` is a leap year (proleptic Gregorian).
    pub fn is_leap(y: i64) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    /// Days in month `m` (1..=12) of year `y`.
    pub fn days_in_month(y: i64, m: i64) -> i64 {
        match m {
            2 if is_leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
    pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }
}

/// 1,000 instants over 1970..2100, a third whole seconds, a third with milliseconds, a
/// third with nanoseconds (xorshift, fixed seed).
fn instants() -> Vec<i64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..1000)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 4_102_444_800) as i64;
            let frac = match i % 3 {
                0 => 0,
                1 => ((x >> 20) % 1000) as i64 * 1_000_000,
                _ => ((x >> 20) % 1_000_000_000) as i64,
            };
            secs * 1_000_000_000 + frac
        })
        .collect()
}

fn same_answers(ns: &[i64], texts: &[String]) {
    for (&n, text) in ns.iter().zip(texts) {
        assert_eq!(&hand::Timestamp(n).to_rfc3339(), text, "format {n}");
        assert_eq!(hand::parse_rfc3339(text).map(|t| t.0), Some(n), "parse {text}");
    }
    for text in ["2024-02-29", "2021-12-31T23:01:00.5+01:00", "2021-12-31 23:01:00z"] {
        assert_eq!(hand::parse_rfc3339(text).map(|t| t.0), text.parse::<Timestamp>().ok().map(|t| t.0), "{text}");
    }
    for days in (-200_000..200_000).step_by(997) {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(hand::civil_from_days(days), (y, m, d));
        assert_eq!(days_from_civil(y, m, d), Some(hand::days_from_civil(y, m, d)));
    }
}

fn time(c: &mut Criterion) {
    let ns = instants();
    let texts: Vec<String> = ns.iter().map(|&n| Timestamp(n).to_rfc3339()).collect();
    same_answers(&ns, &texts);
    let days: Vec<i64> = ns.iter().map(|n| n.div_euclid(86_400_000_000_000)).collect();
    let dates: Vec<(i64, i64, i64)> = days.iter().map(|&d| civil_from_days(d)).collect();
    let mut g = c.benchmark_group("time_x1000");
    g.bench_function("format_hand", |b| b.iter(|| ns.iter().map(|&n| hand::Timestamp(black_box(n)).to_rfc3339().len()).sum::<usize>()));
    g.bench_function("format_jiff", |b| b.iter(|| ns.iter().map(|&n| Timestamp(black_box(n)).to_rfc3339().len()).sum::<usize>()));
    g.bench_function("parse_hand", |b| {
        b.iter(|| texts.iter().map(|t| hand::parse_rfc3339(black_box(t)).unwrap().0).fold(0i64, i64::wrapping_add))
    });
    g.bench_function("parse_jiff", |b| {
        b.iter(|| texts.iter().map(|t| Timestamp::parse_rfc3339(black_box(t)).unwrap().0).fold(0i64, i64::wrapping_add))
    });
    g.bench_function("days_from_civil_hand", |b| {
        b.iter(|| dates.iter().map(|&(y, m, d)| hand::days_from_civil(black_box(y), m, d)).sum::<i64>())
    });
    g.bench_function("days_from_civil_jiff", |b| {
        b.iter(|| dates.iter().map(|&(y, m, d)| days_from_civil(black_box(y), m, d).unwrap()).sum::<i64>())
    });
    g.bench_function("civil_from_days_hand", |b| b.iter(|| days.iter().map(|&d| hand::civil_from_days(black_box(d)).0).sum::<i64>()));
    g.bench_function("civil_from_days_jiff", |b| b.iter(|| days.iter().map(|&d| civil_from_days(black_box(d)).0).sum::<i64>()));
    g.finish();
}

criterion_group!(benches, time);
criterion_main!(benches);
