//! One change as it leaves the source, before any transform or format has touched it.

use std::sync::Arc;

use bytes::Bytes;

use crate::{Lsn, Position, TableSchema, Tuple};

/// Debezium's operation codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `c`: INSERT.
    Create,
    /// `u`: UPDATE.
    Update,
    /// `d`: DELETE.
    Delete,
    /// `r`: a row read by the snapshot.
    Read,
    /// `t`: TRUNCATE, one event per truncated table.
    Truncate,
    /// `m`: a logical decoding message (`pg_logical_emit_message`).
    Message,
}

impl Op {
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
            Op::Truncate => "t",
            Op::Message => "m",
        }
    }
}

/// Debezium's `source.snapshot` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMarker {
    /// A streamed event.
    False,
    /// The first row of the snapshot.
    First,
    /// The first row of a table other than the first.
    FirstInDataCollection,
    /// A row in the middle of a table.
    True,
    /// The last row of a table other than the last.
    LastInDataCollection,
    /// The last row of the snapshot.
    Last,
}

impl SnapshotMarker {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMarker::False => "false",
            SnapshotMarker::First => "first",
            SnapshotMarker::FirstInDataCollection => "first_in_data_collection",
            SnapshotMarker::True => "true",
            SnapshotMarker::LastInDataCollection => "last_in_data_collection",
            SnapshotMarker::Last => "last",
        }
    }
}

/// Where an event came from: the facts Debezium puts in the `source` block that are not configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// The event's place in Sluice's total order (see [`Position`]).
    pub position: Position,
    /// The WAL position of the change itself (Debezium's `source.lsn`); shared by all rows of one multi-row insert.
    pub lsn: Lsn,
    /// The transaction id, when known: the streamed transaction's xid, or for snapshot rows the id of the snapshot's
    /// own transaction (64 bits, with the epoch, as `pg_current_xact_id()` gives it and Debezium reports it).
    pub tx_id: Option<u64>,
    /// When the change was committed (streamed events) or read (snapshot rows), in microseconds since the epoch.
    pub ts_us: i64,
    pub snapshot: SnapshotMarker,
}

/// A `pg_logical_emit_message` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalMessage {
    pub transactional: bool,
    pub prefix: String,
    pub content: Bytes,
}

/// One change: a row event, a truncate or a logical message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeEvent {
    pub op: Op,
    /// The table the change belongs to; `None` for logical messages.
    pub table: Option<Arc<TableSchema>>,
    pub before: Option<Tuple>,
    pub after: Option<Tuple>,
    pub message: Option<LogicalMessage>,
    pub source: SourceInfo,
}
