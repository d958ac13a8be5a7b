//! The durable memory of what was acknowledged.
//!
//! PostgreSQL's slot remembers how far the sink confirmed (`confirmed_flush_lsn`), but only at transaction
//! granularity: a transaction half-delivered when Sluice stopped is sent again whole. The offsets record the last
//! acknowledged [`Position`] so that a restart skips the events at or before it, and the snapshot's progress so that
//! a crash mid-snapshot resumes instead of starting over or — worse — being taken for done.
//!
//! Where they are kept is an [`OffsetStore`]: the [`FileOffsetStore`] here, or Kafka Connect's offsets topic (in
//! `sluice-sinks`, which has the Kafka client; [`connect_format`] is its record format). The pipeline holds the store
//! as a trait object: it saves once per acknowledged batch, so one boxed future per save costs nothing.
//!
//! The file's writes are atomic: a temporary file is written and fsynced, then renamed over the old one, and the
//! directory is fsynced, so a crash leaves either the old offsets or the new ones, never a torn file.

use std::fs;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use crate::{Lsn, Position, TableId};

pub mod connect_format;

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
    /// The end of the last transaction whose every event is acknowledged, or an idle position between transactions:
    /// how far the slot may be confirmed (Debezium's `lsn_commit`). Never moves backwards.
    #[serde(default)]
    pub committed: Option<Lsn>,
    /// The transaction id of the last acknowledged streamed event (Debezium's `txId`).
    #[serde(default)]
    pub tx_id: Option<u64>,
    /// Its commit time in microseconds since the epoch (Debezium's `ts_usec`).
    #[serde(default)]
    pub ts_us: Option<i64>,
    /// The latest snapshot, if one was ever started.
    pub snapshot: Option<SnapshotProgress>,
}

/// The offsets could not be read or written.
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
    /// A store other than the file (Kafka's offsets topic): `message` names the store and where it keeps the
    /// offsets; `retriable` when a later attempt can succeed (a broker unreachable, a timeout).
    #[error("{message}")]
    Store { retriable: bool, message: String },
}

impl OffsetError {
    /// Whether writing or reading again later can succeed: the store was unreachable, not wrong.
    pub fn retriable(&self) -> bool {
        matches!(self, OffsetError::Store { retriable: true, .. })
    }
}

/// A future an [`OffsetStore`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, OffsetError>> + Send + 'a>>;

/// Where offsets are kept between runs.
///
/// The contract the pipeline relies on: `save` returns `Ok` only once the offsets are durable (the file fsynced, the
/// broker's acknowledgement with `acks=all`), because the slot is confirmed right after; `load` returns the offsets
/// of the last successful `save`, or `None` when there are none (or they were reset).
pub trait OffsetStore: Send {
    /// What and where, for logs and errors: "offsets file data/offsets.dat", "Kafka topic `offsets`".
    fn describe(&self) -> String;
    fn load(&mut self) -> StoreFuture<'_, Option<Offsets>>;
    fn save<'a>(&'a mut self, offsets: &'a Offsets) -> StoreFuture<'a, ()>;
    /// Forgets the offsets, so the next run starts as if there were none (Kafka Connect's offsets reset).
    fn reset(&mut self) -> StoreFuture<'_, ()>;
}

/// Offsets kept in a JSON file (`offset.storage.file.filename`).
#[derive(Clone, Debug)]
pub struct FileOffsetStore {
    path: PathBuf,
}

impl OffsetStore for FileOffsetStore {
    fn describe(&self) -> String {
        format!("offsets file {}", self.path.display())
    }

    fn load(&mut self) -> StoreFuture<'_, Option<Offsets>> {
        let loaded = FileOffsetStore::load(self);
        Box::pin(std::future::ready(loaded))
    }

    fn save<'a>(&'a mut self, offsets: &'a Offsets) -> StoreFuture<'a, ()> {
        let saved = FileOffsetStore::save(self, offsets);
        Box::pin(std::future::ready(saved))
    }

    fn reset(&mut self) -> StoreFuture<'_, ()> {
        let removed = match fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.io("remove", e)),
            _ => Ok(()),
        };
        Box::pin(std::future::ready(removed))
    }
}

impl FileOffsetStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileOffsetStore { path: path.into() }
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
        let store = FileOffsetStore::new(dir.path().join("offsets.json"));
        assert_eq!(store.load().unwrap(), None);
    }

    #[test]
    fn saved_offsets_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileOffsetStore::new(dir.path().join("sub/offsets.json"));
        let offsets = Offsets {
            slot_name: "sluice".into(),
            acknowledged: Some(Position::new(Lsn(0x1_0000_0010), 3)),
            committed: Some(Lsn(0x1_0000_0008)),
            tx_id: Some(7),
            ts_us: Some(1_700_000_000_000_000),
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
        let err = FileOffsetStore::new(&path).load().unwrap_err();
        assert!(err.to_string().contains("is not valid"), "{err}");
    }

    #[test]
    fn a_file_written_before_the_commit_position_was_kept_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        fs::write(&path, br#"{"slot_name":"s","acknowledged":{"commit_lsn":"0/10","ordinal":2},"snapshot":null}"#)
            .unwrap();
        let loaded = FileOffsetStore::new(&path).load().unwrap().unwrap();
        assert_eq!(loaded.acknowledged, Some(Position::new(Lsn(0x10), 2)));
        assert_eq!((loaded.committed, loaded.tx_id, loaded.ts_us), (None, None, None));
    }
}
