//! The dual-write problem, runnable: one order service, two ways to publish its events, the same crashes.
//!
//! - **Direct**: write the order and publish the event as two steps. A crash after the commit and before the publish
//!   loses the event; publishing first and crashing before the commit invents an event for an order that does not
//!   exist. No ordering of the two steps is safe.
//! - **Outbox**: the event is written with the order in one transaction; Sluice publishes what committed. The same
//!   crashes can only abort the whole transaction: no event is lost, none invented.
//!
//! The "broker" of the direct path is an append-only JSON Lines file, so the demonstration needs nothing but
//! PostgreSQL; `examples/dual_write.rs` runs it, and Sluice's test suite runs it with Sluice delivering the outbox.

use std::io::Write;
use std::path::PathBuf;

use tokio_postgres::Client;

use crate::{Outbox, OutboxError, OutboxEvent};

/// Where the service dies while placing an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crash {
    /// It does not.
    Never,
    /// After the database commit, before the publish (direct publishing loses the event).
    AfterCommit,
    /// After publishing, before the commit (direct publishing that publishes first invents the event).
    BeforeCommit,
}

/// A stand-in broker: one JSON line per published event, flushed to disk.
pub struct FileBroker {
    pub path: PathBuf,
}

impl FileBroker {
    pub fn publish(&self, event: &OutboxEvent) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        let line =
            serde_json::json!({"aggregateid": event.aggregate_id, "type": event.event_type, "payload": event.payload});
        writeln!(file, "{line}")?;
        file.sync_data()
    }

    /// The aggregate ids of every published event.
    pub fn published(&self) -> Vec<String> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["aggregateid"].as_str().map(String::from))
            .collect()
    }
}

/// The tables of the demonstration (orders, and the outbox).
pub async fn create_tables(client: &Client, outbox: &Outbox) -> Result<(), OutboxError> {
    client.batch_execute("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, status text NOT NULL)").await?;
    client.batch_execute(&outbox.create_sql()).await?;
    Ok(())
}

fn order_placed(order: i32) -> OutboxEvent {
    OutboxEvent::new("Order", order.to_string(), "OrderPlaced", serde_json::json!({"order": order}))
}

/// Places an order and publishes its event directly, committing first (`publish_first: false`) or publishing
/// first; `crash` says where the service dies. Returns whether the order committed.
pub async fn place_order_direct(
    client: &mut Client,
    broker: &FileBroker,
    order: i32,
    publish_first: bool,
    crash: Crash,
) -> Result<bool, OutboxError> {
    let event = order_placed(order);
    let tx = client.transaction().await?;
    tx.execute("INSERT INTO orders VALUES ($1, 'placed')", &[&order]).await?;
    if publish_first {
        broker.publish(&event).map_err(io_error)?;
        if crash == Crash::BeforeCommit {
            return Ok(false); // dropped: the transaction rolls back, the event is out
        }
        tx.commit().await?;
    } else {
        if crash == Crash::BeforeCommit {
            return Ok(false);
        }
        tx.commit().await?;
        if crash == Crash::AfterCommit {
            return Ok(true); // committed, never published
        }
        broker.publish(&event).map_err(io_error)?;
    }
    Ok(true)
}

/// Places an order with its event in the outbox, in one transaction; `crash` as above. Returns whether the order
/// committed (and with it, its event).
pub async fn place_order_with_outbox(
    client: &mut Client,
    outbox: &Outbox,
    order: i32,
    crash: Crash,
) -> Result<bool, OutboxError> {
    let tx = client.transaction().await?;
    tx.execute("INSERT INTO orders VALUES ($1, 'placed')", &[&order]).await?;
    outbox.write(&tx, &order_placed(order)).await?;
    if crash == Crash::BeforeCommit {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true) // a crash after the commit changes nothing: Sluice publishes from the WAL
}

/// The crash a demonstration run injects for order `n`: every third order dies after the commit, every fifth before.
pub fn crash_for(n: i32) -> Crash {
    match n {
        n if n % 5 == 0 => Crash::BeforeCommit,
        n if n % 3 == 0 => Crash::AfterCommit,
        _ => Crash::Never,
    }
}

fn io_error(e: std::io::Error) -> OutboxError {
    OutboxError::from(e)
}
