//! Sluice's sinks, one folder each, all keeping the [`Sink`] contract: `write` returns `Ok` only once the batch is
//! durable at the destination (a file fsynced, stdout flushed), so the pipeline may then confirm its positions to
//! PostgreSQL.
//!
//! The closed set of sinks is dispatched through [`AnySink`], an enum, rather than trait objects: the pipeline's
//! hot loop stays monomorphic and `Sink::write` can stay an `async fn`.
//!
//! Every sink runs the shared [`conformance`] suite (its folder's `conformance.rs`), which checks the contract as a
//! reader of the destination sees it.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod file;
mod jsonl;
#[cfg(feature = "kafka")]
pub mod kafka;
mod null;
mod stdout;

pub use file::FileSink;
pub use jsonl::render_json_line;
#[cfg(feature = "kafka")]
pub use kafka::KafkaSink;
pub use null::NullSink;
pub use stdout::StdoutSink;

use sluice_core::{Record, Sink, SinkError};

/// Every sink Sluice has.
#[derive(Debug)]
pub enum AnySink {
    #[cfg(feature = "kafka")]
    Kafka(KafkaSink),
    File(FileSink),
    Stdout(StdoutSink),
    Null(NullSink),
}

impl Sink for AnySink {
    fn name(&self) -> &'static str {
        match self {
            #[cfg(feature = "kafka")]
            AnySink::Kafka(s) => s.name(),
            AnySink::File(s) => s.name(),
            AnySink::Stdout(s) => s.name(),
            AnySink::Null(s) => s.name(),
        }
    }

    async fn write(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        match self {
            #[cfg(feature = "kafka")]
            AnySink::Kafka(s) => s.write(batch).await,
            AnySink::File(s) => s.write(batch).await,
            AnySink::Stdout(s) => s.write(batch).await,
            AnySink::Null(s) => s.write(batch).await,
        }
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        match self {
            #[cfg(feature = "kafka")]
            AnySink::Kafka(s) => s.close().await,
            AnySink::File(s) => s.close().await,
            AnySink::Stdout(s) => s.close().await,
            AnySink::Null(s) => s.close().await,
        }
    }
}
