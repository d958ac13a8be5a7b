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
#[derive(Debug, thiserror::Error)]
#[error("{sink} sink: {message}")]
pub struct SinkError {
    pub sink: &'static str,
    pub retriable: bool,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// A destination for records.
///
/// The contract (DESIGN §2): [`write`](Sink::write) returns `Ok` only once every record of the batch is durable at
/// the destination, and batches are written in the order given. Delivery is at least once, so a sink sees repeats
/// after a restart and must tolerate them.
pub trait Sink: Send {
    fn name(&self) -> &'static str;
    fn write(&mut self, batch: &[Record]) -> impl Future<Output = Result<(), SinkError>> + Send;
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
