//! Transactions the server streams before they commit (pgoutput protocol 2, `streaming 'on'`): held in a spill file
//! and emitted at Stream Commit with the same events and positions as any transaction, or not at all when they —
//! or a subtransaction of theirs — roll back; across kill -9; in bounded memory; and `streaming=off` yields the very
//! same events.
//!
//! Each test lowers its database's `logical_decoding_work_mem` to the minimum (64 kB) so the server streams
//! transactions of a few thousand rows.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::{Setup, WAIT};

async fn streaming_setup(prefix: &str) -> Setup {
    let setup = Setup::new(prefix).await;
    setup.db.psql(&format!("ALTER DATABASE {} SET logical_decoding_work_mem = '64kB'", setup.db.name));
    setup.db.psql("CREATE TABLE big (id int PRIMARY KEY, pad text); CREATE TABLE small (id int PRIMARY KEY)");
    setup
}

/// How many transactions the server has streamed on the test's slot.
fn streamed_txns(setup: &Setup) -> i64 {
    let slot = setup.properties["debezium.source.slot.name"].clone();
    let n = setup.db.psql(&format!(
        "SELECT coalesce(sum(stream_txns), 0) FROM pg_stat_replication_slots WHERE slot_name = '{slot}'"
    ));
    n.trim().parse().unwrap()
}

/// Waits until the server has streamed more than `before` transactions (so what was written is in Sluice's spill).
fn wait_streamed(setup: &Setup, before: i64) {
    let deadline = Instant::now() + WAIT;
    while streamed_txns(setup) <= before {
        assert!(Instant::now() < deadline, "the server never streamed the transaction");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn big_ids(records: &[Value]) -> Vec<i64> {
    records
        .iter()
        .filter(|r| r["topic"] == "test.public.big" && !r["value"].is_null())
        .map(|r| r["value"]["after"]["id"].as_i64().unwrap())
        .collect()
}

/// The `(commit LSN, ordinal)` of an event, from `source.sequence`.
fn position(record: &Value) -> (String, u64) {
    let seq: Vec<String> = serde_json::from_str(record["value"]["source"]["sequence"].as_str().unwrap()).unwrap();
    (seq[0].clone(), seq[1].parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_transaction_arrives_whole_at_its_commit_after_transactions_that_committed_first() {
    let setup = streaming_setup("stream_commit").await;
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let before = streamed_txns(&setup);
    let big = setup.db.client().await;
    big.batch_execute("BEGIN; INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g")
        .await
        .unwrap();
    wait_streamed(&setup, before);
    // A small transaction commits while the big one is open (and partly streamed): it comes first.
    setup.db.psql("INSERT INTO small VALUES (1)");
    big.batch_execute("INSERT INTO big SELECT g, 'y' FROM generate_series(5001, 8000) g; COMMIT").await.unwrap();
    let records = setup.wait_for_records("the streamed transaction", WAIT, |r| big_ids(r).len() >= 8000);
    sluice.wait_for_log("streamed transaction committed", WAIT);
    sluice.stop();

    assert_eq!(big_ids(&records), (1..=8000).collect::<Vec<_>>());
    let first_big = records.iter().position(|r| r["topic"] == "test.public.big").unwrap();
    let small = records.iter().position(|r| r["topic"] == "test.public.small").unwrap();
    assert!(small < first_big, "the small transaction committed first");
    // One transaction: one txId, one commit LSN, ordinals 0, 1, 2, … as for a transaction that was not streamed.
    let bigs: Vec<&Value> = records.iter().filter(|r| r["topic"] == "test.public.big").collect();
    let tx_ids: BTreeSet<i64> = bigs.iter().map(|r| r["value"]["source"]["txId"].as_i64().unwrap()).collect();
    assert_eq!(tx_ids.len(), 1);
    let positions: Vec<(String, u64)> = bigs.iter().map(|r| position(r)).collect();
    assert!(positions.iter().all(|(lsn, _)| *lsn == positions[0].0));
    assert_eq!(positions.iter().map(|p| p.1).collect::<Vec<_>>(), (0..8000).collect::<Vec<_>>());
    assert_eq!(bigs[0]["value"]["after"], serde_json::json!({"id": 1, "pad": "x".repeat(100)}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_transaction_that_rolls_back_emits_nothing() {
    let setup = streaming_setup("stream_abort").await;
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let before = streamed_txns(&setup);
    let big = setup.db.client().await;
    big.batch_execute("BEGIN; INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g")
        .await
        .unwrap();
    wait_streamed(&setup, before);
    big.batch_execute("ROLLBACK").await.unwrap();
    setup.db.psql("INSERT INTO small VALUES (1)");
    let records =
        setup.wait_for_records("the later transaction", WAIT, |r| r.iter().any(|r| r["topic"] == "test.public.small"));
    sluice.stop();
    assert!(big_ids(&records).is_empty(), "rows of a rolled-back streamed transaction were emitted");
    assert_eq!(position(&records[0]).1, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn rolled_back_subtransactions_of_a_streamed_transaction_emit_nothing() {
    let setup = streaming_setup("stream_subxact").await;
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let big = setup.db.client().await;
    let insert = |from: i32, to: i32| {
        format!("INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series({from}, {to}) g;")
    };
    let before = streamed_txns(&setup);
    big.batch_execute(&format!("BEGIN; {}", insert(1, 3000))).await.unwrap();
    wait_streamed(&setup, before);
    // Savepoint a with a nested savepoint b, both streamed, then rolled back together.
    big.batch_execute(&format!("SAVEPOINT a; {} SAVEPOINT b; {}", insert(3001, 6000), insert(6001, 9000)))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let streamed_bytes = || {
        let slot = &setup.properties["debezium.source.slot.name"];
        setup
            .db
            .psql(&format!("SELECT stream_bytes FROM pg_stat_replication_slots WHERE slot_name = '{slot}'"))
            .trim()
            .parse::<i64>()
            .unwrap()
    };
    let bytes_before = streamed_bytes();
    big.batch_execute(&insert(9001, 9500)).await.unwrap();
    while streamed_bytes() <= bytes_before {
        assert!(Instant::now() < deadline, "the subtransactions were never streamed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A released savepoint's rows stay; one rolled back without changes is harmless.
    big.batch_execute(&format!(
        "ROLLBACK TO SAVEPOINT a; {} SAVEPOINT c; {} RELEASE SAVEPOINT c; SAVEPOINT d; ROLLBACK TO SAVEPOINT d; {} SAVEPOINT e; {} ROLLBACK TO SAVEPOINT e; COMMIT",
        insert(20001, 22000),
        insert(22001, 25000),
        insert(25001, 25010),
        insert(30001, 33000),
    ))
    .await
    .unwrap();
    let expected: Vec<i64> = (1..=3000).chain(20001..=25010).collect();
    let records = setup.wait_for_records("the committed rows", WAIT, |r| big_ids(r).len() >= expected.len());
    sluice.wait_for_log("streamed transaction committed", WAIT);
    sluice.stop();
    assert_eq!(big_ids(&records), expected);
    let ordinals: Vec<u64> =
        records.iter().filter(|r| r["topic"] == "test.public.big").map(|r| position(r).1).collect();
    assert_eq!(ordinals, (0..expected.len() as u64).collect::<Vec<_>>(), "ordinals count only what committed");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_while_a_transaction_streams_and_while_it_is_read_back_loses_nothing() {
    let setup = streaming_setup("stream_crash").await;
    let mut sluice = setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "200")]);
    sluice.wait_for_log("streaming started", WAIT);

    // 1. Killed while the open transaction's blocks are in its spill file.
    let before = streamed_txns(&setup);
    let big = setup.db.client().await;
    big.batch_execute("BEGIN; INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g")
        .await
        .unwrap();
    wait_streamed(&setup, before);
    sluice.kill9();
    big.batch_execute("INSERT INTO big SELECT g, 'y' FROM generate_series(5001, 6000) g; COMMIT").await.unwrap();
    let sluice = setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "200")]);
    setup.wait_for_records("the first transaction", WAIT, |r| big_ids(r).iter().collect::<BTreeSet<_>>().len() >= 6000);

    // 2. Killed while a committed streamed transaction is being read back and delivered.
    setup.db.psql("INSERT INTO big SELECT g, repeat('z', 100) FROM generate_series(6001, 40000) g");
    setup.wait_for_records("part of the second transaction", WAIT, |r| big_ids(r).len() >= 6000 + 2000);
    sluice.kill9();
    let delivered = big_ids(&setup.records()).len();
    assert!(delivered < 40000, "the second transaction was delivered before the kill; make it bigger");
    let mut sluice = setup.start();
    let records =
        setup.wait_for_records("every row", WAIT, |r| big_ids(r).iter().collect::<BTreeSet<_>>().len() >= 40000);
    sluice.wait_for_log("streamed transaction committed", WAIT);
    sluice.stop();
    let ids: BTreeSet<i64> = big_ids(&records).into_iter().collect();
    assert_eq!(ids, (1..=40000).collect());
    // Per key, nothing goes backwards: each id's events are its one insert, repeated at most.
    for r in records.iter().filter(|r| r["topic"] == "test.public.big") {
        assert_eq!(r["value"]["op"], "c");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_transaction_much_bigger_than_memory_is_held_in_bounded_memory() {
    let mut setup = streaming_setup("stream_memory").await;
    setup.set("debezium.sink.type", "null");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let slot = setup.properties["debezium.source.slot.name"].clone();
    // 150,000 rows of 1 kB: 150 MB of values, all spilled before the commit makes them deliverable.
    setup.db.psql("INSERT INTO big SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 150000) g");
    let target = setup.db.psql("SELECT pg_current_wal_lsn()").trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = setup.db.psql(&format!(
            "SELECT confirmed_flush_lsn >= '{target}' FROM pg_replication_slots WHERE slot_name = '{slot}'"
        ));
        if done.trim() == "t" {
            break;
        }
        assert!(Instant::now() < deadline, "the transaction was not confirmed in time:\n{}", sluice.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    sluice.wait_for_log("streamed transaction committed", WAIT);
    let peak_mib = sluice.peak_rss_kib() / 1024;
    sluice.stop();
    assert!(peak_mib < 64, "peak RSS {peak_mib} MiB for a 150 MB streamed transaction");
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_or_not_a_transaction_yields_the_same_events_and_positions() {
    let mut setup = streaming_setup("stream_same").await;
    let dir = setup.dir.path().to_path_buf();
    let slot = setup.properties["debezium.source.slot.name"].clone();
    let configure = |setup: &mut Setup, which: &str| {
        setup.set("debezium.source.slot.name", &format!("{slot}_{which}"));
        setup.set("debezium.source.slot.stream.params", &format!("streaming={which}"));
        setup.set("debezium.sink.file.path", &dir.join(format!("{which}.jsonl")).display().to_string());
        setup.set(
            "debezium.source.offset.storage.file.filename",
            &dir.join(format!("{which}.offsets")).display().to_string(),
        );
    };
    // Both slots exist before the transaction, so both decode it.
    for which in ["on", "off"] {
        configure(&mut setup, which);
        let mut sluice = setup.start();
        sluice.wait_for_log("streaming started", WAIT);
        sluice.stop();
    }
    setup.db.psql(
        "BEGIN;
         INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 4000) g;
         SAVEPOINT a; UPDATE big SET pad = 'u' WHERE id <= 2000; ROLLBACK TO SAVEPOINT a;
         DELETE FROM big WHERE id > 3900; INSERT INTO small VALUES (1);
         COMMIT;",
    );
    let mut seen = Vec::new();
    for which in ["on", "off"] {
        configure(&mut setup, which);
        let sluice = setup.start();
        let path = dir.join(format!("{which}.jsonl"));
        let deadline = Instant::now() + WAIT;
        while !super::support::read_records(&path).iter().any(|r| r["topic"] == "test.public.small") {
            assert!(Instant::now() < deadline, "the transaction did not arrive with streaming={which}");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(sluice.log().contains("streamed transaction committed"), which == "on");
        sluice.stop();
        let events: Vec<Value> = super::support::read_records(&path)
            .into_iter()
            .map(|mut r| {
                // The processing time differs between runs; everything else must not.
                if let Some(v) = r["value"].as_object_mut() {
                    v.remove("ts_ms");
                    v.remove("ts_us");
                    v.remove("ts_ns");
                }
                r.as_object_mut().unwrap().remove("timestamp");
                r
            })
            .collect();
        seen.push(events);
    }
    assert_eq!(seen[0].len(), 4000 + 100 * 2 + 1);
    assert!(seen[0] == seen[1], "streamed and not streamed differ");
}
