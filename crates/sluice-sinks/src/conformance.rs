//! The sink conformance suite: one set of cases that proves a sink keeps the [`Sink`] contract, run by every sink.
//!
//! Why a shared suite: the contract is about what a *reader of the destination* sees — every acknowledged record,
//! per-key order, repeats but never gaps after a failure or a cancelled write, no half records — and each sink's own
//! tests only ever checked the happy path in their own words. Here a sink supplies a [`Destination`]: how to open
//! the sink, and an independent reader of what it wrote (the file read from disk, a real Kafka consumer, the other
//! end of a pipe), plus, where it can be done honestly, a way to make the destination fail. The cases drive the sink
//! exactly as the pipeline does (one call at a time, a failed batch written again with everything after it, a
//! retriable error retried on the same sink, a fatal one on a newly opened sink) and judge only by what the reader
//! reads back.
//!
//! Wiring a sink is one [`suite!`](crate::conformance_suite) line in its folder's `conformance.rs`, listing the
//! cases it runs; a sink that skips a case says why there. The suite is compiled for this crate's tests and, with
//! the `conformance` feature, for sinks living elsewhere.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_core::{Lsn, Payload, Position, Record, Sink};

/// The topic every case writes to (and a size error must name).
pub const TOPIC: &str = "conformance.public.items";

/// How long a reader that polls a remote destination may take to see an acknowledged record.
const READ_DEADLINE: Duration = Duration::from_secs(60);

/// How many times the cancellation cases try to catch a write halfway before giving up.
const CANCEL_ATTEMPTS: usize = 20;

/// One record as an independent reader read it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub topic: String,
    pub key: Value,
    pub value: Value,
    pub headers: Vec<(String, String)>,
}

/// What a sink under test writes to, and how to read it back without the sink.
///
/// The methods are `async fn`s because the cases await them in place, on the test's own task; nothing requires
/// their futures to be `Send`.
#[allow(async_fn_in_trait)]
pub trait Destination {
    type Sink: Sink;

    /// A new sink writing to this destination. Called again after a fatal error, as a restarted Sluice opens one.
    async fn open(&mut self) -> Self::Sink;

    /// Everything the destination holds, read independently of the sink, per-key order as stored. A half-written
    /// record at the very end (a write still in progress) is not returned; one anywhere else is a failure.
    async fn read(&mut self) -> Vec<Seen>;

    /// Whether an acknowledged record is in the very next [`read`](Self::read) (a file, a pipe). A reader polling a
    /// remote destination (Kafka) gets [`READ_DEADLINE`] instead.
    fn visible_at_once(&self) -> bool {
        true
    }

    /// Moves bytes from the destination to the reader while a write waits on it (a pipe's reader reading); never
    /// completes for destinations that need no reader to make progress.
    async fn pump(&mut self) {
        std::future::pending().await
    }

    /// The largest key plus value the sink must deliver, when the destination has a limit; `None`: no limit.
    fn max_record_bytes(&self) -> Option<usize> {
        None
    }

    /// Makes the destination refuse the next writes partway through, as a real fault does (Kafka: the broker
    /// killed; file: the file system refusing more bytes). Only for destinations that list the failure case.
    async fn fail(&mut self) {
        unimplemented!("this destination cannot be made to fail; do not list the failure case for it")
    }

    /// Undoes [`fail`](Self::fail): the broker restarted, the file system taking bytes again.
    async fn recover(&mut self) {}
}

/// Generates one `#[tokio::test]` per listed case for a destination: `suite!(make_destination().await; case, …)`.
/// Each test is named for the case, i.e. for the behaviour it proves.
#[macro_export]
macro_rules! conformance_suite {
    ($destination:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::$case($destination).await;
            }
        )+
    };
}
pub use conformance_suite as suite;

/// `n` records over `keys` keys, key `i % keys`, each value carrying its key and its sequence number within the
/// key, continuing the sequences in `next`. Values are padded to `pad` bytes so a batch can outgrow a pipe.
fn records(next: &mut BTreeMap<u64, u64>, keys: u64, n: u64, pad: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let k = i % keys;
            let seq = next.entry(k).or_default();
            let value = json!({"k": k, "seq": *seq, "pad": "x".repeat(pad)});
            let header = ("seq".to_string(), seq.to_string().into_bytes());
            *seq += 1;
            record(k, value.to_string().into_bytes(), vec![header])
        })
        .collect()
}

fn record(k: u64, value: Vec<u8>, headers: Vec<(String, Vec<u8>)>) -> Record {
    Record {
        topic: TOPIC.into(),
        partition: None,
        key: Some(Payload::Json(json!({ "k": k }).to_string().into_bytes())),
        value: Some(Payload::Json(value)),
        headers,
        timestamp_ms: 1_700_000_000_000,
        position: Position::new(Lsn(1), k),
    }
}

/// Runs `fut` (a sink call) to completion while the destination's reader keeps up.
async fn drive<D: Destination, T>(d: &mut D, fut: impl Future<Output = T>) -> T {
    let mut fut = pin!(fut);
    loop {
        tokio::select! {
            biased;
            out = &mut fut => return out,
            () = d.pump() => {}
        }
    }
}

/// Reads until `done` holds: at once for a local destination, within [`READ_DEADLINE`] for a remote one. Returns
/// the last read either way; the caller asserts.
async fn read_when<D: Destination>(d: &mut D, done: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
    let until = Instant::now() + READ_DEADLINE;
    loop {
        let seen = d.read().await;
        if done(&seen) || d.visible_at_once() || Instant::now() > until {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Each key's sequence numbers, in the order the reader saw them.
fn per_key(seen: &[Seen]) -> BTreeMap<u64, Vec<u64>> {
    let mut keys: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for s in seen {
        assert_eq!(s.topic, TOPIC, "{s:?}");
        let k = s.value["k"].as_u64().unwrap_or_else(|| panic!("a record the suite did not write: {s:?}"));
        assert_eq!(s.key, json!({ "k": k }), "key and value belong together: {s:?}");
        keys.entry(k).or_default().push(s.value["seq"].as_u64().expect("a sequence number"));
    }
    keys
}

fn exactly_once(seen: &[Seen], written: &BTreeMap<u64, u64>) -> bool {
    let want: BTreeMap<u64, Vec<u64>> = written.iter().map(|(&k, &n)| (k, (0..n).collect())).collect();
    per_key(seen) == want
}

/// At least once, in order per key: each key's sequence starts at 0, every step either moves on by one or goes
/// back (a batch written again), and it ends at the key's last record — repeats, never gaps or reordering.
fn repeats_never_gaps(seen: &[Seen], written: &BTreeMap<u64, u64>) -> Result<(), String> {
    let keys = per_key(seen);
    for (&k, &n) in written {
        let seqs = keys.get(&k).ok_or(format!("key {k}: nothing read"))?;
        let ok = seqs.first() == Some(&0)
            && seqs.windows(2).all(|w| w[1] == w[0] + 1 || w[1] <= w[0])
            && seqs.last() == Some(&(n - 1));
        if !ok {
            return Err(format!("key {k}: read {seqs:?}, wrote 0..{n}"));
        }
    }
    Ok(())
}

fn complete(seen: &[Seen], written: &BTreeMap<u64, u64>) -> bool {
    repeats_never_gaps(seen, written).is_ok()
}

async fn write_ok<D: Destination>(d: &mut D, sink: &mut D::Sink, batch: &[Record], what: &str) {
    if let Err(e) = drive(d, sink.write(batch)).await {
        panic!("{what}: {e}");
    }
}

/// Writes `batch` as the pipeline does after a failure: a retriable error is retried on the same sink (with a short
/// back-off, within [`READ_DEADLINE`]), a fatal one fails the test.
async fn write_retrying<D: Destination>(d: &mut D, sink: &mut D::Sink, batch: &[Record], what: &str) {
    let until = Instant::now() + READ_DEADLINE;
    loop {
        match drive(d, sink.write(batch)).await {
            Ok(()) => return,
            Err(e) if e.retriable && Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Starts writing `batch` and drops the write once the reader sees part of it while the write is still pending.
/// Says whether that happened (a write may finish before the reader looks; the caller tries again).
async fn cancel_halfway<D: Destination>(d: &mut D, sink: &mut D::Sink, batch: &[Record], before: usize) -> bool {
    let mut write = pin!(sink.write(batch));
    loop {
        tokio::select! {
            biased;
            written = &mut write => {
                written.expect("a write that was not cancelled");
                return false;
            }
            () = tokio::time::sleep(Duration::from_millis(2)) => {}
        }
        if d.read().await.len() > before {
            return true;
        }
    }
}

/// Writes `batch` until one write is dropped halfway; returns how many attempts were written (each writes the whole
/// batch again, as a retry does).
async fn cancel_one_write<D: Destination>(d: &mut D, sink: &mut D::Sink, batch: &[Record]) -> u64 {
    for attempt in 1..=CANCEL_ATTEMPTS {
        let before = d.read().await.len();
        if cancel_halfway(d, sink, batch, before).await {
            return attempt as u64;
        }
    }
    panic!("no write of {} records was still in progress once part of it was readable", batch.len());
}

/// Several batches with interleaved keys arrive exactly once, each key's records in the order written.
pub async fn keeps_per_key_order_across_batches<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    let mut next = BTreeMap::new();
    for i in 0..4 {
        let batch = records(&mut next, 7, 60, 16);
        write_ok(&mut d, &mut sink, &batch, &format!("batch {i}")).await;
    }
    let seen = read_when(&mut d, |s| exactly_once(s, &next)).await;
    assert!(exactly_once(&seen, &next), "read {:?}, wrote {next:?}", per_key(&seen));
}

/// The moment `write` returns `Ok`, the reader can read the whole batch, field for field.
pub async fn acknowledges_only_what_an_independent_reader_can_read<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    let mut next = BTreeMap::new();
    let batch = records(&mut next, 3, 12, 8);
    write_ok(&mut d, &mut sink, &batch, "the batch").await;
    let seen = read_when(&mut d, |s| s.len() >= batch.len()).await;
    let expected: Vec<Seen> = batch
        .iter()
        .map(|r| Seen {
            topic: r.topic.to_string(),
            key: serde_json::from_slice(&r.key.as_ref().expect("a key").bytes()).expect("JSON"),
            value: serde_json::from_slice(&r.value.as_ref().expect("a value").bytes()).expect("JSON"),
            headers: r.headers.iter().map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned())).collect(),
        })
        .collect();
    let mut sorted = seen.clone();
    sorted.sort_by_key(|s| (s.value["k"].as_u64(), s.value["seq"].as_u64()));
    let mut expected_sorted = expected;
    expected_sorted.sort_by_key(|s| (s.value["k"].as_u64(), s.value["seq"].as_u64()));
    assert_eq!(sorted, expected_sorted, "an acknowledged batch is readable at once (within the deadline for a remote)");
}

/// The destination fails during a batch; the batch is written again (on the same sink when the error is retriable,
/// on a new one when it is fatal) with the next one after it. The reader finds what was acknowledged before the
/// failure, then every record, repeats allowed, never a gap or a torn record.
pub async fn a_failed_batch_written_again_leaves_repeats_never_gaps<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    let mut next = BTreeMap::new();
    let first = records(&mut next, 5, 40, 16);
    write_ok(&mut d, &mut sink, &first, "the batch before the failure").await;
    let failing = records(&mut next, 5, 400, 64);
    d.fail().await;
    let error = drive(&mut d, sink.write(&failing)).await.expect_err("a write to a failed destination is not Ok");
    d.recover().await;
    if !error.retriable {
        drop(sink);
        sink = d.open().await;
    }
    write_retrying(&mut d, &mut sink, &failing, "the failed batch written again").await;
    let after = records(&mut next, 5, 40, 16);
    write_ok(&mut d, &mut sink, &after, "the batch after it").await;
    let seen = read_when(&mut d, |s| complete(s, &next)).await;
    // The first batch was written once, before the failure: finding its records proves they outlived it.
    repeats_never_gaps(&seen, &next).unwrap_or_else(|e| panic!("after `{error}`: {e}"));
}

/// A write whose future is dropped halfway acknowledges nothing and leaves the sink usable: writing that batch again
/// and the next one leaves every record readable, in order per key, repeats allowed, no torn record.
pub async fn a_write_cancelled_halfway_then_retried_leaves_everything_in_order<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    let mut next = BTreeMap::new();
    let first = records(&mut next, 5, 20, 16);
    write_ok(&mut d, &mut sink, &first, "the batch before").await;
    let cancelled = records(&mut next, 5, 4000, 256);
    cancel_one_write(&mut d, &mut sink, &cancelled).await;
    write_ok(&mut d, &mut sink, &cancelled, "the cancelled batch written again").await;
    let after = records(&mut next, 5, 20, 16);
    write_ok(&mut d, &mut sink, &after, "the batch after it").await;
    let seen = read_when(&mut d, |s| complete(s, &next)).await;
    repeats_never_gaps(&seen, &next).unwrap_or_else(|e| panic!("{e}"));
}

/// An empty batch is acknowledged and writes nothing: the records on either side of it are read exactly once.
pub async fn an_empty_batch_is_acknowledged_and_writes_nothing<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    let mut next = BTreeMap::new();
    let before = records(&mut next, 2, 4, 8);
    write_ok(&mut d, &mut sink, &before, "the batch before").await;
    write_ok(&mut d, &mut sink, &[], "the empty batch").await;
    let after = records(&mut next, 2, 4, 8);
    write_ok(&mut d, &mut sink, &after, "the batch after").await;
    let seen = read_when(&mut d, |s| exactly_once(s, &next)).await;
    assert!(exactly_once(&seen, &next), "read {:?}, wrote {next:?}", per_key(&seen));
}

/// The null sink's form of the empty-batch case: there is nothing to read, so only the acknowledgement is checked.
pub async fn an_empty_batch_is_acknowledged<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    drive(&mut d, sink.write(&[])).await.expect("an empty batch is Ok");
}

/// A record of exactly the largest size the destination takes is delivered whole; one byte more is a fatal error
/// naming the topic, and nothing of it is read. Without a limit, a 4 MiB record arrives whole.
pub async fn records_up_to_the_size_limit_arrive_whole_and_larger_ones_fail_naming_the_topic<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    let key_len = json!({ "k": 0 }).to_string().len();
    let limit = d.max_record_bytes();
    let value_len = limit.map_or(4 << 20, |l| l - key_len);
    // A JSON value of exactly `len` bytes: `{"k":0,"seq":0,"pad":"yyy…"}`.
    let head = json!({"k": 0, "seq": 0, "pad": ""}).to_string().len();
    let value_of = |len: usize| json!({"k": 0, "seq": 0, "pad": "y".repeat(len - head)}).to_string().into_bytes();
    let largest = record(0, value_of(value_len), vec![]);
    assert_eq!(largest.value.as_ref().map(Payload::len), Some(value_len));
    write_ok(&mut d, &mut sink, std::slice::from_ref(&largest), "the largest record").await;
    let seen = read_when(&mut d, |s| !s.is_empty()).await;
    assert_eq!(seen.len(), 1, "the largest record is read once");
    assert_eq!(seen[0].value["pad"].as_str().map(str::len), Some(value_len - head), "and whole");
    if limit.is_none() {
        return;
    }
    let over = record(0, value_of(value_len + 1), vec![]);
    let error = drive(&mut d, sink.write(std::slice::from_ref(&over))).await.expect_err("one byte over the limit");
    assert!(!error.retriable, "no retry makes a record smaller: {error}");
    assert!(error.to_string().contains(TOPIC), "the error names the topic: {error}");
    let mut next = BTreeMap::from([(0, 1)]);
    let after = records(&mut next, 1, 1, 8);
    write_ok(&mut d, &mut sink, &after, "a record after the refused one").await;
    let seen = read_when(&mut d, |s| s.len() >= 2).await;
    assert_eq!(per_key(&seen), BTreeMap::from([(0, vec![0, 1])]), "the refused record was not delivered");
}

/// `close` returns once everything the sink accepted has landed: acknowledged batches, and the rest of a write that
/// was cancelled halfway (its records are repeats-to-be, which is allowed; a torn one is not).
pub async fn close_settles_a_cancelled_write_and_flushes<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    let mut next = BTreeMap::new();
    let first = records(&mut next, 3, 30, 16);
    write_ok(&mut d, &mut sink, &first, "the acknowledged batch").await;
    let cancelled = records(&mut next, 3, 4000, 256);
    cancel_one_write(&mut d, &mut sink, &cancelled).await;
    if let Err(e) = drive(&mut d, sink.close()).await {
        panic!("close: {e}");
    }
    let seen = read_when(&mut d, |s| complete(s, &next)).await;
    repeats_never_gaps(&seen, &next).unwrap_or_else(|e| panic!("after close: {e}"));
}

/// `close` after acknowledged writes succeeds (the null sink's form: nothing to read).
/// Health is `Ok` while the destination is reachable.
pub async fn health_is_ok_while_the_destination_is_reachable<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    drive(&mut d, sink.health()).await.expect("a reachable destination is healthy");
}

/// Health is a retriable error while the destination is down, and `Ok` again once it is back.
pub async fn health_fails_retriably_while_the_destination_is_down_and_recovers<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    drive(&mut d, sink.health()).await.expect("healthy before the failure");
    d.fail().await;
    let error = drive(&mut d, sink.health()).await.expect_err("a destination that is down is not healthy");
    assert!(error.retriable, "an unreachable destination is worth retrying: {error}");
    d.recover().await;
    drive(&mut d, sink.health()).await.expect("healthy again once the destination is back");
}

pub async fn close_after_writes_succeeds<D: Destination>(mut d: D) {
    let mut sink = d.open().await;
    let mut next = BTreeMap::new();
    let batch = records(&mut next, 3, 30, 16);
    write_ok(&mut d, &mut sink, &batch, "the batch").await;
    drive(&mut d, sink.close()).await.expect("close");
}

/// Reads the JSON Lines form of the file and stdout sinks (`render_json_line`) back into records: complete lines
/// only, since a line still being written is not a record yet, but a complete line that does not parse is a torn
/// record and fails the test.
pub fn read_json_lines(bytes: &[u8]) -> Vec<Seen> {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(&bytes[..0], |end| &bytes[..end]);
    complete
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let v: Value = serde_json::from_slice(line)
                .unwrap_or_else(|e| panic!("a torn record ({e}): {}", String::from_utf8_lossy(line)));
            let headers = v["headers"].as_object().expect("headers");
            Seen {
                topic: v["topic"].as_str().expect("a topic").to_string(),
                key: v["key"].clone(),
                value: v["value"].clone(),
                headers: headers.iter().map(|(k, h)| (k.clone(), h.as_str().expect("a string").to_string())).collect(),
            }
        })
        .collect()
}
