//! The PostgreSQL side of Sluice.
//!
//! - `outbox_cleaner`: the opt-in deleter of delivered outbox rows;
//! - `replication`: the streaming-replication protocol client (upstream tokio-postgres has no CopyBoth mode);
//! - `pgoutput` and `copy_text`: I/O-free parsers for the two byte formats the source reads;
//! - [`source`]: slot, publication, snapshot and streaming, producing change events;
//! - [`settings`]: the source's `debezium.source.*` keys, declared for the key registry and read.

pub mod copy_text;
mod error;
pub mod outbox_cleaner;
pub mod pgoutput;
pub mod replication;
pub mod settings;
pub mod source;
pub mod tls;

pub use error::{Login, PgError};
