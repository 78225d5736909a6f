//! The real market data files the tests run on (`testdata/` at the repository root).
//!
//! Located from the crate's manifest directory, never from an absolute path, so the tests
//! run wherever the workspace is checked out. A missing directory fails the test loudly:
//! silently skipping would let every data-driven test pass without running.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use tradpal_messages::{Candle, Timeframe};

/// `<repository>/testdata`.
pub fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    assert!(
        dir.is_dir(),
        "market data directory {} is missing: the tests need the real CSV files in testdata/ \
         at the repository root; see testdata/README.md",
        dir.display()
    );
    dir
}

pub fn open(name: &str) -> BufReader<File> {
    let path = data_dir().join(name);
    let file = File::open(&path).unwrap_or_else(|e| panic!("cannot open market data file {}: {e}", path.display()));
    BufReader::with_capacity(1 << 16, file)
}

/// The candles of a data file, asserting it imports without a rejection.
pub fn candles(name: &str, timeframe: Timeframe) -> Vec<Candle> {
    let report = super::import_csv(open(name), timeframe, None, super::CsvLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(report.is_clean(), "{name}: {:?}", report.rejected.first());
    report.accepted
}
