//! Rewards, computed from the account's equity after costs (fees and slippage are in the
//! equity the execution core marks). With `r_t = E_t / E_{t-1} - 1` the bar's return:
//!
//! - `pnl`: `100 * r_t` (P&L after costs, in percent of equity).
//! - `differential_sharpe` (Moody & Saffell 2001): with exponential moments
//!   `A_t = A_{t-1} + eta (r_t - A_{t-1})`, `B_t = B_{t-1} + eta (r_t^2 - B_{t-1})`,
//!   `D_t = (B_{t-1} dA_t - A_{t-1} dB_t / 2) / (B_{t-1} - A_{t-1}^2)^{3/2}` where
//!   `dA_t = r_t - A_{t-1}`, `dB_t = r_t^2 - B_{t-1}`; [`DSR_ETA`] = 0.01. `D_t` is the
//!   first-order change of an exponentially weighted Sharpe ratio caused by `r_t`; 0 while
//!   the variance estimate is below [`DSR_VARIANCE_MIN`]. Clipped to `[-REWARD_CLIP, REWARD_CLIP]`.
//! - `drawdown_penalty`: `100 * (r_t - lambda * max(0, DD_t - DD_{t-1}))` with
//!   `DD_t = 1 - E_t / max_{s<=t} E_s` and [`DRAWDOWN_LAMBDA`] = 1: a loss that deepens the
//!   drawdown costs twice, a loss inside a recovery once.

use serde::{Deserialize, Serialize};

pub const DSR_ETA: f64 = 0.01;
pub const DSR_VARIANCE_MIN: f64 = 1e-12;
pub const DRAWDOWN_LAMBDA: f64 = 1.0;
pub const REWARD_CLIP: f64 = 10.0;

/// Which reward an agent is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    #[default]
    Pnl,
    DifferentialSharpe,
    DrawdownPenalty,
}

impl RewardKind {
    pub const NAMES: &'static str = "pnl | differential_sharpe | drawdown_penalty";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pnl" => Some(RewardKind::Pnl),
            "differential_sharpe" => Some(RewardKind::DifferentialSharpe),
            "drawdown_penalty" => Some(RewardKind::DrawdownPenalty),
            _ => None,
        }
    }
}

/// The reward's running state over one episode.
#[derive(Debug, Clone, Copy)]
pub struct Reward {
    kind: RewardKind,
    a: f64,
    b: f64,
    peak: f64,
    dd: f64,
}

impl Reward {
    pub fn new(kind: RewardKind, equity0: f64) -> Self {
        Reward { kind, a: 0.0, b: 0.0, peak: equity0, dd: 0.0 }
    }

    /// The reward of moving from equity `prev` to `now`.
    pub fn step(&mut self, prev: f64, now: f64) -> f32 {
        let r = if prev > 0.0 { now / prev - 1.0 } else { 0.0 };
        let out = match self.kind {
            RewardKind::Pnl => 100.0 * r,
            RewardKind::DifferentialSharpe => {
                let (da, db) = (r - self.a, r * r - self.b);
                let var = self.b - self.a * self.a;
                let d = if var > DSR_VARIANCE_MIN { (self.b * da - 0.5 * self.a * db) / var.powf(1.5) } else { 0.0 };
                self.a += DSR_ETA * da;
                self.b += DSR_ETA * db;
                d
            }
            RewardKind::DrawdownPenalty => {
                self.peak = self.peak.max(now);
                let dd = if self.peak > 0.0 { 1.0 - now / self.peak } else { 0.0 };
                let deeper = (dd - self.dd).max(0.0);
                self.dd = dd;
                100.0 * (r - DRAWDOWN_LAMBDA * deeper)
            }
        };
        out.clamp(-REWARD_CLIP, REWARD_CLIP) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnl_is_the_percent_return_and_drawdown_doubles_deepening_losses() {
        let mut p = Reward::new(RewardKind::Pnl, 100.0);
        assert!((p.step(100.0, 101.0) - 1.0).abs() < 1e-6);
        let mut d = Reward::new(RewardKind::DrawdownPenalty, 100.0);
        assert!((d.step(100.0, 110.0) - 10.0).abs() < 1e-4);
        // 110 -> 99: r = -10%, drawdown deepens by 10% -> -20.
        assert!((d.step(110.0, 99.0) + 10.0).abs() < 1e-4, "clipped at -10");
        let mut d = Reward::new(RewardKind::DrawdownPenalty, 100.0);
        assert!((d.step(100.0, 99.0) + 2.0).abs() < 1e-4);
    }

    #[test]
    fn differential_sharpe_rewards_returns_above_the_running_mean() {
        let mut s = Reward::new(RewardKind::DifferentialSharpe, 100.0);
        let mut e = 100.0;
        for k in 0..200 {
            let next = e * if k % 2 == 0 { 1.01 } else { 0.995 };
            s.step(e, next);
            e = next;
        }
        let mut up = s;
        let mut down = s;
        assert!(up.step(e, e * 1.02) > 0.0);
        assert!(down.step(e, e * 0.98) < 0.0);
    }
}
