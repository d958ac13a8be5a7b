//! The `file` sink: JSON Lines appended to one file, fsynced before a batch is acknowledged.
//!
//! A crash can leave a torn last line — records that were written but never acknowledged, so PostgreSQL will send
//! them again. On open the sink therefore cuts the file back to its last complete line: the file never holds half a
//! record, and the repeats that at-least-once delivery allows are whole lines. A write that fails (a full disk, a
//! file-size limit) cuts the file back to where it started for the same reason, before the batch is written again.
//!
//! The write itself runs on the blocking pool, so a slow disk stalls only this sink. Its join handle lives in the
//! sink, not in `write`'s future: when that future is dropped mid-write (the `Sink` contract allows it), the next
//! `write` or `close` first waits for the orphaned write to finish, so two writes never interleave in the file.

pub(crate) mod config;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sluice_core::{Record, Sink, SinkError};
use tokio::task::JoinHandle;

use crate::render_json_line;

/// What a blocking write hands back: the file (`None` when a failed write could not be cut back, so the next write
/// reopens it and the torn tail is cut then), the buffer for reuse, and the outcome.
type Written = (Option<File>, Vec<u8>, std::io::Result<()>);

#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    /// `None` while a write is in flight on the blocking pool, or after a failed write lost it.
    file: Option<File>,
    buf: Vec<u8>,
    in_flight: Option<JoinHandle<Written>>,
}

impl FileSink {
    /// Opens (or creates) the file for appending, after cutting off a torn last line.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileSink, SinkError> {
        let path = path.into();
        let file = open_file(&path)?;
        Ok(FileSink { path, file: Some(file), buf: Vec::with_capacity(1 << 16), in_flight: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the write in flight, if any, and takes the file back.
    async fn settle(&mut self) -> Result<(), SinkError> {
        let Some(handle) = self.in_flight.as_mut() else { return Ok(()) };
        let joined = handle.await;
        self.in_flight = None;
        let (file, buf, result) = joined.map_err(|e| SinkError {
            sink: "file",
            retriable: false,
            message: format!("the write task failed: {e}"),
            source: None,
        })?;
        self.file = file;
        self.buf = buf;
        result.map_err(|e| io_error(&self.path, "write", e))
    }
}

fn io_error(path: &Path, action: &str, e: std::io::Error) -> SinkError {
    SinkError {
        sink: "file",
        retriable: false,
        message: format!("cannot {action} {}: {e}", path.display()),
        source: Some(Box::new(e)),
    }
}

/// Opens the file for appending after cutting a torn last line; a file it creates is made durable in its directory.
fn open_file(path: &Path) -> Result<File, SinkError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| io_error(path, "create the directory of", e))?;
    }
    let existed = path.exists();
    let mut file =
        OpenOptions::new().create(true).read(true).append(true).open(path).map_err(|e| io_error(path, "open", e))?;
    if !existed {
        // fsyncing the file's data does not make a new file's name durable; its directory's entry must be too.
        File::open(dir.unwrap_or(Path::new("."))).and_then(|d| d.sync_all()).map_err(|e| io_error(path, "sync", e))?;
    }
    let cut = truncate_torn_tail(&mut file).map_err(|e| io_error(path, "repair", e))?;
    if cut > 0 {
        tracing::warn!(path = %path.display(), bytes = cut, "cut a torn last line left by a crash; its records will be written again");
    }
    Ok(file)
}

/// Appends `buf` and syncs it. On failure the file is cut back to where the write started, so no partial line stays
/// behind; if even that fails, the file is given up (`None`) and reopened, torn tail cut, by the next write.
fn append(mut file: File, buf: Vec<u8>) -> Written {
    let start = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return (Some(file), buf, Err(e)),
    };
    let result = file.write_all(&buf).and_then(|()| file.sync_data());
    let file = match &result {
        Ok(()) => Some(file),
        Err(_) => file.set_len(start).and_then(|()| file.sync_data()).ok().map(|()| file),
    };
    (file, buf, result)
}

/// Truncates everything after the last newline; returns how many bytes were cut.
fn truncate_torn_tail(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        file.set_len(end)?;
        file.sync_all()?;
    }
    Ok(len - end)
}

impl Sink for FileSink {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn write(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        // A cancelled write finishes first. Its outcome concerns a batch that was never acknowledged and is being
        // written again now, so only the file it hands back matters.
        if let Err(e) = self.settle().await {
            tracing::debug!(error = %e, "a cancelled write failed; its batch is being written again");
        }
        if batch.is_empty() {
            return Ok(());
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        for r in batch {
            render_json_line(r, &mut buf);
        }
        let file = match self.file.take() {
            Some(file) => file,
            None => open_file(&self.path)?,
        };
        self.in_flight = Some(tokio::task::spawn_blocking(move || append(file, buf)));
        self.settle().await
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.settle().await?;
        let Some(file) = &self.file else { return Ok(()) };
        let file = file.try_clone().map_err(|e| io_error(&self.path, "sync", e))?;
        let synced = tokio::task::spawn_blocking(move || file.sync_all()).await;
        match synced {
            Ok(result) => result.map_err(|e| io_error(&self.path, "sync", e)),
            Err(e) => Err(SinkError {
                sink: "file",
                retriable: false,
                message: format!("the sync task failed: {e}"),
                source: None,
            }),
        }
    }
}

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::{Lsn, Payload, Position};

    fn record(n: u64) -> Record {
        Record {
            topic: "t".into(),
            partition: None,
            key: None,
            value: Some(Payload::Json(format!("{{\"n\":{n}}}").into_bytes())),
            headers: vec![],
            timestamp_ms: 0,
            position: Position::new(Lsn(1), n),
        }
    }

    #[tokio::test]
    async fn appends_complete_lines_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/events.jsonl");
        let mut sink = FileSink::open(&path).unwrap();
        sink.write(&[record(1), record(2)]).await.unwrap();
        drop(sink);
        let mut sink = FileSink::open(&path).unwrap();
        sink.write(&[record(3)]).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let ns: Vec<u64> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["value"]["n"].as_u64().unwrap())
            .collect();
        assert_eq!(ns, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_torn_last_line_is_cut_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n{\"a\":2}\n{\"topic\":\"t\",\"val").unwrap();
        let mut sink = FileSink::open(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}\n{\"a\":2}\n");
        sink.write(&[record(3)]).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with('\n'));
    }

    #[tokio::test]
    async fn a_file_of_only_a_torn_line_becomes_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, vec![b'x'; 100_000]).unwrap();
        FileSink::open(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
}
