//! Optimisation against scores computed here run by run, determinism across seeds and
//! thread counts, the out-of-sample run on exactly the held-out bars, bad input.

use super::*;
use crate::backtest::strategy::build;
use crate::backtest::{run, BacktestConfig};
use crate::market_data::testdata;
use tradpal_messages::{Candle, Timeframe, Timestamp};

fn goog() -> Vec<Candle> {
    testdata::candles("goog-1d.csv", Timeframe::D1)
}

/// Daily bars with closes rising 0.5% a bar for `up` bars, then falling 0.5% a bar.
fn up_then_down(up: usize, down: usize) -> Vec<Candle> {
    let mut c = 100.0;
    (0..up + down)
        .map(|i| {
            c *= if i < up { 1.005 } else { 0.995 };
            Candle { open_time: Timestamp(i as i64 * 86_400_000_000_000), open: c, high: c, low: c, close: c, volume: 1e9 }
        })
        .collect()
}

fn sma_spec(method: Method) -> OptimizeSpec {
    let ranges = vec![ParamRange::new("fast", 5.0, 15.0, Some(5.0)), ParamRange::new("slow", 20.0, 40.0, Some(10.0))];
    OptimizeSpec::new(StrategySpec::new("sma_cross"), ranges, method)
}

fn cfg() -> BacktestConfig {
    BacktestConfig::default()
}

/// Sharpe of one run, `-inf` when undefined, computed without the optimiser.
fn sharpe_of(bars: &[Candle], fast: f64, slow: f64) -> f64 {
    let spec = StrategySpec::new("sma_cross").with("fast", fast).with("slow", slow);
    let r = run(&cfg(), bars, Timeframe::D1, "GOOG/USDT", build(&spec).unwrap().as_mut()).unwrap();
    r.metrics.sharpe_ratio.unwrap_or(f64::NEG_INFINITY)
}

#[test]
fn grid_finds_the_best_of_every_point_scored_independently() {
    let bars = goog();
    let rep = optimize(&cfg(), &bars, Timeframe::D1, "GOOG/USDT", &sma_spec(Method::Grid)).unwrap();
    let split = (bars.len() as f64 * 0.7).floor() as usize;
    assert_eq!((rep.in_sample.first_bar, rep.in_sample.bars, rep.out_of_sample.first_bar), (0, split, split));
    let mut want = vec![];
    for fast in [5.0, 10.0, 15.0] {
        for slow in [20.0, 30.0, 40.0] {
            want.push((sharpe_of(&bars[..split], fast, slow), fast, slow));
        }
    }
    assert_eq!(rep.trials, 9);
    want.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2)));
    let (score, fast, slow) = want[0];
    assert_eq!(rep.best_params.get("fast"), Some(&fast));
    assert_eq!(rep.best_params.get("slow"), Some(&slow));
    assert_eq!(rep.in_sample_score, Some(score));
    assert_eq!(rep.in_sample_metrics.sharpe_ratio, Some(score));
    let table: Vec<(Option<f64>, f64, f64)> = rep.top.iter().map(|t| (t.score, t.params["fast"], t.params["slow"])).collect();
    let expect: Vec<(Option<f64>, f64, f64)> = want.iter().map(|(s, f, l)| (objective::finite(*s), *f, *l)).collect();
    assert_eq!(table, expect);
}

#[test]
fn out_of_sample_runs_on_exactly_the_held_out_bars() {
    let bars = goog();
    let rep = optimize(&cfg(), &bars, Timeframe::D1, "GOOG/USDT", &sma_spec(Method::Grid)).unwrap();
    let split = rep.out_of_sample.first_bar;
    let oos = sharpe_of(&bars[split..], rep.best_params["fast"], rep.best_params["slow"]);
    assert_eq!(rep.out_of_sample_score, objective::finite(oos));
    assert_eq!(rep.out_of_sample_metrics.bars, bars.len() - split);
    assert_eq!(rep.out_of_sample_metrics.start.0, bars[split].open_time.0 + Timeframe::D1.nanos());
    assert_eq!(rep.gap, Some(rep.in_sample_score.unwrap() - oos));
}

#[test]
fn in_sample_best_can_lose_out_of_sample() {
    // Rising for the in-sample 70 bars, falling for the held-out 30: the most invested
    // buy-and-hold wins in sample and loses most out of sample.
    let bars = up_then_down(70, 30);
    let ranges = vec![ParamRange::new("fraction", 0.5, 1.0, Some(0.25))];
    let mut spec = OptimizeSpec::new(StrategySpec::new("buy_and_hold"), ranges, Method::Grid);
    spec.objective = "total_return".into();
    let rep = optimize(&cfg(), &bars, Timeframe::D1, "X/USDT", &spec).unwrap();
    assert_eq!(rep.in_sample.bars, 70);
    assert_eq!(rep.best_params["fraction"], 1.0);
    assert!(rep.in_sample_score.unwrap() > 0.2, "{rep:?}");
    assert!(rep.out_of_sample_score.unwrap() < -0.1, "{rep:?}");
    assert!(rep.gap.unwrap() > 0.3);
}

#[test]
fn same_seed_same_result_on_any_thread_count() {
    let bars = goog();
    let mut spec = sma_spec(Method::Tpe { trials: 20, startup: 5 });
    spec.ranges = vec![ParamRange::new("fast", 2.0, 30.0, Some(1.0)), ParamRange::new("slow", 31.0, 120.0, Some(1.0))];
    spec.seed = 7;
    let run_with = |spec: &OptimizeSpec, threads: usize, seed: u64, method: Method| {
        let s = OptimizeSpec { threads, seed, method, ..spec.clone() };
        let r = optimize(&cfg(), &bars, Timeframe::D1, "GOOG/USDT", &s).unwrap();
        (r.best_params, r.in_sample_score, r.out_of_sample_score, r.top, r.trials)
    };
    let tpe = spec.method;
    let one = |threads, seed, method| run_with(&spec, threads, seed, method);
    let a = one(1, 7, tpe);
    assert_eq!(a.4, 20);
    assert_eq!(a, one(2, 7, tpe));
    assert_eq!(a, one(3, 7, tpe));
    assert_ne!(a.3, one(2, 8, tpe).3, "another seed samples other points");
    let grid = sma_spec(Method::Grid);
    assert_eq!(run_with(&grid, 1, 0, Method::Grid), run_with(&grid, 4, 0, Method::Grid));
}

#[test]
fn tpe_stops_when_a_finite_space_is_exhausted() {
    let bars = goog();
    let rep = optimize(&cfg(), &bars, Timeframe::D1, "GOOG/USDT", &sma_spec(Method::Tpe { trials: 50, startup: 3 })).unwrap();
    assert_eq!(rep.trials, 9, "the grid has 9 points");
    let grid = optimize(&cfg(), &bars, Timeframe::D1, "GOOG/USDT", &sma_spec(Method::Grid)).unwrap();
    assert_eq!((rep.best_params, rep.in_sample_score), (grid.best_params, grid.in_sample_score));
}

#[test]
fn an_undefined_metric_scores_minus_infinity() {
    let bars = up_then_down(50, 0);
    let r = run(&cfg(), &bars, Timeframe::D1, "X/USDT", build(&StrategySpec::new("buy_and_hold")).unwrap().as_mut()).unwrap();
    assert_eq!(r.metrics.trade_stats.profit_factor, None);
    assert_eq!(Objective::parse("profit_factor").unwrap().score(&r.metrics), f64::NEG_INFINITY);
    assert_eq!(Objective::parse("max_drawdown").unwrap().score(&r.metrics), -r.metrics.max_drawdown);
}

#[test]
fn invalid_points_rank_last_and_a_search_with_none_valid_fails() {
    let bars = goog();
    // fast >= slow cannot be built: those points score -inf with the reason kept.
    let ranges = vec![ParamRange::new("fast", 10.0, 30.0, Some(10.0)), ParamRange::new("slow", 20.0, 20.0, Some(1.0))];
    let spec = OptimizeSpec::new(StrategySpec::new("sma_cross"), ranges, Method::Grid);
    let rep = optimize(&cfg(), &bars, Timeframe::D1, "GOOG/USDT", &spec).unwrap();
    assert_eq!((rep.trials, rep.failed_trials), (3, 2));
    assert_eq!(rep.best_params["fast"], 10.0);
    assert!(rep.top[1].error.as_deref().unwrap().contains("shorter"), "{:?}", rep.top);
    assert_eq!(rep.failures.len(), 2, "every failure listed with its reason");
    assert!(rep.failures.iter().all(|t| t.error.as_deref().unwrap().contains("must be shorter than slow")), "{:?}", rep.failures);
    let none = OptimizeSpec {
        ranges: vec![ParamRange::new("fast", 20.0, 30.0, Some(10.0)), ParamRange::new("slow", 20.0, 20.0, Some(1.0))],
        ..spec
    };
    let e = optimize(&cfg(), &bars, Timeframe::D1, "GOOG/USDT", &none).unwrap_err();
    assert!(matches!(e, OptimizeError::NoTrialRan { .. }), "{e}");
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let bars = goog();
    let go = |spec: &OptimizeSpec| optimize(&cfg(), &bars, Timeframe::D1, "GOOG/USDT", spec).unwrap_err();
    let with = |ranges: Vec<ParamRange>| OptimizeSpec::new(StrategySpec::new("sma_cross"), ranges, Method::Grid);
    let r = |name: &str, min: f64, max: f64, step: Option<f64>| ParamRange::new(name, min, max, step);
    assert!(matches!(go(&with(vec![])), OptimizeError::NoRanges));
    assert!(matches!(go(&with(vec![r("fast", 10.0, 5.0, Some(1.0))])), OptimizeError::EmptyRange { .. }));
    assert!(matches!(go(&with(vec![r("fast", 5.0, 10.0, Some(0.0))])), OptimizeError::BadStep { .. }));
    assert!(matches!(go(&with(vec![r("fast", 5.0, 10.0, Some(-1.0))])), OptimizeError::BadStep { .. }));
    let e = go(&with(vec![r("fastt", 5.0, 10.0, Some(1.0))]));
    assert!(e.to_string().contains("fast, slow, fraction"), "{e}");
    assert!(matches!(go(&with(vec![r("fast", 5.0, 10.0, None)])), OptimizeError::GridNeedsStep { .. }));
    let e = go(&with(vec![r("fast", 1.0, 200.0, Some(1.0)), r("slow", 1.0, 200.0, Some(1.0))]));
    assert!(matches!(e, OptimizeError::TooManyPoints { points: 40_000, max: GRID_POINTS_MAX }), "{e}");
    assert!(matches!(go(&with(vec![r("fast", 5.0, 10.0, Some(1.0)), r("fast", 5.0, 10.0, Some(1.0))])), OptimizeError::BadRange { .. }));
    let mut s = with(vec![r("fast", 5.0, 10.0, Some(5.0))]);
    s.objective = "sharp".into();
    let e = go(&s);
    assert!(e.to_string().contains("sharpe_ratio, sortino_ratio"), "{e}");
    s.objective = OBJECTIVE_DEFAULT.into();
    s.train_fraction = 1.0;
    assert!(matches!(go(&s), OptimizeError::BadTrainFraction(_)));
    s.train_fraction = 0.0001;
    assert!(matches!(go(&s), OptimizeError::TooFewBars { .. }));
    s.train_fraction = 0.7;
    s.method = Method::Tpe { trials: 0, startup: 0 };
    assert!(matches!(go(&s), OptimizeError::BadTrials { .. }));
    s.strategy.name = "nope".into();
    assert!(matches!(go(&s), OptimizeError::UnknownStrategy { .. }));
    assert!(matches!(Method::parse("random", 10), Err(OptimizeError::UnknownMethod(_))));
}

#[test]
fn range_syntax() {
    assert_eq!(ParamRange::parse("fast=5:30:5").unwrap(), ParamRange::new("fast", 5.0, 30.0, Some(5.0)));
    assert_eq!(ParamRange::parse("k=1:3").unwrap(), ParamRange::new("k", 1.0, 3.0, None));
    assert!(ParamRange::parse("k=0.5:4:log").unwrap().log);
    for bad in ["fast", "fast=5", "=1:2", "fast=a:2", "fast=1:2:3:4"] {
        assert!(matches!(ParamRange::parse(bad), Err(OptimizeError::RangeSyntax(_))), "{bad}");
    }
    let g = space::grid(&[ParamRange::new("k", 0.1, 0.3, Some(0.1))], 10).unwrap();
    assert_eq!(g, vec![vec![0.1], vec![0.2], vec![0.3]]);
}

#[test]
fn tpe_moves_toward_the_optimum_of_a_continuous_range() {
    // On rising bars, total return grows with the invested fraction: the best is 1.
    let bars = up_then_down(100, 0);
    let ranges = vec![ParamRange::new("fraction", 0.05, 1.0, None)];
    let mut spec = OptimizeSpec::new(StrategySpec::new("buy_and_hold"), ranges, Method::Tpe { trials: 40, startup: 8 });
    spec.objective = "total_return".into();
    spec.seed = 11;
    let rep = optimize(&cfg(), &bars, Timeframe::D1, "X/USDT", &spec).unwrap();
    assert_eq!(rep.trials, 40);
    assert!(rep.best_params["fraction"] > 0.95, "{:?}", rep.best_params);
    // The model-guided trials sit higher than the uniform start: more than half of the
    // top 10 have a fraction above 0.9.
    assert!(rep.top.iter().filter(|t| t.params["fraction"] > 0.9).count() > 5, "{:?}", rep.top);
}
