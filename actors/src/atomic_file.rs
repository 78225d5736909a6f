//! Writing a result, model or agent file so a crash leaves the old file or the new one,
//! never half of one: the bytes go to a hidden temporary file beside it, are fsynced,
//! renamed over the target, and the directory is fsynced (the rename itself durable).
//! One implementation for the backtest results, ML models and RL agents.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` as `dir/name` atomically (creating `dir`).
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}
