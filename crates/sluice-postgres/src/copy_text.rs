//! A streaming parser for `COPY … TO STDOUT` in text format, the form the snapshot reads tables in.
//!
//! Why text and not binary: pgoutput streams values in their text form, so reading the snapshot in the same form
//! lets one converter serve both, and a value is never decoded twice.
//!
//! The format: one row per line, columns separated by TAB, `\N` alone is NULL, and backslash escapes (`\b \f \n \r
//! \t \v \\`, `\` + 1–3 octal digits, `\x` + 1–2 hex digits; any other `\c` is `c`). Surprises this parser encodes:
//!
//! - A backslash escapes *any* following byte, a raw TAB or newline included: `a\<TAB>b` is the one value
//!   `a<TAB>b`, as PostgreSQL's own `COPY FROM` reads it. The server writes `\t` and `\n` instead, but a parser that
//!   splits on raw TABs and newlines before unescaping would read such bytes as two values or two rows.
//! - `\N` means NULL only as the whole raw field; `\\N` is the two-character text `\N`, and `a\Nb` is `aNb`.
//! - Over protocol 3 the server sends no `\.` end-of-data line: the data ends with the last row's newline.
//! - The server's chunks do not respect row boundaries, and an escape may be split across two chunks (a chunk may
//!   end in the backslash), so the start of a row is carried over to the next chunk. Carried bytes are scanned once,
//!   never again, so a huge value arriving in many small chunks costs linear time.
//!
//! Values without a backslash — nearly all of them — are zero-copy slices of the chunk they arrived in; only escaped
//! values get a buffer of their own.

use bytes::{Bytes, BytesMut};
use memchr::{memchr, memchr2};
use sluice_core::{Datum, Tuple};

/// COPY data that does not fit the table.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CopyParseError {
    #[error("COPY row {row} has {got} columns, expected {expected}")]
    ColumnCount { row: u64, expected: usize, got: usize },
    #[error("COPY data ended in the middle of a row ({0} bytes after the last complete row)")]
    PartialRow(usize),
}

/// Feeds on chunks, yields rows.
///
/// Call [`push`](Self::push) with each chunk, then [`next_row`](Self::next_row) until it returns `None`; after the
/// last chunk, [`finish`](Self::finish) checks that the data ended at a row boundary.
#[derive(Debug)]
pub struct CopyTextParser {
    expected_columns: usize,
    /// The start of a row that did not end in the chunk it began in; when `push` came before every row was taken,
    /// also the complete rows after it.
    carry: BytesMut,
    /// `carry[..carry_scanned]` holds no row end, and `carry_scanned` is never an escaped byte. Zero when `carry` is
    /// empty.
    carry_scanned: usize,
    chunk: Bytes,
    /// The next unread byte of `chunk`.
    pos: usize,
    rows: u64,
}

/// The result of looking for the newline that ends a row.
enum RowEnd {
    /// The row's newline is at this index.
    At(usize),
    /// No row end yet; scanning resumes at this index (the data's length, or the index of a final backslash whose
    /// escaped byte has not arrived yet).
    NotYet(usize),
}

/// Finds the first newline at or after `from` that no backslash escapes; `from` must not be an escaped byte.
fn find_row_end(data: &[u8], mut from: usize) -> RowEnd {
    while let Some(i) = data.get(from..).and_then(|rest| memchr2(b'\n', b'\\', rest)) {
        let at = from + i;
        if data[at] == b'\n' {
            return RowEnd::At(at);
        }
        if at + 1 == data.len() {
            return RowEnd::NotYet(at);
        }
        from = at + 2;
    }
    RowEnd::NotYet(data.len())
}

impl CopyTextParser {
    pub fn new(expected_columns: usize) -> Self {
        CopyTextParser {
            expected_columns,
            carry: BytesMut::new(),
            carry_scanned: 0,
            chunk: Bytes::new(),
            pos: 0,
            rows: 0,
        }
    }

    /// Adds the next chunk of COPY data. Rows not yet taken from the previous chunk are kept.
    pub fn push(&mut self, chunk: Bytes) {
        if let Some(rest) = self.chunk.get(self.pos..).filter(|rest| !rest.is_empty()) {
            self.carry.extend_from_slice(rest);
        }
        self.chunk = chunk;
        self.pos = 0;
    }

    /// The next complete row, or `None` when more data is needed. A row with the wrong number of columns is an
    /// error; parsing may continue with the next row.
    pub fn next_row(&mut self) -> Result<Option<Tuple>, CopyParseError> {
        let (line, start, end) = if self.carry.is_empty() {
            match find_row_end(&self.chunk, self.pos) {
                RowEnd::At(end) => {
                    let start = self.pos;
                    self.pos = end + 1;
                    (self.chunk.clone(), start, end)
                }
                RowEnd::NotYet(resume) => {
                    self.carry_over(resume);
                    return Ok(None);
                }
            }
        } else {
            match find_row_end(&self.carry, self.carry_scanned) {
                RowEnd::At(end) => {
                    let line = self.carry.split_to(end + 1).freeze();
                    self.carry_scanned = 0;
                    (line, 0, end)
                }
                RowEnd::NotYet(resume) => {
                    // The row goes on in the chunk; if the carry ends in a backslash, the chunk's first byte is
                    // escaped and cannot end the row.
                    let from = self.pos + usize::from(resume < self.carry.len());
                    if from > self.chunk.len() {
                        self.carry_scanned = resume;
                        return Ok(None);
                    }
                    match find_row_end(&self.chunk, from) {
                        RowEnd::At(end) => {
                            self.carry.extend_from_slice(&self.chunk[self.pos..end]);
                            self.pos = end + 1;
                            let line = self.carry.split().freeze();
                            self.carry_scanned = 0;
                            let end = line.len();
                            (line, 0, end)
                        }
                        RowEnd::NotYet(resume) => {
                            self.carry_over(resume);
                            return Ok(None);
                        }
                    }
                }
            }
        };
        self.rows += 1;
        let (tuple, got) = split_fields(&line, start, end, self.expected_columns);
        if got != self.expected_columns {
            return Err(CopyParseError::ColumnCount { row: self.rows, expected: self.expected_columns, got });
        }
        Ok(Some(tuple))
    }

    /// Checks that the data ended at a row boundary. Call it after the last chunk's rows have all been taken.
    pub fn finish(&mut self) -> Result<(), CopyParseError> {
        match self.carry.len() + (self.chunk.len() - self.pos) {
            0 => Ok(()),
            left => Err(CopyParseError::PartialRow(left)),
        }
    }

    /// Moves the unread rest of the chunk, which holds no row end before `chunk[resume]`, to the carry.
    fn carry_over(&mut self, resume: usize) {
        let scanned = self.carry.len() + (resume - self.pos);
        self.carry.extend_from_slice(&self.chunk[self.pos..]);
        self.carry_scanned = scanned;
        self.pos = self.chunk.len();
    }
}

/// Splits the row `line[start..end]` at unescaped TABs. Returns at most `expected` values, and how many there were.
/// An empty line is one empty value, except in a table without columns, where it is the empty row.
fn split_fields(line: &Bytes, start: usize, end: usize, expected: usize) -> (Tuple, usize) {
    if expected == 0 && start == end {
        return (Vec::new(), 0);
    }
    let data = &line[..end];
    let mut tuple = Vec::with_capacity(expected);
    let mut got = 0;
    let mut field_start = start;
    let mut escaped = false;
    let mut i = start;
    loop {
        let hit = data.get(i..).and_then(|rest| memchr2(b'\t', b'\\', rest)).map(|k| i + k);
        let field_end = match hit {
            Some(at) if data[at] == b'\\' => {
                escaped = true;
                i = at + 2;
                continue;
            }
            Some(at) => at,
            None => end,
        };
        got += 1;
        if got <= expected {
            let raw = &data[field_start..field_end];
            tuple.push(if !escaped {
                Datum::Text(line.slice(field_start..field_end))
            } else if raw == b"\\N" {
                Datum::Null
            } else {
                Datum::Text(Bytes::from(unescape(raw)))
            });
        }
        if hit.is_none() {
            return (tuple, got);
        }
        field_start = field_end + 1;
        i = field_start;
        escaped = false;
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn octal_value(b: u8) -> Option<u8> {
    matches!(b, b'0'..=b'7').then(|| b - b'0')
}

/// Decodes one field's backslash escapes, as PostgreSQL's `COPY FROM` does.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while let Some(k) = memchr(b'\\', &field[i..]) {
        out.extend_from_slice(&field[i..i + k]);
        i += k + 1;
        let Some(&c) = field.get(i) else {
            // Rows never end in a lone backslash (it would escape the newline); keep it literally all the same.
            out.push(b'\\');
            return out;
        };
        i += 1;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                // Up to three octal digits; like the server, keep the low eight bits of `\777`.
                let mut v = c - b'0';
                for _ in 0..2 {
                    match field.get(i).copied().and_then(octal_value) {
                        Some(d) => {
                            v = v.wrapping_mul(8).wrapping_add(d);
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(v);
            }
            b'x' => match field.get(i).copied().and_then(hex_value) {
                Some(high) => {
                    i += 1;
                    match field.get(i).copied().and_then(hex_value) {
                        Some(low) => {
                            i += 1;
                            out.push(high * 16 + low);
                        }
                        None => out.push(high),
                    }
                }
                None => out.push(b'x'),
            },
            other => out.push(other),
        }
    }
    out.extend_from_slice(&field[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(columns: usize, chunks: &[&[u8]]) -> Result<Vec<Tuple>, CopyParseError> {
        let mut p = CopyTextParser::new(columns);
        let mut rows = Vec::new();
        for c in chunks {
            p.push(Bytes::copy_from_slice(c));
            while let Some(r) = p.next_row()? {
                rows.push(r);
            }
        }
        p.finish()?;
        Ok(rows)
    }

    fn one_value(raw: &[u8]) -> Datum {
        parse_all(1, &[raw, b"\n"]).unwrap().remove(0).remove(0)
    }

    /// Escapes a value the way the server does for COPY text output.
    fn escape(v: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in v {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                8 => out.extend_from_slice(b"\\b"),
                12 => out.extend_from_slice(b"\\f"),
                11 => out.extend_from_slice(b"\\v"),
                _ => out.push(b),
            }
        }
        out
    }

    /// Writes one byte in any of the spellings `COPY FROM` accepts, picked by `how`.
    fn spell(b: u8, how: u8, out: &mut Vec<u8>) {
        match how % 4 {
            0 => out.extend(escape(&[b])),
            1 => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
            2 => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            // A backslash before a byte without a meaning of its own stands for the byte, raw TAB and newline included.
            _ if !b"bfnrtvxN01234567".contains(&b) => out.extend_from_slice(&[b'\\', b]),
            _ => out.extend(escape(&[b])),
        }
    }

    #[test]
    fn rows_nulls_and_escapes() {
        let rows = parse_all(3, &[b"1\t\\N\tplain\n2\ta\\tb\\nc\\\\d\t\\101\\x41\\q\n"]).unwrap();
        assert_eq!(rows[0], vec![Datum::text("1"), Datum::Null, Datum::text("plain")]);
        assert_eq!(rows[1], vec![Datum::text("2"), Datum::text("a\tb\nc\\d"), Datum::text("AAq")]);
    }

    #[test]
    fn every_named_escape_decodes() {
        assert_eq!(one_value(b"\\b\\f\\n\\r\\t\\v\\\\"), Datum::Text(Bytes::from_static(b"\x08\x0c\n\r\t\x0b\\")));
    }

    #[test]
    fn octal_escapes_take_one_to_three_digits_and_keep_eight_bits() {
        assert_eq!(one_value(b"\\0"), Datum::Text(Bytes::from_static(b"\0")));
        assert_eq!(one_value(b"\\12x"), Datum::Text(Bytes::from_static(b"\nx")));
        assert_eq!(one_value(b"\\1011"), Datum::text("A1"));
        assert_eq!(one_value(b"\\777"), Datum::Text(Bytes::from_static(b"\xff")));
        assert_eq!(one_value(b"\\8\\9"), Datum::text("89"));
    }

    #[test]
    fn hex_escapes_take_one_or_two_digits() {
        assert_eq!(one_value(b"\\x41\\x4"), Datum::Text(Bytes::from_static(b"A\x04")));
        assert_eq!(one_value(b"\\x4g"), Datum::Text(Bytes::from_static(b"\x04g")));
        assert_eq!(one_value(b"\\xAf0"), Datum::Text(Bytes::from_static(b"\xaf0")));
        assert_eq!(one_value(b"\\xg"), Datum::text("xg"));
    }

    #[test]
    fn backslash_n_is_null_only_as_the_whole_field() {
        assert_eq!(one_value(b"\\N"), Datum::Null);
        assert_eq!(one_value(b"\\\\N"), Datum::text("\\N"));
        assert_eq!(one_value(b"a\\Nb"), Datum::text("aNb"));
        assert_eq!(one_value(b"N"), Datum::text("N"));
    }

    #[test]
    fn a_backslash_escapes_a_raw_tab_or_newline() {
        let rows = parse_all(2, &[b"a\\\tb\tc\\\nd\n"]).unwrap();
        assert_eq!(rows, vec![vec![Datum::text("a\tb"), Datum::text("c\nd")]]);
    }

    #[test]
    fn rows_and_escapes_split_across_chunks() {
        let rows = parse_all(2, &[b"1\tab", b"\\", b"tc\n2", b"\t", b"\\N\n"]).unwrap();
        assert_eq!(rows, vec![vec![Datum::text("1"), Datum::text("ab\tc")], vec![Datum::text("2"), Datum::Null]]);
    }

    #[test]
    fn a_chunk_ending_in_a_backslash_escapes_the_next_chunks_newline() {
        let rows = parse_all(1, &[b"a\\", b"\nb\n"]).unwrap();
        assert_eq!(rows, vec![vec![Datum::text("a\nb")]]);
        let rows = parse_all(1, &[b"x\na\\", b"", b"\\", b"\n"]).unwrap();
        assert_eq!(rows, vec![vec![Datum::text("x")], vec![Datum::text("a\\")]]);
    }

    #[test]
    fn unescaped_values_are_slices_of_the_chunk() {
        let chunk = Bytes::from_static(b"plain\tesc\\tvalue\n");
        let mut p = CopyTextParser::new(2);
        p.push(chunk.clone());
        let row = p.next_row().unwrap().unwrap();
        let Datum::Text(plain) = &row[0] else { panic!("{row:?}") };
        assert_eq!(plain.as_ptr(), chunk.as_ptr());
        let Datum::Text(escaped) = &row[1] else { panic!("{row:?}") };
        assert_eq!(&escaped[..], b"esc\tvalue");
    }

    #[test]
    fn a_literal_backslash_n_string_is_not_null() {
        let rows = parse_all(1, &[b"\\\\N\n"]).unwrap();
        assert_eq!(rows[0], vec![Datum::text("\\N")]);
    }

    #[test]
    fn wrong_column_count_is_an_error_naming_both_counts() {
        assert_eq!(parse_all(2, &[b"1\n"]), Err(CopyParseError::ColumnCount { row: 1, expected: 2, got: 1 }));
        assert_eq!(
            parse_all(2, &[b"1\t2\n3\t4\t5\t6\n"]),
            Err(CopyParseError::ColumnCount { row: 2, expected: 2, got: 4 })
        );
        let err = CopyParseError::ColumnCount { row: 2, expected: 2, got: 4 };
        assert_eq!(err.to_string(), "COPY row 2 has 4 columns, expected 2");
    }

    #[test]
    fn parsing_goes_on_after_a_bad_row() {
        let mut p = CopyTextParser::new(1);
        p.push(Bytes::from_static(b"a\tb\nc\n"));
        assert!(p.next_row().is_err());
        assert_eq!(p.next_row().unwrap(), Some(vec![Datum::text("c")]));
    }

    #[test]
    fn empty_lines_are_empty_rows_of_a_table_without_columns_and_empty_values_otherwise() {
        assert_eq!(parse_all(0, &[b"\n\n"]).unwrap(), vec![Vec::<Datum>::new(), Vec::new()]);
        assert_eq!(parse_all(1, &[b"\n"]).unwrap(), vec![vec![Datum::text("")]]);
        assert_eq!(parse_all(2, &[b"\t\n"]).unwrap(), vec![vec![Datum::text(""), Datum::text("")]]);
    }

    #[test]
    fn data_ending_mid_row_is_an_error() {
        assert_eq!(parse_all(1, &[b"1\n2"]), Err(CopyParseError::PartialRow(1)));
        assert_eq!(parse_all(1, &[b"1\n2\\"]), Err(CopyParseError::PartialRow(2)));
        assert_eq!(parse_all(1, &[b"1\n2\\", b"\n"]), Err(CopyParseError::PartialRow(3)));
    }

    #[test]
    fn push_before_draining_keeps_every_row() {
        let mut p = CopyTextParser::new(1);
        p.push(Bytes::from_static(b"a\nb\nc"));
        assert_eq!(p.next_row().unwrap(), Some(vec![Datum::text("a")]));
        p.push(Bytes::from_static(b"d\ne\\"));
        p.push(Bytes::from_static(b"\n\nf\n"));
        let mut rest = Vec::new();
        while let Some(r) = p.next_row().unwrap() {
            rest.push(r);
        }
        assert_eq!(
            rest,
            vec![vec![Datum::text("b")], vec![Datum::text("cd")], vec![Datum::text("e\n")], vec![Datum::text("f")]]
        );
        p.finish().unwrap();
    }

    #[test]
    fn a_value_arriving_byte_by_byte_is_scanned_once() {
        // Rescanning the carried bytes on every chunk would make this quadratic: minutes instead of milliseconds.
        let value = "x\\\\".repeat(100_000);
        let mut p = CopyTextParser::new(1);
        for b in value.bytes().chain([b'\n']) {
            assert_eq!(p.next_row().unwrap(), None);
            p.push(Bytes::copy_from_slice(&[b]));
        }
        let row = p.next_row().unwrap().unwrap();
        assert_eq!(row[0].as_bytes().map(<[u8]>::len), Some(200_000));
        p.finish().unwrap();
    }

    proptest! {
        #[test]
        fn any_values_round_trip_through_any_chunking(
            rows in proptest::collection::vec(proptest::collection::vec(proptest::option::of(proptest::collection::vec(1u8..=255, 0..12)), 3), 0..20),
            cuts in proptest::collection::vec(0usize..400, 0..10),
        ) {
            let mut data = Vec::new();
            for row in &rows {
                for (i, v) in row.iter().enumerate() {
                    if i > 0 { data.push(b'\t'); }
                    match v { Some(v) => data.extend(escape(v)), None => data.extend_from_slice(b"\\N") }
                }
                data.push(b'\n');
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([data.len()]) {
                chunks.push(&data[prev..c]);
                prev = c;
            }
            let parsed = parse_all(3, &chunks).unwrap();
            let expected: Vec<Tuple> = rows.iter().map(|r| r.iter().map(|v| match v {
                Some(v) => Datum::Text(Bytes::copy_from_slice(v)),
                None => Datum::Null,
            }).collect()).collect();
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn every_spelling_of_every_byte_round_trips_through_any_chunking(
            rows in proptest::collection::vec(proptest::collection::vec(proptest::option::of(proptest::collection::vec((1u8..=255, any::<u8>()), 0..10)), 2), 1..10),
            cuts in proptest::collection::vec(0usize..300, 0..12),
        ) {
            let mut data = Vec::new();
            for row in &rows {
                for (i, v) in row.iter().enumerate() {
                    if i > 0 { data.push(b'\t'); }
                    match v {
                        Some(v) => v.iter().for_each(|&(b, how)| spell(b, how, &mut data)),
                        None => data.extend_from_slice(b"\\N"),
                    }
                }
                data.push(b'\n');
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort();
            let mut p = CopyTextParser::new(2);
            let mut parsed = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([data.len()]) {
                p.push(Bytes::copy_from_slice(&data[prev..c]));
                prev = c;
                while let Some(row) = p.next_row().unwrap() { parsed.push(row); }
            }
            p.finish().unwrap();
            let expected: Vec<Tuple> = rows.iter().map(|r| r.iter().map(|v| match v {
                Some(v) => Datum::Text(v.iter().map(|&(b, _)| b).collect()),
                None => Datum::Null,
            }).collect()).collect();
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300), columns in 0usize..5, cut in any::<prop::sample::Index>()) {
            let cut = cut.index(data.len() + 1);
            let mut p = CopyTextParser::new(columns);
            for chunk in [&data[..cut], &data[cut..]] {
                p.push(Bytes::copy_from_slice(chunk));
                while let Ok(Some(_)) = p.next_row() {}
            }
            let _ = p.finish();
        }
    }
}
