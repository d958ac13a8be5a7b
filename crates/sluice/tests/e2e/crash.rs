//! kill -9 at chosen points, then restart: every committed change delivered at least once, per-key order kept,
//! nothing from rolled-back transactions, the snapshot never re-run once complete.

use std::time::Duration;

use super::support::{read_records, Setup, WAIT};
use super::workload::{acct_state, caught_up, create_tables, journal_ids, verify, Workload};

const KEYS: u32 = 40;

fn count_reads(setup: &Setup) -> usize {
    setup.records().iter().filter(|r| r["value"]["op"] == "r").count()
}

/// Where [`kill_9_mid_snapshot`] lets a test look at the stored offsets.
pub(super) enum SnapshotPoint {
    /// Right after the kill, mid-snapshot.
    Killed,
    /// Once the resumed snapshot is complete and Sluice stopped.
    Complete,
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_snapshot_resumes_without_losing_rows_and_never_reruns_it() {
    kill_9_mid_snapshot(Setup::new("crash_snapshot").await, |_| {}).await;
}

/// kill -9 mid-snapshot, then a restart under concurrent writes: every row delivered at least once, and the
/// completed snapshot never run again; `inspect` checks the offsets at each [`SnapshotPoint`] (whatever the store).
pub(super) async fn kill_9_mid_snapshot(mut setup: Setup, inspect: impl Fn(SnapshotPoint)) {
    create_tables(&setup.db, KEYS);
    setup.db.psql("CREATE TABLE filler (id int PRIMARY KEY, pad text); INSERT INTO filler SELECT g, repeat('x', 50) FROM generate_series(1, 150000) g;");
    setup.set("debezium.source.snapshot.max.threads", "2");
    let sluice = setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "100")]);
    setup.wait_for_records("part of the snapshot", WAIT, |r| r.len() >= 5_000);
    sluice.kill9();
    let partial = setup.records().len();
    assert!(partial < 150_000 + KEYS as usize, "the snapshot finished before the kill; make the table bigger");
    inspect(SnapshotPoint::Killed);

    let workload = Workload::start(&setup.db, KEYS).await;
    let sluice = setup.start();
    tokio::time::sleep(Duration::from_secs(2)).await;
    workload.finish().await;
    let state = acct_state(&setup.db).await;
    setup.wait_for_records("the final state", WAIT, |r| caught_up(r, &state));
    sluice.stop();

    let records = setup.records();
    let filler: std::collections::BTreeSet<i64> = records
        .iter()
        .filter(|r| r["topic"] == "test.public.filler")
        .map(|r| r["value"]["after"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(filler.len(), 150_000, "every filler row is delivered at least once");
    verify(&records, &state, &journal_ids(&setup.db).await);
    inspect(SnapshotPoint::Complete);

    // Complete now: a restart streams only.
    let reads = count_reads(&setup);
    let sluice = setup.start();
    setup.db.psql("UPDATE acct SET v = v + 1 WHERE id = 1");
    let state = acct_state(&setup.db).await;
    setup.wait_for_records("the last update", WAIT, |r| caught_up(r, &state));
    sluice.stop();
    assert_eq!(count_reads(&setup), reads, "the completed snapshot ran again");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_three_times_mid_stream_under_concurrent_writes_loses_nothing() {
    let setup = Setup::new("crash_stream").await;
    create_tables(&setup.db, KEYS);
    let sluice = setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "7")]);
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= KEYS as usize);
    let workload = Workload::start(&setup.db, KEYS).await;
    let mut sluice = Some(sluice);
    for round in 1..=3 {
        let have = setup.records().len();
        setup.wait_for_records(&format!("progress before kill {round}"), WAIT, |r| r.len() >= have + 200);
        sluice.take().unwrap().kill9();
        sluice = Some(setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "7")]));
    }
    workload.finish().await;
    let state = acct_state(&setup.db).await;
    setup.wait_for_records("the final state", WAIT, |r| caught_up(r, &state));
    sluice.take().unwrap().stop();
    verify(&setup.records(), &state, &journal_ids(&setup.db).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_sink_write_and_acknowledgement_redelivers_the_batch() {
    let setup = Setup::new("crash_ack").await;
    create_tables(&setup.db, KEYS);
    let sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= KEYS as usize);
    sluice.stop();

    let workload = Workload::start(&setup.db, KEYS).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    workload.finish().await;
    let before = setup.records().len();
    let mut crashing = setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "5"), ("SLUICE_TEST_CRASH_AFTER_WRITES", "4")]);
    let code = crashing.wait_exit(WAIT);
    assert_ne!(code, 0, "the failpoint aborts the process");
    let written = read_records(&setup.events_path());
    let new = written.len() - before;
    assert!((4..=20).contains(&new), "four writes of at most five records each before the abort ({new})");
    let unacknowledged = identity(written.last().unwrap());

    let sluice = setup.start();
    let state = acct_state(&setup.db).await;
    setup.wait_for_records("the final state", WAIT, |r| caught_up(r, &state));
    sluice.stop();
    let records = setup.records();
    verify(&records, &state, &journal_ids(&setup.db).await);
    // The last write was never acknowledged, so its records are delivered again after the restart.
    let repeats = records.iter().filter(|r| identity(r) == unacknowledged).count();
    assert!(repeats >= 2, "records written but not acknowledged are delivered again");
}

/// What identifies a delivered record across deliveries (the envelope's own timestamps differ).
fn identity(record: &serde_json::Value) -> (String, String, String) {
    (
        record["topic"].to_string(),
        record["key"].to_string(),
        format!("{}{}", record["value"]["source"]["sequence"], record["value"]["op"]),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_sharing_one_lsn_all_arrive_and_none_is_skipped_after_a_restart() {
    let setup = Setup::new("crash_shared_lsn").await;
    setup.db.psql("CREATE TABLE bulk (id int PRIMARY KEY, src text)");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    sluice.stop();

    // One multi-row INSERT and one COPY (whose rows share WAL records, and so LSNs), in one transaction.
    let client = setup.db.client().await;
    let values: Vec<String> = (1..=5000).map(|i| format!("({i}, 'insert')")).collect();
    client.batch_execute(&format!("BEGIN; INSERT INTO bulk VALUES {};", values.join(","))).await.unwrap();
    {
        use futures_util::SinkExt;
        let sink = client.copy_in("COPY bulk FROM STDIN").await.unwrap();
        let rows: String = (5001..=8000).map(|i| format!("{i}\tcopy\n")).collect();
        futures_util::pin_mut!(sink);
        sink.send(bytes::Bytes::from(rows)).await.unwrap();
        sink.finish().await.unwrap();
    }
    client.batch_execute("COMMIT").await.unwrap();

    // Crash after a few small writes: the transaction is half delivered and its position half acknowledged.
    let mut crashing =
        setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "100"), ("SLUICE_TEST_CRASH_AFTER_WRITES", "25")]);
    assert_ne!(crashing.wait_exit(WAIT), 0);
    let sluice = setup.start();
    let records = setup.wait_for_records("all 8000 rows", WAIT, |r| {
        r.iter()
            .filter(|r| r["topic"] == "test.public.bulk")
            .map(|r| &r["value"]["after"]["id"])
            .collect::<std::collections::HashSet<_>>()
            .len()
            >= 8000
    });
    sluice.stop();
    let ids: std::collections::BTreeSet<i64> = records
        .iter()
        .filter(|r| r["topic"] == "test.public.bulk")
        .map(|r| r["value"]["after"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 8000);
    assert_eq!(ids.iter().next(), Some(&1));
    assert_eq!(ids.iter().next_back(), Some(&8000));
}
