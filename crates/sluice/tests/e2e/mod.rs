mod support;

mod crash;
mod pipeline;
mod streamed;
mod types;
mod workload;
