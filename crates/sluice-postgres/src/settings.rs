//! The PostgreSQL source's configuration: its `debezium.source.*` keys, declared for the key registry and read into
//! [`PostgresSettings`], from which a run's [`SourceOptions`] are made.
//!
//! The keys live here, beside the code that uses them, so that what a key means, its default, and the check of its
//! value change together; `sluice-config` only classifies keys and knows none of them. The Debezium PostgreSQL
//! connector keys Sluice does not implement yet are declared here too, so that setting one is "not supported yet"
//! rather than a typo.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use sluice_config::{key, KeySet, Settings};
use sluice_core::{PipelineStatus, TableId};

use crate::outbox_cleaner::OutboxCleanup;
use crate::replication::{ConnectOptions, ReceiveBuffer};
use crate::source::setup::quote_ident;
use crate::source::{
    CaptureFilter, HeartbeatActions, LostSlotPolicy, MessagePrefixes, PublicationMode, ReplicaIdentityRule,
    SkippedOperations, SlotGuardOptions, SnapshotMode, SnapshotSelection, SourceOptions,
};
use crate::tls::SslMode;

/// What every source key starts with.
pub const SOURCE: &str = "debezium.source.";
/// The one connector class Sluice is.
pub const CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
/// PostgreSQL's NAMEDATALEN - 1: the longest identifier (slot, publication) in bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The source's keys.
pub static KEYS: KeySet = KeySet {
    owner: "the PostgreSQL source",
    prefix: SOURCE,
    keys: &[
        key("connector.class", "", "io.debezium.connector.postgresql.PostgresConnector"),
        key("database.hostname", "", "the PostgreSQL server"),
        key("database.port", "5432", "1-65535"),
        key("database.user", "", "a role with LOGIN and REPLICATION"),
        key("database.password", "", "the role's password (trust, password, md5 and SCRAM-SHA-256)"),
        key("database.dbname", "", "the database to capture"),
        key("database.sslmode", "prefer", "disable, allow, prefer, require, verify-ca, verify-full"),
        key("database.sslrootcert", "", "CA certificate (PEM) for verify-ca / verify-full"),
        key("driver.receiveBufferSize", "", "the replication socket's receive buffer in bytes; -1: the system's"),
        key("topic.prefix", "", "topics are `<prefix>.<schema>.<table>` (see topic.naming.strategy)"),
        key("plugin.name", "pgoutput", "only pgoutput"),
        key("slot.name", "debezium", "the replication slot, one per connector"),
        key("publication.name", "dbz_publication", "the publication"),
        key("publication.autocreate.mode", "all_tables", "all_tables, filtered, no_tables, disabled"),
        key("schema.include.list", "", "regexes of schemas to capture"),
        key("schema.exclude.list", "", "regexes of schemas to leave out"),
        key("table.include.list", "", "regexes of schema.table to capture"),
        key("table.exclude.list", "", "regexes of schema.table to leave out"),
        key("column.include.list", "", "regexes of schema.table.column to capture"),
        key("column.exclude.list", "", "regexes of schema.table.column to leave out"),
        key("snapshot.mode", "initial", "initial, always, initial_only, no_data, when_needed"),
        key("snapshot.max.threads", "1", "tables read in parallel during a snapshot"),
        key(
            "snapshot.include.collection.list",
            "",
            "regexes of schema.table to snapshot, of the captured tables; unset: all of them",
        ),
        key(
            "snapshot.select.statement.overrides",
            "",
            "schema.table list whose snapshot reads `snapshot.select.statement.overrides.<schema>.<table>`'s SELECT",
        ),
        key(
            "snapshot.fetch.size",
            "",
            "accepted; the snapshot streams with COPY, whose rows are never fetched in pages",
        ),
        key(
            "database.initial.statements",
            "",
            "SQL run on every non-replication connection; `;` separates, `;;` is a `;`",
        ),
        key("message.prefix.include.list", "", "regexes of logical decoding message prefixes to emit"),
        key("message.prefix.exclude.list", "", "regexes of logical decoding message prefixes to leave out"),
        key(
            "slot.stream.params",
            "",
            "`name=value;…` pgoutput options added to START_REPLICATION (e.g. origin=none on PostgreSQL 16+)",
        ),
        key(
            "replica.identity.autoset.values",
            "",
            "`<schema.table regex>:<FULL|DEFAULT|NOTHING|INDEX name>`, comma-separated: replica identities set at start",
        ),
        key(
            "publish.via.partition.root",
            "false",
            "true: partitioned tables are captured as their root table; unset: as an existing publication says",
        ),
        key("slot.drop.on.stop", "false", "drop the replication slot when Sluice stops gracefully (tests, trials)"),
        key("skipped.operations", "t", "comma list of c, u, d, t to drop, or none"),
        key("status.update.interval.ms", "10000", "how often the confirmed position is sent at the latest"),
        key("slot.max.retries", "6", "retries of a start while another connection holds the slot"),
        key("slot.retry.delay.ms", "10000", "the wait between those retries"),
        key("heartbeat.interval.ms", "0", "heartbeat records and actions every this many ms; 0: off"),
        key("heartbeat.action.query", "", "SQL run on the source on every heartbeat"),
        key("heartbeat.emit.message", "false", "a WAL message on every heartbeat instead of a heartbeat table"),
        key(
            "topic.heartbeat.prefix",
            "__debezium-heartbeat",
            "heartbeat topics are `<prefix>.<topic.prefix>` (joined with topic.delimiter)",
        ),
        key("provide.transaction.metadata", "false", "BEGIN/END records and each event's `transaction` block"),
        key(
            "topic.transaction",
            "transaction",
            "transaction metadata goes to `<topic.prefix>.<topic.transaction>` (joined with topic.delimiter)",
        ),
        key("outbox.cleanup.table", "", "schema.table of an outbox whose delivered rows Sluice deletes"),
        key("outbox.cleanup.id.column", "id", "the column those deletes go by"),
        key("outbox.cleanup.interval.ms", "1000", "how often delivered rows are deleted"),
        key("outbox.cleanup.batch.size", "1000", "at most this many rows per DELETE"),
        key("slot.lost.policy", "fail", "fail or recreate, when the slot was invalidated or dropped"),
        key("slot.guard.interval.ms", "10000", "how often the slot guard reads pg_replication_slots; 0: off"),
        key("slot.guard.retained.wal.warn.bytes", "1073741824", "retained WAL above this is a warning"),
    ],
    not_yet: &[
        "driver.",
        "heartbeat.",
        "signal.",
        "incremental.snapshot.",
        "snapshot.lock.timeout.ms",
        "snapshot.delay.ms",
        "snapshot.locking.mode",
        "snapshot.isolation.mode",
        "converters",
        "poll.interval.ms",
        "database.tcpKeepAlive",
        "database.sslcert",
        "database.sslkey",
        "database.sslpassword",
        "database.sslfactory",
        "xmin.fetch.interval.ms",
        "truncate.handling.mode",
        "include.schema.changes",
        "include.schema.comments",
        "errors.max.retries",
        "retriable.restart.connector.wait.ms",
        "topic.creation.",
        "custom.metric.tags",
        "notification.",
        "lsn.flush.mode",
        "lsn.flush.timeout.ms",
        "lsn.flush.timeout.action",
        "flush.lsn.source",
        "slot.failover",
        "snapshot.query.mode",
        "snapshot.mode.",
        "snapshot.locking.mode.custom.name",
        "streaming.delay.ms",
        "database.query.timeout.ms",
        "post.processors",
        "table.ignore.builtin",
        "sourceinfo.struct.maker",
        "event.converting.failure.handling.mode",
        "guardrail.collections.",
        "extended.headers.enabled",
        "openlineage.integration.",
        "data.query.mode",
        "executor.shutdown.timeout.ms",
        "read.only",
        "transforms",
        "predicates",
    ],
    // Debezium's own PostgreSQL connector ignores `include.schema.changes` (PostgreSQL has no schema-change topic),
    // runs one task whatever `tasks.max` says, and polls no queue Sluice has (`poll.interval.ms`); the others are at
    // Debezium's default or off.
    accepted_as_given: &[
        ("tasks.max", &["*"]),
        ("include.schema.changes", &["true", "false"]),
        ("include.schema.comments", &["false"]),
        ("poll.interval.ms", &["*"]),
        ("slot.failover", &["false"]),
        ("table.ignore.builtin", &["true"]),
        ("streaming.delay.ms", &["0"]),
    ],
    // Debezium 1.x's names, removed in 2.0.
    renamed: &[
        ("database.server.name", "topic.prefix"),
        ("schema.whitelist", "schema.include.list"),
        ("schema.blacklist", "schema.exclude.list"),
        ("table.whitelist", "table.include.list"),
        ("table.blacklist", "table.exclude.list"),
        ("column.whitelist", "column.include.list"),
        ("column.blacklist", "column.exclude.list"),
    ],
    // Keys of Debezium's other connectors (MySQL's server id and database lists, the schema history that connectors
    // with DDL in their log keep, and Debezium's internal tuning keys): configurations copied between connectors
    // carry them, and they mean nothing for PostgreSQL, so they are a warning, not an error.
    other_connectors: &[
        "database.server.id",
        "database.include.list",
        "database.exclude.list",
        "database.history.",
        "schema.history.internal",
        "internal.",
        "include.query",
        "gtid.source.includes",
        "gtid.source.excludes",
        "binlog.buffer.size",
    ],
    open_prefixes: &[OVERRIDE_PREFIX],
    ..KeySet::EMPTY
};

/// `snapshot.select.statement.overrides.<schema>.<table>`, after `debezium.source.`.
const OVERRIDE_PREFIX: &str = "snapshot.select.statement.overrides.";

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

impl CaptureFilter for TableFilters {
    fn table(&self, table: &TableId) -> bool {
        self.includes_table(&table.schema, &table.table)
    }

    fn column(&self, table: &TableId, column: &str) -> bool {
        self.includes_column(&table.schema, &table.table, column)
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

impl HeartbeatConfig {
    /// What the source does on every heartbeat.
    pub fn actions(&self) -> HeartbeatActions {
        HeartbeatActions {
            interval: self.interval,
            action_query: self.action_query.clone(),
            emit_message: self.emit_message,
        }
    }
}

/// Retries while the replication slot is in use (Debezium's defaults: 6 retries, 10 s apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRetries {
    pub max_retries: u32,
    pub delay: Duration,
}

/// The PostgreSQL source's configuration.
#[derive(Clone, Debug)]
pub struct PostgresSettings {
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
    pub publication_autocreate_mode: PublicationMode,
    pub filters: TableFilters,
    pub snapshot_mode: SnapshotMode,
    pub snapshot_max_threads: usize,
    pub skipped_operations: SkippedOperations,
    pub status_update_interval: Duration,
    /// Debezium's `slot.max.retries` and `slot.retry.delay.ms`: how often, and how far apart, a start is retried
    /// while another connection holds the replication slot.
    pub slot_retries: SlotRetries,
    pub lost_slot_policy: LostSlotPolicy,
    pub slot_guard: SlotGuardOptions,
    pub heartbeat: HeartbeatConfig,
    /// `outbox.cleanup.*`: delete delivered outbox rows (off unless `outbox.cleanup.table` is set).
    pub outbox_cleanup: Option<OutboxCleanup>,
    pub snapshot_selection: SnapshotSelection,
    /// `database.initial.statements`, split.
    pub initial_statements: Vec<String>,
    pub message_prefixes: MessagePrefixes,
    pub slot_drop_on_stop: bool,
    pub publish_via_partition_root: Option<bool>,
    pub replica_identity_rules: Vec<ReplicaIdentityRule>,
    pub slot_stream_params: Vec<(String, String)>,
    /// `provide.transaction.metadata`: the topic of the BEGIN/END records, `<topic.prefix>.<topic.transaction>`
    /// before sanitizing; `None` when off.
    pub transaction_topic: Option<String>,
}

impl PostgresSettings {
    /// How to connect, for the replication connection and every other one the source opens.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            host: self.hostname.clone(),
            port: self.port,
            user: self.user.clone(),
            password: self.password.clone(),
            dbname: self.dbname.clone(),
            sslmode: self.sslmode,
            sslrootcert: self.sslrootcert.clone(),
            application_name: format!("sluice {}", self.topic_prefix),
            receive_buffer: self.receive_buffer,
            initial_statements: self.initial_statements.clone(),
        }
    }

    /// One run's options; `status` is the pipeline's, `chunk_bytes` the byte bound of a chunk.
    pub fn source_options(&self, status: &PipelineStatus, chunk_bytes: usize) -> SourceOptions {
        SourceOptions {
            connect: self.connect_options(),
            slot_name: self.slot_name.clone(),
            publication_name: self.publication_name.clone(),
            publication_mode: self.publication_autocreate_mode,
            snapshot_mode: self.snapshot_mode,
            snapshot_max_threads: self.snapshot_max_threads,
            skipped_operations: self.skipped_operations,
            filter: Arc::new(self.filters.clone()),
            status_interval: self.status_update_interval,
            lost_slot_policy: self.lost_slot_policy,
            slot_guard: self.slot_guard.clone(),
            status: status.clone(),
            chunk_bytes,
            snapshot_selection: self.snapshot_selection.clone(),
            message_prefixes: self.message_prefixes.clone(),
            slot_drop_on_stop: self.slot_drop_on_stop,
            publish_via_partition_root: self.publish_via_partition_root,
            replica_identity_rules: self.replica_identity_rules.clone(),
            slot_stream_params: self.slot_stream_params.clone(),
            transaction_boundaries: self.transaction_topic.is_some(),
        }
    }
}

fn k(name: &str) -> String {
    format!("{SOURCE}{name}")
}

/// Reads the source's keys, reporting every bad value to `s`.
pub fn read(s: &mut Settings) -> PostgresSettings {
    let connector = s.required(&k("connector.class"));
    if !connector.is_empty() && connector != CONNECTOR_CLASS {
        s.problem(format!(
            "`{SOURCE}connector.class` = `{connector}`: Sluice is a PostgreSQL connector; use {CONNECTOR_CLASS}"
        ));
    }
    let plugin = s.string(&k("plugin.name"), "pgoutput");
    if plugin != "pgoutput" {
        s.problem(format!(
            "`{SOURCE}plugin.name` = `{plugin}` is not supported: Sluice reads pgoutput, PostgreSQL's built-in plugin (set pgoutput)"
        ));
    }
    let snapshot_key = k("snapshot.mode");
    if let Some(old) =
        s.get(&snapshot_key).map(|v| v.trim().to_ascii_lowercase()).filter(|v| v == "never" || v == "schema_only")
    {
        s.warn(format!(
            "`{snapshot_key}` = `{old}` is deprecated in Debezium and means `no_data`: set `no_data` instead"
        ));
        s.replace(&snapshot_key, "no_data");
    }
    s.value_not_yet(&snapshot_key, &["custom", "configuration_based"]);
    let topic_prefix = s.required(&k("topic.prefix"));
    PostgresSettings {
        transaction_topic: transaction_topic(s, &topic_prefix),
        hostname: s.required(&k("database.hostname")),
        port: port(s),
        user: s.required(&k("database.user")),
        password: s.get(&k("database.password")).map(String::from),
        dbname: s.required(&k("database.dbname")),
        sslmode: s.choice(
            &k("database.sslmode"),
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
        sslrootcert: s.get(&k("database.sslrootcert")).map(PathBuf::from),
        receive_buffer: receive_buffer(s),
        topic_prefix,
        slot_name: slot_name(s),
        publication_name: publication_name(s),
        publication_autocreate_mode: s.choice(
            &k("publication.autocreate.mode"),
            PublicationMode::AllTables,
            &[
                ("all_tables", PublicationMode::AllTables),
                ("disabled", PublicationMode::Disabled),
                ("filtered", PublicationMode::Filtered),
                ("no_tables", PublicationMode::NoTables),
            ],
        ),
        filters: filters(s),
        snapshot_mode: s.choice(
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
            let n = s.number(&k("snapshot.max.threads"), 1usize, "a whole number");
            if n == 0 {
                s.problem(format!("`{SOURCE}snapshot.max.threads` must be at least 1"));
            }
            n.max(1)
        },
        skipped_operations: skipped_operations(s),
        status_update_interval: Duration::from_millis(s.number(
            &k("status.update.interval.ms"),
            10_000u64,
            "a number of milliseconds",
        ))
        .max(Duration::from_millis(1)),
        slot_retries: SlotRetries {
            max_retries: s.number(&k("slot.max.retries"), 6u32, "a whole number of retries"),
            delay: Duration::from_millis(s.number(&k("slot.retry.delay.ms"), 10_000u64, "a number of milliseconds")),
        },
        lost_slot_policy: s.choice(
            &k("slot.lost.policy"),
            LostSlotPolicy::Fail,
            &[("fail", LostSlotPolicy::Fail), ("recreate", LostSlotPolicy::Recreate)],
        ),
        heartbeat: heartbeat(s),
        outbox_cleanup: outbox_cleanup(s),
        slot_guard: {
            let defaults = SlotGuardOptions::default();
            SlotGuardOptions {
                interval: Duration::from_millis(s.number(
                    &k("slot.guard.interval.ms"),
                    defaults.interval.as_millis() as u64,
                    "a number of milliseconds (0 turns the guard off)",
                )),
                retained_wal_warn_bytes: s.number(
                    &k("slot.guard.retained.wal.warn.bytes"),
                    defaults.retained_wal_warn_bytes,
                    "a number of bytes",
                ),
            }
        },
        publish_via_partition_root: {
            let key = k("publish.via.partition.root");
            s.get(&key).is_some().then(|| s.boolean(&key, false))
        },
        replica_identity_rules: replica_identity_rules(s),
        slot_stream_params: slot_stream_params(s),
        snapshot_selection: snapshot_selection(s),
        initial_statements: initial_statements(s.get(&k("database.initial.statements")).unwrap_or("")),
        message_prefixes: {
            let include = s.regex_list(&k("message.prefix.include.list"));
            let exclude = s.regex_list(&k("message.prefix.exclude.list"));
            if include.is_some() && exclude.is_some() {
                s.problem(format!(
                    "`{SOURCE}message.prefix.include.list` and `{SOURCE}message.prefix.exclude.list` cannot both be set (as in Debezium): keep one"
                ));
            }
            MessagePrefixes { include, exclude: exclude.unwrap_or_default() }
        },
        slot_drop_on_stop: {
            let drop = s.boolean(&k("slot.drop.on.stop"), false);
            if drop {
                s.warn(format!(
                    "`{SOURCE}slot.drop.on.stop` = true: the replication slot is dropped whenever Sluice stops, and the \
                     changes made while it is stopped are not kept for it; the next start then finds no slot and acts \
                     as after a lost one (a new snapshot under snapshot.mode=always or when_needed, or \
                     slot.lost.policy=recreate; otherwise it stops and says so). Meant for tests and trials"
                ));
            }
            drop
        },
    }
}

/// `provide.transaction.metadata` and `topic.transaction`.
fn transaction_topic(s: &mut Settings, topic_prefix: &str) -> Option<String> {
    let topic_key = k("topic.transaction");
    let topic = s.string(&topic_key, "transaction");
    if topic.trim().is_empty() {
        s.problem(format!(
            "`{topic_key}` is empty: it names the transaction metadata topic (Debezium's default: transaction)"
        ));
    }
    // Joined with `topic.delimiter`, which the event format declares and checks (sluice_format::naming).
    let delimiter = s.string(&k("topic.delimiter"), ".");
    s.boolean(&k("provide.transaction.metadata"), false).then(|| format!("{topic_prefix}{delimiter}{topic}"))
}

/// pgoutput options Sluice sets itself or whose output it could not decode: `proto_version` 1 is what it reads,
/// `publication_names` comes from `publication.name`, `messages` is on; `binary`, `streaming` and `two_phase` change
/// the messages' form.
const STREAM_PARAMS_OWNED: &[&str] =
    &["proto_version", "publication_names", "messages", "binary", "streaming", "two_phase"];

/// `slot.stream.params`: Debezium's `name=value;name=value`, passed to the plugin as `START_REPLICATION` options
/// (quoted there). Options the server does not know stop the start with its own message.
fn slot_stream_params(s: &mut Settings) -> Vec<(String, String)> {
    let key = k("slot.stream.params");
    let Some(value) = s.get(&key).map(str::to_string) else { return Vec::new() };
    let mut params = Vec::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, param)) =
            entry.split_once('=').map(|(n, v)| (n.trim(), v.trim())).filter(|(n, _)| !n.is_empty())
        else {
            s.problem(format!("`{key}`: `{entry}` is not `name=value`"));
            continue;
        };
        if STREAM_PARAMS_OWNED.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            s.problem(format!(
                "`{key}`: `{name}` is set by Sluice or changes the stream's form it decodes; leave it out"
            ));
            continue;
        }
        params.push((name.to_string(), param.to_string()));
    }
    params
}

/// `replica.identity.autoset.values`: Debezium's `<table regex>:<identity>` entries, comma-separated; the identity
/// is `DEFAULT`, `FULL`, `NOTHING` or `INDEX <index name>` (any case). The regex is anchored and case-insensitive, as
/// Debezium matches table names.
fn replica_identity_rules(s: &mut Settings) -> Vec<ReplicaIdentityRule> {
    let key = k("replica.identity.autoset.values");
    let Some(value) = s.get(&key).map(str::to_string) else { return Vec::new() };
    let mut rules = Vec::new();
    for entry in sluice_config::list(&value) {
        let Some((table, identity)) = entry.rsplit_once(':') else {
            s.problem(format!("`{key}`: `{entry}` is not `<schema.table regex>:<replica identity>`"));
            continue;
        };
        let words: Vec<&str> = identity.split_whitespace().collect();
        let identity = match words.as_slice() {
            [w] if ["DEFAULT", "FULL", "NOTHING"].iter().any(|i| w.eq_ignore_ascii_case(i)) => w.to_ascii_uppercase(),
            [w, index] if w.eq_ignore_ascii_case("INDEX") => format!("USING INDEX {}", quote_ident(index)),
            _ => {
                s.problem(format!(
                    "`{key}`: `{identity}` is not a replica identity; use DEFAULT, FULL, NOTHING or INDEX <index name>"
                ));
                continue;
            }
        };
        match sluice_config::name_pattern(table.trim()) {
            Ok(tables) => rules.push(ReplicaIdentityRule { tables, identity }),
            Err(e) => s.problem(format!("`{key}`: `{table}` is not a regular expression: {e}")),
        }
    }
    rules
}

/// `database.initial.statements`: Debezium's syntax, statements separated by `;`, with `;;` for a `;` inside one.
fn initial_statements(value: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' if chars.peek() == Some(&';') => {
                chars.next();
                current.push(';');
            }
            ';' => statements.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    statements.push(current);
    statements.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// `snapshot.include.collection.list` and `snapshot.select.statement.overrides` with its per-table keys.
fn snapshot_selection(s: &mut Settings) -> SnapshotSelection {
    let tables = s.regex_list(&k("snapshot.include.collection.list"));
    let listed_key = k("snapshot.select.statement.overrides");
    let listed = s.list(&listed_key);
    let mut overrides = std::collections::HashMap::new();
    for name in &listed {
        let Some((schema, table)) = name.split_once('.').filter(|(a, b)| !a.is_empty() && !b.is_empty()) else {
            s.problem(format!("`{listed_key}`: `{name}` is not `schema.table`"));
            continue;
        };
        let key = k(&format!("{OVERRIDE_PREFIX}{name}"));
        let select = s.get(&key).map(|v| v.trim().trim_end_matches(';').trim_end().to_string());
        match select.filter(|v| !v.is_empty()) {
            Some(select) => {
                overrides.insert(TableId::new(schema, table), select);
            }
            None => s.problem(format!("`{listed_key}` lists `{name}`, but `{key}` (its SELECT) is not set")),
        }
    }
    for (name, _) in s.below(&k(OVERRIDE_PREFIX)) {
        let key = k(&format!("{OVERRIDE_PREFIX}{name}"));
        if !listed.contains(&name) {
            s.warn(format!("`{key}` has no effect: `{listed_key}` does not list `{name}` (as in Debezium)"));
        }
    }
    SnapshotSelection { tables, overrides }
}

/// `slot.name`, checked against PostgreSQL's rule for slot names, so that `sluice check` catches what
/// `CREATE_REPLICATION_SLOT` would reject at run time.
fn slot_name(s: &mut Settings) -> String {
    let name = s.string(&k("slot.name"), "debezium");
    let valid = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if name.is_empty() || name.len() > MAX_IDENTIFIER_BYTES || !valid {
        s.problem(format!(
            "`{SOURCE}slot.name` = `{}` is not a valid replication slot name: PostgreSQL allows 1 to \
             {MAX_IDENTIFIER_BYTES} lower-case letters, digits and underscores",
            name.escape_debug()
        ));
    }
    name
}

/// `publication.name`: any identifier, but PostgreSQL would silently cut a longer one to 63 bytes, and then never
/// find the publication under the configured name.
fn publication_name(s: &mut Settings) -> String {
    let name = s.string(&k("publication.name"), "dbz_publication");
    if name.is_empty() || name.len() > MAX_IDENTIFIER_BYTES || name.chars().any(char::is_control) {
        s.problem(format!(
            "`{SOURCE}publication.name` = `{}` is not a valid publication name: PostgreSQL allows 1 to \
             {MAX_IDENTIFIER_BYTES} bytes without control characters",
            name.escape_debug()
        ));
    }
    name
}

/// pgjdbc's `receiveBufferSize`, passed through by Debezium as `driver.receiveBufferSize`: `-1` leaves the socket
/// to the operating system; unset, Sluice sizes it from the round trip.
fn receive_buffer(s: &mut Settings) -> ReceiveBuffer {
    let key = k("driver.receiveBufferSize");
    match s.get(&key).map(str::trim) {
        None => ReceiveBuffer::FromRoundTrip,
        Some("-1") => ReceiveBuffer::System,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 && n <= i32::MAX as usize => ReceiveBuffer::Bytes(n),
            _ => {
                let v = v.to_string();
                s.problem(format!(
                    "`{key}` = `{v}` is not a number of bytes (1 to 2147483647) or -1 (the operating system's default); leave it unset to let Sluice size it from the round trip"
                ));
                ReceiveBuffer::FromRoundTrip
            }
        },
    }
}

fn port(s: &mut Settings) -> u16 {
    let key = k("database.port");
    let port = s.number(&key, 5432u16, "a port number (1-65535)");
    if port == 0 {
        s.problem(format!("`{key}` = `0` is not a port number (1-65535)"));
    }
    port
}

fn filters(s: &mut Settings) -> TableFilters {
    let mut pair = |kind: &str| {
        let include = s.regex_list(&k(&format!("{kind}.include.list")));
        let exclude = s.regex_list(&k(&format!("{kind}.exclude.list")));
        if include.is_some() && exclude.is_some() {
            s.problem(format!(
                "`{SOURCE}{kind}.include.list` and `{SOURCE}{kind}.exclude.list` cannot both be set (as in Debezium): keep one"
            ));
        }
        (include, exclude.unwrap_or_default())
    };
    let (schema_include, schema_exclude) = pair("schema");
    let (table_include, table_exclude) = pair("table");
    let (column_include, column_exclude) = pair("column");
    TableFilters { schema_include, schema_exclude, table_include, table_exclude, column_include, column_exclude }
}

fn skipped_operations(s: &mut Settings) -> SkippedOperations {
    let key = k("skipped.operations");
    let value = s.string(&key, "t");
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
            other => s.problem(format!("`{key}`: `{other}` is not an operation; allowed: c, u, d, t, or none")),
        }
    }
    ops
}

fn outbox_cleanup(s: &mut Settings) -> Option<OutboxCleanup> {
    let key = k("outbox.cleanup.table");
    let table = s.get(&key)?.trim().to_string();
    let Some((schema, name)) = table.split_once('.').filter(|(a, b)| !a.is_empty() && !b.is_empty()) else {
        s.problem(format!("`{key}` = `{table}` is not `schema.table` (e.g. public.outboxevent)"));
        return None;
    };
    let batch_key = k("outbox.cleanup.batch.size");
    let batch_size = s.number(&batch_key, 1000usize, "a whole number");
    if batch_size == 0 {
        s.problem(format!("`{batch_key}` must be at least 1"));
    }
    Some(OutboxCleanup {
        table: TableId::new(schema, name),
        id_column: s.string(&k("outbox.cleanup.id.column"), "id"),
        interval: Duration::from_millis(
            s.number(&k("outbox.cleanup.interval.ms"), 1000u64, "a number of milliseconds").max(1),
        ),
        batch_size: batch_size.max(1),
    })
}

fn heartbeat(s: &mut Settings) -> HeartbeatConfig {
    let defaults = HeartbeatConfig::default();
    let interval_key = k("heartbeat.interval.ms");
    let config = HeartbeatConfig {
        interval: Duration::from_millis(s.number(&interval_key, 0u64, "a number of milliseconds")),
        action_query: s.optional(&k("heartbeat.action.query")),
        topic_prefix: s.string(&k("topic.heartbeat.prefix"), &defaults.topic_prefix),
        emit_message: s.boolean(&k("heartbeat.emit.message"), false),
    };
    if config.interval.is_zero() && (config.action_query.is_some() || config.emit_message) {
        s.warn(format!(
            "heartbeat.action.query and heartbeat.emit.message run every `{interval_key}`, which is 0 (off): they are unused"
        ));
    }
    config
}
