//! Result files: one JSON document per finished backtest, `<data_dir>/backtests/<id>.json`.
//!
//! Written atomically (a temporary file in the same directory, fsync, rename, fsync of the
//! directory), so a reader sees the whole file or none. Read back with a size limit; a
//! missing, oversized or unparsable file is a [`ResultFileError`] naming the path.

use std::io::Read;
use std::path::Path;
use tradpal_messages::BacktestId;

/// The directory under the data directory that holds the result files.
pub const RESULTS_DIR: &str = "backtests";
/// Largest result file written or read, in bytes.
pub const RESULT_FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ResultFileError {
    #[error("result file {path} is missing (deleted or moved since the backtest finished)")]
    Missing { path: String },
    #[error("result file {path}: {size} bytes, over the limit of {RESULT_FILE_BYTES_MAX}")]
    TooLarge { path: String, size: u64 },
    #[error("result file {path} is corrupt: {why}")]
    Corrupt { path: String, why: String },
    #[error("result file {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The file's path relative to the data directory (what the journal records).
pub fn relative_path(id: BacktestId) -> String {
    format!("{RESULTS_DIR}/{id}.json")
}

/// Writes `doc` as the result file of `id` under `data_dir`, atomically. Returns the
/// relative path.
pub fn write(data_dir: &Path, id: BacktestId, doc: &serde_json::Value) -> Result<String, ResultFileError> {
    let rel = relative_path(id);
    let path = data_dir.join(&rel);
    let io = |source| ResultFileError::Io { path: path.display().to_string(), source };
    let bytes = serde_json::to_vec(doc).map_err(|e| ResultFileError::Corrupt { path: path.display().to_string(), why: e.to_string() })?;
    if bytes.len() as u64 > RESULT_FILE_BYTES_MAX {
        return Err(ResultFileError::TooLarge { path: path.display().to_string(), size: bytes.len() as u64 });
    }
    crate::atomic_file::write(&data_dir.join(RESULTS_DIR), &format!("{id}.json"), &bytes).map_err(io)?;
    Ok(rel)
}

/// Deletes the result file `rel` (relative to `data_dir`), then syncs the directory;
/// an already missing file is not an error (retention journals before it deletes).
pub fn remove(data_dir: &Path, rel: &str) -> Result<(), ResultFileError> {
    let path = data_dir.join(rel);
    let io = |source| ResultFileError::Io { path: path.display().to_string(), source };
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
    }
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

/// Reads the result file `rel` (relative to `data_dir`).
pub fn read(data_dir: &Path, rel: &str) -> Result<serde_json::Value, ResultFileError> {
    let path = data_dir.join(rel);
    let shown = path.display().to_string();
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ResultFileError::Missing { path: shown }),
        Err(source) => return Err(ResultFileError::Io { path: shown, source }),
    };
    let size = f.metadata().map_err(|source| ResultFileError::Io { path: shown.clone(), source })?.len();
    if size > RESULT_FILE_BYTES_MAX {
        return Err(ResultFileError::TooLarge { path: shown, size });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    f.take(RESULT_FILE_BYTES_MAX).read_to_end(&mut bytes).map_err(|source| ResultFileError::Io { path: shown.clone(), source })?;
    let doc: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ResultFileError::Corrupt { path: shown.clone(), why: e.to_string() })?;
    let optimisation = doc["kind"] == "optimize" && doc["best_params"].is_object();
    let walk_forward = doc["kind"] == "walk_forward" && doc["per_window"].is_array();
    if !doc.is_object() || !(doc["metrics"].is_object() || optimisation || walk_forward) {
        return Err(ResultFileError::Corrupt {
            path: shown,
            why: "not a backtest report (no metrics object) nor an optimisation's (kind optimize, best_params) nor a walk-forward's (kind walk_forward, per_window)".into(),
        });
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_missing_and_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let id = BacktestId(7);
        let doc = serde_json::json!({ "metrics": { "total_return": 0.5 } });
        let rel = write(dir.path(), id, &doc).unwrap();
        assert_eq!(read(dir.path(), &rel).unwrap(), doc);
        assert!(matches!(read(dir.path(), "backtests/none.json"), Err(ResultFileError::Missing { .. })));
        std::fs::write(dir.path().join(&rel), b"{ half").unwrap();
        let e = read(dir.path(), &rel).unwrap_err();
        assert!(matches!(e, ResultFileError::Corrupt { .. }) && e.to_string().contains(&rel), "{e}");
    }
}
