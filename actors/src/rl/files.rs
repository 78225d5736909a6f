//! Agent files: one JSON document per trained agent, `<data_dir>/rl/<agent_id>.json`
//! (the agent's weights, its regime model, the request, the training curve and the
//! held-out evaluation). Written atomically (temporary file, fsync, rename, fsync of the
//! directory); read back with a size limit.

use std::io::Read;
use std::path::Path;

/// The directory under the data directory that holds agent files.
pub const AGENTS_DIR: &str = "rl";
/// Largest agent file written or read, in bytes.
pub const AGENT_FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AgentFileError {
    #[error("agent file {path}: {size} bytes, over the limit of {AGENT_FILE_BYTES_MAX}")]
    TooLarge { path: String, size: u64 },
    #[error("agent file {path} is corrupt: {why}")]
    Corrupt { path: String, why: String },
    #[error("agent file {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub fn relative_path(agent_id: &str) -> String {
    format!("{AGENTS_DIR}/{agent_id}.json")
}

/// Writes `doc` as the file of `agent_id`, atomically; returns the relative path.
pub fn write(data_dir: &Path, agent_id: &str, doc: &serde_json::Value) -> Result<String, AgentFileError> {
    let rel = relative_path(agent_id);
    let path = data_dir.join(&rel);
    let shown = path.display().to_string();
    let io = |source| AgentFileError::Io { path: shown.clone(), source };
    let bytes = serde_json::to_vec(doc).map_err(|e| AgentFileError::Corrupt { path: shown.clone(), why: e.to_string() })?;
    if bytes.len() as u64 > AGENT_FILE_BYTES_MAX {
        return Err(AgentFileError::TooLarge { path: shown.clone(), size: bytes.len() as u64 });
    }
    crate::atomic_file::write(&data_dir.join(AGENTS_DIR), &format!("{agent_id}.json"), &bytes).map_err(io)?;
    Ok(rel)
}

/// Reads the agent file `rel` (relative to `data_dir`).
pub fn read(data_dir: &Path, rel: &str) -> Result<serde_json::Value, AgentFileError> {
    let path = data_dir.join(rel);
    let shown = path.display().to_string();
    let f = std::fs::File::open(&path).map_err(|source| AgentFileError::Io { path: shown.clone(), source })?;
    let mut bytes = Vec::new();
    f.take(AGENT_FILE_BYTES_MAX + 1).read_to_end(&mut bytes).map_err(|source| AgentFileError::Io { path: shown.clone(), source })?;
    if bytes.len() as u64 > AGENT_FILE_BYTES_MAX {
        return Err(AgentFileError::TooLarge { path: shown, size: bytes.len() as u64 });
    }
    serde_json::from_slice(&bytes).map_err(|e| AgentFileError::Corrupt { path: shown, why: e.to_string() })
}
