//! Any bytes from the replication stream: the pgoutput decoder returns a message or an error, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sluice_postgres::pgoutput::decode(&bytes::Bytes::copy_from_slice(data));
});
