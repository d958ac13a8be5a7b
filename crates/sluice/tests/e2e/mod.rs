mod support;

mod crash;
mod pipeline;
mod types;
mod workload;
