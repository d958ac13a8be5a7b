//! What a source hands the delivery loop, and the contract a source keeps.
//!
//! A source (today PostgreSQL's; a MySQL one would keep the same contract) implements [`ChangeSource`]: it runs as a
//! task of its own and sends [`ItemChunk`]s over a bounded channel to the delivery loop ([`SourceChannels`]). The
//! contract:
//!
//! - **Order.** Items are sent in the order the database committed them; within a transaction, in change order.
//!   Every event carries its [`Position`](crate::Position), unique and increasing.
//! - **Acknowledgement points.** [`SourceItem::Committed`] follows a transaction's last event and
//!   [`SourceItem::Idle`] says nothing is pending up to an LSN. The delivery loop publishes the newest such LSN whose
//!   every earlier item is durable; the source may confirm exactly that to the database, nothing further.
//! - **Resume.** A source starts from what the database kept for it (the slot's confirmed position) and from the
//!   [`Offsets`](crate::Offsets) the loop loaded; it may send again events at or before the acknowledged position
//!   (the loop skips or repeats them: at least once), never skip one after it.
//! - **Back-pressure.** When the channel is full the source stops reading, but keeps its connection alive (answers
//!   the database's keepalives) and keeps confirming what the loop acknowledges, so a slow sink never times the
//!   source out.
//! - **Bounded memory.** A chunk holds a bounded number of items and bytes (at least one item, however large); a
//!   transaction or table of any size flows through in many chunks.
//! - **Snapshots.** [`SourceItem::SnapshotStarted`] comes before the first snapshot row,
//!   [`SourceItem::SnapshotTableDone`] after each table's last row, [`SourceItem::SnapshotDone`] after the last table,
//!   so an interrupted snapshot resumes table by table.
//! - **Transaction boundaries.** Only when asked (`provide.transaction.metadata`), a source sends
//!   [`SourceItem::TransactionBegin`] before a transaction's first event and [`SourceItem::TransactionEnd`] after its
//!   last, before its `Committed`, for every transaction the database sends, captured events or not; a transaction
//!   replayed after a restart is sent again from its begin.

use std::future::Future;

use tokio::sync::{mpsc, watch};

use crate::{ChangeEvent, Lsn, Offsets, SnapshotProgress, TableId};

/// One end of a transaction, as the database marked it: what Debezium's transaction metadata records say of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionBoundary {
    /// The transaction id (PostgreSQL's xid), as the events' `source.txId` has it.
    pub tx_id: u64,
    /// The commit LSN that the positions of the transaction's events carry: which transaction this is.
    pub commit_lsn: Lsn,
    /// The WAL position of the boundary message itself (PostgreSQL: where the server placed its Begin or Commit
    /// message), which Debezium puts in the record's id.
    pub lsn: Lsn,
    /// When the transaction committed, in microseconds since the epoch.
    pub ts_us: i64,
}

/// One item on the source's channel.
#[derive(Debug)]
pub enum SourceItem {
    Event(ChangeEvent),
    /// A transaction begins (only when the source was asked for transaction boundaries).
    TransactionBegin(TransactionBoundary),
    /// A transaction's last event has been sent (only when asked for boundaries); its `Committed` follows.
    TransactionEnd(TransactionBoundary),
    /// A transaction ended; once everything before this item is durable, `end_lsn` may be confirmed.
    Committed {
        end_lsn: Lsn,
    },
    /// The server has nothing pending up to `lsn` (a keepalive between transactions).
    Idle {
        lsn: Lsn,
    },
    /// A snapshot begins: record its progress from here on.
    SnapshotStarted(SnapshotProgress),
    /// Every row of this table has been sent.
    SnapshotTableDone(TableId),
    /// Every table has been sent.
    SnapshotDone,
}

/// A chunk of items: the unit of the channel, so that per-item channel overhead is paid once per chunk. Closed at a
/// count or a byte bound (`max.queue.size.in.bytes`), whichever comes first, and never empty.
pub type ItemChunk = Vec<SourceItem>;

/// Follows what the delivery loop delivers: told of every event as its batch is built and, once that batch is
/// durable at the sink, of the flush LSN the loop then publishes. An event is acknowledged exactly when
/// `acknowledged` is called after it; a batch that fails is never acknowledged, and the run ends or writes it again.
/// The outbox cleaner's feed is one; `sluice verify` and a console will be others.
pub trait AcknowledgementObserver: Send {
    /// An event joined the batch being built (not durable yet).
    fn event(&mut self, event: &ChangeEvent);
    /// Every event seen so far is durable; `flush` is the LSN confirmable to the source now.
    fn acknowledged(&mut self, flush: Lsn);
}

/// The delivery loop's side of a source's run.
#[derive(Debug)]
pub struct SourceChannels {
    /// Where the source sends its chunks, in commit order. Bounded: a full channel is back-pressure, and a closed one
    /// means the delivery loop is gone (it reports its own error), so the source ends with
    /// [`SourceOutcome::PipelineGone`].
    pub items: mpsc::Sender<ItemChunk>,
    /// The newest LSN whose every earlier item is durable at the sink: the most the source may confirm to the
    /// database.
    pub acknowledged: watch::Receiver<Lsn>,
    /// Becomes `true` when the run is to stop; the source then confirms what is acknowledged and returns
    /// [`SourceOutcome::Stopped`].
    pub shutdown: watch::Receiver<bool>,
}

/// How a source's run ended, when it ended without an error.
#[derive(Debug, PartialEq, Eq)]
pub enum SourceOutcome {
    /// Asked to stop; everything the pipeline acknowledged was confirmed.
    Stopped,
    /// The source was asked for a snapshot only (`snapshot.mode=initial_only`): the snapshot is durable and
    /// streaming is not wanted.
    SnapshotOnly,
    /// The pipeline stopped taking items (it failed and reports its own error).
    PipelineGone,
}

/// A source of change events, keeping the contract of this module: order, acknowledgement points, resume, the
/// keepalive duty while back-pressured, bounded chunks and snapshot markers.
///
/// One value is one run: the engine's supervisor makes a new one for every restart, so a run starts from durable
/// state only (what the database kept and the `resume` offsets), exactly as after a crash.
pub trait ChangeSource: Send {
    /// A failure of the run; the caller places it in the error policy ([`crate::policy`]).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Runs until shutdown, the end of a snapshot-only run, the pipeline going away, or a failure. `resume` is what
    /// the offset store held for this pipeline (`None`: nothing yet).
    fn run(
        self,
        resume: Option<Offsets>,
        channels: SourceChannels,
    ) -> impl Future<Output = Result<SourceOutcome, Self::Error>> + Send;
}
