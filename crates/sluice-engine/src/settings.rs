//! The engine's configuration: where acknowledged positions are stored, how often, and how many bytes of events may
//! be in flight (`debezium.source.offset.*`, `max.queue.size.in.bytes`).

use std::path::PathBuf;
use std::time::Duration;

use sluice_config::{key, KeySet, Settings};

const SOURCE: &str = "debezium.source.";
/// Kafka Connect's file offset store, the one Sluice has.
pub const FILE_OFFSET_STORE: &str = "org.apache.kafka.connect.storage.FileOffsetBackingStore";

/// `max.queue.size.in.bytes` when unset. Debezium's default is 0, no byte limit: its queue is bounded by
/// `max.queue.size` records, and the JVM's heap is the limit behind it. Sluice bounds its own memory instead, and a
/// count bound alone lets a run of large rows (TOASTed text, bytea) hold hundreds of them at once; 32 MiB holds far
/// more than the count bounds allow of ordinary rows, so it costs nothing until values are large.
pub const DEFAULT_MAX_QUEUE_BYTES: u64 = 32 << 20;

pub static KEYS: KeySet = KeySet {
    owner: "the engine",
    prefix: SOURCE,
    keys: &[
        key("offset.storage", FILE_OFFSET_STORE, "only the file store"),
        key("offset.storage.file.filename", "data/offsets.dat", "the offsets file (JSON, replaced atomically)"),
        key("offset.flush.interval.ms", "0", "how often acknowledged positions are written at most; 0: every batch"),
        key("max.queue.size.in.bytes", "33554432", "bytes of change events in flight; 0: no byte limit"),
    ],
    open_prefixes: &[],
    not_yet: &[
        "offset.storage.topic",
        "offset.storage.partitions",
        "offset.storage.replication.factor",
        "offset.flush.timeout.ms",
    ],
    accepted_as_given: &[],
    renamed: &[],
    unsupported_below: &[],
    other_connectors: &[],
};

/// Where and how often acknowledged positions are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetConfig {
    pub file: PathBuf,
    pub flush_interval: Duration,
}

/// The engine's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSettings {
    pub offsets: OffsetConfig,
    /// `max.queue.size.in.bytes`: the bytes of change events in flight between the source and the sink; `None`
    /// (`0`) for no byte limit, only the count limits.
    pub max_queue_bytes: Option<u64>,
}

fn k(name: &str) -> String {
    format!("{SOURCE}{name}")
}

/// Reads the engine's keys.
pub fn read(s: &mut Settings) -> EngineSettings {
    let store = s.string(&k("offset.storage"), FILE_OFFSET_STORE);
    if store != FILE_OFFSET_STORE {
        s.problem(format!(
            "`{SOURCE}offset.storage` = `{store}` is not supported yet; Sluice stores offsets in a file ({FILE_OFFSET_STORE})"
        ));
    }
    EngineSettings {
        offsets: OffsetConfig {
            file: PathBuf::from(s.string(&k("offset.storage.file.filename"), "data/offsets.dat")),
            flush_interval: Duration::from_millis(s.number(
                &k("offset.flush.interval.ms"),
                0u64,
                "a number of milliseconds",
            )),
        },
        max_queue_bytes: match s.number(
            &k("max.queue.size.in.bytes"),
            DEFAULT_MAX_QUEUE_BYTES,
            "a number of bytes (0 for no byte limit)",
        ) {
            0 => None,
            n => Some(n),
        },
    }
}
