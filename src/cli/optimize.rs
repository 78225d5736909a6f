//! `tradpal optimize` and `tradpal walk-forward`: a built-in strategy's parameters
//! searched over `--range`s on a candle file, with the best point checked on held-out
//! bars (optimize) or on a series of unseen test windows (walk-forward). Needs no
//! service. They are top-level commands, not `backtest` subcommands, so the flat
//! `tradpal backtest --data ...` keeps its syntax.
//!
//! `--seed` seeds both the TPE sampler and the engine's order ids. `optimize` draws a
//! progress bar (engine runs) on a terminal; `walk-forward` has none yet.

use super::backtest::{base_spec, config, load_bars, strategy_list, RunArgs};
use anyhow::anyhow;
use std::process::ExitCode;
use std::time::Instant;
use tradpal_actors::backtest::optimize::{
    optimize_observed, Method, OptimizeError, OptimizeReport, OptimizeSpec, ParamRange, Segment, OBJECTIVE_DEFAULT, TOP_K_DEFAULT,
    TRAIN_FRACTION_DEFAULT, TRIALS_DEFAULT,
};
use tradpal_actors::backtest::walk_forward::{walk_forward, WalkForwardReport, Windows};

/// The search: ranges, method, objective.
#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// A parameter range, NAME=MIN:MAX:STEP (grid or tpe), NAME=MIN:MAX (tpe, continuous)
    /// or NAME=MIN:MAX:log (tpe, log scale); repeatable, e.g. --range fast=5:30:5.
    #[arg(long = "range", value_name = "NAME=MIN:MAX[:STEP|:log]", required = true)]
    pub ranges: Vec<String>,
    /// grid (every point) or tpe (Tree-structured Parzen Estimator, --trials points).
    #[arg(long, default_value = "grid")]
    pub method: String,
    /// Points the tpe method scores.
    #[arg(long, default_value_t = TRIALS_DEFAULT)]
    pub trials: usize,
    /// The metric to maximise (max_drawdown is minimised): see the error for the list.
    #[arg(long, default_value = OBJECTIVE_DEFAULT)]
    pub objective: String,
    /// Worker threads; 0 uses every core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Rows of the top table.
    #[arg(long = "top-k", visible_alias = "top", default_value_t = TOP_K_DEFAULT)]
    pub top: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct OptimizeArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    /// In-sample share of the bars, in (0, 1); the rest is held out.
    #[arg(long, default_value_t = TRAIN_FRACTION_DEFAULT)]
    pub train_fraction: f64,
}

#[derive(clap::Args, Debug)]
pub struct WalkForwardArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    /// Bars per training window (the first length, when anchored).
    #[arg(long)]
    pub train_bars: usize,
    /// Bars per test window.
    #[arg(long)]
    pub test_bars: usize,
    /// Bars between window starts (>= --test-bars); default --test-bars.
    #[arg(long)]
    pub step_bars: Option<usize>,
    /// Training windows start at the first bar and grow (instead of rolling).
    #[arg(long)]
    pub anchored: bool,
}

/// The optimisation spec from the flags; the message names the flag.
fn spec(run: &RunArgs, s: &SearchArgs, train_fraction: f64) -> anyhow::Result<OptimizeSpec> {
    let ranges = s.ranges.iter().map(|r| ParamRange::parse(r)).collect::<Result<Vec<_>, _>>().map_err(|e| anyhow!("--range: {e}"))?;
    let method = Method::parse(&s.method, s.trials).map_err(|e| anyhow!("--method: {e}"))?;
    let mut spec = OptimizeSpec::new(base_spec(run)?, ranges, method);
    spec.objective = s.objective.clone();
    spec.seed = run.seed;
    spec.threads = s.threads;
    spec.top_k = s.top;
    spec.train_fraction = train_fraction;
    spec.check().map_err(|e| match e {
        OptimizeError::UnknownStrategy { .. } | OptimizeError::UnknownParam { .. } => anyhow!("{e}\n{}", strategy_list()),
        _ => anyhow::Error::msg(e),
    })?;
    Ok(spec)
}

macro_rules! or_exit {
    ($e:expr, $code:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from($code));
            }
        }
    };
}

pub fn run_optimize(args: OptimizeArgs) -> anyhow::Result<ExitCode> {
    let spec = or_exit!(spec(&args.run, &args.search, args.train_fraction), 2);
    let config = or_exit!(config(&args.run), 2);
    let (bars, timeframe) = match load_bars(&args.run)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    // Wall time of the search, for the runs/s figure (a measurement, not a result).
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let show = super::progress::wanted(args.run.progress, args.run.quiet);
    let searched = super::progress::with_bar("optimize", "runs", spec.runs_planned(), show, |done| {
        optimize_observed(&config, &bars, timeframe, args.run.symbol(), &spec, Some(done))
    });
    let report = or_exit!(searched, 1);
    // Wall time of the search, as above.
    #[allow(clippy::disallowed_methods)]
    let seconds = started.elapsed().as_secs_f64();
    if args.search.json {
        print_json(serde_json::to_value(&report)?, seconds)?;
    } else {
        print_optimize(&report, &spec, seconds);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_walk_forward(args: WalkForwardArgs) -> anyhow::Result<ExitCode> {
    let spec = or_exit!(spec(&args.run, &args.search, TRAIN_FRACTION_DEFAULT), 2);
    let config = or_exit!(config(&args.run), 2);
    let windows = Windows {
        train_bars: args.train_bars,
        test_bars: args.test_bars,
        step_bars: args.step_bars.unwrap_or(args.test_bars),
        anchored: args.anchored,
    };
    let (bars, timeframe) = match load_bars(&args.run)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    // Wall time of the search, for the runs/s figure (a measurement, not a result).
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let report = or_exit!(walk_forward(&config, &bars, timeframe, args.run.symbol(), &spec, &windows), 1);
    // Wall time of the search, as above.
    #[allow(clippy::disallowed_methods)]
    let seconds = started.elapsed().as_secs_f64();
    if args.search.json {
        print_json(serde_json::to_value(&report)?, seconds)?;
    } else {
        print_walk_forward(&report, seconds);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(mut v: serde_json::Value, seconds: f64) -> anyhow::Result<()> {
    if let Some(o) = v.as_object_mut() {
        o.insert("elapsed_seconds".into(), seconds.into());
    }
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.4}"))
}

fn params(p: &std::collections::BTreeMap<String, f64>) -> String {
    p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

fn method_name(m: &Method) -> String {
    match m {
        Method::Grid => "grid".into(),
        Method::Tpe { trials, startup } => format!("tpe ({trials} trials, {startup} random first)"),
    }
}

fn print_optimize(r: &OptimizeReport, spec: &OptimizeSpec, seconds: f64) {
    println!(
        "{} by {}, objective {}: {} trials ({} failed) in {:.2} s on {} thread(s)",
        r.strategy,
        method_name(&r.method),
        r.objective,
        r.trials,
        r.failed_trials,
        seconds,
        spec.threads_used()
    );
    for t in &r.failures {
        println!("  failed          {}: {}", params(&t.params), t.error.as_deref().unwrap_or("unknown"));
    }
    println!(
        "  in-sample       bars {}..{} ({} bars, {} .. {})",
        r.in_sample.first_bar,
        r.in_sample.first_bar + r.in_sample.bars,
        r.in_sample.bars,
        r.in_sample.start,
        r.in_sample.end
    );
    println!(
        "  out-of-sample   bars {}..{} ({} bars, {} .. {})",
        r.out_of_sample.first_bar,
        r.out_of_sample.first_bar + r.out_of_sample.bars,
        r.out_of_sample.bars,
        r.out_of_sample.start,
        r.out_of_sample.end
    );
    println!("  best            {}", params(&r.best_params));
    println!(
        "  {:<15} in-sample {}   out-of-sample {}   gap {}",
        r.objective,
        num(r.in_sample_score),
        num(r.out_of_sample_score),
        num(r.gap)
    );
    let (i, o) = (&r.in_sample_metrics, &r.out_of_sample_metrics);
    println!("  total return    in-sample {:+.2}%   out-of-sample {:+.2}%", i.total_return * 100.0, o.total_return * 100.0);
    println!("  top {} (in-sample):", r.top.len());
    for (k, t) in r.top.iter().enumerate() {
        let why = t.error.as_deref().map(|e| format!("  ({e})")).unwrap_or_default();
        println!("  {:>3}. {:>10}  {}{why}", k + 1, num(t.score), params(&t.params));
    }
}

fn print_walk_forward(r: &WalkForwardReport, seconds: f64) {
    let w = &r.windows;
    let kind = if w.anchored { "anchored" } else { "rolling" };
    println!(
        "{} walk-forward by {}, objective {}: {} {kind} windows (train {}, test {}, step {} bars) in {:.2} s",
        r.strategy,
        method_name(&r.method),
        r.objective,
        r.per_window.len(),
        w.train_bars,
        w.test_bars,
        w.step_bars,
        seconds
    );
    println!("  window  train bars      test bars       in-sample  out-of-sample  best");
    for (k, p) in r.per_window.iter().enumerate() {
        let span = |s: &Segment| format!("{}..{}", s.first_bar, s.first_bar + s.bars);
        println!(
            "  {:>6}  {:<15} {:<15} {:>9}  {:>13}  {}",
            k,
            span(&p.train),
            span(&p.test),
            num(p.in_sample_score),
            num(p.out_of_sample_score),
            params(&p.best_params)
        );
    }
    let m = &r.out_of_sample_metrics;
    println!(
        "  mean in-sample {}   stitched out-of-sample {}   ({} untested bars at the end)",
        num(r.mean_in_sample_score),
        num(r.out_of_sample_score),
        r.untested_bars
    );
    println!(
        "  stitched out-of-sample: total return {:+.2}%, Sharpe {}, max drawdown {:.2}%, {} trades",
        m.total_return * 100.0,
        num(m.sharpe_ratio),
        m.max_drawdown * 100.0,
        m.trade_stats.number_of_trades
    );
}
