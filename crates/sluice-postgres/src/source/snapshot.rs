//! The snapshot: every captured table read at one exported snapshot, as `op: "r"` events.
//!
//! `snapshot.max.threads` readers each open a connection, start a REPEATABLE READ transaction and import the
//! exported snapshot (`SET TRANSACTION SNAPSHOT`), so all of them see the database exactly as of the snapshot's
//! LSN. They take tables from a shared queue and read each with `COPY (SELECT …) TO STDOUT` in text format — the
//! fastest way out of the server, and the same text form pgoutput streams, so one value converter serves both.
//!
//! Rows go out in chunks bounded by count and by the bytes of COPY data they were parsed from (`chunk`): one CopyData
//! message per row, so a table of large values flows a few rows at a time.
//!
//! Every row carries the snapshot's LSN in `source.lsn` and, as in Debezium (`PostgresSnapshotChangeEventSource`
//! reads `pg_current_xact_id()` on the snapshot's connection), the id of the snapshot's transaction in `source.txId`:
//! the first reader's, taken once before any row, so all rows of one snapshot share it whatever reader read them.
//! Asking for the id assigns one to that read-only transaction; on a standby, where none can be assigned, it is
//! null (Debezium's too).
//!
//! Progress is a [`SourceItem::SnapshotTableDone`] after a table's last row; the pipeline records a table as done
//! only once the sink has acknowledged everything up to that item, so a crash never marks a table done early.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use sluice_core::{ChangeEvent, Lsn, Op, Position, SnapshotMarker, SourceInfo, TableSchema, Tuple};
use tokio::sync::mpsc;

use crate::copy_text::CopyTextParser;
use crate::replication::connect_sql;
use crate::source::chunk::ChunkBuilder;
use crate::source::setup::{quote_ident, quote_table, Prepared, SnapshotPlan};
use crate::source::{CatalogTable, ItemChunk, SourceError, SourceItem, SourceOptions};

const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// State the readers share.
struct Shared {
    queue: Mutex<VecDeque<(CatalogTable, Arc<TableSchema>)>>,
    lsn: Lsn,
    /// The snapshot transaction's id (`source.txId`).
    tx_id: Option<u64>,
    next_ordinal: AtomicU64,
    first_sent: AtomicBool,
    tables_left: AtomicUsize,
    /// The byte bound of each reader's chunks: the readers fill chunks side by side, so they share one chunk's.
    chunk_bytes: usize,
    /// `snapshot.select.statement.overrides`: the tables read through the operator's SELECT.
    overrides: std::collections::HashMap<sluice_core::TableId, String>,
}

/// Takes the planned snapshot, if any. Returns the prepared state for streaming, or `None` when the pipeline
/// stopped taking items.
pub(crate) async fn run_if_planned(
    options: &SourceOptions,
    mut prepared: Prepared,
    items: &mpsc::Sender<ItemChunk>,
) -> Result<Option<Prepared>, SourceError> {
    let Some(plan) = prepared.snapshot.take() else { return Ok(Some(prepared)) };
    let SnapshotPlan { snapshot_name, lsn, tables, progress, exporter } = plan;
    options.status.snapshot_started();
    tracing::info!(tables = tables.len(), %lsn, threads = options.snapshot_max_threads, "snapshot starting");
    if items.send(vec![SourceItem::SnapshotStarted(progress)]).await.is_err() {
        return Ok(None);
    }
    let mut queue = VecDeque::with_capacity(tables.len());
    for t in tables {
        let schema = prepared.catalog.table_schema(&t, options.filter.as_ref()).await?;
        queue.push_back((t, Arc::new(schema)));
    }
    let clients = futures_util::future::try_join_all(
        (0..options.snapshot_max_threads.max(1)).map(|_| open_reader(options, &snapshot_name)),
    )
    .await?;
    let tx_id = snapshot_tx_id(&clients[0]).await?;
    let shared = Arc::new(Shared {
        tables_left: AtomicUsize::new(queue.len()),
        queue: Mutex::new(queue),
        lsn,
        tx_id,
        next_ordinal: AtomicU64::new(0),
        first_sent: AtomicBool::new(false),
        chunk_bytes: options.chunk_bytes / options.snapshot_max_threads.max(1),
        overrides: options.snapshot_selection.overrides.clone(),
    });
    let started = Instant::now();
    let readers = clients.into_iter().map(|client| reader(client, &options.status, shared.clone(), items.clone()));
    let results = futures_util::future::join_all(readers).await;
    drop(exporter);
    let mut gone = false;
    for r in results {
        gone |= !r?;
    }
    if gone || items.send(vec![SourceItem::SnapshotDone]).await.is_err() {
        return Ok(None);
    }
    let rows = shared.next_ordinal.load(Ordering::Relaxed);
    tracing::info!(rows, seconds = started.elapsed().as_secs_f64(), "snapshot sent");
    Ok(Some(prepared))
}

/// A reader's connection, in a transaction that imported the exported snapshot.
async fn open_reader(options: &SourceOptions, snapshot_name: &str) -> Result<tokio_postgres::Client, SourceError> {
    let client = connect_sql(&options.connect).await?;
    client
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
            snapshot_name.replace('\'', "''")
        ))
        .await
        .map_err(|e| SourceError::sql("import the exported snapshot", e))?;
    Ok(client)
}

/// The id of the snapshot transaction on `client` (Debezium's `PostgresConnection.currentTransactionId`): null on a
/// standby, which cannot assign one. `txid_current()` is `pg_current_xact_id()` under its pre-13 name, so one query
/// serves every supported server.
async fn snapshot_tx_id(client: &tokio_postgres::Client) -> Result<Option<u64>, SourceError> {
    let row = client
        .query_one("SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE txid_current() END", &[])
        .await
        .map_err(|e| SourceError::sql("read the snapshot's transaction id", e))?;
    Ok(row.get::<_, Option<i64>>(0).and_then(|id| u64::try_from(id).ok()))
}

/// One reader: reads tables off the queue in its snapshot transaction. `Ok(false)` when the pipeline is gone.
async fn reader(
    client: tokio_postgres::Client,
    status: &sluice_core::PipelineStatus,
    shared: Arc<Shared>,
    items: mpsc::Sender<ItemChunk>,
) -> Result<bool, SourceError> {
    loop {
        let next = shared.queue.lock().expect("queue lock").pop_front();
        let Some((table, schema)) = next else { break };
        if !read_table(&client, &shared, &table, schema, &items, status).await? {
            return Ok(false);
        }
    }
    client.batch_execute("COMMIT").await.map_err(|e| SourceError::sql("end the snapshot transaction", e))?;
    Ok(true)
}

async fn read_table(
    client: &tokio_postgres::Client,
    shared: &Shared,
    table: &CatalogTable,
    schema: Arc<TableSchema>,
    items: &mpsc::Sender<ItemChunk>,
    status: &sluice_core::PipelineStatus,
) -> Result<bool, SourceError> {
    let overridden = shared.overrides.contains_key(&table.id);
    let snapshot_error = |message: String| SourceError::Snapshot {
        table: table.id.clone(),
        message: match overridden {
            true => format!(
                "{message} (it is read with snapshot.select.statement.overrides.{}, whose SELECT must return the \
                 captured columns by name)",
                table.id
            ),
            false => message,
        },
    };
    let columns = schema.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ");
    let source = match shared.overrides.get(&table.id) {
        // The operator's SELECT, read by column name: it may filter, order or join, as long as the captured
        // columns come out of it.
        Some(select) => format!("({select}) AS snapshot_select_override"),
        None => quote_table(&table.id),
    };
    let sql = format!("COPY (SELECT {columns} FROM {source}) TO STDOUT");
    let estimate: f32 = client
        .query_one("SELECT reltuples FROM pg_class WHERE oid = $1", &[&table.oid])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1.0);
    let table_name = table.id.to_string();
    status.table_started(&table_name, estimate.max(0.0) as u64);
    tracing::info!(table = %table.id, estimated_rows = estimate.max(0.0) as u64, "snapshot of table starting");
    let stream = client.copy_out(sql.as_str()).await.map_err(|e| snapshot_error(crate::error::describe(&e)))?;
    let mut stream = std::pin::pin!(stream.map_err(|e| snapshot_error(crate::error::describe(&e))));
    let mut parser = CopyTextParser::new(schema.columns.len());
    let mut chunk = ChunkBuilder::new(shared.chunk_bytes);
    let mut held: Option<Tuple> = None;
    let mut first_of_table = true;
    let mut rows: u64 = 0;
    let started = Instant::now();
    let mut last_report = started;
    // `source.ts_us` of the rows: read once per chunk (a chunk's rows are read within about a millisecond), not
    // once per row, where the clock read was a few percent of the snapshot's CPU.
    let mut read_at = sluice_core::unix_micros();
    while let Some(bytes) = stream.next().await {
        let bytes = bytes?;
        chunk.count_bytes(bytes.len());
        parser.push(bytes);
        while let Some(row) = parser.next_row().map_err(|e| snapshot_error(e.to_string()))? {
            if let Some(prev) = held.replace(row) {
                let marker = if first_of_table { first_marker(shared) } else { SnapshotMarker::True };
                first_of_table = false;
                chunk.push(read_event(shared, &schema, prev, marker, read_at));
                rows += 1;
                if chunk.is_full() {
                    if items.send(chunk.take()).await.is_err() {
                        return Ok(false);
                    }
                    read_at = sluice_core::unix_micros();
                    status.table_rows(&table_name, rows, false);
                    if last_report.elapsed() >= PROGRESS_EVERY {
                        last_report = Instant::now();
                        let progress = status.snapshot_progress();
                        if let Some(p) = progress.iter().find(|p| p.table == table_name) {
                            let percent = (p.estimated_rows > 0).then(|| (100 * rows / p.estimated_rows).min(100));
                            tracing::info!(table = %table.id, rows, estimated_rows = p.estimated_rows,
                                percent = ?percent, rows_per_second = p.rows_per_second() as u64,
                                eta_seconds = ?p.eta().map(|d| d.as_secs()), "snapshot progress");
                        }
                    }
                }
            }
        }
    }
    parser.finish().map_err(|e| snapshot_error(e.to_string()))?;
    let last_table = shared.tables_left.fetch_sub(1, Ordering::AcqRel) == 1;
    if let Some(last) = held {
        let marker = match (last_table, first_of_table) {
            (true, _) => SnapshotMarker::Last,
            (false, true) if !shared.first_sent.load(Ordering::Acquire) => first_marker(shared),
            _ => SnapshotMarker::LastInDataCollection,
        };
        chunk.push(read_event(shared, &schema, last, marker, read_at));
        rows += 1;
    }
    chunk.push(SourceItem::SnapshotTableDone(table.id.clone()));
    status.table_rows(&table_name, rows, true);
    tracing::info!(table = %table.id, rows, seconds = started.elapsed().as_secs_f64(), "snapshot of table read");
    Ok(items.send(chunk.take()).await.is_ok())
}

fn first_marker(shared: &Shared) -> SnapshotMarker {
    if shared.first_sent.swap(true, Ordering::AcqRel) {
        SnapshotMarker::FirstInDataCollection
    } else {
        SnapshotMarker::First
    }
}

fn read_event(
    shared: &Shared,
    schema: &Arc<TableSchema>,
    row: Tuple,
    marker: SnapshotMarker,
    ts_us: i64,
) -> SourceItem {
    let ordinal = shared.next_ordinal.fetch_add(1, Ordering::Relaxed);
    SourceItem::Event(ChangeEvent {
        op: Op::Read,
        table: Some(schema.clone()),
        before: None,
        after: Some(row),
        message: None,
        source: SourceInfo {
            position: Position::new(shared.lsn, ordinal),
            lsn: shared.lsn,
            tx_id: shared.tx_id,
            ts_us,
            snapshot: marker,
        },
    })
}
