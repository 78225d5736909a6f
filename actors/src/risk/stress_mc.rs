//! Monte Carlo stress: seeded price paths for the held symbols over a horizon of steps,
//! and the distribution of the portfolio's P&L at the end and at its worst along the way.
//!
//! Why paths of steps rather than one horizon draw: with i.i.d. normal log returns the
//! terminal P&L could be drawn in one step, but the lowest point of a path (what a stop
//! or a margin call sees) needs the path; the bootstrap option also needs steps.

use super::bounds::{DRAWS_MAX, RETURN_ABS_MAX, STEPS_MAX};
use super::check::Interval;
use super::error::RiskError;
use super::exposure::Position;
use super::inputs::{returns_matrix, ReturnsBySymbol};
use super::simulate::{seeded_rng, MvNormal};
use super::stats;
use super::var::{tail_of_losses, PATHS};
use ndarray::Array2;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Where the per-step returns come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Multivariate normal fitted to the log returns (mean, sample covariance; Cholesky).
    #[default]
    Normal,
    /// Whole rows of the historical log returns drawn uniformly with replacement: keeps
    /// fat tails and cross-asset dependence, assumes no serial dependence.
    Bootstrap,
}

/// Size, horizon and seed of a Monte Carlo stress run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StressMonteCarlo {
    /// In [100, PATHS_MAX].
    pub paths: usize,
    /// Steps per path, each one period of the returns, in [1, STEPS_MAX].
    pub horizon: usize,
    pub seed: u64,
    #[serde(default)]
    pub distribution: Distribution,
}

/// Summary of a simulated P&L sample, in quote currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PnlDistribution {
    pub mean: f64,
    pub std: f64,
    pub worst: f64,
    pub best: f64,
    /// Share of paths with P&L < 0.
    pub probability_of_loss: f64,
    /// Type-7 quantiles of P&L at `QUANTILE_PROBABILITIES`.
    pub quantiles: Vec<QuantilePoint>,
    /// VaR and ES of the P&L at the request's confidence, as positive loss amounts.
    pub var_amount: f64,
    pub es_amount: f64,
}

/// One quantile of a P&L distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuantilePoint {
    pub probability: f64,
    pub pnl: f64,
}

/// The quantiles every [`PnlDistribution`] reports.
pub const QUANTILE_PROBABILITIES: [f64; 9] = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];

/// The outcome of a Monte Carlo stress run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonteCarloStress {
    pub paths: usize,
    pub horizon: usize,
    pub seed: u64,
    pub distribution: Distribution,
    /// P&L at the end of the horizon.
    pub terminal: PnlDistribution,
    /// Lowest P&L marked at any step of each path.
    pub worst_along_path: PnlDistribution,
}

/// Simulates `spec.paths` paths of `spec.horizon` steps for the held positions (non-zero
/// quantity), each of which needs a series in `returns` (>= 2 observations, each > -1).
///
/// Per step, log returns `x = ln(1 + r)` are drawn (normal: `mu + L z`; bootstrap: a
/// random historical row) and accumulated, `X_i += x_i`; the P&L after the step is
/// `sum_i V_i (exp(X_i) - 1)` with `V_i = quantity_i * price_i`. Log returns keep every
/// simulated price positive whatever the draw.
pub fn monte_carlo_stress(
    positions: &[Position],
    returns: &ReturnsBySymbol,
    spec: &StressMonteCarlo,
    confidence: f64,
) -> Result<MonteCarloStress, RiskError> {
    PATHS.check("monte_carlo.paths", spec.paths as f64)?;
    Interval::closed(1.0, STEPS_MAX as f64).check("monte_carlo.horizon", spec.horizon as f64)?;
    let held: Vec<&Position> = positions.iter().filter(|p| p.quantity != 0.0).collect();
    let draws = (spec.paths as u64).saturating_mul(spec.horizon as u64).saturating_mul(held.len().max(1) as u64);
    Interval::closed(0.0, DRAWS_MAX as f64).check("monte_carlo paths x horizon x positions", draws as f64)?;
    let symbols: Vec<String> = held.iter().map(|p| p.symbol.clone()).collect();
    let values: Vec<f64> = held.iter().map(|p| p.notional()).collect();
    let (mut terminal, mut worst) = (Vec::with_capacity(spec.paths), Vec::with_capacity(spec.paths));
    if held.is_empty() {
        terminal.resize(spec.paths, 0.0);
        worst.resize(spec.paths, 0.0);
    } else {
        let logs = log_returns(&returns_matrix("returns_by_symbol", returns, &symbols, 2)?, &symbols)?;
        let draw = StepDraw::new(spec.distribution, logs)?;
        let mut rng = seeded_rng(spec.seed);
        let mut path = PathState::new(values.len());
        for _ in 0..spec.paths {
            let (end, low) = path.run(&draw, &values, spec.horizon, &mut rng);
            terminal.push(end);
            worst.push(low);
        }
    }
    if let Some(v) = terminal.iter().chain(&worst).find(|v| !v.is_finite()) {
        return Err(RiskError::Overflow {
            what: "a simulated P&L".into(),
            detail: format!("got {v}: the returns compounded over {} steps exceed f64", spec.horizon),
        });
    }
    Ok(MonteCarloStress {
        paths: spec.paths,
        horizon: spec.horizon,
        seed: spec.seed,
        distribution: spec.distribution,
        terminal: summarise(terminal, confidence),
        worst_along_path: summarise(worst, confidence),
    })
}

/// `ln(1 + r)` of every entry; a return of -1 (price to zero) has no log and is refused.
fn log_returns(m: &Array2<f64>, symbols: &[String]) -> Result<Array2<f64>, RiskError> {
    for ((i, j), &r) in m.indexed_iter() {
        Interval::left_open(-1.0, RETURN_ABS_MAX).check(&format!("returns_by_symbol[{:?}][{i}]", symbols[j]), r)?;
    }
    Ok(m.mapv(f64::ln_1p))
}

/// One step's log-return draw.
enum StepDraw {
    Normal(MvNormal),
    Bootstrap(Array2<f64>),
}

impl StepDraw {
    fn new(d: Distribution, logs: Array2<f64>) -> Result<Self, RiskError> {
        Ok(match d {
            Distribution::Normal => StepDraw::Normal(MvNormal::fit("returns_by_symbol", &logs)?),
            Distribution::Bootstrap => StepDraw::Bootstrap(logs),
        })
    }
}

/// Scratch buffers reused across paths.
struct PathState {
    cum: Vec<f64>,
    z: Vec<f64>,
    x: Vec<f64>,
}

impl PathState {
    fn new(n: usize) -> Self {
        PathState { cum: vec![0.0; n], z: vec![0.0; n], x: vec![0.0; n] }
    }

    /// Runs one path; returns (terminal P&L, lowest P&L over the steps).
    fn run<R: Rng + ?Sized>(&mut self, draw: &StepDraw, values: &[f64], horizon: usize, rng: &mut R) -> (f64, f64) {
        self.cum.iter_mut().for_each(|c| *c = 0.0);
        let (mut pnl, mut low) = (0.0, f64::INFINITY);
        for _ in 0..horizon {
            match draw {
                StepDraw::Normal(mv) => mv.sample_into(rng, &mut self.z, &mut self.x),
                StepDraw::Bootstrap(rows) => {
                    let t = rng.random_range(0..rows.nrows());
                    self.x.iter_mut().zip(rows.row(t)).for_each(|(x, r)| *x = *r);
                }
            }
            pnl = 0.0;
            for ((c, x), v) in self.cum.iter_mut().zip(&self.x).zip(values) {
                *c += x;
                pnl += v * c.exp_m1();
            }
            low = low.min(pnl);
        }
        (pnl, low)
    }
}

/// Moments, extremes, quantiles and VaR / ES (loss = -P&L, historical estimators) of a
/// P&L sample.
pub(crate) fn summarise(mut pnl: Vec<f64>, confidence: f64) -> PnlDistribution {
    pnl.sort_unstable_by(f64::total_cmp);
    let n = pnl.len().max(1) as f64;
    let quantiles = QUANTILE_PROBABILITIES.iter().map(|&p| QuantilePoint { probability: p, pnl: stats::quantile_type7(&pnl, p) }).collect();
    let tail = tail_of_losses(pnl.iter().map(|v| -v).collect(), confidence);
    PnlDistribution {
        mean: stats::mean(&pnl),
        std: stats::sample_std(&pnl),
        worst: pnl.first().copied().unwrap_or(0.0),
        best: pnl.last().copied().unwrap_or(0.0),
        probability_of_loss: pnl.iter().filter(|v| **v < 0.0).count() as f64 / n,
        quantiles,
        var_amount: tail.var,
        es_amount: tail.es,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Vec<Position>, ReturnsBySymbol) {
        let positions = vec![
            Position { symbol: "BTC/USDT".into(), quantity: 0.1, price: 50000.0 },
            Position { symbol: "ETH/USDT".into(), quantity: 1.0, price: 2500.0 },
        ];
        let btc: Vec<f64> = (0..60).map(|i| 0.03 * ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
        let eth: Vec<f64> = btc.iter().enumerate().map(|(i, r)| 1.2 * r + 0.005 * ((i % 3) as f64 - 1.0)).collect();
        (positions, [("BTC/USDT".to_string(), btc), ("ETH/USDT".to_string(), eth)].into())
    }

    #[test]
    fn seeded_runs_repeat_and_worst_along_path_is_lower() {
        let (p, r) = setup();
        let spec = StressMonteCarlo { paths: 2000, horizon: 10, seed: 9, distribution: Distribution::Normal };
        let a = monte_carlo_stress(&p, &r, &spec, 0.99).unwrap();
        assert_eq!(a, monte_carlo_stress(&p, &r, &spec, 0.99).unwrap());
        assert!(a.worst_along_path.worst <= a.terminal.worst);
        assert!(a.worst_along_path.mean <= a.terminal.mean);
        assert!(a.terminal.var_amount > 0.0 && a.terminal.es_amount >= a.terminal.var_amount);
        let boot = StressMonteCarlo { distribution: Distribution::Bootstrap, ..spec };
        let b = monte_carlo_stress(&p, &r, &boot, 0.99).unwrap();
        // A bootstrap step is a historical row: one-step P&L is bounded by the sample.
        assert!(b.terminal.std > 0.0);
    }

    #[test]
    fn horizon_std_grows_like_sqrt_time() {
        let (p, r) = setup();
        let one = StressMonteCarlo { paths: 20_000, horizon: 1, seed: 1, distribution: Distribution::Normal };
        let four = StressMonteCarlo { horizon: 4, ..one };
        let s1 = monte_carlo_stress(&p, &r, &one, 0.99).unwrap().terminal.std;
        let s4 = monte_carlo_stress(&p, &r, &four, 0.99).unwrap().terminal.std;
        assert!((s4 / s1 - 2.0).abs() < 0.1, "{s1} {s4}");
    }

    #[test]
    fn bounds_are_enforced() {
        let (p, r) = setup();
        let spec = StressMonteCarlo { paths: 1_000_000, horizon: 10_000, seed: 1, distribution: Distribution::Normal };
        let e = monte_carlo_stress(&p, &r, &spec, 0.99).unwrap_err();
        assert!(e.to_string().starts_with("monte_carlo paths x horizon x positions must be in [0, 1e8], got 2e10"), "{e}");
        let mut bad = r.clone();
        bad.get_mut("BTC/USDT").unwrap()[0] = -1.0;
        let spec = StressMonteCarlo { paths: 100, horizon: 1, seed: 1, distribution: Distribution::Normal };
        let e = monte_carlo_stress(&p, &bad, &spec, 0.99).unwrap_err();
        assert_eq!(e.to_string(), "returns_by_symbol[\"BTC/USDT\"][0] must be in (-1, 100], got -1");
    }
}
