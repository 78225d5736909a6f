//! `--symbol S --timeframe T [--start-date] [--end-date]` without `--data`: the bars come
//! from the data directory's journal. A read: the journal is opened and folded here into
//! a candle store (as the market-data actor does on start), nothing is appended, no
//! actor runs. The journal is open in one process at a time, so the service must not be
//! running on the same data directory: that case says what to do instead.

use super::{load_settings, SettingsArgs};
use std::process::ExitCode;
use tradpal_actors::backtest::bars::RangePages;
use tradpal_actors::backtest::request::parse_date;
use tradpal_actors::market_data::actor::store_error;
use tradpal_actors::market_data::{CandleStore, CANDLES_PAGE_MAX};
use tradpal_journal::{Journal, JournalOptions};
use tradpal_messages::{Candle, Event, EventKind, Timeframe};

/// The stored complete bars of each of `symbols` (`--symbol`, comma-separated) at
/// `timeframe` in `[start, end)` (`--start-date`, `--end-date`); a usage problem prints
/// and gives exit code 2, a missing series or a journal held by the service 1. Takes the
/// flags it reads rather than the backtest's `RunArgs`, so this module does not depend
/// on the command that calls it.
pub fn load(
    settings: &SettingsArgs,
    (start, end): (Option<&str>, Option<&str>),
    symbols: &[String],
    timeframe: Timeframe,
) -> anyhow::Result<Result<Vec<Vec<Candle>>, ExitCode>> {
    let settings = match load_settings(settings) {
        Ok(s) => s,
        Err(code) => return Ok(Err(code)),
    };
    // No dates given: the configured BACKTEST_START_DATE / END_DATE, as over HTTP.
    let (mut from, mut to) = (start.map(str::to_string), end.map(str::to_string));
    tradpal_actors::backtest::request::RunDefaults::from_settings(&settings).fill_dates(&mut from, &mut to);
    let date = |flag: &'static str, v: &Option<String>| v.as_deref().map(|d| parse_date(flag, d)).transpose();
    let (start, end) = match (date("--start-date", &from), date("--end-date", &to)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(Err(ExitCode::from(2)));
        }
    };
    let dir = settings.data_dir.clone();
    let store = match stored_candles(&dir) {
        Ok(s) => s,
        Err(why) => {
            eprintln!(
                "error: {}",
                super::journal_open_failed(&dir, &why.to_string(), "run the backtest through it: POST /api/backtest/run")
            );
            return Ok(Err(ExitCode::from(1)));
        }
    };
    let mut all = Vec::with_capacity(symbols.len());
    for symbol in symbols {
        let mut pages = RangePages::new(symbol, timeframe, start, end);
        let mut cursor = start;
        let bars = loop {
            let page = store.range(symbol, timeframe, cursor, end, CANDLES_PAGE_MAX).map_err(store_error);
            match pages.push(page) {
                Ok(Some(next)) => cursor = Some(next),
                Ok(None) => break pages.finish(),
                Err(e) => break Err(e),
            }
        };
        match bars {
            Ok(b) => all.push(b),
            Err(e) => {
                eprintln!("error: reading the stored bars from {}: {}", dir.display(), e.message);
                return Ok(Err(ExitCode::from(1)));
            }
        }
    }
    Ok(Ok(all))
}

/// Every `CandlesIngested` record of the journal folded into a store.
fn stored_candles(dir: &std::path::Path) -> anyhow::Result<CandleStore> {
    let (journal, _) = Journal::open(dir, JournalOptions::default())?;
    let mut store = CandleStore::default();
    let last = journal.last_sequence();
    if last > 0 {
        for env in journal.read_range(1, last) {
            let env = env?;
            if env.kind == EventKind::CandlesIngested {
                if let Event::CandlesIngested(e) = &env.event {
                    store.apply(e).map_err(|why| anyhow::anyhow!("journal sequence {}: {why}", env.sequence))?;
                }
            }
        }
    }
    journal.close()?;
    Ok(store)
}
