//! The engine every source and sink plugs into, knowing none of them:
//!
//! - [`Pipeline`], the delivery loop: it takes a source's [`SourceItem`](sluice_core::SourceItem) chunks, runs the
//!   transforms, encodes, writes batches to any [`Sink`](sluice_core::Sink) and publishes what is acknowledged —
//!   the one place where the delivery contract (DESIGN §2) is enforced;
//! - [`supervise`], which runs a pipeline and restarts it per the error policy ([`sluice_core::policy`]) until
//!   shutdown or a failure the policy says to stop at;
//! - [`settings`], the engine's own keys (the offset store, the bytes in flight).
//!
//! The per-pipeline status handle lives in `sluice-core` ([`sluice_core::PipelineStatus`]) because sources write to
//! it too. What wires a concrete source and sink to these is the binary's `app`.

mod pipeline;
pub mod settings;
mod supervisor;

pub use pipeline::{Pipeline, PipelineError, PipelineStats};
pub use supervisor::{supervise, Failure, RestartLimits};
