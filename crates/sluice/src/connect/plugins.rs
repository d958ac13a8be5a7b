//! `/connector-plugins`: what this worker can run, and the configuration definitions of its one connector.
//!
//! Kafka Connect answers `GET /connector-plugins/{plugin}/config` from the connector's `ConfigDef`; UIs (Kafka UI,
//! Conduktor, Lenses) build their connector forms from it. Sluice's keys are declared by the parts that read them
//! (the key registry, `crate::config::registry`), without Kafka Connect's vocabulary of types, importance and groups.
//! So [`DEFINITIONS`] adds that vocabulary to the keys a Sluice connector configuration takes, and tests hold it to
//! the registry both ways: every key listed here is one the worker accepts, with the registry's default, and every
//! source key the registry declares is listed here.

use serde_json::{json, Value};

use sluice_format::settings::{PREDICATES_SUPPORTED, TRANSFORMS_SUPPORTED};

use super::CONNECTOR_CLASS;

/// The converters a connector configuration may name; the transformations and predicates are the ones
/// `sluice_format::settings` supports, so the list cannot drift from what runs.
const CONVERTERS: &[&str] = &[
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "io.debezium.converters.BinaryDataConverter",
];

/// A transformation, predicate or converter a connector configuration may name, as
/// `GET /connector-plugins?connectorsOnly=false` lists them: `(class, type)`.
fn other_plugins() -> impl Iterator<Item = (&'static str, &'static str)> {
    let kinds = |classes: &'static [&'static str], kind: &'static str| classes.iter().map(move |c| (*c, kind));
    kinds(TRANSFORMS_SUPPORTED, "transformation")
        .chain(kinds(PREDICATES_SUPPORTED, "predicate"))
        .chain(kinds(CONVERTERS, "converter"))
}

/// `GET /connector-plugins`: the connector, and with `connectorsOnly=false` the transformations, predicates and
/// converters a configuration may name too.
pub fn list(connectors_only: bool) -> Value {
    let version = env!("CARGO_PKG_VERSION");
    let mut all = vec![json!({"class": CONNECTOR_CLASS, "type": "source", "version": version})];
    if !connectors_only {
        all.extend(other_plugins().map(|(class, kind)| json!({"class": class, "type": kind, "version": version})));
    }
    Value::Array(all)
}

/// Whether `plugin` is one of the transformations, predicates or converters `?connectorsOnly=false` lists.
pub fn is_listed(plugin: &str) -> bool {
    other_plugins().any(|(class, _)| class == plugin)
}

/// Whether `plugin` names Sluice's connector: its class, or Kafka Connect's aliases (the simple class name, and
/// that name without `Connector`).
pub fn is_connector(plugin: &str) -> bool {
    plugin == CONNECTOR_CLASS || plugin == "PostgresConnector" || plugin == "Postgres"
}

/// Kafka's `ConfigDef.Type` names.
#[derive(Clone, Copy)]
enum Type {
    Bool,
    Int,
    Long,
    Str,
    List,
    Class,
    Password,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Bool => "BOOLEAN",
            Type::Int => "INT",
            Type::Long => "LONG",
            Type::Str => "STRING",
            Type::List => "LIST",
            Type::Class => "CLASS",
            Type::Password => "PASSWORD",
        }
    }
}

/// One key: name, type, default (`None`: required when `required`, else unset), importance, group, documentation.
struct Definition {
    name: &'static str,
    kind: Type,
    required: bool,
    default: Option<&'static str>,
    importance: &'static str,
    group: &'static str,
    doc: &'static str,
}

const fn key(
    name: &'static str,
    kind: Type,
    default: Option<&'static str>,
    importance: &'static str,
    group: &'static str,
    doc: &'static str,
) -> Definition {
    Definition { name, kind, required: false, default, importance, group, doc }
}

const fn required(name: &'static str, kind: Type, group: &'static str, doc: &'static str) -> Definition {
    Definition { name, kind, required: true, default: None, importance: "HIGH", group, doc }
}

const CONNECTION: &str = "Connection";
const CONNECTOR: &str = "Connector";
const FILTERS: &str = "Filters";
const EVENTS: &str = "Events";
const SNAPSHOT: &str = "Snapshot";
const SLOT: &str = "Replication slot";
const ADVANCED: &str = "Advanced";
const COMMON: &str = "Common";

use Type::*;

/// Every key of a Sluice connector configuration, in the order a form shows them (docs/configuration.md has the
/// details of each).
const DEFINITIONS: &[Definition] = &[
    required("name", Str, COMMON, "Globally unique name to use for this connector."),
    required("connector.class", Class, COMMON, "io.debezium.connector.postgresql.PostgresConnector, the connector Sluice runs."),
    key("tasks.max", Int, Some("1"), "HIGH", COMMON, "Maximum number of tasks; a Sluice connector runs one task, whatever the value."),
    key("key.converter", Class, None, "LOW", COMMON, "JsonConverter, StringConverter or BinaryDataConverter/ByteArrayConverter; the worker's when unset."),
    key("value.converter", Class, None, "LOW", COMMON, "JsonConverter, StringConverter or BinaryDataConverter/ByteArrayConverter; the worker's when unset."),
    key("transforms", List, Some(""), "LOW", COMMON, "Aliases of the transformations to apply to records: Debezium's ExtractNewRecordState, outbox EventRouter, DecodeLogicalDecodingMessageContent and ByLogicalTableRouter, Kafka Connect's RegexRouter, TimestampRouter, InsertHeader, DropHeaders, Filter, ReplaceField, InsertField, MaskField, ExtractField, ValueToKey, HeaderFrom, HoistField, SetSchemaMetadata, Flatten, Cast and TimestampConverter, Debezium's HeaderToValue and PartitionRouting, and Debezium's scripted Filter and ContentBasedRouter (a documented subset of their Groovy/JavaScript expressions)."),
    key("predicates", List, Some(""), "LOW", COMMON, "Aliases of the predicates transformations may be applied under (TopicNameMatches, HasHeaderKey, RecordIsTombstone)."),
    required("database.hostname", Str, CONNECTION, "Resolvable hostname or IP address of the PostgreSQL server."),
    key("database.port", Int, Some("5432"), "HIGH", CONNECTION, "Port of the PostgreSQL server."),
    required("database.user", Str, CONNECTION, "Name of the PostgreSQL user, with LOGIN and REPLICATION."),
    key("database.password", Password, None, "HIGH", CONNECTION, "Password of the PostgreSQL user."),
    required("database.dbname", Str, CONNECTION, "The database to capture changes from."),
    key("database.sslmode", Str, Some("prefer"), "MEDIUM", CONNECTION, "disable, allow, prefer, require, verify-ca or verify-full."),
    key("database.sslrootcert", Str, None, "MEDIUM", CONNECTION, "CA certificate (PEM) for verify-ca and verify-full."),
    key("driver.receiveBufferSize", Int, None, "LOW", CONNECTION, "Receive buffer of the replication socket in bytes; -1 leaves it to the operating system. Sized by Sluice when unset."),
    required("topic.prefix", Str, CONNECTOR, "Prefix of every topic name: <prefix>.<schema>.<table>."),
    key("plugin.name", Str, Some("pgoutput"), "MEDIUM", CONNECTOR, "The logical decoding plugin; only pgoutput."),
    key("publication.name", Str, Some("dbz_publication"), "LOW", CONNECTOR, "The publication pgoutput streams from."),
    key("publication.autocreate.mode", Str, Some("all_tables"), "LOW", CONNECTOR, "all_tables, filtered, no_tables or disabled."),
    key("schema.include.list", List, None, "HIGH", FILTERS, "Regular expressions of the schemas to capture."),
    key("schema.exclude.list", List, None, "MEDIUM", FILTERS, "Regular expressions of the schemas not to capture."),
    key("table.include.list", List, None, "HIGH", FILTERS, "Regular expressions of the tables (schema.table) to capture."),
    key("table.exclude.list", List, None, "MEDIUM", FILTERS, "Regular expressions of the tables not to capture."),
    key("column.include.list", List, None, "MEDIUM", FILTERS, "Regular expressions of the columns (schema.table.column) to capture."),
    key("column.exclude.list", List, None, "MEDIUM", FILTERS, "Regular expressions of the columns to leave out."),
    key("skipped.operations", List, Some("t"), "LOW", FILTERS, "Operations not to emit: c, u, d, t, or none."),
    key("snapshot.mode", Str, Some("initial"), "MEDIUM", SNAPSHOT, "initial, always, initial_only, no_data or when_needed."),
    key("snapshot.max.threads", Int, Some("1"), "MEDIUM", SNAPSHOT, "Tables read in parallel during a snapshot."),
    key("snapshot.include.collection.list", List, None, "MEDIUM", SNAPSHOT, "Regular expressions of the captured tables the snapshot reads; unset: all."),
    key("snapshot.select.statement.overrides", List, None, "MEDIUM", SNAPSHOT, "Tables (schema.table) whose snapshot reads the SELECT in snapshot.select.statement.overrides.<schema>.<table>."),
    key("snapshot.fetch.size", Int, None, "LOW", SNAPSHOT, "Accepted without effect: the snapshot streams each table with COPY."),
    key("message.prefix.include.list", List, None, "MEDIUM", FILTERS, "Regular expressions of the logical decoding message prefixes to emit."),
    key("message.prefix.exclude.list", List, None, "MEDIUM", FILTERS, "Regular expressions of the logical decoding message prefixes not to emit."),
    key("message.key.columns", List, None, "MEDIUM", EVENTS, "Columns that make up each table's event key: <table regex>:<column>,<column>;…"),
    key("column.propagate.source.type", List, None, "LOW", EVENTS, "Regular expressions of columns (schema.table.column) whose schema carries the source type, length and scale."),
    key("datatype.propagate.source.type", List, None, "LOW", EVENTS, "Regular expressions of types (schema.table.type) whose columns' schemas carry the source type."),
    key("tombstones.on.delete", Bool, Some("true"), "HIGH", EVENTS, "Whether a delete is followed by a tombstone record."),
    key("decimal.handling.mode", Str, Some("precise"), "MEDIUM", EVENTS, "precise, double or string."),
    key("time.precision.mode", Str, Some("adaptive"), "MEDIUM", EVENTS, "adaptive, adaptive_time_microseconds, connect, isostring, microseconds or nanoseconds."),
    key("interval.handling.mode", Str, Some("numeric"), "MEDIUM", EVENTS, "numeric (microseconds) or string (ISO-8601, P<years>Y<months>M<days>DT<hours>H<minutes>M<seconds>S)."),
    key("hstore.handling.mode", Str, Some("json"), "MEDIUM", EVENTS, "json (the map as a JSON string) or map (a map of strings)."),
    key("binary.handling.mode", Str, Some("bytes"), "LOW", EVENTS, "bytes, base64, base64-url-safe or hex."),
    key("unavailable.value.placeholder", Str, Some("__debezium_unavailable_value"), "MEDIUM", EVENTS, "Stands in for unchanged TOASTed values."),
    key("include.unknown.datatypes", Bool, Some("false"), "LOW", EVENTS, "Whether columns of unsupported types are emitted as their text form in bytes."),
    key("money.fraction.digits", Int, Some("2"), "LOW", EVENTS, "Scale of money values."),
    key("event.processing.failure.handling.mode", Str, Some("fail"), "MEDIUM", EVENTS, "An event that cannot be encoded: fail, warn or skip."),
    key("heartbeat.interval.ms", Int, Some("0"), "MEDIUM", EVENTS, "Milliseconds between heartbeat records; 0 for none."),
    key("heartbeat.action.query", Str, None, "MEDIUM", EVENTS, "SQL run on the source database on every heartbeat."),
    key("heartbeat.emit.message", Bool, Some("false"), "LOW", EVENTS, "Sluice's own: a WAL message on every heartbeat, so a quiet database still moves the slot."),
    key("topic.heartbeat.prefix", Str, Some("__debezium-heartbeat"), "LOW", EVENTS, "Prefix of the heartbeat topic."),
    key("provide.transaction.metadata", Bool, Some("false"), "LOW", EVENTS, "BEGIN and END records of every transaction, and a transaction block in each change event."),
    key("topic.transaction", Str, Some("transaction"), "LOW", EVENTS, "Suffix of the transaction metadata topic: <topic.prefix>.<topic.transaction>, joined with topic.delimiter."),
    key("topic.naming.strategy", Class, Some("io.debezium.schema.SchemaTopicNamingStrategy"), "MEDIUM", EVENTS, "SchemaTopicNamingStrategy: topics <topic.prefix>.<schema>.<table>; io.debezium.schema.DefaultTopicNamingStrategy: <topic.prefix>.<table>."),
    key("topic.delimiter", Str, Some("."), "LOW", EVENTS, "Joins the parts of table, heartbeat and transaction topic names."),
    key("topic.cache.size", Int, Some("10000"), "LOW", EVENTS, "Accepted (a positive number): Sluice keeps every table's topic name."),
    key("schema.name.adjustment.mode", Str, Some("none"), "LOW", EVENTS, "Schema names for Avro: none, avro (invalid characters become _) or avro_unicode (_uxxxx)."),
    key("field.name.adjustment.mode", Str, Some("none"), "LOW", EVENTS, "Field names for Avro: none, avro (invalid characters become _) or avro_unicode (_uxxxx)."),
    key("slot.name", Str, Some("debezium"), "MEDIUM", SLOT, "The replication slot; one per connector."),
    key("slot.stream.params", Str, None, "LOW", SLOT, "name=value;… options for the pgoutput plugin, after Sluice's own (origin=none on PostgreSQL 16+)."),
    key("replica.identity.autoset.values", List, None, "LOW", CONNECTOR, "<schema.table regex>:<FULL|DEFAULT|NOTHING|INDEX name> entries: replica identities set on the captured tables at start."),
    key("publish.via.partition.root", Bool, Some("false"), "LOW", CONNECTOR, "Capture partitioned tables as their root table; unset: as an existing publication says."),
    key("slot.drop.on.stop", Bool, Some("false"), "LOW", SLOT, "Drop the slot when the connector stops; for tests and trials."),
    key("slot.max.retries", Int, Some("6"), "LOW", SLOT, "Attempts to start while another connection holds the slot."),
    key("slot.retry.delay.ms", Long, Some("10000"), "LOW", SLOT, "Milliseconds between those attempts."),
    key("slot.lost.policy", Str, Some("fail"), "MEDIUM", SLOT, "Sluice's own: fail, or recreate the slot and take a new snapshot, when the slot was lost."),
    key("slot.guard.interval.ms", Long, Some("10000"), "LOW", SLOT, "Sluice's own: how often the slot's retained WAL is checked; 0 for never."),
    key("slot.guard.retained.wal.warn.bytes", Long, Some("1073741824"), "LOW", SLOT, "Sluice's own: retained WAL above this is logged as a warning."),
    key("status.update.interval.ms", Int, Some("10000"), "LOW", SLOT, "Milliseconds between standby status updates at the latest."),
    key("database.initial.statements", Str, None, "LOW", CONNECTION, "SQL run on every connection but the replication one; ; separates, ;; is a ;."),
    key("max.batch.size", Int, None, "MEDIUM", ADVANCED, "At most this many records per sink write; unset: 1024."),
    key("max.queue.size", Int, None, "LOW", ADVANCED, "Must be larger than max.batch.size, as in Debezium; Sluice bounds its queue by chunks and bytes."),
    key("max.queue.size.in.bytes", Long, Some("33554432"), "MEDIUM", ADVANCED, "Bytes of change events in flight; 0 for no byte limit."),
    key("offset.flush.interval.ms", Long, Some("0"), "LOW", ADVANCED, "How often acknowledged positions are written at most; 0 for after every batch."),
    key("outbox.cleanup.table", Str, None, "LOW", ADVANCED, "Sluice's own: schema.table of an outbox whose rows are deleted once their events are acknowledged."),
    key("outbox.cleanup.id.column", Str, Some("id"), "LOW", ADVANCED, "The column outbox rows are deleted by."),
    key("outbox.cleanup.interval.ms", Long, Some("1000"), "LOW", ADVANCED, "How often acknowledged outbox rows are deleted."),
    key("outbox.cleanup.batch.size", Int, Some("1000"), "LOW", ADVANCED, "At most this many outbox rows per DELETE."),
];

/// `GET /connector-plugins/{connector}/config`: Kafka Connect's `ConfigKeyInfo` list. `order` counts within each
/// group, from 1, as `ConfigDef` numbers them.
pub fn definitions() -> Value {
    let mut orders: Vec<(&str, i32)> = Vec::new();
    let infos = DEFINITIONS
        .iter()
        .map(|d| {
            let order = match orders.iter_mut().find(|(g, _)| *g == d.group) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    orders.push((d.group, 1));
                    1
                }
            };
            json!({
                "name": d.name,
                "type": d.kind.name(),
                "required": d.required,
                "default_value": d.default,
                "importance": d.importance,
                "documentation": d.doc,
                "group": d.group,
                "order": order,
                "width": "MEDIUM",
                "display_name": d.name,
                "dependents": [],
            })
        })
        .collect();
    Value::Array(infos)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A value of the key's type that the worker accepts, for keys without a default.
    fn sample(d: &Definition) -> &'static str {
        match (d.name, d.kind) {
            ("connector.class", _) => CONNECTOR_CLASS,
            ("key.converter" | "value.converter", _) => "org.apache.kafka.connect.json.JsonConverter",
            ("driver.receiveBufferSize", _) => "-1",
            ("database.sslrootcert", _) => "/etc/ssl/certs/ca-certificates.crt",
            ("outbox.cleanup.table", _) => "public.outbox",
            // A listed table needs its own SELECT key, which no definition names.
            ("snapshot.select.statement.overrides", _) => "",
            ("message.key.columns", _) => "public.orders:id",
            ("max.queue.size", _) => "8192",
            ("replica.identity.autoset.values", _) => "public.orders:FULL",
            ("slot.stream.params", _) => "origin=any",
            (_, Bool) => "true",
            (_, Int | Long) => "1",
            _ => "x",
        }
    }

    #[test]
    fn every_defined_key_is_accepted_by_the_worker_with_its_default_or_a_sample() {
        let worker = super::super::tests::worker();
        let base: BTreeMap<String, String> =
            DEFINITIONS.iter().filter(|d| d.required).map(|d| (d.name.to_string(), sample(d).to_string())).collect();
        for d in DEFINITIONS {
            let mut config = base.clone();
            config.insert(d.name.into(), d.default.unwrap_or_else(|| sample(d)).to_string());
            if d.name == "heartbeat.action.query" {
                config.insert("heartbeat.interval.ms".into(), "1000".into());
            }
            let pairs = super::super::translate(&worker, "c", &config);
            if let Err(problems) = super::super::validate(&worker, pairs) {
                panic!("`{}` as defined is refused: {problems:?}", d.name);
            }
        }
    }

    #[test]
    fn every_source_key_of_the_registry_is_defined_with_the_registrys_default() {
        // Set by the worker itself (per-connector offset files, or the worker's offsets topic and its clients), or
        // Kafka Connect's topic creation, which has `topic.creation.*` keys (groups and free-form topic configs) rather
        // than definitions.
        let worker_owned = [
            "offset.storage",
            "offset.storage.file.filename",
            "offset.storage.topic",
            "offset.storage.partitions",
            "offset.storage.replication.factor",
            "offset.flush.timeout.ms",
            "bootstrap.servers",
            "security.protocol",
        ];
        for set in crate::config::registry().sets().iter().filter(|s| s.prefix == "debezium.source.") {
            for key in set.keys.iter().filter(|k| !worker_owned.contains(&k.name)) {
                // Patterned names (`column.mask.with.<N>.chars`) are families of keys, which Debezium does not define
                // either.
                if key.name.starts_with("topic.creation.") || key.name.contains('<') {
                    continue;
                }
                let Some(d) = DEFINITIONS.iter().find(|d| d.name == key.name) else {
                    panic!("`{}` ({}) is declared in the registry but not defined here", key.name, set.owner)
                };
                assert_eq!(d.default.unwrap_or(""), key.default, "the default of `{}`", key.name);
            }
        }
    }

    #[test]
    fn definitions_have_kafka_connects_fields_and_unique_names() {
        let infos = definitions();
        let infos = infos.as_array().unwrap();
        let mut names: Vec<&str> = infos.iter().map(|i| i["name"].as_str().unwrap()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), infos.len(), "a key is defined twice");
        let fields = [
            "name",
            "type",
            "required",
            "default_value",
            "importance",
            "documentation",
            "group",
            "order",
            "width",
            "display_name",
            "dependents",
        ];
        for info in infos {
            let keys: Vec<&String> = info.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), fields.len(), "{info}");
            assert!(fields.iter().all(|f| info.get(*f).is_some()), "{info}");
        }
        let first_connection = infos.iter().find(|i| i["group"] == "Connection").unwrap();
        assert_eq!(
            (first_connection["name"].as_str(), first_connection["order"].as_i64()),
            (Some("database.hostname"), Some(1))
        );
    }
}
