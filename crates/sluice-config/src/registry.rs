//! The key registry: every key a part of Sluice reads, declared by that part, so one validator can classify every
//! key of a file without knowing what the keys mean.
//!
//! A source, a sink, the event format and the engine each declare a [`KeySet`] next to the code that reads the keys
//! (the PostgreSQL source in `sluice-postgres`, the Kafka sink in its folder of `sluice-sinks`, …). The binary lists
//! the sets in one place; this crate only knows Debezium Server's layout (`debezium.source.*`, `debezium.sink.<type>.*`,
//! `quarkus.*`) and how to explain a key nobody declared. The same declarations can render the key reference, so the
//! docs and the validator cannot drift apart.

/// One key a part of Sluice implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The name after its set's [`KeySet::prefix`].
    pub name: &'static str,
    /// The default as a user would write it; empty when the key is required or has no default.
    pub default: &'static str,
    /// One line for the key reference.
    pub doc: &'static str,
}

/// A key with its default and documentation.
pub const fn key(name: &'static str, default: &'static str, doc: &'static str) -> Key {
    Key { name, default, doc }
}

/// The keys one part of Sluice owns.
#[derive(Debug)]
pub struct KeySet {
    /// Whose keys these are, as a user would say it ("the PostgreSQL source", "the kafka sink").
    pub owner: &'static str,
    /// What every name below starts with, e.g. `debezium.source.`.
    pub prefix: &'static str,
    /// The keys the owner implements.
    pub keys: &'static [Key],
    /// Prefixes (after [`KeySet::prefix`]) whose remainder is free-form and checked by the owner when it reads them,
    /// such as the Kafka producer's settings.
    pub open_prefixes: &'static [&'static str],
    /// Debezium keys (after the prefix) the owner does not implement yet: an error saying exactly that, never
    /// "unknown". A trailing `.` marks a prefix; any other entry also covers the keys below it.
    pub not_yet: &'static [&'static str],
    /// Keys (after the prefix) whose value, as given, asks for nothing the owner lacks: accepted and ignored at the
    /// listed values (`*`: any value), "not supported yet" at any other.
    pub accepted_as_given: &'static [(&'static str, &'static [&'static str])],
    /// Older names (after the prefix) read as their successors, with a deprecation note: `(old, new)`.
    pub renamed: &'static [(&'static str, &'static str)],
    /// Explanations for keys under a prefix (after [`KeySet::prefix`]) that are neither implemented nor a likely typo
    /// of a key that is: `(prefix, why)`.
    pub unsupported_below: &'static [(&'static str, &'static str)],
    /// Keys (after the prefix) that Debezium's other connectors define and that mean nothing here: a warning saying
    /// so, not an error (a configuration copied from another connector still starts). Prefixes as in `not_yet`.
    pub other_connectors: &'static [&'static str],
}

impl KeySet {
    /// A set with no keys and every list empty: the base of a set's declaration (`..KeySet::EMPTY`), so a set names
    /// only the lists it fills.
    pub const EMPTY: KeySet = KeySet {
        owner: "",
        prefix: "",
        keys: &[],
        open_prefixes: &[],
        not_yet: &[],
        accepted_as_given: &[],
        renamed: &[],
        unsupported_below: &[],
        other_connectors: &[],
    };

    /// A set with keys only; the other lists empty.
    pub const fn new(owner: &'static str, prefix: &'static str, keys: &'static [Key]) -> Self {
        KeySet { owner, prefix, keys, ..KeySet::EMPTY }
    }

    /// The full names of the keys.
    pub fn full_names(&self) -> impl Iterator<Item = String> + '_ {
        self.keys.iter().map(move |k| format!("{}{}", self.prefix, k.name))
    }

    fn relative<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.prefix)
    }

    fn is_open(&self, key: &str) -> bool {
        self.relative(key)
            .is_some_and(|rest| self.open_prefixes.iter().any(|p| rest.strip_prefix(p).is_some_and(|k| !k.is_empty())))
    }

    fn is_not_yet(&self, key: &str) -> bool {
        self.relative(key).is_some_and(|rest| covers(self.not_yet, rest))
    }

    fn is_other_connectors(&self, key: &str) -> bool {
        self.relative(key).is_some_and(|rest| covers(self.other_connectors, rest))
    }

    fn accepts_as_given(&self, key: &str, value: &str) -> bool {
        let value = value.trim();
        self.relative(key).is_some_and(|rest| {
            self.accepted_as_given
                .iter()
                .any(|(k, values)| *k == rest && values.iter().any(|v| *v == "*" || v.eq_ignore_ascii_case(value)))
        })
    }
}

/// Whether `rest` is one of `entries` or below one: a trailing `.` marks a prefix, any other entry covers itself and
/// the keys below it.
fn covers(entries: &[&str], rest: &str) -> bool {
    entries.iter().any(|k| {
        if k.ends_with('.') {
            rest.starts_with(k)
        } else {
            rest == *k || rest.strip_prefix(k).is_some_and(|r| r.starts_with('.'))
        }
    })
}

/// Debezium Server's sink types; those no registered sink answers to are "not supported yet".
pub const DEBEZIUM_SERVER_SINKS: &[&str] = &[
    "kafka",
    "kinesis",
    "pubsub",
    "pulsar",
    "redis",
    "nats-jetstream",
    "nats-streaming",
    "http",
    "rabbitmq",
    "rabbitmqstream",
    "eventhubs",
    "pravega",
    "infinispan",
    "rocketmq",
    "milvus",
    "qdrant",
    "sqs",
    "instructlab",
];

/// Every key set of one program, and the sink types it has.
#[derive(Debug, Default)]
pub struct Registry {
    sets: Vec<&'static KeySet>,
    sinks: Vec<&'static str>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a part's keys.
    pub fn with(mut self, set: &'static KeySet) -> Self {
        self.sets.push(set);
        self
    }

    /// Adds a sink type (`debezium.sink.type=<name>`) with its keys.
    pub fn with_sink(mut self, name: &'static str, set: &'static KeySet) -> Self {
        self.sinks.push(name);
        self.with(set)
    }

    pub fn sets(&self) -> &[&'static KeySet] {
        &self.sets
    }

    /// The sink types, in registration order.
    pub fn sink_types(&self) -> &[&'static str] {
        &self.sinks
    }

    /// Debezium Server's sink types no registered sink answers to.
    pub fn sinks_not_yet(&self) -> impl Iterator<Item = &'static str> + '_ {
        DEBEZIUM_SERVER_SINKS.iter().copied().filter(|s| !self.sinks.contains(s))
    }

    /// Every implemented key's full name.
    pub fn supported_keys(&self) -> Vec<String> {
        self.sets.iter().flat_map(|s| s.full_names()).collect()
    }

    /// Whether the key's name is free-form below a declared prefix.
    pub fn is_open(&self, key: &str) -> bool {
        self.sets.iter().any(|s| s.is_open(key))
    }

    pub fn is_not_yet(&self, key: &str) -> bool {
        self.sets.iter().any(|s| s.is_not_yet(key))
    }

    /// Whether another Debezium connector defines the key (a warning, not an error).
    pub fn is_other_connectors(&self, key: &str) -> bool {
        self.sets.iter().any(|s| s.is_other_connectors(key))
    }

    pub fn accepts_as_given(&self, key: &str, value: &str) -> bool {
        self.sets.iter().any(|s| s.accepts_as_given(key, value))
    }

    /// `(old full name, new full name)` of every declared rename.
    pub fn renames(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.sets.iter().flat_map(|s| {
            s.renamed.iter().map(move |(old, new)| (format!("{}{old}", s.prefix), format!("{}{new}", s.prefix)))
        })
    }

    /// Why a key below a declared prefix is not supported, when a set explains it.
    pub fn unsupported_below(&self, key: &str) -> Option<&'static str> {
        self.sets.iter().find_map(|s| {
            let rest = s.relative(key)?;
            s.unsupported_below.iter().find(|(p, _)| rest.starts_with(p)).map(|(_, why)| *why)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SET: KeySet = KeySet {
        owner: "a test",
        prefix: "debezium.source.",
        keys: &[key("slot.name", "debezium", "the slot")],
        open_prefixes: &["producer."],
        not_yet: &["signal.", "converters"],
        accepted_as_given: &[("tasks.max", &["*"]), ("max.batch.size", &["2048"])],
        renamed: &[("database.server.name", "topic.prefix")],
        unsupported_below: &[("format.", "why")],
        other_connectors: &["database.server.id", "schema.history.internal"],
    };

    #[test]
    fn a_set_classifies_its_keys_by_prefix_and_list() {
        let r = Registry::new().with_sink("file", &SET);
        assert_eq!(r.supported_keys(), ["debezium.source.slot.name"]);
        assert!(r.is_open("debezium.source.producer.acks") && !r.is_open("debezium.source.producer."));
        assert!(r.is_not_yet("debezium.source.signal.data.collection"));
        assert!(r.is_not_yet("debezium.source.converters") && r.is_not_yet("debezium.source.converters.x.type"));
        assert!(!r.is_not_yet("debezium.source.convertersx"));
        assert!(r.accepts_as_given("debezium.source.tasks.max", "4"));
        assert!(r.accepts_as_given("debezium.source.max.batch.size", " 2048 "));
        assert!(!r.accepts_as_given("debezium.source.max.batch.size", "10"));
        assert_eq!(r.unsupported_below("debezium.source.format.x"), Some("why"));
        assert!(r.is_other_connectors("debezium.source.database.server.id"));
        assert!(r.is_other_connectors("debezium.source.schema.history.internal.kafka.topic"));
        assert!(!r.is_other_connectors("debezium.source.database.server.name"));
        assert!(r.sinks_not_yet().any(|s| s == "kafka") && !r.sinks_not_yet().any(|s| s == "file"));
    }
}
