//! `tradpal backtest --data FILE.csv | --symbol S --timeframe T --strategy NAME
//! [--param k=v ...]`: one backtest of a built-in strategy over a candle file or the
//! data directory's stored bars (`store_bars.rs`), through the same execution core paper
//! trading uses.
//!
//! Several symbols on one account: `--data ETH/USDT=eth.csv --data LTC/USDT=ltc.csv`
//! (each file named with its symbol; or `--symbol ETH/USDT,LTC/USDT` listing the files'
//! symbols in the same order), or `--symbol ETH/USDT,LTC/USDT` alone for the store. Each
//! symbol runs its own instance of the strategy on an equal sleeve of equity (see the
//! engine's docs). `optimize`, `walk-forward` and `--check-lookahead` take one symbol. `--report out.html` writes the self-contained HTML report,
//! `--equity-svg out.svg` the equity curve alone; a progress bar (`progress.rs`) shows
//! on a terminal.
//!
//! `tradpal backtest optimize ...` and `tradpal backtest walk-forward ...` are spellings
//! of `tradpal optimize` / `tradpal walk-forward` (rewritten before parsing, see
//! [`alias`]): `backtest` itself is a flat command with required flags.

use super::SettingsArgs;
use anyhow::{anyhow, Context};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tradpal_actors::backtest::metrics::Calendar;
use tradpal_actors::backtest::request::{Participation, RunDefaults, RunRequest};
use tradpal_actors::backtest::strategy::{StrategyError, STRATEGIES};
use tradpal_actors::backtest::{build, report, run_spec, BacktestConfig, BacktestResult, StrategySpec, SymbolBars, SYMBOLS_PER_RUN_MAX};
use tradpal_messages::{is_valid_symbol, BacktestId, Candle, Timeframe};
use tradpal_report as html;

#[derive(clap::Args, Debug)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Print the result as JSON (metrics, counts, hash; trades with --trades).
    #[arg(long)]
    pub json: bool,
    /// Include every closed trade (JSON) or print them (text).
    #[arg(long)]
    pub trades: bool,
    #[command(flatten)]
    pub analysis: super::backtest_analysis::AnalysisArgs,
    /// Write the self-contained HTML report (metrics, equity, drawdown, monthly
    /// returns, trades) to this file.
    #[arg(long, value_name = "OUT.html")]
    pub report: Option<PathBuf>,
    /// Write the equity curve as an SVG file.
    #[arg(long, value_name = "OUT.svg")]
    pub equity_svg: Option<PathBuf>,
}

/// `backtest optimize` / `backtest walk-forward` as the top-level commands they are.
pub fn alias(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if args.len() > 2 && args[1] == "backtest" && (args[2] == "optimize" || args[2] == "walk-forward") {
        args.remove(1);
    }
    args
}

/// The data, the strategy and the costs: what `backtest`, `optimize` and `walk-forward`
/// share. One vocabulary with HTTP: each flag is the request field with `-` for `_`
/// (`--initial-capital` is `initial_capital`), the older spellings are aliases, and the
/// values left out take the same defaults (the settings' `TRANSACTION_COSTS`,
/// `RISK_FREE_RATE` and `trading_config.capital`, then the built-in ones), because the
/// flags become a [`RunRequest`] and go through its checks.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// OHLCV CSV file (`timestamp,open,high,low,close,volume`), oldest first. Without
    /// it, the bars of --symbol come from the data directory's store (stop the service
    /// first: the journal is open in one process at a time).
    /// Repeat it for several symbols, each as SYMBOL=FILE.csv (or give their symbols,
    /// in order, as --symbol A,B).
    #[arg(long, value_name = "[SYMBOL=]FILE.csv")]
    pub data: Vec<String>,
    /// Bar length: 1m, 5m, 15m, 1h, 4h or 1d. With --data, default: inferred from the
    /// bars' spacing, and a value that disagrees with it is refused. Required with the store.
    #[arg(long)]
    pub timeframe: Option<Timeframe>,
    /// Symbol whose trading rules (tick, lot, minimums) apply; without --data, the stored
    /// series to read. With --data the default is ASSET/USDT, the generic rule: tick and
    /// lot 0.00000001, minimum notional 1. A comma-separated list (A/USDT,B/USDT) runs
    /// several symbols on one account.
    #[arg(long)]
    pub symbol: Option<String>,
    /// With the store: bars opening at or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long = "start-date", visible_alias = "start")]
    pub start: Option<String>,
    /// With the store: bars opening before this date (exclusive).
    #[arg(long = "end-date", visible_alias = "end")]
    pub end: Option<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Draw the progress bar on stderr even when it is not a terminal.
    #[arg(long)]
    pub progress: bool,
    /// No progress bar.
    #[arg(long, conflicts_with = "progress")]
    pub quiet: bool,
    /// Strategy: sma_cross, sma_cross_long, buy_and_hold, rsi_reversion, bollinger_breakout.
    #[arg(long)]
    pub strategy: String,
    /// A strategy parameter, NAME=VALUE (repeatable), e.g. --param fast=10 --param
    /// entry=cross.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Starting cash in the quote currency; default trading_config.capital (10,000).
    #[arg(long = "initial-capital", visible_alias = "cash")]
    pub initial_capital: Option<f64>,
    /// Fee rate per fill, maker and taker (0.001 = 0.1%); default TRANSACTION_COSTS.
    #[arg(long)]
    pub commission: Option<f64>,
    /// Slippage against every market fill, in basis points of the price (default 1).
    #[arg(long)]
    pub slippage_bps: Option<u32>,
    /// Largest fraction of a bar's volume one order may fill, in (0, 1], or `none` for no
    /// cap (FX files carry tick volumes; vectorized tools ignore volume). Default 1.
    #[arg(long, value_name = "FRACTION|none")]
    pub participation: Option<Participation>,
    /// A fixed size in units of the base asset instead of a fraction of equity.
    #[arg(long, value_name = "UNITS")]
    pub quantity: Option<f64>,
    /// Largest position as a fraction of equity the risk check allows (default 1; raise
    /// for leverage).
    #[arg(long)]
    pub max_position_size: Option<f64>,
    /// Round target quantities down to whole units (shares).
    #[arg(long)]
    pub whole_units: bool,
    /// Sizing by a method of the risk core, as JSON (the HTTP field `sizing`), e.g.
    /// '{"method":"fixed_fractional","risk_per_trade":0.01,"stop_loss_pct":0.02}'.
    #[arg(long, value_name = "JSON")]
    pub sizing: Option<String>,
    /// Seed of the order ids (the event-stream hash depends on it).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Annual risk-free rate for Sharpe, Sortino and alpha; default RISK_FREE_RATE.
    #[arg(long)]
    pub risk_free_rate: Option<f64>,
    /// Bars per year for Sharpe and Sortino: observed (default: the data's own bars per
    /// calendar year), crypto_24_7, equities_252 or fx_24_5. CAGR always uses calendar time.
    #[arg(long)]
    pub calendar: Option<Calendar>,
}

/// The generic symbol a CSV runs under when --symbol is not given.
pub const SYMBOL_DEFAULT: &str = "ASSET/USDT";

impl RunArgs {
    /// `--symbol`, or [`SYMBOL_DEFAULT`].
    pub fn symbol(&self) -> &str {
        self.symbol.as_deref().unwrap_or(SYMBOL_DEFAULT)
    }
}

pub fn run(all: BacktestArgs) -> anyhow::Result<ExitCode> {
    let args = &all.run;
    let settings = settings(args).and_then(|(spec, config)| Ok((spec, config, all.analysis.request(args.seed)?)));
    let (spec, config, robustness) = match settings {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let (series, timeframe) = match load_series(args)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if series.len() > 1 && robustness.lookahead_checks.is_some() {
        eprintln!("error: --lookahead-checks takes one symbol; run it per symbol");
        return Ok(ExitCode::from(2));
    }
    // Wall time of the run, for the bars/s figure (a measurement, not a result).
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let show = super::progress::wanted(args.progress, args.quiet);
    let total = series.iter().map(|(_, b)| b.len()).sum();
    let run = super::progress::with_bar("backtest", "bars", total, show, |done| {
        let named: Vec<SymbolBars> = series.iter().map(|(symbol, bars)| SymbolBars { symbol, bars }).collect();
        run_spec(&config, &named, timeframe, &spec, &mut |n| done.store(n, Ordering::Relaxed))
    });
    let bars = &series[0].1;
    let result = match run {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    // Wall time of the run, as above.
    #[allow(clippy::disallowed_methods)]
    let seconds = started.elapsed().as_secs_f64();
    let analysis = super::backtest_analysis::analysis(&robustness, &config, bars, &spec, &result);
    write_files(&all, &spec, &result, &analysis)?;
    // The printout needs neither the bars nor the per-bar curves, nor the trades unless
    // asked: free them before the JSON document is built, the process's peak (issue 22).
    drop(series);
    let mut result = result;
    (result.equity, result.benchmark, result.events) = (Vec::new(), Vec::new(), Vec::new());
    if !all.trades {
        result.trades = Vec::new();
    }
    if all.json {
        print_json(&result, &spec, seconds, all.trades, &analysis)?;
    } else {
        print_summary(&result, &spec, seconds, all.trades);
        analysis.print();
    }
    if analysis.lookahead_failed() {
        eprintln!(
            "error: the look-ahead check failed: the strategy's signal changed when later bars were cut off (see lookahead in the report)"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--report` and `--equity-svg`, from the same performance document the HTTP API serves.
fn write_files(
    all: &BacktestArgs,
    spec: &StrategySpec,
    result: &BacktestResult,
    analysis: &super::backtest_analysis::Analysis,
) -> anyhow::Result<()> {
    if all.report.is_none() && all.equity_svg.is_none() {
        return Ok(());
    }
    let a = &all.run;
    let request = serde_json::json!({ "data": a.data, "symbol": a.symbol(), "timeframe": result.timeframe.as_str(), "strategy": spec, "initial_capital": result.starting_cash, "commission": a.commission, "seed": a.seed });
    let mut doc = report::performance(BacktestId(0), spec, &request, result);
    report::add_sections(&mut doc, analysis.sections.iter().map(|(k, v)| (*k, v.clone())));
    let write = |path: &Path, text: String| std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()));
    if let Some(path) = &all.report {
        write(path, html::render(&doc))?;
    }
    if let Some(path) = &all.equity_svg {
        write(path, html::equity_svg(&doc))?;
    }
    Ok(())
}

/// One symbol's candles and their timeframe, for the commands that take one
/// (`optimize`, `walk-forward`).
pub fn load_bars(args: &RunArgs) -> anyhow::Result<Result<(Vec<Candle>, Timeframe), ExitCode>> {
    Ok(match load_series(args)? {
        Ok((mut series, tf)) if series.len() == 1 => Ok((series.remove(0).1, tf)),
        Ok((series, _)) => {
            eprintln!("error: optimisation and walk-forward take one symbol, got {}: run them per symbol", series.len());
            Err(ExitCode::from(2))
        }
        Err(code) => Err(code),
    })
}

/// Each symbol with its candles, in the order given.
pub type Series = Vec<(String, Vec<Candle>)>;

/// Each symbol with its candles, and their timeframe: from the `--data` files (checked
/// against, or inferred from, the bars' spacing; several files must agree), or
/// `--symbol`'s from the store; a usage problem gives exit code 2, a file with rejected
/// rows prints them and gives 1.
pub fn load_series(args: &RunArgs) -> anyhow::Result<Result<(Series, Timeframe), ExitCode>> {
    let listed: Vec<String> = args.symbol.as_deref().map(|s| s.split(',').map(|x| x.trim().to_string()).collect()).unwrap_or_default();
    let usage = |why: String| {
        eprintln!("error: {why}");
        Ok(Err(ExitCode::from(2)))
    };
    if listed.len() > SYMBOLS_PER_RUN_MAX || args.data.len() > SYMBOLS_PER_RUN_MAX {
        return usage(format!("a run takes at most {SYMBOLS_PER_RUN_MAX} symbols (SYMBOLS_PER_RUN_MAX)"));
    }
    if args.data.is_empty() {
        if listed.is_empty() {
            return usage("give --data FILE.csv, or --symbol S to read the stored bars of the data directory".into());
        }
        let Some(tf) = args.timeframe else {
            return usage("--timeframe: which stored series to read (1m, 5m, 15m, 1h, 4h or 1d)".into());
        };
        return Ok(super::store_bars::load(&args.settings, (args.start.as_deref(), args.end.as_deref()), &listed, tf)?
            .map(|all| (listed.into_iter().zip(all).collect(), tf)));
    }
    if args.start.is_some() || args.end.is_some() {
        return usage("--start-date / --end-date select stored bars (with --symbol, without --data); cut the CSV instead".into());
    }
    let mut series = Vec::with_capacity(args.data.len());
    let mut timeframe = args.timeframe;
    for (k, entry) in args.data.iter().enumerate() {
        let (symbol, path) = match entry.split_once('=') {
            Some((s, p)) if is_valid_symbol(s.trim()) => (s.trim().to_string(), p),
            _ if args.data.len() == 1 && listed.len() <= 1 => (args.symbol().to_string(), entry.as_str()),
            _ if listed.len() == args.data.len() => (listed[k].clone(), entry.as_str()),
            _ => return usage(format!("--data {entry}: with several files, name each one's symbol (--data ETH/USDT=eth.csv) or list them in order (--symbol A/USDT,B/USDT)")),
        };
        // The first file fixes the timeframe the others are checked against.
        match super::candle_file::read(Path::new(path), timeframe, "a backtest")? {
            Ok((bars, tf)) => {
                timeframe = Some(tf);
                series.push((symbol, bars));
            }
            Err(code) => return Ok(Err(code)),
        }
    }
    Ok(Ok((series, timeframe.unwrap_or(Timeframe::M1))))
}

/// The strategy spec and the run's config from the flags; the message names the flag.
fn settings(args: &RunArgs) -> anyhow::Result<(StrategySpec, BacktestConfig)> {
    let spec = base_spec(args)?;
    build(&spec).map_err(|e| match e {
        StrategyError::UnknownStrategy { .. } | StrategyError::UnknownParam { .. } => anyhow!("{e}\n{}", strategy_list()),
        _ => anyhow::Error::msg(e),
    })?;
    Ok((spec, config(args)?))
}

/// `--strategy` with its `--param`s (not checked against the strategy's table).
pub fn base_spec(args: &RunArgs) -> anyhow::Result<StrategySpec> {
    let mut spec = StrategySpec::new(&args.strategy);
    for p in &args.params {
        let (k, v) = StrategySpec::parse_param(p).map_err(|e| anyhow!("--param: {e}"))?;
        spec.params.insert(k, v);
    }
    Ok(spec)
}

/// The run's config from the flags: they become a [`RunRequest`] (with the settings'
/// defaults) and go through its checks, so the CLI and HTTP share every default and
/// rule; the message names the flag.
pub fn config(args: &RunArgs) -> anyhow::Result<BacktestConfig> {
    let settings = super::load_settings(&args.settings).map_err(|_| anyhow!("invalid configuration (above)"))?;
    let sizing = args.sizing.as_deref().map(|j| serde_json::from_str(j).map_err(|e| anyhow!("--sizing: {e}"))).transpose()?;
    let req = RunRequest {
        initial_capital: args.initial_capital,
        commission: args.commission,
        slippage_bps: args.slippage_bps,
        participation: args.participation,
        quantity: args.quantity,
        whole_units: args.whole_units.then_some(true),
        max_position_size: args.max_position_size,
        risk_free_rate: args.risk_free_rate,
        calendar: args.calendar,
        sizing,
        seed: Some(args.seed),
        ..RunRequest::default()
    }
    .with_defaults(&RunDefaults::from_settings(&settings));
    req.config().map_err(|e| match e {
        tradpal_actors::backtest::request::RequestError::Field { field, why } => anyhow!("--{}: {why}", field.replace('_', "-")),
        other => anyhow::Error::msg(other),
    })
}

/// Every built-in strategy with its parameters and defaults, one per line.
pub fn strategy_list() -> String {
    let rows: Vec<String> = STRATEGIES
        .iter()
        .map(|s| {
            let params: Vec<String> = s.params.iter().map(|(n, d, _)| format!("{n}={d}")).collect();
            format!("  {} ({}): {}", s.name, params.join(", "), s.about)
        })
        .collect();
    format!("strategies:\n{}", rows.join("\n"))
}

fn print_json(
    r: &BacktestResult,
    spec: &StrategySpec,
    seconds: f64,
    trades: bool,
    analysis: &super::backtest_analysis::Analysis,
) -> anyhow::Result<()> {
    let mut v = serde_json::to_value(r)?;
    if let Some(o) = v.as_object_mut() {
        if !trades {
            o.remove("trades");
        }
        o.insert("strategy_spec".into(), serde_json::to_value(spec)?);
        o.insert("elapsed_seconds".into(), seconds.into());
        o.insert("bars_per_second".into(), (r.counts.bars as f64 / seconds.max(1e-9)).round().into());
    }
    analysis.add_to(&mut v)?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:+.2}%", x * 100.0)
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "n/a".to_string(), f)
}

fn print_summary(r: &BacktestResult, spec: &StrategySpec, seconds: f64, trades: bool) {
    let m = &r.metrics;
    println!("{} on {} {}: {} bars, {} .. {}", spec.describe(), r.symbol, r.timeframe, m.bars, m.start, m.end);
    println!("  total return    {}   (buy & hold {})", pct(m.total_return), opt(m.buy_and_hold_return, pct));
    println!("  CAGR            {}", opt(m.cagr, pct));
    println!("  Sharpe          {}   Sortino {}", opt(m.sharpe_ratio, |x| format!("{x:.2}")), opt(m.sortino_ratio, |x| format!("{x:.2}")));
    println!("  max drawdown    {}   ({} bars longest)", pct(-m.max_drawdown), m.max_drawdown_duration_bars);
    println!(
        "  trades          {}   win rate {}   profit factor {}",
        m.trade_stats.number_of_trades,
        opt(m.trade_stats.win_rate, |x| format!("{:.1}%", x * 100.0)),
        opt(m.trade_stats.profit_factor, |x| format!("{x:.2}"))
    );
    if let Some(t) = &r.open_trade {
        println!("  open trade      {} {} since {} (P&L {:.2} at the last close)", t.side.as_str(), t.quantity, t.entry_time, t.pnl);
    }
    for s in &r.per_symbol {
        let open = s.open_trade.as_ref().map_or(String::new(), |t| format!(", open {} P&L {:.2}", t.side.as_str(), t.pnl));
        println!("  {:<15} {} bars, {} trades P&L {:.2}, holds {}{open}", s.symbol, s.bars, s.trades, s.trades_pnl, s.final_position);
    }
    println!("  exposure        {:.1}% of bars", m.exposure_time * 100.0);
    println!("  equity          {} -> {} (fees {})", r.starting_cash, r.final_equity, r.fees_paid);
    let c = &r.counts;
    println!(
        "  orders          {} submitted, {} fills, {} skipped below minimums, {} rejected, {} resized",
        c.orders_submitted, c.fills, c.orders_skipped, c.orders_rejected, c.orders_resized
    );
    println!("  event stream    {} events, blake3 {}", r.event_count, r.event_stream_hash);
    println!("  speed           {:.0} bars/s ({:.3} s, engine only)", c.bars as f64 / seconds.max(1e-9), seconds);
    for n in &r.notes {
        println!("  note            {n}");
    }
    if trades {
        println!("  side  entry                  exit                   entry price   exit price    pnl");
        for t in &r.trades {
            println!(
                "  {:<5} {} {} {:>12.4} {:>12.4} {:>10.2}{}",
                t.side.as_str(),
                t.entry_time,
                t.exit_time,
                t.entry_price,
                t.exit_price,
                t.pnl,
                if r.per_symbol.is_empty() { String::new() } else { format!(" {}", t.symbol) }
            );
        }
    }
}
