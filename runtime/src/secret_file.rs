//! A secret kept in a file in the data directory, generated on first start and reused
//! after: the loopback admin key (`keys.rs`) and the token signing secret (`tokens.rs`).
//!
//! Its own module because both need it and `keys` already depends on `tokens` (a key
//! ring holds the token issuer): the file handling sits below both.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the secret file could not be used. Both are start-up errors naming the file (the
/// texts say "admin key" for the token secret too, as they always have).
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read or create the generated admin key {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the generated admin key file {path} is malformed: delete it to have a new key generated")]
    Malformed { path: PathBuf },
}

/// The secret in `path`, or a new one (64 hex digits from the OS CSPRNG) written there
/// with mode 0600 and fsynced.
pub(crate) fn load_or_generate(path: &Path) -> Result<String, SecretFileError> {
    let io = |source| SecretFileError::Io { path: path.to_path_buf(), source };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = text.trim().to_string();
            if key.len() < 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(SecretFileError::Malformed { path: path.to_path_buf() });
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            // A secret API key must be unpredictable: drawn from the OS-seeded CSPRNG, never a fixed seed.
            #[allow(clippy::disallowed_methods)]
            let key = format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(path).map_err(io)?;
            f.write_all(format!("{key}\n").as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_is_stable_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("admin.key");
        let k1 = load_or_generate(&p).unwrap();
        let k2 = load_or_generate(&p).unwrap();
        assert_eq!(k1, k2);
        assert_eq!(k1.len(), 64);
        std::fs::write(&p, "short").unwrap();
        assert!(matches!(load_or_generate(&p), Err(SecretFileError::Malformed { .. })));
    }
}
