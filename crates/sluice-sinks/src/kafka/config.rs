//! The Kafka sink's configuration: every `debezium.sink.kafka.producer.*` key for the producer (librdkafka checks
//! them, see `settings.rs`), and Kafka Connect's topic creation, `debezium.source.topic.creation.default.*`, which
//! Debezium keeps under the source's prefix although only this sink acts on it.

use std::sync::Arc;

use sluice_config::{key, KeySet, Settings};
use sluice_core::SinkError;

use super::{producer_settings, sink_error, KafkaSink, TopicCreation};
use crate::registry::{SinkConfig, SinkType};
use crate::AnySink;

const PRODUCER: &str = "debezium.sink.kafka.producer.";
const TOPIC_CREATION: &str = "debezium.source.topic.creation.default.";

static PRODUCER_KEYS: KeySet = KeySet {
    owner: "the kafka sink",
    prefix: "debezium.sink.kafka.",
    keys: &[],
    open_prefixes: &["producer."],
    not_yet: &[],
    accepted_as_given: &[],
    renamed: &[],
    unsupported_below: &[],
    other_connectors: &[],
};

static TOPIC_CREATION_KEYS: KeySet = KeySet {
    owner: "the kafka sink",
    prefix: "debezium.source.",
    keys: &[
        key("topic.creation.default.partitions", "", "partitions of a topic Sluice creates; -1: the broker's"),
        key("topic.creation.default.replication.factor", "", "its replication factor; -1: the broker's"),
    ],
    open_prefixes: &["topic.creation.default."],
    not_yet: &[],
    accepted_as_given: &[],
    renamed: &[],
    unsupported_below: &[],
    other_connectors: &[],
};

pub static SINK: SinkType = SinkType { name: "kafka", keys: &[&PRODUCER_KEYS, &TOPIC_CREATION_KEYS], read };

/// The producer's keys (prefix removed, in key order) and topic creation; the producer's keys are checked by
/// [`SinkConfig::check`], before the run.
#[derive(Debug, PartialEq, Eq)]
pub struct KafkaConfig {
    pub producer: Vec<(String, String)>,
    pub topic_creation: Option<TopicCreation>,
}

fn read(s: &mut Settings) -> Arc<dyn SinkConfig> {
    Arc::new(KafkaConfig { producer: s.below(PRODUCER), topic_creation: topic_creation(s) })
}

/// Kafka Connect's rule: topic creation is on when both `partitions` and `replication.factor` are set; either may be
/// `-1` for the broker's default.
fn topic_creation(s: &mut Settings) -> Option<TopicCreation> {
    let partitions_key = format!("{TOPIC_CREATION}partitions");
    let rf_key = format!("{TOPIC_CREATION}replication.factor");
    let (has_p, has_rf) = (s.get(&partitions_key).is_some(), s.get(&rf_key).is_some());
    if !has_p && !has_rf {
        return None;
    }
    if has_p != has_rf {
        let (set, missing) = if has_p { (&partitions_key, &rf_key) } else { (&rf_key, &partitions_key) };
        s.problem(format!(
            "`{set}` needs `{missing}` too: Kafka Connect creates topics only when both are set (use -1 for the broker's default)"
        ));
        return None;
    }
    let partitions: i32 = s.number(&partitions_key, -1, "a whole number (-1 for the broker's default)");
    // Kafka's replication factor is a 16-bit number.
    let replication_factor: i16 = s.number(&rf_key, -1, "a whole number (-1 for the broker's default)");
    if partitions == 0 || partitions < -1 {
        s.problem(format!("`{partitions_key}` must be at least 1, or -1 for the broker's default"));
    }
    if replication_factor == 0 || replication_factor < -1 {
        s.problem(format!("`{rf_key}` must be at least 1, or -1 for the broker's default"));
    }
    let configs = s
        .below(TOPIC_CREATION)
        .into_iter()
        .filter(|(k, _)| k != "partitions" && k != "replication.factor")
        .map(|(k, v)| (k, v.trim().to_string()))
        .collect();
    Some(TopicCreation { partitions, replication_factor: replication_factor.into(), configs })
}

impl SinkConfig for KafkaConfig {
    fn sink_type(&self) -> &'static str {
        "kafka"
    }

    fn check(&self) -> Result<Vec<String>, Vec<String>> {
        producer_settings(&self.producer).map(|s| s.notes)
    }

    fn open(&self) -> Result<AnySink, SinkError> {
        // Checked by `check` before the run started; a failure here is reported the same way.
        let settings =
            producer_settings(&self.producer).map_err(|problems| sink_error(false, problems.join("; "), None))?;
        Ok(AnySink::new(KafkaSink::new(settings, self.topic_creation.clone())?))
    }
}
