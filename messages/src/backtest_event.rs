//! The events of backtest jobs (`actors::backtest`): split from `event.rs` only to keep
//! that file short; the same change rules apply (they are variants of [`crate::Event`]).

use crate::ids::BacktestId;
use serde::{Deserialize, Serialize};

/// A backtest was accepted and began running (`POST /api/backtest/run`). Without a
/// matching [`BacktestCompleted`] or [`BacktestFailed`] it was interrupted (a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct BacktestStarted {
    pub backtest_id: BacktestId,
    pub symbol: String,
    pub strategy: String,
    pub bars: u64,
}

/// A backtest finished; its full report is the JSON file `result_file` (relative to the
/// data directory). The journal keeps the pointer and the headline, not the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct BacktestCompleted {
    pub backtest_id: BacktestId,
    pub symbol: String,
    pub strategy: String,
    pub bars: u64,
    pub total_return: f64,
    /// blake3 of the run's event stream, hex.
    pub event_stream_hash: String,
    /// Path of the result file relative to the data directory.
    pub result_file: String,
}

/// A backtest stopped with an error (bad data, a bust account, a failed write).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct BacktestFailed {
    pub backtest_id: BacktestId,
    pub reason: String,
}

/// A backtest job was accepted and began running, with its kind (`run`, `optimize`,
/// `walk_forward`). Journaled instead of [`BacktestStarted`] since the kind was needed:
/// an interrupted job keeps its kind after a restart. A new event rather than a field
/// on `BacktestStarted` because rkyv records have a fixed layout (an added field would
/// make every journaled `BacktestStarted` unreadable); old journals keep their
/// `BacktestStarted` records, read as before (kind unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct BacktestJobStarted {
    pub backtest_id: BacktestId,
    pub kind: String,
    pub symbol: String,
    pub strategy: String,
    pub bars: u64,
}

/// A finished backtest's result file was deleted by retention (the most result files
/// kept, `BACKTEST_RESULTS_MAX`, was passed); `results/{id}` says so from then on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct BacktestResultRemoved {
    pub backtest_id: BacktestId,
    /// Why, naming the limit (e.g. `retention: BACKTEST_RESULTS_MAX = 1000`).
    pub reason: String,
}
