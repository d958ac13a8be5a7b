//! The `file` sink's configuration: `debezium.sink.file.path`.

use std::path::PathBuf;
use std::sync::Arc;

use sluice_config::{key, KeySet, Settings};
use sluice_core::SinkError;

use super::FileSink;
use crate::registry::{SinkConfig, SinkType};
use crate::AnySink;

const PATH: &str = "debezium.sink.file.path";

static KEYS: KeySet = KeySet::new(
    "the file sink",
    "debezium.sink.file.",
    &[key("path", "", "the JSON Lines file; appended to, fsynced before a batch is acknowledged")],
);

pub static SINK: SinkType = SinkType { name: "file", keys: &[&KEYS], read };

fn read(s: &mut Settings) -> Arc<dyn SinkConfig> {
    match s.optional(PATH) {
        Some(path) => Arc::new(FileConfig { path: PathBuf::from(path) }),
        None => {
            s.problem(format!("missing required key `{PATH}` (the sink type is file)"));
            Arc::new(crate::null::config::NullConfig)
        }
    }
}

/// Where the file sink writes.
#[derive(Debug, PartialEq, Eq)]
pub struct FileConfig {
    pub path: PathBuf,
}

impl SinkConfig for FileConfig {
    fn sink_type(&self) -> &'static str {
        "file"
    }

    fn open(&self) -> Result<AnySink, SinkError> {
        Ok(AnySink::new(FileSink::open(&self.path)?))
    }
}
