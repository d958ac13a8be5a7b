//! Memory is bounded by bytes, not only by counts (DESIGN §2.6): many large values — in one transaction, and in a
//! snapshot — flow through with a peak resident size that does not grow with their number, and arrive intact and
//! in order. Before byte budgets, the snapshot put up to 512 rows in one chunk and 1024 records in one batch, so
//! thirty 10 MiB rows were all in memory at once, several times over.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use super::support::{Setup, Sluice, WAIT};

const ROWS: usize = 30;
/// Each row's text value: 10 MiB, TOASTed (and compressed) in the table, whole in pgoutput and COPY.
const VALUE_BYTES: usize = 10 << 20;
/// What one value repeats: the row's id, so a value that lost or swapped bytes, or came from another row, differs.
const UNIT: usize = 9;
/// The peak resident sizes the runs must stay under. What is in flight is a fixed number of values whatever the
/// number of rows: the source's chunk and the two in the channel (one row each: a row is over the default 32 MiB
/// budget's 8 MiB share), the pipeline's batch of one encoded record, the file sink's copy of it, and the read
/// buffer of the next message. The snapshot holds a few more: tokio-postgres reads ahead into a channel of its own,
/// and the snapshot reader holds back one row to mark the table's last. Measured (debug build): stream about
/// 105 MiB and snapshot about 245 MiB; before byte budgets, 255 MiB and 988 MiB.
const STREAM_PEAK_RSS_LIMIT: u64 = 180 << 20;
const SNAPSHOT_PEAK_RSS_LIMIT: u64 = 400 << 20;

fn value_sql() -> String {
    format!("repeat('row' || lpad(i::text, 5, '0') || '-', {})", VALUE_BYTES / UNIT)
}

fn expected_value(id: u64) -> String {
    format!("row{id:05}-").repeat(VALUE_BYTES / UNIT)
}

/// Counts the complete lines of the file sink's output, reading only what was appended since the last call.
struct LineCounter {
    offset: u64,
    lines: usize,
}

impl LineCounter {
    fn new() -> Self {
        LineCounter { offset: 0, lines: 0 }
    }

    fn wait_for(&mut self, path: &Path, lines: usize, sluice: &Sluice) {
        let deadline = Instant::now() + WAIT * 3;
        let mut buf = vec![0u8; 1 << 20];
        while self.lines < lines {
            assert!(Instant::now() < deadline, "timed out at {} of {lines} records:\n{}", self.lines, sluice.log());
            let Ok(mut file) = std::fs::File::open(path) else {
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            };
            file.seek(SeekFrom::Start(self.offset)).unwrap();
            let n = file.read(&mut buf).unwrap();
            if n == 0 {
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
            self.offset += n as u64;
            self.lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        }
    }
}

/// Reads the file sink's output record by record (never all of it at once) and checks that the table's events are
/// rows 1..=ROWS with op `op`, in order, each value intact.
fn assert_rows_intact(path: &Path, op: &str) {
    let reader = BufReader::new(std::fs::File::open(path).unwrap());
    let mut next_id = 1u64;
    for line in reader.lines() {
        let record: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if record["topic"] != "test.public.blobs" || record["value"]["op"] != op {
            continue;
        }
        let after = &record["value"]["after"];
        assert_eq!(after["id"], next_id, "rows out of order");
        let value = after["body"].as_str().expect("a text value");
        assert_eq!(value.len(), VALUE_BYTES / UNIT * UNIT, "row {next_id}: value of the wrong length");
        assert!(value == expected_value(next_id), "row {next_id}: value differs from what was written");
        next_id += 1;
    }
    assert_eq!(next_id, ROWS as u64 + 1, "rows missing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_of_many_large_rows_stays_within_the_memory_bound() {
    let setup = Setup::new("mem_snapshot").await;
    setup.db.psql(&format!(
        "CREATE TABLE blobs (id int PRIMARY KEY, body text);
         INSERT INTO blobs SELECT i, {} FROM generate_series(1, {ROWS}) i;",
        value_sql()
    ));
    let sluice = setup.start();
    LineCounter::new().wait_for(&setup.events_path(), ROWS, &sluice);
    let peak = sluice.peak_rss();
    eprintln!("peak RSS {} MiB", peak >> 20);
    sluice.stop();
    assert_rows_intact(&setup.events_path(), "r");
    assert!(peak < SNAPSHOT_PEAK_RSS_LIMIT, "peak RSS {} MiB, over {} MiB", peak >> 20, SNAPSHOT_PEAK_RSS_LIMIT >> 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_of_many_large_rows_stays_within_the_memory_bound() {
    let setup = Setup::new("mem_stream").await;
    setup.db.psql("CREATE TABLE blobs (id int PRIMARY KEY, body text);");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql(&format!("INSERT INTO blobs SELECT i, {} FROM generate_series(1, {ROWS}) i;", value_sql()));
    LineCounter::new().wait_for(&setup.events_path(), ROWS, &sluice);
    let peak = sluice.peak_rss();
    eprintln!("peak RSS {} MiB", peak >> 20);
    sluice.stop();
    assert_rows_intact(&setup.events_path(), "c");
    assert!(peak < STREAM_PEAK_RSS_LIMIT, "peak RSS {} MiB, over {} MiB", peak >> 20, STREAM_PEAK_RSS_LIMIT >> 20);
}
