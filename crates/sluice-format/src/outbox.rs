//! The transactional outbox: Debezium's Outbox Event Router (`io.debezium.transforms.outbox.EventRouter`) and its
//! table-free variant through logical decoding messages
//! (`io.debezium.connector.postgresql.transforms.DecodeLogicalDecodingMessageContent`).
//!
//! A service writes its business rows and an event row in one transaction; the router turns each committed outbox
//! row into a clean domain event instead of a change-event envelope: the topic comes from the row's aggregate type
//! (`route.by.field`, `route.topic.regex`, `route.topic.replacement`), the key from its aggregate id
//! (`table.field.event.key`), the value is the payload column untouched (`table.field.event.payload`), the event id
//! goes out as header `id`, and `table.fields.additional.placement` puts more columns into headers, the value
//! envelope or the partition. Options, defaults and behaviour follow Debezium's router; where Debezium would throw
//! on a malformed row (a configured column missing), Sluice stops with an error naming the row and the option.
//!
//! Routed topics are sanitized for Kafka like table topics (crate::topic): `Ord/er ✓` goes to
//! `outbox.event.Ord_er__`, with a warning the first time. The router may send many aggregate types to one topic by
//! design, so two routes that meet only after sanitizing (`a/b` and `a_b`) are not an error: a warning names both
//! once and their events share the topic (Debezium checks nothing here; stopping would block the stream on a row
//! already committed). Sanitized routes are cached, at most [`ROUTE_CACHE`] of them.
//!
//! The router reads a row through [`OutboxRow`]: columns of a captured table, or the JSON object of a message's
//! content after [`decode_message_content`]. Both give the same [`Field`]s, so a message-based outbox yields the same
//! events as a table-based one for the same business transaction.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;
use serde_json::Value;
use sluice_core::{ChangeEvent, Datum, Op, Payload, Record, TableSchema};

use crate::{json, time, Converter};

/// `table.op.invalid.behavior`: what an UPDATE of an outbox row (or any operation but insert/read/delete) does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InvalidOpBehavior {
    /// Skip it with a warning (Debezium's default).
    #[default]
    Warn,
    /// Skip it with an error-level log line.
    Error,
    /// Stop Sluice.
    Fatal,
}

/// Where `table.fields.additional.placement` puts a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    Header,
    Envelope,
    Partition,
}

/// One `column:placement[:alias]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdditionalField {
    pub column: String,
    pub placement: Placement,
    pub alias: String,
}

/// `table.json.payload.null.behavior`: what an expanded JSON payload's null fields become in the value schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JsonNullBehavior {
    /// Left out of the inferred schema (and so of the value), as Debezium does by default.
    #[default]
    Ignore,
    /// Kept, typed as optional bytes.
    OptionalBytes,
}

/// The router's options, with Debezium's names in the comments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRouterOptions {
    /// `table.field.event.id` (`id`).
    pub event_id: String,
    /// `table.field.event.key` (`aggregateid`).
    pub event_key: String,
    /// `table.field.event.type` (`type`).
    pub event_type: String,
    /// `table.field.event.timestamp`: the message timestamp's column; unset: processing time.
    pub event_timestamp: Option<String>,
    /// `table.field.event.payload` (`payload`).
    pub payload: String,
    /// `table.field.event.schema.version`: the value schema's version column (JSON with schemas).
    pub schema_version: Option<String>,
    /// `table.fields.additional.placement`.
    pub additional: Vec<AdditionalField>,
    /// `table.fields.additional.error.on.missing` (`true`).
    pub additional_error_on_missing: bool,
    /// `route.by.field` (`aggregatetype`).
    pub route_by: String,
    /// `route.topic.regex` (`(?<routedByValue>.*)`).
    pub route_topic_regex: String,
    /// `route.topic.replacement` (`outbox.event.${routedByValue}`).
    pub route_topic_replacement: String,
    /// `route.tombstone.on.empty.payload` (`false`).
    pub tombstone_on_empty_payload: bool,
    /// `table.op.invalid.behavior` (`warn`).
    pub invalid_op: InvalidOpBehavior,
    /// `table.expand.json.payload` (`false`).
    pub expand_json_payload: bool,
    /// `table.json.payload.null.behavior` (`ignore`).
    pub json_null: JsonNullBehavior,
    /// `tracing.span.context.field` (`tracingspancontext`): a column of `key=value` lines (W3C trace context)
    /// whose entries become headers.
    pub tracing_span_context: String,
}

impl Default for EventRouterOptions {
    fn default() -> Self {
        EventRouterOptions {
            event_id: "id".into(),
            event_key: "aggregateid".into(),
            event_type: "type".into(),
            event_timestamp: None,
            payload: "payload".into(),
            schema_version: None,
            additional: Vec::new(),
            additional_error_on_missing: true,
            route_by: "aggregatetype".into(),
            route_topic_regex: "(?<routedByValue>.*)".into(),
            route_topic_replacement: "outbox.event.${routedByValue}".into(),
            tombstone_on_empty_payload: false,
            invalid_op: InvalidOpBehavior::Warn,
            expand_json_payload: false,
            json_null: JsonNullBehavior::Ignore,
            tracing_span_context: "tracingspancontext".into(),
        }
    }
}

/// Why a row stops the pipeline (everything else is logged and skipped or passed on, as Debezium does).
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("outbox row at {position} of {source_name}: column `{column}` (option `{option}`) does not exist; {fix}")]
    MissingColumn { position: String, source_name: String, column: String, option: &'static str, fix: &'static str },
    #[error("outbox row at {position} of {source_name}: a `{op}` operation, and table.op.invalid.behavior=fatal")]
    InvalidOperation { position: String, source_name: String, op: &'static str },
    #[error(
        "outbox row at {position}: the partition column `{column}` holds `{value}`, which is not a partition number"
    )]
    BadPartition { position: String, column: String, value: String },
    #[error("route.topic.regex `{0}` is not a valid regular expression: {1}")]
    BadRegex(String, String),
    /// An event the encoder could not encode: unwrap's (crate::unwrap), or the plain one in a transform chain.
    #[error("{0}")]
    Unwrap(#[from] crate::EncodeError),
    /// A record a transform of the chain cannot apply to (crate::transform::records).
    #[error("transform `{transform}`: {message}")]
    Record { transform: String, message: String },
}

/// A column value as the router needs it.
#[derive(Clone, Debug, PartialEq)]
pub enum Field<'a> {
    Null,
    /// Text of a text-like column (text, varchar, uuid, enum, …) or a JSON string.
    Str(Cow<'a, str>),
    /// JSON text: a `json`/`jsonb` column, or a nested object or array of a message's content.
    Json(Cow<'a, str>),
    Bytes(Vec<u8>),
    Int(i64),
    /// Any other number, as written.
    Number(Cow<'a, str>),
    Bool(bool),
    /// `timestamp` / `timestamptz`, in microseconds since the epoch (UTC).
    Timestamp(i64),
}

impl Field<'_> {
    /// The value as header text, as Kafka Connect's SimpleHeaderConverter renders it.
    fn header_text(&self) -> Option<Vec<u8>> {
        Some(match self {
            Field::Null => return None,
            Field::Str(s) | Field::Json(s) | Field::Number(s) => s.as_bytes().to_vec(),
            Field::Bytes(b) => b.clone(),
            Field::Int(i) => i.to_string().into_bytes(),
            Field::Bool(b) => b.to_string().into_bytes(),
            Field::Timestamp(us) => time::zoned_timestamp(i128::from(*us), 6).into_bytes(),
        })
    }

    /// The value as JSON (bytes as base64, as Connect's JsonConverter writes them).
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Field::Null => out.extend_from_slice(b"null"),
            Field::Str(s) => json::string(out, s),
            Field::Json(s) => json::string(out, s),
            Field::Bytes(b) => {
                use base64::Engine;
                json::string(out, &base64::engine::general_purpose::STANDARD.encode(b))
            }
            Field::Int(i) => json::int(out, *i),
            Field::Number(s) => out.extend_from_slice(s.as_bytes()),
            Field::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Field::Timestamp(us) => json::int(out, us.div_euclid(1000)),
        }
    }

    /// The Connect schema of [`write_json`](Self::write_json)'s output.
    fn schema(&self) -> &'static str {
        match self {
            Field::Null | Field::Str(_) => r#"{"type":"string","optional":true}"#,
            Field::Json(_) => r#"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1}"#,
            Field::Bytes(_) => r#"{"type":"bytes","optional":true}"#,
            Field::Int(_) => r#"{"type":"int64","optional":true}"#,
            Field::Number(_) => r#"{"type":"double","optional":true}"#,
            Field::Bool(_) => r#"{"type":"boolean","optional":true}"#,
            Field::Timestamp(_) => {
                r#"{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}"#
            }
        }
    }
}

/// An outbox row: a captured table's `after` image, or a decoded message's content.
pub enum OutboxRow<'a> {
    Table { schema: &'a TableSchema, tuple: &'a [Datum] },
    Message { content: serde_json::Map<String, Value> },
}

impl OutboxRow<'_> {
    /// `None` when the row has no such column; `Some(Field::Null)` for a NULL.
    pub fn field(&self, name: &str) -> Option<Field<'_>> {
        match self {
            OutboxRow::Table { schema, tuple } => {
                let i = schema.columns.iter().position(|c| c.name == name)?;
                let column = &schema.columns[i];
                let Some(text) = tuple.get(i).and_then(Datum::as_bytes) else { return Some(Field::Null) };
                let text = String::from_utf8_lossy(text);
                let oid = if column.base_type_oid != 0 { column.base_type_oid } else { column.type_oid };
                Some(match oid {
                    16 => Field::Bool(text == "t"),
                    20 | 21 | 23 => text.parse().map_or_else(|_| Field::Number(text), Field::Int),
                    700 | 701 | 1700 => Field::Number(text),
                    17 => match crate::types::decode_bytea(text.as_bytes()) {
                        Some(bytes) => Field::Bytes(bytes),
                        None => Field::Str(text),
                    },
                    114 | 3802 => Field::Json(text),
                    1114 => time::timestamp_number(&text, false).map_or(Field::Str(text), Field::Timestamp),
                    // ±infinity and instants beyond an i64 of microseconds stay text.
                    1184 => match time::timestamptz_micros(&text).and_then(|us| i64::try_from(us).ok()) {
                        Some(us) => Field::Timestamp(us),
                        None => Field::Str(text),
                    },
                    _ => Field::Str(text),
                })
            }
            OutboxRow::Message { content } => Some(match content.get(name)? {
                Value::Null => Field::Null,
                Value::String(s) => Field::Str(Cow::Borrowed(s)),
                Value::Bool(b) => Field::Bool(*b),
                Value::Number(n) => n.as_i64().map_or_else(|| Field::Number(Cow::Owned(n.to_string())), Field::Int),
                other => Field::Json(Cow::Owned(other.to_string())),
            }),
        }
    }
}

/// Debezium's `DecodeLogicalDecodingMessageContent`: a logical decoding message whose content is a JSON object
/// becomes a row with those fields. A message whose content is not a JSON object is logged and left as it is.
pub fn decode_message_content(event: &ChangeEvent) -> Option<OutboxRow<'static>> {
    let message = event.message.as_ref()?;
    match serde_json::from_slice::<Value>(&message.content) {
        Ok(Value::Object(content)) => Some(OutboxRow::Message { content }),
        Ok(_) | Err(_) => {
            tracing::warn!(prefix = %message.prefix, position = %event.source.position,
                "DecodeLogicalDecodingMessageContent: the message content is not a JSON object; passing the message on unchanged");
            None
        }
    }
}

/// At most this many routes keep their sanitized topic cached; beyond it the cache starts over (a bound against a
/// stream of ever new aggregate types, which would otherwise grow it without end).
pub const ROUTE_CACHE: usize = 1024;

/// The Outbox Event Router.
pub struct EventRouter {
    options: EventRouterOptions,
    topic_regex: Regex,
    /// `route.topic.replacement` in the regex crate's syntax (Java's `$1` and `${name}` mean the same there).
    replacement: String,
    key: Converter,
    value: Converter,
    /// Routed-by value → its sanitized topic.
    routes: HashMap<String, Arc<str>>,
    /// Sanitized topic → the unsanitized topic first routed to it, to notice routes that meet only once sanitized.
    route_owners: HashMap<Arc<str>, String>,
}

impl EventRouter {
    pub fn new(options: EventRouterOptions, key: Converter, value: Converter) -> Result<EventRouter, RouterError> {
        let topic_regex = crate::transform::java::regex(&options.route_topic_regex, true)
            .map_err(|e| RouterError::BadRegex(options.route_topic_regex.clone(), e))?;
        let replacement = options.route_topic_replacement.clone();
        Ok(EventRouter {
            options,
            topic_regex,
            replacement,
            key,
            value,
            routes: HashMap::new(),
            route_owners: HashMap::new(),
        })
    }

    /// The sanitized topic of a route, worked out (and any change logged) once per routed-by value.
    fn route_topic(&mut self, routed_text: &str, source_name: &str) -> Arc<str> {
        if let Some(topic) = self.routes.get(routed_text) {
            return topic.clone();
        }
        let name = if self.topic_regex.is_match(routed_text) {
            self.topic_regex.replace(routed_text, self.replacement.as_str()).into_owned()
        } else {
            source_name.to_string()
        };
        let topic: Arc<str> = Arc::from(crate::topic::sanitize(&name));
        if *topic != name {
            tracing::warn!(route = routed_text, topic = %topic,
                "outbox: the routed topic `{name}` is not a valid Kafka topic name; its events go to `{topic}`");
        }
        if self.routes.len() >= ROUTE_CACHE {
            self.routes.clear();
            self.route_owners.clear();
        }
        match self.route_owners.get(&topic) {
            Some(owner) if *owner != name => tracing::warn!(topic = %topic, first = %owner, second = %name,
                "outbox: two routes share one topic once sanitized; their events go to the same topic"),
            Some(_) => {}
            None => {
                self.route_owners.insert(topic.clone(), name);
            }
        }
        self.routes.insert(routed_text.to_string(), topic.clone());
        topic
    }

    /// Routes one event: appends zero or one record. `source_name` is the event's own topic: it names the outbox
    /// in errors and stays the topic when `route.topic.regex` does not match (as Kafka's RegexRouter does).
    pub fn route(
        &mut self,
        event: &ChangeEvent,
        row: Option<&OutboxRow<'_>>,
        source_name: &str,
        out: &mut Vec<Record>,
    ) -> Result<(), RouterError> {
        let position = event.source.position.to_string();
        match event.op {
            Op::Create | Op::Read | Op::Message => {}
            Op::Delete => {
                tracing::debug!(position = %position, "outbox: a deleted outbox row emits nothing");
                return Ok(());
            }
            op => {
                let message =
                    "outbox: only inserted rows become events; this operation is skipped (table.op.invalid.behavior)";
                match self.options.invalid_op {
                    InvalidOpBehavior::Warn => {
                        tracing::warn!(position = %position, op = op.code(), table = source_name, "{message}")
                    }
                    InvalidOpBehavior::Error => {
                        tracing::error!(position = %position, op = op.code(), table = source_name, "{message}")
                    }
                    InvalidOpBehavior::Fatal => {
                        return Err(RouterError::InvalidOperation {
                            position,
                            source_name: source_name.to_string(),
                            op: op.code(),
                        })
                    }
                }
                return Ok(());
            }
        }
        let Some(row) = row else { return Ok(()) };
        let required = |column: &str, option: &'static str, fix: &'static str| {
            row.field(column).ok_or_else(|| RouterError::MissingColumn {
                position: position.clone(),
                source_name: source_name.to_string(),
                column: column.to_string(),
                option,
                fix,
            })
        };
        let fix = "name the right column in the router's option, or add the column to the outbox";
        let event_id = required(&self.options.event_id, "table.field.event.id", fix)?;
        let key = required(&self.options.event_key, "table.field.event.key", fix)?;
        let payload = required(&self.options.payload, "table.field.event.payload", fix)?;
        let routed_by = required(&self.options.route_by, "route.by.field", fix)?;
        let routed_text = routed_by.header_text().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let topic = self.route_topic(&routed_text, source_name);

        let mut headers = Vec::new();
        if let Some(id) = event_id.header_text() {
            headers.push(("id".to_string(), id));
        }
        let mut envelope: Vec<(&str, Field<'_>)> = Vec::new();
        let mut partition = None;
        for extra in &self.options.additional {
            let Some(value) = row.field(&extra.column) else {
                if self.options.additional_error_on_missing {
                    return Err(RouterError::MissingColumn {
                        position,
                        source_name: source_name.to_string(),
                        column: extra.column.clone(),
                        option: "table.fields.additional.placement",
                        fix: "add the column, fix the placement, or set table.fields.additional.error.on.missing=false",
                    });
                }
                continue;
            };
            match extra.placement {
                Placement::Header => {
                    if let Some(text) = value.header_text() {
                        headers.push((extra.alias.clone(), text));
                    }
                }
                Placement::Envelope => envelope.push((&extra.alias, value)),
                Placement::Partition => {
                    partition = match value {
                        Field::Int(p) if (0..=i64::from(i32::MAX)).contains(&p) => Some(p as i32),
                        Field::Null => None,
                        other => {
                            return Err(RouterError::BadPartition {
                                position,
                                column: extra.column.clone(),
                                value: String::from_utf8_lossy(&other.header_text().unwrap_or_default()).into_owned(),
                            })
                        }
                    }
                }
            }
        }
        self.trace_headers(row, &mut headers);

        let timestamp_ms = match &self.options.event_timestamp {
            None => now_ms(),
            Some(column) => match required(column, "table.field.event.timestamp", fix)? {
                Field::Timestamp(us) => us.div_euclid(1000),
                Field::Int(ms) => ms,
                _ => now_ms(),
            },
        };
        let empty = matches!(&payload, Field::Null) || matches!(&payload, Field::Str(s) if s.is_empty());
        let value = if empty && self.options.tombstone_on_empty_payload {
            None
        } else {
            if matches!(payload, Field::Null) {
                tracing::warn!(position = %position, table = source_name,
                    "outbox row with a null payload: its event has a null value (set route.tombstone.on.empty.payload=true to make that explicit)");
            }
            self.value_payload(&payload, &envelope, row, &position)
        };
        out.push(Record {
            topic,
            partition,
            key: self.key_payload(&key),
            value,
            headers,
            timestamp_ms,
            position: event.source.position,
        });
        Ok(())
    }

    /// `tracing.*`: the span context column's `key=value` lines (e.g. `traceparent=00-…`) as headers.
    fn trace_headers(&self, row: &OutboxRow<'_>, headers: &mut Vec<(String, Vec<u8>)>) {
        let context = match row.field(&self.options.tracing_span_context) {
            Some(Field::Str(s)) | Some(Field::Json(s)) => s.into_owned(),
            _ => return,
        };
        for line in context.lines() {
            if let Some((k, v)) = line.split_once('=') {
                let (k, v) = (k.trim(), v.trim());
                if !k.is_empty() && !k.starts_with('#') {
                    headers.push((k.to_string(), v.as_bytes().to_vec()));
                }
            }
        }
    }

    fn key_payload(&self, key: &Field<'_>) -> Option<Payload> {
        if matches!(key, Field::Null) {
            return None;
        }
        Some(match &self.key {
            Converter::Binary | Converter::SimpleString => match key {
                Field::Bytes(b) if self.key == Converter::Binary => Payload::Binary(b.clone()),
                other => {
                    Payload::String(String::from_utf8_lossy(&other.header_text().unwrap_or_default()).into_owned())
                }
            },
            Converter::Json { schemas_enable } => {
                let mut payload = Vec::new();
                key.write_json(&mut payload);
                crate::render(&Converter::Json { schemas_enable: *schemas_enable }, key.schema().as_bytes(), payload)
            }
        })
    }

    fn value_payload(
        &self,
        payload: &Field<'_>,
        envelope: &[(&str, Field<'_>)],
        row: &OutboxRow<'_>,
        position: &str,
    ) -> Option<Payload> {
        if envelope.is_empty() {
            match (&self.value, payload) {
                (_, Field::Null) => return None,
                (Converter::Binary, Field::Bytes(b)) => return Some(Payload::Binary(b.clone())),
                (Converter::Binary | Converter::SimpleString, other) => {
                    let text = other.header_text().unwrap_or_default();
                    return Some(match self.value {
                        Converter::Binary => Payload::Binary(text),
                        _ => Payload::String(String::from_utf8_lossy(&text).into_owned()),
                    });
                }
                (Converter::Json { .. }, _) => {}
            }
        }
        let Converter::Json { schemas_enable } = self.value else {
            // Envelope fields with a non-JSON value converter: render the struct as JSON text.
            let (body, _) = self.value_json(payload, envelope, position);
            return Some(Payload::String(String::from_utf8_lossy(&body).into_owned()));
        };
        let (body, mut schema) = self.value_json(payload, envelope, position);
        let version = self.options.schema_version.as_ref().and_then(|c| row.field(c));
        if let (true, Some(Field::Int(v))) = (schemas_enable, version) {
            // The value schema gets the row's schema version (a JSON object, so it ends with `}`).
            schema.pop();
            schema.extend_from_slice(format!(",\"version\":{v}}}").as_bytes());
        }
        Some(crate::render(&self.value, &schema, body))
    }

    /// The JSON value and its Connect schema: the payload (expanded when asked), or a struct of the payload and
    /// the envelope fields.
    fn value_json(&self, payload: &Field<'_>, envelope: &[(&str, Field<'_>)], position: &str) -> (Vec<u8>, Vec<u8>) {
        let (payload_json, payload_schema) = self.payload_json(payload, position);
        if envelope.is_empty() {
            return (payload_json, payload_schema);
        }
        let mut body = b"{\"payload\":".to_vec();
        body.extend_from_slice(&payload_json);
        let mut schema = b"{\"type\":\"struct\",\"optional\":false,\"fields\":[".to_vec();
        push_field_schema(&mut schema, &payload_schema, "payload");
        for (name, value) in envelope {
            body.push(b',');
            json::string(&mut body, name);
            body.push(b':');
            value.write_json(&mut body);
            schema.push(b',');
            push_field_schema(&mut schema, value.schema().as_bytes(), name);
        }
        body.push(b'}');
        schema.extend_from_slice(b"]}");
        (body, schema)
    }

    fn payload_json(&self, payload: &Field<'_>, position: &str) -> (Vec<u8>, Vec<u8>) {
        if self.options.expand_json_payload {
            if let Field::Str(text) | Field::Json(text) = payload {
                match serde_json::from_str::<Value>(text) {
                    Ok(value) => {
                        let value = match self.options.json_null {
                            JsonNullBehavior::Ignore => without_nulls(value),
                            JsonNullBehavior::OptionalBytes => value,
                        };
                        let schema = infer_schema(&value).to_string().into_bytes();
                        return (value.to_string().into_bytes(), schema);
                    }
                    Err(e) => tracing::warn!(position, error = %e,
                        "table.expand.json.payload: the payload is not JSON; emitting it unchanged as a string"),
                }
            }
        }
        let mut body = Vec::new();
        payload.write_json(&mut body);
        (body, payload.schema().as_bytes().to_vec())
    }
}

fn push_field_schema(out: &mut Vec<u8>, schema: &[u8], name: &str) {
    // `{"type":…}` + `,"field":"name"` inside the braces.
    out.extend_from_slice(&schema[..schema.len() - 1]);
    out.extend_from_slice(b",\"field\":");
    json::string(out, name);
    out.push(b'}');
}

/// Object fields whose value is null are left out, at every depth (`table.json.payload.null.behavior=ignore`).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// A Connect schema for an expanded JSON payload, inferred from the value as Debezium infers it: objects are
/// structs, arrays take their first element's schema (an empty array is an optional array of strings), numbers
/// are int64 or double, nulls optional bytes.
fn infer_schema(value: &Value) -> Value {
    match value {
        Value::Null => serde_json::json!({"type": "bytes", "optional": true}),
        Value::Bool(_) => serde_json::json!({"type": "boolean", "optional": true}),
        Value::Number(n) if n.is_i64() || n.is_u64() => serde_json::json!({"type": "int64", "optional": true}),
        Value::Number(_) => serde_json::json!({"type": "double", "optional": true}),
        Value::String(_) => serde_json::json!({"type": "string", "optional": true}),
        Value::Array(items) => {
            let element =
                items.first().map_or_else(|| serde_json::json!({"type": "string", "optional": true}), infer_schema);
            serde_json::json!({"type": "array", "items": element, "optional": true})
        }
        Value::Object(map) => {
            let fields: Vec<Value> = map
                .iter()
                .map(|(name, v)| {
                    let mut schema = infer_schema(v);
                    schema["field"] = Value::String(name.clone());
                    schema
                })
                .collect();
            serde_json::json!({"type": "struct", "fields": fields, "optional": true})
        }
    }
}

fn now_ms() -> i64 {
    sluice_core::unix_micros() / 1000
}

#[cfg(test)]
mod tests;
