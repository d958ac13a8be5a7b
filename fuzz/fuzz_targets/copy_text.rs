//! Any COPY output split at any point: the parser yields rows or an error, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let columns = usize::from(split % 6);
    let cut = usize::from(split).min(rest.len());
    let mut parser = sluice_postgres::copy_text::CopyTextParser::new(columns);
    for chunk in [&rest[..cut], &rest[cut..]] {
        parser.push(bytes::Bytes::copy_from_slice(chunk));
        while let Ok(Some(_)) = parser.next_row() {}
    }
    let _ = parser.finish();
});
