//! The Kafka sink's configuration: every `debezium.sink.kafka.producer.*` key for the producer (librdkafka checks
//! them, see `settings.rs`), and Kafka Connect's topic creation, `debezium.source.topic.creation.*` (the default
//! group and the groups of `topic.creation.groups`), which Debezium keeps under the source's prefix although only
//! this sink acts on it.

use std::sync::Arc;

use sluice_config::{key, KeySet, Settings};
use sluice_core::SinkError;

use super::{producer_settings, sink_error, KafkaSink, TopicCreation, TopicGroup};
use crate::registry::{SinkConfig, SinkType};
use crate::AnySink;

const PRODUCER: &str = "debezium.sink.kafka.producer.";
const TOPIC_CREATION: &str = "debezium.source.topic.creation.";
const DEFAULT_GROUP: &str = "debezium.source.topic.creation.default.";

static PRODUCER_KEYS: KeySet = KeySet {
    owner: "the kafka sink",
    prefix: "debezium.sink.kafka.",
    keys: &[],
    open_prefixes: &["producer."],
    ..KeySet::EMPTY
};

static TOPIC_CREATION_KEYS: KeySet = KeySet {
    owner: "the kafka sink",
    prefix: "debezium.source.",
    keys: &[
        key("topic.creation.default.partitions", "", "partitions of a topic Sluice creates; -1: the broker's"),
        key("topic.creation.default.replication.factor", "", "its replication factor; -1: the broker's"),
        key("topic.creation.groups", "", "groups of topics created with settings of their own"),
    ],
    // `topic.creation.<group>.*` for each group of `topic.creation.groups`, and the default group's topic configs;
    // keys of groups not listed are reported when read.
    open_prefixes: &["topic.creation."],
    ..KeySet::EMPTY
};

pub static SINK: SinkType = SinkType { name: "kafka", keys: &[&PRODUCER_KEYS, &TOPIC_CREATION_KEYS], read };

/// The producer's keys (prefix removed, in key order) and topic creation; the producer's keys are checked by
/// [`SinkConfig::check`], before the run.
#[derive(Debug)]
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
    let partitions_key = format!("{DEFAULT_GROUP}partitions");
    let rf_key = format!("{DEFAULT_GROUP}replication.factor");
    let groups_key = format!("{TOPIC_CREATION}groups");
    let names = s.list(&groups_key);
    check_group_keys(s, &names);
    let (has_p, has_rf) = (s.get(&partitions_key).is_some(), s.get(&rf_key).is_some());
    if !has_p && !has_rf {
        if !names.is_empty() || s.any_below(DEFAULT_GROUP) {
            s.problem(format!(
                "`{groups_key}` and `{DEFAULT_GROUP}*` need `{partitions_key}` and `{rf_key}`: Kafka Connect creates \
                 topics only when both are set (use -1 for the broker's default)"
            ));
        }
        return None;
    }
    if has_p != has_rf {
        let (set, missing) = if has_p { (&partitions_key, &rf_key) } else { (&rf_key, &partitions_key) };
        s.problem(format!(
            "`{set}` needs `{missing}` too: Kafka Connect creates topics only when both are set (use -1 for the broker's default)"
        ));
        return None;
    }
    let partitions = partitions(s, &partitions_key, -1);
    let replication_factor = replication_factor(s, &rf_key, -1);
    let configs = group_configs(s, DEFAULT_GROUP);
    let groups = names.iter().map(|name| group(s, name, partitions, replication_factor)).collect();
    Some(TopicCreation { partitions, replication_factor, configs, groups })
}

/// Every `topic.creation.<x>.*` key must belong to the default group or a listed one.
fn check_group_keys(s: &mut Settings, names: &[String]) {
    for (rest, _) in s.below(TOPIC_CREATION) {
        let Some((group, _)) = rest.split_once('.') else { continue };
        if group != "default" && !names.iter().any(|n| n == group) {
            s.problem(format!(
                "`{TOPIC_CREATION}{rest}` configures the topic creation group `{group}`, which is not listed in \
                 `{TOPIC_CREATION}groups`; add it there or remove the key"
            ));
        }
    }
}

fn partitions(s: &mut Settings, key: &str, default: i32) -> i32 {
    let partitions: i32 = s.number(key, default, "a whole number (-1 for the broker's default)");
    if partitions == 0 || partitions < -1 {
        s.problem(format!("`{key}` must be at least 1, or -1 for the broker's default"));
    }
    partitions
}

/// Kafka's replication factor is a 16-bit number.
fn replication_factor(s: &mut Settings, key: &str, default: i32) -> i32 {
    let default = i16::try_from(default).unwrap_or(-1);
    let replication_factor: i16 = s.number(key, default, "a whole number (-1 for the broker's default)");
    if replication_factor == 0 || replication_factor < -1 {
        s.problem(format!("`{key}` must be at least 1, or -1 for the broker's default"));
    }
    replication_factor.into()
}

/// The topic configs of a group: every key below its prefix but its own settings.
fn group_configs(s: &Settings, prefix: &str) -> Vec<(String, String)> {
    const OWN: &[&str] = &["partitions", "replication.factor", "include", "exclude"];
    s.below(prefix)
        .into_iter()
        .filter(|(k, _)| !OWN.contains(&k.as_str()))
        .map(|(k, v)| (k, v.trim().to_string()))
        .collect()
}

/// One group; its partitions and replication factor default to the default group's, as in Kafka Connect.
fn group(s: &mut Settings, name: &str, partitions_default: i32, rf_default: i32) -> TopicGroup {
    let prefix = format!("{TOPIC_CREATION}{name}.");
    let include_key = format!("{prefix}include");
    let include = topic_patterns(s, &include_key);
    if include.is_empty() {
        s.problem(format!(
            "missing required key `{include_key}`: the topics of group `{name}`, as regular expressions"
        ));
    }
    TopicGroup {
        name: name.to_string(),
        include,
        exclude: topic_patterns(s, &format!("{prefix}exclude")),
        partitions: partitions(s, &format!("{prefix}partitions"), partitions_default),
        replication_factor: replication_factor(s, &format!("{prefix}replication.factor"), rf_default),
        configs: group_configs(s, &prefix),
    }
}

/// Kafka Connect's include/exclude lists: comma-separated Java regular expressions matched against the whole topic
/// name, case-sensitively.
fn topic_patterns(s: &mut Settings, key: &str) -> Vec<regex::Regex> {
    let mut patterns = Vec::new();
    for pattern in s.list(key) {
        match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(r) => patterns.push(r),
            Err(e) => s.problem(format!("`{key}`: `{pattern}` is not a valid regular expression: {e}")),
        }
    }
    patterns
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

#[cfg(test)]
mod tests {
    use sluice_config::{ProviderLimits, Registry};

    use super::*;

    fn read_pairs(pairs: &[(&str, &str)]) -> Result<Option<TopicCreation>, Vec<String>> {
        let registry = Registry::new().with(&PRODUCER_KEYS).with(&TOPIC_CREATION_KEYS);
        let pairs = pairs.iter().map(|(k, v)| (format!("debezium.source.{k}"), v.to_string()));
        sluice_config::from_pairs(pairs, &|_| None, &ProviderLimits::operator(), &registry, topic_creation)
            .map(|loaded| loaded.config)
            .map_err(|e| e.problems())
    }

    #[test]
    fn topic_creation_groups_route_topics_by_include_and_exclude_and_inherit_the_defaults() {
        // debezium/debezium-examples topic-auto-create/connector.json, and Kafka's KIP-158 rules: the first
        // listed group a topic matches wins, a group takes the default group's partitions and replication factor
        // when it sets none, and the default group's topic configs are its own.
        let creation = read_pairs(&[
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.partitions", "5"),
            ("topic.creation.default.cleanup.policy", "compact"),
            ("topic.creation.groups", "productlog, audit"),
            ("topic.creation.productlog.include", "dbserver1\\.inventory\\.product.*"),
            ("topic.creation.productlog.exclude", "dbserver1\\.inventory\\.products_on_hand"),
            ("topic.creation.productlog.partitions", "10"),
            ("topic.creation.productlog.retention.ms", "7776000000"),
            ("topic.creation.audit.include", "audit\\..*,.*\\.log"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            creation.settings_for("dbserver1.inventory.products"),
            (10, 1, &[("retention.ms".to_string(), "7776000000".to_string())][..])
        );
        let default: &[(String, String)] = &[("cleanup.policy".into(), "compact".into())];
        assert_eq!(creation.settings_for("dbserver1.inventory.products_on_hand"), (5, 1, default));
        assert_eq!(creation.settings_for("DBSERVER1.inventory.products"), (5, 1, default), "case-sensitive");
        assert_eq!(creation.settings_for("x.log"), (5, 1, &[][..]), "the audit group inherits partitions");
        assert_eq!(creation.settings_for("dbserver1.inventory.customers"), (5, 1, default));
    }

    #[test]
    fn topic_creation_group_mistakes_are_named() {
        let problems = read_pairs(&[
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.partitions", "1"),
            ("topic.creation.groups", "a"),
            ("topic.creation.a.partitions", "0"),
            ("topic.creation.b.partitions", "3"),
        ])
        .unwrap_err();
        assert!(problems.iter().any(|p| p.contains("missing required key `debezium.source.topic.creation.a.include`")));
        assert!(problems.iter().any(|p| p.contains("topic.creation.a.partitions` must be at least 1")));
        assert!(problems.iter().any(|p| p.contains("group `b`, which is not listed")), "{problems:?}");
        let problems = read_pairs(&[("topic.creation.groups", "a"), ("topic.creation.a.include", "x")]).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("Kafka Connect creates topics only when both are set")));
        let problems = read_pairs(&[
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.partitions", "1"),
            ("topic.creation.groups", "a"),
            ("topic.creation.a.include", "(unclosed"),
        ])
        .unwrap_err();
        assert!(problems.iter().any(|p| p.contains("not a valid regular expression")), "{problems:?}");
    }
}
