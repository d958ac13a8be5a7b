//! WAL safety: the slot advances when nothing captured happens, a slot that holds back WAL is reported, and an
//! invalidated slot is reported at once and handled per `slot.lost.policy`.

use std::time::{Duration, Instant};

use super::support::{Setup, WAIT};

async fn slot_lsns(setup: &Setup) -> (i64, i64) {
    let client = setup.db.client().await;
    let slot = &setup.properties["debezium.source.slot.name"];
    let row = client
        .query_one(
            "SELECT (restart_lsn - '0/0')::bigint, (confirmed_flush_lsn - '0/0')::bigint
               FROM pg_replication_slots WHERE slot_name = $1",
            &[slot],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_only_outside_the_publication_advance_the_slot_while_sluice_runs_and_not_while_it_is_stopped() {
    let mut setup = Setup::new("idle_slot").await;
    setup
        .db
        .psql("CREATE TABLE captured (id int PRIMARY KEY); CREATE TABLE elsewhere (id serial PRIMARY KEY, pad text);");
    setup
        .set("debezium.source.publication.autocreate.mode", "filtered")
        .set("debezium.source.table.include.list", "public.captured")
        .set("debezium.source.status.update.interval.ms", "200");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let (restart_0, confirmed_0) = slot_lsns(&setup).await;
    let write_elsewhere = || {
        setup.db.psql("INSERT INTO elsewhere (pad) SELECT repeat('x', 100) FROM generate_series(1, 500); CHECKPOINT;")
    };

    // A checkpoint logs the running transactions, which is what lets the server move restart_lsn.
    let deadline = Instant::now() + WAIT;
    loop {
        write_elsewhere();
        let (restart, confirmed) = slot_lsns(&setup).await;
        if restart > restart_0 && confirmed > confirmed_0 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot never advanced: restart_lsn {restart:X}, confirmed {confirmed:X}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    sluice.stop();

    let stopped = slot_lsns(&setup).await;
    for _ in 0..5 {
        write_elsewhere();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(slot_lsns(&setup).await, stopped, "without Sluice nothing moves the slot: that is what pins WAL");
    assert!(setup.records().is_empty(), "nothing captured happened");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slot_holding_back_more_wal_than_the_limit_is_reported() {
    let mut setup = Setup::new("slot_retained").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    setup
        .set("debezium.source.slot.guard.interval.ms", "200")
        .set("debezium.source.slot.guard.retained.wal.warn.bytes", "1");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    // Any WAL written since the slot's restart point counts.
    setup.db.psql("INSERT INTO t SELECT generate_series(1, 100)");
    sluice.wait_for_log("holds back more WAL than slot.guard.retained.wal.warn.bytes", WAIT);
    sluice.stop();
}

/// Invalidates the slot: an open transaction keeps its restart point where it is, and the WAL written after it
/// outgrows `max_slot_wal_keep_size` (1 MB, less than one segment) by a few segment switches and a checkpoint.
async fn invalidate_slot(setup: &Setup) -> tokio_postgres::Client {
    let holder = setup.db.client().await;
    holder.batch_execute("BEGIN; INSERT INTO t VALUES (1000)").await.unwrap();
    for _ in 0..3 {
        setup.db.psql("INSERT INTO filler SELECT g, repeat('y', 200) FROM generate_series(1, 2000) g ON CONFLICT DO NOTHING; SELECT pg_switch_wal();");
    }
    setup.db.psql("CHECKPOINT");
    holder
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalidated_slot_stops_sluice_within_seconds_and_recreate_takes_a_new_snapshot() {
    let cluster = sluice_testkit::PgCluster::dedicated("max_slot_wal_keep_size = '1MB'");
    let mut setup = Setup::on(cluster, "slot_invalidated").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2); CREATE TABLE filler (id int PRIMARY KEY, pad text);");
    setup.set("debezium.source.table.include.list", "public.t").set("debezium.source.slot.guard.interval.ms", "300");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO t VALUES (3)");
    setup.wait_for_records("the insert", WAIT, |r| r.len() >= 3);

    let holder = invalidate_slot(&setup).await;
    let invalidated_at = Instant::now();
    let client = setup.db.client().await;
    let slot = setup.properties["debezium.source.slot.name"].clone();
    let status: Option<String> = client
        .query_one("SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status.as_deref(), Some("lost"), "the test did not manage to invalidate the slot");
    let code = sluice.wait_exit(WAIT);
    let log = sluice.log();
    assert!(invalidated_at.elapsed() < Duration::from_secs(15), "reported after {:?}", invalidated_at.elapsed());
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("was invalidated (wal_status = lost)") && log.contains("slot.lost.policy=recreate"), "{log}");
    holder.batch_execute("ROLLBACK").await.unwrap();

    // Restarting with the default policy fails the same way, at once; `recreate` starts over with a new snapshot.
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("was invalidated"), "{log}");
    setup.db.psql("INSERT INTO t VALUES (4); DELETE FROM t WHERE id = 1;");
    setup.set("debezium.source.slot.lost.policy", "recreate");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO t VALUES (5)");
    setup.wait_for_records("the new snapshot and a later insert", WAIT, |r| {
        r.iter().any(|r| r["value"]["op"] == "c" && r["value"]["after"]["id"] == 5)
    });
    sluice.stop();
    let envelopes = setup.envelopes("t");
    let reads: Vec<i64> =
        envelopes.iter().filter(|e| e["op"] == "r").map(|e| e["after"]["id"].as_i64().unwrap()).collect();
    assert_eq!(reads[..2], [1, 2], "the first snapshot");
    assert_eq!(reads[2..], [2, 3, 4], "a new snapshot with the table as it is now");
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeats_reach_the_sink_run_the_action_query_and_emit_no_message_events() {
    let mut setup = Setup::new("heartbeat").await;
    setup.db.psql("CREATE TABLE hb (id int PRIMARY KEY, ts timestamptz); INSERT INTO hb VALUES (1, now());");
    setup
        .set("debezium.source.heartbeat.interval.ms", "200")
        .set("debezium.source.heartbeat.action.query", "UPDATE hb SET ts = clock_timestamp() WHERE id = 1")
        .set("debezium.source.heartbeat.emit.message", "true");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let records = setup.wait_for_records("heartbeats and heartbeat-table updates", WAIT, |r| {
        r.iter().filter(|r| r["topic"] == "__debezium-heartbeat.test").count() >= 3
            && r.iter().filter(|r| r["topic"] == "test.public.hb" && r["value"]["op"] == "u").count() >= 2
    });
    sluice.stop();
    let heartbeat = records.iter().find(|r| r["topic"] == "__debezium-heartbeat.test").unwrap();
    assert_eq!(heartbeat["key"], serde_json::json!({"serverName": "test"}));
    assert!(heartbeat["value"]["ts_ms"].as_i64().unwrap() > 1_700_000_000_000, "{heartbeat}");
    assert!(records.iter().all(|r| r["topic"] != "test.message"), "Sluice's own heartbeat messages are not events");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_heartbeat_action_query_is_logged_and_capture_goes_on() {
    let mut setup = Setup::new("heartbeat_fail").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    setup
        .set("debezium.source.heartbeat.interval.ms", "100")
        .set("debezium.source.heartbeat.action.query", "UPDATE no_such_table SET x = 1");
    let mut sluice = setup.start();
    sluice.wait_for_log("heartbeat.action.query failed", WAIT);
    // PostgreSQL's own words, not tokio-postgres's bare "db error".
    sluice.wait_for_log("relation \"no_such_table\" does not exist", WAIT);
    setup.db.psql("INSERT INTO t VALUES (1)");
    setup.wait_for_records("the insert", WAIT, |r| r.iter().any(|r| r["topic"] == "test.public.t"));
    sluice.stop();
}
