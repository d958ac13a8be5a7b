//! Debezium's transaction metadata (`provide.transaction.metadata`): the BEGIN and END records on
//! `<topic.prefix>.<topic.transaction>`, and the `transaction` block of every streamed event.
//!
//! What Debezium's PostgreSQL connector does, and so what this does:
//! - every Begin and Commit the server sends becomes a BEGIN and an END record, captured events or not (an END then
//!   says `event_count: 0`); since PostgreSQL 15 the server sends no Begin/Commit for a transaction that changed no
//!   published table;
//! - the id is `<txId>:<LSN>`, where the LSN is that of the message the record stands for: the Begin message's for
//!   BEGIN, the change's own (`source.lsn`) for an event, the Commit message's for END. The part before the colon is
//!   what identifies the transaction; the whole id differs from record to record (Debezium's
//!   `PostgresTransactionMonitor`), and so do the keys of a transaction's BEGIN and END;
//! - an event is counted once per change record Debezium makes of it: a primary-key change is a delete and a
//!   create, two; a tombstone is none. `total_order` and `data_collection_order` start at 1;
//! - snapshot rows and non-transactional messages have `transaction: null`.
//!
//! Where Sluice differs: `data_collections` lists the collections in the order the transaction first touched them
//! (Debezium's order is a hash map's), and transactional logical decoding messages are counted under one collection,
//! `LOGICAL_DECODING_MESSAGE`, where Debezium's names a new object per message.
//!
//! The counts live here, in the encoder, for the one transaction being encoded. Nothing of them is stored: after a
//! restart the source sends the interrupted transaction again from its Begin, and the delivery loop counts the
//! events it does not write again (sluice-engine's pipeline), so the counts go on where they stopped.

use std::sync::Arc;

use sluice_core::{ChangeEvent, Lsn, Op, Payload, Position, Record, TableId, TransactionBoundary};

use crate::{json, render, Converter};

/// The data collection Sluice counts transactional logical decoding messages under.
const MESSAGE_COLLECTION: &str = "LOGICAL_DECODING_MESSAGE";

/// Connect's schema of the records' key: `io.debezium.connector.common.TransactionMetadataKey`.
pub(crate) const KEY_SCHEMA: &[u8] = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}],\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataKey\",\"version\":1}";

/// Connect's schema of the records' value: `io.debezium.connector.common.TransactionMetadataValue`, whose
/// `data_collections` items are `event.collection` structs.
pub(crate) const VALUE_SCHEMA: &[u8] = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],\"optional\":true,\"name\":\"event.collection\",\"version\":1},\"optional\":true,\"field\":\"data_collections\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataValue\",\"version\":1}";

/// The transaction being encoded.
struct Open {
    tx_id: u64,
    commit_lsn: Lsn,
    total: u64,
    /// Change records per data collection (`None`: logical decoding messages), in the order first seen.
    collections: Vec<(Option<TableId>, u64)>,
}

impl Open {
    fn slot(&self, table: Option<&TableId>) -> Option<usize> {
        self.collections.iter().position(|(id, _)| id.as_ref() == table)
    }
}

/// Where an event stands in its transaction before it is counted: enough to write its `transaction` block(s).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Order {
    tx_id: u64,
    lsn: Lsn,
    /// Change records of the transaction before this event.
    total: u64,
    /// Change records of the event's collection before this event.
    collection: u64,
    /// The collection's index in `Open::collections`; `None` for its first event.
    slot: Option<usize>,
}

impl Order {
    /// `{"id":…,"total_order":…,"data_collection_order":…}` of the event's `nth` change record (from 0).
    pub(crate) fn write_block(&self, out: &mut Vec<u8>, nth: u64) {
        out.extend_from_slice(b"{\"id\":\"");
        json::uint(out, self.tx_id);
        out.push(b':');
        json::uint(out, self.lsn.0);
        out.extend_from_slice(b"\",\"total_order\":");
        json::uint(out, self.total + nth + 1);
        out.extend_from_slice(b",\"data_collection_order\":");
        json::uint(out, self.collection + nth + 1);
        out.push(b'}');
    }
}

/// The transaction metadata state of one pipeline's encoder.
pub(crate) struct TransactionMonitor {
    topic: Arc<str>,
    value_schema: Arc<[u8]>,
    key_schema: Arc<[u8]>,
    open: Option<Open>,
}

impl TransactionMonitor {
    /// `topic`: `<topic.prefix>.<topic.transaction>`, before sanitizing.
    pub(crate) fn new(topic: &str) -> Self {
        TransactionMonitor {
            topic: Arc::from(crate::topic::sanitize(topic)),
            value_schema: Arc::from(VALUE_SCHEMA),
            key_schema: Arc::from(KEY_SCHEMA),
            open: None,
        }
    }

    /// The event's order in the open transaction; `None` for snapshot rows, non-transactional messages and
    /// anything outside the open transaction.
    pub(crate) fn order(&self, event: &ChangeEvent) -> Option<Order> {
        let open = self.open.as_ref()?;
        let transactional = match (&event.message, event.op) {
            (_, Op::Read) => false,
            (Some(m), _) => m.transactional,
            (None, _) => true,
        };
        if !transactional || event.source.position.commit_lsn != open.commit_lsn {
            return None;
        }
        let table = event.table.as_ref().map(|t| &t.id);
        let slot = open.slot(table);
        Some(Order {
            tx_id: open.tx_id,
            lsn: event.source.lsn,
            total: open.total,
            collection: slot.map_or(0, |i| open.collections[i].1),
            slot,
        })
    }

    /// Counts `records` change records of `event` at `order`.
    pub(crate) fn count(&mut self, event: &ChangeEvent, order: Order, records: u64) {
        let Some(open) = self.open.as_mut() else { return };
        open.total = order.total + records;
        match order.slot {
            Some(i) => open.collections[i].1 = order.collection + records,
            None => open.collections.push((event.table.as_ref().map(|t| t.id.clone()), records)),
        }
    }

    /// Opens the transaction; its BEGIN record goes to `out` when `write`.
    pub(crate) fn begin(
        &mut self,
        b: &TransactionBoundary,
        write: bool,
        key: &Converter,
        value: &Converter,
    ) -> Option<Record> {
        self.open = Some(Open { tx_id: b.tx_id, commit_lsn: b.commit_lsn, total: 0, collections: Vec::new() });
        write.then(|| self.record(b, None, key, value))
    }

    /// Closes the transaction; its END record, with the counts, when `write`.
    pub(crate) fn end(
        &mut self,
        b: &TransactionBoundary,
        write: bool,
        key: &Converter,
        value: &Converter,
    ) -> Option<Record> {
        let open = self.open.take().filter(|o| o.commit_lsn == b.commit_lsn);
        let empty = Open { tx_id: b.tx_id, commit_lsn: b.commit_lsn, total: 0, collections: Vec::new() };
        write.then(|| self.record(b, Some(open.as_ref().unwrap_or(&empty)), key, value))
    }

    /// A BEGIN record (`end: None`) or an END record with `end`'s counts.
    fn record(&self, b: &TransactionBoundary, end: Option<&Open>, key: &Converter, value: &Converter) -> Record {
        let mut id = Vec::with_capacity(32);
        id.push(b'"');
        json::uint(&mut id, b.tx_id);
        id.push(b':');
        json::uint(&mut id, b.lsn.0);
        id.push(b'"');
        let mut key_payload = b"{\"id\":".to_vec();
        key_payload.extend_from_slice(&id);
        key_payload.push(b'}');
        let mut payload = Vec::with_capacity(128);
        payload.extend_from_slice(if end.is_some() {
            b"{\"status\":\"END\",\"id\":"
        } else {
            b"{\"status\":\"BEGIN\",\"id\":"
        });
        payload.extend_from_slice(&id);
        match end {
            None => payload.extend_from_slice(b",\"event_count\":null,\"data_collections\":null"),
            Some(open) => {
                payload.extend_from_slice(b",\"event_count\":");
                json::uint(&mut payload, open.total);
                payload.extend_from_slice(b",\"data_collections\":[");
                for (i, (table, count)) in open.collections.iter().enumerate() {
                    if i > 0 {
                        payload.push(b',');
                    }
                    payload.extend_from_slice(b"{\"data_collection\":");
                    match table {
                        Some(t) => json::string(&mut payload, &format!("{}.{}", t.schema, t.table)),
                        None => json::string(&mut payload, MESSAGE_COLLECTION),
                    }
                    payload.extend_from_slice(b",\"event_count\":");
                    json::uint(&mut payload, *count);
                    payload.push(b'}');
                }
                payload.push(b']');
            }
        }
        payload.extend_from_slice(b",\"ts_ms\":");
        json::int(&mut payload, b.ts_us.div_euclid(1000));
        payload.push(b'}');
        let now_ms = sluice_core::unix_micros() / 1000;
        Record {
            topic: self.topic.clone(),
            partition: None,
            key: Some(convert(key, &self.key_schema, key_payload)),
            value: Some(convert(value, &self.value_schema, payload)),
            headers: Vec::new(),
            timestamp_ms: now_ms,
            position: Position::new(b.commit_lsn, 0),
        }
    }
}

/// The records through a converter, sharing the constant schema. With the `binary` converter, which Debezium defines
/// for byte-array values only, the JSON goes out as bytes, as the heartbeat's does.
fn convert(converter: &Converter, schema: &Arc<[u8]>, payload: Vec<u8>) -> Payload {
    match converter {
        Converter::Json { schemas_enable: true } => Payload::JsonWithSchema { schema: schema.clone(), payload },
        Converter::Binary => Payload::Binary(payload),
        other => render(other, schema, payload),
    }
}

#[cfg(test)]
mod tests;
