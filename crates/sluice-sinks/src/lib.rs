//! Sluice's sinks, one folder each, all keeping the [`Sink`] contract: `write` returns `Ok` only once the batch is
//! durable at the destination (a file fsynced, stdout flushed), so the pipeline may then confirm its positions to
//! PostgreSQL.
//!
//! A sink folder holds the sink (`mod.rs`), its configuration (`config.rs`: its keys for the key registry, how they
//! are read, how the sink is opened) and its run of the shared [`conformance`] suite (`conformance.rs`), which
//! checks the contract as a reader of the destination sees it. [`registry`] lists the folders: adding a sink is a
//! folder and one line there.
//!
//! The pipeline holds whichever sink the configuration chose as an [`AnySink`], a boxed trait object. Its cost is one
//! boxed future per *batch* (hundreds of records), nothing per record, and it keeps the pipeline free of any list of
//! sinks.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod file;
mod jsonl;
#[cfg(feature = "kafka")]
pub mod kafka;
mod null;
pub mod registry;
mod stdout;

pub use file::FileSink;
pub use jsonl::render_json_line;
#[cfg(feature = "kafka")]
pub use kafka::KafkaSink;
pub use null::NullSink;
pub use stdout::StdoutSink;

use std::future::Future;
use std::pin::Pin;

use sluice_core::{Record, Sink, SinkError};

/// A future a boxed sink returns.
type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// [`Sink`] in a form that can be boxed: what [`AnySink`] holds.
trait DynSink: Send {
    fn name(&self) -> &'static str;
    fn write<'a>(&'a mut self, batch: &'a [Record]) -> SinkFuture<'a>;
    fn close(&mut self) -> SinkFuture<'_>;
    fn health(&mut self) -> SinkFuture<'_>;
}

impl<S: Sink> DynSink for S {
    fn name(&self) -> &'static str {
        Sink::name(self)
    }

    fn write<'a>(&'a mut self, batch: &'a [Record]) -> SinkFuture<'a> {
        Box::pin(Sink::write(self, batch))
    }

    fn close(&mut self) -> SinkFuture<'_> {
        Box::pin(Sink::close(self))
    }

    fn health(&mut self) -> SinkFuture<'_> {
        Box::pin(Sink::health(self))
    }
}

/// Any sink, chosen at run time.
pub struct AnySink(Box<dyn DynSink>);

impl AnySink {
    pub fn new(sink: impl Sink + 'static) -> Self {
        AnySink(Box::new(sink))
    }
}

impl std::fmt::Debug for AnySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AnySink").field(&self.0.name()).finish()
    }
}

impl Sink for AnySink {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    async fn write(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        self.0.write(batch).await
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.0.close().await
    }

    async fn health(&mut self) -> Result<(), SinkError> {
        self.0.health().await
    }
}
