//! From a target (signed fraction of equity) to the order that reaches it.
//!
//! `target units = fraction * equity / price` with `price` the close the decision was
//! made on, rounded toward zero onto the instrument's lot (and to whole units when asked);
//! the order is `target - position`. An order below the instrument's minimum quantity or
//! minimum notional (at that price) is skipped rather than sent: the venue would refuse
//! it. Exact money throughout, so the same inputs always size the same order.

use crate::execution::instrument::Instrument;
use tradpal_messages::{Fixed, Rounding, Side};

/// What to do about a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// The position is already the target: nothing to send.
    AtTarget,
    /// Send this order.
    Order { side: Side, quantity: Fixed },
    /// The difference is below the instrument's minimum quantity or notional.
    BelowMinimum { side: Side, quantity: Fixed },
}

/// `|fraction| * equity / price` units with the fraction's sign, rounded toward zero onto
/// the lot (and onto whole units with `whole_units`); zero when equity is not positive.
pub fn target_units(fraction: f64, equity: Fixed, price: Fixed, inst: &Instrument, whole_units: bool) -> Fixed {
    if !equity.is_positive() || !price.is_positive() || !fraction.is_finite() {
        return Fixed::ZERO;
    }
    let size = Fixed::from_f64_rounded(fraction.abs(), Rounding::Nearest).unwrap_or(Fixed::ZERO);
    let units = size
        .checked_mul(equity, Rounding::Down)
        .and_then(|notional| notional.checked_div(price, Rounding::Down))
        .and_then(|u| u.round_to_step(inst.lot_size, Rounding::Down))
        .unwrap_or(Fixed::ZERO);
    let units = if whole_units { units.round_to_step(Fixed::ONE, Rounding::Down).unwrap_or(Fixed::ZERO) } else { units };
    if fraction < 0.0 {
        Fixed::from_raw(-units.raw())
    } else {
        units
    }
}

/// `fraction * quantity` units (a full target is `quantity`), rounded toward zero onto the
/// lot (and onto whole units with `whole_units`): the fixed size of `--quantity`.
pub fn fixed_units(fraction: f64, quantity: Fixed, inst: &Instrument, whole_units: bool) -> Fixed {
    if !fraction.is_finite() {
        return Fixed::ZERO;
    }
    let size = Fixed::from_f64_rounded(fraction.abs(), Rounding::Nearest).unwrap_or(Fixed::ZERO);
    let units = size
        .checked_mul(quantity, Rounding::Down)
        .and_then(|u| u.round_to_step(if whole_units { Fixed::ONE.max(inst.lot_size) } else { inst.lot_size }, Rounding::Down))
        .unwrap_or(Fixed::ZERO);
    if fraction < 0.0 {
        Fixed::from_raw(-units.raw())
    } else {
        units
    }
}

/// The order taking `position` to `target` units, valued at `price` for the minimums.
pub fn order_for(target: Fixed, position: Fixed, price: Fixed, inst: &Instrument) -> Sizing {
    let delta = target.checked_sub(position).unwrap_or(Fixed::ZERO);
    if delta.is_zero() {
        return Sizing::AtTarget;
    }
    let side = if delta.is_positive() { Side::Buy } else { Side::Sell };
    let quantity = delta.abs();
    let notional = quantity.checked_mul(price, Rounding::Down).unwrap_or(Fixed::ZERO);
    if quantity < inst.min_quantity || notional < inst.min_notional || !quantity.is_multiple_of(inst.lot_size) {
        return Sizing::BelowMinimum { side, quantity };
    }
    Sizing::Order { side, quantity }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::instrument::Instruments;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn sizes_round_toward_zero_onto_the_lot() {
        let btc = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned(); // lot 0.00001
                                                                                     // 10000 / 30000 = 0.333333.. -> 0.33333 long, -0.33333 short, 0.16666 at half.
        assert_eq!(target_units(1.0, f("10000"), f("30000"), &btc, false), f("0.33333"));
        assert_eq!(target_units(-1.0, f("10000"), f("30000"), &btc, false), f("-0.33333"));
        assert_eq!(target_units(0.5, f("10000"), f("30000"), &btc, false), f("0.16666"));
        assert_eq!(target_units(1.0, f("100000"), f("30000"), &btc, true), f("3"));
        assert_eq!(target_units(1.0, f("-5"), f("30000"), &btc, false), Fixed::ZERO);
        assert_eq!(target_units(0.0, f("10000"), f("30000"), &btc, false), Fixed::ZERO);
    }

    #[test]
    fn fixed_quantities_follow_the_fraction_onto_the_lot() {
        let btc = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned(); // lot 0.00001
        assert_eq!(fixed_units(1.0, f("2.5"), &btc, false), f("2.5"));
        assert_eq!(fixed_units(-1.0, f("2.5"), &btc, false), f("-2.5"));
        assert_eq!(fixed_units(0.5, f("0.000015"), &btc, false), Fixed::ZERO, "half of 1.5 lots rounds to zero lots");
        assert_eq!(fixed_units(1.0, f("2.5"), &btc, true), f("2"));
        assert_eq!(fixed_units(0.0, f("2.5"), &btc, false), Fixed::ZERO);
    }

    #[test]
    fn orders_reach_the_target_or_are_skipped_below_minimums() {
        let btc = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned(); // min notional 5
        let p = f("30000");
        assert_eq!(order_for(f("0.3"), f("0.3"), p, &btc), Sizing::AtTarget);
        assert_eq!(order_for(f("-0.3"), f("0.3"), p, &btc), Sizing::Order { side: Side::Sell, quantity: f("0.6") });
        assert_eq!(order_for(f("0.3"), Fixed::ZERO, p, &btc), Sizing::Order { side: Side::Buy, quantity: f("0.3") });
        // 0.0001 * 30000 = 3 < 5.
        assert_eq!(order_for(f("0.3001"), f("0.3"), p, &btc), Sizing::BelowMinimum { side: Side::Buy, quantity: f("0.0001") });
    }
}
