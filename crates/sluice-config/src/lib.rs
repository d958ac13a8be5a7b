//! Sluice's configuration: Debezium Server's keys, validated before anything connects.
//!
//! Users arrive with a Debezium Server `application.properties`; the promise is that it works as it is, or fails at
//! once with every problem named — never half-applied. So every key is classified:
//!
//! - a key Sluice implements is parsed and checked (bad values list the allowed ones);
//! - a key Debezium defines that Sluice does not implement yet is an error that says exactly that, rather than being
//!   silently ignored (the user would think it works);
//! - `quarkus.*` keys configure Debezium Server's runtime (logging, HTTP port) and mean nothing here: accepted and
//!   reported as ignored;
//! - anything else is a typo until proven otherwise: an error with the closest valid key.
//!
//! All problems are collected and reported together, one per line; the binary exits with code 2.

mod properties;
mod substitute;
mod transforms;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::{Regex, RegexBuilder};

pub use properties::{parse as parse_properties, Entry};
pub use substitute::{redact, ProviderLimits};
pub use transforms::{PredicateConfig, TransformConfig, TransformType};

const SOURCE: &str = "debezium.source.";
/// PostgreSQL's NAMEDATALEN - 1: the longest identifier (slot, publication) in bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;
const CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
const FILE_OFFSET_STORE: &str = "org.apache.kafka.connect.storage.FileOffsetBackingStore";

/// The source keys Sluice implements (after `debezium.source.`).
const SOURCE_KEYS: &[&str] = &[
    "connector.class",
    "database.hostname",
    "database.port",
    "database.user",
    "database.password",
    "database.dbname",
    "database.sslmode",
    "database.sslrootcert",
    "driver.receiveBufferSize",
    "topic.prefix",
    "plugin.name",
    "slot.name",
    "publication.name",
    "publication.autocreate.mode",
    "schema.include.list",
    "schema.exclude.list",
    "table.include.list",
    "table.exclude.list",
    "column.include.list",
    "column.exclude.list",
    "snapshot.mode",
    "snapshot.max.threads",
    "tombstones.on.delete",
    "skipped.operations",
    "decimal.handling.mode",
    "time.precision.mode",
    "binary.handling.mode",
    "unavailable.value.placeholder",
    "include.unknown.datatypes",
    "money.fraction.digits",
    "event.processing.failure.handling.mode",
    "status.update.interval.ms",
    "max.queue.size.in.bytes",
    "slot.max.retries",
    "slot.retry.delay.ms",
    "offset.storage",
    "offset.storage.file.filename",
    "offset.flush.interval.ms",
    "heartbeat.interval.ms",
    "heartbeat.action.query",
    "heartbeat.emit.message",
    "topic.heartbeat.prefix",
    "outbox.cleanup.table",
    "outbox.cleanup.id.column",
    "outbox.cleanup.interval.ms",
    "outbox.cleanup.batch.size",
    "slot.lost.policy",
    "slot.guard.interval.ms",
    "slot.guard.retained.wal.warn.bytes",
];

/// `max.queue.size.in.bytes` when unset. Debezium's default is 0, no byte limit: its queue is bounded by
/// `max.queue.size` records, and the JVM's heap is the limit behind it. Sluice bounds its own memory instead, and a
/// count bound alone lets a run of large rows (TOASTed text, bytea) hold hundreds of them at once; 32 MiB holds far
/// more than the count bounds allow of ordinary rows, so it costs nothing until values are large.
pub const DEFAULT_MAX_QUEUE_BYTES: u64 = 32 << 20;

/// Keys (after `debezium.source.`) Debezium's PostgreSQL connector defines and Sluice does not implement yet. A
/// trailing `.` marks a prefix.
const SOURCE_NOT_YET: &[&str] = &[
    "driver.",
    "heartbeat.",
    "signal.",
    "incremental.snapshot.",
    "snapshot.select.statement.overrides",
    "snapshot.fetch.size",
    "snapshot.lock.timeout.ms",
    "snapshot.include.collection.list",
    "snapshot.delay.ms",
    "snapshot.locking.mode",
    "snapshot.isolation.mode",
    "message.key.columns",
    "converters",
    "provide.transaction.metadata",
    "hstore.handling.mode",
    "interval.handling.mode",
    "schema.name.adjustment.mode",
    "field.name.adjustment.mode",
    "max.batch.size",
    "max.queue.size",
    "poll.interval.ms",
    "database.initial.statements",
    "database.tcpKeepAlive",
    "database.sslcert",
    "database.sslkey",
    "database.sslpassword",
    "database.sslfactory",
    "slot.stream.params",
    "slot.drop.on.stop",
    "xmin.fetch.interval.ms",
    "truncate.handling.mode",
    "include.schema.changes",
    "include.schema.comments",
    "message.prefix.include.list",
    "message.prefix.exclude.list",
    "column.mask.",
    "column.truncate.",
    "column.propagate.source.type",
    "datatype.propagate.source.type",
    "errors.max.retries",
    "retriable.restart.connector.wait.ms",
    "topic.naming.strategy",
    "topic.delimiter",
    "topic.cache.size",
    "topic.transaction",
    "topic.creation.",
    "custom.metric.tags",
    "notification.",
    "offset.storage.topic",
    "offset.storage.partitions",
    "offset.storage.replication.factor",
    "offset.flush.timeout.ms",
    "publish.via.partition.root",
    "replica.identity.autoset.values",
    "lsn.flush.mode",
    "flush.lsn.source",
    "transforms",
    "predicates",
    "schema.history.internal.",
];

/// The sink types Sluice has.
const SINK_TYPES: &[&str] = &["kafka", "file", "stdout", "null"];

/// Every `debezium.sink.kafka.producer.<key>` goes to the Kafka producer, which validates it.
const KAFKA_PRODUCER: &str = "debezium.sink.kafka.producer.";

/// Kafka Connect's topic creation keys (after `debezium.source.`): `topic.creation.default.<topic config>`.
const TOPIC_CREATION_DEFAULT: &str = "topic.creation.default.";

/// Sink types of Debezium Server that Sluice does not have yet.
const SINKS_NOT_YET: &[&str] = &[
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

pub use sluice_format::{BinaryHandlingMode, Converter, DecimalHandlingMode, FailureHandlingMode, TimePrecisionMode};
pub use sluice_postgres::outbox_cleaner::OutboxCleanup;
pub use sluice_postgres::replication::ReceiveBuffer;
pub use sluice_postgres::source::{
    LostSlotPolicy, PublicationMode as PublicationAutocreateMode, SkippedOperations, SlotGuardOptions, SnapshotMode,
};
pub use sluice_postgres::tls::SslMode;

/// Debezium's include/exclude lists, as anchored regular expressions.
#[derive(Clone, Debug, Default)]
pub struct TableFilters {
    schema_include: Option<Vec<Regex>>,
    schema_exclude: Vec<Regex>,
    table_include: Option<Vec<Regex>>,
    table_exclude: Vec<Regex>,
    column_include: Option<Vec<Regex>>,
    column_exclude: Vec<Regex>,
}

fn any_match(list: &[Regex], s: &str) -> bool {
    list.iter().any(|r| r.is_match(s))
}

impl TableFilters {
    pub fn includes_table(&self, schema: &str, table: &str) -> bool {
        if schema == "pg_catalog" || schema == "information_schema" || schema.starts_with("pg_toast") {
            return false;
        }
        if let Some(inc) = &self.schema_include {
            if !any_match(inc, schema) {
                return false;
            }
        }
        if any_match(&self.schema_exclude, schema) {
            return false;
        }
        let full = format!("{schema}.{table}");
        if let Some(inc) = &self.table_include {
            if !any_match(inc, &full) {
                return false;
            }
        }
        !any_match(&self.table_exclude, &full)
    }

    pub fn includes_column(&self, schema: &str, table: &str, column: &str) -> bool {
        let full = format!("{schema}.{table}.{column}");
        if let Some(inc) = &self.column_include {
            if !any_match(inc, &full) {
                return false;
            }
        }
        !any_match(&self.column_exclude, &full)
    }
}

/// Heartbeats: Debezium's `heartbeat.interval.ms`, `heartbeat.action.query` and `topic.heartbeat.prefix`, plus
/// Sluice's `heartbeat.emit.message` (a WAL message instead of a heartbeat table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// Zero: no heartbeats.
    pub interval: Duration,
    pub action_query: Option<String>,
    pub topic_prefix: String,
    pub emit_message: bool,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            interval: Duration::ZERO,
            action_query: None,
            topic_prefix: "__debezium-heartbeat".into(),
            emit_message: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SourceConfig {
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    /// `driver.receiveBufferSize`: the replication socket's receive buffer.
    pub receive_buffer: ReceiveBuffer,
    pub topic_prefix: String,
    pub slot_name: String,
    pub publication_name: String,
    pub publication_autocreate_mode: PublicationAutocreateMode,
    pub filters: TableFilters,
    pub snapshot_mode: SnapshotMode,
    pub snapshot_max_threads: usize,
    pub tombstones_on_delete: bool,
    pub skipped_operations: SkippedOperations,
    pub decimal_handling_mode: DecimalHandlingMode,
    pub time_precision_mode: TimePrecisionMode,
    pub binary_handling_mode: BinaryHandlingMode,
    pub unavailable_value_placeholder: String,
    pub include_unknown_datatypes: bool,
    pub money_fraction_digits: u8,
    /// `event.processing.failure.handling.mode`: stop on an event that cannot be encoded, or skip it.
    pub failure_handling_mode: FailureHandlingMode,
    pub status_update_interval: Duration,
    /// `max.queue.size.in.bytes`: the bytes of change events in flight between the database and the sink; `None`
    /// (`0`) for no byte limit, only the count limits.
    pub max_queue_bytes: Option<u64>,
    /// Debezium's `slot.max.retries` and `slot.retry.delay.ms`: how often, and how far apart, a start is retried
    /// while another connection holds the replication slot.
    pub slot_retries: SlotRetries,
    pub lost_slot_policy: LostSlotPolicy,
    pub slot_guard: SlotGuardOptions,
    pub heartbeat: HeartbeatConfig,
    /// `outbox.cleanup.*`: delete delivered outbox rows (off unless `outbox.cleanup.table` is set).
    pub outbox_cleanup: Option<OutboxCleanup>,
}

/// Retries while the replication slot is in use (Debezium's defaults: 6 retries, 10 s apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRetries {
    pub max_retries: u32,
    pub delay: Duration,
}

/// Kafka Connect's `topic.creation.default.*`: Sluice creates missing topics itself with these settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicCreationConfig {
    /// `-1`: the broker's default.
    pub partitions: i32,
    /// `-1`: the broker's default.
    pub replication_factor: i16,
    /// Every other `topic.creation.default.<name>`, a topic-level config such as `cleanup.policy`.
    pub topic_configs: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkConfig {
    /// `debezium.sink.kafka.producer.*` with the prefix removed, in file order; librdkafka validates them.
    Kafka {
        producer: Vec<(String, String)>,
        topic_creation: Option<TopicCreationConfig>,
    },
    File {
        path: PathBuf,
    },
    Stdout,
    Null,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatConfig {
    pub key: Converter,
    pub value: Converter,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetConfig {
    pub file: PathBuf,
    pub flush_interval: Duration,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Where to serve metrics and health probes (`quarkus.http.host`:`quarkus.http.port`); off when the port is unset.
    pub http: Option<std::net::SocketAddr>,
    pub source: SourceConfig,
    pub sink: SinkConfig,
    pub format: FormatConfig,
    pub offsets: OffsetConfig,
    /// `debezium.transforms`, in order.
    pub transforms: Vec<TransformConfig>,
}

/// A valid configuration plus what the caller should log.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    pub config: Config,
    /// What placeholders resolved to: never to be shown ([`LoadedConfig::redact`]).
    pub resolved: Vec<String>,
    /// `quarkus.*` keys, accepted and ignored.
    pub ignored_keys: Vec<String>,
    /// Deprecations and similar.
    pub warnings: Vec<String>,
}

impl LoadedConfig {
    /// `text` with every value a placeholder resolved to hidden.
    pub fn redact(&self, text: &str) -> String {
        substitute::redact(text, &self.resolved)
    }
}

/// Every problem found, one per line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

impl ConfigError {
    /// The individual problems.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Read { .. } => vec![self.to_string()],
            ConfigError::Invalid(p) => p.clone(),
        }
    }
}

/// Loads and validates a properties file.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    parse_str(&text)
}

/// Validates properties text, resolving placeholders from the process environment.
pub fn parse_str(text: &str) -> Result<LoadedConfig, ConfigError> {
    parse_with_env(text, &|name| std::env::var(name).ok())
}

/// Validates properties text with a given environment (tests).
pub fn parse_with_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<LoadedConfig, ConfigError> {
    // The last duplicate wins before placeholders are resolved, so an overridden line cannot fail the file; ignored
    // keys are not resolved at all.
    let mut values: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for entry in properties::parse(text) {
        values.insert(entry.key, (entry.value, entry.line));
    }
    apply_env_overrides(&mut values, env);
    validate(values, env, &ProviderLimits::operator())
}

/// Debezium Server (MicroProfile Config) lets environment variables override the file: `debezium.sink.type` is
/// also read from `DEBEZIUM_SINK_TYPE` (every character but letters and digits becomes `_`, then upper case), and
/// the variable wins. The mapping cannot be reversed, so it applies to the keys Sluice knows and to every key the
/// file already has.
fn apply_env_overrides(values: &mut BTreeMap<String, (String, usize)>, env: &dyn Fn(&str) -> Option<String>) {
    let mut candidates = all_supported_keys();
    candidates.extend(values.keys().cloned());
    for key in candidates {
        let name: String =
            key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        if let Some(value) = env(&name) {
            values.insert(key, (value, 0));
        }
    }
}

/// Validates keys and values that did not come from a file (the REST API's connector configurations): the same
/// checks, without line numbers, with placeholders limited by `limits`.
pub fn from_pairs(
    pairs: impl IntoIterator<Item = (String, String)>,
    env: &dyn Fn(&str) -> Option<String>,
    limits: &ProviderLimits,
) -> Result<LoadedConfig, ConfigError> {
    validate(pairs.into_iter().map(|(k, v)| (k, (v, 0))).collect(), env, limits)
}

/// Problems never show what a placeholder resolved to: a `${file:…}` secret in a key that fails validation is
/// hidden in the message (the key and the placeholder as written are enough to find it).
fn validate(
    mut values: BTreeMap<String, (String, usize)>,
    env: &dyn Fn(&str) -> Option<String>,
    limits: &ProviderLimits,
) -> Result<LoadedConfig, ConfigError> {
    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for (key, (value, line)) in values.iter_mut().filter(|(k, _)| !is_ignored(k)) {
        match substitute::substitute(key, value, env, limits, &mut resolved) {
            Ok(v) => *value = v,
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    let mut r = Reader { values, problems, warnings: Vec::new(), ignored: Vec::new() };
    r.adopt_old_names();
    r.classify_keys();
    let config = r.build();
    // Pairs have no lines: drop the `line 0: ` prefix their problems got.
    let problems: Vec<String> = r
        .problems
        .into_iter()
        .map(|p| substitute::redact(p.strip_prefix("line 0: ").unwrap_or(&p), &resolved))
        .collect();
    if problems.is_empty() {
        let warnings =
            r.warnings.iter().map(|w| substitute::redact(w.strip_prefix("line 0: ").unwrap_or(w), &resolved)).collect();
        Ok(LoadedConfig { config, resolved, ignored_keys: r.ignored, warnings })
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

struct Reader {
    values: BTreeMap<String, (String, usize)>,
    problems: Vec<String>,
    warnings: Vec<String>,
    ignored: Vec<String>,
}

fn all_supported_keys() -> Vec<String> {
    let mut keys: Vec<String> = SOURCE_KEYS.iter().map(|k| format!("{SOURCE}{k}")).collect();
    keys.extend(
        [
            "debezium.sink.type",
            "debezium.sink.file.path",
            "debezium.format.key",
            "debezium.format.value",
            "debezium.format.key.schemas.enable",
            "debezium.format.value.schemas.enable",
            "quarkus.http.port",
            "quarkus.http.host",
        ]
        .map(String::from),
    );
    keys
}

/// Quarkus's HTTP settings: Debezium Server serves its health and metrics endpoints there, and so does Sluice.
const HTTP_KEYS: &[&str] = &["quarkus.http.port", "quarkus.http.host"];

/// Keys whose suffix is free-form and checked by the part that uses them: producer settings (by librdkafka) and
/// the topic configs of `topic.creation.default.*` (by the brokers).
fn is_passed_through(key: &str) -> bool {
    key.strip_prefix(KAFKA_PRODUCER).is_some_and(|k| !k.is_empty())
        || key.strip_prefix(SOURCE).and_then(|k| k.strip_prefix(TOPIC_CREATION_DEFAULT)).is_some_and(|k| !k.is_empty())
}

/// `quarkus.*` keys configure Debezium Server's runtime (logging, HTTP), also under a profile (`%dev.quarkus.…`).
fn is_ignored(key: &str) -> bool {
    if HTTP_KEYS.contains(&key) {
        return false;
    }
    let unprofiled = key.strip_prefix('%').and_then(|k| k.split_once('.')).map_or(key, |(_, rest)| rest);
    unprofiled.starts_with("quarkus.")
}

/// Debezium and Kafka Connect keys whose value, as given, asks for nothing Sluice lacks: the values listed (`*`: any)
/// are accepted and the key is ignored; any other value is "not supported yet". Debezium's own PostgreSQL connector
/// ignores `include.schema.changes` (PostgreSQL has no schema-change topic), runs one task whatever `tasks.max`
/// says, and polls no queue Sluice has (`poll.interval.ms`).
const ACCEPTED_AS_GIVEN: &[(&str, &[&str])] = &[
    ("tasks.max", &["*"]),
    ("include.schema.changes", &["true", "false"]),
    ("include.schema.comments", &["false"]),
    ("provide.transaction.metadata", &["false"]),
    ("slot.drop.on.stop", &["false"]),
    ("poll.interval.ms", &["*"]),
    ("max.batch.size", &["2048"]),
    ("max.queue.size", &["8192"]),
    ("message.key.columns", &[""]),
    ("column.propagate.source.type", &[""]),
    ("datatype.propagate.source.type", &[""]),
];

/// Whether `key` (without `debezium.source.`) = `value` is accepted as given and ignored.
fn accepted_as_given(key: &str, value: &str) -> bool {
    let value = value.trim();
    ACCEPTED_AS_GIVEN
        .iter()
        .any(|(k, values)| *k == key && values.iter().any(|v| *v == "*" || v.eq_ignore_ascii_case(value)))
}

fn not_yet(key: &str) -> bool {
    SOURCE_NOT_YET.iter().any(|k| {
        if k.ends_with('.') {
            key.starts_with(k)
        } else {
            key == *k || key.starts_with(&format!("{k}."))
        }
    })
}

impl Reader {
    /// Names older configurations still carry, read as their successors with a deprecation note: Debezium 1.x's
    /// `database.server.name` (the topic prefix) and `*.whitelist` / `*.blacklist` (the include and exclude lists).
    /// When both names are set, the current one wins.
    fn adopt_old_names(&mut self) {
        let old: Vec<(String, String)> = self
            .values
            .keys()
            .filter_map(|key| {
                let source_key = key.strip_prefix(SOURCE)?;
                let new = match source_key {
                    "database.server.name" => "topic.prefix".to_string(),
                    other => renamed_list_key(other)?,
                };
                Some((key.clone(), format!("{SOURCE}{new}")))
            })
            .collect();
        for (old_key, new_key) in old {
            let Some((value, line)) = self.values.remove(&old_key) else { continue };
            if self.values.contains_key(&new_key) {
                self.warnings.push(format!(
                    "line {line}: `{old_key}` is Debezium 1.x's name of `{new_key}`, which is set too and wins; remove \
                     `{old_key}`"
                ));
            } else {
                self.warnings.push(format!(
                    "line {line}: `{old_key}` is Debezium 1.x's name: read as `{new_key}`; rename it, Debezium 2 \
                     no longer reads it"
                ));
                self.values.insert(new_key, (value, line));
            }
        }
    }

    fn classify_keys(&mut self) {
        let supported = all_supported_keys();
        let keys: Vec<(String, usize)> = self.values.iter().map(|(k, (_, line))| (k.clone(), *line)).collect();
        for (key, line) in keys {
            if supported.contains(&key) || is_passed_through(&key) {
                continue;
            }
            if is_ignored(&key) {
                self.ignored.push(key);
                continue;
            }
            let given = self.values.get(&key).map_or("", |(v, _)| v.as_str());
            if key.strip_prefix(SOURCE).is_some_and(|k| accepted_as_given(k, given)) {
                self.ignored.push(key);
                continue;
            }
            if let Some(problem) = self.classify_unsupported(&key, &supported) {
                self.problems.push(format!("line {line}: {problem}"));
            }
        }
    }

    /// Why a key outside the supported set is a problem, with the fix; `None` when it is accepted after all.
    fn classify_unsupported(&self, key: &str, supported: &[String]) -> Option<String> {
        let source_key = key.strip_prefix(SOURCE);
        if let Some(provider) = source_key.and_then(|k| k.strip_prefix("config.providers")) {
            return self.config_provider_problem(key, provider);
        }
        if source_key.is_some_and(not_yet) {
            return Some(format!("`{key}` is a Debezium key that Sluice does not support yet"));
        }
        if key == "debezium.transforms"
            || key == "debezium.predicates"
            || key.starts_with("debezium.transforms.")
            || key.starts_with("debezium.predicates.")
        {
            return None; // checked with the transforms they configure
        }
        if key.starts_with("debezium.api.") || key.starts_with("debezium.format.header") {
            return Some(format!("`{key}` is a Debezium key that Sluice does not support yet"));
        }
        if key.starts_with('%') {
            return Some(format!(
                "`{key}`: profile-specific keys are not supported yet; put the value on the key without the `%profile.` prefix"
            ));
        }
        let sink = key.strip_prefix("debezium.sink.").and_then(|r| r.split_once('.')).map(|(sink, _)| sink);
        let sink_problem = |sink: &str| {
            format!(
                "`{key}` configures the `{sink}` sink, which Sluice does not support yet (it has {})",
                SINK_TYPES.join(", ")
            )
        };
        // Debezium Server's own sinks first: `debezium.sink.http.url` is not a typo of `debezium.sink.file.path`.
        if let Some(sink) = sink.filter(|s| SINKS_NOT_YET.contains(s)) {
            return Some(sink_problem(sink));
        }
        if let Some(best) = closest(key, supported) {
            return Some(format!("unknown key `{key}`; did you mean `{best}`?"));
        }
        if let Some(sink) = sink.filter(|s| !SINK_TYPES.contains(s)) {
            return Some(sink_problem(sink));
        }
        if let Some(which) = ["debezium.format.key.", "debezium.format.value."].iter().find(|p| key.starts_with(**p)) {
            return Some(format!(
                "`{key}`: converter options under `{which}*` other than `schemas.enable` are not supported yet"
            ));
        }
        Some(format!("unknown key `{key}`: Sluice reads Debezium Server's debezium.source.*, debezium.sink.* and debezium.format.* keys (see docs/configuration.md)"))
    }

    /// Kafka's config providers must be declared in Kafka Connect (`config.providers=file`); Debezium Server users
    /// often carry the declaration over. Sluice has the `file` and `env` providers built in, so declaring those is
    /// accepted, and anything else is not supported yet.
    fn config_provider_problem(&self, key: &str, rest: &str) -> Option<String> {
        const KNOWN: &[(&str, &str)] = &[
            ("file", "org.apache.kafka.common.config.provider.FileConfigProvider"),
            ("env", "org.apache.kafka.common.config.provider.EnvVarConfigProvider"),
        ];
        let value = self.get(key).unwrap_or_default().trim();
        if rest.is_empty() {
            let unknown: Vec<&str> = value
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty() && !KNOWN.iter().any(|(n, _)| n == p))
                .collect();
            return (!unknown.is_empty()).then(|| {
                format!(
                    "`{key}`: config provider(s) {} are not supported yet; Sluice has `file` and `env` built in",
                    unknown.join(", ")
                )
            });
        }
        let class_of = rest.strip_prefix('.').and_then(|r| r.strip_suffix(".class"));
        match class_of.and_then(|name| KNOWN.iter().find(|(n, _)| *n == name)) {
            Some((_, class)) if value == *class => None,
            Some((name, class)) => Some(format!(
                "`{key}` = `{value}` is not supported yet; the `{name}` provider is built in (`{class}`)"
            )),
            None => Some(format!(
                "`{key}` is a Debezium key that Sluice does not support yet (only the built-in `file` and `env` config providers, without parameters)"
            )),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    fn source(&self, key: &str) -> Option<&str> {
        self.get(&format!("{SOURCE}{key}"))
    }

    fn required(&mut self, key: &str) -> String {
        match self.source(key) {
            Some(v) if !v.trim().is_empty() => v.trim().to_string(),
            _ => {
                self.problems.push(format!("missing required key `{SOURCE}{key}`"));
                String::new()
            }
        }
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.source(key).map(|v| v.trim().to_string()).unwrap_or_else(|| default.to_string())
    }

    /// `slot.name`, checked against PostgreSQL's rule for slot names, so that `sluice check` catches what
    /// `CREATE_REPLICATION_SLOT` would reject at run time.
    fn slot_name(&mut self) -> String {
        let name = self.string("slot.name", "debezium");
        let valid = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if name.is_empty() || name.len() > MAX_IDENTIFIER_BYTES || !valid {
            self.problems.push(format!(
                "`{SOURCE}slot.name` = `{}` is not a valid replication slot name: PostgreSQL allows 1 to \
                 {MAX_IDENTIFIER_BYTES} lower-case letters, digits and underscores",
                name.escape_debug()
            ));
        }
        name
    }

    /// `publication.name`: any identifier, but PostgreSQL would silently cut a longer one to 63 bytes, and then
    /// never find the publication under the configured name.
    fn publication_name(&mut self) -> String {
        let name = self.string("publication.name", "dbz_publication");
        if name.is_empty() || name.len() > MAX_IDENTIFIER_BYTES || name.chars().any(char::is_control) {
            self.problems.push(format!(
                "`{SOURCE}publication.name` = `{}` is not a valid publication name: PostgreSQL allows 1 to \
                 {MAX_IDENTIFIER_BYTES} bytes without control characters",
                name.escape_debug()
            ));
        }
        name
    }

    fn number<T: std::str::FromStr + Copy>(&mut self, full_key: &str, default: T, what: &str) -> T {
        match self.get(full_key) {
            None => default,
            Some(v) => match v.trim().parse() {
                Ok(n) => n,
                Err(_) => {
                    self.problems.push(format!("`{full_key}` = `{v}` is not {what}"));
                    default
                }
            },
        }
    }

    /// pgjdbc's `receiveBufferSize`, passed through by Debezium as `driver.receiveBufferSize`: `-1` leaves the
    /// socket to the operating system; unset, Sluice sizes it from the round trip.
    fn receive_buffer(&mut self) -> ReceiveBuffer {
        let key = format!("{SOURCE}driver.receiveBufferSize");
        match self.get(&key).map(str::trim) {
            None => ReceiveBuffer::FromRoundTrip,
            Some("-1") => ReceiveBuffer::System,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 && n <= i32::MAX as usize => ReceiveBuffer::Bytes(n),
                _ => {
                    self.problems.push(format!(
                        "`{key}` = `{v}` is not a number of bytes (1 to 2147483647) or -1 (the operating system's default); leave it unset to let Sluice size it from the round trip"
                    ));
                    ReceiveBuffer::FromRoundTrip
                }
            },
        }
    }

    fn port(&mut self) -> u16 {
        let key = format!("{SOURCE}database.port");
        let port = self.number(&key, 5432u16, "a port number (1-65535)");
        if port == 0 {
            self.problems.push(format!("`{key}` = `0` is not a port number (1-65535)"));
        }
        port
    }

    /// A value Debezium defines for `full_key` that Sluice does not implement yet is its own problem, not "invalid";
    /// returns whether it was one (the key then falls back to its default so no second problem is reported).
    fn value_not_yet(&mut self, full_key: &str, values: &[&str]) -> bool {
        let Some(v) = self.get(full_key).map(|v| v.trim().to_string()) else { return false };
        let hit = values.iter().any(|n| n.eq_ignore_ascii_case(&v));
        if hit {
            self.problems.push(format!("`{full_key}` = `{v}` is a Debezium value that Sluice does not support yet"));
            self.values.remove(full_key);
        }
        hit
    }

    fn boolean(&mut self, full_key: &str, default: bool) -> bool {
        match self.get(full_key).map(|v| v.trim().to_ascii_lowercase()) {
            None => default,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => {
                self.problems.push(format!("`{full_key}` = `{v}` is not a boolean (use true or false)"));
                default
            }
        }
    }

    fn choice<T: Copy>(&mut self, full_key: &str, default: T, options: &[(&str, T)]) -> T {
        let Some(v) = self.get(full_key).map(|v| v.trim().to_string()) else { return default };
        match options.iter().find(|(name, _)| name.eq_ignore_ascii_case(&v)) {
            Some((_, t)) => *t,
            None => {
                let allowed: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.problems
                    .push(format!("`{full_key}` = `{v}` is not valid; allowed values: {}", allowed.join(", ")));
                default
            }
        }
    }

    /// Debezium's list semantics: comma-separated (`\,` for a comma inside a regex, written `\\,` in the properties file), blanks skipped, each regex
    /// matched case-insensitively against the whole name. An empty list is the same as no list, so
    /// `table.include.list=${TABLES:}` does not silently capture nothing.
    fn regex_list(&mut self, key: &str) -> Option<Vec<Regex>> {
        let full = format!("{SOURCE}{key}");
        let value = self.get(&full)?.to_string();
        let mut out = Vec::new();
        for part in split_regex_list(&value) {
            match RegexBuilder::new(&format!("^(?:{part})$")).case_insensitive(true).build() {
                Ok(r) => out.push(r),
                Err(e) => self.problems.push(format!("`{full}`: `{part}` is not a valid regular expression: {e}")),
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn filters(&mut self) -> TableFilters {
        let pair = |this: &mut Reader, kind: &str| {
            let include = this.regex_list(&format!("{kind}.include.list"));
            let exclude = this.regex_list(&format!("{kind}.exclude.list"));
            if include.is_some() && exclude.is_some() {
                this.problems.push(format!(
                    "`{SOURCE}{kind}.include.list` and `{SOURCE}{kind}.exclude.list` cannot both be set (as in Debezium): keep one"
                ));
            }
            (include, exclude.unwrap_or_default())
        };
        let (schema_include, schema_exclude) = pair(self, "schema");
        let (table_include, table_exclude) = pair(self, "table");
        let (column_include, column_exclude) = pair(self, "column");
        TableFilters { schema_include, schema_exclude, table_include, table_exclude, column_include, column_exclude }
    }

    fn skipped_operations(&mut self) -> SkippedOperations {
        let key = format!("{SOURCE}skipped.operations");
        let value = self.get(&key).unwrap_or("t").trim().to_string();
        let mut ops = SkippedOperations::default();
        if value.eq_ignore_ascii_case("none") {
            return ops;
        }
        for op in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            match op {
                "c" => ops.create = true,
                "u" => ops.update = true,
                "d" => ops.delete = true,
                "t" => ops.truncate = true,
                other => {
                    self.problems.push(format!("`{key}`: `{other}` is not an operation; allowed: c, u, d, t, or none"))
                }
            }
        }
        ops
    }

    fn converter(&mut self, which: &str) -> Converter {
        let key = format!("debezium.format.{which}");
        let schemas_key = format!("{key}.schemas.enable");
        self.value_not_yet(&key, &["avro", "protobuf", "cloudevents", "jsonbytearray"]);
        let kind = self.choice(&key, 0u8, &[("json", 0), ("simplestring", 1), ("binary", 2)]);
        let schemas_enable = self.boolean(&schemas_key, true);
        if kind != 0 && self.get(&schemas_key).is_some() {
            self.warnings.push(format!("`{schemas_key}` only applies to the json format; it is unused"));
        }
        match kind {
            0 => Converter::Json { schemas_enable },
            1 => Converter::SimpleString,
            _ => Converter::Binary,
        }
    }

    fn http(&mut self) -> Option<std::net::SocketAddr> {
        let port: u16 = self.number("quarkus.http.port", 0u16, "a port number (0-65535)");
        let host = self.get("quarkus.http.host").map(|h| h.trim().to_string());
        self.get("quarkus.http.port")?;
        let host = host.unwrap_or_else(|| "0.0.0.0".into());
        let host = if host == "localhost" { "127.0.0.1".to_string() } else { host };
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(std::net::SocketAddr::new(ip, port)),
            Err(_) => {
                self.problems
                    .push(format!("`quarkus.http.host` = `{host}` is not an IP address (use 0.0.0.0, 127.0.0.1, ::)"));
                None
            }
        }
    }

    fn outbox_cleanup(&mut self) -> Option<OutboxCleanup> {
        let key = format!("{SOURCE}outbox.cleanup.table");
        let table = self.get(&key)?.trim().to_string();
        let Some((schema, name)) = table.split_once('.').filter(|(s, t)| !s.is_empty() && !t.is_empty()) else {
            self.problems.push(format!("`{key}` = `{table}` is not `schema.table` (e.g. public.outboxevent)"));
            return None;
        };
        let batch_key = format!("{SOURCE}outbox.cleanup.batch.size");
        let batch_size = self.number(&batch_key, 1000usize, "a whole number");
        if batch_size == 0 {
            self.problems.push(format!("`{batch_key}` must be at least 1"));
        }
        Some(OutboxCleanup {
            table: sluice_core::TableId::new(schema, name),
            id_column: self.string("outbox.cleanup.id.column", "id"),
            interval: Duration::from_millis(
                self.number(&format!("{SOURCE}outbox.cleanup.interval.ms"), 1000u64, "a number of milliseconds").max(1),
            ),
            batch_size: batch_size.max(1),
        })
    }

    fn heartbeat(&mut self) -> HeartbeatConfig {
        let defaults = HeartbeatConfig::default();
        let interval_key = format!("{SOURCE}heartbeat.interval.ms");
        let config = HeartbeatConfig {
            interval: Duration::from_millis(self.number(&interval_key, 0u64, "a number of milliseconds")),
            action_query: self
                .source("heartbeat.action.query")
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(String::from),
            topic_prefix: self.string("topic.heartbeat.prefix", &defaults.topic_prefix),
            emit_message: self.boolean(&format!("{SOURCE}heartbeat.emit.message"), false),
        };
        if config.interval.is_zero() && (config.action_query.is_some() || config.emit_message) {
            self.warnings.push(format!(
                "heartbeat.action.query and heartbeat.emit.message run every `{interval_key}`, which is 0 (off): they are unused"
            ));
        }
        config
    }

    /// Kafka Connect's rule: topic creation is on when both `partitions` and `replication.factor` are set; either
    /// may be `-1` for the broker's default.
    fn topic_creation(&mut self) -> Option<TopicCreationConfig> {
        let base = format!("{SOURCE}{TOPIC_CREATION_DEFAULT}");
        let partitions_key = format!("{base}partitions");
        let rf_key = format!("{base}replication.factor");
        let (has_p, has_rf) = (self.get(&partitions_key).is_some(), self.get(&rf_key).is_some());
        if !has_p && !has_rf {
            return None;
        }
        if has_p != has_rf {
            self.problems.push(format!(
                "`{}` needs `{}` too: Kafka Connect creates topics only when both are set (use -1 for the broker's default)",
                if has_p { &partitions_key } else { &rf_key },
                if has_p { &rf_key } else { &partitions_key },
            ));
            return None;
        }
        let partitions: i32 = self.number(&partitions_key, -1, "a whole number (-1 for the broker's default)");
        let replication_factor: i16 = self.number(&rf_key, -1, "a whole number (-1 for the broker's default)");
        if partitions == 0 || partitions < -1 {
            self.problems.push(format!("`{partitions_key}` must be at least 1, or -1 for the broker's default"));
        }
        if replication_factor == 0 || replication_factor < -1 {
            self.problems.push(format!("`{rf_key}` must be at least 1, or -1 for the broker's default"));
        }
        let topic_configs = self
            .values
            .iter()
            .filter_map(|(k, (v, _))| Some((k.strip_prefix(&base)?.to_string(), v.trim().to_string())))
            .filter(|(k, _)| !k.is_empty() && k != "partitions" && k != "replication.factor")
            .collect();
        Some(TopicCreationConfig { partitions, replication_factor, topic_configs })
    }

    fn build(&mut self) -> Config {
        let connector = self.required("connector.class");
        if !connector.is_empty() && connector != CONNECTOR_CLASS {
            self.problems.push(format!(
                "`{SOURCE}connector.class` = `{connector}`: Sluice is a PostgreSQL connector; use {CONNECTOR_CLASS}"
            ));
        }
        let plugin = self.string("plugin.name", "pgoutput");
        if plugin != "pgoutput" {
            self.problems.push(format!(
                "`{SOURCE}plugin.name` = `{plugin}` is not supported: Sluice reads pgoutput, PostgreSQL's built-in plugin (set pgoutput)"
            ));
        }
        let store = self.string("offset.storage", FILE_OFFSET_STORE);
        if store != FILE_OFFSET_STORE {
            self.problems.push(format!(
                "`{SOURCE}offset.storage` = `{store}` is not supported yet; Sluice stores offsets in a file ({FILE_OFFSET_STORE})"
            ));
        }
        let snapshot_key = format!("{SOURCE}snapshot.mode");
        if let Some(old) = self
            .get(&snapshot_key)
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| v == "never" || v == "schema_only")
        {
            self.warnings.push(format!(
                "`{snapshot_key}` = `{old}` is deprecated in Debezium and means `no_data`: set `no_data` instead"
            ));
            self.values.insert(snapshot_key.clone(), ("no_data".into(), 0));
        }
        self.value_not_yet(&snapshot_key, &["custom", "configuration_based"]);
        let source = SourceConfig {
            hostname: self.required("database.hostname"),
            port: self.port(),
            user: self.required("database.user"),
            password: self.source("database.password").map(String::from),
            dbname: self.required("database.dbname"),
            sslmode: self.choice(
                &format!("{SOURCE}database.sslmode"),
                SslMode::Prefer,
                &[
                    ("disable", SslMode::Disable),
                    ("allow", SslMode::Allow),
                    ("prefer", SslMode::Prefer),
                    ("require", SslMode::Require),
                    ("verify-ca", SslMode::VerifyCa),
                    ("verify-full", SslMode::VerifyFull),
                ],
            ),
            sslrootcert: self.source("database.sslrootcert").map(PathBuf::from),
            receive_buffer: self.receive_buffer(),
            topic_prefix: self.required("topic.prefix"),
            slot_name: self.slot_name(),
            publication_name: self.publication_name(),
            publication_autocreate_mode: self.choice(
                &format!("{SOURCE}publication.autocreate.mode"),
                PublicationAutocreateMode::AllTables,
                &[
                    ("all_tables", PublicationAutocreateMode::AllTables),
                    ("disabled", PublicationAutocreateMode::Disabled),
                    ("filtered", PublicationAutocreateMode::Filtered),
                    ("no_tables", PublicationAutocreateMode::NoTables),
                ],
            ),
            filters: self.filters(),
            snapshot_mode: self.choice(
                &snapshot_key,
                SnapshotMode::Initial,
                &[
                    ("initial", SnapshotMode::Initial),
                    ("always", SnapshotMode::Always),
                    ("initial_only", SnapshotMode::InitialOnly),
                    ("no_data", SnapshotMode::NoData),
                    ("never", SnapshotMode::NoData),
                    ("when_needed", SnapshotMode::WhenNeeded),
                ],
            ),
            snapshot_max_threads: {
                let n = self.number(&format!("{SOURCE}snapshot.max.threads"), 1usize, "a whole number");
                if n == 0 {
                    self.problems.push(format!("`{SOURCE}snapshot.max.threads` must be at least 1"));
                }
                n.max(1)
            },
            tombstones_on_delete: self.boolean(&format!("{SOURCE}tombstones.on.delete"), true),
            skipped_operations: self.skipped_operations(),
            decimal_handling_mode: self.choice(
                &format!("{SOURCE}decimal.handling.mode"),
                DecimalHandlingMode::Precise,
                &[
                    ("precise", DecimalHandlingMode::Precise),
                    ("double", DecimalHandlingMode::Double),
                    ("string", DecimalHandlingMode::String),
                ],
            ),
            time_precision_mode: self.choice(
                &format!("{SOURCE}time.precision.mode"),
                TimePrecisionMode::Adaptive,
                &[
                    ("adaptive", TimePrecisionMode::Adaptive),
                    ("adaptive_time_microseconds", TimePrecisionMode::AdaptiveTimeMicroseconds),
                    ("connect", TimePrecisionMode::Connect),
                ],
            ),
            binary_handling_mode: self.choice(
                &format!("{SOURCE}binary.handling.mode"),
                BinaryHandlingMode::Bytes,
                &[
                    ("bytes", BinaryHandlingMode::Bytes),
                    ("base64", BinaryHandlingMode::Base64),
                    ("base64-url-safe", BinaryHandlingMode::Base64UrlSafe),
                    ("hex", BinaryHandlingMode::Hex),
                ],
            ),
            unavailable_value_placeholder: self
                .source("unavailable.value.placeholder")
                .unwrap_or("__debezium_unavailable_value")
                .to_string(),
            include_unknown_datatypes: self.boolean(&format!("{SOURCE}include.unknown.datatypes"), false),
            money_fraction_digits: self.number(
                &format!("{SOURCE}money.fraction.digits"),
                2u8,
                "a whole number of digits",
            ),
            failure_handling_mode: self.choice(
                &format!("{SOURCE}event.processing.failure.handling.mode"),
                FailureHandlingMode::Fail,
                &[
                    ("fail", FailureHandlingMode::Fail),
                    ("warn", FailureHandlingMode::Warn),
                    ("skip", FailureHandlingMode::Skip),
                ],
            ),
            status_update_interval: Duration::from_millis(self.number(
                &format!("{SOURCE}status.update.interval.ms"),
                10_000u64,
                "a number of milliseconds",
            ))
            .max(Duration::from_millis(1)),
            max_queue_bytes: match self.number(
                &format!("{SOURCE}max.queue.size.in.bytes"),
                DEFAULT_MAX_QUEUE_BYTES,
                "a number of bytes (0 for no byte limit)",
            ) {
                0 => None,
                n => Some(n),
            },
            slot_retries: SlotRetries {
                max_retries: self.number(&format!("{SOURCE}slot.max.retries"), 6u32, "a whole number of retries"),
                delay: Duration::from_millis(self.number(
                    &format!("{SOURCE}slot.retry.delay.ms"),
                    10_000u64,
                    "a number of milliseconds",
                )),
            },
            lost_slot_policy: self.choice(
                &format!("{SOURCE}slot.lost.policy"),
                LostSlotPolicy::Fail,
                &[("fail", LostSlotPolicy::Fail), ("recreate", LostSlotPolicy::Recreate)],
            ),
            heartbeat: self.heartbeat(),
            outbox_cleanup: self.outbox_cleanup(),
            slot_guard: {
                let defaults = SlotGuardOptions::default();
                SlotGuardOptions {
                    interval: Duration::from_millis(self.number(
                        &format!("{SOURCE}slot.guard.interval.ms"),
                        defaults.interval.as_millis() as u64,
                        "a number of milliseconds (0 turns the guard off)",
                    )),
                    retained_wal_warn_bytes: self.number(
                        &format!("{SOURCE}slot.guard.retained.wal.warn.bytes"),
                        defaults.retained_wal_warn_bytes,
                        "a number of bytes",
                    ),
                }
            },
        };
        let sink_type = self.get("debezium.sink.type").map(|s| s.trim().to_string());
        let sink = match sink_type.as_deref() {
            None => {
                self.problems.push(format!("missing required key `debezium.sink.type` ({})", SINK_TYPES.join(", ")));
                SinkConfig::Null
            }
            Some("kafka") => SinkConfig::Kafka {
                producer: self
                    .values
                    .iter()
                    .filter_map(|(k, (v, _))| Some((k.strip_prefix(KAFKA_PRODUCER)?.to_string(), v.clone())))
                    .filter(|(k, _)| !k.is_empty())
                    .collect(),
                topic_creation: self.topic_creation(),
            },
            Some("file") => match self.get("debezium.sink.file.path") {
                Some(p) if !p.trim().is_empty() => SinkConfig::File { path: PathBuf::from(p.trim()) },
                _ => {
                    self.problems.push("missing required key `debezium.sink.file.path` (the sink type is file)".into());
                    SinkConfig::Null
                }
            },
            Some("stdout") => SinkConfig::Stdout,
            Some("null") => SinkConfig::Null,
            Some(other) if SINKS_NOT_YET.contains(&other) => {
                self.problems.push(format!(
                    "`debezium.sink.type` = `{other}`: this sink is not supported yet (Sluice has {})",
                    SINK_TYPES.join(", ")
                ));
                SinkConfig::Null
            }
            Some(other) => {
                self.problems.push(format!(
                    "`debezium.sink.type` = `{other}` is not valid; allowed values: {}",
                    SINK_TYPES.join(", ")
                ));
                SinkConfig::Null
            }
        };
        if sink_type.as_deref() != Some("kafka") {
            if self.values.keys().any(|k| k.starts_with(KAFKA_PRODUCER)) {
                self.warnings
                    .push("debezium.sink.kafka.producer.* is set but the sink type is not kafka; it is unused".into());
            }
            if self.values.keys().any(|k| k.starts_with(&format!("{SOURCE}{TOPIC_CREATION_DEFAULT}"))) {
                self.warnings
                    .push(format!("{SOURCE}{TOPIC_CREATION_DEFAULT}* only applies to the kafka sink; it is unused"));
            }
        }
        if sink_type.as_deref() != Some("file") && self.get("debezium.sink.file.path").is_some() {
            self.warnings.push("debezium.sink.file.path is set but the sink type is not file; it is unused".into());
        }
        let format = FormatConfig { key: self.converter("key"), value: self.converter("value") };
        let offsets = OffsetConfig {
            file: PathBuf::from(self.string("offset.storage.file.filename", "data/offsets.dat")),
            flush_interval: Duration::from_millis(self.number(
                &format!("{SOURCE}offset.flush.interval.ms"),
                0u64,
                "a number of milliseconds",
            )),
        };
        let transforms = self.transforms();
        Config { http: self.http(), source, sink, format, offsets, transforms }
    }
}

/// Splits a Debezium regex list on commas not escaped as `\,`, trimming each part and dropping empty ones.
fn split_regex_list(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// Debezium 1.x's whitelist/blacklist keys, renamed to include/exclude lists in 1.3 and removed in 2.0.
fn renamed_list_key(key: &str) -> Option<String> {
    let (kind, list) = key.split_once('.')?;
    if !["schema", "table", "column"].contains(&kind) {
        return None;
    }
    let renamed = match list {
        "whitelist" => "include.list",
        "blacklist" => "exclude.list",
        _ => return None,
    };
    Some(format!("{kind}.{renamed}"))
}

/// The valid key closest to a misspelt one, when it is close enough to be a likely typo.
fn closest(key: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(key, c), c))
        .filter(|(d, c)| *d <= (c.len() / 4).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

#[cfg(test)]
mod tests;
