mod support;

mod crash;
mod pipeline;
mod workload;
