mod support;

mod crash;
mod kafka;
mod pipeline;
mod types;
mod wal_safety;
mod workload;
