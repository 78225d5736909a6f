//! Tests of `sizing.rs` and `allocation.rs` through the JSON the endpoint receives.

use super::*;
use crate::risk::mean_variance::Objective;
use proptest::prelude::*;
use serde_json::json;

fn size(v: serde_json::Value) -> Result<PositionSizeResponse, RiskError> {
    let req: PositionSizeRequest = serde_json::from_value(v).expect("request parses");
    calculate_position_size(&req)
}

#[test]
fn spec_example_answers_point_two_and_two_hundred() {
    let r = size(json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0.02, "current_price": 50000})).unwrap();
    assert_eq!(r.method, MethodName::FixedFractional);
    assert_eq!(r.quantity, Some(0.2));
    assert_eq!(r.risk_amount, Some(200.0));
    assert_eq!(r.notional, 10000.0);
    assert_eq!(r.fraction_of_portfolio, 1.0);
    // 100 % of equity is over the default 5 % cap: reported, not silently applied.
    assert!(r.capped);
    assert_eq!(r.max_position_size, 0.05);
    // Exactly, not 0.010000000000000002: answers are at the service's 8-decimal precision.
    assert_eq!((r.capped_quantity, r.capped_notional, r.capped_risk_amount), (Some(0.01), 500.0, Some(10.0)));
    let v = serde_json::to_string(&r).unwrap();
    assert!(v.contains("\"capped_quantity\":0.01,") && !v.contains("0000000000"), "{v}");
    assert!(r.cap_reason.unwrap().contains("exceeds max_position_size 0.05"));
}

#[test]
fn spec_example_serialises_with_spec_field_names() {
    let r = size(json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0.02, "current_price": 50000})).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["quantity"], json!(0.2));
    assert_eq!(v["risk_amount"], json!(200.0));
    assert_eq!(v["detail"]["fixed_fractional"]["stop_loss"], json!(0.02));
}

#[test]
fn within_cap_is_not_capped() {
    let r = size(json!({"portfolio_value": 10000, "risk_per_trade": 0.01, "stop_loss": 0.5, "max_position_size": 0.05})).unwrap();
    assert_eq!(r.quantity, None);
    assert!((r.notional - 200.0).abs() < 1e-9);
    assert!(!r.capped);
    assert_eq!(r.cap_reason, None);
    assert_eq!(r.capped_notional, r.notional);
}

#[test]
fn bad_inputs_are_named() {
    let e = size(json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0})).unwrap_err();
    assert_eq!(e.to_string(), "stop_loss must be in (0, 1), got 0");
    let e = size(json!({"portfolio_value": -1, "risk_per_trade": 0.02, "stop_loss": 0.1})).unwrap_err();
    assert_eq!(e.to_string(), "portfolio_value must be in [1e-8, 1e15], got -1");
    let unknown = json!({"portfolio_value": 1, "risk_per_trade": 0.02, "stop_loss": 0.1, "stoploss": 1});
    assert!(serde_json::from_value::<PositionSizeRequest>(unknown).unwrap_err().to_string().contains("stoploss"));
    let foreign = json!({"portfolio_value": 1, "method": "kelly", "win_probability": 0.6, "win_loss_ratio": 1,
        "stop_loss": 0.1, "risk_per_trade": 0.1});
    assert!(serde_json::from_value::<PositionSizeRequest>(foreign).is_err());
    let bad_method = json!({"portfolio_value": 1, "method": "martingale"});
    assert!(serde_json::from_value::<PositionSizeRequest>(bad_method).unwrap_err().to_string().contains("martingale"));
}

#[test]
fn kelly_sizes_half_of_full_kelly() {
    let r = size(json!({"method": "kelly", "portfolio_value": 10000, "win_probability": 0.6, "win_loss_ratio": 1.0,
        "max_position_size": 1}))
    .unwrap();
    // f* = 0.6 - 0.4 / 1 = 0.2, half-Kelly 0.1.
    assert!((r.fraction_of_portfolio - 0.1).abs() < 1e-12);
    assert!((r.risk_amount.unwrap() - 1000.0).abs() < 1e-9);
    let with_stop = size(json!({"method": "kelly", "portfolio_value": 10000, "win_probability": 0.6,
        "win_loss_ratio": 1.0, "kelly_fraction": 1.0, "stop_loss": 0.05, "current_price": 100}))
    .unwrap();
    assert!((with_stop.notional - 40000.0).abs() < 1e-6);
    assert!((with_stop.quantity.unwrap() - 400.0).abs() < 1e-9);
    assert!(with_stop.capped);
}

#[test]
fn kelly_refuses_a_negative_edge() {
    let e = size(json!({"method": "kelly", "portfolio_value": 10000, "win_probability": 0.4, "win_loss_ratio": 1.0})).unwrap_err();
    assert_eq!(e.code(), "no_edge");
    assert!(e.to_string().starts_with("Kelly edge f* = p - (1 - p) / b = -0.1999"), "{e}");
    assert!(kelly_edge(0.5, 1.0).is_err()); // exactly zero edge: no bet
}

#[test]
fn volatility_target_scales_by_realised_volatility() {
    // Log returns alternate +a, -a: sample std = a * sqrt(n / (n - 1)) for n returns.
    let a: f64 = 0.01;
    let prices: Vec<f64> = (0..=100).map(|i| 100.0 * (a * (i % 2) as f64).exp()).collect();
    let realised = a * (100.0f64 / 99.0).sqrt() * 365f64.sqrt();
    let r = size(json!({"method": "volatility_target", "portfolio_value": 10000, "target_volatility": 0.1,
        "close_prices": prices, "periods_per_year": 365, "max_position_size": 10}))
    .unwrap();
    assert!((r.fraction_of_portfolio - 0.1 / realised).abs() < 1e-9);
    let flat = size(json!({"method": "volatility_target", "portfolio_value": 1, "target_volatility": 0.1,
        "close_prices": [5, 5, 5], "periods_per_year": 365}))
    .unwrap_err();
    assert_eq!(flat.code(), "undefined");
}

#[test]
fn risk_parity_allocates_and_caps_per_symbol() {
    let r = size(json!({"method": "risk_parity", "portfolio_value": 10000, "symbols": ["BTC/USDT", "ETH/USDT"],
        "covariance": [[0.04, 0.0], [0.0, 0.01]], "prices": [50000, 2500], "max_position_size": 0.5}))
    .unwrap();
    assert_eq!(r.allocations.len(), 2);
    assert!((r.allocations[0].weight - 1.0 / 3.0).abs() < 1e-12);
    assert!((r.allocations[1].quantity.unwrap() - 10000.0 * 2.0 / 3.0 / 2500.0).abs() < 1e-9);
    assert!(r.allocations[1].capped && !r.allocations[0].capped);
    assert!((r.capped_notional - (10000.0 / 3.0 + 5000.0)).abs() < 1e-6);
    let e = size(json!({"method": "risk_parity", "portfolio_value": 1, "symbols": ["A"], "covariance": [[1]],
        "current_price": 5}))
    .unwrap_err();
    assert!(e.to_string().contains("give their prices as `prices`"), "{e}");
}

#[test]
fn mean_variance_from_returns() {
    let a = [0.01, -0.02, 0.015, 0.003, -0.007, 0.02, -0.01];
    let b = [0.002, 0.001, -0.001, 0.003, 0.0, 0.001, 0.002];
    let req = json!({"method": "mean_variance", "objective": "max_sharpe", "portfolio_value": 10000,
        "symbols": ["A", "B"], "returns_by_symbol": {"A": a, "B": b}, "periods_per_year": 365, "risk_free_rate": 0.0});
    let r = size(req).unwrap();
    let w: f64 = r.allocations.iter().map(|x| x.weight).sum();
    assert!((w - 1.0).abs() < 1e-12);
    match r.detail {
        SizingDetail::MeanVariance { sharpe_ratio, .. } => assert!(sharpe_ratio.unwrap() > 0.0),
        other => panic!("{other:?}"),
    }
    let e = size(json!({"method": "mean_variance", "objective": "max_sharpe", "portfolio_value": 1, "symbols": ["A"],
        "covariance": [[0.01]]}))
    .unwrap_err();
    assert_eq!(e.code(), "missing_input");
}

#[test]
fn requests_round_trip_through_json() {
    let req: PositionSizeRequest = serde_json::from_value(json!({"method": "kelly", "portfolio_value": 5,
        "win_probability": 0.55, "win_loss_ratio": 2}))
    .unwrap();
    let back: PositionSizeRequest = serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
    assert_eq!(req, back);
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(1e-300),
        -2.0f64..2.0,
        any::<f64>(),
    ]
}

proptest! {
    /// No input makes sizing panic; every answer is finite.
    #[test]
    fn never_panics(pv in any_f64(), price in proptest::option::of(any_f64()), cap in proptest::option::of(any_f64()),
                    a in any_f64(), b in any_f64(), c in proptest::option::of(any_f64()),
                    prices in prop::collection::vec(any_f64(), 0..6), cov in prop::collection::vec(any_f64(), 4),
                    which in 0usize..6) {
        let method = match which {
            0 => SizingMethod::FixedFractional(FixedFractional { risk_per_trade: a, stop_loss: b }),
            1 => SizingMethod::Kelly(Kelly { win_probability: a, win_loss_ratio: b, kelly_fraction: c, stop_loss: c }),
            2 => SizingMethod::VolatilityTarget(VolatilityTarget {
                target_volatility: a, close_prices: prices.clone(), periods_per_year: b,
            }),
            3 => SizingMethod::RiskParity(RiskParitySizing { symbols: vec!["A".into(), "B".into()],
                covariance: Some(vec![cov[..2].to_vec(), cov[2..].to_vec()]), returns_by_symbol: None,
                prices: Some(prices.clone()), budget: c, iterations_max: None }),
            4 => SizingMethod::MeanVariance(MeanVarianceSizing { objective: Objective::MaxSharpe,
                symbols: vec!["A".into(), "B".into()], covariance: Some(vec![cov[..2].to_vec(), cov[2..].to_vec()]),
                returns_by_symbol: None, expected_returns: Some(vec![a, b]), risk_free_rate: c, periods_per_year: c,
                prices: None, budget: None, iterations_max: Some(50) }),
            _ => SizingMethod::MeanVariance(MeanVarianceSizing { objective: Objective::MinVariance,
                symbols: vec!["A".into(), "B".into()], covariance: None,
                returns_by_symbol: Some(
                    [("A".to_string(), prices.clone()), ("B".to_string(), prices.iter().rev().copied().collect())]
                        .into(),
                ),
                expected_returns: None, risk_free_rate: None, periods_per_year: None, prices: None, budget: None,
                iterations_max: None }),
        };
        let req = PositionSizeRequest { portfolio_value: pv, current_price: price, max_position_size: cap, method };
        if let Ok(r) = calculate_position_size(&req) {
            prop_assert!(r.notional.is_finite() && r.capped_notional.is_finite());
            prop_assert!(r.fraction_of_portfolio.is_finite());
            if r.allocations.is_empty() {
                prop_assert!(r.capped_fraction <= r.max_position_size);
            }
            // The cap is per position: each allocation is cut to it, their sum may exceed it.
            prop_assert!(r.allocations.iter().all(|a| a.capped_fraction <= r.max_position_size));
            prop_assert!(r.allocations.iter().all(|a| a.notional.is_finite()));
            prop_assert!(r.quantity.is_none_or(f64::is_finite));
            prop_assert!(serde_json::to_string(&r).is_ok());
        }
    }
}
