//! What one pipeline is doing, for the people and probes that ask: streaming or not, when it last delivered an
//! event, how far its snapshot has got, which topics it has written to.
//!
//! A [`PipelineStatus`] is made per pipeline and handed to its parts (the source sets streaming and snapshot progress,
//! the delivery loop the last acknowledged event); the HTTP endpoints, `sluice status`, the progress bars and, in
//! `sluice connect`, each connector's status read it. Nothing here is process-wide, so two connectors of one worker
//! never see each other's state.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One table's snapshot progress.
#[derive(Clone, Debug, PartialEq)]
pub struct TableProgress {
    pub table: String,
    pub rows: u64,
    /// `pg_class.reltuples`: the planner's estimate (0 when unknown).
    pub estimated_rows: u64,
    pub started: Instant,
    pub done: bool,
}

impl TableProgress {
    pub fn rows_per_second(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            self.rows as f64 / secs
        } else {
            0.0
        }
    }

    /// Time left at the current rate, when the estimate allows one.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rows_per_second();
        (self.estimated_rows > self.rows && rate > 0.0)
            .then(|| Duration::from_secs_f64((self.estimated_rows - self.rows) as f64 / rate))
    }
}

/// One pipeline's status; clones share it.
#[derive(Clone, Debug, Default)]
pub struct PipelineStatus {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    streaming: AtomicBool,
    /// When the last event was acknowledged (µs since the epoch); 0 before the first.
    last_event_us: AtomicI64,
    /// Events left out because they could not be encoded (`event.processing.failure.handling.mode`).
    skipped: AtomicU64,
    /// Every table of the running (or last) snapshot, in the order they started.
    board: Mutex<Vec<TableProgress>>,
    /// The failure the pipeline is restarting after, until it streams or delivers again.
    retrying: Mutex<Option<Retrying>>,
    /// Every topic a sink write delivered to since the status was made or the set was last reset (Kafka Connect's
    /// "active topics").
    topics: Mutex<BTreeSet<Arc<str>>>,
}

/// A pipeline restarting after failures, with no stream opened or event delivered since.
#[derive(Clone, Debug, PartialEq)]
pub struct Retrying {
    /// The last failure, with the error policy's hint and when the next attempt is.
    pub trace: String,
    /// Failed attempts in a row.
    pub attempts: u32,
}

impl PipelineStatus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the replication stream is open.
    pub fn streaming(&self) -> bool {
        self.inner.streaming.load(Ordering::Relaxed)
    }

    /// The replication stream opened (`true`, which also ends a run of failures) or closed.
    pub fn set_streaming(&self, streaming: bool) {
        self.inner.streaming.store(streaming, Ordering::Relaxed);
        if streaming {
            self.recovered();
        }
    }

    /// The pipeline failed (`explained`: the error and its hint) and restarts after `delay`.
    pub fn restarting(&self, explained: &str, delay: Duration) {
        let mut retrying = self.inner.retrying.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let attempts = retrying.as_ref().map_or(0, |r| r.attempts) + 1;
        let trace = format!("{explained}\n  retrying in {} ms (attempt {attempts})", delay.as_millis());
        *retrying = Some(Retrying { trace, attempts });
    }

    /// The failures the pipeline is restarting after, if it has not streamed or delivered since.
    pub fn retrying(&self) -> Option<Retrying> {
        self.inner.retrying.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn recovered(&self) {
        let mut retrying = self.inner.retrying.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if retrying.is_some() {
            *retrying = None;
        }
    }

    /// When the last event was acknowledged (µs since the epoch), if one was.
    pub fn last_event_us(&self) -> Option<i64> {
        Some(self.inner.last_event_us.load(Ordering::Relaxed)).filter(|&us| us > 0)
    }

    /// An event was acknowledged (which also ends a run of failures: a snapshot delivers before it streams).
    pub fn event_acknowledged(&self, now_us: i64) {
        self.inner.last_event_us.store(now_us, Ordering::Relaxed);
        self.recovered();
    }

    /// Events left out so far because they could not be encoded.
    pub fn skipped(&self) -> u64 {
        self.inner.skipped.load(Ordering::Relaxed)
    }

    /// `n` more events were left out (and their batch acknowledged).
    pub fn events_skipped(&self, n: u64) {
        self.inner.skipped.fetch_add(n, Ordering::Relaxed);
    }

    /// Every table of the running (or last) snapshot, in the order they started.
    pub fn snapshot_progress(&self) -> Vec<TableProgress> {
        self.board().clone()
    }

    fn board(&self) -> MutexGuard<'_, Vec<TableProgress>> {
        self.inner.board.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn table_started(&self, table: &str, estimated_rows: u64) {
        let mut board = self.board();
        board.retain(|t| t.table != table);
        board.push(TableProgress {
            table: table.to_string(),
            rows: 0,
            estimated_rows,
            started: Instant::now(),
            done: false,
        });
    }

    pub fn table_rows(&self, table: &str, rows: u64, done: bool) {
        if let Some(t) = self.board().iter_mut().find(|t| t.table == table) {
            t.rows = rows;
            t.done = done;
        }
    }

    /// A new snapshot starts with an empty board.
    pub fn snapshot_started(&self) {
        self.board().clear();
    }

    /// The topics written to since the status was made or [`Self::reset_topics`], in name order.
    pub fn topics(&self) -> Vec<String> {
        self.topic_set().iter().map(|t| t.to_string()).collect()
    }

    /// A sink write delivered records to `topics` (one entry per record). Called once per write, so it locks once;
    /// consecutive records of one topic share its `Arc`, which keeps the look-ups to one per run of a topic.
    pub fn topics_written<'a>(&self, topics: impl IntoIterator<Item = &'a Arc<str>>) {
        let mut set = self.topic_set();
        let mut last: Option<&Arc<str>> = None;
        for topic in topics {
            if last.is_some_and(|l| Arc::ptr_eq(l, topic)) {
                continue;
            }
            last = Some(topic);
            if !set.contains(&**topic) {
                set.insert(topic.clone());
            }
        }
    }

    /// Forgets the topics written so far.
    pub fn reset_topics(&self) {
        self.topic_set().clear();
    }

    fn topic_set(&self) -> MutexGuard<'_, BTreeSet<Arc<str>>> {
        self.inner.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_follow_the_rows_read_against_the_estimate() {
        let started = Instant::now() - Duration::from_secs(10);
        let p = TableProgress { table: "t".into(), rows: 1000, estimated_rows: 3000, started, done: false };
        assert!((p.rows_per_second() - 100.0).abs() < 5.0, "{}", p.rows_per_second());
        let eta = p.eta().unwrap().as_secs_f64();
        assert!((19.0..=21.0).contains(&eta), "{eta}");
        let unknown = TableProgress { estimated_rows: 0, ..p.clone() };
        assert_eq!(unknown.eta(), None, "no estimate, no ETA");
        let past = TableProgress { rows: 5000, ..p };
        assert_eq!(past.eta(), None, "more rows than estimated: no ETA");
    }

    #[test]
    fn the_board_tracks_tables_and_a_new_snapshot_clears_it() {
        let status = PipelineStatus::new();
        status.table_started("public.a", 10);
        status.table_rows("public.a", 4, false);
        status.table_started("public.b", 0);
        status.table_rows("public.b", 7, true);
        let board = status.snapshot_progress();
        assert_eq!(
            board.iter().map(|t| (t.table.as_str(), t.rows, t.done)).collect::<Vec<_>>(),
            [("public.a", 4, false), ("public.b", 7, true)]
        );
        status.snapshot_started();
        assert!(status.snapshot_progress().is_empty());
    }

    #[test]
    fn written_topics_are_kept_once_each_until_reset() {
        let status = PipelineStatus::new();
        let (a, b): (Arc<str>, Arc<str>) = ("pg.public.b".into(), "pg.public.a".into());
        status.topics_written([&a, &a, &b, &a]);
        status.topics_written([&Arc::from("pg.public.a")]);
        assert_eq!(status.topics(), ["pg.public.a", "pg.public.b"]);
        status.reset_topics();
        assert!(status.topics().is_empty());
        status.topics_written([&b]);
        assert_eq!(status.topics(), ["pg.public.a"]);
    }

    #[test]
    fn failures_count_until_the_pipeline_streams_or_delivers_again() {
        let status = PipelineStatus::new();
        assert_eq!(status.retrying(), None);
        status.restarting("cannot connect\n  hint: h", Duration::from_secs(1));
        status.restarting("cannot connect\n  hint: h", Duration::from_secs(2));
        let retrying = status.retrying().unwrap();
        assert_eq!(retrying.attempts, 2);
        assert!(retrying.trace.contains("hint: h") && retrying.trace.contains("retrying in 2000 ms"), "{retrying:?}");
        status.set_streaming(true);
        assert_eq!(status.retrying(), None);
        status.restarting("x", Duration::ZERO);
        status.event_acknowledged(1);
        assert_eq!(status.retrying(), None);
    }

    #[test]
    fn two_pipelines_never_share_their_status() {
        let (a, b) = (PipelineStatus::new(), PipelineStatus::new());
        a.set_streaming(true);
        a.events_skipped(2);
        assert_eq!((a.skipped(), b.skipped()), (2, 0));
        a.event_acknowledged(42);
        a.table_started("public.a", 1);
        assert!(a.streaming() && !b.streaming());
        assert_eq!((a.last_event_us(), b.last_event_us()), (Some(42), None));
        assert!(b.snapshot_progress().is_empty());
        let shared = a.clone();
        shared.set_streaming(false);
        assert!(!a.streaming(), "clones share one status");
    }
}
