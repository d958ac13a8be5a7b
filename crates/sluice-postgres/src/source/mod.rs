//! The PostgreSQL source: owns the slot and the publication, takes the snapshot, then streams.
//!
//! It produces [`SourceItem`]s in chunks on a bounded channel. Besides change events the items carry the facts the
//! pipeline needs to acknowledge correctly: where transactions end ([`SourceItem::Committed`]), when the server
//! says nothing is pending ([`SourceItem::Idle`]), and how far the snapshot got. The pipeline, once the sink has
//! made everything before such an item durable, publishes the LSN it may confirm on a `watch` channel; the source
//! alone talks to the server and reports exactly that LSN, never more.
//!
//! Why one channel of items rather than events plus side channels: the acknowledgement facts must stay ordered
//! with the events they follow. A Committed item after the transaction's events is the whole flush-LSN protocol.

mod catalog;
mod chunk;
mod guard;
mod heartbeat;
pub(crate) mod setup;
mod snapshot;
mod stream;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_core::policy::FailureKind;
use sluice_core::{Lsn, Offsets, TableId};

pub use catalog::{Catalog, CatalogTable};
pub use guard::{slot_health, watch_slot, SlotGuardOptions, SlotHealth};
pub use heartbeat::{run_heartbeat_actions, HeartbeatActions, HEARTBEAT_MESSAGE_PREFIX};
pub use setup::{PublicationMode, SnapshotMode};

use crate::replication::ConnectOptions;

/// Which tables and columns are captured (Debezium's include/exclude lists).
pub trait CaptureFilter: Send + Sync {
    fn table(&self, table: &TableId) -> bool;
    fn column(&self, table: &TableId, column: &str) -> bool;
}

/// Debezium's `skipped.operations`: which streamed operations are dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkippedOperations {
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
}

/// Which captured tables a snapshot reads, and with what (`snapshot.include.collection.list`,
/// `snapshot.select.statement.overrides`). Streaming is not affected: every captured table's changes flow.
#[derive(Clone, Debug, Default)]
pub struct SnapshotSelection {
    /// Anchored regexes of `schema.table`; `None`: every captured table.
    pub tables: Option<Vec<regex::Regex>>,
    /// A table's own SELECT, read in place of the whole table. Its result must have the captured columns by name;
    /// the snapshot reads exactly those from it.
    pub overrides: HashMap<TableId, String>,
}

impl SnapshotSelection {
    pub fn includes(&self, table: &TableId) -> bool {
        let name = table.to_string();
        self.tables.as_ref().is_none_or(|list| list.iter().any(|r| r.is_match(&name)))
    }
}

/// `message.prefix.include.list` / `message.prefix.exclude.list`: which logical decoding messages become events.
#[derive(Clone, Debug, Default)]
pub struct MessagePrefixes {
    /// Anchored regexes; `None`: every prefix.
    pub include: Option<Vec<regex::Regex>>,
    pub exclude: Vec<regex::Regex>,
}

impl MessagePrefixes {
    pub fn emits(&self, prefix: &str) -> bool {
        self.include.as_ref().is_none_or(|list| list.iter().any(|r| r.is_match(prefix)))
            && !self.exclude.iter().any(|r| r.is_match(prefix))
    }
}

/// One entry of `replica.identity.autoset.values`: the captured tables its regex matches get this replica identity
/// at start.
#[derive(Clone, Debug)]
pub struct ReplicaIdentityRule {
    /// Anchored, over `schema.table`.
    pub tables: regex::Regex,
    /// `DEFAULT`, `FULL`, `NOTHING`, or `USING INDEX "<name>"`: the clause after `REPLICA IDENTITY`.
    pub identity: String,
}

/// Everything the source needs to know.
#[derive(Clone)]
pub struct SourceOptions {
    pub connect: ConnectOptions,
    pub slot_name: String,
    pub publication_name: String,
    pub publication_mode: PublicationMode,
    pub snapshot_mode: SnapshotMode,
    pub snapshot_max_threads: usize,
    pub skipped_operations: SkippedOperations,
    pub filter: Arc<dyn CaptureFilter>,
    /// How often a standby status update is sent even when nothing changed (keeps the server from timing out).
    pub status_interval: Duration,
    /// What to do when the slot was invalidated or dropped (`slot.lost.policy`).
    pub lost_slot_policy: LostSlotPolicy,
    pub slot_guard: SlotGuardOptions,
    /// This pipeline's status: the source sets whether it streams and how far the snapshot has got.
    pub status: sluice_core::PipelineStatus,
    /// A chunk closes once the messages or COPY data its items were decoded from reach this many bytes (at least
    /// one item, however large); `usize::MAX` for no byte limit. Split among the snapshot's readers.
    pub chunk_bytes: usize,
    pub snapshot_selection: SnapshotSelection,
    pub message_prefixes: MessagePrefixes,
    /// `slot.drop.on.stop`: drop the slot after a graceful stop.
    pub slot_drop_on_stop: bool,
    /// `slot.stream.params`: more pgoutput options for `START_REPLICATION`, after Sluice's own.
    pub slot_stream_params: Vec<(String, String)>,
    /// `replica.identity.autoset.values`: replica identities set on the captured tables at start.
    pub replica_identity_rules: Vec<ReplicaIdentityRule>,
    /// `publish.via.partition.root`: a partitioned table's changes arrive as its root's, not its partitions'.
    /// `None` (unset): as an existing publication says, else `false`.
    pub publish_via_partition_root: Option<bool>,
    /// `provide.transaction.metadata`: send every transaction's begin and end (`SourceItem::TransactionBegin` /
    /// `TransactionEnd`); off, nothing of them is sent.
    pub transaction_boundaries: bool,
}

/// `slot.lost.policy`: what a slot that was invalidated (`wal_status = lost`) or dropped behind Sluice's back means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LostSlotPolicy {
    /// Stop with the fix: undelivered changes are gone, a person decides.
    #[default]
    Fail,
    /// Drop the slot, create it anew and take a new snapshot.
    Recreate,
}

pub use sluice_core::{ItemChunk, SourceItem};

pub use sluice_core::{ChangeSource, SourceChannels, SourceOutcome};

/// A failure of the source. [`kind`](SourceError::kind) places it in the error policy.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The database is not set up for Sluice; the message says what to change.
    #[error("{message}\n  fix: {fix}")]
    Prerequisite { message: String, fix: String },
    #[error("cannot {action}: {}", crate::error::describe(source))]
    Sql {
        action: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("replication connection: {0}")]
    Replication(#[from] crate::PgError),
    #[error("cannot decode the replication stream at {lsn}: {source}")]
    Decode {
        lsn: Lsn,
        #[source]
        source: crate::pgoutput::DecodeError,
    },
    #[error("cannot read table {table} in the snapshot: {message}")]
    Snapshot { table: TableId, message: String },
    #[error("the server sent a change for relation {oid}, which it never described")]
    UnknownRelation { oid: u32 },
    #[error("the server sent a row change at {lsn} outside a transaction")]
    OutsideTransaction { lsn: Lsn },
    #[error("a row of {table} has {got} values, but its relation has {expected} columns")]
    RowShape { table: TableId, expected: usize, got: usize },
    #[error("the server ended the replication stream")]
    ServerEnded,
    /// Another connection streams from the slot. Transient: during a rolling restart, or right after a previous
    /// pipeline of this process was stopped, the old walsender lets go of the slot a moment later.
    #[error("replication slot `{slot}` is in use by another connection ({detail})\n  fix: if it does not free up, stop the other process streaming from this slot (another Sluice or Debezium), or set a different slot.name")]
    SlotInUse { slot: String, detail: String },
    #[error("replication slot `{slot}` {}\n  fix: {}",
        if *invalidated { "was invalidated (wal_status = lost): the WAL it still needed is gone" } else { "disappeared (it was dropped)" },
        policy.fix(slot))]
    SlotLost { slot: String, invalidated: bool, policy: LostSlotPolicy },
}

impl SourceError {
    pub(crate) fn sql(action: &'static str, source: tokio_postgres::Error) -> Self {
        SourceError::Sql { action, source }
    }

    pub(crate) fn prerequisite(message: impl Into<String>, fix: impl Into<String>) -> Self {
        SourceError::Prerequisite { message: message.into(), fix: fix.into() }
    }

    /// Its kind in the error policy ([`sluice_core::policy`]): a connection fault a retry may cure restarts the
    /// pipeline; everything else needs a person.
    pub fn kind(&self) -> FailureKind {
        match self {
            SourceError::Replication(e) if e.is_transient() => FailureKind::ConnectionLost,
            SourceError::Replication(_) => FailureKind::DatabaseRefused,
            SourceError::Sql { source, .. } if source.is_closed() || source.code().is_none() => {
                FailureKind::ConnectionLost
            }
            SourceError::Sql { .. } => FailureKind::DatabaseRefused,
            SourceError::ServerEnded => FailureKind::ConnectionLost,
            SourceError::SlotInUse { .. } => FailureKind::SlotInUse,
            // Under `recreate`, the restart is the recovery: set-up drops the slot and snapshots again.
            SourceError::SlotLost { policy: LostSlotPolicy::Recreate, .. } => FailureKind::SlotLostRecreate,
            SourceError::SlotLost { .. } => FailureKind::SlotLost,
            SourceError::Prerequisite { .. } => FailureKind::DatabaseSetup,
            SourceError::Snapshot { .. } => FailureKind::DatabaseRefused,
            SourceError::Decode { .. }
            | SourceError::UnknownRelation { .. }
            | SourceError::OutsideTransaction { .. }
            | SourceError::RowShape { .. } => FailureKind::Undecodable,
        }
    }
}

/// The PostgreSQL source: one run of it, with its options.
#[derive(Clone)]
pub struct PostgresSource(pub SourceOptions);

impl ChangeSource for PostgresSource {
    type Error = SourceError;

    /// Prepares the slot and publication, takes the snapshot the mode asks for, then streams until shutdown.
    async fn run(self, resume: Option<Offsets>, channels: SourceChannels) -> Result<SourceOutcome, SourceError> {
        let PostgresSource(options) = self;
        let SourceChannels { items, acknowledged, shutdown } = channels;
        let prepared = setup::prepare(&options, resume.as_ref()).await?;
        let Some(prepared) = snapshot::run_if_planned(&options, prepared, &items).await? else {
            return Ok(SourceOutcome::PipelineGone);
        };
        if options.snapshot_mode == SnapshotMode::InitialOnly {
            // Wait until the pipeline has drained (made the snapshot durable) before reporting success.
            drop(items);
            let mut acknowledged = acknowledged;
            while acknowledged.changed().await.is_ok() {}
            return Ok(SourceOutcome::SnapshotOnly);
        }
        let outcome = stream::run(&options, prepared, items, acknowledged, shutdown).await?;
        if outcome == SourceOutcome::Stopped && options.slot_drop_on_stop {
            setup::drop_slot_after_stop(&options).await;
        }
        Ok(outcome)
    }
}
