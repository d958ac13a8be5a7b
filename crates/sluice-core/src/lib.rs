//! The vocabulary every other Sluice crate speaks.
//!
//! This crate holds no network I/O on purpose: the PostgreSQL source, the formats and the sinks all depend on it,
//! and it must stay cheap to compile and easy to test. It defines
//!
//! - [`Lsn`] and [`Position`], the total order that the delivery contract is written in;
//! - [`Datum`] and [`Tuple`], rows as PostgreSQL sends them (text-format values, still undecoded, so that a
//!   value is converted exactly once, straight into its output format);
//! - [`TableSchema`], what the source knows about a captured table;
//! - [`ChangeEvent`], one change as it leaves the source, and [`SourceItem`], what a source sends (with the
//!   contract every source keeps);
//! - [`Record`], what a sink takes, and the [`Sink`] contract;
//! - [`Offsets`] and [`OffsetStore`], the durable memory of what was acknowledged;
//! - [`secret`], the one rule for which configuration values are never shown;
//! - [`PipelineStatus`], what one pipeline is doing, shared by its parts and read by whoever asks.

mod event;
mod lsn;
mod offsets;
pub mod policy;
mod record;
mod schema;
pub mod secret;
mod source;
mod status;
mod tuple;

pub use event::{ChangeEvent, LogicalMessage, Op, SnapshotMarker, SourceInfo};
pub use lsn::{Lsn, ParseLsnError, Position};
pub use offsets::{connect_format, FileOffsetStore, OffsetError, OffsetStore, Offsets, SnapshotProgress, StoreFuture};
pub use record::{Payload, Record, Sink, SinkError};
pub use schema::{ColumnSchema, ReplicaIdentity, TableId, TableSchema};
pub use source::{
    AcknowledgementObserver, ChangeSource, ItemChunk, SourceChannels, SourceItem, SourceOutcome, TransactionBoundary,
};
pub use status::{PipelineStatus, Retrying, TableProgress};
pub use tuple::{Datum, Tuple};

/// The wall clock in microseconds since the Unix epoch, as event timestamps (`ts_us`, source `ts_us`) carry it; 0
/// if the clock is set before 1970.
pub fn unix_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}
