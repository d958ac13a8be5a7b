//! The engine every source and sink plugs into, knowing none of them: today the supervisor, which runs a pipeline
//! and restarts it per the error policy ([`sluice_core::policy`]) until shutdown or a failure the policy says to
//! stop at.
//!
//! DESIGN §4 puts the delivery loop and per-pipeline status here too; the status handle lives in `sluice-core`
//! ([`sluice_core::PipelineStatus`]) because sources write to it, and the delivery loop moves here once it no
//! longer names the PostgreSQL source's item type (issue 13).

mod supervisor;

pub use supervisor::{supervise, Failure, RestartLimits};
