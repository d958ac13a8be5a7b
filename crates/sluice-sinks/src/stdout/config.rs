//! The `stdout` sink's configuration: it has no keys.

use std::sync::Arc;

use sluice_config::{KeySet, Settings};
use sluice_core::SinkError;

use super::StdoutSink;
use crate::registry::{SinkConfig, SinkType};
use crate::AnySink;

static KEYS: KeySet = KeySet::new("the stdout sink", "debezium.sink.stdout.", &[]);

pub static SINK: SinkType = SinkType { name: "stdout", keys: &[&KEYS], read };

fn read(_: &mut Settings) -> Arc<dyn SinkConfig> {
    Arc::new(StdoutConfig)
}

#[derive(Debug)]
struct StdoutConfig;

impl SinkConfig for StdoutConfig {
    fn sink_type(&self) -> &'static str {
        "stdout"
    }

    fn open(&self) -> Result<AnySink, SinkError> {
        Ok(AnySink::new(StdoutSink::default()))
    }
}
