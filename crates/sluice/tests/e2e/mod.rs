mod support;

mod connect_rest;
mod connect_security;
mod crash;
mod dual_write;
mod event_details;
mod kafka;
mod keys;
mod memory;
mod observe;
mod outbox;
mod pipeline;
mod poison;
mod types;
mod unwrap;
mod wal_safety;
mod workload;
