//! `tradpal data import|synth`: candles into the journal, and synthetic candle files.
//!
//! `import` runs the service's own market-data actor in this process (no HTTP), so a
//! file lands exactly as candles posted over HTTP do: validated against what is stored,
//! journaled durably, idempotent on re-import. The journal may be open in one process
//! at a time: stop the service first, or post the candles to it over HTTP instead.

use super::{load_settings, SettingsArgs};
use anyhow::Context;
use clap::Subcommand;
use std::io::{BufReader, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tradpal_actors::market_data::actor::{IngestReport, MarketDataMsg, RejectPolicy};
use tradpal_actors::market_data::{CsvReader, CsvRecord};
use tradpal_actors::{names, RequestMeta};
use tradpal_messages::{CorrelationId, DataSource, Timeframe};
use tradpal_runtime::{Runtime, RuntimeOptions};

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Import an OHLCV CSV file (`timestamp,open,high,low,close,volume`; RFC 3339 or
    /// epoch-ms timestamps marking each bar's open) into the journal.
    Import {
        #[command(flatten)]
        settings: SettingsArgs,
        /// Symbol, e.g. BTC/USDT.
        #[arg(long)]
        symbol: String,
        /// Bar length of the file: 1m, 5m, 15m, 1h, 4h or 1d.
        #[arg(long)]
        timeframe: Timeframe,
        /// Store the good rows even if some are rejected (default: all or nothing).
        #[arg(long)]
        keep_good: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        file: PathBuf,
    },
    /// Write synthetic regime-switching candles (and, optionally, each bar's true regime)
    /// from a seed: demos, scale tests, and ground truth for regime detection.
    Synth {
        /// Number of bars.
        #[arg(long, default_value_t = 10_000)]
        bars: usize,
        #[arg(long, default_value = "1m")]
        timeframe: Timeframe,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Open time of the first bar (RFC 3339, on a bar boundary).
        #[arg(long, default_value = "2024-01-01T00:00:00Z")]
        start: tradpal_messages::Timestamp,
        #[arg(long, default_value_t = 100.0)]
        start_price: f64,
        /// Mean regime length in bars.
        #[arg(long, default_value_t = 500)]
        mean_regime_bars: usize,
        /// Bull/bear drift per bar in units of the bar's volatility (0..=1).
        #[arg(long, default_value_t = tradpal_actors::market_data::synth::DEFAULT_TREND_STRENGTH)]
        trend_strength: f64,
        /// Candle CSV to write (the import format).
        #[arg(long)]
        out: PathBuf,
        /// Also write `timestamp,trend,volatility` with each bar's true regime.
        #[arg(long)]
        labels: Option<PathBuf>,
    },
}

pub fn run(cmd: DataCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DataCommand::Synth { bars, timeframe, seed, start, start_price, mean_regime_bars, trend_strength, out, labels } => {
            use tradpal_actors::market_data::synth;
            let params = synth::SynthParams { bars, timeframe, start, start_price, seed, mean_regime_bars, trend_strength };
            let s = match synth::generate(&params) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            std::fs::write(&out, synth::candles_csv(&s)).with_context(|| format!("cannot write {}", out.display()))?;
            if let Some(path) = &labels {
                std::fs::write(path, synth::labels_csv(&s)).with_context(|| format!("cannot write {}", path.display()))?;
            }
            eprintln!("wrote {} {timeframe} bars (seed {seed}) to {}", s.candles.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        DataCommand::Import { settings, symbol, timeframe, keep_good, json, file } => {
            let settings = match load_settings(&settings) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let rows = read_rows(&file)?;
            let times = rows.iter().filter_map(|r| match r {
                CsvRecord::Row(row) => Some(row.candle.open_time),
                CsvRecord::Rejected(_) => None,
            });
            if let Err(e) = tradpal_actors::market_data::check_timeframe(times, timeframe) {
                eprintln!("error: {}: {e}", file.display());
                return Ok(ExitCode::from(2));
            }
            let policy = if keep_good { RejectPolicy::KeepGood } else { RejectPolicy::AllOrNothing };
            let dir = settings.data_dir.clone();
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let report = rt.block_on(async move {
                let runtime = match Runtime::start(settings, RuntimeOptions::default()).await {
                    Ok(r) => r,
                    Err(e) => return Err(Err(format!("{e:#}"))),
                };
                let result = ingest(symbol, timeframe, rows, policy).await;
                runtime.shutdown().await;
                result.map_err(Ok)
            });
            let report = match report {
                Ok(r) => r,
                Err(Ok(e)) => return Err(e),
                Err(Err(why)) => {
                    eprintln!("error: {}", super::journal_open_failed(&dir, &why, "import the candles through it: POST /api/data/candles"));
                    return Ok(ExitCode::from(1));
                }
            };
            print_report(&report, json)?;
            Ok(if report.rejected_total > 0 && !report.stored { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}

async fn ingest(symbol: String, timeframe: Timeframe, rows: Vec<CsvRecord>, policy: RejectPolicy) -> anyhow::Result<IngestReport> {
    let actor = ractor::ActorRef::<MarketDataMsg>::where_is(names::MARKET_DATA).context("market-data actor not running")?;
    // A fresh correlation id per import: unseeded on purpose (the CLI edge).
    #[allow(clippy::disallowed_methods)]
    let meta = RequestMeta { request_id: None, correlation_id: CorrelationId(rand::random()) };
    let reply =
        ractor::call!(actor, |reply| MarketDataMsg::Ingest { symbol, timeframe, source: DataSource::Csv, rows, policy, meta, reply })
            .map_err(|e| anyhow::anyhow!("market-data actor: {e}"))?;
    reply.map_err(|e| anyhow::anyhow!("{e}"))
}

/// Parses the whole file, showing progress (bytes read) on a terminal for large files.
fn read_rows(file: &PathBuf) -> anyhow::Result<Vec<CsvRecord>> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    let reader = BufReader::with_capacity(1 << 20, Counting { inner: f, read: read.clone() });
    let bar = (std::io::stderr().is_terminal() && total > PROGRESS_BYTES_MIN)
        .then(|| super::progress::bar(&format!("parsing {}", file.display()), "bytes", total));
    let mut rows = Vec::new();
    let parser = CsvReader::new(reader).with_context(|| format!("{}: not an OHLCV CSV", file.display()))?;
    for (i, record) in parser.enumerate() {
        rows.push(record.with_context(|| format!("reading {}", file.display()))?);
        if let Some(bar) = bar.as_ref().filter(|_| i % PROGRESS_ROWS_EVERY == 0) {
            bar.set_position(read.load(Ordering::Relaxed));
        }
    }
    if let Some(bar) = bar {
        bar.set_position(total);
        bar.finish();
    }
    Ok(rows)
}

/// Files smaller than this parse without a progress bar.
const PROGRESS_BYTES_MIN: u64 = 8 << 20;
/// Rows between two updates of the parsing bar.
const PROGRESS_ROWS_EVERY: usize = 100_000;

struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn print_report(r: &IngestReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let rows = r.accepted + r.duplicates_dropped + r.rejected_total;
    let verdict = match (r.stored, r.rejected_total) {
        (true, _) => format!("stored {} new bars", r.accepted),
        (false, 0) => "nothing new to store".to_string(),
        (false, _) => "NOTHING STORED: fix the rejected rows or pass --keep-good".to_string(),
    };
    println!("{} {}: {verdict}", r.symbol, r.timeframe);
    println!("  rows {rows}: accepted {}, duplicates dropped {}, rejected {}", r.accepted, r.duplicates_dropped, r.rejected_total);
    if let (Some(a), Some(b)) = (r.first_bar, r.last_bar) {
        println!("  bars {a} .. {b}");
    }
    println!("  gaps {} ({} missing bars)", r.gaps_total, r.missing_bars_total);
    for g in r.gaps.iter().take(10) {
        println!("    {} .. {} ({} bar{})", g.from, g.to, g.missing_bars, if g.missing_bars == 1 { "" } else { "s" });
    }
    for rej in &r.rejected {
        println!("  rejected {rej}");
    }
    if r.rejected_total > r.rejected.len() {
        println!("  ... and {} more rejected rows", r.rejected_total - r.rejected.len());
    }
    if !r.sequences.is_empty() {
        println!("  journal sequences {}..={}", r.sequences[0], r.sequences[r.sequences.len() - 1]);
    }
    Ok(())
}
