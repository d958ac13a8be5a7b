//! Any bytes from the replication stream, outside and inside a streamed block: the pgoutput decoder returns a
//! message or an error, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let bytes = bytes::Bytes::copy_from_slice(data);
    let _ = sluice_postgres::pgoutput::decode(&bytes);
    let _ = sluice_postgres::pgoutput::decode_in_stream(&bytes);
});
