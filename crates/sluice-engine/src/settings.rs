//! The engine's configuration: where acknowledged positions are stored, how often, and how many bytes of events may
//! be in flight (`debezium.source.offset.*`, `max.queue.size.in.bytes`).
//!
//! Offsets go to a file or, as in Kafka Connect, to a compacted Kafka topic. The Kafka store's clients are configured
//! the way Debezium Server configures them: from the top-level `debezium.source.*` keys (`bootstrap.servers`,
//! `security.protocol`, `sasl.*`, `ssl.*`), since the embedded engine hands its whole configuration to Kafka
//! Connect's `KafkaOffsetBackingStore`. The engine knows no Kafka client: it reads the keys, and the binary has the
//! Kafka store check them with librdkafka and open it.

use std::path::PathBuf;
use std::time::Duration;

use sluice_config::{key, KeySet, Settings};

const SOURCE: &str = "debezium.source.";
/// Kafka Connect's file offset store, the default.
pub const FILE_OFFSET_STORE: &str = "org.apache.kafka.connect.storage.FileOffsetBackingStore";
/// Kafka Connect's offsets topic.
pub const KAFKA_OFFSET_STORE: &str = "org.apache.kafka.connect.storage.KafkaOffsetBackingStore";

/// `max.queue.size.in.bytes` when unset. Debezium's default is 0, no byte limit: its queue is bounded by
/// `max.queue.size` records, and the JVM's heap is the limit behind it. Sluice bounds its own memory instead, and a
/// count bound alone lets a run of large rows (TOASTed text, bytea) hold hundreds of them at once; 32 MiB holds far
/// more than the count bounds allow of ordinary rows, so it costs nothing until values are large.
pub const DEFAULT_MAX_QUEUE_BYTES: u64 = 32 << 20;

/// Kafka Connect's `offset.flush.timeout.ms` default.
const DEFAULT_FLUSH_TIMEOUT_MS: u64 = 5000;

/// The Kafka store's client keys, after `debezium.source.`: connection and security only.
const CLIENT_KEYS: &[&str] = &["bootstrap.servers", "security.protocol"];
const CLIENT_PREFIXES: &[&str] = &["sasl.", "ssl."];

pub static KEYS: KeySet = KeySet {
    owner: "the engine",
    prefix: SOURCE,
    keys: &[
        key(
            "offset.storage",
            FILE_OFFSET_STORE,
            "FileOffsetBackingStore or KafkaOffsetBackingStore (org.apache.kafka.connect.storage.)",
        ),
        key("offset.storage.file.filename", "data/offsets.dat", "the offsets file (JSON, replaced atomically)"),
        key(
            "offset.storage.topic",
            "",
            "the Kafka offsets topic (KafkaOffsetBackingStore), in Kafka Connect's record format",
        ),
        key("offset.storage.partitions", "", "its partitions if Sluice creates it (compacted); -1: the broker's"),
        key("offset.storage.replication.factor", "", "its replication factor if Sluice creates it; -1: the broker's"),
        key("offset.flush.interval.ms", "0", "how often acknowledged positions are written at most; 0: every batch"),
        key(
            "offset.flush.timeout.ms",
            "5000",
            "how long the offsets topic may take to acknowledge a write before it is retried",
        ),
        key(
            "name",
            "",
            "the connector's name in the offsets topic's keys; unset: the sink type, as Debezium Server names it",
        ),
        key("bootstrap.servers", "", "the offsets topic's brokers (KafkaOffsetBackingStore)"),
        key(
            "security.protocol",
            "",
            "the offsets topic clients' security protocol; sasl.* and ssl.* as for the producer",
        ),
        key("max.queue.size.in.bytes", "33554432", "bytes of change events in flight; 0: no byte limit"),
        key("max.batch.size", "", "at most this many records per sink write; unset: 1024"),
        key(
            "max.queue.size",
            "",
            "checked as Debezium does (larger than max.batch.size); Sluice's queue is bounded by chunks and bytes",
        ),
    ],
    open_prefixes: CLIENT_PREFIXES,
    ..KeySet::EMPTY
};

/// Kafka Connect's offsets topic and the settings of its clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaOffsetStorage {
    pub topic: String,
    /// `-1` lets the broker choose.
    pub partitions: i32,
    /// `-1` lets the broker choose.
    pub replication_factor: i32,
    /// `bootstrap.servers`, `security.protocol`, `sasl.*` and `ssl.*` as given (without `debezium.source.`), for the
    /// Kafka store to check and use.
    pub client: Vec<(String, String)>,
    /// `offset.flush.timeout.ms`: how long one write may wait for the brokers' acknowledgement.
    pub flush_timeout: Duration,
}

/// Where offsets are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffsetStorage {
    File(PathBuf),
    Kafka(KafkaOffsetStorage),
}

/// Where and how often acknowledged positions are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetConfig {
    pub storage: OffsetStorage,
    pub flush_interval: Duration,
    /// `name`: the connector's name in the offsets topic's keys, when set.
    pub name: Option<String>,
}

/// The engine's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSettings {
    pub offsets: OffsetConfig,
    /// `max.queue.size.in.bytes`: the bytes of change events in flight between the source and the sink; `None`
    /// (`0`) for no byte limit, only the count limits.
    pub max_queue_bytes: Option<u64>,
    /// `max.batch.size`: the most records one sink write takes; `None` for the pipeline's own bound.
    pub max_batch_records: Option<usize>,
}

fn k(name: &str) -> String {
    format!("{SOURCE}{name}")
}

/// `offset.storage.partitions` or `.replication.factor`: required with the Kafka store, as in Debezium; `-1` for the
/// broker's default.
fn topic_number(s: &mut Settings, name: &str) -> i32 {
    let key = k(name);
    let value = s.required(&key);
    if value.is_empty() {
        return -1;
    }
    match value.parse::<i32>() {
        Ok(n) if n >= 1 || n == -1 => n,
        _ => {
            s.problem(format!("`{key}` = `{value}` must be at least 1, or -1 for the broker's default"));
            -1
        }
    }
}

fn client_keys(s: &Settings) -> Vec<(String, String)> {
    s.below(SOURCE)
        .into_iter()
        .filter(|(key, _)| CLIENT_KEYS.contains(&key.as_str()) || CLIENT_PREFIXES.iter().any(|p| key.starts_with(p)))
        .collect()
}

/// Reads the engine's keys.
pub fn read(s: &mut Settings) -> EngineSettings {
    let store = s.string(&k("offset.storage"), FILE_OFFSET_STORE);
    let storage = match store.as_str() {
        KAFKA_OFFSET_STORE => {
            let topic = s.required(&k("offset.storage.topic"));
            let partitions = topic_number(s, "offset.storage.partitions");
            let replication_factor = topic_number(s, "offset.storage.replication.factor");
            if s.optional(&k("bootstrap.servers")).is_none() {
                s.problem(format!(
                    "missing required key `{SOURCE}bootstrap.servers`: the brokers of the offsets topic (offset.storage is {KAFKA_OFFSET_STORE})"
                ));
            }
            let flush_timeout = Duration::from_millis(s.number(
                &k("offset.flush.timeout.ms"),
                DEFAULT_FLUSH_TIMEOUT_MS,
                "a number of milliseconds",
            ));
            OffsetStorage::Kafka(KafkaOffsetStorage {
                topic,
                partitions,
                replication_factor,
                client: client_keys(s),
                flush_timeout,
            })
        }
        _ => {
            if store != FILE_OFFSET_STORE {
                s.problem(format!(
                    "`{SOURCE}offset.storage` = `{store}` is not supported yet; Sluice stores offsets in a file \
                     ({FILE_OFFSET_STORE}) or a Kafka topic ({KAFKA_OFFSET_STORE})"
                ));
            }
            let unused: Vec<String> =
                ["offset.storage.topic", "offset.storage.partitions", "offset.storage.replication.factor"]
                    .iter()
                    .map(|name| k(name))
                    .chain(client_keys(s).into_iter().map(|(key, _)| k(&key)))
                    .filter(|key| s.get(key).is_some())
                    .collect();
            if !unused.is_empty() {
                s.warn(format!(
                    "ignoring {}: used by the Kafka offset store only, and offset.storage is the file store",
                    unused.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ")
                ));
            }
            OffsetStorage::File(PathBuf::from(s.string(&k("offset.storage.file.filename"), "data/offsets.dat")))
        }
    };
    EngineSettings {
        offsets: OffsetConfig {
            storage,
            flush_interval: Duration::from_millis(s.number(
                &k("offset.flush.interval.ms"),
                0u64,
                "a number of milliseconds",
            )),
            name: s.optional(&k("name")),
        },
        max_queue_bytes: match s.number(
            &k("max.queue.size.in.bytes"),
            DEFAULT_MAX_QUEUE_BYTES,
            "a number of bytes (0 for no byte limit)",
        ) {
            0 => None,
            n => Some(n),
        },
        max_batch_records: max_batch_records(s),
    }
}

/// `max.batch.size` and `max.queue.size` (Debezium's defaults 2048 and 8192). Sluice's queue between source and
/// sink is bounded by chunks of events and by `max.queue.size.in.bytes`, not by a record count, so `max.queue.size`
/// only has to pass Debezium's own check: larger than the batch.
fn max_batch_records(s: &mut Settings) -> Option<usize> {
    let batch_key = k("max.batch.size");
    let queue_key = k("max.queue.size");
    let batch = s.get(&batch_key).is_some().then(|| s.number(&batch_key, 2048usize, "a positive number of records"));
    let queue = s.get(&queue_key).is_some().then(|| s.number(&queue_key, 8192usize, "a positive number of records"));
    if batch == Some(0) {
        s.problem(format!("`{batch_key}` must be at least 1"));
    }
    if let Some(queue) = queue {
        if queue <= batch.unwrap_or(2048) {
            s.problem(format!(
                "`{queue_key}` = {queue} must be larger than `{batch_key}` ({}), as Debezium requires",
                batch.unwrap_or(2048)
            ));
        }
    }
    batch.filter(|n| *n > 0)
}
