//! An I/O-free decoder for pgoutput, the logical decoding output plugin built into PostgreSQL (protocol version 1,
//! with `messages 'true'`).
//!
//! Each XLogData frame of the replication stream carries exactly one pgoutput message. Protocol surprises this
//! decoder encodes:
//!
//! - Begin carries the transaction's *final* (commit) LSN, so every change can be given its final position as it
//!   arrives; Commit carries both the commit record's start (`commit_lsn`) and end (`end_lsn`).
//! - Tuple data has one entry per column of the relation as last described, including columns that are not part of
//!   an old key tuple (those arrive as `n`), and TOASTed values an UPDATE left unchanged arrive as `u` with no data.
//! - An UPDATE carries an old tuple only when a replica identity column changed (`K`, key columns only) or the table is
//!   REPLICA IDENTITY FULL (`O`); otherwise the consumer sees just the new row. A DELETE always carries one of the
//!   two, and under the default identity only the key columns of it are non-null.
//! - A Relation (and a Type for each user-defined column type) precedes a relation's first change in a decoding
//!   session, and comes again only after the relation is invalidated (ALTER, TRUNCATE … RESTART IDENTITY): the
//!   consumer must keep a cache across transactions and must not expect a Relation per transaction.
//! - A non-transactional logical message is sent the moment it is decoded, outside any Begin/Commit and ahead of
//!   the transaction that emitted it; a transactional one arrives inside its transaction.
//! - Timestamps count microseconds from 2000-01-01, PostgreSQL's epoch, not Unix's.
//! - Names and values are sent in the database's encoding, never converted to the client's. Names must be UTF-8
//!   here (anything else is an error, not mojibake); values stay bytes, checked later by whoever interprets them.
//! - Truncate options and relation column flags are bit sets: only bit 1 of a column's flags means "key".
//! - The input is the network: every length and count is checked against what is left, allocations are capped by
//!   the bytes actually present, and nothing panics (there is a fuzz target for that).
//!
//! Values are `Bytes` slices of the frame: decoding a row copies no value bytes.

use bytes::Bytes;
use sluice_core::{Datum, Lsn, Tuple};

/// Microseconds between the Unix epoch (1970-01-01) and PostgreSQL's (2000-01-01).
pub const POSTGRES_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// Converts a PostgreSQL timestamp (µs since 2000-01-01) to µs since the Unix epoch.
pub fn pg_time_to_unix_micros(t: i64) -> i64 {
    t.saturating_add(POSTGRES_EPOCH_OFFSET_US)
}

/// One decoded pgoutput message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgOutputMessage {
    Begin(Begin),
    Commit(Commit),
    Origin(Origin),
    Relation(Relation),
    Type(TypeMessage),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    Truncate(Truncate),
    Message(LogicalMessage),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Begin {
    pub final_lsn: Lsn,
    /// µs since 2000-01-01.
    pub commit_time: i64,
    pub xid: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub flags: u8,
    pub commit_lsn: Lsn,
    pub end_lsn: Lsn,
    pub commit_time: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub commit_lsn: Lsn,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation {
    pub oid: u32,
    pub namespace: String,
    pub name: String,
    pub replica_identity: u8,
    pub columns: Vec<RelationColumn>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity (pgoutput's flag bit 1).
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeMessage {
    pub oid: u32,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insert {
    pub relation_oid: u32,
    pub new: Tuple,
}

/// Which old values an UPDATE or DELETE carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OldTupleKind {
    /// `K`: the replica identity's key columns (others are null).
    Key,
    /// `O`: every column (REPLICA IDENTITY FULL).
    Full,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    pub relation_oid: u32,
    pub old: Option<(OldTupleKind, Tuple)>,
    pub new: Tuple,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete {
    pub relation_oid: u32,
    pub old_kind: OldTupleKind,
    pub old: Tuple,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncate {
    pub cascade: bool,
    pub restart_identity: bool,
    pub relation_oids: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalMessage {
    pub transactional: bool,
    pub lsn: Lsn,
    pub prefix: String,
    pub content: Bytes,
}

/// The bytes are not a valid pgoutput message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty pgoutput message")]
    Empty,
    #[error("unknown pgoutput message tag {tag:#04x} ({c})", tag = .0, c = *.0 as char)]
    UnknownTag(u8),
    #[error("{message} message: {field} truncated at offset {offset}")]
    Truncated { message: &'static str, field: &'static str, offset: usize },
    #[error("{message} message: {field} at offset {offset} has no terminating NUL")]
    UnterminatedString { message: &'static str, field: &'static str, offset: usize },
    #[error("{message} message: {field} at offset {offset} is not valid UTF-8")]
    BadUtf8 { message: &'static str, field: &'static str, offset: usize },
    #[error("{message} message: unexpected {what} {byte:#04x} at offset {offset}")]
    Unexpected { message: &'static str, what: &'static str, byte: u8, offset: usize },
    #[error(
        "{message} message: column {column} at offset {offset} is a binary value, but Sluice never asks for binary mode"
    )]
    BinaryValue { message: &'static str, column: usize, offset: usize },
    #[error("{message} message: {extra} trailing bytes at offset {offset}")]
    Trailing { message: &'static str, extra: usize, offset: usize },
}

/// A bounds-checked reader over one message.
struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<usize, DecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(DecodeError::Truncated { message: self.message, field, offset: self.pos });
        }
        let at = self.pos;
        self.pos += n;
        Ok(at)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let at = self.take(1, field)?;
        Ok(self.buf[at])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let at = self.take(2, field)?;
        Ok(u16::from_be_bytes([self.buf[at], self.buf[at + 1]]))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let at = self.take(4, field)?;
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.buf[at..at + 4]);
        Ok(u32::from_be_bytes(b))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let at = self.take(8, field)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buf[at..at + 8]);
        Ok(u64::from_be_bytes(b))
    }

    fn lsn(&mut self, field: &'static str) -> Result<Lsn, DecodeError> {
        self.u64(field).map(Lsn)
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let (message, offset) = (self.message, self.pos);
        let rest = &self.buf[offset..];
        let nul = memchr::memchr(0, rest).ok_or(DecodeError::UnterminatedString { message, field, offset })?;
        let s = std::str::from_utf8(&rest[..nul]).map_err(|_| DecodeError::BadUtf8 { message, field, offset })?;
        self.pos = offset + nul + 1;
        Ok(s.to_owned())
    }

    fn bytes(&mut self, n: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        let at = self.take(n, field)?;
        Ok(self.buf.slice(at..at + n))
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn tuple(&mut self) -> Result<Tuple, DecodeError> {
        let count = self.u16("column count")? as usize;
        // Every column takes at least one byte: never preallocate more than the bytes present.
        let mut tuple = Vec::with_capacity(count.min(self.remaining()));
        for column in 0..count {
            let offset = self.pos;
            match self.u8("column kind")? {
                b'n' => tuple.push(Datum::Null),
                b'u' => tuple.push(Datum::Unchanged),
                b't' => {
                    let len = self.u32("value length")? as usize;
                    tuple.push(Datum::Text(self.bytes(len, "value")?));
                }
                b'b' => return Err(DecodeError::BinaryValue { message: self.message, column, offset }),
                byte => {
                    return Err(DecodeError::Unexpected { message: self.message, what: "column kind", byte, offset })
                }
            }
        }
        Ok(tuple)
    }

    /// Reads a one-byte marker that must be one of `accepted`.
    fn marker(&mut self, what: &'static str, accepted: &[u8]) -> Result<u8, DecodeError> {
        let offset = self.pos;
        match self.u8(what)? {
            byte if accepted.contains(&byte) => Ok(byte),
            byte => Err(DecodeError::Unexpected { message: self.message, what, byte, offset }),
        }
    }

    fn finish<T>(self, value: T) -> Result<T, DecodeError> {
        match self.remaining() {
            0 => Ok(value),
            extra => Err(DecodeError::Trailing { message: self.message, extra, offset: self.pos }),
        }
    }
}

/// Decodes one pgoutput message (the payload of one XLogData frame).
pub fn decode(buf: &Bytes) -> Result<PgOutputMessage, DecodeError> {
    let tag = *buf.first().ok_or(DecodeError::Empty)?;
    let message = match tag {
        b'B' => "Begin",
        b'C' => "Commit",
        b'O' => "Origin",
        b'R' => "Relation",
        b'Y' => "Type",
        b'I' => "Insert",
        b'U' => "Update",
        b'D' => "Delete",
        b'T' => "Truncate",
        b'M' => "Message",
        other => return Err(DecodeError::UnknownTag(other)),
    };
    let mut r = Reader { buf, pos: 1, message };
    let decoded = match tag {
        b'B' => PgOutputMessage::Begin(Begin {
            final_lsn: r.lsn("final LSN")?,
            commit_time: r.u64("commit time")? as i64,
            xid: r.u32("xid")?,
        }),
        b'C' => PgOutputMessage::Commit(Commit {
            flags: r.u8("flags")?,
            commit_lsn: r.lsn("commit LSN")?,
            end_lsn: r.lsn("end LSN")?,
            commit_time: r.u64("commit time")? as i64,
        }),
        b'O' => PgOutputMessage::Origin(Origin { commit_lsn: r.lsn("commit LSN")?, name: r.string("origin name")? }),
        b'R' => {
            let oid = r.u32("relation oid")?;
            let namespace = r.string("namespace")?;
            let name = r.string("relation name")?;
            let replica_identity = r.u8("replica identity")?;
            let count = r.u16("column count")? as usize;
            let mut columns = Vec::with_capacity(count.min(r.remaining()));
            for _ in 0..count {
                let flags = r.u8("column flags")?;
                columns.push(RelationColumn {
                    key: flags & 1 == 1,
                    name: r.string("column name")?,
                    type_oid: r.u32("column type")?,
                    type_modifier: r.u32("column type modifier")? as i32,
                });
            }
            PgOutputMessage::Relation(Relation { oid, namespace, name, replica_identity, columns })
        }
        b'Y' => PgOutputMessage::Type(TypeMessage {
            oid: r.u32("type oid")?,
            namespace: r.string("namespace")?,
            name: r.string("type name")?,
        }),
        b'I' => {
            let relation_oid = r.u32("relation oid")?;
            r.marker("tuple marker", b"N")?;
            PgOutputMessage::Insert(Insert { relation_oid, new: r.tuple()? })
        }
        b'U' => {
            // The old tuple is optional: only sent when the key changed (`K`) or under REPLICA IDENTITY FULL (`O`).
            let relation_oid = r.u32("relation oid")?;
            let kind = match r.marker("tuple marker", b"KON")? {
                b'K' => Some(OldTupleKind::Key),
                b'O' => Some(OldTupleKind::Full),
                _ => None,
            };
            let old = match kind {
                Some(kind) => {
                    let old = r.tuple()?;
                    r.marker("new tuple marker", b"N")?;
                    Some((kind, old))
                }
                None => None,
            };
            PgOutputMessage::Update(Update { relation_oid, old, new: r.tuple()? })
        }
        b'D' => {
            let relation_oid = r.u32("relation oid")?;
            let old_kind = match r.marker("old tuple marker", b"KO")? {
                b'K' => OldTupleKind::Key,
                _ => OldTupleKind::Full,
            };
            PgOutputMessage::Delete(Delete { relation_oid, old_kind, old: r.tuple()? })
        }
        b'T' => {
            let count = r.u32("relation count")? as usize;
            let options = r.u8("options")?;
            let mut relation_oids = Vec::with_capacity(count.min(r.remaining() / 4));
            for _ in 0..count {
                relation_oids.push(r.u32("relation oid")?);
            }
            PgOutputMessage::Truncate(Truncate {
                cascade: options & 1 != 0,
                restart_identity: options & 2 != 0,
                relation_oids,
            })
        }
        _ => {
            let flags = r.u8("flags")?;
            let lsn = r.lsn("message LSN")?;
            let prefix = r.string("prefix")?;
            let len = r.u32("content length")? as usize;
            let content = r.bytes(len, "content")?;
            PgOutputMessage::Message(LogicalMessage { transactional: flags & 1 == 1, lsn, prefix, content })
        }
    };
    r.finish(decoded)
}

#[cfg(test)]
mod tests;
