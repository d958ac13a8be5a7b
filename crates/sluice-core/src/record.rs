//! What sinks take.

use std::future::Future;
use std::sync::Arc;

use crate::Position;

/// An encoded key or value, tagged with how it was encoded so that sinks which render records as text (file,
/// stdout) can embed it faithfully; byte-oriented sinks (Kafka) take [`Payload::bytes`] or
/// [`Payload::append_to`].
#[derive(Clone, Debug)]
pub enum Payload {
    /// A JSON document (the `json` converter).
    Json(Vec<u8>),
    /// A JSON document with its Connect schema, `{"schema":<schema>,"payload":<payload>}` (the `json` converter with
    /// `schemas.enable`), kept in two parts. Why: the schema is the same for every record of a table version and is
    /// most of the record (kilobytes against a few hundred bytes of payload); copying it into every record was a third
    /// of the encoder's CPU in the snapshot benchmark.
    JsonWithSchema { schema: Arc<[u8]>, payload: Vec<u8> },
    /// A plain string (the `simplestring` converter).
    String(String),
    /// Opaque bytes (the `binary` converter).
    Binary(Vec<u8>),
}

const SCHEMA_HEAD: &[u8] = b"{\"schema\":";
const PAYLOAD_HEAD: &[u8] = b",\"payload\":";

impl Payload {
    /// The bytes in one piece: borrowed, except for [`Payload::JsonWithSchema`], which is assembled in a new buffer
    /// (a hot path reuses one with [`bytes_in`](Self::bytes_in)).
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self.borrowed() {
            Some(b) => b.into(),
            None => {
                let mut out = Vec::with_capacity(self.len());
                self.append_to(&mut out);
                out.into()
            }
        }
    }

    /// The bytes in one piece: borrowed, or for [`Payload::JsonWithSchema`] assembled in `scratch` (cleared first).
    pub fn bytes_in<'a>(&'a self, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        match self.borrowed() {
            Some(b) => b,
            None => {
                scratch.clear();
                self.append_to(scratch);
                scratch
            }
        }
    }

    /// The bytes when they are already in one piece.
    fn borrowed(&self) -> Option<&[u8]> {
        match self {
            Payload::Json(b) | Payload::Binary(b) => Some(b),
            Payload::String(s) => Some(s.as_bytes()),
            Payload::JsonWithSchema { .. } => None,
        }
    }

    /// Appends the bytes to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Json(b) | Payload::Binary(b) => out.extend_from_slice(b),
            Payload::String(s) => out.extend_from_slice(s.as_bytes()),
            Payload::JsonWithSchema { schema, payload } => {
                out.extend_from_slice(SCHEMA_HEAD);
                out.extend_from_slice(schema);
                out.extend_from_slice(PAYLOAD_HEAD);
                out.extend_from_slice(payload);
                out.push(b'}');
            }
        }
    }

    /// The length of [`bytes`](Self::bytes).
    pub fn len(&self) -> usize {
        match self {
            Payload::Json(b) | Payload::Binary(b) => b.len(),
            Payload::String(s) => s.len(),
            Payload::JsonWithSchema { schema, payload } => {
                SCHEMA_HEAD.len() + schema.len() + PAYLOAD_HEAD.len() + payload.len() + 1
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes are a JSON document (so a text sink embeds them as they are).
    pub fn is_json(&self) -> bool {
        matches!(self, Payload::Json(_) | Payload::JsonWithSchema { .. })
    }
}

/// Payloads are equal when they carry the same bytes in the same encoding, however the bytes are held.
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        let kind = |p: &Payload| match p {
            Payload::Json(_) | Payload::JsonWithSchema { .. } => 0,
            Payload::String(_) => 1,
            Payload::Binary(_) => 2,
        };
        kind(self) == kind(other) && self.bytes() == other.bytes()
    }
}

impl Eq for Payload {}

/// One message for a sink: a Kafka record's fields, plus the position it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub topic: Arc<str>,
    pub partition: Option<i32>,
    pub key: Option<Payload>,
    /// `None` is a tombstone.
    pub value: Option<Payload>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub timestamp_ms: i64,
    pub position: Position,
}

/// A sink's failure, split the way the pipeline must react to it.
///
/// `retriable: true` says the same batch may succeed if written again to the same sink: a broker that is down or
/// electing a leader, a timeout, a connection reset. The pipeline then waits (with back-off) and calls
/// [`Sink::write`] again with that batch. `retriable: false` says no retry will fix it — a record over the size
/// limit, missing authorisation, a closed pipe, a configuration the destination rejects — and stops the run; the
/// message then names what failed (the topic, the path) and, where there is one, the fix, because the operator
/// reads it in the log. The error policy (`crate::policy`) names the two `SinkUnavailable` (retry the batch) and
/// `SinkRejected` (stop).
#[derive(Debug, thiserror::Error)]
#[error("{sink} sink: {message}")]
pub struct SinkError {
    pub sink: &'static str,
    pub retriable: bool,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// A destination for records: the contract every sink is written against (DESIGN §2, "Acknowledgement" and
/// "Order"). `sluice_sinks::conformance` is the shared suite that checks a sink keeps it; every sink runs it.
///
/// **Who calls it, and when.** One pipeline owns the sink and calls it from one task, one call at a time: the
/// next [`write`](Sink::write) starts only after the previous one returned or was dropped, and
/// [`close`](Sink::close) is the last call. Nothing here needs to be `Sync`.
///
/// **Order.** Batches are given in order, and records within a batch are in order. A sink delivers them so that a
/// reader of the destination sees the records of one key in the order given — across batches as well as within
/// one. (Kafka: the same key goes to the same partition, and the producer keeps order per partition across its own
/// retries.) Across keys nothing is promised, so a sink may deliver in parallel.
///
/// **What `Ok` means.** `write` returns `Ok` only once every record of the batch is durable at the destination and
/// an independent reader can read it: Kafka acknowledged it (`acks=all` by default), a file was fsynced, stdout was
/// flushed into its pipe. The pipeline then confirms the batch's positions to PostgreSQL, which may discard the WAL
/// for good, so an early `Ok` is lost data. An `Err` acknowledges nothing, even when part of the batch arrived.
///
/// **A failed batch is written again, with everything after it.** After an `Err` nothing is acknowledged, and the
/// pipeline either calls `write` again with the same batch (a retriable error) or stops, and a later run opens a new
/// sink and writes the batch again from the last acknowledged position (a fatal error). So records that reached the
/// destination before the failure arrive twice: readers see repeats, never gaps. A sink must therefore leave the
/// destination readable after a failure — no half record (the file sink cuts a partial line back off) — and must
/// not skip, on the retry, what it believes it already delivered.
///
/// **Cancellation.** The future `write` returns may be dropped at any await point (shutdown, a timeout, a task
/// aborted after a fault elsewhere). Dropping it acknowledges nothing: the batch counts as not written and will be
/// written again, with everything after it. The sink must stay usable and its destination must stay well-formed:
/// work it handed off (a blocking write, messages queued in a client library) either completes or fails before the
/// next `write` or `close` touches the destination, and never interleaves with it inside a record. So a sink keeps
/// what it needs to resume in `self`, not in the future: the file sink keeps its in-flight blocking write, the stdout
/// sink the unwritten rest of its buffer.
///
/// **Empty batches.** `write(&[])` returns `Ok` and writes nothing.
///
/// **Size.** A record the destination can never take (Kafka: over `message.max.bytes`) fails the batch with a fatal
/// error naming the topic, the size and the setting to raise; it is not retried and not dropped. Sinks without a
/// limit (file, stdout) take records of any size whole.
///
/// **Close.** [`close`](Sink::close) is called once, when the pipeline ends after its last acknowledged batch. It
/// returns once nothing the sink accepted is still in flight — a cancelled write's remainder has landed or failed,
/// buffers are flushed, client queues drained — and the destination is released. Records of unacknowledged batches
/// that `close` delivers are repeats-to-be, which the contract allows. A dropped sink that was not closed loses only
/// unacknowledged records. The default does nothing, for sinks that hold nothing between writes.
///
/// **Health.** [`health`](Sink::health) says whether the destination is reachable and would take a write now,
/// without writing anything (Kafka: a metadata request to the brokers). The pipeline asks once before its first
/// batch, so that an unreachable destination ends the run at once with the sink's own error — retriable, so the
/// supervisor retries it with back-off and the status shows why — instead of a source that snapshots and streams
/// into a write that can only time out. It is a probe, not a promise: a later write may still fail. The default
/// answers `Ok`, for sinks whose `open` already proved the destination (a file opened for appending).
pub trait Sink: Send {
    /// The sink's name as in `debezium.sink.type`, for logs and errors.
    fn name(&self) -> &'static str;

    /// Delivers one batch, returning `Ok` only once all of it is durable (see the trait's contract).
    fn write(&mut self, batch: &[Record]) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Settles everything in flight and releases the destination; the last call on the sink.
    fn close(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        async { Ok(()) }
    }

    /// Whether the destination is reachable now (see the trait's contract); writes nothing.
    fn health(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        async { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_held_in_parts_reads_as_one_connect_json_document_and_equals_it_whole() {
        let parts = Payload::JsonWithSchema { schema: Arc::from(&b"{\"type\":\"int32\"}"[..]), payload: b"7".to_vec() };
        let whole = br#"{"schema":{"type":"int32"},"payload":7}"#;
        assert_eq!(&*parts.bytes(), whole);
        assert_eq!(parts.len(), whole.len());
        let mut scratch = b"left over".to_vec();
        assert_eq!(parts.bytes_in(&mut scratch), whole);
        assert_eq!(parts, Payload::Json(whole.to_vec()));
        assert_ne!(parts, Payload::String(String::from_utf8(whole.to_vec()).unwrap()));
        // Payloads already in one piece are borrowed, not copied into the scratch buffer.
        let json = Payload::Json(b"{}".to_vec());
        let mut untouched = Vec::new();
        assert_eq!(json.bytes_in(&mut untouched), b"{}");
        assert!(untouched.is_empty());
    }
}
