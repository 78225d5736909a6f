//! The analyses `tradpal backtest` adds to a run: P&L attribution (always), Monte Carlo
//! resampling (`--monte-carlo N`) and the look-ahead check (`--check-lookahead [K]`).
//! Kept apart from `backtest.rs` so that file only gains the flags and two calls.

use std::collections::BTreeMap;
use tradpal_actors::backtest::attribution::{attribute, with_drawdowns, Attribution, Bucket};
use tradpal_actors::backtest::metrics::drawdown_periods;
use tradpal_actors::backtest::robustness::{
    analyse, MonteCarloSpec, Resampling, RobustnessRequest, RunInputs, LOOKAHEAD_CHECKS_MAX, MONTE_CARLO_RUNS_MAX,
};
use tradpal_actors::backtest::{BacktestConfig, BacktestResult, StrategySpec};
use tradpal_messages::Candle;

/// The flags, as `BacktestArgs` flattens them.
#[derive(clap::Args, Debug)]
pub struct AnalysisArgs {
    /// Monte Carlo: resample the closed trades N times (1..=10000), seeded with --seed;
    /// percentiles of the max drawdown and the final return.
    #[arg(long = "monte-carlo-runs", visible_alias = "monte-carlo", value_name = "N")]
    pub monte_carlo: Option<usize>,
    /// How --monte-carlo draws: bootstrap (with replacement: return and drawdown vary)
    /// or permutation (reorder: only the drawdown varies).
    #[arg(long, value_name = "METHOD", default_value = "bootstrap")]
    pub monte_carlo_method: Resampling,
    /// Look-ahead check: re-run the strategy on the bars cut at K sampled bars (default
    /// 20, at most 200) and report any signal that changes. A failed check exits 1 (after
    /// the report), a passed one 0: usable as a CI gate.
    #[arg(long = "lookahead-checks", visible_alias = "check-lookahead", value_name = "K", num_args = 0..=1, default_missing_value = "20")]
    pub check_lookahead: Option<usize>,
}

impl AnalysisArgs {
    /// The analyses asked for; the message names the flag.
    pub fn request(&self, seed: u64) -> anyhow::Result<RobustnessRequest> {
        if let Some(n) = self.monte_carlo.filter(|n| *n == 0 || *n > MONTE_CARLO_RUNS_MAX) {
            anyhow::bail!("--monte-carlo-runs must be in 1..={MONTE_CARLO_RUNS_MAX}, got {n}");
        }
        if let Some(k) = self.check_lookahead.filter(|k| *k == 0 || *k > LOOKAHEAD_CHECKS_MAX) {
            anyhow::bail!("--lookahead-checks must be in 1..={LOOKAHEAD_CHECKS_MAX}, got {k}");
        }
        Ok(RobustnessRequest {
            monte_carlo: self.monte_carlo.map(|runs| MonteCarloSpec { runs, seed, method: self.monte_carlo_method }),
            lookahead_checks: self.check_lookahead,
            lookahead_seed: seed,
        })
    }
}

/// What the analyses found: `attribution`, and `monte_carlo` / `lookahead` when asked.
pub struct Analysis {
    pub attribution: Attribution,
    pub sections: BTreeMap<&'static str, serde_json::Value>,
}

pub fn analysis(req: &RobustnessRequest, config: &BacktestConfig, bars: &[Candle], spec: &StrategySpec, r: &BacktestResult) -> Analysis {
    let periods = drawdown_periods(&r.equity).unwrap_or_default();
    let inputs = RunInputs { config, bars, timeframe: r.timeframe, symbol: &r.symbol, spec };
    Analysis { attribution: with_drawdowns(attribute(&r.trades), &periods, &r.trades), sections: analyse(req, &inputs, r) }
}

impl Analysis {
    /// Adds `attribution`, `monte_carlo` and `lookahead` to the `--json` document.
    pub fn add_to(&self, doc: &mut serde_json::Value) -> anyhow::Result<()> {
        if let Some(o) = doc.as_object_mut() {
            o.insert("attribution".into(), serde_json::to_value(&self.attribution)?);
            for (k, v) in &self.sections {
                o.insert(k.to_string(), v.clone());
            }
        }
        Ok(())
    }

    /// Whether a look-ahead check ran and failed (the exit code is then 1).
    pub fn lookahead_failed(&self) -> bool {
        self.sections.get("lookahead").is_some_and(lookahead_section_failed)
    }

    /// The human-readable lines, after the summary.
    pub fn print(&self) {
        let a = &self.attribution;
        println!("  P&L by side     {}", buckets(&a.by_side));
        println!("  P&L by source   {}", buckets(&a.by_source));
        if a.by_month.len() <= 12 {
            println!("  P&L by month    {}", buckets(&a.by_month));
        } else {
            let best = a.by_month.iter().max_by(|x, y| x.1.net_pnl.total_cmp(&y.1.net_pnl));
            let worst = a.by_month.iter().min_by(|x, y| x.1.net_pnl.total_cmp(&y.1.net_pnl));
            if let (Some(b), Some(w)) = (best, worst) {
                println!(
                    "  P&L by month    {} months; best {} {:+.2}, worst {} {:+.2} (all in --json)",
                    a.by_month.len(),
                    b.0,
                    b.1.net_pnl,
                    w.0,
                    w.1.net_pnl
                );
            }
        }
        if let Some(d) = a.drawdowns.first() {
            println!(
                "  deepest drawdown {:.2}% from {}: {} trades closed in it, P&L {:+.2}",
                d.period.depth * 100.0,
                d.period.start,
                d.trades,
                d.net_pnl
            );
        }
        if let Some(mc) = self.sections.get("monte_carlo") {
            print_monte_carlo(mc);
        }
        if let Some(la) = self.sections.get("lookahead") {
            print_lookahead(la);
        }
    }
}

/// A `lookahead` section says the check failed: it ran and `passed` is false (a capped
/// or skipped check that did not judge is not a failure).
fn lookahead_section_failed(la: &serde_json::Value) -> bool {
    la["passed"] == false
}

fn buckets(map: &BTreeMap<String, Bucket>) -> String {
    if map.is_empty() {
        return "no closed trades".into();
    }
    let rows: Vec<String> = map.iter().map(|(k, b)| format!("{k} {:+.2} ({} trades, fees {:.2})", b.net_pnl, b.trades, b.fees)).collect();
    rows.join("; ")
}

fn pct(v: &serde_json::Value) -> String {
    v.as_f64().map_or_else(|| "n/a".into(), |x| format!("{:+.2}%", x * 100.0))
}

/// A drawdown (a positive fraction) as a percentage below the peak.
fn depth(v: &serde_json::Value) -> String {
    v.as_f64().map_or_else(|| "n/a".into(), |x| format!("{:.2}%", x * 100.0))
}

fn print_monte_carlo(mc: &serde_json::Value) {
    if mc["status"] != "completed" {
        println!("  monte carlo     not run: {}", mc["message"].as_str().unwrap_or("?"));
        return;
    }
    println!(
        "  monte carlo     {} {} runs of {} trades (seed {})",
        mc["runs"],
        mc["method"].as_str().unwrap_or("?"),
        mc["trades"],
        mc["seed"]
    );
    for (name, key, show) in
        [("final return", "final_return", pct as fn(&serde_json::Value) -> String), ("max drawdown", "max_drawdown", depth)]
    {
        let d = &mc[key];
        let ps: Vec<String> = ["p5", "p25", "p50", "p75", "p95"].iter().map(|p| format!("{p} {}", show(&d[*p]))).collect();
        println!("    {name:<13} {}", ps.join("  "));
    }
    let o = &mc["original"];
    println!(
        "    this order    return {} (rank {:.2}), drawdown {} (rank {:.2}); P(loss) {:.1}%",
        pct(&o["final_return"]),
        o["final_return_rank"].as_f64().unwrap_or(f64::NAN),
        depth(&o["max_drawdown"]),
        o["max_drawdown_rank"].as_f64().unwrap_or(f64::NAN),
        mc["probability_of_loss"].as_f64().unwrap_or(f64::NAN) * 100.0
    );
}

fn print_lookahead(la: &serde_json::Value) {
    if la["status"] != "completed" {
        println!("  look-ahead      not run: {}", la["message"].as_str().unwrap_or("?"));
        return;
    }
    if let Some(why) = la["checks_capped"].as_str() {
        println!("  look-ahead      {why}");
    }
    if la["passed"] == true {
        println!("  look-ahead      passed: {} bars checked, no signal changed with the later bars cut off", la["checks_run"]);
        return;
    }
    println!(
        "  look-ahead      FAILED: {} of {} checked bars changed their signal when the later bars were cut off:",
        la["mismatches_total"], la["checks_run"]
    );
    let shown = |v: &serde_json::Value| if v.is_null() { "hold".to_string() } else { v.to_string() };
    for m in la["mismatches"].as_array().into_iter().flatten().take(10) {
        println!(
            "    bar {} ({}): full series {}, cut there {}",
            m["index"],
            m["time"].as_str().unwrap_or("?"),
            shown(&m["full"]),
            shown(&m["truncated"])
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No built-in strategy peeks (they see bars up to the current one only), so the
    /// failing exit is tested here on the section's shape; the passing one runs through
    /// the binary in tests/backtest_cli.rs.
    #[test]
    fn a_failed_lookahead_section_fails_the_run() {
        let section = |passed: serde_json::Value| {
            let sections = BTreeMap::from([("lookahead", serde_json::json!({ "status": "completed", "passed": passed, "checks_run": 8 }))]);
            Analysis { attribution: attribute(&[]), sections }
        };
        assert!(section(false.into()).lookahead_failed());
        assert!(!section(true.into()).lookahead_failed());
        assert!(!section(serde_json::Value::Null).lookahead_failed(), "not judged is not failed");
        assert!(!Analysis { attribution: attribute(&[]), sections: BTreeMap::new() }.lookahead_failed(), "not asked");
    }
}
