//! The `null` sink: accepts and drops everything. For benchmarks, where it measures the source and the encoder
//! alone.

pub(crate) mod config;
use sluice_core::{Record, Sink, SinkError};

#[derive(Debug, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn name(&self) -> &'static str {
        "null"
    }

    async fn write(&mut self, _batch: &[Record]) -> Result<(), SinkError> {
        Ok(())
    }
}

#[cfg(test)]
mod conformance;
