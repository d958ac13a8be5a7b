//! The `null` sink's configuration: it has no keys.

use std::sync::Arc;

use sluice_config::{KeySet, Settings};
use sluice_core::SinkError;

use super::NullSink;
use crate::registry::{SinkConfig, SinkType};
use crate::AnySink;

static KEYS: KeySet = KeySet::new("the null sink", "debezium.sink.null.", &[]);

pub static SINK: SinkType = SinkType { name: "null", keys: &[&KEYS], read };

fn read(_: &mut Settings) -> Arc<dyn SinkConfig> {
    Arc::new(NullConfig)
}

#[derive(Debug)]
pub struct NullConfig;

impl SinkConfig for NullConfig {
    fn sink_type(&self) -> &'static str {
        "null"
    }

    fn open(&self) -> Result<AnySink, SinkError> {
        Ok(AnySink::new(NullSink))
    }
}
