//! RL core speed, on AR(1) 1-minute candles (`rl::synthetic`), printed (no criterion:
//! each figure is one timed pass, long enough to be stable):
//!
//! - env steps/s on their own (the backtest account per bar, a policy that changes its
//!   action every 50 bars; zero cost); target > 1M/s;
//! - DQN and PPO training throughput (environment steps/s including updates);
//! - PPO on 40,000 bars for 20 episodes (target < 2 min on 2 cores): `RL_BENCH_FULL=1`
//!   runs all 20, otherwise 2 episodes are timed and the total extrapolated (printed so);
//! - `infer` latency (the pure function on one observation), p50 / p99.
//!
//! `RAYON_NUM_THREADS=1 cargo bench -p tradpal-actors --bench rl`.

// A bench: timing is what it measures.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;
use tradpal_actors::rl::obs::{Features, OBS_DIM};
use tradpal_actors::rl::synthetic::ar_candles;
use tradpal_actors::rl::{env, infer, train, Algorithm, Env, EnvParams, TrainParams};
use tradpal_messages::Timeframe;

const SYMBOL: &str = "BTC/USDT";

fn env_steps() {
    let bars = ar_candles(200_000, 0.3, 0.01, 1);
    let features = Features::build(&bars, None).expect("features");
    let params = EnvParams { commission: 0.0, slippage_bps: 0, ..EnvParams::default() };
    let mut e = Env::new(&bars, &features, &params, SYMBOL, Timeframe::M1).expect("env");
    let started = Instant::now();
    let (curve, _) = env::rollout(&mut e, 0, bars.len(), &mut |_, t| if (t / 50) % 2 == 0 { 2 } else { 0 }).expect("rollout");
    let s = started.elapsed().as_secs_f64();
    println!("env: {} steps in {s:.3} s = {:.0} steps/s (with observations)", curve.len() - 1, (curve.len() - 1) as f64 / s);
}

fn training(algorithm: Algorithm, bars: usize, episodes: usize) -> f64 {
    let candles = ar_candles(bars, 0.3, 0.01, 2);
    let p = TrainParams { algorithm, episodes, seed: 1, regimes: true, ..TrainParams::default() };
    let started = Instant::now();
    let t = train(&candles, Timeframe::M1, SYMBOL, &p, None, &mut |_, _| {}).expect("train");
    let s = started.elapsed().as_secs_f64();
    println!(
        "{algorithm:?}: {bars} bars x {episodes} episodes: {} env steps, {} updates in {s:.2} s = {:.0} env steps/s, {:.0} updates/s",
        t.env_steps,
        t.updates,
        t.env_steps as f64 / s,
        t.updates as f64 / s
    );
    s
}

fn infer_latency() {
    let candles = ar_candles(2_000, 0.3, 0.01, 3);
    let p = TrainParams { algorithm: Algorithm::Ppo, episodes: 1, regimes: false, ..TrainParams::default() };
    let agent = train(&candles, Timeframe::M1, SYMBOL, &p, None, &mut |_, _| {}).expect("train").agent;
    let obs = [0.1f32; OBS_DIM];
    let mut ns: Vec<u128> = (0..100_000)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(infer(&agent, std::hint::black_box(&obs)));
            started.elapsed().as_nanos()
        })
        .collect();
    ns.sort_unstable();
    println!("infer (pure, one observation): p50 {} ns, p99 {} ns", ns[ns.len() / 2], ns[ns.len() * 99 / 100]);
}

fn main() {
    env_steps();
    training(Algorithm::Dqn, 5_000, 2);
    training(Algorithm::Ppo, 5_000, 4);
    let full = std::env::var("RL_BENCH_FULL").is_ok_and(|v| v == "1");
    let episodes = if full { 20 } else { 2 };
    let s = training(Algorithm::Ppo, 40_000, episodes);
    if !full {
        println!("PPO 40,000 bars x 20 episodes: extrapolated {:.1} s from {episodes} episodes (regime fit included once)", s * 10.0);
    }
    infer_latency();
}
