//! The RL core's promises: a planted rule is learned and shows as skill on held-out bars
//! at zero cost; a random walk shows none; a seed gives the same agent; bad input is
//! refused naming the field.

use super::synthetic::ar_candles;
use super::*;
use tradpal_messages::{Candle, Timeframe};

const SYMBOL: &str = "BTC/USDT";

fn zero_cost() -> EnvParams {
    EnvParams { commission: 0.0, slippage_bps: 0, ..EnvParams::default() }
}

fn params(algorithm: Algorithm, episodes: usize, seed: u64) -> TrainParams {
    TrainParams { algorithm, episodes, seed, env: zero_cost(), ..TrainParams::default() }
}

fn train_eval(bars: &[Candle], p: &TrainParams) -> Evaluation {
    let trained = train(bars, Timeframe::M1, SYMBOL, p, None, &mut |_, _| {}).unwrap();
    evaluate(&trained.agent, bars, Timeframe::M1, SYMBOL, &p.env, p.train_fraction, &EvalParams::default()).unwrap()
}

#[test]
fn ppo_learns_a_planted_rule_and_beats_random_agents_on_held_out_bars() {
    let bars = ar_candles(1_500, 0.5, 0.01, 7);
    let ev = train_eval(&bars, &params(Algorithm::Ppo, 30, 1));
    assert!(ev.skill && ev.p_value < 0.05 && ev.excess_return_ci95[0] > 0.0, "{ev:#?}");
    assert!(ev.agent.total_return > ev.random_mean.total_return, "{ev:#?}");
}

#[test]
fn dqn_learns_a_planted_rule_and_beats_random_agents_on_held_out_bars() {
    let bars = ar_candles(1_500, 0.5, 0.01, 8);
    let ev = train_eval(&bars, &params(Algorithm::Dqn, 4, 2));
    assert!(ev.skill && ev.p_value < 0.05 && ev.excess_return_ci95[0] > 0.0, "{ev:#?}");
}

#[test]
fn on_a_random_walk_it_claims_no_skill() {
    let bars = ar_candles(1_500, 0.0, 0.01, 9);
    let ev = train_eval(&bars, &params(Algorithm::Ppo, 10, 3));
    assert!(!ev.skill && ev.p_value >= 0.05, "{ev:#?}");
}

#[test]
fn the_same_seed_gives_the_same_agent() {
    let bars = ar_candles(400, 0.5, 0.01, 10);
    for algorithm in [Algorithm::Dqn, Algorithm::Ppo] {
        let p = params(algorithm, 2, 5);
        let a = train(&bars, Timeframe::M1, SYMBOL, &p, None, &mut |_, _| {}).unwrap();
        let b = train(&bars, Timeframe::M1, SYMBOL, &p, None, &mut |_, _| {}).unwrap();
        assert_eq!(a.agent, b.agent, "{algorithm:?}");
        assert_eq!(a.curve, b.curve);
        let c = train(&bars, Timeframe::M1, SYMBOL, &TrainParams { seed: 6, ..p }, None, &mut |_, _| {}).unwrap();
        assert_ne!(a.agent.net, c.agent.net, "another seed, another agent");
    }
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let bars = ar_candles(400, 0.5, 0.01, 11);
    let field =
        |p: TrainParams, bars: &[Candle]| train(bars, Timeframe::M1, SYMBOL, &p, None, &mut |_, _| {}).err().and_then(|e| e.field());
    let p = params(Algorithm::Ppo, 1, 0);
    assert_eq!(field(p.clone(), &bars[..100]), Some("bars"));
    let e = train(&bars[..100], Timeframe::M1, SYMBOL, &p, None, &mut |_, _| {}).err().unwrap().to_string();
    assert!(e.contains("BARS_MIN") && e.contains("300"), "{e}");
    assert_eq!(field(TrainParams { episodes: 0, ..p.clone() }, &bars), Some("episodes"));
    assert_eq!(field(TrainParams { train_fraction: 0.99, ..p.clone() }, &bars), Some("train_fraction"));
    let env = EnvParams { slippage_bps: 5_000, ..zero_cost() };
    assert_eq!(field(TrainParams { env, ..p.clone() }, &bars), Some("slippage_bps"));
    let env = EnvParams { commission: 2.0, ..zero_cost() };
    assert_eq!(field(TrainParams { env, ..p }, &bars), Some("commission"));
    assert!(Algorithm::parse("a2c").is_none() && RewardKind::parse("sortino").is_none());
}

#[test]
fn the_environment_charges_the_backtest_costs() {
    let bars = ar_candles(400, 0.0, 0.01, 12);
    let features = obs::Features::build(&bars, None).unwrap();
    let run = |env: &EnvParams| {
        let mut e = Env::new(&bars, &features, env, SYMBOL, Timeframe::M1).unwrap();
        // Flip long / short every bar: costs dominate.
        env::rollout(&mut e, 50, 400, &mut |_, t| if t % 2 == 0 { 0 } else { 2 }).unwrap().0
    };
    let free = run(&zero_cost());
    let costly = run(&EnvParams::default());
    assert!(costly.last().unwrap() < free.last().unwrap(), "fees and slippage cost equity");
    assert_eq!(free.len(), 350, "one point per bar played");
}

#[test]
fn infer_gives_direction_probabilities_summing_to_one() {
    let bars = ar_candles(400, 0.5, 0.01, 13);
    let trained = train(&bars, Timeframe::M1, SYMBOL, &params(Algorithm::Dqn, 1, 0), None, &mut |_, _| {}).unwrap();
    let inf = infer(&trained.agent, &[0.1; obs::OBS_DIM]);
    assert!((inf.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert_eq!(inf.q_values.as_ref().map(Vec::len), Some(3));
    assert_eq!(inf.action, act(&trained.agent, &[0.1; obs::OBS_DIM]));
}

#[test]
fn one_agent_per_regime_is_trained_and_the_regime_picks_it() {
    let bars = ar_candles(1_500, 0.5, 0.01, 14);
    let p = TrainParams { per_regime: true, ..params(Algorithm::Ppo, 20, 4) };
    let a = train(&bars, Timeframe::M1, SYMBOL, &p, None, &mut |_, _| {}).unwrap();
    assert_eq!(a.agent.experts.len(), 3);
    let b = train(&bars, Timeframe::M1, SYMBOL, &p, None, &mut |_, _| {}).unwrap();
    assert_eq!(a.agent, b.agent, "same seed, same agents");
    let mut obs = [0.0; obs::OBS_DIM];
    obs[obs::MARKET_FEATURES + 1] = 1.0; // bear
    assert_eq!(a.agent.policy(&obs), &a.agent.experts[1]);
    let ev = evaluate(&a.agent, &bars, Timeframe::M1, SYMBOL, &p.env, p.train_fraction, &EvalParams::default()).unwrap();
    eprintln!("per-regime held out: {ev:?}");
    assert!(ev.agent.total_return > ev.random_mean.total_return, "{ev:#?}");
    let dqn = TrainParams { per_regime: true, ..params(Algorithm::Dqn, 1, 0) };
    let e = train(&bars, Timeframe::M1, SYMBOL, &dqn, None, &mut |_, _| {}).err().unwrap();
    assert_eq!(e.field(), Some("per_regime"));
}
