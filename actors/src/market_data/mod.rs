//! Market data, the pure core: turn raw OHLCV rows into candles the rest of the service
//! can trust, resample them to higher timeframes, and derive the standard indicators.
//!
//! Everything here is deterministic and synchronous: no tokio, no clock, no randomness,
//! no I/O beyond the `BufRead` a caller hands in. The market-data actor (and the CLI's
//! `data import`) wrap it; backtests and live runs call the same functions, so a replay
//! validates, resamples and computes indicators exactly as the live run did.
//!
//! Bad input never panics: every problem becomes a [`Rejection`] naming the row (and, for
//! CSV, the 1-based line) and the field, or an error value. Property tests check this.
//!
//! # Layout
//!
//! - `actor.rs`: the thin actor around this core: journals accepted candles, then
//!   applies them to the store; rebuilds the store from the journal on (re)start.
//! - `rejection.rs`: [`Rejection`], [`Field`], [`Problem`]: why a row was refused. Shared by
//!   the CSV parser and the validator so a caller sees one list, in row order.
//! - `validate.rs`: [`Validator`] / [`validate_batch`] / [`validate_continuation`]: the
//!   rules a candle series must follow (finite, consistent OHLC, aligned, increasing),
//!   idempotent exact duplicates, gap reporting ([`Gap`]); the [`ValidationReport`].
//! - `csv.rs`: [`CsvReader`], a hand-written streaming parser of
//!   `timestamp,open,high,low,close,volume` files (no row buffering; lines parsed in the
//!   reader's buffer, a one-pass fast path for the common row; 3x the `csv` crate); its
//!   tests in `csv_tests.rs`.
//! - `import.rs`: [`import_csv`], CSV parsing and validation in one streaming pass.
//! - `spacing.rs`: [`infer_timeframe`] / [`check_timeframe`]: a series' bar length from
//!   its bars' typical spacing, and the refusal of a claim that disagrees.
//! - `resample.rs`: [`resample()`] (batch) and [`Resampler`] (streaming) from a base timeframe
//!   to a higher one, UTC-aligned, with completeness and base-bar counts.
//! - `store.rs`: [`CandleStore`]: accepted candles per symbol and timeframe, ingest planning
//!   against history (idempotent re-import), range pages with on-the-fly resampling.
//! - `indicators/`: one file per indicator (incremental struct + batch function sharing it)
//!   and [`compute_all`], every indicator at default parameters as named columns.
//! - `synth.rs`: [`synth::generate`], seeded synthetic candles with their true regime
//!   labels (demos, scale tests, scoring regime detectors; randomness only from the seed).
//! - `testdata.rs` (tests only): locates the real data files in `testdata/`.

pub mod actor;
pub mod csv;
pub mod import;
pub mod indicators;
pub mod rejection;
pub mod resample;
pub mod spacing;
pub mod store;
pub mod synth;
pub mod validate;

#[cfg(test)]
pub(crate) mod testdata;

pub use csv::{CsvError, CsvLimits, CsvReader, CsvRecord, CsvRow};
pub use import::{import_csv, import_csv_sized};
pub use indicators::{compute_all, run, Indicator, IndicatorError, IndicatorTable};
pub use rejection::{Field, Problem, Rejection};
pub use resample::{resample, Emitted, ResampleError, ResampledBar, Resampler};
pub use spacing::{check_timeframe, infer_timeframe, typical_spacing, SpacingError};
pub use store::{CandlePage, CandleStore, StoreError, CANDLES_PAGE_MAX};
pub use validate::{validate_batch, validate_continuation, Gap, ValidationReport, Validator, Verdict, REJECTIONS_KEPT_MAX};
