//! The pipeline: source items in, encoded records to the sink, acknowledged positions out.
//!
//! It is the one place where the delivery contract (DESIGN §2) is enforced:
//!
//! - the sink writes a batch and returns only when it is durable; nothing is confirmed before that;
//! - the LSN published for the source to confirm is the end of the last transaction whose every event — and every
//!   earlier one — is in an acknowledged batch (a [`SourceItem::Committed`] seen inside an acknowledged batch), or
//!   an idle keepalive position seen between transactions. Batches are written strictly in order, so the
//!   acknowledged items are always a contiguous prefix of the stream;
//! - the offset store records the last acknowledged event's position, the flush LSN and the snapshot's progress,
//!   so a restart resumes an interrupted snapshot and skips what was delivered inside a half-acknowledged
//!   transaction (the source sends that transaction again from its start; the loop writes only what follows the
//!   stored position, and tells its observers of the rest, so the outbox cleaner still learns of every row); the flush LSN is published only once the store holds it, so the slot is never confirmed past what
//!   the offsets say (`offset.flush.interval.ms` delays both alike).
//!
//! A batch is bounded by count and by bytes: it closes once its encoded records reach `max_batch_bytes`
//! (`max.queue.size.in.bytes`, see app.rs), checked after each chunk from the source, and it is written in parts that
//! keep to both bounds, so a sink's own copy of a write (the file sink renders it whole) is bounded too. A record
//! larger than the budget is written alone. The bytes are one addition per record.
//!
//! Retriable sink failures are retried with back-off while the source waits (its channel fills up); anything
//! else stops the pipeline with the sink's error and nothing more acknowledged. A store that cannot be reached (the
//! Kafka offsets topic's brokers) is retried the same way: the batch is delivered, but until its offsets are stored
//! nothing more is read and nothing is confirmed.
//!
//! Transaction metadata (`provide.transaction.metadata`): the source's [`SourceItem::TransactionBegin`] and
//! [`SourceItem::TransactionEnd`] become BEGIN and END records in the batch, in stream order, so they are written and
//! acknowledged with the events around them, and the encoder counts the transaction's events between them. After a
//! restart the source sends an interrupted transaction again from its Begin: the events an earlier run delivered are
//! not written again but still counted (encoded into a scratch buffer, so they count exactly as they did), and the
//! BEGIN is not written again when the stored position shows it was delivered (it precedes a delivered event), nor
//! an END that precedes one. What cannot be told apart is repeated, never lost: an END written just before a crash,
//! and a BEGIN whose transaction had no delivered event yet, come again (as Debezium's may).
//!
//! An event that cannot be encoded would stop the pipeline on every restart, since it is delivered again each
//! time, and nothing behind it would ever be delivered. `event.processing.failure.handling.mode` decides: `fail`
//! (the default) stops with an error naming the table, the position and the column, so the operator can act;
//! `warn` and `skip` leave the event out, log it, and count it (`sluice_events_skipped_total`), and its position is
//! acknowledged in order like any other, so the stream moves on.

use std::time::{Duration, Instant};

use sluice_core::policy::FailureKind;
use sluice_core::{
    AcknowledgementObserver, ItemChunk, Lsn, OffsetStore, Offsets, Op, Payload, Position, Record, Sink, SinkError,
    SourceItem, TableId,
};
use sluice_format::outbox::RouterError;
use sluice_format::transform::Transforms;
use sluice_format::{EncodeError, Encoder, FailureHandlingMode};
use tokio::sync::{mpsc, watch};

/// At most this many records go into one sink write (tests lower it with `SLUICE_TEST_MAX_BATCH`).
const MAX_BATCH_RECORDS: usize = 1024;
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// How often a wait for the sink's destination looks whether the source has gone (shutdown).
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// Why the pipeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("cannot encode the event at {position}{table}: {source}; set event.processing.failure.handling.mode=warn or skip to leave such events out")]
    Encode {
        position: Position,
        /// ` of <schema>.<table>`, or empty for an event without a table.
        table: String,
        source: Box<EncodeError>,
    },
    #[error("cannot encode the snapshot's tables: {0}; set event.processing.failure.handling.mode=warn or skip to leave the second table's events out")]
    Topics(Box<EncodeError>),
    #[error(transparent)]
    Offsets(#[from] sluice_core::OffsetError),
    #[error("transform: {0}")]
    Transform(#[from] RouterError),
}

/// Counts for the closing log line.
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub events: u64,
    pub records: u64,
}

/// What one batch acknowledges once written.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    /// What the records hold ([`record_bytes`]).
    bytes: usize,
    last_position: Option<Position>,
    watermark: Option<Lsn>,
    tables_done: Vec<TableId>,
    snapshot_done: bool,
    /// The snapshot's progress changed in a way that must be saved before anything else happens.
    snapshot_changed: bool,
    /// Events per operation (indexed by [`op_index`]), counted into metrics once the batch is acknowledged.
    ops: [u64; OPS.len()],
    /// The commit time (µs since the epoch) of the batch's last streamed event: its latency once acknowledged.
    last_commit_us: Option<i64>,
    /// The transaction id of the batch's last streamed event, for the offsets.
    last_tx_id: Option<u64>,
    /// Events left out because they could not be encoded (`event.processing.failure.handling.mode`).
    skipped: u64,
}

/// The bytes a record holds of its own: key and value. A schema shared by a table's records (`JsonWithSchema`) is
/// not counted, so schemas do not shrink batches of ordinary rows.
fn record_bytes(record: &Record) -> usize {
    let payload = |p: &Option<Payload>| match p {
        None => 0,
        Some(Payload::Json(b) | Payload::Binary(b) | Payload::JsonWithSchema { payload: b, .. }) => b.len(),
        Some(Payload::String(s)) => s.len(),
    };
    payload(&record.key) + payload(&record.value)
}

/// Splits records into consecutive sink writes of at most `max_records` records, each closed once it reaches
/// `max_bytes` ([`record_bytes`]); a write holds at least one record, so a record larger than the budget goes alone.
fn writes(records: &[Record], max_records: usize, max_bytes: usize) -> impl Iterator<Item = &[Record]> {
    let mut rest = records;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut end = 0;
        while end < rest.len().min(max_records) && (end == 0 || bytes < max_bytes) {
            bytes += record_bytes(&rest[end]);
            end += 1;
        }
        let (part, tail) = rest.split_at(end);
        rest = tail;
        Some(part)
    })
}

/// The operations, in the order of `Batch::ops`.
const OPS: [Op; 6] = [Op::Create, Op::Update, Op::Delete, Op::Read, Op::Truncate, Op::Message];

fn op_index(op: Op) -> usize {
    OPS.iter().position(|o| *o == op).unwrap_or(0)
}

/// What an acknowledged batch tells the metrics (docs/metrics.md) and the pipeline's status: counted per batch, not
/// per event, so the hot path does no registry look-ups.
fn record_acknowledged(batch: &mut Batch, status: &sluice_core::PipelineStatus) {
    if batch.skipped > 0 {
        let skipped = std::mem::take(&mut batch.skipped);
        metrics::counter!("sluice_events_skipped_total").increment(skipped);
        status.events_skipped(skipped);
    }
    for (op, count) in OPS.iter().zip(batch.ops.iter_mut()) {
        if *count > 0 {
            metrics::counter!("sluice_events_total", "op" => op.code()).increment(*count);
            if *op == Op::Read {
                metrics::counter!("sluice_snapshot_rows_total").increment(*count);
            }
            *count = 0;
        }
    }
    if let Some(commit_us) = batch.last_commit_us.take() {
        let now_us = sluice_core::unix_micros();
        let behind = (now_us - commit_us).max(0) as f64;
        status.event_acknowledged(now_us);
        metrics::histogram!("sluice_commit_to_acknowledged_seconds").record(behind / 1e6);
        metrics::gauge!("sluice_behind_source_milliseconds").set(behind / 1e3);
        metrics::gauge!("sluice_last_event_timestamp_seconds").set(now_us as f64 / 1e6);
    }
}

/// Crash-test hooks, read once from the environment. They exist so the suite can kill Sluice at exact points
/// (DESIGN §6); nothing sets them in production.
#[derive(Debug, Default)]
struct TestHooks {
    /// `SLUICE_TEST_MAX_BATCH`: a smaller batch, so one transaction spans several sink writes.
    max_batch: Option<usize>,
    /// `SLUICE_TEST_CRASH_AFTER_WRITES=N`: abort right after the N-th sink write returned, before anything of it is
    /// acknowledged — the "between sink write and ack" crash point.
    crash_after_writes: Option<u64>,
}

impl TestHooks {
    fn from_env() -> Self {
        let num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
        TestHooks {
            max_batch: num("SLUICE_TEST_MAX_BATCH").map(|n: u64| n as usize),
            crash_after_writes: num("SLUICE_TEST_CRASH_AFTER_WRITES"),
        }
    }
}

pub struct Pipeline<S: Sink> {
    hooks: TestHooks,
    max_batch: usize,
    /// A batch closes once its records hold this many bytes; `usize::MAX` for no byte limit.
    max_batch_bytes: usize,
    writes: u64,
    encoder: Encoder,
    sink: S,
    store: Box<dyn OffsetStore>,
    offsets: Offsets,
    /// The acknowledged position this run started from, until the source has sent past it: streamed events at or
    /// before it were delivered by an earlier run and are not written again.
    delivered_through: Option<Position>,
    /// The flush LSN this run started from: a transaction that committed before it was delivered whole, its END too.
    delivered_committed: Option<Lsn>,
    /// Where events delivered by an earlier run are encoded again, and dropped, so transaction metadata counts them.
    recount: Vec<Record>,
    flush_interval: Duration,
    last_save: Instant,
    dirty: bool,
    stats: PipelineStats,
    /// `heartbeat.interval.ms` and the heartbeat topic's prefix, when heartbeats are on.
    heartbeat: Option<(Duration, String)>,
    /// `debezium.transforms`: run on each event before the encoder; empty by default.
    transforms: Option<Transforms>,
    /// What follows the acknowledged events (the outbox cleaner's feed, …).
    observers: Vec<Box<dyn AcknowledgementObserver>>,
    /// `event.processing.failure.handling.mode`.
    failure_mode: FailureHandlingMode,
    /// Turns `true` when the run is to stop; only a wait for an unreachable destination looks at it (otherwise the
    /// source closing its channel ends the loop).
    shutdown: Option<watch::Receiver<bool>>,
    /// This pipeline's status: when it last acknowledged an event, which topics it wrote to.
    status: sluice_core::PipelineStatus,
}

impl<S: Sink> Pipeline<S> {
    pub fn new(
        encoder: Encoder,
        sink: S,
        store: Box<dyn OffsetStore>,
        offsets: Offsets,
        flush_interval: Duration,
    ) -> Self {
        let hooks = TestHooks::from_env();
        Pipeline {
            max_batch: hooks.max_batch.unwrap_or(MAX_BATCH_RECORDS).max(1),
            max_batch_bytes: usize::MAX,
            hooks,
            writes: 0,
            encoder,
            sink,
            store,
            delivered_through: offsets.acknowledged,
            delivered_committed: offsets.committed,
            recount: Vec::new(),
            offsets,
            flush_interval,
            last_save: Instant::now(),
            dirty: false,
            stats: PipelineStats::default(),
            heartbeat: None,
            transforms: None,
            observers: Vec::new(),
            failure_mode: FailureHandlingMode::Fail,
            shutdown: None,
            status: sluice_core::PipelineStatus::default(),
        }
    }

    /// The run's shutdown signal: a wait for an unreachable destination before the first batch ends when it turns
    /// `true` (the source's graceful stop hands its last chunks to a loop that is not reading yet).
    pub fn with_shutdown(mut self, shutdown: watch::Receiver<bool>) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// The status this pipeline reports to (one per pipeline, shared with its source and whoever reads it).
    pub fn with_status(mut self, status: sluice_core::PipelineStatus) -> Self {
        self.status = status;
        self
    }

    /// Closes batches once their encoded records hold `bytes` (at least one record per batch and per write).
    pub fn with_max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes;
        self
    }

    /// At most `records` records per batch and sink write (`max.batch.size`); `None` keeps the pipeline's own bound
    /// (1024). The test hook `SLUICE_TEST_MAX_BATCH` wins over both.
    pub fn with_max_batch_records(mut self, records: Option<usize>) -> Self {
        if let (Some(records), None) = (records, self.hooks.max_batch) {
            self.max_batch = records.max(1);
        }
        self
    }

    /// What to do with an event that cannot be encoded (`event.processing.failure.handling.mode`).
    pub fn with_failure_handling(mut self, mode: FailureHandlingMode) -> Self {
        self.failure_mode = mode;
        self
    }

    /// Adds an observer of what is acknowledged: it sees every event as its batch is built, and then the flush
    /// LSN each time a batch is durable (the outbox cleaner's feed is one).
    pub fn with_observer(mut self, observer: Box<dyn AcknowledgementObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Runs `debezium.transforms` on every event: the chain encodes it (with this pipeline's encoder where no
    /// event transform takes it) and transforms its records. Without transforms the encoder is called directly.
    pub fn with_transforms(mut self, transforms: Transforms) -> Self {
        self.transforms = (!transforms.is_empty()).then_some(transforms);
        self
    }

    /// Writes Debezium's heartbeat record (`<prefix>.<topic.prefix>`) every `interval`, so consumers and alerts can
    /// tell a quiet database from a stuck pipeline. Heartbeats take the same path as events (the sink and its
    /// acknowledgement) but acknowledge no position of their own.
    pub fn with_heartbeat(mut self, interval: Duration, topic_prefix: String) -> Self {
        self.heartbeat = (!interval.is_zero()).then_some((interval, topic_prefix));
        self
    }

    /// Runs until the source closes its channel, then makes everything durable and returns.
    pub async fn run(
        mut self,
        mut items: mpsc::Receiver<ItemChunk>,
        flush: watch::Sender<Lsn>,
    ) -> Result<PipelineStats, PipelineError> {
        if !self.wait_until_healthy(&items).await? {
            self.sink.close().await?;
            return Ok(self.stats);
        }
        let mut batch = Batch { records: Vec::with_capacity(MAX_BATCH_RECORDS), ..Batch::default() };
        let mut heartbeat = self.heartbeat.as_ref().map(|(every, _)| {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + *every, *every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick
        });
        loop {
            metrics::gauge!("sluice_queue_chunks").set(items.len() as f64);
            let chunk = tokio::select! {
                chunk = items.recv() => match chunk {
                    Some(chunk) => chunk,
                    None => break,
                },
                _ = async {
                    match heartbeat.as_mut() {
                        Some(tick) => tick.tick().await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.write_heartbeat().await?;
                    continue;
                }
            };
            self.absorb(chunk, &mut batch)?;
            while batch.records.len() < self.max_batch && batch.bytes < self.max_batch_bytes {
                match items.try_recv() {
                    Ok(chunk) => self.absorb(chunk, &mut batch)?,
                    Err(_) => break,
                }
            }
            self.acknowledge(&mut batch, &flush).await?;
        }
        self.acknowledge(&mut batch, &flush).await?;
        self.sink.close().await?;
        if self.dirty {
            self.save(&flush).await?;
        }
        Ok(self.stats)
    }

    fn absorb(&mut self, chunk: ItemChunk, batch: &mut Batch) -> Result<(), PipelineError> {
        let first = batch.records.len();
        let absorbed = self.absorb_items(chunk, batch);
        batch.bytes += batch.records[first..].iter().map(record_bytes).sum::<usize>();
        absorbed
    }

    /// Whether an earlier run delivered `event` (a streamed event at or before the position this run started
    /// from). Its observers still see it: it is acknowledged, and what they follow (the outbox cleaner's rows) may
    /// have been lost with the earlier run's memory.
    fn already_delivered(&mut self, event: &sluice_core::ChangeEvent) -> bool {
        let Some(through) = self.delivered_through.filter(|_| event.op != Op::Read) else { return false };
        if event.source.position > through {
            self.delivered_through = None;
            return false;
        }
        for observer in &mut self.observers {
            observer.event(event);
        }
        if self.encoder.tracks_transactions() {
            // Encoded as it was the first time (a failure then skipped it uncounted, or stopped the run before it
            // was delivered), so the transaction's counts go on where they were.
            let _ = match &mut self.transforms {
                Some(chain) => chain.apply(event, &mut self.encoder, &mut self.recount).map(drop),
                None => self.encoder.encode(event, &mut self.recount).map_err(RouterError::from),
            };
            self.recount.clear();
        }
        true
    }

    /// A transaction's BEGIN (`begin`) or END record into the batch, unless an earlier run delivered it, through the
    /// record transforms.
    fn boundary(
        &mut self,
        boundary: &sluice_core::TransactionBoundary,
        begin: bool,
        batch: &mut Batch,
    ) -> Result<(), PipelineError> {
        let through = self.delivered_through.map(|p| p.commit_lsn);
        let write = if begin {
            // A delivered event of this transaction or a later one follows the BEGIN.
            through.is_none_or(|lsn| lsn < boundary.commit_lsn)
                && self.delivered_committed.is_none_or(|lsn| lsn <= boundary.commit_lsn)
        } else {
            through.is_none_or(|lsn| lsn <= boundary.commit_lsn)
                && self.delivered_committed.is_none_or(|lsn| lsn < boundary.lsn)
        };
        let first = batch.records.len();
        match begin {
            true => self.encoder.begin_transaction(boundary, write, &mut batch.records),
            false => self.encoder.end_transaction(boundary, write, &mut batch.records),
        }
        if let Some(chain) = &mut self.transforms {
            chain.apply_to_records(first, &mut batch.records)?;
        }
        Ok(())
    }

    fn absorb_items(&mut self, chunk: ItemChunk, batch: &mut Batch) -> Result<(), PipelineError> {
        for item in chunk {
            match item {
                SourceItem::Event(event) => {
                    if self.already_delivered(&event) {
                        continue;
                    }
                    let written = batch.records.len();
                    // An event the chain's unwrapping encoder cannot encode is an encoding failure like the
                    // encoder's own: the failure mode decides. Other transform errors stop the run.
                    let encoded = match &mut self.transforms {
                        Some(chain) => match chain.apply(&event, &mut self.encoder, &mut batch.records) {
                            Ok(_) => Ok(()),
                            Err(RouterError::Unwrap(e)) => Err(e),
                            Err(other) => return Err(other.into()),
                        },
                        None => self.encoder.encode(&event, &mut batch.records),
                    };
                    let mut skipped = false;
                    if let Err(e) = encoded {
                        batch.records.truncate(written);
                        self.encode_failed(&event, e)?;
                        skipped = true;
                    }
                    self.stats.events += 1;
                    if skipped {
                        batch.skipped += 1;
                    } else {
                        batch.ops[op_index(event.op)] += 1;
                    }
                    for observer in &mut self.observers {
                        observer.event(&event);
                    }
                    if event.op != Op::Read {
                        batch.last_position = Some(event.source.position);
                        batch.last_commit_us = Some(event.source.ts_us);
                        batch.last_tx_id = event.source.tx_id;
                    }
                }
                SourceItem::TransactionBegin(boundary) => self.boundary(&boundary, true, batch)?,
                SourceItem::TransactionEnd(boundary) => self.boundary(&boundary, false, batch)?,
                SourceItem::Committed { end_lsn } => batch.watermark = Some(end_lsn),
                SourceItem::Idle { lsn } => batch.watermark = batch.watermark.max(Some(lsn)),
                SourceItem::SnapshotStarted(progress) => {
                    if let Err(e) = self.encoder.check_topics(&progress.tables) {
                        match self.failure_mode {
                            FailureHandlingMode::Fail => return Err(PipelineError::Topics(Box::new(e))),
                            _ => tracing::warn!(error = %e,
                                "the events of whichever of the two tables comes second will be skipped (event.processing.failure.handling.mode)"),
                        }
                    }
                    metrics::gauge!("sluice_snapshot_tables").set(progress.tables.len() as f64);
                    metrics::gauge!("sluice_snapshot_tables_done").set(progress.tables_done.len() as f64);
                    self.offsets.snapshot = Some(progress);
                    batch.snapshot_changed = true;
                }
                SourceItem::SnapshotTableDone(table) => batch.tables_done.push(table),
                SourceItem::SnapshotDone => batch.snapshot_done = true,
            }
        }
        Ok(())
    }

    /// An event the encoder refused: an error under `fail`; otherwise logged and left out, its position still
    /// acknowledged with the batch.
    fn encode_failed(&self, event: &sluice_core::ChangeEvent, e: EncodeError) -> Result<(), PipelineError> {
        let position = event.source.position;
        let table = event.table.as_ref().map(|t| t.id.to_string());
        match self.failure_mode {
            FailureHandlingMode::Fail => {
                let table = table.map(|t| format!(" of {t}")).unwrap_or_default();
                Err(PipelineError::Encode { position, table, source: Box::new(e) })
            }
            FailureHandlingMode::Warn => {
                tracing::warn!(%position, table = table.as_deref().unwrap_or(""), op = event.op.code(), error = %e,
                    "skipping an event that cannot be encoded (event.processing.failure.handling.mode=warn)");
                Ok(())
            }
            FailureHandlingMode::Skip => {
                tracing::info!(%position, table = table.as_deref().unwrap_or(""),
                    "skipped an event that cannot be encoded (event.processing.failure.handling.mode=skip)");
                Ok(())
            }
        }
    }

    /// Writes the batch, then records and publishes what it acknowledges.
    async fn acknowledge(&mut self, batch: &mut Batch, flush: &watch::Sender<Lsn>) -> Result<(), PipelineError> {
        if batch.snapshot_changed {
            // A new snapshot's table list must be stored before any of its rows are: a crash must resume it.
            self.save(flush).await?;
            batch.snapshot_changed = false;
        }
        for part in writes(&batch.records, self.max_batch, self.max_batch_bytes) {
            self.write_with_retry(part).await?;
            self.writes += 1;
            if self.hooks.crash_after_writes == Some(self.writes) {
                tracing::error!(
                    writes = self.writes,
                    "SLUICE_TEST_CRASH_AFTER_WRITES reached: aborting before the acknowledgement"
                );
                std::process::abort();
            }
        }
        self.stats.records += batch.records.len() as u64;
        metrics::counter!("sluice_records_written_total").increment(batch.records.len() as u64);
        batch.records.clear();
        batch.bytes = 0;
        let commit_us = batch.last_commit_us;
        record_acknowledged(batch, &self.status);
        if let Some(position) = batch.last_position.take() {
            self.offsets.acknowledged = Some(position);
            self.offsets.tx_id = batch.last_tx_id.take();
            self.offsets.ts_us = commit_us;
            self.dirty = true;
        }
        if let Some(lsn) = batch.watermark.take() {
            if self.offsets.committed < Some(lsn) {
                self.offsets.committed = Some(lsn);
                self.dirty = true;
            }
        }
        let snapshot_progress = !batch.tables_done.is_empty() || batch.snapshot_done;
        if let Some(snapshot) = self.offsets.snapshot.as_mut() {
            for table in batch.tables_done.drain(..) {
                if !snapshot.tables_done.contains(&table) {
                    snapshot.tables_done.push(table);
                }
            }
            metrics::gauge!("sluice_snapshot_tables_done").set(snapshot.tables_done.len() as f64);
            if batch.snapshot_done {
                snapshot.completed = true;
                tracing::info!(tables = snapshot.tables_done.len(), "snapshot complete and acknowledged");
            }
        }
        batch.snapshot_done = false;
        if snapshot_progress || (self.dirty && self.last_save.elapsed() >= self.flush_interval) {
            self.save(flush).await?;
        }
        let confirmable = *flush.borrow();
        for observer in &mut self.observers {
            observer.acknowledged(confirmable);
        }
        Ok(())
    }

    /// Stores the offsets, retrying a store that cannot be reached with back-off, then publishes the flush LSN they
    /// hold: the slot is confirmed only as far as the stored offsets say.
    async fn save(&mut self, flush: &watch::Sender<Lsn>) -> Result<(), PipelineError> {
        let mut delay = RETRY_MIN;
        let mut attempt = 1u32;
        loop {
            match self.store.save(&self.offsets).await {
                Ok(()) => break,
                Err(e) if e.retriable() => {
                    metrics::counter!("sluice_offset_store_retries_total").increment(1);
                    tracing::warn!(store = %self.store.describe(), attempt, retry_in_ms = delay.as_millis() as u64,
                        error = %e, "cannot store the offsets; retrying (nothing more is confirmed to PostgreSQL until they are stored)");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.last_save = Instant::now();
        self.dirty = false;
        if let Some(lsn) = self.offsets.committed {
            metrics::gauge!("sluice_acknowledged_lsn").set(lsn.0 as f64);
            flush.send_if_modified(|current| {
                let advanced = lsn > *current;
                if advanced {
                    *current = lsn;
                }
                advanced
            });
        }
        Ok(())
    }

    async fn write_heartbeat(&mut self) -> Result<(), PipelineError> {
        let Some((_, prefix)) = &self.heartbeat else { return Ok(()) };
        let record = self.encoder.heartbeat(prefix, self.offsets.acknowledged.unwrap_or_default());
        self.write_with_retry(std::slice::from_ref(&record)).await
    }

    /// Asks the sink whether its destination answers (the `Sink` contract's health check) before the first batch, so
    /// that an unreachable destination is named at once, with the error policy's hint and in the status, rather than
    /// at the first write's timeout. A retriable answer is asked again with the back-off of a failed write, as the
    /// policy says for an unavailable sink; a fatal one ends the run. Returns `false` when the run is asked to stop
    /// meanwhile (or the source closed its channel): nothing was written, so nothing is acknowledged, and what the source had sent
    /// comes again on the next start; the run ends without waiting for a destination that may never answer.
    async fn wait_until_healthy(&mut self, items: &mpsc::Receiver<ItemChunk>) -> Result<bool, PipelineError> {
        let mut delay = RETRY_MIN;
        loop {
            match self.sink.health().await {
                Ok(()) => return Ok(true),
                Err(e) if e.retriable => {
                    let trace = format!("{e}\n  hint: {}", FailureKind::SinkUnavailable.hint());
                    tracing::warn!(sink = self.sink.name(), retry_in_ms = delay.as_millis() as u64, error = %trace,
                        "the sink's destination does not answer; asking again");
                    self.status.restarting(&trace, delay);
                    let until = Instant::now() + delay;
                    while Instant::now() < until {
                        if items.is_closed() || self.shutdown.as_ref().is_some_and(|s| *s.borrow()) {
                            return Ok(false);
                        }
                        tokio::time::sleep(SHUTDOWN_POLL.min(until - Instant::now())).await;
                    }
                    delay = (delay * 2).min(RETRY_MAX);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn write_with_retry(&mut self, records: &[Record]) -> Result<(), PipelineError> {
        let mut delay = RETRY_MIN;
        let mut attempt = 1u32;
        loop {
            let started = Instant::now();
            let written = self.sink.write(records).await;
            metrics::histogram!("sluice_sink_write_seconds").record(started.elapsed().as_secs_f64());
            if let Err(e) = &written {
                let retriable = if e.retriable { "true" } else { "false" };
                metrics::counter!("sluice_sink_errors_total", "retriable" => retriable).increment(1);
            }
            match written {
                Ok(()) => {
                    self.status.topics_written(records.iter().map(|r| &r.topic));
                    return Ok(());
                }
                Err(e) if e.retriable => {
                    metrics::counter!("sluice_sink_retries_total").increment(1);
                    tracing::warn!(sink = self.sink.name(), attempt, retry_in_ms = delay.as_millis() as u64, error = %e,
                        "sink write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use sluice_core::{
        ChangeEvent, FileOffsetStore, LogicalMessage, OffsetError, SnapshotMarker, SourceInfo, StoreFuture,
    };
    use sluice_format::{
        BinaryHandlingMode, Converter, DecimalHandlingMode, EncoderOptions, HStoreHandlingMode, IntervalHandlingMode,
        TimePrecisionMode,
    };

    use super::*;

    fn record(value_bytes: usize) -> Record {
        Record {
            topic: "t".into(),
            partition: None,
            key: Some(Payload::Json(b"{}".to_vec())),
            value: Some(Payload::Json(vec![b' '; value_bytes])),
            headers: Vec::new(),
            timestamp_ms: 0,
            position: Position::default(),
        }
    }

    fn sizes(parts: Vec<&[Record]>) -> Vec<usize> {
        parts.iter().map(|p| p.len()).collect()
    }

    #[test]
    fn a_record_larger_than_the_byte_budget_is_written_alone() {
        let records = [record(10), record(50 << 20), record(10)];
        assert_eq!(sizes(writes(&records, 1024, 1 << 20).collect()), [2, 1]);
        let records = [record(50 << 20)];
        assert_eq!(sizes(writes(&records, 1024, 1 << 20).collect()), [1]);
    }

    #[test]
    fn the_byte_budget_closes_a_write_before_the_count_does() {
        // 102 bytes each (a 2-byte key): the tenth record reaches 1000.
        let records: Vec<Record> = (0..25).map(|_| record(100)).collect();
        assert_eq!(sizes(writes(&records, 1024, 1000).collect()), [10, 10, 5]);
        assert_eq!(sizes(writes(&records, 4, 1000).collect()), [4, 4, 4, 4, 4, 4, 1]);
        assert_eq!(sizes(writes(&records, 1024, usize::MAX).collect()), [25]);
        assert!(writes(&[], 1024, 1000).next().is_none());
    }

    #[test]
    fn a_shared_schema_is_not_counted_as_a_records_bytes() {
        let schema: Arc<[u8]> = vec![b' '; 1 << 20].into();
        let mut r = record(0);
        r.value = Some(Payload::JsonWithSchema { schema, payload: vec![b' '; 100] });
        r.key = None;
        assert_eq!(record_bytes(&r), 100);
    }

    /// Records the size of every write.
    #[derive(Clone, Default)]
    struct Recording(Arc<Mutex<Vec<usize>>>);

    impl Sink for Recording {
        fn name(&self) -> &'static str {
            "recording"
        }

        async fn write(&mut self, batch: &[Record]) -> Result<(), SinkError> {
            self.0.lock().unwrap().push(batch.len());
            Ok(())
        }
    }

    fn message(ordinal: u64, content_bytes: usize) -> SourceItem {
        SourceItem::Event(ChangeEvent {
            op: Op::Message,
            table: None,
            before: None,
            after: None,
            message: Some(LogicalMessage {
                transactional: true,
                prefix: "p".into(),
                content: vec![b'x'; content_bytes].into(),
            }),
            source: SourceInfo {
                position: Position::new(Lsn(1), ordinal),
                lsn: Lsn(1),
                tx_id: Some(1),
                ts_us: 0,
                snapshot: SnapshotMarker::False,
            },
        })
    }

    fn encoder() -> Encoder {
        Encoder::new(EncoderOptions {
            topic_prefix: "test".into(),
            database: "db".into(),
            key: Converter::Json { schemas_enable: false },
            value: Converter::Json { schemas_enable: false },
            decimal_handling_mode: DecimalHandlingMode::Precise,
            time_precision_mode: TimePrecisionMode::Adaptive,
            interval_handling_mode: IntervalHandlingMode::Numeric,
            hstore_handling_mode: HStoreHandlingMode::Json,
            binary_handling_mode: BinaryHandlingMode::Bytes,
            unavailable_value_placeholder: String::new(),
            include_unknown_datatypes: false,
            money_fraction_digits: 2,
            tombstones_on_delete: true,
            columns: Default::default(),
            naming: Default::default(),
        })
    }

    /// Runs a pipeline over `chunks`, all queued before it starts; returns the size of each sink write.
    async fn run(chunks: Vec<ItemChunk>, max_batch_bytes: usize) -> Vec<usize> {
        let dir = tempfile::tempdir().unwrap();
        let sink = Recording::default();
        let store = Box::new(FileOffsetStore::new(dir.path().join("offsets.dat")));
        let pipeline = Pipeline::new(encoder(), sink.clone(), store, Offsets::default(), Duration::ZERO)
            .with_max_batch_bytes(max_batch_bytes);
        let (tx, rx) = mpsc::channel(chunks.len());
        for chunk in chunks {
            tx.send(chunk).await.unwrap();
        }
        drop(tx);
        let (flush, _) = watch::channel(Lsn::ZERO);
        pipeline.run(rx, flush).await.unwrap();
        let writes = sink.0.lock().unwrap().clone();
        writes
    }

    #[tokio::test]
    async fn a_batch_stops_taking_chunks_once_its_records_reach_the_byte_budget() {
        // Three chunks of one 4 KiB message each, about 5.6 KiB encoded (base64): the first record is under the
        // 6 KiB budget, the second reaches it, and the batch closes; the third chunk goes into the next batch.
        let chunks = (0..3).map(|i| vec![message(i, 4096)]).collect();
        assert_eq!(run(chunks, 6 << 10).await, [2, 1]);
        let chunks = (0..3).map(|i| vec![message(i, 4096)]).collect();
        assert_eq!(run(chunks, usize::MAX).await, [3], "without a byte limit, one batch takes all");
    }

    #[tokio::test]
    async fn max_batch_size_bounds_every_sink_write() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Recording::default();
        let store = Box::new(FileOffsetStore::new(dir.path().join("offsets.dat")));
        let pipeline = Pipeline::new(encoder(), sink.clone(), store, Offsets::default(), Duration::ZERO)
            .with_max_batch_records(Some(2));
        let (tx, rx) = mpsc::channel(1);
        tx.send((0..5).map(|i| message(i, 10)).collect()).await.unwrap();
        drop(tx);
        let (flush, _) = watch::channel(Lsn::ZERO);
        pipeline.run(rx, flush).await.unwrap();
        assert_eq!(*sink.0.lock().unwrap(), [2, 2, 1]);
    }

    /// A sink whose destination answers the health check only after `unhealthy` refusals, retriable or not.
    struct UnreachableSink {
        unhealthy: u32,
        retriable: bool,
        writes: Arc<Mutex<Vec<usize>>>,
    }

    impl Sink for UnreachableSink {
        fn name(&self) -> &'static str {
            "unreachable"
        }

        async fn write(&mut self, batch: &[Record]) -> Result<(), SinkError> {
            self.writes.lock().unwrap().push(batch.len());
            Ok(())
        }

        async fn health(&mut self) -> Result<(), SinkError> {
            if self.unhealthy == 0 {
                return Ok(());
            }
            self.unhealthy -= 1;
            Err(SinkError { sink: "unreachable", retriable: self.retriable, message: "down".into(), source: None })
        }
    }

    async fn run_unreachable(unhealthy: u32, retriable: bool) -> (Result<PipelineStats, PipelineError>, Vec<usize>) {
        let dir = tempfile::tempdir().unwrap();
        let encoder = encoder();
        let writes = Arc::new(Mutex::new(Vec::new()));
        let sink = UnreachableSink { unhealthy, retriable, writes: writes.clone() };
        let store = Box::new(FileOffsetStore::new(dir.path().join("offsets.dat")));
        let pipeline = Pipeline::new(encoder, sink, store, Offsets::default(), Duration::ZERO);
        let (tx, rx) = mpsc::channel(1);
        tx.send(vec![message(0, 10)]).await.unwrap();
        let (flush, _) = watch::channel(Lsn::ZERO);
        let run = tokio::spawn(pipeline.run(rx, flush));
        // The source stays open while the destination does not answer (a closed channel means shutdown); it closes
        // once the batch is written or the run has ended.
        while writes.lock().unwrap().is_empty() && !run.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(tx);
        let result = run.await.unwrap();
        let written = writes.lock().unwrap().clone();
        (result, written)
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_destination_is_asked_again_before_the_first_batch_and_a_refusal_ends_the_run() {
        let (result, writes) = run_unreachable(3, true).await;
        assert!(result.is_ok() && writes == [1], "asked again until it answered, then written: {writes:?}");
        let (result, writes) = run_unreachable(1, false).await;
        assert!(matches!(result, Err(PipelineError::Sink(ref e)) if e.message == "down"), "{result:?}");
        assert!(writes.is_empty(), "nothing is written to a destination that refused");
    }

    #[tokio::test]
    async fn a_message_larger_than_the_byte_budget_still_passes() {
        let chunks = vec![vec![message(0, 1 << 20), message(1, 10)]];
        assert_eq!(run(chunks, 1024).await, [1, 1]);
    }

    /// A store that cannot be reached for its first `failures` saves, and notes what was published to the source
    /// at each attempt.
    struct Unreachable {
        failures: u32,
        published: watch::Receiver<Lsn>,
        attempts: Arc<Mutex<Vec<(Lsn, bool)>>>,
        saved: Arc<Mutex<Option<Offsets>>>,
    }

    impl OffsetStore for Unreachable {
        fn describe(&self) -> String {
            "a test store".into()
        }

        fn load(&mut self) -> StoreFuture<'_, Option<Offsets>> {
            Box::pin(std::future::ready(Ok(None)))
        }

        fn save<'a>(&'a mut self, offsets: &'a Offsets) -> StoreFuture<'a, ()> {
            let reachable = self.failures == 0;
            self.failures = self.failures.saturating_sub(1);
            self.attempts.lock().unwrap().push((*self.published.borrow(), reachable));
            if reachable {
                *self.saved.lock().unwrap() = Some(offsets.clone());
            }
            let result = match reachable {
                true => Ok(()),
                false => Err(OffsetError::Store { retriable: true, message: "the broker is down".into() }),
            };
            Box::pin(std::future::ready(result))
        }

        fn reset(&mut self) -> StoreFuture<'_, ()> {
            Box::pin(std::future::ready(Ok(())))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_store_is_retried_and_nothing_is_confirmed_before_it_holds_the_offsets() {
        let (flush, published) = watch::channel(Lsn::ZERO);
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let saved = Arc::new(Mutex::new(None));
        let store =
            Unreachable { failures: 3, published: published.clone(), attempts: attempts.clone(), saved: saved.clone() };
        let pipeline =
            Pipeline::new(encoder(), Recording::default(), Box::new(store), Offsets::default(), Duration::ZERO);
        let (tx, rx) = mpsc::channel(1);
        tx.send(vec![message(0, 10), SourceItem::Committed { end_lsn: Lsn(0x40) }]).await.unwrap();
        drop(tx);
        pipeline.run(rx, flush).await.unwrap();
        let attempts = attempts.lock().unwrap().clone();
        assert_eq!(attempts.len(), 4, "three failures, then the save that succeeds: {attempts:?}");
        assert!(
            attempts.iter().all(|(lsn, _)| *lsn == Lsn::ZERO),
            "nothing published before it was stored: {attempts:?}"
        );
        assert_eq!(*published.borrow(), Lsn(0x40), "published once stored");
        let saved = saved.lock().unwrap().clone().unwrap();
        assert_eq!(saved.committed, Some(Lsn(0x40)));
        assert_eq!(saved.acknowledged, Some(Position::new(Lsn(1), 0)));
        assert_eq!(saved.tx_id, Some(1));
    }

    /// Notes the ordinal of every event it is told of, and every flush LSN.
    #[derive(Clone, Default)]
    struct Following(Arc<Mutex<(Vec<u64>, Vec<Lsn>)>>);

    impl AcknowledgementObserver for Following {
        fn event(&mut self, event: &ChangeEvent) {
            self.0.lock().unwrap().0.push(event.source.position.ordinal);
        }

        fn acknowledged(&mut self, flush: Lsn) {
            self.0.lock().unwrap().1.push(flush);
        }
    }

    #[tokio::test]
    async fn a_replayed_transaction_is_written_from_past_the_stored_position_and_observers_see_all_of_it() {
        // An earlier run acknowledged the first three events of the transaction (ordinals 0..=2) and crashed before
        // its end; the source sends the whole transaction again.
        let dir = tempfile::tempdir().unwrap();
        let store = Box::new(FileOffsetStore::new(dir.path().join("offsets.dat")));
        let offsets = Offsets { acknowledged: Some(Position::new(Lsn(1), 2)), ..Offsets::default() };
        let sink = Recording::default();
        let following = Following::default();
        let pipeline = Pipeline::new(encoder(), sink.clone(), store, offsets, Duration::ZERO)
            .with_observer(Box::new(following.clone()));
        let (tx, rx) = mpsc::channel(1);
        let mut chunk: ItemChunk = (0..6).map(|i| message(i, 10)).collect();
        chunk.push(SourceItem::Committed { end_lsn: Lsn(0x40) });
        tx.send(chunk).await.unwrap();
        drop(tx);
        let (flush, published) = watch::channel(Lsn::ZERO);
        pipeline.run(rx, flush).await.unwrap();
        assert_eq!(*sink.0.lock().unwrap(), [3], "only what follows the stored position is written again");
        let (events, flushes) = following.0.lock().unwrap().clone();
        assert_eq!(events, [0, 1, 2, 3, 4, 5], "observers learn of the events delivered before the restart too");
        assert_eq!(flushes.last(), Some(&Lsn(0x40)));
        assert_eq!(*published.borrow(), Lsn(0x40), "the whole transaction is confirmable");
    }
}
