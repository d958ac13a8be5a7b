//! Any COPY output, cut into chunks of any size: the parser never panics, and the chunking never changes the result.
#![no_main]

use bytes::Bytes;
use sluice_core::Tuple;
use sluice_postgres::copy_text::{CopyParseError, CopyTextParser};

/// Every row (or row error), then whether the data ended at a row boundary.
fn parse(columns: usize, chunks: impl Iterator<Item = Bytes>) -> (Vec<Result<Tuple, CopyParseError>>, bool) {
    let mut parser = CopyTextParser::new(columns);
    let mut rows = Vec::new();
    for chunk in chunks {
        parser.push(chunk);
        loop {
            match parser.next_row() {
                Ok(Some(row)) => rows.push(Ok(row)),
                Ok(None) => break,
                Err(e) => rows.push(Err(e)),
            }
        }
    }
    (rows, parser.finish().is_ok())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let columns = usize::from(head % 6);
    let step = usize::from(head / 6) + 1;
    let whole = parse(columns, std::iter::once(Bytes::copy_from_slice(rest)));
    let chunked = parse(columns, rest.chunks(step).map(Bytes::copy_from_slice));
    assert_eq!(whole, chunked);
});
