//! The `sluice` binary's library half: configuration, the pipeline, and the wiring between them. It is a library so
//! that integration tests can drive the same code the binary runs.

pub mod app;
pub mod config;
pub mod connect;
pub mod observe;
pub mod progress;
