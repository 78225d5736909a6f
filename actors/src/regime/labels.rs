//! True-regime label files, as `tradpal data synth --labels` writes them
//! (`synth::labels_csv`): a header `timestamp,trend,volatility`, then one row per bar,
//! e.g. `2024-01-01T00:00:00Z,bull,low`. Read by `tradpal regime evaluate --labels`.
//!
//! Parsing streams (one reused line buffer, bounded line length) and refuses, naming the
//! 1-based line: a wrong header, a wrong field count, an unknown regime name, a bad
//! timestamp, or a timestamp not after the previous row's. A trailing `\r` (CRLF files)
//! and a UTF-8 byte-order mark before the header are accepted; blank lines are skipped.

use super::error::RegimeError;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read};
use tradpal_messages::regime::{RegimeLabel, Trend, Vol};
use tradpal_messages::{Candle, Timestamp};

/// The header line.
pub const LABELS_HEADER: &str = "timestamp,trend,volatility";
/// Longest line accepted, in bytes (a row is about 36).
pub const LABEL_LINE_BYTES_MAX: usize = 256;
/// Most rows read from one file (the synth's own maximum bar count).
pub const LABEL_ROWS_MAX: usize = crate::market_data::synth::SYNTH_BARS_MAX;

/// One labelled bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabeledBar {
    pub open_time: Timestamp,
    pub label: RegimeLabel,
}

fn err(line: usize, message: impl Into<String>) -> RegimeError {
    RegimeError::LabelsCsv { line, message: message.into() }
}

/// Reads one line into `buf` (without the line ending); `Ok(false)` at end of input.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>, line: usize) -> Result<bool, RegimeError> {
    buf.clear();
    let n = Read::take(&mut *reader, LABEL_LINE_BYTES_MAX as u64 + 2)
        .read_until(b'\n', buf)
        .map_err(|e| err(line, format!("read error: {e}")))?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if n > LABEL_LINE_BYTES_MAX {
        return Err(err(line, format!("line longer than {LABEL_LINE_BYTES_MAX} bytes")));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    if buf.len() > LABEL_LINE_BYTES_MAX {
        return Err(err(line, format!("line longer than {LABEL_LINE_BYTES_MAX} bytes")));
    }
    Ok(true)
}

fn parse_row(text: &str, line: usize) -> Result<LabeledBar, RegimeError> {
    let fields: Vec<&str> = text.split(',').collect();
    let [time, trend, vol] = fields[..] else {
        return Err(err(line, format!("expected 3 fields (timestamp,trend,volatility), got {}", fields.len())));
    };
    let open_time: Timestamp = time.trim().parse().map_err(|e| err(line, format!("timestamp: {e}")))?;
    let trend = Trend::ALL
        .into_iter()
        .find(|t| t.as_str() == trend.trim())
        .ok_or_else(|| err(line, format!("trend {:?} is not one of bull, bear, sideways", trend.chars().take(32).collect::<String>())))?;
    let volatility = Vol::ALL
        .into_iter()
        .find(|v| v.as_str() == vol.trim())
        .ok_or_else(|| err(line, format!("volatility {:?} is not one of low, normal, high", vol.chars().take(32).collect::<String>())))?;
    Ok(LabeledBar { open_time, label: RegimeLabel { trend, volatility } })
}

/// Parses a label file (see the module doc).
pub fn parse_labels_csv(mut reader: impl BufRead) -> Result<Vec<LabeledBar>, RegimeError> {
    let mut buf = Vec::with_capacity(LABEL_LINE_BYTES_MAX + 2);
    if !read_line(&mut reader, &mut buf, 1)? {
        return Err(err(1, format!("empty file: expected the header {LABELS_HEADER}")));
    }
    let header = buf.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&buf);
    if header != LABELS_HEADER.as_bytes() {
        return Err(err(1, format!("header must be {LABELS_HEADER:?}, got {:?}", String::from_utf8_lossy(header))));
    }
    let mut rows: Vec<LabeledBar> = Vec::new();
    let mut line = 1;
    loop {
        line += 1;
        if !read_line(&mut reader, &mut buf, line)? {
            return Ok(rows);
        }
        let text = std::str::from_utf8(&buf).map_err(|_| err(line, "not UTF-8"))?;
        if text.trim().is_empty() {
            continue;
        }
        let row = parse_row(text, line)?;
        if let Some(prev) = rows.last() {
            if row.open_time <= prev.open_time {
                return Err(err(line, format!("timestamp {} is not after the previous row's {}", row.open_time, prev.open_time)));
            }
        }
        if rows.len() == LABEL_ROWS_MAX {
            return Err(err(line, format!("more than {LABEL_ROWS_MAX} rows")));
        }
        rows.push(row);
    }
}

/// The true label of every candle, matched by open time (labels sorted, as parsed).
/// Every candle needs a label; labels for other bars are ignored.
pub fn labels_for(candles: &[Candle], labels: &[LabeledBar]) -> Result<Vec<RegimeLabel>, RegimeError> {
    candles
        .iter()
        .map(|c| {
            labels
                .binary_search_by(|l| l.open_time.cmp(&c.open_time))
                .map(|i| labels[i].label)
                .map_err(|_| RegimeError::MissingLabel { open_time: c.open_time })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::synth::{generate, labels_csv, SynthParams};

    #[test]
    fn reads_what_synth_writes() {
        let s = generate(&SynthParams { bars: 500, mean_regime_bars: 50, ..SynthParams::default() }).unwrap();
        let rows = parse_labels_csv(labels_csv(&s).as_bytes()).unwrap();
        assert_eq!(rows.len(), 500);
        assert!(rows.iter().zip(&s.candles).all(|(r, c)| r.open_time == c.open_time));
        assert_eq!(labels_for(&s.candles, &rows).unwrap(), s.labels);
        // CRLF, a BOM and blank lines are fine.
        let crlf = format!("\u{feff}{}\r\n\r\n2024-01-01T00:00:00Z,bear,high\r\n", LABELS_HEADER);
        let rows = parse_labels_csv(crlf.as_bytes()).unwrap();
        assert_eq!(rows[0].label, RegimeLabel { trend: Trend::Bear, volatility: Vol::High });
        // A candle without a label is an error naming it.
        let err = labels_for(&s.candles, &[]).unwrap_err().to_string();
        assert!(err.starts_with("no true label for the bar at 2024-01-01T00:00:00Z"), "{err}");
    }

    #[test]
    fn refuses_bad_files_naming_the_line() {
        let cases = [
            ("", "labels CSV line 1: empty file"),
            ("time,trend,vol\n", "labels CSV line 1: header must be"),
            ("timestamp,trend,volatility\n2024-01-01T00:00:00Z,bull\n", "line 2: expected 3 fields"),
            ("timestamp,trend,volatility\n2024-01-01T00:00:00Z,up,low\n", "line 2: trend \"up\" is not one of"),
            ("timestamp,trend,volatility\n2024-01-01T00:00:00Z,bull,mid\n", "line 2: volatility \"mid\""),
            ("timestamp,trend,volatility\nyesterday,bull,low\n", "line 2: timestamp: invalid timestamp"),
            (
                "timestamp,trend,volatility\n2024-01-01T00:01:00Z,bull,low\n2024-01-01T00:00:00Z,bull,low\n",
                "line 3: timestamp 2024-01-01T00:00:00Z is not after",
            ),
        ];
        for (text, want) in cases {
            let got = parse_labels_csv(text.as_bytes()).unwrap_err().to_string();
            assert!(got.contains(want), "{text:?}: {got}");
        }
        let long = format!("{LABELS_HEADER}\n{}\n", "x".repeat(10_000));
        assert!(parse_labels_csv(long.as_bytes()).unwrap_err().to_string().contains("line 2: line longer than 256 bytes"));
        assert!(parse_labels_csv(&b"timestamp,trend,volatility\n\xff\xfe,bull,low\n"[..]).is_err());
    }
}
