//! Snapshot progress for people: what every table reader has done, readable from anywhere in the process.
//!
//! The snapshot readers update a board (rows read, the planner's row estimate, when the table started); the binary
//! draws it as progress bars when stderr is a terminal, and the readers log it every few seconds otherwise (with
//! rate and ETA). The library draws nothing itself.

use std::sync::{Mutex, MutexGuard};
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

static BOARD: Mutex<Vec<TableProgress>> = Mutex::new(Vec::new());

fn board() -> MutexGuard<'static, Vec<TableProgress>> {
    BOARD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every table of the running (or last) snapshot, in the order they started.
pub fn snapshot_progress() -> Vec<TableProgress> {
    board().clone()
}

pub(crate) fn table_started(table: &str, estimated_rows: u64) {
    let mut board = board();
    board.retain(|t| t.table != table);
    board.push(TableProgress {
        table: table.to_string(),
        rows: 0,
        estimated_rows,
        started: Instant::now(),
        done: false,
    });
}

pub(crate) fn table_rows(table: &str, rows: u64, done: bool) {
    if let Some(t) = board().iter_mut().find(|t| t.table == table) {
        t.rows = rows;
        t.done = done;
    }
}

/// A new snapshot starts with an empty board.
pub(crate) fn reset() {
    board().clear();
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
        reset();
        table_started("public.a", 10);
        table_rows("public.a", 4, false);
        table_started("public.b", 0);
        table_rows("public.b", 7, true);
        let board = snapshot_progress();
        assert_eq!(
            board.iter().map(|t| (t.table.as_str(), t.rows, t.done)).collect::<Vec<_>>(),
            [("public.a", 4, false), ("public.b", 7, true)]
        );
        reset();
        assert!(snapshot_progress().is_empty());
    }
}
