//! A streaming parser for `COPY … TO STDOUT` in text format, the form the snapshot reads tables in.
//!
//! Why text and not binary: pgoutput streams values in their text form, so reading the snapshot in the same form
//! lets one converter serve both, and a value is never decoded twice.
//!
//! The format: one row per line, columns separated by TAB, `\N` alone is NULL, and backslash escapes (`\b \f \n \r
//! \t \v \\`, `\` + 1–3 octal digits, `\x` + 1–2 hex digits; any other `\c` is `c`). The server's chunks do not
//! respect row boundaries, and an escape may be split across two chunks, so partial lines are carried over. Values
//! without a backslash — nearly all of them — are zero-copy slices of the chunk they arrived in.

use bytes::{Bytes, BytesMut};
use sluice_core::{Datum, Tuple};

/// A row that does not fit the table.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CopyParseError {
    #[error("COPY row {row} has {got} columns, expected {expected}")]
    ColumnCount { row: u64, expected: usize, got: usize },
    #[error("COPY data ended in the middle of a row ({0} bytes without a newline)")]
    PartialRow(usize),
}

/// Feeds on chunks, yields rows.
#[derive(Debug)]
pub struct CopyTextParser {
    expected_columns: usize,
    /// Bytes carried over from earlier chunks; may hold complete lines when `push` came before the rows were taken.
    pending: BytesMut,
    current: Bytes,
    pos: usize,
    rows: u64,
}

impl CopyTextParser {
    pub fn new(expected_columns: usize) -> Self {
        CopyTextParser { expected_columns, pending: BytesMut::new(), current: Bytes::new(), pos: 0, rows: 0 }
    }

    /// Adds the next chunk of COPY data.
    pub fn push(&mut self, chunk: Bytes) {
        if self.pos < self.current.len() {
            self.pending.extend_from_slice(&self.current[self.pos..]);
        }
        self.current = chunk;
        self.pos = 0;
    }

    /// The next complete row, or `None` when more data is needed.
    pub fn next_row(&mut self) -> Result<Option<Tuple>, CopyParseError> {
        let line = if !self.pending.is_empty() {
            if let Some(i) = memchr::memchr(b'\n', &self.pending) {
                let mut line = self.pending.split_to(i + 1);
                line.truncate(i);
                line.freeze()
            } else {
                let rest = &self.current[self.pos..];
                match memchr::memchr(b'\n', rest) {
                    None => {
                        self.pending.extend_from_slice(rest);
                        self.pos = self.current.len();
                        return Ok(None);
                    }
                    Some(i) => {
                        self.pending.extend_from_slice(&rest[..i]);
                        self.pos += i + 1;
                        self.pending.split().freeze()
                    }
                }
            }
        } else {
            match memchr::memchr(b'\n', &self.current[self.pos..]) {
                None => {
                    self.pending.extend_from_slice(&self.current[self.pos..]);
                    self.pos = self.current.len();
                    return Ok(None);
                }
                Some(i) => {
                    let line = self.current.slice(self.pos..self.pos + i);
                    self.pos += i + 1;
                    line
                }
            }
        };
        self.rows += 1;
        self.parse_line(line).map(Some)
    }

    /// Checks that the data ended at a row boundary.
    pub fn finish(&mut self) -> Result<(), CopyParseError> {
        let left = self.pending.len() + (self.current.len() - self.pos);
        if left == 0 {
            Ok(())
        } else {
            Err(CopyParseError::PartialRow(left))
        }
    }

    fn parse_line(&self, line: Bytes) -> Result<Tuple, CopyParseError> {
        let mut tuple = Vec::with_capacity(self.expected_columns);
        let mut start = 0;
        loop {
            let end = memchr::memchr(b'\t', &line[start..]).map_or(line.len(), |i| start + i);
            let field = &line[start..end];
            tuple.push(if field == b"\\N" {
                Datum::Null
            } else if memchr::memchr(b'\\', field).is_none() {
                Datum::Text(line.slice(start..end))
            } else {
                Datum::Text(Bytes::from(unescape(field)))
            });
            if end == line.len() {
                break;
            }
            start = end + 1;
        }
        if tuple.len() != self.expected_columns {
            return Err(CopyParseError::ColumnCount {
                row: self.rows,
                expected: self.expected_columns,
                got: tuple.len(),
            });
        }
        Ok(tuple)
    }
}

fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        i += 1;
        if b != b'\\' || i == field.len() {
            out.push(b);
            continue;
        }
        let c = field[i];
        i += 1;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < field.len() && (b'0'..=b'7').contains(&field[i]) {
                    v = v * 8 + u32::from(field[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            b'x' if i < field.len() && field[i].is_ascii_hexdigit() => {
                let mut v = 0u8;
                let mut n = 0;
                while n < 2 && i < field.len() && field[i].is_ascii_hexdigit() {
                    v = v * 16 + (field[i] as char).to_digit(16).unwrap_or(0) as u8;
                    i += 1;
                    n += 1;
                }
                out.push(v);
            }
            other => out.push(other),
        }
    }
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

    #[test]
    fn rows_nulls_and_escapes() {
        let rows = parse_all(3, &[b"1\t\\N\tplain\n2\ta\\tb\\nc\\\\d\t\\101\\x41\\q\n"]).unwrap();
        assert_eq!(rows[0], vec![Datum::text("1"), Datum::Null, Datum::text("plain")]);
        assert_eq!(rows[1], vec![Datum::text("2"), Datum::text("a\tb\nc\\d"), Datum::text("AAq")]);
    }

    #[test]
    fn rows_and_escapes_split_across_chunks() {
        let rows = parse_all(2, &[b"1\tab", b"\\", b"tc\n2", b"\t", b"\\N\n"]).unwrap();
        assert_eq!(rows, vec![vec![Datum::text("1"), Datum::text("ab\tc")], vec![Datum::text("2"), Datum::Null]]);
    }

    #[test]
    fn a_literal_backslash_n_string_is_not_null() {
        let rows = parse_all(1, &[b"\\\\N\n"]).unwrap();
        assert_eq!(rows[0], vec![Datum::text("\\N")]);
    }

    #[test]
    fn wrong_column_count_is_an_error() {
        assert_eq!(parse_all(2, &[b"1\n"]), Err(CopyParseError::ColumnCount { row: 1, expected: 2, got: 1 }));
    }

    #[test]
    fn data_ending_mid_row_is_an_error() {
        assert_eq!(parse_all(1, &[b"1\n2"]), Err(CopyParseError::PartialRow(1)));
    }

    #[test]
    fn push_before_draining_keeps_every_row() {
        let mut p = CopyTextParser::new(1);
        p.push(Bytes::from_static(b"a\nb\nc"));
        assert_eq!(p.next_row().unwrap(), Some(vec![Datum::text("a")]));
        p.push(Bytes::from_static(b"d\ne\n"));
        let mut rest = Vec::new();
        while let Some(r) = p.next_row().unwrap() {
            rest.push(r);
        }
        assert_eq!(rest, vec![vec![Datum::text("b")], vec![Datum::text("cd")], vec![Datum::text("e")]]);
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
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300), columns in 0usize..5) {
            let _ = parse_all(columns, &[&data]);
        }
    }
}
