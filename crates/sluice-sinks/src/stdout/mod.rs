//! The `stdout` sink: JSON Lines on standard output, flushed before a batch is acknowledged. Logs go to stderr, so
//! stdout carries records only and can be piped straight into `jq`.
//!
//! Writes go through tokio's stdout, which does the blocking write on the blocking pool: a reader that stops reading
//! (a full pipe) must stall only this sink, never a runtime worker — the source must keep answering the server.

use sluice_core::{Record, Sink, SinkError};
use tokio::io::AsyncWriteExt;

use crate::render_json_line;

#[derive(Debug, Default)]
pub struct StdoutSink {
    buf: Vec<u8>,
}

impl Sink for StdoutSink {
    fn name(&self) -> &'static str {
        "stdout"
    }

    async fn write(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        self.buf.clear();
        for r in batch {
            render_json_line(r, &mut self.buf);
        }
        let mut out = tokio::io::stdout();
        let result = match out.write_all(&self.buf).await {
            Ok(()) => out.flush().await,
            Err(e) => Err(e),
        };
        result.map_err(|e| SinkError {
            sink: "stdout",
            // A closed pipe does not come back: stop rather than retry forever.
            retriable: false,
            message: format!("cannot write to standard output: {e}"),
            source: Some(Box::new(e)),
        })
    }
}
