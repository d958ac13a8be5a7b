//! Rows as PostgreSQL sends them.
//!
//! Both pgoutput (in its default text mode) and `COPY … TO STDOUT` deliver every value as its type's text output.
//! Sluice keeps those bytes as they are — a [`Bytes`] slice of the buffer they arrived in, no copy — and converts
//! each value once, directly into the output format. One representation for snapshot and stream means one
//! conversion code path, tested once.

use bytes::Bytes;

/// One column value of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datum {
    Null,
    /// A TOASTed value that the UPDATE did not change: PostgreSQL does not send it (pgoutput's `u`).
    Unchanged,
    /// The value in its type's text output form.
    Text(Bytes),
}

impl Datum {
    pub fn text(s: &str) -> Datum {
        Datum::Text(Bytes::copy_from_slice(s.as_bytes()))
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Datum::Text(b) => Some(b),
            _ => None,
        }
    }
}

/// A row: one [`Datum`] per column of its [`TableSchema`](crate::TableSchema), in column order.
pub type Tuple = Vec<Datum>;
