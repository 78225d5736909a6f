//! Never-panic property tests at the JSON boundary: random objects built from each
//! request's own field names and arbitrary JSON values (numbers of every magnitude,
//! strings, nulls, nested arrays and maps) are parsed and, when they parse, run. Nothing
//! may panic, and every answer must serialise.

use super::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (-3.0f64..3.0).prop_map(Value::from),
        (0.0f64..1.0).prop_map(Value::from),
        (-2i64..300).prop_map(Value::from),
        prop_oneof![Just("BTC/USDT"), Just("ETH/USDT"), Just("A"), Just(""), Just("kelly"), Just("max_sharpe")].prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((-0.5f64..0.5).prop_map(Value::from), 2..8).prop_map(Value::Array),
            prop::collection::btree_map(prop_oneof![Just("BTC/USDT".to_string()), Just("A".to_string())], inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(keys), value()), 0..keys.len() + 1).prop_map(|kv| {
        let mut m = Map::new();
        for (k, v) in kv {
            m.insert(k.to_string(), v);
        }
        Value::Object(m)
    })
}

const SIZING_KEYS: &[&str] = &[
    "portfolio_value",
    "current_price",
    "max_position_size",
    "method",
    "risk_per_trade",
    "stop_loss",
    "win_probability",
    "win_loss_ratio",
    "kelly_fraction",
    "target_volatility",
    "close_prices",
    "periods_per_year",
    "symbols",
    "covariance",
    "returns_by_symbol",
    "prices",
    "budget",
    "iterations_max",
    "objective",
    "expected_returns",
    "risk_free_rate",
];
const PORTFOLIO_KEYS: &[&str] = &[
    "confidence",
    "portfolio_value",
    "returns",
    "returns_by_symbol",
    "weights",
    "positions",
    "equity_curve",
    "periods_per_year",
    "monte_carlo",
];
const LIMIT_KEYS: &[&str] = &[
    "portfolio_value",
    "daily_loss",
    "max_daily_loss",
    "equity_peak",
    "max_drawdown",
    "positions",
    "max_position_size",
    "max_open_positions",
    "returns_by_symbol",
    "max_correlation",
];
const STRESS_KEYS: &[&str] = &[
    "portfolio_value",
    "positions",
    "scenarios",
    "custom_scenarios",
    "asset_classes",
    "returns_by_symbol",
    "monte_carlo",
    "sensitivity",
    "confidence",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sizing_json_never_panics(v in object(SIZING_KEYS)) {
        if let Ok(req) = serde_json::from_value::<PositionSizeRequest>(v) {
            if let Ok(r) = calculate_position_size(&req) {
                prop_assert!(serde_json::to_string(&r).is_ok());
            }
        }
    }

    #[test]
    fn portfolio_json_never_panics(v in object(PORTFOLIO_KEYS)) {
        if let Ok(req) = serde_json::from_value::<PortfolioRiskRequest>(v) {
            if let Ok(r) = assess_portfolio(&req) {
                prop_assert!(serde_json::to_string(&r).is_ok());
            }
        }
    }

    #[test]
    fn limits_json_never_panics(v in object(LIMIT_KEYS)) {
        if let Ok(req) = serde_json::from_value::<CheckLimitsRequest>(v) {
            if let Ok(r) = check_limits(&req) {
                prop_assert_eq!(r.within_limits, r.breaches.is_empty());
            }
        }
    }

    #[test]
    fn stress_json_never_panics(v in object(STRESS_KEYS)) {
        if let Ok(req) = serde_json::from_value::<StressTestRequest>(v) {
            if let Ok(r) = stress_test(&req) {
                prop_assert!(serde_json::to_string(&r).is_ok());
            }
        }
    }

    #[test]
    fn pre_trade_json_never_panics(o in object(&["symbol", "side", "quantity", "price"]),
                                   p in object(&["equity", "positions", "equity_peak", "day_start_equity"]),
                                   l in object(&["max_position_size", "max_drawdown", "max_daily_loss",
                                                  "max_open_positions"])) {
        let parsed = (
            serde_json::from_value::<ProposedOrder>(o),
            serde_json::from_value::<PortfolioSnapshot>(p),
            serde_json::from_value::<Limits>(l),
        );
        if let (Ok(o), Ok(p), Ok(l)) = parsed {
            let _ = pre_trade_check(&o, &p, &l);
        }
    }
}

/// The random objects above rarely parse into a complete request; these do, with every
/// number drawn from the full f64 range (NaN and infinities included).
mod typed {
    use super::*;

    proptest! {
        #[test]
        fn portfolio_never_panics(c in any::<f64>(), pv in any::<f64>(), r in prop::collection::vec(any::<f64>(), 0..6),
                                  w in any::<f64>(), q in any::<f64>(), paths in 0usize..400,
                                  eq in prop::collection::vec(any::<f64>(), 0..4)) {
            let reversed: Vec<f64> = r.iter().rev().copied().collect();
            let req = PortfolioRiskRequest {
                confidence: Some(c),
                portfolio_value: Some(pv),
                returns: None,
                returns_by_symbol: Some([("A".to_string(), r.clone()), ("B".to_string(), reversed)].into()),
                weights: Some([("A".to_string(), w)].into()),
                positions: Some(vec![Position { symbol: "A".into(), quantity: q, price: pv }]),
                equity_curve: Some(eq),
                periods_per_year: Some(w),
                monte_carlo: Some(MonteCarloSpec { paths, seed: 5 }),
            };
            if let Ok(r) = assess_portfolio(&req) {
                prop_assert!(serde_json::to_string(&r).is_ok());
            }
            let direct = PortfolioRiskRequest { returns: Some(r), ..PortfolioRiskRequest::default() };
            let _ = assess_portfolio(&direct);
        }
    }
}
