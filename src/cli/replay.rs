//! `tradpal replay [--session ID] [--json]`: re-runs a recorded paper account's inputs
//! from the journal through the same execution core and reports whether every decision
//! and fill comes out identical (or the first difference). Offline: it opens the data
//! directory itself, so the service must be stopped.
//!
//! The execution settings (fees, risk limits, order timeout) are the ones the service
//! journaled at each start (`ExecutionConfigured`), each in force from where it was
//! journaled, as live. A journal older than that event has none: the settings are then
//! loaded like `tradpal serve` loads them (defaults < `--config` file < environment), and
//! the report says so. `--what-if` always uses the loaded settings instead: what would a
//! changed fee or limit have decided? The starting cash is journaled (`CashAdjusted`) and
//! always replayed as recorded.
//!
//! A trading session (`session_opened`: its own account and strategy loop) is also
//! replayed through that loop (`actors::session::replay`): its inputs re-fed, its
//! decisions (orders, fills, `ai_decision`s, its stop) compared one by one with the
//! journaled ones (`trading_session` in the JSON); an `ai_ensemble` session loads its
//! pinned models from their files. Orders a user tagged with the session trade the
//! paper account and are compared as before.
//!
//! `--as-backtest --strategy NAME [--param k=v ...]`: the candles of the session's
//! symbol journaled while it ran (SessionStarted .. SessionStopped, or the journal's
//! end) become a backtest of a built-in strategy (`actors::backtest`).

use super::{load_settings, SettingsArgs};
use anyhow::{anyhow, bail};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use tradpal_actors::backtest::{build, run as backtest, BacktestConfig, BacktestResult, StrategySpec};
use tradpal_actors::ensemble::resolve::{load_files, TrainedFiles};
use tradpal_actors::execution::replay::{replay_configured, Recorded, ReplayReport, Scope, SessionOwned, REPLAY_KINDS};
use tradpal_actors::execution::ExecutionConfig;
use tradpal_actors::session::replay::{SessionReplay, SessionReplayer};
use tradpal_journal::{Journal, JournalOptions};
use tradpal_messages::{Candle, Event, Fixed, Rounding, SessionConfig, SessionId, Timeframe};

/// Exit status when the replay decided differently from the recording.
const EXIT_DIFFERS: u8 = 1;
/// Exit status for usage and every other error.
const EXIT_ERROR: u8 = 2;

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// Compare this session's orders (the whole account is replayed from the journal's
    /// start: the account and its risk checks are shared). Without it: every order.
    #[arg(long, value_name = "ID")]
    pub session: Option<SessionId>,
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Decide with the settings loaded now (config file, environment) instead of the ones
    /// the service journaled: shows what other settings would have decided.
    #[arg(long)]
    pub what_if: bool,
    /// Backtest a strategy on the candles the session saw instead of replaying it.
    #[arg(long, requires_all = ["session", "strategy"])]
    pub as_backtest: bool,
    /// With --as-backtest: the strategy (see `tradpal backtest --help`).
    #[arg(long, requires = "as_backtest")]
    pub strategy: Option<String>,
    /// With --as-backtest: a strategy parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", requires = "as_backtest")]
    pub params: Vec<String>,
    /// With --as-backtest: the candles' timeframe (default: the one with most candles).
    #[arg(long, requires = "as_backtest")]
    pub timeframe: Option<Timeframe>,
    /// With --as-backtest: starting cash in USDT (default: the session's capital).
    #[arg(long, requires = "as_backtest")]
    pub cash: Option<f64>,
    /// With --as-backtest: fee rate per fill, maker and taker.
    #[arg(long, default_value_t = 0.001, requires = "as_backtest")]
    pub commission: f64,
    /// With --as-backtest: slippage against every market fill, in basis points.
    #[arg(long, default_value_t = 1, requires = "as_backtest")]
    pub slippage_bps: u32,
}

/// What the journal holds for a replay.
struct Recording {
    records: Vec<Recorded>,
    /// The settings journaled at each service start, with their sequences.
    configs: Vec<(u64, ExecutionConfig)>,
    /// The session's config and the sequences of its start and (if any) stop.
    session: Option<(SessionConfig, u64, Option<u64>)>,
    /// A trading session (`session_opened`) re-run through its own loop.
    trading: Option<anyhow::Result<SessionReplay>>,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    match try_run(&args) {
        Ok(code) => Ok(code),
        Err(why) => {
            eprintln!("error: {why}");
            Ok(ExitCode::from(EXIT_ERROR))
        }
    }
}

fn try_run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let settings = load_settings(&args.settings).map_err(|_| anyhow!("invalid configuration (see above)"))?;
    if !settings.execution.paper_trading {
        bail!("ENABLE_PAPER_TRADING is false: replay re-runs the paper exchange; a live venue's fills cannot be re-decided");
    }
    let mut recording = read(&settings.data_dir, args.session)?;
    if args.as_backtest {
        return as_backtest(args, &recording);
    }
    let trading = recording.trading.take().transpose()?;
    let loaded = tradpal_runtime::service::execution_config(&settings);
    let scope = args.session.map_or(Scope::Account, Scope::Session);
    let (source, configs): (&str, &[(u64, ExecutionConfig)]) = if args.what_if {
        ("what-if: the settings loaded now (--what-if)", &[])
    } else if recording.configs.is_empty() {
        ("the settings loaded now (this journal records none: written before ExecutionConfigured)", &[])
    } else {
        ("journal", &recording.configs)
    };
    let report = replay_configured(loaded.clone(), configs, &recording.records, scope);
    let shown = configs.last().map_or(&loaded, |(_, c)| c);
    if args.json {
        print_json(args.session, source, shown, &report, trading.as_ref())?;
    } else {
        println!("settings: {source}");
        print_text(args.session, &report);
        if let Some(t) = &trading {
            print_trading(t);
        }
    }
    let identical = report.identical && trading.as_ref().is_none_or(|t| t.identical);
    Ok(if identical { ExitCode::SUCCESS } else { ExitCode::from(EXIT_DIFFERS) })
}

/// Opens the journal (refused while the service holds it) and reads what a replay needs.
fn read(data_dir: &Path, session: Option<SessionId>) -> anyhow::Result<Recording> {
    if !data_dir.join("journal").is_dir() {
        bail!("no journal in {} (give the service's --data-dir)", data_dir.display());
    }
    let (journal, _recovery) = Journal::open(data_dir, JournalOptions::default()).map_err(|e| {
        let text = e.to_string();
        if text.contains("lock") {
            anyhow!(
                "the data directory {} is in use (is `tradpal serve` running on it?): stop the service, or replay a copy ({text})",
                data_dir.display()
            )
        } else {
            anyhow!("cannot open the journal in {}: {text}", data_dir.display())
        }
    })?;
    let mut recording = Recording { records: Vec::new(), configs: Vec::new(), session: None, trading: None };
    let last = journal.last_sequence();
    let mut sessions = SessionOwned::default();
    let mut trained = TrainedFiles::default();
    let mut replayer: Option<anyhow::Result<SessionReplayer>> = None;
    for env in journal.read_range(1, last) {
        let env = env.map_err(|e| anyhow!("reading the journal: {e}"))?;
        trained.fold(&env.event);
        if let Event::SessionOpened(o) = &env.event {
            if Some(o.session_id) == session {
                let ai = o.ai.as_ref().map(|pins| load_files(data_dir, pins, &trained)).transpose().map_err(anyhow::Error::msg);
                replayer = Some(ai.map(|ai| SessionReplayer::new(o.session_id, ai)));
            }
        }
        if let Some(Ok(r)) = replayer.as_mut() {
            r.feed(&env);
        }
        match &env.event {
            // A trading session's own account: not the paper account replayed here.
            _ if sessions.owns(&env) => {}
            Event::SessionStarted(s) if Some(s.session_id) == session => recording.session = Some((s.config.clone(), env.sequence, None)),
            Event::SessionOpened(s) if Some(s.session_id) == session => recording.session = Some((s.config.clone(), env.sequence, None)),
            Event::SessionStopped(s) if Some(s.session_id) == session => {
                if let Some(found) = recording.session.as_mut() {
                    found.2 = Some(env.sequence);
                }
            }
            Event::ExecutionConfigured(c) => recording.configs.push((env.sequence, ExecutionConfig::from_recorded(c))),
            Event::ExecutionLimitsConfigured(l) => {
                if let Some((_, config)) = recording.configs.pop() {
                    recording.configs.push((env.sequence, config.with_recorded_limits(l)));
                }
            }
            _ if REPLAY_KINDS.contains(&env.kind) => {
                recording.records.push(Recorded { sequence: env.sequence, timestamp: env.timestamp, event: env.event })
            }
            _ => {}
        }
    }
    journal.close().map_err(|e| anyhow!("closing the journal: {e}"))?;
    recording.trading = replayer.map(|r| r.and_then(|r| r.finish().map_err(anyhow::Error::msg)));
    if let (Some(id), None) = (session, &recording.session) {
        bail!("no session {id} in the journal of {}", data_dir.display());
    }
    Ok(recording)
}

fn print_json(
    session: Option<SessionId>,
    source: &str,
    config: &ExecutionConfig,
    report: &ReplayReport,
    trading: Option<&SessionReplay>,
) -> anyhow::Result<()> {
    let mut v = serde_json::to_value(report)?;
    if let Some(o) = v.as_object_mut() {
        if let Some(t) = trading {
            // The session's own loop (its account), next to the paper orders tagged with it.
            o.insert("trading_session".into(), serde_json::to_value(t)?);
            o.insert("identical".into(), (report.identical && t.identical).into());
        }
        o.insert("scope".into(), if session.is_some() { "session" } else { "account" }.into());
        o.insert("session_id".into(), session.map(|s| s.to_string()).into());
        o.insert("config_source".into(), source.into());
        o.insert(
            "config".into(),
            serde_json::json!({
                "taker_fee": config.fill.taker_fee.to_string(),
                "maker_fee": config.fill.maker_fee.to_string(),
                "max_position_size": config.limits.max_position_size,
                "max_drawdown": config.limits.max_drawdown,
                "order_timeout_ns": config.order_timeout_ns,
            }),
        );
    }
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

/// A trading session's replay: its decisions re-made by its own loop and compared.
fn print_trading(r: &SessionReplay) {
    match &r.difference {
        None => println!("replay of trading session {}'s own loop: identical", r.session_id),
        Some(d) => {
            let at = d.sequence.map_or("after the journal's end".to_string(), |s| format!("at sequence {s}"));
            println!(
                "replay of trading session {}'s own loop: DIFFERS at decision {} ({at}): recorded {} replayed {}",
                r.session_id, d.index, d.recorded, d.replayed
            );
        }
    }
    println!("  {} inputs acted on; {} decisions recorded, {} replayed", r.inputs, r.recorded, r.replayed);
}

fn print_text(session: Option<SessionId>, r: &ReplayReport) {
    let scope = session.map_or("the account".to_string(), |s| format!("session {s}"));
    let inputs: Vec<String> = r.inputs.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let compared: u64 = r.compared.values().sum();
    match &r.difference {
        None => println!("replay of {scope}: identical"),
        Some(d) => {
            let at = d.sequence.map_or("after the journal's end".to_string(), |s| format!("at sequence {s}"));
            let order = d.order_id.as_deref().map(|o| format!(", order {o}")).unwrap_or_default();
            println!("replay of {scope}: DIFFERS {at} ({}{order}): {} recorded {} replayed {}", d.kind, d.field, d.recorded, d.replayed);
        }
    }
    println!("  {} records read; inputs: {}", r.records, inputs.join(", "));
    println!("  {compared} events of {} orders compared equal: {} decisions, {} fills", r.orders, r.decisions, r.fills);
}

/// The candles of the session's symbol journaled while it ran, in one timeframe.
fn session_bars(args: &ReplayArgs, recording: &Recording) -> anyhow::Result<(SessionConfig, Timeframe, Vec<Candle>)> {
    let Some((config, from, to)) = recording.session.clone() else { bail!("--as-backtest needs --session") };
    let mut by_tf: BTreeMap<Timeframe, Vec<Candle>> = BTreeMap::new();
    for r in &recording.records {
        if let Event::CandlesIngested(c) = &r.event {
            if c.symbol == config.symbol && r.sequence > from && to.is_none_or(|t| r.sequence < t) {
                by_tf.entry(c.timeframe).or_default().extend_from_slice(&c.candles);
            }
        }
    }
    let tf = match args.timeframe {
        Some(tf) => tf,
        None => by_tf
            .iter()
            .max_by_key(|(_, bars)| bars.len())
            .map(|(tf, _)| *tf)
            .ok_or_else(|| anyhow!("the session saw no {} candles", config.symbol))?,
    };
    let mut bars = by_tf.remove(&tf).unwrap_or_default();
    bars.sort_by_key(|c| c.open_time);
    bars.dedup_by_key(|c| c.open_time);
    if bars.is_empty() {
        bail!("the session saw no {} {tf} candles", config.symbol);
    }
    Ok((config, tf, bars))
}

fn as_backtest(args: &ReplayArgs, recording: &Recording) -> anyhow::Result<ExitCode> {
    let (session, tf, bars) = session_bars(args, recording)?;
    let mut spec = StrategySpec::new(args.strategy.as_deref().unwrap_or_default());
    for p in &args.params {
        let (k, v) = StrategySpec::parse_param(p).map_err(|e| anyhow!("--param: {e}"))?;
        spec.params.insert(k, v);
    }
    let mut strategy = build(&spec).map_err(|e| anyhow!("{e}\n{}", super::backtest::strategy_list()))?;
    let money = |flag: &str, x: f64| Fixed::from_f64_rounded(x, Rounding::Nearest).map_err(|e| anyhow!("{flag}: {e}"));
    let config = BacktestConfig { starting_cash: money("--cash", args.cash.unwrap_or(session.capital))?, ..BacktestConfig::default() }
        .with_commission(money("--commission", args.commission)?)
        .with_slippage_bps(args.slippage_bps);
    config.validate().map_err(anyhow::Error::msg)?;
    let result = backtest(&config, &bars, tf, &session.symbol, strategy.as_mut()).map_err(anyhow::Error::msg)?;
    if args.json {
        let mut v = serde_json::to_value(&result)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("trades");
            o.insert("session_id".into(), args.session.map(|s| s.to_string()).into());
            o.insert("strategy_spec".into(), serde_json::to_value(&spec)?);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_backtest(&result, &spec, args.session);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_backtest(r: &BacktestResult, spec: &StrategySpec, session: Option<SessionId>) {
    let m = &r.metrics;
    let session = session.map(|s| s.to_string()).unwrap_or_default();
    println!(
        "{} on the candles of session {session}: {} {}, {} bars, {} .. {}",
        spec.describe(),
        r.symbol,
        r.timeframe,
        m.bars,
        m.start,
        m.end
    );
    println!("  total return    {:+.2}%   max drawdown {:.2}%", m.total_return * 100.0, m.max_drawdown * 100.0);
    println!("  trades          {}   fills {}   fees {}", m.trade_stats.number_of_trades, r.counts.fills, r.fees_paid);
    println!("  equity          {} -> {}", r.starting_cash, r.final_equity);
}
