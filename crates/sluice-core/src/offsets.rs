//! The durable memory of what was acknowledged.
//!
//! PostgreSQL's slot remembers how far the sink confirmed (`confirmed_flush_lsn`), but only at transaction
//! granularity: a transaction half-delivered when Sluice stopped is sent again whole. The offsets file records the
//! last acknowledged [`Position`] so that a restart skips the events at or before it, and it records the snapshot's
//! progress so that a crash mid-snapshot resumes instead of starting over or — worse — being taken for done.
//!
//! Writes are atomic: a temporary file is written and fsynced, then renamed over the old one, and the directory is
//! fsynced, so a crash leaves either the old offsets or the new ones, never a torn file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Lsn, Position, TableId};

/// How far a snapshot got.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotProgress {
    /// The LSN the snapshot was read at (the consistent point of the slot or of a temporary one).
    pub lsn: Lsn,
    /// Every table the snapshot covers.
    pub tables: Vec<TableId>,
    /// Tables whose every row was acknowledged by the sink.
    pub tables_done: Vec<TableId>,
    /// All tables done: the snapshot must never be re-run unless the snapshot mode asks for it.
    pub completed: bool,
}

/// Everything Sluice keeps between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offsets {
    /// The replication slot these offsets belong to: offsets of another slot mean nothing for this one.
    pub slot_name: String,
    /// The last streamed event the sink acknowledged.
    pub acknowledged: Option<Position>,
    /// The latest snapshot, if one was ever started.
    pub snapshot: Option<SnapshotProgress>,
}

/// The offsets file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    #[error("cannot {action} offsets file {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("offsets file {path} is not valid ({source}); move it away to start over, which re-runs the snapshot")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Offsets kept in a JSON file (`offset.storage.file.filename`).
#[derive(Clone, Debug)]
pub struct OffsetStore {
    path: PathBuf,
}

impl OffsetStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OffsetStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored offsets, or `None` when there is no file yet.
    pub fn load(&self) -> Result<Option<Offsets>, OffsetError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io("read", source)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| OffsetError::Corrupt { path: self.path.clone(), source })
    }

    /// Replaces the stored offsets atomically and durably.
    pub fn save(&self, offsets: &Offsets) -> Result<(), OffsetError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir).map_err(|e| self.io("create the directory of", e))?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let json = serde_json::to_vec_pretty(offsets).expect("offsets always serialize");
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            fs::File::open(&dir)?.sync_all()
        };
        write().map_err(|e| self.io("write", e))
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> OffsetError {
        OffsetError::Io { action, path: self.path.clone(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_means_no_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let store = OffsetStore::new(dir.path().join("offsets.json"));
        assert_eq!(store.load().unwrap(), None);
    }

    #[test]
    fn saved_offsets_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = OffsetStore::new(dir.path().join("sub/offsets.json"));
        let offsets = Offsets {
            slot_name: "sluice".into(),
            acknowledged: Some(Position::new(Lsn(0x1_0000_0010), 3)),
            snapshot: Some(SnapshotProgress {
                lsn: Lsn(42),
                tables: vec![TableId::new("public", "a"), TableId::new("public", "b")],
                tables_done: vec![TableId::new("public", "a")],
                completed: false,
            }),
        };
        store.save(&offsets).unwrap();
        assert_eq!(store.load().unwrap(), Some(offsets));
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        fs::write(&path, b"{not json").unwrap();
        let err = OffsetStore::new(&path).load().unwrap_err();
        assert!(err.to_string().contains("is not valid"), "{err}");
    }
}
