//! Debezium's PostgreSQL event format: topics, keys and value envelopes, with Kafka Connect's JSON converter.
//!
//! Consumers written for Debezium must keep working, so the envelope (`before`, `after`, `source`, `transaction`,
//! `op`, `ts_ms`/`ts_us`/`ts_ns`), the `source` block, the Connect schemas, the value representations and the JSON
//! layout (key order, Java's number printing) follow Debezium's PostgreSQL connector. The reference is what
//! Debezium 3.6 and Kafka's JsonConverter actually emit; where the prose docs' examples lag behind the code (they
//! still show `snapshot` as a boolean and no `transaction` field), the code wins. So the `source` schema has
//! `version: 1` and the `origin` / `origin_lsn` fields added in Debezium 3.5 (always null here).
//!
//! Deliberate differences, all in the `source` block:
//! - `version` is Sluice's version, not a Debezium release: it says which program produced the event.
//! - `sequence` is `["<commit LSN>","<ordinal>"]` — Sluice's position (commit LSN of the transaction, index of
//!   the event inside it), unique and ordered even when several rows share one WAL LSN (multi-row INSERT, COPY) —
//!   where Debezium puts `["<previous commit LSN>","<event LSN>"]`, which repeats for such rows.
//!
//! Speed: everything that depends only on a table (topic, key and envelope schemas as JSON bytes, each column's
//! converter, each field name escaped) is computed once per table version (a new `Arc<TableSchema>`) and cached; per
//! event the encoder only writes values straight into the output buffer, with no intermediate JSON trees. With
//! `schemas.enable` a record does not copy its table's schema (kilobytes, most of the record) but shares it
//! (`Payload::JsonWithSchema`): on the reference machine that copy alone was a third of the encoder's time.

pub mod columns;
mod decimal;
mod defaults;
mod hstore;
mod json;
pub mod naming;
pub mod outbox;
pub mod settings;
mod time;
pub mod topic;
mod transaction;
pub mod transform;
mod types;
pub mod unwrap;

use std::collections::HashMap;
use std::sync::Arc;

use sluice_core::{
    unix_micros, ChangeEvent, Datum, Op, Payload, Position, Record, ReplicaIdentity, TableId, TableSchema,
    TransactionBoundary, Tuple,
};

use columns::{ColumnOptions, ColumnPlan, ValueMapping};
use naming::Naming;
use transaction::{Order, TransactionMonitor};
use types::Kind;
use unwrap::{DeleteMode, MetaContext, Unwrap, UnwrapOptions};

/// A key or value converter (`debezium.format.key|value`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Converter {
    /// Kafka Connect's JsonConverter; with `schemas_enable` the JSON is `{"schema":…,"payload":…}`.
    Json { schemas_enable: bool },
    /// Kafka's StringConverter: a struct becomes Connect's `Struct{field=value,…}` text.
    SimpleString,
    /// Debezium's BinaryDataConverter: byte-array values only.
    Binary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalHandlingMode {
    Precise,
    Double,
    String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePrecisionMode {
    Adaptive,
    AdaptiveTimeMicroseconds,
    Connect,
    /// Debezium 3's `isostring`: ISO-8601 strings for date, time and timestamp.
    IsoString,
    /// Debezium 3's `microseconds`: MicroTime and MicroTimestamp whatever the column's precision.
    Microseconds,
    /// Debezium 3's `nanoseconds`: NanoTime and NanoTimestamp.
    Nanoseconds,
}

/// `interval.handling.mode`: microseconds (io.debezium.time.MicroDuration) or ISO-8601 strings
/// (io.debezium.time.Interval).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalHandlingMode {
    Numeric,
    String,
}

/// `hstore.handling.mode`: the map as a JSON string (io.debezium.data.Json) or as a Connect map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HStoreHandlingMode {
    Json,
    Map,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryHandlingMode {
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

/// Everything the encoder needs from the configuration.
#[derive(Clone, Debug)]
pub struct EncoderOptions {
    pub topic_prefix: String,
    pub database: String,
    pub key: Converter,
    pub value: Converter,
    pub decimal_handling_mode: DecimalHandlingMode,
    pub time_precision_mode: TimePrecisionMode,
    pub interval_handling_mode: IntervalHandlingMode,
    pub hstore_handling_mode: HStoreHandlingMode,
    pub binary_handling_mode: BinaryHandlingMode,
    pub unavailable_value_placeholder: String,
    pub include_unknown_datatypes: bool,
    pub money_fraction_digits: u8,
    pub tombstones_on_delete: bool,
    /// `message.key.columns` and the column mappers (crate::columns).
    pub columns: ColumnOptions,
    /// Topic, schema and field names (crate::naming).
    pub naming: Naming,
}

/// `event.processing.failure.handling.mode`: what the pipeline does with an event that cannot be encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailureHandlingMode {
    /// Stop with an error naming the table, the position and the column (Debezium's default).
    #[default]
    Fail,
    /// Skip the event, logging its position and the error at warn level.
    Warn,
    /// Skip the event, logging its position at info level.
    Skip,
}

/// An event that cannot be encoded; `event.processing.failure.handling.mode` decides whether Sluice stops or skips
/// it.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("tables {first} and {second} both map to the Kafka topic `{topic}` (under topic.naming.strategy, once sanitized); exclude one of them (table.exclude.list), rename it, or name topics by schema (SchemaTopicNamingStrategy, the default)")]
    TopicCollision { topic: String, first: String, second: String },
    #[error("{table}.{column} ({type_name}): {message}")]
    Value { table: String, column: String, type_name: String, message: String },
    #[error("a row of {table} has {got} values for {expected} columns")]
    RowShape { table: String, expected: usize, got: usize },
    #[error("a {op} event has no table")]
    NoTable { op: &'static str },
    #[error("the binary converter needs a byte-array value, but {what} is a struct: use json or simplestring here (binary is for payloads such as the outbox router's)")]
    BinaryNeedsBytes { what: &'static str },
}

/// What is cached per table version.
struct TableCache {
    schema: Arc<TableSchema>,
    topic: Arc<str>,
    kinds: Vec<Option<Kind>>,
    /// The key's columns, in key order: `message.key.columns`' where they name some, else the primary key's.
    key_columns: Vec<usize>,
    /// Per column, the rewrite a column mapper makes of its values (crate::columns), if any; empty when no column
    /// has one, so rows without mappers pay nothing per field.
    value_maps: Vec<Option<ValueMapping>>,
    key_schema: Arc<[u8]>,
    envelope_schema: Arc<[u8]>,
    /// The flattened value's schema, when the encoder unwraps (crate::unwrap).
    flat_schema: Option<Arc<[u8]>>,
    /// The row's own schema (the envelope's `after`), when the encoder unwraps: the schema of
    /// `delete.handling.mode=none`'s null value, to which Debezium adds no fields.
    row_value_schema: Option<Arc<[u8]>>,
    /// The size of the last encoded value, so the next buffer is allocated once at the right size.
    value_size_hint: std::cell::Cell<usize>,
    /// `"schema":"…","table":"…",` for the source block.
    source_table: Vec<u8>,
    /// `"<column>":` per column, escaped once here rather than for every row.
    field_heads: Vec<Box<[u8]>>,
    /// What a null value of each column is written as: its default's JSON where the column has one and the value
    /// converter is JSON (Kafka's JsonConverter replaces a null by the field's default, `replace.null.with.default`),
    /// else nothing (`null`).
    null_values: Vec<Option<Box<[u8]>>>,
    /// Whether the NaN/Infinity-as-null fallback of `decimal.handling.mode=precise` was logged for this table.
    special_decimal_logged: std::cell::Cell<bool>,
}

/// Turns change events into records.
pub struct Encoder {
    opts: EncoderOptions,
    tables: HashMap<u32, TableCache>,
    /// Each table topic handed out, with the table and relation it belongs to: two tables whose names sanitize
    /// alike (or whose dotted names meet, `"a.b".c` and `a."b.c"`) must not share a topic unnoticed.
    topic_owners: HashMap<Arc<str>, (TableId, u32)>,
    /// `{"version":…,"connector":"postgresql","name":…,"ts_ms":` — the constant start of every source block.
    source_head: Vec<u8>,
    /// `"db":"…",`.
    source_db: Vec<u8>,
    source_schema: Vec<u8>,
    message_topic: Arc<str>,
    message_value_schema: Vec<u8>,
    /// `ExtractNewRecordState`: values are the rows themselves rather than envelopes.
    unwrap: Option<Unwrap>,
    /// The last `txId` written, formatted.
    last_tx_id: json::RepeatedUint,
    /// `provide.transaction.metadata`: the open transaction's counts (crate::transaction); `None` when off.
    transactions: Option<Box<TransactionMonitor>>,
}

impl Encoder {
    pub fn new(opts: EncoderOptions) -> Self {
        let mut source_head = b"{\"version\":".to_vec();
        json::string(&mut source_head, env!("CARGO_PKG_VERSION"));
        source_head.extend_from_slice(b",\"connector\":\"postgresql\",\"name\":");
        json::string(&mut source_head, &opts.topic_prefix);
        source_head.extend_from_slice(b",\"ts_ms\":");
        let mut source_db = b"\"db\":".to_vec();
        json::string(&mut source_db, &opts.database);
        source_db.push(b',');
        let mut source_schema = Vec::new();
        types::write_source_schema(&mut source_schema);
        let message_topic = Arc::from(topic::sanitize(&format!("{}.message", opts.topic_prefix)));
        let message_value_schema = message_value_schema(&source_schema, opts.binary_handling_mode);
        Encoder {
            opts,
            tables: HashMap::new(),
            topic_owners: HashMap::new(),
            source_head,
            source_db,
            source_schema,
            message_topic,
            message_value_schema,
            unwrap: None,
            last_tx_id: json::RepeatedUint::default(),
            transactions: None,
        }
    }

    /// Debezium's transaction metadata (crate::transaction): BEGIN and END records on `topic`
    /// (`<topic.prefix>.<topic.transaction>`, sanitized here) and a `transaction` block in every streamed event.
    pub fn with_transaction_metadata(mut self, topic: &str) -> Self {
        self.transactions = Some(Box::new(TransactionMonitor::new(topic)));
        self
    }

    /// Whether this encoder counts transactions (`provide.transaction.metadata`).
    pub fn tracks_transactions(&self) -> bool {
        self.transactions.is_some()
    }

    /// A transaction begins: its events are counted from here, and its BEGIN record is appended to `out` when
    /// `write` (not when an earlier run delivered it).
    pub fn begin_transaction(&mut self, boundary: &TransactionBoundary, write: bool, out: &mut Vec<Record>) {
        if let Some(monitor) = self.transactions.as_mut() {
            out.extend(monitor.begin(boundary, write, &self.opts.key, &self.opts.value));
        }
    }

    /// A transaction ends: its END record, with what was counted, is appended to `out` when `write`.
    pub fn end_transaction(&mut self, boundary: &TransactionBoundary, write: bool, out: &mut Vec<Record>) {
        if let Some(monitor) = self.transactions.as_mut() {
            out.extend(monitor.end(boundary, write, &self.opts.key, &self.opts.value));
        }
    }

    /// Counts an event that a transform took instead of this encoder (the outbox router): as many change records as
    /// Debezium makes of it, two for a primary-key change.
    pub fn count_transaction_event(&mut self, event: &ChangeEvent) {
        let Some(monitor) = self.transactions.as_mut() else { return };
        if let Some(order) = monitor.order(event) {
            monitor.count(event, order, if changes_primary_key(event) { 2 } else { 1 });
        }
    }

    /// Encodes `event` with `format` (the unwrap transform's encoder) and counts its change records in this
    /// encoder's transaction.
    pub fn encode_as(
        &mut self,
        format: &mut Encoder,
        event: &ChangeEvent,
        out: &mut Vec<Record>,
    ) -> Result<(), EncodeError> {
        let order = self.transactions.as_ref().and_then(|m| m.order(event));
        let records = format.encode_ordered(event, None, out)?;
        if let (Some(order), Some(monitor)) = (order, self.transactions.as_mut()) {
            monitor.count(event, order, records);
        }
        Ok(())
    }

    /// An encoder whose values are the changed rows rather than envelopes, as Debezium's `ExtractNewRecordState`
    /// makes them (crate::unwrap); keys, topics and message events are unchanged.
    pub fn with_unwrap(mut self, options: &UnwrapOptions) -> Self {
        self.unwrap = Some(Unwrap::new(options));
        self
    }

    /// Appends the records for one event: the event itself, and a tombstone after a delete when
    /// `tombstones.on.delete` is on. An update that changes the primary key becomes, as in Debezium, a delete of
    /// the old key (header `__debezium.newkey`), its tombstone, and a create of the new key (header
    /// `__debezium.oldkey`).
    pub fn encode(&mut self, event: &ChangeEvent, out: &mut Vec<Record>) -> Result<(), EncodeError> {
        let Some(monitor) = &self.transactions else {
            self.encode_ordered(event, None, out)?;
            return Ok(());
        };
        let order = monitor.order(event);
        let records = self.encode_ordered(event, order, out)?;
        if let (Some(order), Some(monitor)) = (order, self.transactions.as_mut()) {
            monitor.count(event, order, records);
        }
        Ok(())
    }

    /// The records [`encode`](Self::encode) would append, without counting the event in its transaction: for a
    /// look at the envelope (what scripted transforms before unwrap are evaluated on) whose event is then encoded
    /// and counted by another encoder.
    pub fn encode_uncounted(&mut self, event: &ChangeEvent, out: &mut Vec<Record>) -> Result<(), EncodeError> {
        let order = self.transactions.as_ref().and_then(|m| m.order(event));
        self.encode_ordered(event, order, out).map(|_| ())
    }

    /// [`encode`](Self::encode), with the event's place in its transaction (`order`) for the envelopes' `transaction`
    /// block; returns how many change records Debezium makes of the event (what transaction metadata counts).
    fn encode_ordered(
        &mut self,
        event: &ChangeEvent,
        order: Option<Order>,
        out: &mut Vec<Record>,
    ) -> Result<u64, EncodeError> {
        let now = unix_micros();
        if event.op == Op::Message {
            self.encode_message(event, order, now, out)?;
            return Ok(1);
        }
        let schema = event.table.as_ref().ok_or(EncodeError::NoTable { op: event.op.code() })?;
        if event.op == Op::Truncate && self.unwrap.is_some() {
            // A truncate has no row to extract; Debezium's unwrap drops it (after counting it).
            return Ok(1);
        }
        let cache = match self.tables.get(&schema.relation_oid) {
            Some(c) if Arc::ptr_eq(&c.schema, schema) => c,
            _ => {
                let built = build_table(&self.opts, &self.source_schema, self.unwrap.as_ref(), schema);
                self.claim_topic(&built.topic, schema)?;
                self.tables.insert(schema.relation_oid, built);
                &self.tables[&schema.relation_oid]
            }
        };
        let key_payload = |row: Option<&Tuple>| -> Result<Option<Vec<u8>>, EncodeError> {
            match row {
                Some(row) if !cache.key_columns.is_empty() => {
                    let mut payload = Vec::with_capacity(32);
                    write_row(&mut payload, cache, &self.opts, row, Some(&cache.key_columns))?;
                    Ok(Some(payload))
                }
                _ => Ok(None),
            }
        };
        let key_of = |payload: Vec<u8>| convert_shared(&self.opts.key, &cache.key_schema, payload, "the key");

        if event.op == Op::Update {
            if let (Some(old), Some(new)) = (key_payload(event.before.as_ref())?, key_payload(event.after.as_ref())?) {
                if old != new {
                    let (old_key, new_key) = (key_of(old)?, key_of(new)?);
                    let header = |name: &str, key: &Payload| vec![(name.to_string(), key.bytes().to_vec())];
                    let delete_headers = header(PK_UPDATE_NEWKEY, &new_key);
                    let create_headers = header(PK_UPDATE_OLDKEY, &old_key);
                    let (before, after) = (event.before.as_ref(), event.after.as_ref());
                    let (first, second) = (order.map(|o| (o, 0)), order.map(|o| (o, 1)));
                    let old = Some(old_key.clone());
                    self.emit(cache, event, Op::Delete, before, None, old, delete_headers, first, now, out)?;
                    if self.opts.tombstones_on_delete {
                        self.tombstone(cache, event, old_key, now, out);
                    }
                    self.emit(cache, event, Op::Create, None, after, Some(new_key), create_headers, second, now, out)?;
                    return Ok(2);
                }
            }
        }

        // The key: primary-key columns of the new row (the old one for deletes); none for truncates.
        let key_row = match event.op {
            Op::Delete => event.before.as_ref(),
            Op::Truncate => None,
            _ => event.after.as_ref().or(event.before.as_ref()),
        };
        let key = key_payload(key_row)?.map(key_of).transpose()?;
        let (before, after) = (event.before.as_ref(), event.after.as_ref());
        let nth = order.map(|o| (o, 0));
        self.emit(cache, event, event.op, before, after, key.clone(), Vec::new(), nth, now, out)?;
        if event.op == Op::Delete && self.opts.tombstones_on_delete {
            if let Some(key) = key {
                self.tombstone(cache, event, key, now, out);
            }
        }
        Ok(1)
    }

    /// Appends one change's record: its envelope, or what the unwrap transform makes of it.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        cache: &TableCache,
        event: &ChangeEvent,
        op: Op,
        before: Option<&Tuple>,
        after: Option<&Tuple>,
        key: Option<Payload>,
        mut headers: Vec<(String, Vec<u8>)>,
        order: Option<(Order, u64)>,
        now: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), EncodeError> {
        let Some(unwrap) = &self.unwrap else {
            let value = self.envelope(cache, event, op, before, after, order, now)?;
            out.push(record(cache, event, key, Some(value), headers, now));
            return Ok(());
        };
        let ctx = MetaContext {
            event,
            op,
            now_us: now,
            topic_prefix: &self.opts.topic_prefix,
            database: &self.opts.database,
        };
        let row = match (op, unwrap.deletes) {
            (Op::Delete, DeleteMode::Drop) => return Ok(()),
            (Op::Delete, DeleteMode::Tombstone) => None,
            (Op::Delete, DeleteMode::NullValue) => {
                unwrap.headers(&ctx, &mut headers);
                let value = match &self.opts.value {
                    Converter::Json { schemas_enable: true } => {
                        let schema = cache.row_value_schema.clone().unwrap_or_else(|| cache.envelope_schema.clone());
                        Payload::JsonWithSchema { schema, payload: b"null".to_vec() }
                    }
                    Converter::Json { schemas_enable: false } => Payload::Json(b"null".to_vec()),
                    Converter::SimpleString | Converter::Binary => {
                        out.push(record(cache, event, key, None, headers, now));
                        return Ok(());
                    }
                };
                out.push(record(cache, event, key, Some(value), headers, now));
                return Ok(());
            }
            (Op::Delete, DeleteMode::Rewrite) => before,
            _ => after,
        };
        unwrap.headers(&ctx, &mut headers);
        let value = match row {
            Some(row) => {
                let mut payload = Vec::with_capacity(cache.value_size_hint.get());
                write_row(&mut payload, cache, &self.opts, row, None)?;
                unwrap.extend_row(&mut payload, &ctx);
                cache.value_size_hint.set(payload.len() + 64);
                let schema = cache.flat_schema.as_ref().unwrap_or(&cache.envelope_schema);
                Some(convert_shared(&self.opts.value, schema, payload, "the extracted row")?)
            }
            None => None,
        };
        out.push(record(cache, event, key, value, headers, now));
        Ok(())
    }

    /// Appends the tombstone that follows a delete, unless the unwrap transform drops tombstones.
    fn tombstone(&self, cache: &TableCache, event: &ChangeEvent, key: Payload, now: i64, out: &mut Vec<Record>) {
        if self.unwrap.as_ref().is_none_or(|u| u.keep_tombstones) {
            out.push(record(cache, event, Some(key), None, Vec::new(), now));
        }
    }

    /// Records that `topic` is `schema`'s table's; an error when another table's name sanitizes to it too. A
    /// table dropped and created again under its name, or renamed (same relation), keeps its claim.
    fn claim_topic(&mut self, topic: &Arc<str>, schema: &TableSchema) -> Result<(), EncodeError> {
        match self.topic_owners.get(topic) {
            Some((owner, oid)) if *owner != schema.id && *oid != schema.relation_oid => {
                Err(EncodeError::TopicCollision {
                    topic: topic.to_string(),
                    first: quoted_table(owner),
                    second: quoted_table(&schema.id),
                })
            }
            Some((owner, _)) if *owner == schema.id => Ok(()),
            _ => {
                // Logged once per table (not per table version: a Relation message after the snapshot is not news).
                let name = self.opts.naming.table_topic(&self.opts.topic_prefix, &schema.id);
                if **topic != name {
                    tracing::warn!(table = %schema.id, topic = %topic,
                        "the table's topic name `{name}` is not a valid Kafka topic name; its events go to `{topic}`");
                }
                self.topic_owners.insert(topic.clone(), (schema.id.clone(), schema.relation_oid));
                Ok(())
            }
        }
    }

    /// Checks a known table set (a snapshot's tables) for tables that would share a topic, before any of their
    /// rows is encoded; the error names the first two such tables.
    pub fn check_topics<'a>(&self, tables: impl IntoIterator<Item = &'a TableId>) -> Result<(), EncodeError> {
        let mut seen: HashMap<String, &TableId> = HashMap::new();
        for id in tables {
            let topic = topic::sanitize(&self.opts.naming.table_topic(&self.opts.topic_prefix, id)).into_owned();
            match seen.get(&topic) {
                Some(first) if *first != id => {
                    return Err(EncodeError::TopicCollision {
                        topic,
                        first: quoted_table(first),
                        second: quoted_table(id),
                    })
                }
                _ => {
                    seen.insert(topic, id);
                }
            }
        }
        Ok(())
    }

    /// The value of a row event: the envelope with `before`, `after`, `source`, `transaction`, `op` and `ts_*`;
    /// `order` is the event's place in its transaction and which of its change records this is.
    #[allow(clippy::too_many_arguments)]
    fn envelope(
        &self,
        cache: &TableCache,
        event: &ChangeEvent,
        op: Op,
        before: Option<&Tuple>,
        after: Option<&Tuple>,
        order: Option<(Order, u64)>,
        now: i64,
    ) -> Result<Payload, EncodeError> {
        let opts = &self.opts;
        let mut payload = Vec::with_capacity(cache.value_size_hint.get());
        payload.extend_from_slice(b"{\"before\":");
        match before {
            Some(row) => write_row(&mut payload, cache, opts, row, None)?,
            None => payload.extend_from_slice(b"null"),
        }
        payload.extend_from_slice(b",\"after\":");
        match after {
            Some(row) => write_row(&mut payload, cache, opts, row, None)?,
            None => payload.extend_from_slice(b"null"),
        }
        payload.extend_from_slice(b",\"source\":");
        self.write_source(&mut payload, event, &cache.source_table, event.source.tx_id);
        write_transaction(&mut payload, order);
        payload.extend_from_slice(b",\"op\":\"");
        payload.extend_from_slice(op.code().as_bytes());
        payload.extend_from_slice(b"\"");
        write_ts(&mut payload, now);
        payload.push(b'}');
        cache.value_size_hint.set(payload.len() + 64);
        convert_shared(&opts.value, &cache.envelope_schema, payload, "the change event envelope")
    }

    fn write_source(&self, out: &mut Vec<u8>, event: &ChangeEvent, source_table: &[u8], tx_id: Option<u64>) {
        let s = &event.source;
        out.extend_from_slice(&self.source_head);
        json::int(out, s.ts_us.div_euclid(1000));
        out.extend_from_slice(b",\"snapshot\":\"");
        out.extend_from_slice(s.snapshot.as_str().as_bytes());
        out.extend_from_slice(b"\",");
        out.extend_from_slice(&self.source_db);
        out.extend_from_slice(b"\"sequence\":\"[\\\"");
        json::uint(out, s.position.commit_lsn.0);
        out.extend_from_slice(b"\\\",\\\"");
        json::uint(out, s.position.ordinal);
        out.extend_from_slice(b"\\\"]\",\"ts_us\":");
        json::int(out, s.ts_us);
        out.extend_from_slice(b",\"ts_ns\":");
        json::int(out, s.ts_us.saturating_mul(1000));
        out.push(b',');
        out.extend_from_slice(source_table);
        out.extend_from_slice(b"\"txId\":");
        match tx_id {
            Some(x) => self.last_tx_id.write(out, x),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"lsn\":");
        json::uint(out, s.lsn.0);
        out.extend_from_slice(b",\"xmin\":null,\"origin\":null,\"origin_lsn\":null}");
    }

    /// A logical decoding message, shaped as Debezium's `LogicalDecodingMessageMonitor` shapes it: key
    /// `MessageKey{prefix}`, value `MessageValue{op, ts_ms, source, transaction, message{prefix, content}}` with
    /// the content per `binary.handling.mode`, and no `txId` for non-transactional messages.
    fn encode_message(
        &self,
        event: &ChangeEvent,
        order: Option<Order>,
        now: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), EncodeError> {
        let Some(message) = &event.message else { return Err(EncodeError::NoTable { op: "m" }) };
        let mut key = b"{\"prefix\":".to_vec();
        json::string(&mut key, &message.prefix);
        key.push(b'}');
        let mut value = b"{\"op\":\"m\",\"ts_ms\":".to_vec();
        json::int(&mut value, now / 1000);
        value.extend_from_slice(b",\"source\":");
        let tx_id = if message.transactional { event.source.tx_id } else { None };
        self.write_source(&mut value, event, b"\"schema\":\"\",\"table\":\"\",", tx_id);
        write_transaction(&mut value, order.map(|o| (o, 0)));
        value.extend_from_slice(b",\"message\":{\"prefix\":");
        json::string(&mut value, &message.prefix);
        value.extend_from_slice(b",\"content\":");
        types::write_binary(&mut value, &message.content, self.opts.binary_handling_mode);
        value.extend_from_slice(b"}}");
        out.push(Record {
            topic: self.message_topic.clone(),
            partition: None,
            key: Some(convert(&self.opts.key, MESSAGE_KEY_SCHEMA, key, "the message key")?),
            value: Some(convert(&self.opts.value, &self.message_value_schema, value, "the message event")?),
            headers: Vec::new(),
            timestamp_ms: now / 1000,
            position: event.source.position,
        });
        Ok(())
    }
}

impl Encoder {
    /// Debezium's heartbeat record (`heartbeat.interval.ms`): on `<topic.heartbeat.prefix>.<topic.prefix>` (joined
    /// with `topic.delimiter`), key
    /// `ServerNameKey{serverName}`, value `Heartbeat{ts_ms}`. It stands for no change, so it carries the position
    /// it is given (the last acknowledged one) and acknowledges nothing new. With the `binary` converter, which
    /// Debezium defines for byte-array values only, the payload goes out as JSON bytes.
    pub fn heartbeat(&self, heartbeat_prefix: &str, position: Position) -> Record {
        let now = unix_micros();
        let mut key = b"{\"serverName\":".to_vec();
        json::string(&mut key, &self.opts.topic_prefix);
        key.push(b'}');
        let mut value = b"{\"ts_ms\":".to_vec();
        json::int(&mut value, now / 1000);
        value.push(b'}');
        let heartbeat_convert = |converter: &Converter, schema: &[u8], payload: Vec<u8>| match converter {
            Converter::Binary => Payload::Binary(payload),
            other => render(other, schema, payload),
        };
        Record {
            topic: Arc::from(topic::sanitize(
                &self.opts.naming.heartbeat_topic(heartbeat_prefix, &self.opts.topic_prefix),
            )),
            partition: None,
            key: Some(heartbeat_convert(&self.opts.key, HEARTBEAT_KEY_SCHEMA, key)),
            value: Some(heartbeat_convert(&self.opts.value, HEARTBEAT_VALUE_SCHEMA, value)),
            headers: Vec::new(),
            timestamp_ms: now / 1000,
            position,
        }
    }
}

const HEARTBEAT_KEY_SCHEMA: &[u8] = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"serverName\"}],\"optional\":false,\"name\":\"io.debezium.connector.common.ServerNameKey\"}";
const HEARTBEAT_VALUE_SCHEMA: &[u8] = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],\"optional\":false,\"name\":\"io.debezium.connector.common.Heartbeat\"}";

const MESSAGE_KEY_SCHEMA: &[u8] = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"field\":\"prefix\"}],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.MessageKey\",\"version\":1}";

/// The Connect schema of a message event's value; only the content's type depends on configuration.
fn message_value_schema(source_schema: &[u8], mode: BinaryHandlingMode) -> Vec<u8> {
    let mut schema = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},".to_vec();
    schema.extend_from_slice(source_schema);
    schema.push(b',');
    schema.extend_from_slice(types::TRANSACTION_SCHEMA);
    schema.extend_from_slice(
        b",{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"field\":\"prefix\"},{\"type\":\"",
    );
    schema.extend_from_slice(if mode == BinaryHandlingMode::Bytes { b"bytes" } else { b"string" });
    schema.extend_from_slice(b"\",\"optional\":true,\"field\":\"content\"}],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Message\",\"version\":1,\"field\":\"message\"}],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.MessageValue\",\"version\":1}");
    schema
}

/// Debezium's headers on the two events a primary-key change becomes, each carrying the other key.
const PK_UPDATE_NEWKEY: &str = "__debezium.newkey";
const PK_UPDATE_OLDKEY: &str = "__debezium.oldkey";

fn record(
    cache: &TableCache,
    event: &ChangeEvent,
    key: Option<Payload>,
    value: Option<Payload>,
    headers: Vec<(String, Vec<u8>)>,
    now_us: i64,
) -> Record {
    Record {
        topic: cache.topic.clone(),
        partition: None,
        key,
        value,
        headers,
        timestamp_ms: now_us / 1000,
        position: event.source.position,
    }
}

/// `,"transaction":…`: the block of an event's `nth` change record in its transaction, or null.
fn write_transaction(out: &mut Vec<u8>, order: Option<(Order, u64)>) {
    out.extend_from_slice(b",\"transaction\":");
    match order {
        Some((order, nth)) => order.write_block(out, nth),
        None => out.extend_from_slice(b"null"),
    }
}

/// Whether an update changes the primary key (Debezium then makes a delete and a create of it), judged on the
/// primary key's values as they came.
fn changes_primary_key(event: &ChangeEvent) -> bool {
    let (Some(table), Some(before), Some(after)) = (&event.table, &event.before, &event.after) else { return false };
    event.op == Op::Update
        && table.columns.iter().enumerate().any(|(i, c)| {
            c.primary_key && before.get(i) != after.get(i) && !matches!(after.get(i), Some(Datum::Unchanged))
        })
}

fn write_ts(out: &mut Vec<u8>, now_us: i64) {
    out.extend_from_slice(b",\"ts_ms\":");
    json::int(out, now_us / 1000);
    out.extend_from_slice(b",\"ts_us\":");
    json::int(out, now_us);
    out.extend_from_slice(b",\"ts_ns\":");
    json::int(out, now_us.saturating_mul(1000));
}

/// `"schema"."table"`, unambiguous where the names hold dots or spaces.
fn quoted_table(id: &TableId) -> String {
    format!("\"{}\".\"{}\"", id.schema.replace('"', "\"\""), id.table.replace('"', "\"\""))
}

fn build_table(
    opts: &EncoderOptions,
    source_schema: &[u8],
    unwrap: Option<&Unwrap>,
    schema: &Arc<TableSchema>,
) -> TableCache {
    let id = &schema.id;
    let naming = &opts.naming;
    let base = naming.table_topic(&opts.topic_prefix, id);
    let topic: Arc<str> = Arc::from(topic::sanitize(&base));
    let kinds: Vec<Option<Kind>> = schema
        .columns
        .iter()
        .map(|c| {
            let kind = types::kind_of(c, opts);
            if kind.is_none() {
                tracing::warn!(table = %id, column = %c.name, type_name = %c.type_name,
                    "column type is not supported; the column is left out of events (set include.unknown.datatypes=true to get its text as bytes)");
            }
            kind
        })
        .collect();
    let defaults: Vec<Option<Box<[u8]>>> = schema
        .columns
        .iter()
        .zip(&kinds)
        .map(|(c, kind)| kind.as_ref().and_then(|k| defaults::default_json(c, k)).map(Vec::into_boxed_slice))
        .collect();
    let key_columns: Vec<usize> = match opts.columns.key_columns(schema) {
        Some(columns) => {
            let columns: Vec<usize> = columns.into_iter().filter(|i| kinds[*i].is_some()).collect();
            warn_unlogged_key_columns(schema, &columns);
            columns
        }
        None => (0..schema.columns.len()).filter(|&i| schema.columns[i].primary_key && kinds[i].is_some()).collect(),
    };
    let plans: Vec<ColumnPlan> = schema
        .columns
        .iter()
        .zip(&kinds)
        .map(|(c, kind)| kind.as_ref().map(|k| opts.columns.plan(schema, c, k)).unwrap_or_default())
        .collect();

    // The key's fields in key order, as Debezium's key schema lists them, and with no mapper's parameters (Debezium
    // builds key fields without the column mappers); the row's in column order, with them.
    let fields = |out: &mut Vec<u8>, key: Option<&[usize]>| {
        let all: Vec<usize> = (0..schema.columns.len()).collect();
        let mut first = true;
        for &i in key.unwrap_or(&all) {
            let Some(kind) = &kinds[i] else { continue };
            let c = &schema.columns[i];
            if !first {
                out.push(b',');
            }
            first = false;
            let params = if key.is_some() { None } else { plans[i].params.as_deref() };
            let field = naming.field_name(&c.name);
            kind.write_schema(out, c.nullable && !c.primary_key, defaults[i].as_deref(), Some(&field), params);
        }
    };
    let mut key_schema = b"{\"type\":\"struct\",\"fields\":[".to_vec();
    fields(&mut key_schema, Some(&key_columns));
    key_schema.extend_from_slice(b"],\"optional\":false,\"name\":");
    json::string(&mut key_schema, &naming.schema_name(&format!("{base}.Key")));
    key_schema.push(b'}');

    let mut row_schema = b"{\"type\":\"struct\",\"fields\":[".to_vec();
    fields(&mut row_schema, None);
    // Unwrapped: the row's schema, extended and so no longer optional when fields are added (crate::unwrap).
    let value_schema = |extend: Option<&Unwrap>| {
        let mut flat = row_schema.clone();
        let comma = flat.last() != Some(&b'[');
        if let Some(u) = extend {
            u.write_extra_schema(&mut flat, comma);
        }
        let extended = extend.is_some_and(Unwrap::extends_row);
        flat.extend_from_slice(if extended {
            b"],\"optional\":false,\"name\":"
        } else {
            b"],\"optional\":true,\"name\":"
        });
        json::string(&mut flat, &naming.schema_name(&format!("{base}.Value")));
        flat.push(b'}');
        Arc::<[u8]>::from(flat)
    };
    let flat_schema = unwrap.map(|u| value_schema(Some(u)));
    let row_value_schema = unwrap.map(|_| value_schema(None));
    row_schema.extend_from_slice(b"],\"optional\":true,\"name\":");
    json::string(&mut row_schema, &naming.schema_name(&format!("{base}.Value")));
    let row_schema_with_field = |field: &str| {
        let mut s = row_schema.clone();
        s.extend_from_slice(b",\"field\":\"");
        s.extend_from_slice(field.as_bytes());
        s.extend_from_slice(b"\"}");
        s
    };
    let mut envelope_schema = b"{\"type\":\"struct\",\"fields\":[".to_vec();
    envelope_schema.extend_from_slice(&row_schema_with_field("before"));
    envelope_schema.push(b',');
    envelope_schema.extend_from_slice(&row_schema_with_field("after"));
    envelope_schema.push(b',');
    envelope_schema.extend_from_slice(source_schema);
    envelope_schema.push(b',');
    envelope_schema.extend_from_slice(types::TRANSACTION_SCHEMA);
    envelope_schema.extend_from_slice(
        b",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},\
          {\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}],\"optional\":false,\"name\":",
    );
    json::string(&mut envelope_schema, &naming.schema_name(&format!("{base}.Envelope")));
    envelope_schema.extend_from_slice(b",\"version\":2}");

    let mut source_table = b"\"schema\":".to_vec();
    json::string(&mut source_table, &id.schema);
    source_table.extend_from_slice(b",\"table\":");
    json::string(&mut source_table, &id.table);
    source_table.push(b',');

    let field_heads = schema
        .columns
        .iter()
        .map(|c| {
            let mut head = Vec::with_capacity(c.name.len() + 3);
            json::string(&mut head, &naming.field_name(&c.name));
            head.push(b':');
            head.into_boxed_slice()
        })
        .collect();
    let value_size_hint = std::cell::Cell::new(512);
    let null_values = match opts.value {
        Converter::Json { .. } => defaults,
        Converter::SimpleString | Converter::Binary => vec![None; schema.columns.len()],
    };
    TableCache {
        field_heads,
        null_values,
        schema: schema.clone(),
        topic,
        kinds,
        key_columns,
        value_maps: {
            let maps: Vec<Option<ValueMapping>> = plans.into_iter().map(|p| p.value).collect();
            if maps.iter().any(Option::is_some) {
                maps
            } else {
                Vec::new()
            }
        },
        key_schema: key_schema.into(),
        envelope_schema: envelope_schema.into(),
        flat_schema,
        row_value_schema,
        value_size_hint,
        source_table,
        special_decimal_logged: std::cell::Cell::new(false),
    }
}

/// Under `message.key.columns`, Debezium's documentation warns that a delete's key (and so its tombstone) lacks key
/// columns outside the replica identity: PostgreSQL logs only the identity's old values. Said once per table version,
/// where the key is chosen.
fn warn_unlogged_key_columns(schema: &TableSchema, key_columns: &[usize]) {
    if schema.replica_identity == ReplicaIdentity::Full {
        return;
    }
    let unlogged: Vec<&str> =
        key_columns.iter().map(|&i| &schema.columns[i]).filter(|c| !c.primary_key).map(|c| c.name.as_str()).collect();
    if !unlogged.is_empty() {
        tracing::warn!(table = %schema.id, columns = ?unlogged,
            "message.key.columns makes these columns part of the key, but PostgreSQL does not log their old values under the table's replica identity: deletes (and their tombstones) and key changes will have them null; set REPLICA IDENTITY FULL, as Debezium advises");
    }
}

/// Writes a row as a JSON object: every column in column order, with the column mappers' rewrites (`key: None`), or
/// just the key's columns in key order, as they are (`key: Some`).
fn write_row(
    out: &mut Vec<u8>,
    cache: &TableCache,
    opts: &EncoderOptions,
    row: &Tuple,
    key: Option<&[usize]>,
) -> Result<(), EncodeError> {
    let columns = &cache.schema.columns;
    if row.len() != columns.len() {
        return Err(EncodeError::RowShape {
            table: cache.schema.id.to_string(),
            expected: columns.len(),
            got: row.len(),
        });
    }
    out.push(b'{');
    let mut first = true;
    match key {
        Some(key) => {
            for &i in key {
                write_field(out, cache, opts, &row[i], i, &mut first, false)?;
            }
        }
        None => {
            for (i, datum) in row.iter().enumerate() {
                write_field(out, cache, opts, datum, i, &mut first, true)?;
            }
        }
    }
    out.push(b'}');
    Ok(())
}

/// Writes column `i`'s `"name":value`, unless its type is left out of events. Inlined into both loops of
/// [`write_row`]: it runs once per column of every event.
#[inline(always)]
fn write_field(
    out: &mut Vec<u8>,
    cache: &TableCache,
    opts: &EncoderOptions,
    datum: &Datum,
    i: usize,
    first: &mut bool,
    mapped: bool,
) -> Result<(), EncodeError> {
    let Some(kind) = &cache.kinds[i] else { return Ok(()) };
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.extend_from_slice(&cache.field_heads[i]);
    let start = out.len();
    match datum {
        Datum::Null => out.extend_from_slice(cache.null_values[i].as_deref().unwrap_or(b"null")),
        Datum::Unchanged => kind.write_placeholder(out, &opts.unavailable_value_placeholder),
        Datum::Text(text) => {
            if let Err(message) = kind.write_value(out, text) {
                out.truncate(start);
                // A NaN or infinite numeric has no Decimal form (Debezium fails here); a column that may be
                // null gets null rather than blocking the stream (docs/events.md#values-debezium-cannot-encode).
                let column = &cache.schema.columns[i];
                let optional = column.nullable && !column.primary_key;
                if optional && kind.is_precise_decimal() && types::is_special_numeric(text) {
                    if !cache.special_decimal_logged.replace(true) {
                        tracing::warn!(table = %cache.schema.id, column = %column.name,
                            "a NaN or infinite numeric becomes null under decimal.handling.mode=precise (Connect's Decimal cannot hold it); set decimal.handling.mode=string to keep it (logged once per table)");
                    }
                    out.extend_from_slice(b"null");
                } else {
                    return Err(EncodeError::Value {
                        table: cache.schema.id.to_string(),
                        column: column.name.clone(),
                        type_name: column.type_name.clone(),
                        message,
                    });
                }
            }
        }
    }
    if mapped {
        if let Some(Some(mapping)) = cache.value_maps.get(i) {
            mapping.rewrite(out, start, matches!(datum, Datum::Null));
        }
    }
    Ok(())
}

/// Applies a converter to a struct payload.
fn convert(converter: &Converter, schema: &[u8], payload: Vec<u8>, what: &'static str) -> Result<Payload, EncodeError> {
    match converter {
        Converter::Binary => Err(EncodeError::BinaryNeedsBytes { what }),
        other => Ok(render(other, schema, payload)),
    }
}

/// [`convert`] for a schema shared by many records (a table's key and envelope schemas): with `schemas.enable`,
/// records share the schema rather than each carrying a copy of it.
fn convert_shared(
    converter: &Converter,
    schema: &Arc<[u8]>,
    payload: Vec<u8>,
    what: &'static str,
) -> Result<Payload, EncodeError> {
    match converter {
        Converter::Json { schemas_enable: true } => Ok(Payload::JsonWithSchema { schema: schema.clone(), payload }),
        other => convert(other, schema, payload, what),
    }
}

/// A struct payload through a JSON or string converter (the `binary` converter takes no structs).
pub(crate) fn render(converter: &Converter, schema: &[u8], payload: Vec<u8>) -> Payload {
    match converter {
        Converter::Json { schemas_enable: false } => Payload::Json(payload),
        // `Payload` alone knows the `{"schema":…,"payload":…}` layout; a one-off schema gets an `Arc` of its own.
        Converter::Json { schemas_enable: true } => Payload::JsonWithSchema { schema: Arc::from(schema), payload },
        Converter::SimpleString | Converter::Binary => Payload::String(struct_string(&payload)),
    }
}

/// Connect's `Struct.toString()`: `Struct{a=1,b=x}`, null fields left out.
fn struct_string(payload: &[u8]) -> String {
    fn render(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(map) => {
                out.push_str("Struct{");
                let mut first = true;
                for (k, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(k);
                    out.push('=');
                    render(v, out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    render(item, out);
                }
                out.push(']');
            }
            serde_json::Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(v) => render(&v, &mut out),
        Err(_) => out.push_str(&String::from_utf8_lossy(payload)),
    }
    out
}

#[cfg(test)]
mod tests;
