//! Tests of `exact.rs` (a child module of it: they reach its private paths).

use super::*;
use crate::market_data::indicators::testing::walk;

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn sums(values: &[f64], period: usize) -> Vec<f64> {
    let mut out = Vec::new();
    rolling_sums(values, period, |s| {
        assert!(!s.is_empty() && s.len() <= LANES_AVX512);
        out.extend_from_slice(s)
    });
    out
}

#[test]
fn sums_are_the_exact_sums_rounded_once() {
    // 0.1 ten times: 1.0000000000000000555... exactly, so 1.0 (oldest first: 0.9999999999999999).
    assert_eq!(exact_sum(&[0.1; 10]), 1.0);
    assert_eq!([0.1; 10].iter().sum::<f64>(), 0.9999999999999999);
    // Cancellation the oldest-first sum loses entirely.
    assert_eq!(exact_sum(&[1e100, 1.0, -1e100]), 1.0);
    assert_eq!(exact_sum(&[1e16, 1.0, -1e16, 1.0]), 2.0);
    // Ties to even: 1 + 2^-53 lies halfway between 1 and the next f64; a bit more
    // anywhere below rounds it up.
    let (ulp_half, tiny) = (2f64.powi(-53), 2f64.powi(-90));
    assert_eq!(exact_sum(&[1.0, ulp_half]), 1.0);
    assert_eq!(exact_sum(&[1.0, ulp_half, tiny]), 1.0 + 2f64.powi(-52));
    assert_eq!(exact_sum(&[1.0 + 2f64.powi(-52), ulp_half]), 1.0 + 2f64.powi(-51));
    // Zeros, one value, nothing.
    assert_eq!(exact_sum(&[0.0, -0.0]).to_bits(), 0f64.to_bits());
    assert_eq!(exact_sum(&[]).to_bits(), 0f64.to_bits());
    assert_eq!(exact_sum(&[-3.5]), -3.5);
    // Subnormals and the top of the range.
    let min = f64::from_bits(1);
    assert_eq!(exact_sum(&[min, min, min]), f64::from_bits(3));
    assert_eq!(exact_sum(&[f64::MAX, -f64::MAX, min]), min);
    assert_eq!(exact_sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
    assert_eq!(exact_sum(&[f64::MAX, f64::MAX, -f64::MAX]), f64::MAX);
    // Not finite: as IEEE arithmetic in any order.
    assert!(exact_sum(&[1.0, f64::NAN]).is_nan());
    assert!(exact_sum(&[f64::INFINITY, 1.0, f64::NEG_INFINITY]).is_nan());
    assert_eq!(exact_sum(&[f64::MAX, f64::NEG_INFINITY, f64::MAX]), f64::NEG_INFINITY);
}

/// The three ways to the sum (the `i64` and `i128` fixed points and the limbs) are
/// three pieces of code: they must agree on every window they can each take.
#[test]
fn every_path_gives_the_same_bits() {
    let series = [
        walk(3_000, 3, 50_000.0, 1.0),  // prices: one i64 (a window), a pair (rolling)
        walk(3_000, 5, 50_000.0, 1e6),  // spikes: a pair
        walk(3_000, 7, 1.0, 1e14),      // a pair, or i128 from period 64
        walk(3_000, 11, 1.0, 1e200),    // beyond i128: the limbs
        walk(3_000, 13, 1e-300, 1e-10), // tiny values: the limbs
    ];
    for (s, values) in series.iter().enumerate() {
        let values: Vec<f64> = values.iter().enumerate().map(|(i, &v)| if i % 5 == 0 { -v } else { v }).collect();
        for period in [1, 2, 7, 64, 65, 500] {
            let got = sums(&values, period);
            let want: Vec<f64> = values.windows(period).map(big_sum).collect();
            assert_eq!(bits(&got), bits(&want), "series {s}, period {period}: rolling vs limbs");
            let each: Vec<f64> = values.windows(period).map(exact_sum).collect();
            assert_eq!(bits(&each), bits(&want), "series {s}, period {period}: one window at a time vs limbs");
        }
    }
}

#[test]
fn the_fixed_point_is_chosen_by_the_range() {
    let scale = |v: &[f64], n| Scale::of(v).and_then(|s| s.width(n));
    assert_eq!(scale(&walk(1000, 3, 50_000.0, 1.0), 20), Some(Width::I64));
    assert_eq!(scale(&walk(1000, 3, 50_000.0, 1.0), 20_000), Some(Width::Pair));
    assert_eq!(scale(&walk(1000, 7, 1.0, 1e14), 7), Some(Width::Pair));
    assert_eq!(scale(&walk(1000, 7, 1.0, 1e14), 64), Some(Width::I128));
    assert_eq!(scale(&[1.0, 1e15], 20), Some(Width::I128));
    assert_eq!(scale(&[1.0, 1e30], 20), None, "more than 127 bits from 1's lowest to 1e30's highest");
    assert_eq!(scale(&[1.0, 1e100], 20), None);
    assert_eq!(scale(&[1.0, f64::NAN], 20), None);
    assert_eq!(scale(&[0.0, -0.0], 20), Some(Width::I64));
}

#[test]
fn windows_with_values_that_are_not_finite() {
    let values = [1.0, 2.0, f64::NAN, 4.0, f64::INFINITY, 5.0, 6.0, 7.0];
    let got = sums(&values, 2);
    let want = [3.0, f64::NAN, f64::NAN, f64::INFINITY, f64::INFINITY, 11.0, 13.0];
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()), "{got:?}");
    }
    assert!(sums(&values[..1], 2).is_empty() && sums(&values, 0).is_empty());
}

/// A long window costs what a short one does: each window is the last one's sum plus
/// the newest value minus the oldest, and still each window's exact sum.
#[test]
fn long_windows_over_long_series() {
    let values = walk(200_000, 17, 30_000.0, 1.0);
    for period in [20, 20_000, 150_000] {
        let got = sums(&values, period);
        assert_eq!(got.len(), values.len() + 1 - period);
        for k in [0, 1, got.len() / 2, got.len() - 1] {
            assert_eq!(got[k].to_bits(), big_sum(&values[k..k + period]).to_bits(), "period {period}, window {k}");
        }
    }
}
