//! Walk-forward: the windows as documented, the stitched curve continuous and made of
//! test runs only, bad windows refused.

use super::optimize::{Method, OptimizeError, OptimizeSpec, ParamRange};
use super::strategy::{build, StrategySpec};
use super::walk_forward::{walk_forward, windows, Windows};
use super::{run, BacktestConfig};
use crate::market_data::testdata;
use tradpal_messages::Timeframe;

fn w(train: usize, test: usize, step: usize, anchored: bool) -> Windows {
    Windows { train_bars: train, test_bars: test, step_bars: step, anchored }
}

#[test]
fn windows_tile_the_data_as_documented() {
    let rolling = windows(100, &w(30, 20, 20, false)).unwrap();
    assert_eq!(rolling, vec![((0, 30), (30, 20)), ((20, 30), (50, 20)), ((40, 30), (70, 20))]);
    let anchored = windows(100, &w(30, 20, 20, true)).unwrap();
    assert_eq!(anchored, vec![((0, 30), (30, 20)), ((0, 50), (50, 20)), ((0, 70), (70, 20))]);
    let gaps = windows(100, &w(30, 20, 25, false)).unwrap();
    assert_eq!(gaps.iter().map(|(_, t)| *t).collect::<Vec<_>>(), vec![(30, 20), (55, 20), (80, 20)]);
    for (train, test) in &rolling {
        assert_eq!(train.0 + train.1, test.0, "training ends where testing starts");
    }
    assert!(matches!(windows(100, &w(30, 20, 10, false)), Err(OptimizeError::BadWindows(_))), "overlapping tests");
    assert!(matches!(windows(40, &w(30, 20, 20, false)), Err(OptimizeError::BadWindows(_))), "no window fits");
    assert!(matches!(windows(100, &w(1, 20, 20, false)), Err(OptimizeError::BadWindows(_))));
}

#[test]
fn stitched_curve_is_continuous_and_made_of_test_runs() {
    let bars = testdata::candles("goog-1d.csv", Timeframe::D1);
    let ranges = vec![ParamRange::new("fast", 5.0, 15.0, Some(5.0)), ParamRange::new("slow", 20.0, 40.0, Some(20.0))];
    let spec = OptimizeSpec::new(StrategySpec::new("sma_cross"), ranges, Method::Grid);
    let cfg = BacktestConfig::default();
    let win = w(500, 300, 300, false);
    let rep = walk_forward(&cfg, &bars, Timeframe::D1, "GOOG/USDT", &spec, &win).unwrap();
    let n_windows = (bars.len() - 500) / 300;
    assert_eq!(rep.per_window.len(), n_windows);
    assert_eq!(rep.untested_bars, bars.len() - 500 - n_windows * 300);
    assert_eq!(rep.equity.len(), n_windows * 300);
    assert_eq!(rep.out_of_sample_metrics.bars, rep.equity.len());
    let cash = cfg.starting_cash.to_f64();
    let mut scale = 1.0;
    for (k, p) in rep.per_window.iter().enumerate() {
        assert_eq!((p.train.first_bar, p.train.bars, p.test.first_bar, p.test.bars), (k * 300, 500, 500 + k * 300, 300));
        assert_eq!(p.trials, 6);
        // The test run, independently: the same scores and, scaled, the same curve.
        let spec = StrategySpec { name: "sma_cross".into(), params: p.best_params.clone(), ai: None };
        let test = &bars[p.test.first_bar..p.test.first_bar + p.test.bars];
        let r = run(&cfg, test, Timeframe::D1, "GOOG/USDT", build(&spec).unwrap().as_mut()).unwrap();
        assert_eq!(p.out_of_sample_score, r.metrics.sharpe_ratio);
        let part = &rep.equity[k * 300..(k + 1) * 300];
        for (a, b) in part.iter().zip(&r.equity) {
            assert_eq!(a.time, b.time);
            assert!((a.equity - b.equity * scale).abs() <= 1e-9 * a.equity, "window {k}");
        }
        if k > 0 {
            let prev = rep.equity[k * 300 - 1].equity;
            assert!((part[0].equity - prev).abs() <= 1e-9 * prev, "window {k} starts at the previous final equity");
        }
        scale = part[part.len() - 1].equity / cash;
    }
    let is: Vec<f64> = rep.per_window.iter().filter_map(|p| p.in_sample_score).collect();
    assert_eq!(rep.mean_in_sample_score, Some(is.iter().sum::<f64>() / is.len() as f64));
    assert_eq!(rep.out_of_sample_score, rep.out_of_sample_metrics.sharpe_ratio);
    let total = rep.equity.last().unwrap().equity / cash - 1.0;
    assert!((rep.out_of_sample_metrics.total_return - total).abs() < 1e-12);
}
