//! What sinks take.

use std::future::Future;
use std::sync::Arc;

use crate::Position;

/// An encoded key or value, tagged with how it was encoded so that sinks which render records as text (file,
/// stdout) can embed it faithfully; byte-oriented sinks (Kafka) just take [`Payload::bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A JSON document (the `json` converter).
    Json(Vec<u8>),
    /// A plain string (the `simplestring` converter).
    String(String),
    /// Opaque bytes (the `binary` converter).
    Binary(Vec<u8>),
}

impl Payload {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Payload::Json(b) | Payload::Binary(b) => b,
            Payload::String(s) => s.as_bytes(),
        }
    }
}

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
