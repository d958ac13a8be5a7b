//! Streaming: pgoutput messages in, [`SourceItem`]s out, and standby status updates back to the server.
//!
//! Three things make this loop more than "read, decode, send":
//!
//! - **Back-pressure without timeouts.** When the pipeline's channel is full the loop stops reading the socket
//!   (so memory stays bounded) but keeps sending status updates on its timer, so the server's
//!   `wal_sender_timeout` never fires while a slow sink catches up.
//! - **Positions.** pgoutput's Begin carries the commit LSN of the transaction, so every change gets its final
//!   position `(commit LSN, ordinal)` as it arrives and nothing is buffered per transaction: a transaction of a
//!   million rows flows through in chunks. The ordinal counts every change the server sends, captured or not, so it
//!   is the same on every replay of the transaction — which is what lets the delivery loop, after a restart, skip
//!   exactly the events at or before the acknowledged position.
//! - **Batching.** One socket read brings many frames; all complete frames already buffered are decoded into one
//!   chunk before the chunk is handed over, so the channel is crossed once per read, not once per row. A chunk
//!   closes early at its count or byte bound (`chunk`), so large values do not pile up in one.
//!
//! Under `provide.transaction.metadata` every Begin and Commit the server sends also becomes a
//! [`SourceItem::TransactionBegin`] / [`SourceItem::TransactionEnd`], with the WAL position of the message, as
//! Debezium's PostgreSQL connector turns every Begin and Commit into its BEGIN and END records; the delivery loop
//! makes the records, in order with the events and acknowledged with them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_core::{
    ChangeEvent, Datum, Lsn, Op, Position, SnapshotMarker, SourceInfo, TableId, TableSchema, TransactionBoundary, Tuple,
};
use tokio::sync::{mpsc, watch};

use crate::pgoutput::{self, PgOutputMessage};
use crate::replication::ReplicationMessage;
use crate::source::chunk::ChunkBuilder;
use crate::source::setup::Prepared;
use crate::source::{Catalog, ItemChunk, SourceError, SourceItem, SourceOptions, SourceOutcome};

/// Status updates are sent at least this often when the confirmed position moved (or at the configured status
/// interval, when that is shorter).
const STATUS_EAGER: Duration = Duration::from_secs(1);

/// A relation as the stream described it.
struct StreamRelation {
    /// `None` when the filters do not capture the table.
    schema: Option<Arc<TableSchema>>,
    /// Indexes of the captured columns when some are excluded.
    projection: Option<Vec<usize>>,
    columns: usize,
}

struct Transaction {
    commit_lsn: Lsn,
    xid: u32,
    ts_us: i64,
    next_ordinal: u64,
}

impl Transaction {
    /// The transaction's boundary at the message at `lsn` (its Begin or Commit).
    fn boundary(&self, lsn: Lsn) -> TransactionBoundary {
        TransactionBoundary { tx_id: u64::from(self.xid), commit_lsn: self.commit_lsn, lsn, ts_us: self.ts_us }
    }
}

struct Decoder<'a> {
    options: &'a SourceOptions,
    catalog: Catalog,
    relations: HashMap<u32, StreamRelation>,
    tx: Option<Transaction>,
    chunk: ChunkBuilder,
}

pub(crate) async fn run(
    options: &SourceOptions,
    prepared: Prepared,
    items: mpsc::Sender<ItemChunk>,
    mut flush: watch::Receiver<Lsn>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SourceOutcome, SourceError> {
    let Prepared { repl, catalog, start_lsn, .. } = prepared;
    let publication = format!("\"{}\"", options.publication_name.replace('"', "\"\""));
    let mut plugin_options =
        vec![("proto_version", "1"), ("publication_names", publication.as_str()), ("messages", "true")];
    plugin_options.extend(options.slot_stream_params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let stream = repl.start_replication(&options.slot_name, start_lsn, &plugin_options).await.map_err(|e| {
        match e.sqlstate() {
            Some("55006") => SourceError::SlotInUse { slot: options.slot_name.clone(), detail: e.to_string() },
            _ => SourceError::Replication(e),
        }
    })?;
    tracing::info!(slot = %options.slot_name, from = %start_lsn, "streaming started");
    let _connected = Connected::set(&options.status);
    let (mut reader, mut status) = stream.split();
    let mut decoder = Decoder {
        options,
        catalog,
        relations: HashMap::new(),
        tx: None,
        chunk: ChunkBuilder::new(options.chunk_bytes),
    };
    let mut confirmed = (*flush.borrow_and_update()).max(start_lsn);
    let mut reported = Lsn::ZERO;
    let mut last_status = Instant::now();
    let eager = STATUS_EAGER.min(options.status_interval);
    let mut tick = tokio::time::interval(eager);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending: Option<ItemChunk> = None;
    let mut reply_requested = false;

    let outcome = loop {
        if reply_requested {
            status.send_status(confirmed, confirmed, confirmed, false).await?;
            reported = confirmed;
            last_status = Instant::now();
            reply_requested = false;
        }
        tokio::select! {
            biased;
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break SourceOutcome::Stopped;
                }
            }
            changed = flush.changed() => {
                if changed.is_err() {
                    return Ok(SourceOutcome::PipelineGone);
                }
                confirmed = confirmed.max(*flush.borrow_and_update());
            }
            _ = tick.tick() => {
                // While back-pressure keeps the loop from reading, the server's keepalive requests go unseen:
                // report at least every second then, whatever status.update.interval.ms says, so a short
                // wal_sender_timeout never ends the connection.
                let stalled = pending.is_some() && last_status.elapsed() >= eager.min(STATUS_EAGER);
                let due = stalled || last_status.elapsed() >= options.status_interval;
                if due || (confirmed != reported && last_status.elapsed() >= eager) {
                    status.send_status(confirmed, confirmed, confirmed, false).await?;
                    reported = confirmed;
                    last_status = Instant::now();
                }
            }
            permit = items.reserve(), if pending.is_some() => match permit {
                Ok(permit) => permit.send(pending.take().expect("guarded by is_some")),
                Err(_) => return Ok(SourceOutcome::PipelineGone),
            },
            message = reader.next(), if pending.is_none() => {
                let Some(message) = message? else { return Err(SourceError::ServerEnded) };
                reply_requested |= decoder.handle(message).await?;
                while !decoder.chunk.is_full() {
                    match reader.next_buffered()? {
                        Some(message) => reply_requested |= decoder.handle(message).await?,
                        None => break,
                    }
                }
                if !decoder.chunk.is_empty() {
                    pending = Some(decoder.chunk.take());
                }
            }
        }
    };

    // Graceful stop: hand over what was read, let the pipeline drain and acknowledge, confirm that, and end.
    for chunk in [pending.take(), Some(decoder.chunk.take())].into_iter().flatten() {
        if !chunk.is_empty() && items.send(chunk).await.is_err() {
            break;
        }
    }
    drop(items);
    loop {
        tokio::select! {
            changed = flush.changed() => {
                if changed.is_err() { break; }
                confirmed = confirmed.max(*flush.borrow_and_update());
            }
            _ = tick.tick() => {
                status.send_status(confirmed, confirmed, confirmed, false).await?;
            }
        }
    }
    status.send_status(confirmed, confirmed, confirmed, false).await?;
    tracing::info!(confirmed = %confirmed, "confirmed to the server; stream closed");
    status.finish().await?;
    Ok(outcome)
}

/// `sluice_connected` and the pipeline's streaming status are set exactly while the replication stream is open:
/// also when the stream ends by an error.
struct Connected(sluice_core::PipelineStatus);

impl Connected {
    fn set(status: &sluice_core::PipelineStatus) -> Connected {
        metrics::gauge!("sluice_connected").set(1.0);
        status.set_streaming(true);
        Connected(status.clone())
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        metrics::gauge!("sluice_connected").set(0.0);
        self.0.set_streaming(false);
    }
}

impl Decoder<'_> {
    /// Handles one replication message; returns whether the server asked for an immediate status reply.
    async fn handle(&mut self, message: ReplicationMessage) -> Result<bool, SourceError> {
        match message {
            ReplicationMessage::Keepalive { wal_end, reply_requested, .. } => {
                if self.tx.is_none() {
                    self.push_watermark(SourceItem::Idle { lsn: wal_end });
                }
                Ok(reply_requested)
            }
            ReplicationMessage::XLogData { wal_start, data, .. } => {
                self.chunk.count_bytes(data.len());
                let message =
                    pgoutput::decode(&data).map_err(|source| SourceError::Decode { lsn: wal_start, source })?;
                self.apply(wal_start, message).await?;
                Ok(false)
            }
        }
    }

    /// Pushes a Committed or Idle item, replacing a directly preceding one: only the newest matters.
    fn push_watermark(&mut self, item: SourceItem) {
        if matches!(self.chunk.items.last(), Some(SourceItem::Committed { .. } | SourceItem::Idle { .. })) {
            self.chunk.items.pop();
        }
        self.chunk.push(item);
    }

    async fn apply(&mut self, lsn: Lsn, message: PgOutputMessage) -> Result<(), SourceError> {
        match message {
            PgOutputMessage::Begin(b) => {
                let tx = Transaction {
                    commit_lsn: b.final_lsn,
                    xid: b.xid,
                    ts_us: pgoutput::pg_time_to_unix_micros(b.commit_time),
                    next_ordinal: 0,
                };
                if self.options.transaction_boundaries {
                    self.chunk.push(SourceItem::TransactionBegin(tx.boundary(lsn)));
                }
                self.tx = Some(tx);
            }
            PgOutputMessage::Commit(c) => {
                if let Some(tx) = self.tx.take().filter(|_| self.options.transaction_boundaries) {
                    self.chunk.push(SourceItem::TransactionEnd(tx.boundary(lsn)));
                }
                self.push_watermark(SourceItem::Committed { end_lsn: c.end_lsn });
            }
            PgOutputMessage::Origin(_) => {}
            PgOutputMessage::Type(t) => self.catalog.type_changed(&t),
            // A Relation precedes a relation's first change after any change to its shape: the new version
            // replaces the cached one, and the events after it refer to it.
            PgOutputMessage::Relation(r) => {
                let id = TableId::new(r.namespace.clone(), r.name.clone());
                let keep: Vec<usize> =
                    (0..r.columns.len()).filter(|&i| self.options.filter.column(&id, &r.columns[i].name)).collect();
                let schema = if self.options.filter.table(&id) {
                    Some(Arc::new(self.catalog.relation_schema(&r, self.options.filter.as_ref()).await?))
                } else {
                    None
                };
                let columns = r.columns.len();
                let projection = (keep.len() != columns).then_some(keep);
                self.relations.insert(r.oid, StreamRelation { schema, projection, columns });
            }
            PgOutputMessage::Insert(i) => {
                let skip = self.options.skipped_operations.create;
                self.row_event(lsn, i.relation_oid, Op::Create, None, Some(i.new), skip)?;
            }
            PgOutputMessage::Update(u) => {
                let skip = self.options.skipped_operations.update;
                self.row_event(lsn, u.relation_oid, Op::Update, u.old.map(|(_, t)| t), Some(u.new), skip)?;
            }
            PgOutputMessage::Delete(d) => {
                let skip = self.options.skipped_operations.delete;
                self.row_event(lsn, d.relation_oid, Op::Delete, Some(d.old), None, skip)?;
            }
            PgOutputMessage::Truncate(t) => {
                let skip = self.options.skipped_operations.truncate;
                for oid in t.relation_oids {
                    self.row_event(lsn, oid, Op::Truncate, None, None, skip)?;
                }
            }
            // Sluice's own heartbeat messages move the slot and are not events.
            PgOutputMessage::Message(m) if m.prefix == super::HEARTBEAT_MESSAGE_PREFIX => {}
            PgOutputMessage::Message(m) => {
                let (position, tx_id, ts_us) = match (&mut self.tx, m.transactional) {
                    (Some(tx), true) => {
                        let ordinal = tx.next_ordinal;
                        tx.next_ordinal += 1;
                        (Position::new(tx.commit_lsn, ordinal), Some(u64::from(tx.xid)), tx.ts_us)
                    }
                    _ => (Position::new(m.lsn, 0), None, sluice_core::unix_micros()),
                };
                // After the ordinal is taken, so the positions of later changes do not depend on this filter.
                if !self.options.message_prefixes.emits(&m.prefix) {
                    return Ok(());
                }
                self.chunk.push(SourceItem::Event(ChangeEvent {
                    op: Op::Message,
                    table: None,
                    before: None,
                    after: None,
                    message: Some(sluice_core::LogicalMessage {
                        transactional: m.transactional,
                        prefix: m.prefix,
                        content: m.content,
                    }),
                    source: SourceInfo { position, lsn: m.lsn, tx_id, ts_us, snapshot: SnapshotMarker::False },
                }));
            }
        }
        Ok(())
    }

    fn row_event(
        &mut self,
        lsn: Lsn,
        oid: u32,
        op: Op,
        before: Option<Tuple>,
        after: Option<Tuple>,
        skipped_operation: bool,
    ) -> Result<(), SourceError> {
        let tx = self.tx.as_mut().ok_or(SourceError::OutsideTransaction { lsn })?;
        let ordinal = tx.next_ordinal;
        tx.next_ordinal += 1;
        let position = Position::new(tx.commit_lsn, ordinal);
        let (tx_id, ts_us) = (tx.xid, tx.ts_us);
        let relation = self.relations.get(&oid).ok_or(SourceError::UnknownRelation { oid })?;
        let Some(schema) = &relation.schema else { return Ok(()) };
        if skipped_operation {
            return Ok(());
        }
        let project = |t: Tuple| -> Result<Tuple, SourceError> {
            if t.len() != relation.columns {
                return Err(SourceError::RowShape {
                    table: schema.id.clone(),
                    expected: relation.columns,
                    got: t.len(),
                });
            }
            Ok(match &relation.projection {
                None => t,
                Some(keep) => {
                    let mut t = t;
                    keep.iter().map(|&i| std::mem::replace(&mut t[i], Datum::Null)).collect()
                }
            })
        };
        let before = before.map(project).transpose()?;
        let after = after.map(project).transpose()?;
        self.chunk.push(SourceItem::Event(ChangeEvent {
            op,
            table: Some(schema.clone()),
            before,
            after,
            message: None,
            source: SourceInfo { position, lsn, tx_id: Some(u64::from(tx_id)), ts_us, snapshot: SnapshotMarker::False },
        }));
        Ok(())
    }
}
