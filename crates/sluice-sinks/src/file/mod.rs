//! The `file` sink: JSON Lines appended to one file, fsynced before a batch is acknowledged.
//!
//! A crash can leave a torn last line — records that were written but never acknowledged, so PostgreSQL will send
//! them again. On open the sink therefore cuts the file back to its last complete line: the file never holds half a
//! record, and the repeats that at-least-once delivery allows are whole lines.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sluice_core::{Record, Sink, SinkError};

use crate::render_json_line;

#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    /// `None` only while a write is in flight on the blocking pool.
    file: Option<File>,
    buf: Vec<u8>,
}

impl FileSink {
    /// Opens (or creates) the file for appending, after cutting off a torn last line.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileSink, SinkError> {
        let path = path.into();
        let err = |action: &str, e: std::io::Error| SinkError {
            sink: "file",
            retriable: false,
            message: format!("cannot {action} {}: {e}", path.display()),
            source: Some(Box::new(e)),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err("create the directory of", e))?;
        }
        let mut file =
            OpenOptions::new().create(true).read(true).append(true).open(&path).map_err(|e| err("open", e))?;
        let cut = truncate_torn_tail(&mut file).map_err(|e| err("repair", e))?;
        if cut > 0 {
            tracing::warn!(path = %path.display(), bytes = cut, "cut a torn last line left by a crash; its records will be written again");
        }
        Ok(FileSink { path, file: Some(file), buf: Vec::with_capacity(1 << 16) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
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
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        for r in batch {
            render_json_line(r, &mut buf);
        }
        let mut file = self.file.take().expect("no write is in flight");
        let joined = tokio::task::spawn_blocking(move || {
            let result = file.write_all(&buf).and_then(|_| file.sync_data());
            (file, buf, result)
        })
        .await;
        let (file, buf, result) = joined.map_err(|e| SinkError {
            sink: "file",
            retriable: false,
            message: format!("the write task failed: {e}"),
            source: None,
        })?;
        self.file = Some(file);
        self.buf = buf;
        result.map_err(|e| SinkError {
            sink: "file",
            retriable: false,
            message: format!("cannot write {}: {e}", self.path.display()),
            source: Some(Box::new(e)),
        })
    }
}

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
