//! Tests of `stress.rs` through the JSON the endpoint receives.

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn run(v: serde_json::Value) -> Result<StressTestResponse, RiskError> {
    stress_test(&serde_json::from_value(v).expect("request parses"))
}

fn book() -> serde_json::Value {
    json!([{"symbol": "BTC/USDT", "quantity": 0.1, "price": 50000},
           {"symbol": "ADA/USDT", "quantity": 4000, "price": 0.5},
           {"symbol": "USDC/USDT", "quantity": 1000, "price": 1}])
}

#[test]
fn historical_scenarios_shock_by_class() {
    let r = run(json!({"portfolio_value": 10000, "positions": book()})).unwrap();
    assert_eq!(r.scenarios.len(), 5);
    let covid = &r.scenarios[0];
    assert_eq!(covid.name, "covid_crash_2020");
    // BTC 5000 * -0.5, ADA 2000 * -0.55, USDC at par.
    assert_eq!(covid.positions[0].pnl, -2500.0);
    assert!((covid.positions[1].pnl + 1100.0).abs() < 1e-9);
    assert_eq!(covid.positions[2].pnl, 0.0);
    assert!((covid.total_pnl + 3600.0).abs() < 1e-9);
    assert!((covid.total_return + 0.36).abs() < 1e-12);
    // Without returns the sensitivity grid has P&L only (-50 % on 7000 risky = -3500), so
    // the COVID scenario (alts -55 %) is the worst case.
    assert!(!r.sensitivity.var_available);
    assert!((r.sensitivity.rows[0].pnl + 3500.0).abs() < 1e-9);
    assert_eq!(r.worst_case.source, WorstCaseSource::Historical);
    assert_eq!(r.worst_case.name, "covid_crash_2020");
    assert!((r.worst_case.pnl_fraction + 0.36).abs() < 1e-12);
}

#[test]
fn custom_scenarios_selection_and_overrides() {
    let r = run(json!({"portfolio_value": 10000, "positions": book(), "scenarios": ["flash_crash"],
        "asset_classes": {"ADA/USDT": "major"},
        "custom_scenarios": [{"name": "usdc_depeg", "shocks": {"USDC/USDT": -0.1}}]}))
    .unwrap();
    assert_eq!(r.scenarios.len(), 2);
    assert_eq!(r.scenarios[0].positions[1].asset_class, AssetClass::Major);
    assert_eq!(r.scenarios[1].kind, ScenarioKind::Custom);
    assert!((r.scenarios[1].total_pnl + 100.0).abs() < 1e-9);
    let e = run(json!({"portfolio_value": 1, "positions": book(), "scenarios": ["dotcom"]})).unwrap_err();
    assert!(e.to_string().contains("unknown scenario \"dotcom\"; known: covid_crash_2020"), "{e}");
    let e = run(json!({"portfolio_value": 1, "positions": book(),
        "custom_scenarios": [{"name": "x", "shocks": {"DOGE/USDT": -0.5}}]}))
    .unwrap_err();
    assert_eq!(e.to_string(), "custom_scenarios[0].shocks[\"DOGE/USDT\"]: names a symbol that is not among the positions");
}

#[test]
fn monte_carlo_and_var_column_with_returns() {
    let btc: Vec<f64> = (0..50).map(|i| 0.02 * (((i * 7) % 9) as f64 - 4.0) / 4.0).collect();
    let ada: Vec<f64> = btc.iter().map(|r| 1.5 * r).collect();
    let r = run(json!({"portfolio_value": 10000, "positions": book(),
        "returns_by_symbol": {"BTC/USDT": btc, "ADA/USDT": ada},
        "monte_carlo": {"paths": 1000, "horizon": 5, "seed": 3}}))
    .unwrap();
    let mc = r.monte_carlo.unwrap();
    assert_eq!(mc.paths, 1000);
    assert!(r.sensitivity.var_available);
    assert!(r.worst_case.pnl <= mc.worst_along_path.worst);
    assert!(r.worst_case.pnl <= r.scenarios.iter().map(|s| s.total_pnl).fold(f64::INFINITY, f64::min));
    let e = run(json!({"portfolio_value": 1, "positions": book(), "monte_carlo": {"paths": 100, "horizon": 1, "seed": 1}}));
    assert_eq!(e.unwrap_err().to_string(), "returns_by_symbol is required when monte_carlo is given");
}

#[test]
fn response_serialises_as_json_tables() {
    let r = run(json!({"portfolio_value": 10000, "positions": book(), "scenarios": ["luna_2022"]})).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["scenarios"][0]["positions"][1]["symbol"], json!("ADA/USDT"));
    assert_eq!(v["scenarios"][0]["positions"][1]["shock"], json!(-0.6));
    assert!(v["worst_case"]["pnl"].is_number());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn never_panics(pv in any::<f64>(), q in any::<f64>(), p in any::<f64>(),
                    r in prop::collection::vec(any::<f64>(), 0..5), paths in 0usize..300, horizon in 0usize..3,
                    moves in proptest::option::of(prop::collection::vec(any::<f64>(), 0..3))) {
        let req = StressTestRequest {
            portfolio_value: pv,
            positions: vec![Position { symbol: "BTC/USDT".into(), quantity: q, price: p }],
            scenarios: None,
            custom_scenarios: vec![CustomScenario {
                name: "c".into(), description: None, default_shock: q, shocks: BTreeMap::new(),
            }],
            asset_classes: BTreeMap::new(),
            returns_by_symbol: Some([("BTC/USDT".to_string(), r)].into()),
            monte_carlo: Some(StressMonteCarlo { paths, horizon, seed: 1, distribution: Default::default() }),
            sensitivity: SensitivitySpec { price_moves: moves, vol_multipliers: None },
            confidence: None,
        };
        if let Ok(r) = stress_test(&req) {
            prop_assert!(r.worst_case.pnl.is_finite());
            prop_assert!(serde_json::to_string(&r).is_ok());
        }
    }
}
