//! Where snapshot files live (`<data dir>/snapshots/<name>.rdb`), how one is
//! written whole (a `.partial` file renamed when complete) and checked.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

#[derive(Debug, Clone)]
pub struct SnapshotFiles {
    dir: PathBuf,
}

/// A file's SHA-256 did not match the one recorded when it was written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the snapshot file {0} is missing")]
    Missing(String),
    #[error("the snapshot file {path} is corrupt: its SHA-256 is {found}, {expected} was recorded when it was written")]
    Corrupt { path: String, expected: String, found: String },
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
}

impl SnapshotFiles {
    pub fn new(dir: PathBuf) -> SnapshotFiles {
        SnapshotFiles { dir }
    }

    pub async fn ensure_dir(&self) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await
    }

    /// The file of a snapshot (names are identifiers: no path separators).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.rdb"))
    }

    /// Where a snapshot is written until it is whole.
    pub fn partial_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.rdb.partial"))
    }

    /// Removes a snapshot's file and any partial one; absent files are fine.
    pub async fn remove(&self, name: &str) -> std::io::Result<()> {
        for path in [self.path(name), self.partial_path(name)] {
            match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The snapshot's bytes, once its SHA-256 is the one recorded.
    pub async fn read_verified(&self, name: &str, expected: &str) -> Result<Vec<u8>, FileError> {
        let path = self.path(name);
        let shown = path.display().to_string();
        let bytes = tokio::fs::read(&path).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FileError::Missing(shown.clone()),
            _ => FileError::Io(shown.clone(), e),
        })?;
        let found = sha256_hex(&bytes);
        if found != expected {
            return Err(FileError::Corrupt { path: shown, expected: expected.to_owned(), found });
        }
        Ok(bytes)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A file's size and SHA-256, read in pieces.
pub async fn digest_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok((size, hex(&hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_of_a_known_text() {
        assert_eq!(super::sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
