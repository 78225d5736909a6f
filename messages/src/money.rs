//! Exact money: [`Fixed`], a signed decimal with 8 fractional digits stored as an `i128`
//! count of 1e-8 units.
//!
//! Why not `f64`: `0.1 + 0.2 != 0.3`, and a portfolio summed over a million fills drifts.
//! Why not a general decimal crate: every price, quantity, fee and cash amount in a crypto
//! venue has at most 8 decimals (Binance's own limit), so one fixed scale is exact for all
//! of them, costs one integer operation, and compares with `==`. `i128` leaves room for
//! `price * quantity` products without overflow (raw product up to 1.7e38).
//!
//! Every operation that can lose digits takes a [`Rounding`] and says which way; every
//! operation that can overflow returns `Option` (checked) — overflow is an error, never a
//! wrap. Text is the exchange format: `"0.001"`, `"30000"`, `"-12.5"` (trailing zeros
//! trimmed). JSON accepts a string or a number; a number is read through its shortest
//! decimal form, so `0.1` is exactly `0.1`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Fractional decimal digits.
pub const FIXED_DECIMALS: u32 = 8;
/// Raw units per 1.
pub const FIXED_ONE: i128 = 100_000_000;
/// Largest magnitude accepted from the outside (1e18): far above any real price, balance
/// or quantity, and small enough that products of two such values never overflow after
/// rescaling checks.
pub const FIXED_ABS_MAX: i128 = 1_000_000_000_000_000_000 * FIXED_ONE;

/// A signed decimal with exactly 8 fractional digits.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Fixed(pub i128);

/// Which way a result that does not fit in 8 decimals (or on a step) is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Toward negative infinity.
    Down,
    /// Toward positive infinity.
    Up,
    /// To nearest, ties away from zero.
    Nearest,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FixedError {
    #[error("{0:?} is not a decimal number")]
    Syntax(String),
    #[error("{0:?} has more than 8 decimal places")]
    TooPrecise(String),
    #[error("{0} is out of range (|x| <= 1e18)")]
    OutOfRange(String),
    #[error("{0} is not a finite number")]
    NotFinite(f64),
}

impl Fixed {
    pub const ZERO: Fixed = Fixed(0);
    pub const ONE: Fixed = Fixed(FIXED_ONE);

    pub const fn from_raw(raw: i128) -> Self {
        Fixed(raw)
    }

    /// A whole number.
    pub fn from_int(n: i64) -> Self {
        Fixed(n as i128 * FIXED_ONE)
    }

    /// Parses `[-]digits[.digits]` with at most 8 decimals; no exponent, no spaces.
    pub fn parse(text: &str) -> Result<Self, FixedError> {
        let syntax = || FixedError::Syntax(text.chars().take(40).collect());
        let (neg, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return Err(syntax());
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        let frac_trimmed = frac.trim_end_matches('0');
        if frac_trimmed.len() > FIXED_DECIMALS as usize {
            return Err(FixedError::TooPrecise(text.chars().take(40).collect()));
        }
        let int_trimmed = int.trim_start_matches('0');
        if int_trimmed.len() > 19 {
            return Err(FixedError::OutOfRange(text.chars().take(40).collect()));
        }
        let mut raw: i128 = if int_trimmed.is_empty() { 0 } else { int_trimmed.parse::<i128>().map_err(|_| syntax())? };
        raw *= FIXED_ONE;
        let mut scale = FIXED_ONE / 10;
        for b in frac_trimmed.bytes() {
            raw += (b - b'0') as i128 * scale;
            scale /= 10;
        }
        if raw > FIXED_ABS_MAX {
            return Err(FixedError::OutOfRange(text.chars().take(40).collect()));
        }
        Ok(Fixed(if neg { -raw } else { raw }))
    }

    /// The decimal the user most likely meant by `x`: its shortest round-trip text
    /// (`0.1` -> `0.1`), then [`Fixed::parse`]. Refuses NaN, infinities, more than 8
    /// decimals and |x| > 1e18.
    pub fn from_f64(x: f64) -> Result<Self, FixedError> {
        if !x.is_finite() {
            return Err(FixedError::NotFinite(x));
        }
        if x.abs() > 1e18 {
            return Err(FixedError::OutOfRange(x.to_string()));
        }
        // `{}` on f64 prints the shortest text that reads back as the same f64, never
        // with an exponent.
        Self::parse(&format!("{x}"))
    }

    /// `x` rounded to 8 decimals (for computed, not user-given, values such as a
    /// slippage-adjusted price). Refuses NaN, infinities and |x| > 1e18.
    ///
    /// Inlined, with the rare cases out of line: a backtest converts a close every bar,
    /// and as a call returning a `Result` (whose error holds a `String`) it cost about
    /// as much as the conversion.
    #[inline]
    pub fn from_f64_rounded(x: f64, rounding: Rounding) -> Result<Self, FixedError> {
        let scaled = x * FIXED_ONE as f64;
        // Within i64, rounded in integers: the same value as `floor` / `ceil` / `round`
        // (library calls on the baseline target). `t` is `scaled` toward zero;
        // `frac = scaled - t` is exact (below 2^53 both are within a factor of two, or
        // `t` is 0; above, `scaled` is whole and `frac` 0). False for NaN and infinities,
        // and |x| < 9e10 here, so the checks of the wide path would pass.
        if scaled.abs() < 9.0e18 {
            let t = scaled as i64;
            let frac = scaled - t as f64;
            let r = match rounding {
                Rounding::Down => t - i64::from(frac < 0.0),
                Rounding::Up => t + i64::from(frac > 0.0),
                Rounding::Nearest => t + i64::from(frac >= 0.5) - i64::from(frac <= -0.5),
            };
            return Ok(Fixed(i128::from(r)));
        }
        Self::from_f64_rounded_wide(x, rounding)
    }

    /// [`Self::from_f64_rounded`] outside i64: the refusals, then rounding in `f64`.
    #[cold]
    #[inline(never)]
    fn from_f64_rounded_wide(x: f64, rounding: Rounding) -> Result<Self, FixedError> {
        if !x.is_finite() {
            return Err(FixedError::NotFinite(x));
        }
        if x.abs() > 1e18 {
            return Err(FixedError::OutOfRange(x.to_string()));
        }
        let scaled = x * FIXED_ONE as f64;
        let r = match rounding {
            Rounding::Down => scaled.floor(),
            Rounding::Up => scaled.ceil(),
            Rounding::Nearest => scaled.round(),
        };
        Ok(Fixed(r as i128))
    }

    pub fn to_f64(self) -> f64 {
        // Exact integers (|raw| < 2^53) take one correctly rounded division, so 1.1139
        // prints as 1.1139 (int + frac would give 1.1139000000000001).
        if self.0.unsigned_abs() < (1u128 << 53) {
            // Through i64: the same exact integer, without the software 128-bit
            // conversion (the backtest converts equity once a bar).
            return self.0 as i64 as f64 / FIXED_ONE as f64;
        }
        let int = (self.0 / FIXED_ONE) as f64;
        let frac = (self.0 % FIXED_ONE) as f64 / FIXED_ONE as f64;
        int + frac
    }

    pub const fn raw(self) -> i128 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn abs(self) -> Self {
        Fixed(self.0.abs())
    }

    pub fn checked_add(self, o: Self) -> Option<Self> {
        self.0.checked_add(o.0).map(Fixed)
    }

    pub fn checked_sub(self, o: Self) -> Option<Self> {
        self.0.checked_sub(o.0).map(Fixed)
    }

    pub fn checked_neg(self) -> Option<Self> {
        self.0.checked_neg().map(Fixed)
    }

    /// `self * o`, rounded to 8 decimals as asked. Inlined across crates: a backtest
    /// values its position this way every bar.
    #[inline]
    pub fn checked_mul(self, o: Self, rounding: Rounding) -> Option<Self> {
        // Operands within i64 (every price and quantity in practice) multiply in one
        // widening multiply that cannot overflow, instead of a checked 128-bit one.
        let p = match (i64::try_from(self.0), i64::try_from(o.0)) {
            (Ok(a), Ok(b)) => i128::from(a) * i128::from(b),
            _ => self.0.checked_mul(o.0)?,
        };
        Some(Fixed(div_round(p, FIXED_ONE, rounding)?))
    }

    /// `self / o`, rounded to 8 decimals as asked; `None` when `o` is zero.
    pub fn checked_div(self, o: Self, rounding: Rounding) -> Option<Self> {
        if o.0 == 0 {
            return None;
        }
        let n = self.0.checked_mul(FIXED_ONE)?;
        Some(Fixed(div_round(n, o.0, rounding)?))
    }

    /// Rounds onto a multiple of `step` (a tick or lot size). `step` must be positive.
    pub fn round_to_step(self, step: Self, rounding: Rounding) -> Option<Self> {
        if step.0 <= 0 {
            return None;
        }
        Some(Fixed(div_round(self.0, step.0, rounding)?.checked_mul(step.0)?))
    }

    /// True when `self` is a whole multiple of `step`.
    pub fn is_multiple_of(self, step: Self) -> bool {
        step.0 > 0 && div_rem(self.0, step.0).is_some_and(|(_, r)| r == 0)
    }

    pub fn min(self, o: Self) -> Self {
        if o < self {
            o
        } else {
            self
        }
    }

    pub fn max(self, o: Self) -> Self {
        if o > self {
            o
        } else {
            self
        }
    }
}

/// `n / d` rounded as asked (d != 0).
/// Quotient (toward zero) and remainder; `None` for a zero divisor or `i128::MIN / -1`.
/// Values that fit in 64 bits take one hardware division (most prices, quantities and
/// their quotients do) instead of two 128-bit library calls; the results are the same.
#[inline]
fn div_rem(n: i128, d: i128) -> Option<(i128, i128)> {
    if d == FIXED_ONE {
        if let Some(qr) = div_rem_one(n) {
            return Some(qr);
        }
    }
    if let (Ok(n), Ok(d)) = (i64::try_from(n), i64::try_from(d)) {
        if let (Some(q), Some(r)) = (n.checked_div(d), n.checked_rem(d)) {
            return Some((q as i128, r as i128));
        }
    }
    let q = n.checked_div(d)?;
    Some((q, n - q * d)) // |q * d| <= |n|: no overflow
}

/// `n / FIXED_ONE` and `n % FIXED_ONE` (truncating, like `/` and `%`) through one 64-bit
/// division when `|n| < 2^72`; `None` above. Why: a product of a price and a quantity
/// (every mark, every fill) is over 2^64 but far under 2^72, and a 128-bit division is a
/// software routine. 10^8 = 2^8 * 5^8 and `floor(floor(m / 2^8) / 5^8) = floor(m / 10^8)`,
/// so the shifted magnitude fits in 64 bits and divides by the constant 5^8 (a multiply).
#[inline]
fn div_rem_one(n: i128) -> Option<(i128, i128)> {
    const FIVE_POW_8: u64 = 390_625;
    let m = n.unsigned_abs();
    if m >> 72 != 0 {
        return None;
    }
    let q = u128::from(((m >> 8) as u64) / FIVE_POW_8);
    let r = m - q * FIXED_ONE as u128;
    let (q, r) = (q as i128, r as i128);
    Some(if n < 0 { (-q, -r) } else { (q, r) })
}

#[inline]
fn div_round(n: i128, d: i128, rounding: Rounding) -> Option<i128> {
    let (q, r) = div_rem(n, d)?;
    if r == 0 {
        return Some(q);
    }
    let negative = (n < 0) != (d < 0);
    Some(match rounding {
        // Rust's `/` truncates toward zero.
        Rounding::Down => {
            if negative {
                q - 1
            } else {
                q
            }
        }
        Rounding::Up => {
            if negative {
                q
            } else {
                q + 1
            }
        }
        Rounding::Nearest => {
            let twice = r.unsigned_abs().checked_mul(2)?;
            if twice >= d.unsigned_abs() {
                if negative {
                    q - 1
                } else {
                    q + 1
                }
            } else {
                q
            }
        }
    })
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let int = a / FIXED_ONE as u128;
        let frac = a % FIXED_ONE as u128;
        if frac == 0 {
            write!(f, "{sign}{int}")
        } else {
            let digits = format!("{frac:08}");
            write!(f, "{sign}{int}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl fmt::Debug for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl std::str::FromStr for Fixed {
    type Err = FixedError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Fixed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fixed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Fixed;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal number (string or number) with at most 8 decimals")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Fixed, E> {
                Fixed::parse(v).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Fixed, E> {
                Fixed::from_f64(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Fixed, E> {
                Fixed::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Fixed, E> {
                Fixed::parse(&v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn parse_and_print_are_exact() {
        for (text, shown) in
            [("0.1", "0.1"), ("30000", "30000"), ("-12.50", "-12.5"), ("0.00000001", "0.00000001"), (".5", "0.5"), ("7.", "7"), ("+3", "3")]
        {
            assert_eq!(f(text).to_string(), shown);
        }
        assert_eq!(f("0.1").checked_add(f("0.2")).unwrap(), f("0.3"));
        for bad in ["", ".", "-", "1e5", "1.2.3", " 1", "0x10", "1,5", "NaN"] {
            assert!(matches!(Fixed::parse(bad), Err(FixedError::Syntax(_))), "{bad}");
        }
        assert!(matches!(Fixed::parse("0.000000001"), Err(FixedError::TooPrecise(_))));
        assert!(matches!(Fixed::parse("10000000000000000000"), Err(FixedError::OutOfRange(_))));
        assert_eq!(Fixed::from_f64(0.1).unwrap(), f("0.1"));
        assert_eq!(Fixed::from_f64(29_999.99).unwrap(), f("29999.99"));
        assert!(Fixed::from_f64(f64::NAN).is_err() && Fixed::from_f64(1e-9).is_err());
    }

    #[test]
    fn rounding_is_as_asked() {
        let third = Fixed::ONE.checked_div(Fixed::from_int(3), Rounding::Down).unwrap();
        assert_eq!(third, f("0.33333333"));
        assert_eq!(Fixed::ONE.checked_div(Fixed::from_int(3), Rounding::Up).unwrap(), f("0.33333334"));
        assert_eq!(f("-1").checked_div(Fixed::from_int(3), Rounding::Down).unwrap(), f("-0.33333334"));
        assert_eq!(f("2").checked_div(f("3"), Rounding::Nearest).unwrap(), f("0.66666667"));
        assert_eq!(f("30000.123").round_to_step(f("0.01"), Rounding::Down).unwrap(), f("30000.12"));
        assert_eq!(f("30000.123").round_to_step(f("0.01"), Rounding::Up).unwrap(), f("30000.13"));
        assert_eq!(f("-0.015").round_to_step(f("0.01"), Rounding::Nearest).unwrap(), f("-0.02"));
        assert_eq!(f("0.5").checked_mul(f("30000.01"), Rounding::Down).unwrap(), f("15000.005"));
        assert!(Fixed::ONE.checked_div(Fixed::ZERO, Rounding::Down).is_none());
        assert!(f("1").round_to_step(Fixed::ZERO, Rounding::Down).is_none());
    }

    #[test]
    fn json_takes_strings_and_numbers_and_writes_strings() {
        let v: Vec<Fixed> = serde_json::from_str(r#"["0.1", 0.1, 3, -2.5]"#).unwrap();
        assert_eq!(v, vec![f("0.1"), f("0.1"), f("3"), f("-2.5")]);
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"["0.1","0.1","3","-2.5"]"#);
        for bad in ["\"abc\"", "true", "null", "1e-9"] {
            assert!(serde_json::from_str::<Fixed>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn f64_rounding_sweeps_halves() {
        let define = |x: f64, r: Rounding| {
            let scaled = x * FIXED_ONE as f64;
            Fixed(match r {
                Rounding::Down => scaled.floor(),
                Rounding::Up => scaled.ceil(),
                Rounding::Nearest => scaled.round(),
            } as i128)
        };
        let edges = [0.0, -0.0, 0.5e-8, -0.5e-8, 1.5e-8, -2.5e-8, 9.0e10, 9.2e10, -9.2e10, 1e18, -1e18, 2f64.powi(53) / 1e8];
        let halves = (-20_000..20_000).map(|i| (f64::from(i) + 0.5) / FIXED_ONE as f64);
        for x in edges.into_iter().chain(halves) {
            for r in [Rounding::Down, Rounding::Up, Rounding::Nearest] {
                assert_eq!(Fixed::from_f64_rounded(x, r).unwrap(), define(x, r), "{x} {r:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn text_round_trips(raw in -FIXED_ABS_MAX..=FIXED_ABS_MAX) {
            let x = Fixed(raw);
            prop_assert_eq!(Fixed::parse(&x.to_string()).unwrap(), x);
        }

        #[test]
        fn down_le_exact_le_up(a in -(1i128 << 80)..(1i128 << 80), b in 1i128..(1i128 << 40)) {
            let (x, y) = (Fixed(a), Fixed(b));
            let lo = x.checked_div(y, Rounding::Down).unwrap();
            let hi = x.checked_div(y, Rounding::Up).unwrap();
            prop_assert!(lo <= hi && hi.0 - lo.0 <= 1);
            let n = x.checked_div(y, Rounding::Nearest).unwrap();
            prop_assert!(n == lo || n == hi);
            let s = x.round_to_step(y, Rounding::Down).unwrap();
            prop_assert!(s <= x && s.is_multiple_of(y) && x.0 - s.0 < y.0);
        }

        #[test]
        fn multiple_of_is_the_128_bit_remainder(
            a in prop_oneof![any::<i128>(), any::<i64>().prop_map(i128::from), (-1000i128..1000).prop_map(|k| k * 1_000_000)],
            b in prop_oneof![any::<i128>(), any::<i64>().prop_map(i128::from), Just(FIXED_ONE), 1i128..10_000_000],
        ) {
            let expected = b > 0 && a % b == 0;
            prop_assert_eq!(Fixed(a).is_multiple_of(Fixed(b)), expected);
        }

        #[test]
        fn f64_conversion_is_the_128_bit_one(x in -1e18f64..1e18, k in 0usize..3) {
            let rounding = [Rounding::Down, Rounding::Up, Rounding::Nearest][k];
            let scaled = x * FIXED_ONE as f64;
            let r = match rounding {
                Rounding::Down => scaled.floor(),
                Rounding::Up => scaled.ceil(),
                Rounding::Nearest => scaled.round(),
            };
            prop_assert_eq!(Fixed::from_f64_rounded(x, rounding).unwrap(), Fixed(r as i128));
            let small = x / 1e9; // prices and quantities: the i64 path
            let r = (small * FIXED_ONE as f64).round();
            prop_assert_eq!(Fixed::from_f64_rounded(small, Rounding::Nearest).unwrap(), Fixed(r as i128));
        }

        #[test]
        fn f64_rounding_at_halves_and_edges(k in -(1i64 << 53)..(1i64 << 53), e in 0u32..12, m in 0usize..7) {
            // Halves, near-halves and whole values of every size, both signs.
            let base = k as f64 / 10f64.powi(e as i32);
            let x = [base, base + 0.5e-8, base - 0.5e-8, -base, base * 1e-8, (k as f64 + 0.5) * 1e-8, f64::from_bits(base.to_bits() + 1)][m];
            for rounding in [Rounding::Down, Rounding::Up, Rounding::Nearest] {
                let scaled = x * FIXED_ONE as f64;
                let want = match rounding {
                    Rounding::Down => scaled.floor(),
                    Rounding::Up => scaled.ceil(),
                    Rounding::Nearest => scaled.round(),
                };
                if x.abs() <= 1e18 {
                    prop_assert_eq!(Fixed::from_f64_rounded(x, rounding).unwrap(), Fixed(want as i128), "{} {:?}", x, rounding);
                }
            }
        }

        #[test]
        fn division_by_one_is_the_128_bit_one(n in any::<i128>(), small in -(1i128 << 73)..(1i128 << 73)) {
            for n in [n, small, n >> 50] {
                let want = n.checked_div(FIXED_ONE).map(|q| (q, n - q * FIXED_ONE));
                prop_assert_eq!(div_rem_one(n).or(want), want);
            }
        }

        #[test]
        fn products_round_as_defined(a in any::<i64>(), b in any::<i64>(), k in 0usize..3) {
            let rounding = [Rounding::Down, Rounding::Up, Rounding::Nearest][k];
            let p = i128::from(a) * i128::from(b);
            let (floor, ceil) = (p.div_euclid(FIXED_ONE), -(-p).div_euclid(FIXED_ONE));
            let (toward, away) = if p < 0 { (ceil, floor) } else { (floor, ceil) };
            let want = match rounding {
                Rounding::Down => floor,
                Rounding::Up => ceil,
                Rounding::Nearest => if 2 * (p % FIXED_ONE).abs() >= FIXED_ONE { away } else { toward },
            };
            prop_assert_eq!(Fixed(a.into()).checked_mul(Fixed(b.into()), rounding), Some(Fixed(want)));
            let big = i128::from(a) << 40; // beyond i64: the checked 128-bit path
            prop_assert_eq!(Fixed(big).checked_mul(Fixed(b.into()), rounding).is_some(), big.checked_mul(b.into()).is_some());
        }

        #[test]
        fn f64_of_small_raw_values_is_exact_division(a in -(1i64 << 53) + 1..(1i64 << 53)) {
            prop_assert_eq!(Fixed(a.into()).to_f64().to_bits(), (a as f64 / FIXED_ONE as f64).to_bits());
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,40}") {
            let _ = Fixed::parse(&s);
        }
    }
}
