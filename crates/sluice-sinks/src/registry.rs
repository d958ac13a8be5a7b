//! Every sink Sluice has, in one list, and the reading of `debezium.sink.type`.
//!
//! A sink folder's `config.rs` declares a [`SinkType`]: its name, its keys and how they are read into a
//! [`SinkConfig`], which opens the sink. [`SINK_TYPES`] lists them; nothing else in Sluice names a sink, so a new
//! sink is one folder and one line below.

use std::fmt::Debug;
use std::sync::Arc;

use sluice_config::{key, KeySet, Registry, Settings};
use sluice_core::SinkError;

use crate::AnySink;

/// Every sink type.
pub static SINK_TYPES: &[&SinkType] = &[
    #[cfg(feature = "kafka")]
    &crate::kafka::config::SINK,
    &crate::file::config::SINK,
    &crate::stdout::config::SINK,
    &crate::null::config::SINK,
];

/// `debezium.sink.type`.
pub static KEYS: KeySet =
    KeySet::new("the sinks", "debezium.sink.", &[key("type", "", "the sink: kafka, file, stdout or null")]);

const TYPE_KEY: &str = "debezium.sink.type";

/// One kind of sink.
#[derive(Debug)]
pub struct SinkType {
    /// Its name in `debezium.sink.type`.
    pub name: &'static str,
    /// The keys it reads (its own `debezium.sink.<name>.*`, and any it shares a prefix with others for).
    pub keys: &'static [&'static KeySet],
    /// Reads its keys; called only when it is the configured sink.
    pub read: fn(&mut Settings) -> Arc<dyn SinkConfig>,
}

/// A sink's validated configuration.
pub trait SinkConfig: Debug + Send + Sync {
    /// The sink's name, as in `debezium.sink.type`.
    fn sink_type(&self) -> &'static str;

    /// Checks what only the sink can check, without connecting anywhere (the Kafka producer's keys, by
    /// librdkafka): the notes to log, or every problem.
    fn check(&self) -> Result<Vec<String>, Vec<String>> {
        Ok(Vec::new())
    }

    /// Opens the sink for one run of the pipeline.
    fn open(&self) -> Result<AnySink, SinkError>;
}

/// Adds every sink's keys to a registry.
pub fn register(mut registry: Registry) -> Registry {
    registry = registry.with(&KEYS);
    for sink in SINK_TYPES {
        for (i, set) in sink.keys.iter().enumerate() {
            registry = if i == 0 { registry.with_sink(sink.name, set) } else { registry.with(set) };
        }
    }
    registry
}

/// Reads `debezium.sink.type` and the chosen sink's keys; keys of the other sinks are a warning ("unused"). When
/// the type is missing or unknown, the problem is recorded and the `null` sink stands in (the configuration is
/// rejected anyway).
pub fn read(s: &mut Settings) -> Arc<dyn SinkConfig> {
    let names: Vec<&str> = SINK_TYPES.iter().map(|t| t.name).collect();
    let chosen = s.get(TYPE_KEY).map(|v| v.trim().to_string());
    for other in SINK_TYPES.iter().filter(|t| Some(t.name) != chosen.as_deref()) {
        let set: Vec<String> = other
            .keys
            .iter()
            .flat_map(|keys| {
                let exact = keys.full_names().filter(|k| s.get(k).is_some());
                let open = keys
                    .open_prefixes
                    .iter()
                    .map(|p| format!("{}{p}", keys.prefix))
                    .filter(|p| s.any_below(p))
                    .map(|p| format!("{p}*"));
                exact.chain(open).collect::<Vec<_>>()
            })
            .collect();
        if !set.is_empty() {
            s.warn(format!("{} is set but the sink type is not {}; it is unused", set.join(", "), other.name));
        }
    }
    let Some(chosen) = chosen else {
        s.problem(format!("missing required key `{TYPE_KEY}` ({})", names.join(", ")));
        return Arc::new(crate::null::config::NullConfig);
    };
    if let Some(sink) = SINK_TYPES.iter().find(|t| t.name == chosen) {
        return (sink.read)(s);
    }
    if sluice_config::DEBEZIUM_SERVER_SINKS.contains(&chosen.as_str()) {
        s.problem(format!(
            "`{TYPE_KEY}` = `{chosen}`: this sink is not supported yet (Sluice has {})",
            names.join(", ")
        ));
    } else {
        s.problem(format!("`{TYPE_KEY}` = `{chosen}` is not valid; allowed values: {}", names.join(", ")));
    }
    Arc::new(crate::null::config::NullConfig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sink_type_owns_its_prefix_and_reads_into_a_config_of_its_own_name() {
        for sink in SINK_TYPES {
            let own = format!("debezium.sink.{}.", sink.name);
            assert_eq!(sink.keys[0].prefix, own, "{}: its first key set is its own prefix", sink.name);
            let registry = register(Registry::new());
            let values = [("debezium.sink.type".to_string(), sink.name.to_string())]
                .into_iter()
                .chain(sink.keys[0].full_names().map(|k| (k, "x".to_string())));
            let loaded = sluice_config::from_pairs(
                values,
                &|_| None,
                &sluice_config::ProviderLimits::operator(),
                &registry,
                read,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", sink.name));
            assert_eq!(loaded.config.sink_type(), sink.name);
        }
    }

    #[test]
    fn the_sink_type_lists_the_registered_sinks_and_names_debeziums_others_as_not_yet() {
        let registry = register(Registry::new());
        let problem = |value: &str| {
            let pairs = [("debezium.sink.type".to_string(), value.to_string())];
            sluice_config::from_pairs(pairs, &|_| None, &sluice_config::ProviderLimits::operator(), &registry, read)
                .unwrap_err()
                .to_string()
        };
        let names: Vec<&str> = SINK_TYPES.iter().map(|t| t.name).collect();
        assert!(problem("fiel").contains(&format!("allowed values: {}", names.join(", "))));
        assert!(problem("pulsar").contains("not supported yet"));
        assert!(registry.sinks_not_yet().all(|s| !names.contains(&s)));
    }
}
