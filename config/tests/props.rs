//! Property tests: MAX_DRAWDOWN accepts exactly the finite numbers in (0, 1], and every
//! accepted value comes back unchanged.

mod common;

use common::*;
use proptest::prelude::*;

fn rejected(text: &str) -> bool {
    match load_env(&[("MAX_DRAWDOWN", text)]) {
        Ok(_) => false,
        Err(err) => {
            let (source, value, expected) = only_invalid(&err);
            source == "MAX_DRAWDOWN" && value == text && expected == "a number in (0, 1]"
        }
    }
}

proptest! {
    #[test]
    fn out_of_range_values_are_rejected(v in prop_oneof![
        any::<f64>().prop_filter("outside (0, 1]", |v| !(*v > 0.0 && *v <= 1.0)),
        Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(0.0), Just(-0.0),
        Just(1.0 + f64::EPSILON),
    ]) {
        prop_assert!(rejected(&v.to_string()), "{v}");
        prop_assert!(rejected(&format!("{v:e}")), "{v:e}");
    }

    #[test]
    fn valid_values_round_trip(v in prop_oneof![
        (0.0..=1.0f64).prop_filter("positive", |v| *v > 0.0),
        // Uniform over the bit patterns of (0, 1]: mostly tiny values, subnormals included,
        // which print with many digits and are the hard case for a round trip.
        (1u64..=1f64.to_bits()).prop_map(f64::from_bits),
        Just(1.0), Just(5e-324), Just(0.1), Just(1.0 - f64::EPSILON / 2.0),
    ]) {
        for text in [v.to_string(), format!("{v:e}"), format!(" {v} ")] {
            let s = load_env(&[("MAX_DRAWDOWN", &text)]).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(s.risk.max_drawdown.to_bits(), v.to_bits());
            prop_assert_eq!(s.value_of("MAX_DRAWDOWN"), Some(v.to_string()));
            prop_assert_eq!(s.show()["risk"]["max_drawdown"].as_f64().map(f64::to_bits), Some(v.to_bits()));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,40}") {
        let _ = load_env(&[("MAX_DRAWDOWN", &text), ("TRADPAL_API_KEYS", &text), ("NATS_URL", &text),
                          ("TRADING_SERVICE_HOST", &text), ("BACKTEST_START_DATE", &text)]);
    }

    #[test]
    fn arbitrary_json_never_panics(text in "[{}\\[\\]\":,a-z0-9. ]{0,60}") {
        let _ = load_json(&text, &[]);
        let _ = load_json(&format!("{{\"trading_config\": {text}}}"), &[]);
    }
}
