//! The outbox cleaner (opt-in): deletes outbox rows once their events are acknowledged by the sink.
//!
//! An outbox table grows with every event. Deleting rows in the producing transaction is the simplest cure, but
//! some teams keep each row until its event is safely out — the row is then what a re-snapshot (after a lost
//! slot), an audit or a manual replay reads. A cleaner must therefore never delete ahead of delivery. So it is fed
//! only by the pipeline, and only with the event ids of batches the sink has already acknowledged: a row is never
//! deleted before its event is durable at the destination.
//!
//! Deletes run on an ordinary connection in bounded batches (`DELETE … WHERE id = ANY($1)` of at most
//! `outbox.cleanup.batch.size` ids, in the id column's own type so its index is used). The pipeline hands over ids
//! only once the flush LSN it may confirm has passed their transaction. A failed delete is logged and retried on the
//! next round. After a crash, the rows of a transaction the flush LSN had not passed come back: the source sends the
//! whole transaction again, and the pipeline tells this feed of the events it had already delivered too. Ids of
//! confirmed transactions whose delete had not run yet are not known any more: those few rows (at most what was
//! confirmed in the last interval) stay, and are left to a periodic `DELETE … WHERE timestamp < …` — never the other
//! way round.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::replication::{connect_sql, ConnectOptions};
use crate::source::setup::{quote_ident, quote_table};
use sluice_core::{AcknowledgementObserver, ChangeEvent, Lsn, Op, TableId};

/// `debezium.source.outbox.cleanup.*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxCleanup {
    pub table: TableId,
    /// The event id column (the router's `table.field.event.id`).
    pub id_column: String,
    pub interval: Duration,
    pub batch_size: usize,
}

/// The cleaner's feed, an observer of the delivery loop: it notes the id of every inserted (or snapshot-read) row
/// of the outbox table, and hands the cleaner those whose transaction the flush LSN has passed — no row is deleted
/// before its whole transaction is delivered and may be confirmed to PostgreSQL. The channel is unbounded so the
/// delivery loop never waits for the cleaner; the cleaner drains it continuously and bounds what it keeps.
pub struct OutboxFeed {
    table: TableId,
    id_column: String,
    /// Ids in the batch being built, with their transaction's commit LSN (zero for snapshot rows).
    batch: Vec<(Lsn, String)>,
    /// Delivered rows whose transaction the flush LSN has not passed yet, in commit order.
    waiting: std::collections::VecDeque<(Lsn, String)>,
    acknowledged: mpsc::UnboundedSender<Vec<String>>,
}

impl OutboxFeed {
    /// A feed for `cleanup`'s table; the cleaner reads the other end of `acknowledged`.
    pub fn new(cleanup: &OutboxCleanup, acknowledged: mpsc::UnboundedSender<Vec<String>>) -> Self {
        OutboxFeed {
            table: cleanup.table.clone(),
            id_column: cleanup.id_column.clone(),
            batch: Vec::new(),
            waiting: Default::default(),
            acknowledged,
        }
    }
}

impl AcknowledgementObserver for OutboxFeed {
    fn event(&mut self, event: &ChangeEvent) {
        let commit = match event.op {
            Op::Create => event.source.position.commit_lsn,
            Op::Read => Lsn::ZERO,
            _ => return,
        };
        let Some(table) = event.table.as_ref().filter(|t| t.id == self.table) else { return };
        let Some(column) = table.columns.iter().position(|c| c.name == self.id_column) else { return };
        if let Some(text) = event.after.as_ref().and_then(|row| row.get(column)).and_then(|d| d.as_bytes()) {
            self.batch.push((commit, String::from_utf8_lossy(text).into_owned()));
        }
    }

    fn acknowledged(&mut self, flush: Lsn) {
        self.waiting.extend(self.batch.drain(..));
        // Snapshot rows (zero) and rows of transactions that committed before the flush LSN.
        let mut ids = Vec::new();
        while self.waiting.front().is_some_and(|(commit, _)| *commit == Lsn::ZERO || *commit < flush) {
            ids.extend(self.waiting.pop_front().map(|(_, id)| id));
        }
        if !ids.is_empty() {
            // The cleaner is gone only when Sluice is stopping; its rows then simply stay.
            let _ = self.acknowledged.send(ids);
        }
    }
}

/// At most this many acknowledged ids wait for deletion; past it, the oldest are dropped with a warning (their
/// rows stay — safe, never a lost event).
const MAX_PENDING: usize = 1_000_000;

/// Deletes the rows whose ids arrive on `acknowledged` until the channel closes, then deletes what is left.
pub async fn run_outbox_cleaner(
    connect: ConnectOptions,
    cleanup: OutboxCleanup,
    mut acknowledged: mpsc::UnboundedReceiver<Vec<String>>,
) {
    let mut sql: Option<String> = None;
    let mut pending: Vec<String> = Vec::new();
    let mut client: Option<tokio_postgres::Client> = None;
    let mut tick = tokio::time::interval(cleanup.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut open = true;
    while open || !pending.is_empty() {
        tokio::select! {
            ids = acknowledged.recv(), if open => match ids {
                Some(ids) => {
                    pending.extend(ids);
                    if pending.len() > MAX_PENDING {
                        let dropped = pending.len() - MAX_PENDING;
                        pending.drain(..dropped);
                        tracing::warn!(dropped, "outbox cleaner: too many rows waiting for deletion; their rows stay in the table");
                    }
                    continue;
                }
                None => open = false,
            },
            _ = tick.tick() => {}
        }
        if pending.is_empty() {
            continue;
        }
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            client = match connect_sql(&connect).await {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "outbox cleaner: cannot connect; trying again");
                    if !open {
                        return;
                    }
                    continue;
                }
            };
        }
        let Some(c) = client.as_ref() else { continue };
        if sql.is_none() {
            sql = Some(delete_sql(c, &cleanup).await);
        }
        let Some(sql) = sql.as_deref() else { continue };
        while !pending.is_empty() {
            let n = pending.len().min(cleanup.batch_size);
            match c.execute(sql, &[&&pending[..n]]).await {
                Ok(deleted) => {
                    tracing::debug!(deleted, "outbox cleaner: deleted delivered outbox rows");
                    metrics::counter!("sluice_outbox_rows_deleted_total").increment(deleted);
                    pending.drain(..n);
                }
                Err(e) => {
                    tracing::warn!(error = %crate::error::describe(&e), table = %cleanup.table, "outbox cleaner: delete failed; trying again");
                    if !open {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// The DELETE, comparing in the id column's own type so the primary key's index finds the rows (a `::text`
/// comparison would scan the table for every batch).
async fn delete_sql(client: &tokio_postgres::Client, cleanup: &OutboxCleanup) -> String {
    let table = quote_table(&cleanup.table);
    let column = quote_ident(&cleanup.id_column);
    let column_type: Option<String> = client
        .query_opt(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
              WHERE attrelid = $1::text::regclass AND attname = $2 AND NOT attisdropped",
            &[&table, &cleanup.id_column],
        )
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0));
    match column_type {
        Some(t) => format!("DELETE FROM {table} WHERE {column} = ANY($1::text[]::{t}[])"),
        None => {
            tracing::warn!(table = %cleanup.table, column = %cleanup.id_column,
                "outbox cleaner: cannot read the id column's type; deleting by its text form (slower)");
            format!("DELETE FROM {table} WHERE {column}::text = ANY($1::text[])")
        }
    }
}
