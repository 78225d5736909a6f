//! Command-line interface.
//!
//! # Layout
//!
//! - `mod.rs`: argument definitions and dispatch; settings loading shared by commands.
//! - `serve.rs`: `tradpal serve`, the service.
//! - `journal.rs`: `tradpal journal verify|dump`, audit the record.
//! - `config.rs`: `tradpal config show`, the effective settings with secrets masked.
//! - `data.rs`: `tradpal data import|synth`, candles into the journal.
//! - `indicators.rs`: `tradpal indicators FILE.csv`, indicator series of a file.
//! - `regime.rs`: `tradpal regime evaluate`, detection scored against labels.
//! - `trading.rs`: `tradpal trading-state` and `tradpal flatten`, the kill switch (over HTTP).
//! - `replay.rs`: `tradpal replay`, a recorded paper account re-decided from its journal
//!   (identical or the first difference), or a session's candles as a backtest.
//! - `backtest.rs`: `tradpal backtest`, a built-in strategy over a candle file or stored
//!   bars; `--report` HTML, `--equity-svg`; the `backtest optimize` alias.
//! - `candle_file.rs`: a candle CSV for the offline commands, its timeframe checked
//!   against (or inferred from) the bars' spacing.
//! - `store_bars.rs`: `--symbol` without `--data`: stored bars read in-process (like
//!   `data import`, the journal must not be held by a running service).
//! - `progress.rs`: the stderr progress bars (indicatif) of `backtest`, `optimize`, `ml train`
//!   and `data import`.
//! - `backtest_analysis.rs`: its attribution, `--monte-carlo` and `--check-lookahead`.
//! - `rl.rs`: `tradpal rl train|agents|evaluate|infer`, RL agents of the running service (over HTTP).
//! - `optimize.rs`: `tradpal optimize` and `tradpal walk-forward`, parameter search with
//!   out-of-sample checks (top-level: `backtest` is a flat command with required flags).

mod audit;
mod backtest;
mod backtest_analysis;
mod candle_file;
mod config;
mod data;
mod indicators;
mod indicators_bench;
mod journal;
mod ml;
mod ml_bench;
mod optimize;
mod probe;
mod progress;
mod regime;
mod replay;
mod rl;
mod serve;
mod store_bars;
mod trading;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tradpal_config::Settings;

#[derive(Parser, Debug)]
#[command(name = "tradpal", version, about = "TradPal: an event-sourced trading service")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the service (HTTP API on TRADING_SERVICE_HOST:TRADING_SERVICE_PORT).
    Serve(serve::ServeArgs),
    /// An order's audit chain from the journal (offline).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Inspect the journal.
    #[command(subcommand)]
    Journal(journal::JournalCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Market data: import CSV files into the journal, generate synthetic data.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Print every indicator series of a CSV file (CSV, or JSON with --json).
    Indicators(indicators::IndicatorsArgs),
    /// Market regimes: score detection against ground truth.
    #[command(subcommand)]
    Regime(regime::RegimeCommand),
    /// The kill switch: print or set the trading state of the running service.
    TradingState(trading::TradingStateArgs),
    /// Cancel every working order and close every position (running service).
    Flatten(trading::FlattenArgs),
    /// Health check of the local service for Docker and Kubernetes: exit 0 when
    /// `/health` (or `/ready` with --ready) answers 200.
    Probe(probe::ProbeArgs),
    /// Re-run a recorded paper account (or one session's orders) from the journal and
    /// report whether every decision and fill is identical (offline: stop the service).
    #[command(
        after_help = "Exit status: 0 identical (or --as-backtest ran), 1 the replay differs (the first difference is printed), 2 usage or other errors."
    )]
    Replay(replay::ReplayArgs),
    /// Backtest a built-in strategy over a candle CSV or stored bars (summary, or JSON
    /// with --json; --report for HTML). `tradpal backtest optimize|walk-forward ...` is
    /// `tradpal optimize|walk-forward ...`.
    Backtest(backtest::BacktestArgs),
    /// Optimise a strategy's parameters over --range's on the first part of a candle CSV
    /// (grid or tpe), then run the best once on the held-out rest.
    Optimize(optimize::OptimizeArgs),
    /// Walk-forward: optimise on each training window, trade the best on the next test
    /// window, report the stitched out-of-sample result.
    WalkForward(optimize::WalkForwardArgs),
    /// ML models: train on a candle CSV here, or predict / list with the running service.
    #[command(subcommand)]
    Ml(ml::MlCommand),
    /// Reinforcement-learning agents of the running service (over HTTP).
    #[command(subcommand)]
    Rl(rl::RlCommand),
}

/// Options every command that reads settings accepts.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SettingsArgs {
    /// JSON settings file (the spec's `trading_config` shape); overrides TRADPAL_CONFIG.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (journal, indexes, generated key); overrides TRADPAL_DATA_DIR.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Loads settings (defaults < file < environment < flags). On invalid values prints
/// every problem and returns exit code 2.
pub fn load_settings(args: &SettingsArgs) -> Result<Settings, ExitCode> {
    let env = tradpal_config::env_snapshot();
    match Settings::load(&env, args.config.as_deref()) {
        Ok(mut s) => {
            if let Some(dir) = &args.data_dir {
                s.data_dir = dir.clone();
            }
            Ok(s)
        }
        Err(e) => {
            eprintln!("error: invalid configuration\n{e}");
            Err(ExitCode::from(2))
        }
    }
}

pub use backtest::alias;

/// What to say when a command could not open the data directory's journal: when another
/// process (the running service) holds its lock, what to do instead (`instead`), once,
/// rather than the store's raw lock error.
pub fn journal_open_failed(dir: &std::path::Path, why: &str, instead: &str) -> String {
    let held = ["lock", "WouldBlock", "temporarily unavailable"].iter().any(|w| why.contains(w));
    if held {
        format!("the journal in {} is open in another process (the running service?). Stop the service first, or {instead}", dir.display())
    } else {
        format!("cannot open the journal in {}: {why}", dir.display())
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Journal(cmd) => journal::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Config(cmd) => config::run(cmd),
        Command::Data(cmd) => data::run(cmd),
        Command::Indicators(args) => indicators::run(args),
        Command::Regime(cmd) => regime::run(cmd),
        Command::TradingState(args) => trading::trading_state(args),
        Command::Flatten(args) => trading::flatten(args),
        Command::Probe(args) => probe::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Backtest(args) => backtest::run(args),
        Command::Optimize(args) => optimize::run_optimize(args),
        Command::WalkForward(args) => optimize::run_walk_forward(args),
        Command::Ml(cmd) => ml::run(cmd),
        Command::Rl(cmd) => rl::run(cmd),
    }
}
