//! The producer side of the transactional outbox.
//!
//! A service must never write its database and then publish to a broker as two steps: a crash between them loses
//! the event (committed, never published) or invents one (published, then rolled back). Instead it writes the
//! event into the database in the *same transaction* as the business change, and Sluice — reading the WAL —
//! publishes exactly the committed events:
//!
//! ```no_run
//! # async fn place_order(client: &mut tokio_postgres::Client) -> Result<(), sluice_outbox::OutboxError> {
//! use sluice_outbox::{Outbox, OutboxEvent};
//!
//! let outbox = Outbox::table("public.outboxevent");
//! let tx = client.transaction().await?;
//! tx.execute("INSERT INTO orders (id, status) VALUES (42, 'placed')", &[]).await?;
//! outbox
//!     .write(&tx, &OutboxEvent::new("Order", "42", "OrderPlaced", serde_json::json!({"order": 42})))
//!     .await?;
//! tx.commit().await?; // the order and its event, or neither
//! # Ok(())
//! # }
//! ```
//!
//! [`Outbox::emit`] writes the same event as a transactional logical decoding message instead
//! (`pg_logical_emit_message`), for the table-free outbox: nothing to clean up. See docs/outbox.md for the table,
//! the publication and the router configuration. [`partitions`] keeps a day-partitioned outbox trimmed;
//! [`dual_write`] is the runnable demonstration of why the outbox exists.

pub mod dual_write;
pub mod partitions;

use tokio_postgres::Transaction;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// Only the dual-write demonstration's direct path publishes anywhere.
    #[error("publishing: {0}")]
    Broker(#[from] std::io::Error),
}

/// One domain event, in Debezium's outbox columns.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEvent {
    /// The event id (header `id`); `None`: the database generates a UUID.
    pub id: Option<String>,
    /// Routes the event: topic `outbox.event.<aggregate_type>` by default.
    pub aggregate_type: String,
    /// The message key: events of one aggregate stay in order.
    pub aggregate_id: String,
    pub event_type: String,
    pub payload: serde_json::Value,
}

impl OutboxEvent {
    pub fn new(
        aggregate_type: impl Into<String>,
        aggregate_id: impl Into<String>,
        event_type: impl Into<String>,
        payload: serde_json::Value,
    ) -> OutboxEvent {
        OutboxEvent {
            id: None,
            aggregate_type: aggregate_type.into(),
            aggregate_id: aggregate_id.into(),
            event_type: event_type.into(),
            payload,
        }
    }

    /// The same event with a given id (for idempotent retries of the producing transaction).
    pub fn with_id(mut self, id: impl Into<String>) -> OutboxEvent {
        self.id = Some(id.into());
        self
    }
}

/// Writes events into one outbox.
#[derive(Clone, Debug)]
pub struct Outbox {
    /// The quoted table name.
    table: String,
    /// The message prefix for [`Outbox::emit`].
    prefix: String,
}

fn quote(part: &str) -> String {
    format!("\"{}\"", part.replace('"', "\"\""))
}

impl Outbox {
    /// An outbox table, `schema.table` or `table`, with Debezium's default columns (see [`Outbox::create_sql`]).
    pub fn table(name: &str) -> Outbox {
        let table = name.split('.').map(quote).collect::<Vec<_>>().join(".");
        Outbox { table, prefix: "outbox".into() }
    }

    /// The DDL of the outbox table, with Debezium's column names.
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), \
             aggregatetype varchar(255) NOT NULL, aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, \
             timestamp timestamptz NOT NULL DEFAULT now(), payload jsonb)",
            self.table
        )
    }

    /// Inserts the event inside the caller's transaction: it commits or rolls back with the business change.
    pub async fn write(&self, tx: &Transaction<'_>, event: &OutboxEvent) -> Result<(), OutboxError> {
        let sql = format!(
            "INSERT INTO {} (id, aggregatetype, aggregateid, type, payload) \
             VALUES (coalesce($1::text::uuid, gen_random_uuid()), $2, $3, $4, $5::text::jsonb)",
            self.table
        );
        let payload = event.payload.to_string();
        tx.execute(&sql, &[&event.id, &event.aggregate_type, &event.aggregate_id, &event.event_type, &payload]).await?;
        Ok(())
    }

    /// Writes the event as a transactional logical decoding message (the table-free outbox): its content is a JSON
    /// object with the outbox columns, which Sluice's `DecodeLogicalDecodingMessageContent` + router turn into the
    /// same event as [`Outbox::write`].
    pub async fn emit(&self, tx: &Transaction<'_>, event: &OutboxEvent) -> Result<(), OutboxError> {
        tx.execute(
            "SELECT pg_logical_emit_message(true, $1, json_build_object(
               'id', coalesce($2::text, gen_random_uuid()::text), 'aggregatetype', $3::text, 'aggregateid', $4::text,
               'type', $5::text, 'payload', ($6::text::jsonb)::text)::text)",
            &[
                &self.prefix,
                &event.id,
                &event.aggregate_type,
                &event.aggregate_id,
                &event.event_type,
                &event.payload.to_string(),
            ],
        )
        .await?;
        Ok(())
    }
}
