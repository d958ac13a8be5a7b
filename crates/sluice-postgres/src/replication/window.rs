//! The replication socket's receive window, which decides whether the walsender pays per row or per batch.
//!
//! The walsender writes every decoded change as its own CopyData message and flushes it at once: one `send()` per
//! row. While the client's TCP window is open, each of those sends goes out as its own segment, and on the same host
//! the kernel also runs the receiving side of TCP, and wakes the reader, on the walsender's CPU. Linux's receive
//! buffer autotuning grows the window to megabytes for a client that reads as fast as Sluice does, so the window is
//! always open and the walsender (one core per slot: the pipeline's ceiling) pays all of that per row.
//!
//! Two things together keep the window mostly closed while the stream is busy, so the walsender's sends only append
//! to the socket's queue and the data goes out in large segments when the reader opens the window, on the reader's
//! CPU:
//!
//! - a receive buffer sized to the connection's bandwidth-delay product ([`sized_for`]) instead of to megabytes;
//! - [`Pacing`]: after a read that brought less than half the window, the reader waits [`PAUSE`] before reading again,
//!   so data accumulates instead of being taken segment by segment.
//!
//! Either alone is not enough: with a small window but eager reads, or with pauses but a large window, the stream
//! settles sometimes in one regime, sometimes in the other (bench/README.md has the measurements). Together, a drain
//! of 600,000 changes mostly took 3,000–10,000 segments instead of 20,000–300,000.
//!
//! The window must still cover the bandwidth-delay product, or a distant server would be throttled to
//! window ÷ round trip. The round trip is measured by the TCP handshake; the buffer is sized so the window allows at
//! least [`MIN_RATE`] and never less than [`FLOOR`]. A round trip so long that the buffer would exceed [`CEILING`]
//! is left to the kernel's autotuning, which handles long fat links better than a fixed size.

use std::time::{Duration, Instant};

/// The smallest receive buffer Sluice sets: a window that a busy walsender fills within one [`PAUSE`].
pub const FLOOR: usize = 64 * 1024;
/// Past this the kernel's autotuning is left in charge.
pub const CEILING: usize = 4 * 1024 * 1024;
/// The throughput the window must allow at the measured round trip, in bytes per second: more than one walsender
/// decodes (about 40 MB/s of pgoutput on the bench machine). It gives round trips up to 1 ms the [`FLOOR`], so the
/// scheduling noise in timing a same-host handshake does not move the size.
pub const MIN_RATE: f64 = 64.0 * 1024.0 * 1024.0;
/// How long the reader waits after a read that brought less than half the window. Also the most a change can be
/// delayed by it.
pub const PAUSE: Duration = Duration::from_millis(1);

/// How the replication connection's socket receive buffer (`SO_RCVBUF`) is chosen: pgjdbc's `receiveBufferSize`,
/// which Debezium passes through as `driver.receiveBufferSize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReceiveBuffer {
    /// Sized from the handshake's round trip by [`sized_for`], with paced reads (the default).
    #[default]
    FromRoundTrip,
    /// Left to the operating system's autotuning, reads not paced (`-1`, pgjdbc's default).
    System,
    /// This many bytes, with paced reads (the kernel caps it at `net.core.rmem_max`).
    Bytes(usize),
}

impl ReceiveBuffer {
    /// The size to set for a connection whose handshake took `round_trip`; `None` leaves the socket alone.
    pub fn for_round_trip(self, round_trip: Duration) -> Option<usize> {
        match self {
            ReceiveBuffer::FromRoundTrip => sized_for(round_trip),
            ReceiveBuffer::System => None,
            ReceiveBuffer::Bytes(n) => Some(n),
        }
    }
}

/// The receive buffer for a round trip: the bandwidth-delay product at [`MIN_RATE`], at least [`FLOOR`]; `None`
/// (autotuning) above [`CEILING`].
pub fn sized_for(round_trip: Duration) -> Option<usize> {
    let product = round_trip.as_secs_f64() * MIN_RATE;
    (product <= CEILING as f64).then(|| (product as usize).max(FLOOR))
}

/// When the stream reader may read the socket again, for a receive buffer Sluice sized.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pacing {
    /// The receive buffer asked for, in bytes.
    pub(crate) window: usize,
    /// TLS hands over about one record (≤ 16 KiB) per read: the reader gathers the records that have already
    /// arrived before a read is judged, or every read would look small.
    pub(crate) gather_records: bool,
    resume_at: Option<Instant>,
}

impl Pacing {
    /// Pacing for a receive buffer of `window` bytes, over TLS when `encrypted`.
    pub(crate) fn new(window: usize, encrypted: bool) -> Pacing {
        Pacing { window, gather_records: encrypted, resume_at: None }
    }

    /// Records a socket read of `bytes`: under half the window, the next read waits [`PAUSE`].
    pub(crate) fn read(&mut self, bytes: usize) {
        self.resume_at = (bytes < self.window / 2).then(|| Instant::now() + PAUSE);
    }

    /// The moment the next read may start, while it is still ahead; `None` to read now. A deadline rather than a
    /// duration, so a read that is cancelled and started again does not wait twice.
    pub(crate) fn resume_at(&self) -> Option<Instant> {
        self.resume_at.filter(|at| *at > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn same_host_and_lan_round_trips_get_the_floor() {
        for micros in [0, 30, 300, 650, 950] {
            assert_eq!(sized_for(Duration::from_micros(micros)), Some(FLOOR), "{micros} µs");
        }
    }

    #[test]
    fn distant_servers_get_their_bandwidth_delay_product_then_autotuning() {
        let ten_ms = sized_for(Duration::from_millis(10)).unwrap();
        assert!(ten_ms > FLOOR && ten_ms as f64 >= 0.01 * MIN_RATE - 1.0, "{ten_ms}");
        assert_eq!(sized_for(Duration::from_millis(100)), None);
        assert_eq!(sized_for(Duration::from_secs(3)), None, "a retransmitted SYN");
    }

    #[test]
    fn system_and_fixed_sizes_ignore_the_round_trip() {
        let rtt = Duration::from_micros(40);
        assert_eq!(ReceiveBuffer::System.for_round_trip(rtt), None);
        assert_eq!(ReceiveBuffer::Bytes(65_536).for_round_trip(rtt), Some(65_536));
        assert_eq!(ReceiveBuffer::default().for_round_trip(rtt), Some(FLOOR));
    }

    #[test]
    fn only_a_read_under_half_the_window_makes_the_next_one_wait_and_only_once() {
        let mut pacing = Pacing::new(64 * 1024, false);
        assert_eq!(pacing.resume_at(), None, "the first read does not wait");
        pacing.read(32 * 1024);
        assert_eq!(pacing.resume_at(), None, "half a window or more: read on");
        pacing.read(200);
        let at = pacing.resume_at().expect("a small read pauses the next");
        assert!(at <= Instant::now() + PAUSE);
        assert_eq!(pacing.resume_at(), Some(at), "asking again does not move the deadline");
        std::thread::sleep(PAUSE);
        assert_eq!(pacing.resume_at(), None, "the pause is over");
    }

    proptest! {
        #[test]
        fn a_sized_window_never_throttles_below_the_minimum_rate(micros in 0u64..1_000_000) {
            let rtt = Duration::from_micros(micros);
            match sized_for(rtt) {
                Some(n) => {
                    prop_assert!((FLOOR..=CEILING).contains(&n));
                    prop_assert!(n as f64 + 1.0 >= rtt.as_secs_f64() * MIN_RATE);
                }
                None => prop_assert!(rtt.as_secs_f64() * MIN_RATE > CEILING as f64),
            }
        }
    }
}
