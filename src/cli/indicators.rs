//! `tradpal indicators FILE.csv`: every indicator series of a candle file, computed by
//! the same code the service uses. Needs no service and no journal.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tradpal_actors::market_data::compute_all;
use tradpal_messages::Timeframe;

#[derive(clap::Args, Debug)]
pub struct IndicatorsArgs {
    /// OHLCV CSV file.
    pub file: PathBuf,
    /// Bar length of the file; default: inferred from the bars' spacing. A value that
    /// disagrees with the spacing is refused.
    #[arg(long)]
    pub timeframe: Option<Timeframe>,
    /// Print JSON: {"open_time": [...], "columns": {"sma_20": [null, ..., 101.2], ...}}.
    #[arg(long)]
    pub json: bool,
    /// Only these indicators (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    pub names: Vec<String>,
    /// Time the kernels instead (best of RUNS calls each, after one untimed call) and
    /// print one `TRADPAL_INDICATORS {...}` JSON line of milliseconds: the tradpal side
    /// of `TALIB=1 scripts/compare-peers.sh` (see `indicators_bench.rs`).
    #[arg(long, value_name = "RUNS", value_parser = clap::value_parser!(u64).range(1..=super::indicators_bench::BENCH_RUNS_MAX as u64))]
    pub bench: Option<u64>,
    /// With --bench: only the first N bars (e.g. 1000000, as `bench_talib.py RUNS 1000000`).
    #[arg(long, value_name = "N", requires = "bench")]
    pub bars: Option<usize>,
}

pub fn run(args: IndicatorsArgs) -> anyhow::Result<ExitCode> {
    let bars = match super::candle_file::read(&args.file, args.timeframe, "the indicators")? {
        Ok((bars, _)) => bars,
        Err(code) => return Ok(code),
    };
    if let Some(runs) = args.bench {
        let n = args.bars.unwrap_or(bars.len()).min(bars.len());
        let timings = super::indicators_bench::run(&bars[..n], runs as usize);
        println!("TRADPAL_INDICATORS {timings}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = compute_all(&bars);
    if !args.names.is_empty() {
        if let Some(bad) = args.names.iter().find(|n| !table.columns.contains_key(*n)) {
            let known: Vec<&str> = table.columns.keys().map(String::as_str).collect();
            eprintln!("error: unknown indicator {bad:?}; known: {}", known.join(", "));
            return Ok(ExitCode::from(2));
        }
        table.columns.retain(|k, _| args.names.contains(k));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer(&mut out, &table)?;
        writeln!(out)?;
    } else {
        let names: Vec<&String> = table.columns.keys().collect();
        writeln!(out, "timestamp,{}", names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))?;
        for (i, t) in table.open_time.iter().enumerate() {
            write!(out, "{t}")?;
            for n in &names {
                match table.columns[*n].get(i) {
                    Some(v) => write!(out, ",{v}")?,
                    None => write!(out, ",")?,
                }
            }
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
