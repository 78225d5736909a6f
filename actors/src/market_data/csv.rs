//! A streaming parser for OHLCV CSV: `timestamp,open,high,low,close,volume`.
//!
//! Hand-written for the one flat format the service reads: six comma-separated fields,
//! no embedded commas. Kept because it wins its benchmark (issue 23): on 1,000,000
//! workload-shaped rows in memory (`cargo bench -p tradpal-actors --bench market_data --
//! csv/`), this parser took 96 ms and the `csv` crate's `ByteRecord` reader, with the
//! same timestamp and number parsing after it, 303 ms (one run each on a shared 2-core
//! VM, 2026-12-04). It streams from any [`BufRead`]: a line whose end is in the reader's
//! buffer (nearly all) is parsed where it lies, the common row
//! (`YYYY-MM-DDTHH:MM:SSZ` and five plain decimals) in one pass with the date's midnight
//! reused from the row before; other lines are copied into one reused buffer first. So
//! millions of rows never sit in memory and a row costs no allocation unless it is
//! rejected.
//!
//! Tolerated: a UTF-8 byte-order mark, header names in any case, spaces or tabs around
//! fields, a field wrapped in double quotes, `\r\n` line ends, blank lines (skipped, but
//! still counted in line numbers). Timestamps (UTC bar open): RFC 3339
//! (`2021-12-31T23:01:00Z`, offsets and fractions allowed), `YYYY-MM-DD HH:MM:SS` or
//! `YYYY-MM-DDTHH:MM:SS` without a zone (read as UTC, the format's convention),
//! `YYYY-MM-DD` (midnight UTC), or integer epoch milliseconds.
//!
//! A malformed row does not stop the parse: it becomes a [`Rejection`] with its line
//! number; only an I/O error or a missing header ends it. Numbers are checked for syntax
//! only: "nan" and "inf" parse, and the validator refuses them with the field's name.

use super::rejection::{excerpt, Field, Problem, Rejection};
use std::io::{self, BufRead, Read};
use tradpal_messages::time::{NANOS_PER_MILLI, NANOS_PER_SEC};
use tradpal_messages::{Candle, Timestamp};

/// The header, in order (compared case-insensitively, fields trimmed).
pub const CSV_HEADER: [&str; 6] = ["timestamp", "open", "high", "low", "close", "volume"];

/// Bounds on what the parser holds in memory for one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvLimits {
    /// Longest line accepted, terminator excluded; a longer one is rejected and skipped
    /// without being buffered, so a file with no newlines cannot exhaust memory.
    pub line_bytes_max: usize,
}

impl Default for CsvLimits {
    fn default() -> Self {
        // A row of six full-precision floats and a timestamp is under 200 bytes.
        Self { line_bytes_max: 4096 }
    }
}

/// Why a parse stopped. Bad rows do not stop it: they come out as [`CsvRecord::Rejected`].
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("reading line {line}: {source}")]
    Io {
        line: usize,
        #[source]
        source: io::Error,
    },
    #[error("the input is empty: expected the header line timestamp,open,high,low,close,volume")]
    Empty,
    #[error("line {line}: expected the header timestamp,open,high,low,close,volume, found {found:?}")]
    Header { line: usize, found: String },
}

/// A parsed row (syntax only; see the validator for the rules).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CsvRow {
    /// 0-based index among data rows (header and blank lines excluded).
    pub row: usize,
    /// 1-based line number in the input.
    pub line: usize,
    pub candle: Candle,
}

/// One data line's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum CsvRecord {
    Row(CsvRow),
    Rejected(Rejection),
}

/// Iterates the data rows of a CSV input; the header is checked by [`CsvReader::new`].
/// Yields `Err` at most once (an I/O error), then ends.
#[derive(Debug)]
pub struct CsvReader<R> {
    reader: R,
    buf: Vec<u8>,
    line: usize,
    row: usize,
    limits: CsvLimits,
    failed: bool,
    days: DayCache,
}

enum LineRead {
    Eof,
    Line,
    TooLong,
}

impl<R: BufRead> CsvReader<R> {
    /// Reads and checks the header (the first non-blank line).
    pub fn new(reader: R) -> Result<Self, CsvError> {
        Self::with_limits(reader, CsvLimits::default())
    }

    pub fn with_limits(reader: R, limits: CsvLimits) -> Result<Self, CsvError> {
        let mut this = Self { reader, buf: Vec::with_capacity(256), line: 0, row: 0, limits, failed: false, days: DayCache::default() };
        loop {
            let read = this.read_line()?;
            let text = trim_line(&this.buf);
            let text = text.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(text).trim_ascii();
            match read {
                LineRead::Eof => return Err(CsvError::Empty),
                LineRead::TooLong => return Err(CsvError::Header { line: this.line, found: "(line too long)".into() }),
                LineRead::Line if text.is_empty() => continue,
                LineRead::Line if is_header(text) => return Ok(this),
                LineRead::Line => return Err(CsvError::Header { line: this.line, found: excerpt(text) }),
            }
        }
    }

    /// The 1-based number of the last line read.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Reads the next line into `buf` (at most `line_bytes_max` bytes of it).
    fn read_line(&mut self) -> Result<LineRead, CsvError> {
        let read = read_line_limited(&mut self.reader, &mut self.buf, self.limits.line_bytes_max);
        match read {
            Ok(LineRead::Eof) => Ok(LineRead::Eof),
            Ok(other) => {
                self.line += 1;
                Ok(other)
            }
            Err(source) => Err(CsvError::Io { line: self.line + 1, source }),
        }
    }
}

impl<R: BufRead> CsvReader<R> {
    /// The next data record when its whole line is in the reader's buffer (nearly every
    /// line, with a buffer of many lines): parsed where it lies, without copying it.
    /// Blank lines there are skipped. `Ok(None)` when the next line is not all there
    /// (it crosses the buffer's end, or is over the limit, or is the last one without a
    /// newline): [`CsvReader::read_line`] takes it then.
    fn next_in_buffer(&mut self) -> Result<Option<CsvRecord>, CsvError> {
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(CsvError::Io { line: self.line + 1, source }),
            };
            let Some(end) = memchr::memchr(b'\n', available) else { return Ok(None) };
            let text = trim_line(&available[..end]);
            if text.len() > self.limits.line_bytes_max {
                return Ok(None);
            }
            self.line += 1;
            let record = match text.trim_ascii().is_empty() {
                true => None,
                false => Some(match parse_common_row(text, &mut self.days) {
                    Some(candle) => CsvRecord::Row(CsvRow { row: self.row, line: self.line, candle }),
                    None => parse_row(text, self.row, self.line),
                }),
            };
            self.reader.consume(end + 1);
            if let Some(record) = record {
                self.row += 1;
                return Ok(Some(record));
            }
        }
    }
}

impl<R: BufRead> Iterator for CsvReader<R> {
    type Item = Result<CsvRecord, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            match self.next_in_buffer() {
                Ok(Some(record)) => return Some(Ok(record)),
                Ok(None) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
            let read = match self.read_line() {
                Ok(read) => read,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            let text = trim_line(&self.buf);
            if matches!(read, LineRead::Line) && text.trim_ascii().is_empty() {
                continue;
            }
            let (row, line) = (self.row, self.line);
            self.row += 1;
            return match read {
                LineRead::Eof => None,
                LineRead::TooLong => {
                    let problem = Problem::LineTooLong { bytes_max: self.limits.line_bytes_max };
                    Some(Ok(CsvRecord::Rejected(Rejection { row, line: Some(line), field: None, problem })))
                }
                LineRead::Line => Some(Ok(parse_row(text, row, line))),
            };
        }
    }
}

/// Parses one data line (terminator already removed).
pub fn parse_row(text: &[u8], row: usize, line: usize) -> CsvRecord {
    let reject = |field, problem| CsvRecord::Rejected(Rejection { row, line: Some(line), field, problem });
    let mut fields: [&[u8]; 6] = [&[]; 6];
    let mut found = 0;
    for field in text.split(|&b| b == b',') {
        if let Some(slot) = fields.get_mut(found) {
            *slot = unquote(field);
        }
        found += 1;
    }
    if found != fields.len() {
        return reject(None, Problem::ColumnCount { found, expected: fields.len() });
    }
    let Some(open_time) = parse_timestamp(fields[0]) else {
        return reject(Some(Field::OpenTime), Problem::BadTimestamp { text: excerpt(fields[0]) });
    };
    let mut values = [0.0f64; 5];
    for ((value, text), field) in values.iter_mut().zip(&fields[1..]).zip(&Field::CSV_ORDER[1..]) {
        match parse_number(text) {
            Some(v) => *value = v,
            None => return reject(Some(*field), Problem::NotANumber { text: excerpt(text) }),
        }
    }
    let [open, high, low, close, volume] = values;
    CsvRecord::Row(CsvRow { row, line, candle: Candle { open_time, open, high, low, close, volume } })
}

/// The fast path for the common row, `YYYY-MM-DDTHH:MM:SSZ,n,n,n,n,n` with plain decimal
/// numbers (no spaces, quotes, exponents or more than 15 digits): parsed in one pass over
/// the line, without splitting it first. `None` for any other line, which then takes
/// [`parse_row`]; where both accept a line they give the same candle, to the bit (the
/// numbers go through [`parse_plain_decimal`]'s arithmetic; the date through
/// [`parse_timestamp`], once per day, see [`DayCache`]).
fn parse_common_row(line: &[u8], days: &mut DayCache) -> Option<Candle> {
    let (stamp, mut rest) = (line.get(..20)?, line.get(20..)?);
    let open_time = days.timestamp(stamp)?;
    let mut values = [0.0f64; 5];
    for (i, value) in values.iter_mut().enumerate() {
        rest = rest.strip_prefix(b",")?;
        let end;
        (*value, end) = plain_decimal_field(rest)?;
        rest = &rest[end..];
        if i == 4 && !rest.is_empty() {
            return None;
        }
    }
    let [open, high, low, close, volume] = values;
    Some(Candle { open_time, open, high, low, close, volume })
}

/// The last date seen in the fast path and its midnight: a 1m file has 1,440 rows a day,
/// and each row then costs only its time of day.
#[derive(Debug, Clone, Copy, Default)]
struct DayCache {
    date: [u8; 10],
    midnight: Option<Timestamp>,
}

impl DayCache {
    /// `YYYY-MM-DDTHH:MM:SSZ` exactly (20 bytes), as [`parse_timestamp`] reads it.
    fn timestamp(&mut self, stamp: &[u8]) -> Option<Timestamp> {
        let [date @ .., b'T', h1, h0, b':', m1, m0, b':', s1, s0, b'Z'] = stamp else { return None };
        let two = |hi: u8, lo: u8| {
            let (hi, lo) = (hi.wrapping_sub(b'0'), lo.wrapping_sub(b'0'));
            (hi <= 9 && lo <= 9).then(|| i64::from(hi * 10 + lo))
        };
        let (hours, minutes, seconds) = (two(*h1, *h0)?, two(*m1, *m0)?, two(*s1, *s0)?);
        if hours > 23 || minutes > 59 || seconds > 59 {
            return None;
        }
        let nanos = ((hours * 60 + minutes) * 60 + seconds) * NANOS_PER_SEC;
        let midnight = match self.midnight {
            Some(midnight) if self.date == *date => midnight,
            _ => {
                // A new date: the general parser checks it (calendar, range) once.
                let midnight = Timestamp(parse_timestamp(stamp)?.0 - nanos);
                (self.date, self.midnight) = (date.try_into().ok()?, Some(midnight));
                midnight
            }
        };
        Some(Timestamp(midnight.0 + nanos))
    }
}

/// Parses a CSV timestamp (see the module doc for the forms accepted).
pub fn parse_timestamp(text: &[u8]) -> Option<Timestamp> {
    // The RFC 3339 parser slices by byte offsets: only hand it ASCII.
    if !text.is_ascii() {
        return None;
    }
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        let millis: i64 = std::str::from_utf8(text).ok()?.parse().ok()?;
        return millis.checked_mul(NANOS_PER_MILLI).map(Timestamp);
    }
    // `YYYY-MM-DD HH:MM:SS` with no zone: UTC by this format's convention. Append the `Z`
    // on the stack rather than allocating a string per row.
    if text.len() == 19 {
        let mut zoned = [b'Z'; 20];
        zoned[..19].copy_from_slice(text);
        return Timestamp::parse_rfc3339(std::str::from_utf8(&zoned).ok()?).ok();
    }
    Timestamp::parse_rfc3339(std::str::from_utf8(text).ok()?).ok()
}

/// Parses a CSV number field (already trimmed): Rust's float syntax, with a fast path
/// for plain decimals that gives the same bits.
pub fn parse_number(text: &[u8]) -> Option<f64> {
    match parse_plain_decimal(text) {
        Some(v) => Some(v),
        None => std::str::from_utf8(text).ok()?.parse().ok(),
    }
}

/// Powers of ten a double holds exactly (10^0 ..= 10^22).
const EXACT_POWERS_OF_TEN: [f64; 23] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/// The plain decimal at the start of `text`, up to its first comma or its end (the form
/// and why it is exact: [`parse_plain_decimal`]), and the field's length: one pass over
/// the bytes where splitting first takes three (find the comma, find the dot, read the
/// digits). A property test checks that a field reads as its text up to the comma does.
fn plain_decimal_field(text: &[u8]) -> Option<(f64, usize)> {
    let negative = text.first() == Some(&b'-');
    let start = usize::from(negative);
    let (mut mantissa, mut dot, mut end) = (0u64, None, start);
    while let Some(&b) = text.get(end) {
        let digit = b.wrapping_sub(b'0');
        if digit <= 9 {
            // Wraps only past 19 digits, refused below (at most 15).
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
        } else if b == b'.' && dot.is_none() {
            dot = Some(end);
        } else if b == b',' {
            break;
        } else {
            return None;
        }
        end += 1;
    }
    let (int, frac) = match dot {
        Some(d) => (d - start, end - d - 1),
        None => (end - start, 0),
    };
    if int == 0 || (dot.is_some() && frac == 0) || int + frac > 15 {
        return None;
    }
    let value = mantissa as f64 / EXACT_POWERS_OF_TEN[frac];
    Some((if negative { -value } else { value }, end))
}

/// The common case of a price or volume, `[-]digits[.digits]` with at most 15 digits, in
/// one exact step: the digits as an integer (exact below 2^53) divided by an exact power
/// of ten is one correctly rounded division, the same double `str::parse` returns
/// (Clinger's fast path, which the standard parser also takes, minus its generality).
/// `None` for any other form; the caller then asks `str::parse`.
fn parse_plain_decimal(text: &[u8]) -> Option<f64> {
    // The whole text as one field: a comma ends a field early, and is refused here.
    plain_decimal_field(text).and_then(|(value, end)| (end == text.len()).then_some(value))
}

/// A field without surrounding whitespace and one pair of surrounding double quotes.
fn unquote(field: &[u8]) -> &[u8] {
    let field = field.trim_ascii();
    match field {
        [b'"', inner @ .., b'"'] => inner.trim_ascii(),
        _ => field,
    }
}

/// A line without its `\n` or `\r\n` terminator.
fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn is_header(text: &[u8]) -> bool {
    let mut names = text.split(|&b| b == b',').map(unquote);
    CSV_HEADER.iter().all(|want| names.next().is_some_and(|got| got.eq_ignore_ascii_case(want.as_bytes()))) && names.next().is_none()
}

/// Reads one line (terminator included) into `buf`, keeping at most `bytes_max` bytes
/// plus the terminator; a longer line is consumed to its end without being stored.
fn read_line_limited<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>, bytes_max: usize) -> io::Result<LineRead> {
    buf.clear();
    // Room for the line, "\r\n", and one byte more to detect an over-long line.
    let take = u64::try_from(bytes_max).unwrap_or(u64::MAX).saturating_add(3);
    if reader.by_ref().take(take).read_until(b'\n', buf)? == 0 {
        return Ok(LineRead::Eof);
    }
    if trim_line(buf).len() <= bytes_max {
        return Ok(LineRead::Line);
    }
    if buf.last() != Some(&b'\n') {
        skip_past_newline(reader)?;
    }
    buf.clear();
    Ok(LineRead::TooLong)
}

fn skip_past_newline<R: BufRead>(reader: &mut R) -> io::Result<()> {
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = available.len();
                reader.consume(n);
            }
        }
    }
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
