//! A candle CSV as the offline commands read it (`backtest --data`, `optimize`,
//! `walk-forward`, `indicators`, `regime evaluate`): every row valid, and a bar length
//! that matches the bars' spacing, inferred when not given.

use anyhow::Context;
use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;
use tradpal_actors::market_data::{check_timeframe, import_csv_sized, infer_timeframe, validate_batch, CsvLimits, ValidationReport};
use tradpal_messages::{Candle, Timeframe};

/// The file's candles and their timeframe. With `timeframe`, the bars' typical spacing
/// must be it (daily bars claimed as hourly would pass the grid check and inflate every
/// annualised number 24-fold); without, it is inferred from the spacing. Rejected rows
/// are printed (exit code 1); a spacing that disagrees or is not a timeframe, too
/// (exit code 2).
pub fn read(path: &Path, timeframe: Option<Timeframe>, what: &str) -> anyhow::Result<Result<(Vec<Candle>, Timeframe), ExitCode>> {
    // Without a timeframe, read on the finest grid first: every coarser bar is on it.
    let bars = match load(path, timeframe.unwrap_or(Timeframe::M1), what)? {
        Ok(b) => b,
        Err(code) => return Ok(Err(code)),
    };
    let times = bars.iter().map(|c| c.open_time);
    let resolved = match timeframe {
        Some(tf) => check_timeframe(times, tf).map(|_| tf),
        None => infer_timeframe(times),
    };
    let tf = match resolved {
        Ok(tf) => tf,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return Ok(Err(ExitCode::from(2)));
        }
    };
    if timeframe.is_none() && tf != Timeframe::M1 {
        // Check the bars again on the inferred grid (alignment, gaps), without reading
        // the file a second time: the same rules the import applied.
        return Ok(clean(validate_batch(tf, &bars), path, what).map(|b| (b, tf)));
    }
    Ok(Ok((bars, tf)))
}

fn load(path: &Path, timeframe: Timeframe, what: &str) -> anyhow::Result<Result<Vec<Candle>, ExitCode>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let bytes = f.metadata().ok().map(|m| m.len());
    let report = import_csv_sized(BufReader::with_capacity(1 << 20, f), bytes, timeframe, None, CsvLimits::default())
        .with_context(|| format!("{}: not an OHLCV CSV", path.display()))?;
    Ok(clean(report, path, what))
}

/// The accepted bars, or the rejected rows printed and exit code 1.
fn clean(report: ValidationReport, path: &Path, what: &str) -> Result<Vec<Candle>, ExitCode> {
    if report.rejected_total > 0 {
        for r in report.rejected.iter().take(10) {
            eprintln!("rejected {r}");
        }
        let rows = if report.rejected_total == 1 { "row" } else { "rows" };
        eprintln!("error: {}: {} {rows} rejected; {what} needs a clean series", path.display(), report.rejected_total);
        return Err(ExitCode::from(1));
    }
    Ok(report.accepted)
}
