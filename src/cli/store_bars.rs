//! `--symbol S --timeframe T [--start] [--end]` without `--data`: the bars come from the
//! data directory's store. Like `tradpal data import`, this opens the journal in this
//! process (the service's own market-data actor, no HTTP), so the service must not be
//! running on the same data directory: the journal is open in one process at a time.

use super::backtest::RunArgs;
use super::load_settings;
use std::process::ExitCode;
use tradpal_actors::backtest::actor::fetch_range;
use tradpal_actors::backtest::request::parse_date;
use tradpal_messages::{Candle, Timeframe};
use tradpal_runtime::{Runtime, RuntimeOptions};

/// The stored complete bars of each of `symbols` (`--symbol`, comma-separated) at
/// `--timeframe` in `[--start, --end)`, read in one start of the runtime; a usage problem
/// prints and gives exit code 2, a missing series 1.
pub fn load(args: &RunArgs, symbols: &[String], timeframe: Timeframe) -> anyhow::Result<Result<Vec<Vec<Candle>>, ExitCode>> {
    let date = |flag: &'static str, v: &Option<String>| v.as_deref().map(|d| parse_date(flag, d)).transpose();
    let (start, end) = match (date("--start-date", &args.start), date("--end-date", &args.end)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(Err(ExitCode::from(2)));
        }
    };
    let settings = match load_settings(&args.settings) {
        Ok(s) => s,
        Err(code) => return Ok(Err(code)),
    };
    let settings_dir = settings.data_dir.clone();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let symbols = symbols.to_vec();
    let result = rt.block_on(async move {
        let runtime = match Runtime::start(settings, RuntimeOptions::default()).await {
            Ok(r) => r,
            Err(e) => return Err((true, format!("{e:#}"))),
        };
        let mut all = Vec::with_capacity(symbols.len());
        for symbol in &symbols {
            match fetch_range(symbol, timeframe, start, end).await {
                Ok(bars) => all.push(bars),
                Err(e) => {
                    runtime.shutdown().await;
                    return Err((false, e.message));
                }
            }
        }
        runtime.shutdown().await;
        Ok(all)
    });
    match result {
        Ok(bars) => Ok(Ok(bars)),
        Err((true, why)) => {
            eprintln!("error: {}", super::journal_open_failed(&settings_dir, &why, "run the backtest through it: POST /api/backtest/run"));
            Ok(Err(ExitCode::from(1)))
        }
        Err((false, why)) => {
            eprintln!("error: reading the stored bars from {}: {why}", settings_dir.display());
            Ok(Err(ExitCode::from(1)))
        }
    }
}
