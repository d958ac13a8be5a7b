//! The stdout sink against the conformance suite. The sink writes to the write end of an OS pipe, as it does when
//! Sluice's output is piped into another program, and the reader is the other end: what a write acknowledged must
//! be in the pipe, readable by the next read. The pipe holds 64 KiB, so large batches block the sink until the
//! reader reads, which is what the cancellation cases need. The process's own stdout is the same code path with
//! `tokio::io::Stdout` as the writer.
//!
//! Skipped: the failure case. A pipe fails only when its reader is gone, and that does not come back (the error is
//! fatal and Sluice stops), so there is no honest "fails, then succeeds" for stdout.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, OwnedFd};

use tokio::net::unix::pipe;

use super::StdoutSink;
use crate::conformance::{read_json_lines, suite, Destination, Seen};

struct PipeDestination {
    write_end: OwnedFd,
    /// Waits for the pipe to become readable.
    read_end: pipe::Receiver,
    /// The same (non-blocking) read end, read with plain `read(2)` calls, so a read sees what the pipe holds at that
    /// moment rather than what the runtime last heard about it.
    reader: File,
    received: Vec<u8>,
}

impl PipeDestination {
    fn new() -> Self {
        let (tx, rx) = pipe::pipe().expect("a pipe");
        let reader = File::from(rx.as_fd().try_clone_to_owned().expect("duplicate the read end"));
        PipeDestination {
            write_end: tx.into_nonblocking_fd().expect("the write end"),
            read_end: rx,
            reader,
            received: vec![],
        }
    }
}

/// Reads everything the pipe holds now into `received`; `WouldBlock` once it is empty.
fn drain(mut reader: &File, received: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = vec![0; 1 << 16];
    loop {
        match reader.read(&mut chunk)? {
            0 => return Ok(()),
            n => received.extend_from_slice(&chunk[..n]),
        }
    }
}

impl Destination for PipeDestination {
    type Sink = StdoutSink<pipe::Sender>;

    async fn open(&mut self) -> Self::Sink {
        let fd = self.write_end.try_clone().expect("duplicate the write end");
        StdoutSink::to(pipe::Sender::from_owned_fd(fd).expect("the write end"))
    }

    async fn read(&mut self) -> Vec<Seen> {
        match drain(&self.reader, &mut self.received) {
            Err(e) if e.kind() != ErrorKind::WouldBlock => panic!("read the pipe: {e}"),
            _ => read_json_lines(&self.received),
        }
    }

    async fn pump(&mut self) {
        self.read_end.readable().await.expect("wait for the pipe");
        // Through the runtime, so that an emptied pipe clears its readiness and the next wait really waits.
        match self.read_end.try_io(|| drain(&self.reader, &mut self.received)) {
            Err(e) if e.kind() != ErrorKind::WouldBlock => panic!("read the pipe: {e}"),
            _ => {}
        }
    }
}

suite!(PipeDestination::new();
    keeps_per_key_order_across_batches,
    acknowledges_only_what_an_independent_reader_can_read,
    a_write_cancelled_halfway_then_retried_leaves_everything_in_order,
    an_empty_batch_is_acknowledged_and_writes_nothing,
    records_up_to_the_size_limit_arrive_whole_and_larger_ones_fail_naming_the_topic,
    close_settles_a_cancelled_write_and_flushes,
    health_is_ok_while_the_destination_is_reachable,
);
