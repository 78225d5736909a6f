//! Model files: one JSON document per trained model, `<data_dir>/models/<id>.json`
//! (weights and metadata), written atomically (temporary file, fsync, rename, fsync of
//! the directory). The journal records the file's blake3 hash; a file that does not
//! match it is refused when loaded.

use std::io::Read;
use std::path::Path;
use tradpal_messages::ModelId;

/// The directory under the data directory that holds model files.
pub const MODELS_DIR: &str = "models";
/// Largest model file written or read, in bytes.
pub const MODEL_FILE_BYTES_MAX: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("model file {path} is missing (deleted or moved since training)")]
    Missing { path: String },
    #[error("model file {path}: {size} bytes, over the limit of {MODEL_FILE_BYTES_MAX}")]
    TooLarge { path: String, size: u64 },
    #[error("model file {path} does not match its journaled hash (expected {expected}, found {found}): altered or corrupt")]
    Hash { path: String, expected: String, found: String },
    #[error("model file {path} is corrupt: {why}")]
    Corrupt { path: String, why: String },
    #[error("model file {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub fn relative_path(id: ModelId) -> String {
    format!("{MODELS_DIR}/{id}.json")
}

/// Writes `doc` for `id`; returns the relative path and the blake3 hash of the bytes.
pub fn write(data_dir: &Path, id: ModelId, doc: &serde_json::Value) -> Result<(String, String), ModelFileError> {
    let rel = relative_path(id);
    let path = data_dir.join(&rel);
    let shown = path.display().to_string();
    let io = |source| ModelFileError::Io { path: shown.clone(), source };
    let bytes = serde_json::to_vec(doc).map_err(|e| ModelFileError::Corrupt { path: shown.clone(), why: e.to_string() })?;
    if bytes.len() as u64 > MODEL_FILE_BYTES_MAX {
        return Err(ModelFileError::TooLarge { path: shown, size: bytes.len() as u64 });
    }
    crate::atomic_file::write(&data_dir.join(MODELS_DIR), &format!("{id}.json"), &bytes).map_err(io)?;
    Ok((rel, blake3::hash(&bytes).to_hex().to_string()))
}

/// Reads the model file `rel`, checking its hash.
pub fn read(data_dir: &Path, rel: &str, hash: &str) -> Result<serde_json::Value, ModelFileError> {
    let path = data_dir.join(rel);
    let shown = path.display().to_string();
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ModelFileError::Missing { path: shown }),
        Err(source) => return Err(ModelFileError::Io { path: shown, source }),
    };
    let size = f.metadata().map_err(|source| ModelFileError::Io { path: shown.clone(), source })?.len();
    if size > MODEL_FILE_BYTES_MAX {
        return Err(ModelFileError::TooLarge { path: shown, size });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    f.take(MODEL_FILE_BYTES_MAX).read_to_end(&mut bytes).map_err(|source| ModelFileError::Io { path: shown.clone(), source })?;
    let found = blake3::hash(&bytes).to_hex().to_string();
    if found != hash {
        return Err(ModelFileError::Hash { path: shown, expected: hash.to_string(), found });
    }
    serde_json::from_slice(&bytes).map_err(|e| ModelFileError::Corrupt { path: shown, why: e.to_string() })
}

/// Deletes the model file `rel`; a missing file is not an error.
pub fn remove(data_dir: &Path, rel: &str) -> Result<(), ModelFileError> {
    let path = data_dir.join(rel);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ModelFileError::Io { path: path.display().to_string(), source }),
    }
}
