mod support;

mod crash;
mod kafka;
mod pipeline;
mod types;
mod workload;
