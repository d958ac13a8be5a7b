//! Streamed transactions (pgoutput protocol v2) held on disk until they commit.
//!
//! With `streaming 'on'` the server sends a transaction that outgrows its `logical_decoding_work_mem` while it is
//! still running, in blocks, instead of decoding it whole and spilling it to its own disk first (which, for a
//! transaction of a million rows, keeps the walsender busy for seconds before the first row leaves it). Sluice cannot
//! emit those changes as they come: an event's position is `(commit LSN, ordinal)` and the commit LSN is only known
//! at Stream Commit, and a transaction that ends in Stream Abort must emit nothing. Holding them in memory would make
//! memory grow with the transaction (DESIGN §2.6). So each open streamed transaction gets a temporary file, written
//! through a small buffer and read back in order at Stream Commit, through the same code path as the messages of a
//! transaction that was not streamed — same events, same positions.
//!
//! - The files are anonymous (`tempfile::tempfile`, in `$TMPDIR` or `/tmp`): unlinked when created, so a crash or
//!   `kill -9` leaves nothing behind. After a restart the server streams the transaction again from its start.
//! - A record is `[wal_start: u64][length: u32][the pgoutput message as received]`; the messages are decoded only
//!   when read back, so the hot path while streaming is one copy into the write buffer.
//! - A subtransaction that rolls back arrives as Stream Abort with its xid. PostgreSQL sends that abort before any
//!   later change of the transaction, so the subtransaction's changes — with those of its own subtransactions,
//!   which started after it — are exactly the file's tail from the subtransaction's first change: truncating the
//!   file there forgets them. (PostgreSQL's own apply worker relies on the same order.)

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use bytes::{Bytes, BytesMut};
use sluice_core::Lsn;

const BUFFER: usize = 64 * 1024;
const HEADER: usize = 12;

/// One open streamed transaction's changes, on disk.
pub(crate) struct Spill {
    file: BufWriter<File>,
    len: u64,
    records: u64,
    /// Where each subtransaction's first change starts.
    subxacts: HashMap<u32, (u64, u64)>,
}

impl Spill {
    pub fn new() -> io::Result<Spill> {
        Ok(Spill {
            file: BufWriter::with_capacity(BUFFER, tempfile::tempfile()?),
            len: 0,
            records: 0,
            subxacts: HashMap::new(),
        })
    }

    /// Appends one message of (sub)transaction `xid` of the streamed transaction `top`.
    pub fn append(&mut self, top: u32, xid: u32, lsn: Lsn, message: &[u8]) -> io::Result<()> {
        let length = u32::try_from(message.len()).map_err(|_| io::Error::other("a pgoutput message over 4 GiB"))?;
        if xid != top {
            self.subxacts.entry(xid).or_insert((self.len, self.records));
        }
        self.file.write_all(&lsn.0.to_be_bytes())?;
        self.file.write_all(&length.to_be_bytes())?;
        self.file.write_all(message)?;
        self.len += (HEADER + message.len()) as u64;
        self.records += 1;
        Ok(())
    }

    /// Forgets the changes of subtransaction `subxid` and of everything after its first change. A subtransaction
    /// that sent no change has nothing to forget.
    pub fn abort_subtransaction(&mut self, subxid: u32) -> io::Result<()> {
        let Some((offset, records)) = self.subxacts.get(&subxid).copied() else { return Ok(()) };
        self.file.flush()?;
        self.file.get_mut().set_len(offset)?;
        self.file.seek(SeekFrom::Start(offset))?;
        self.len = offset;
        self.records = records;
        self.subxacts.retain(|_, (start, _)| *start < offset);
        Ok(())
    }

    /// How many messages and bytes are held.
    pub fn size(&self) -> (u64, u64) {
        (self.records, self.len)
    }

    /// Reads the messages back from the start, in the order they were appended.
    pub fn into_reader(self) -> io::Result<SpillReader> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(SpillReader {
            reader: BufReader::with_capacity(BUFFER, file),
            remaining: self.len,
            scratch: BytesMut::new(),
        })
    }
}

/// A committed streamed transaction's messages, read back one at a time.
pub(crate) struct SpillReader {
    reader: BufReader<File>,
    remaining: u64,
    /// Messages are split off one shared allocation, as frames are off the network buffer.
    scratch: BytesMut,
}

impl SpillReader {
    /// The next message and the WAL position it was sent at, or `None` at the end.
    pub fn next(&mut self) -> io::Result<Option<(Lsn, Bytes)>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let mut header = [0u8; HEADER];
        self.reader.read_exact(&mut header)?;
        let lsn = Lsn(u64::from_be_bytes(header[..8].try_into().expect("8 bytes")));
        let length = u32::from_be_bytes(header[8..].try_into().expect("4 bytes")) as usize;
        if (HEADER + length) as u64 > self.remaining {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "a spill file record runs past the end"));
        }
        if self.scratch.capacity() < length {
            self.scratch.reserve(length.max(BUFFER));
        }
        self.scratch.resize(length, 0);
        self.reader.read_exact(&mut self.scratch)?;
        self.remaining -= (HEADER + length) as u64;
        Ok(Some((lsn, self.scratch.split().freeze())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(spill: Spill) -> Vec<(u64, Vec<u8>)> {
        let mut reader = spill.into_reader().unwrap();
        let mut out = Vec::new();
        while let Some((lsn, bytes)) = reader.next().unwrap() {
            out.push((lsn.0, bytes.to_vec()));
        }
        out
    }

    #[test]
    fn messages_come_back_in_order_with_their_positions() {
        let mut spill = Spill::new().unwrap();
        for i in 0..10_000u64 {
            spill.append(1, 1, Lsn(i), format!("message {i}").as_bytes()).unwrap();
        }
        spill.append(1, 1, Lsn(7), &vec![b'x'; 200_000]).unwrap();
        assert_eq!(spill.size().0, 10_001);
        let back = read_all(spill);
        assert_eq!(back.len(), 10_001);
        assert_eq!(back[1234], (1234, b"message 1234".to_vec()));
        assert_eq!(back[10_000], (7, vec![b'x'; 200_000]));
    }

    #[test]
    fn a_subtransaction_abort_forgets_it_and_what_came_after_its_first_change() {
        let mut spill = Spill::new().unwrap();
        spill.append(1, 1, Lsn(1), b"top a").unwrap();
        spill.append(1, 2, Lsn(2), b"sub 2 a").unwrap();
        spill.append(1, 3, Lsn(3), b"sub 3 (inside 2)").unwrap();
        spill.append(1, 2, Lsn(4), b"sub 2 b").unwrap();
        spill.abort_subtransaction(2).unwrap();
        // Unknown subtransactions (no changes) and repeated aborts change nothing.
        spill.abort_subtransaction(3).unwrap();
        spill.abort_subtransaction(99).unwrap();
        spill.append(1, 1, Lsn(5), b"top b").unwrap();
        spill.append(1, 4, Lsn(6), b"sub 4").unwrap();
        assert_eq!(spill.size(), (3, (3 * HEADER + 5 + 5 + 5) as u64));
        assert_eq!(read_all(spill), vec![(1, b"top a".to_vec()), (5, b"top b".to_vec()), (6, b"sub 4".to_vec())]);
    }

    #[test]
    fn an_empty_spill_reads_as_empty() {
        assert!(read_all(Spill::new().unwrap()).is_empty());
    }
}
