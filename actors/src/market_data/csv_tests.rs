//! Tests of the CSV reader (`csv.rs`).

use super::*;
use proptest::prelude::*;

fn records(text: &str) -> Vec<CsvRecord> {
    CsvReader::new(text.as_bytes()).unwrap().map(Result::unwrap).collect()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn problem_of(record: &CsvRecord) -> (usize, Option<usize>, Option<Field>, &Problem) {
    match record {
        CsvRecord::Rejected(r) => (r.row, r.line, r.field, &r.problem),
        CsvRecord::Row(row) => panic!("expected a rejection, got {row:?}"),
    }
}

#[test]
fn tolerates_bom_case_whitespace_quotes_crlf_and_blank_lines() {
    let text = concat!(
        "\u{feff} Timestamp , OPEN,High,low,Close, Volume \r\n",
        "\r\n",
        " 2021-12-31T23:01:00Z , 1.5,\"2\",1,1.5 ,10\r\n",
        "\n",
        "2021-12-31T23:02:00Z,1,1,1,1,0",
    );
    let out = records(text);
    let want = [
        CsvRow {
            row: 0,
            line: 3,
            candle: Candle { open_time: ts("2021-12-31T23:01:00Z"), open: 1.5, high: 2.0, low: 1.0, close: 1.5, volume: 10.0 },
        },
        CsvRow {
            row: 1,
            line: 5,
            candle: Candle { open_time: ts("2021-12-31T23:02:00Z"), open: 1.0, high: 1.0, low: 1.0, close: 1.0, volume: 0.0 },
        },
    ];
    assert_eq!(out, want.map(CsvRecord::Row).to_vec());
}

#[test]
fn plain_decimals_parse_to_the_standard_parsers_bits() {
    let mut x = 0x2545_f491_4f6c_dd1du64; // a fixed xorshift sequence
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..200_000 {
        let (int, frac, decimals) = (next() % 10_000_000, next() % 100_000_000, (next() % 9) as usize);
        let sign = if next() % 4 == 0 { "-" } else { "" };
        let text = if decimals == 0 {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{:0w$}", frac % 10u64.pow(decimals as u32), w = decimals)
        };
        let want: f64 = text.parse().unwrap();
        assert_eq!(parse_number(text.as_bytes()).map(f64::to_bits), Some(want.to_bits()), "{text}");
    }
    for text in ["1e5", ".5", "5.", "inf", "nan", "-", "", "1.2.3", "+1", "0x10", "12345678901234567", "1.0000000000000001"] {
        assert_eq!(parse_number(text.as_bytes()).map(f64::to_bits), text.parse::<f64>().ok().map(f64::to_bits), "{text}");
    }
}

#[test]
fn the_fast_path_reads_what_the_general_parser_reads() {
    let candle = |line: &str| match parse_row(line.as_bytes(), 0, 1) {
        CsvRecord::Row(row) => Some(row.candle),
        CsvRecord::Rejected(_) => None,
    };
    let mut days = DayCache::default();
    // Lines the fast path takes, across days and a leap day, and lines it leaves to
    // the general parser (which accepts some of them and rejects others).
    let taken = [
        "2024-02-28T23:59:00Z,50000.00,50024.88,49992.46,50019.86,36.8329",
        "2024-02-29T00:00:00Z,1,2,0.5,-0.0,0",
        "2024-02-29T13:07:59Z,123456789012345,0.00000000000001,7.5,7.50,12",
        "1970-01-01T00:00:00Z,1,1,1,1,1",
    ];
    for line in taken {
        let fast = parse_common_row(line.as_bytes(), &mut days).unwrap_or_else(|| panic!("{line}"));
        let general = candle(line).unwrap();
        let bits = |c: Candle| [c.open, c.high, c.low, c.close, c.volume].map(f64::to_bits);
        assert_eq!((fast.open_time, bits(fast)), (general.open_time, bits(general)), "{line}");
    }
    let left = [
        "2023-02-29T00:00:00Z,1,1,1,1,1",
        "2024-02-29T24:00:00Z,1,1,1,1,1",
        "2024-02-29T23:60:00Z,1,1,1,1,1",
        "2024-02-29 23:00:00Z,1,1,1,1,1",
        "2024-02-29T23:00:00z,1,1,1,1,1",
        "2024-02-29T23:00:00Z,1,1,1,1,1,",
        "2024-02-29T23:00:00Z,1,1,1,1",
        "2024-02-29T23:00:00Z, 1,1,1,1,1",
        "2024-02-29T23:00:00Z,\"1\",1,1,1,1",
        "2024-02-29T23:00:00Z,1e3,1,1,1,1",
        "2024-02-29T23:00:00Z,1234567890123456,1,1,1,1",
        "2024-02-29T23:00:00Z,.5,1,1,1,1",
        "2024-02-29T23:00:00+00:00,1,1,1,1,1",
        "1709247600000,1,1,1,1,1",
    ];
    for line in left {
        assert_eq!(parse_common_row(line.as_bytes(), &mut days), None, "{line}");
    }
    assert!(candle(left[3]).is_some() && candle(left[0]).is_none(), "the general parser still decides those");
}

#[test]
fn timestamp_forms() {
    let want = ts("2021-12-31T23:01:00Z");
    for form in ["2021-12-31T23:01:00Z", "2021-12-31 23:01:00", "2021-12-31T23:01:00", "2022-01-01T00:01:00+01:00", "1640991660000"] {
        assert_eq!(parse_timestamp(form.as_bytes()), Some(want), "{form}");
    }
    assert_eq!(parse_timestamp(b"2021-12-31"), Some(ts("2021-12-31T00:00:00Z")));
    assert_eq!(parse_timestamp(b"2021-12-31T23:01:00.250Z"), Some(Timestamp(want.0 + 250_000_000)));
    assert_eq!(parse_timestamp(b"-60000"), Some(Timestamp(-60_000_000_000)));
    for bad in [
        "",
        "-",
        "202é-12-31T23:01:00Z",
        "2021-12-31T23:01:00+0é:00",
        "2021-12-31 23:01:0é",
        "2021-13-01",
        "2021-12-31 24:00:00",
        "12/31/2021",
        "9999999999999999999",
        "99999999999999",
        "1.5e12",
        "2021-12-31T23:01:00+0100",
    ] {
        assert_eq!(parse_timestamp(bad.as_bytes()), None, "{bad}");
    }
}

#[test]
fn bad_rows_are_rejected_with_line_row_and_column() {
    let text = "timestamp,open,high,low,close,volume\n\
                2021-01-01,1,1,1,1\n\
                2021-01-01,1,1,1,1,1,1\n\
                yesterday,1,1,1,1,1\n\
                2021-01-01,1,1,one,1,1\n\
                2021-01-01,1,1,1,1,\n\
                2021-01-01,nan,inf,1,1,1\n";
    let out = records(text);
    assert_eq!(problem_of(&out[0]), (0, Some(2), None, &Problem::ColumnCount { found: 5, expected: 6 }));
    assert_eq!(problem_of(&out[1]), (1, Some(3), None, &Problem::ColumnCount { found: 7, expected: 6 }));
    assert_eq!(problem_of(&out[2]), (2, Some(4), Some(Field::OpenTime), &Problem::BadTimestamp { text: "yesterday".into() }));
    assert_eq!(problem_of(&out[3]), (3, Some(5), Some(Field::Low), &Problem::NotANumber { text: "one".into() }));
    assert_eq!(problem_of(&out[4]), (4, Some(6), Some(Field::Volume), &Problem::NotANumber { text: "".into() }));
    let CsvRecord::Row(row) = &out[5] else { panic!("nan and inf are numbers to the parser") };
    assert!(row.candle.open.is_nan() && row.candle.high.is_infinite());
    let message = match &out[3] {
        CsvRecord::Rejected(r) => r.to_string(),
        CsvRecord::Row(_) => unreachable!(),
    };
    assert_eq!(message, "line 5 (row 3), field low: \"one\" is not a number");
}

#[test]
fn header_problems_stop_the_parse() {
    assert!(matches!(CsvReader::new(&b""[..]), Err(CsvError::Empty)));
    assert!(matches!(CsvReader::new(&b"\n  \n"[..]), Err(CsvError::Empty)));
    let err = CsvReader::new(&b"\ntime,open,high,low,close,volume\n"[..]).unwrap_err();
    assert!(matches!(&err, CsvError::Header { line: 2, .. }), "{err}");
    let err = CsvReader::new(&b"2021-01-01,1,1,1,1,1\n"[..]).unwrap_err();
    assert!(err.to_string().contains("expected the header"), "{err}");
    assert!(CsvReader::new(&b"timestamp,open,high,low,close,volume,extra"[..]).is_err());
    assert_eq!(records("timestamp,open,high,low,close,volume").len(), 0);
}

#[test]
fn an_overlong_line_is_rejected_and_skipped() {
    let long = "9".repeat(100);
    let text = format!("timestamp,open,high,low,close,volume\n{long}\n2021-01-01,1,1,1,1,1\n{long}");
    let reader = CsvReader::with_limits(text.as_bytes(), CsvLimits { line_bytes_max: 40 }).unwrap();
    let out: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(out.len(), 3);
    assert_eq!(problem_of(&out[0]), (0, Some(2), None, &Problem::LineTooLong { bytes_max: 40 }));
    assert!(matches!(out[1], CsvRecord::Row(CsvRow { row: 1, line: 3, .. })));
    assert_eq!(problem_of(&out[2]).1, Some(4));
    // Exactly at the limit, with or without \r\n, is fine.
    let exact = format!("2021-01-01,1,1,1,1,{}", "1".repeat(30));
    let text = format!("timestamp,open,high,low,close,volume\r\n{exact}\r\n");
    let reader = CsvReader::with_limits(text.as_bytes(), CsvLimits { line_bytes_max: exact.len() }).unwrap();
    assert!(matches!(reader.map(Result::unwrap).next(), Some(CsvRecord::Row(_))));
}

/// Serves `good` bytes, then fails.
struct Failing<'a> {
    good: &'a [u8],
}

impl Read for Failing<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.good.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = self.good.read(out)?;
        Ok(n)
    }
}

#[test]
fn an_io_error_ends_the_parse_once() {
    let good = b"timestamp,open,high,low,close,volume\n2021-01-01,1,1,1,1,1\n";
    let mut reader = CsvReader::new(io::BufReader::new(Failing { good })).unwrap();
    assert!(matches!(reader.next(), Some(Ok(CsvRecord::Row(_)))));
    let err = reader.next().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "reading line 3: disk on fire");
    assert!(reader.next().is_none());
}

proptest! {
    #[test]
    fn any_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400), limit in 1usize..64) {
        let mut text = b"timestamp,open,high,low,close,volume\n".to_vec();
        text.extend_from_slice(&body);
        let reader = CsvReader::with_limits(text.as_slice(), CsvLimits { line_bytes_max: limit.max(36) }).unwrap();
        let mut rows = 0;
        for (i, record) in reader.enumerate() {
            let record = record.unwrap();
            let row = match &record { CsvRecord::Row(r) => r.row, CsvRecord::Rejected(r) => r.row };
            prop_assert_eq!(row, i);
            rows += 1;
        }
        prop_assert!(rows <= body.iter().filter(|&&b| b == b'\n').count() + 1);
        let _ = CsvReader::with_limits(body.as_slice(), CsvLimits { line_bytes_max: limit }).map(|r| r.count());
    }

    #[test]
    fn timestamp_like_text_never_panics(
        text in "[0-9T:Z .+-]{0,30}|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}.{0,8}",
    ) {
        if let Some(t) = parse_timestamp(text.as_bytes()) {
            // Whatever parses is a real instant: its RFC 3339 form parses back to it.
            prop_assert_eq!(parse_timestamp(t.to_rfc3339().as_bytes()), Some(t));
        }
    }

    #[test]
    fn a_field_reads_as_its_text_does(text in "-?[0-9]{0,17}\\.?[0-9]{0,17}(,[0-9.]{0,3})?|[0-9.,x -]{0,24}") {
        let text = text.as_bytes();
        let end = text.iter().position(|&b| b == b',').unwrap_or(text.len());
        let want = parse_plain_decimal(&text[..end]).map(|v| (v.to_bits(), end));
        prop_assert_eq!(plain_decimal_field(text).map(|(v, e)| (v.to_bits(), e)), want);
    }

    #[test]
    fn fast_and_general_paths_agree_on_any_row(
        minutes in 0i64..100_000_000,
        fields in proptest::collection::vec("-?[0-9]{1,9}(\\.[0-9]{1,9})?|[0-9 .e+\"-]{0,6}", 5),
    ) {
        let line = format!("{},{}", Timestamp(minutes * 60_000_000_000), fields.join(","));
        if let Some(fast) = parse_common_row(line.as_bytes(), &mut DayCache::default()) {
            let CsvRecord::Row(row) = parse_row(line.as_bytes(), 0, 1) else {
                return Err(TestCaseError::fail(format!("the fast path took a line the parser rejects: {line}")));
            };
            let bits = |c: Candle| (c.open_time, [c.open, c.high, c.low, c.close, c.volume].map(f64::to_bits));
            prop_assert_eq!(bits(fast), bits(row.candle), "{}", line);
        }
    }

    #[test]
    fn rows_round_trip_through_text(
        minutes in proptest::collection::vec(0i64..10_000_000, 1..20),
        values in proptest::collection::vec(prop::num::f64::NORMAL, 5),
    ) {
        let mut text = String::from("timestamp,open,high,low,close,volume\n");
        for m in &minutes {
            let t = Timestamp(m * 60_000_000_000);
            let [o, h, l, c, v] = [values[0], values[1], values[2], values[3], values[4]];
            text.push_str(&format!("{t},{o},{h},{l},{c},{v}\n"));
        }
        let out = records(&text);
        prop_assert_eq!(out.len(), minutes.len());
        for (record, m) in out.iter().zip(&minutes) {
            let CsvRecord::Row(row) = record else { return Err(TestCaseError::fail(format!("{record:?}"))) };
            prop_assert_eq!(row.candle.open_time, Timestamp(m * 60_000_000_000));
            let c = row.candle;
            prop_assert_eq!(vec![c.open, c.high, c.low, c.close, c.volume], values.clone());
        }
    }
}
