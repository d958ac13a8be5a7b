//! The `stdout` sink: JSON Lines on standard output, flushed before a batch is acknowledged. Logs go to stderr, so
//! stdout carries records only and can be piped straight into `jq`.
//!
//! Writes go through tokio's stdout, which does the blocking write on the blocking pool: a reader that stops reading
//! (a full pipe) must stall only this sink, never a runtime worker — the source must keep answering the server.
//!
//! A pipe cannot be cut back, so a write whose future is dropped halfway (the `Sink` contract allows it) would leave
//! half a line that the next batch runs into. The sink therefore keeps its buffer, how much of it is written, and
//! the one writer handle in itself, and finishes the interrupted lines before writing anything else: a reader sees
//! whole lines, and the cancelled batch's records as repeats. The writer is a type parameter so the conformance
//! suite can put a pipe it reads in place of the process's stdout; the code path is the same.

pub(crate) mod config;
use sluice_core::{Record, Sink, SinkError};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::render_json_line;

pub struct StdoutSink<W = tokio::io::Stdout> {
    out: W,
    buf: Vec<u8>,
    /// How much of `buf` has been handed to `out`; less than its length only after a cancelled write.
    written: usize,
}

impl Default for StdoutSink {
    fn default() -> Self {
        StdoutSink::to(tokio::io::stdout())
    }
}

impl<W> std::fmt::Debug for StdoutSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdoutSink").field("unwritten", &(self.buf.len() - self.written)).finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin + Send> StdoutSink<W> {
    /// The sink writing to `out` instead of the process's standard output.
    pub fn to(out: W) -> Self {
        StdoutSink { out, buf: Vec::new(), written: 0 }
    }

    /// Writes the rest of the buffer and flushes it; progress is kept in `self`, so this may be cancelled anywhere.
    async fn drain(&mut self) -> std::io::Result<()> {
        while self.written < self.buf.len() {
            match self.out.write(&self.buf[self.written..]).await? {
                0 => return Err(std::io::ErrorKind::WriteZero.into()),
                n => self.written += n,
            }
        }
        self.out.flush().await
    }
}

fn write_error(e: std::io::Error) -> SinkError {
    SinkError {
        sink: "stdout",
        // A closed pipe does not come back: stop rather than retry forever.
        retriable: false,
        message: format!("cannot write to standard output: {e}"),
        source: Some(Box::new(e)),
    }
}

impl<W: AsyncWrite + Unpin + Send> Sink for StdoutSink<W> {
    fn name(&self) -> &'static str {
        "stdout"
    }

    async fn write(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        // The lines of a cancelled write first, so nothing is torn.
        self.drain().await.map_err(write_error)?;
        if batch.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        self.written = 0;
        for r in batch {
            render_json_line(r, &mut self.buf);
        }
        self.drain().await.map_err(write_error)
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.drain().await.map_err(write_error)
    }
}

#[cfg(test)]
mod conformance;
