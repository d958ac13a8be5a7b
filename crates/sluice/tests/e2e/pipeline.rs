//! The core pipeline end to end: snapshot, streaming, the seam between them, restarts.

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

fn ops(envelopes: &[Value]) -> Vec<String> {
    envelopes.iter().map(|e| e["op"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_then_streamed_changes_arrive_as_debezium_events() {
    let setup = Setup::new("e2e_basic").await;
    setup.db.psql(
        "CREATE TABLE items (id int PRIMARY KEY, name text, qty int);
         INSERT INTO items VALUES (1, 'one', 10), (2, 'two', 20);",
    );
    let sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= 2);
    setup.db.psql(
        "INSERT INTO items VALUES (3, 'three', 30);
         UPDATE items SET qty = 11 WHERE id = 1;
         DELETE FROM items WHERE id = 2;",
    );
    let records = setup.wait_for_records("the changes", WAIT, |r| r.len() >= 6);
    sluice.stop();

    let envelopes = setup.envelopes("items");
    assert_eq!(ops(&envelopes), ["r", "r", "c", "u", "d"]);
    assert_eq!(envelopes[0]["after"], json!({"id": 1, "name": "one", "qty": 10}));
    assert_eq!(envelopes[2]["after"], json!({"id": 3, "name": "three", "qty": 30}));
    assert_eq!(envelopes[3]["after"], json!({"id": 1, "name": "one", "qty": 11}));
    assert_eq!(envelopes[4]["before"]["id"], 2);
    assert_eq!(envelopes[4]["after"], Value::Null);
    assert_eq!(envelopes[0]["source"]["snapshot"], "first");
    assert_eq!(envelopes[1]["source"]["snapshot"], "last");
    assert_eq!(envelopes[2]["source"]["snapshot"], "false");
    assert_eq!(envelopes[2]["source"]["connector"], "postgresql");
    assert_eq!(envelopes[2]["source"]["db"], setup.db.name.as_str());
    assert_eq!(envelopes[2]["source"]["table"], "items");

    // The delete is followed by a tombstone with the same key.
    let last = records.last().unwrap();
    assert_eq!(last["topic"], "test.public.items");
    assert_eq!(last["key"], json!({"id": 2}));
    assert_eq!(last["value"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_made_while_the_snapshot_runs_are_delivered_exactly_once_across_the_seam() {
    use super::workload::{acct_state, caught_up, create_tables, journal_ids, verify, Workload};
    const KEYS: u32 = 30_000;
    let setup = Setup::new("seam").await;
    create_tables(&setup.db, KEYS);
    let workload = Workload::start(&setup.db, KEYS).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut sluice = setup.start();
    sluice.wait_for_log("snapshot complete", WAIT);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    workload.finish().await;
    let state = acct_state(&setup.db).await;
    let records = setup.wait_for_records("the final state", WAIT, |r| caught_up(r, &state));
    sluice.stop();
    verify(&records, &state, &journal_ids(&setup.db).await);
    // Without a crash nothing repeats: each committed state of each key appears once, snapshot or stream.
    let mut seen = std::collections::HashSet::new();
    for r in records.iter().filter(|r| r["topic"] == "test.public.acct") {
        let after = &r["value"]["after"];
        let state = (after["id"].as_i64().unwrap(), after["v"].as_i64().unwrap());
        assert!(seen.insert(state), "state {state:?} delivered twice: overlap at the seam");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graceful_stop_drains_and_confirms_everything_to_the_slot() {
    let setup = Setup::new("graceful").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO t SELECT generate_series(1, 1000)");
    let records = setup.wait_for_records("the inserts", WAIT, |r| r.len() >= 1000);
    sluice.stop();
    // The delivered transaction's commit LSN (the first element of `source.sequence`); the confirmed position must
    // be past it. (Not `pg_current_wal_lsn()` after the insert: other tests write WAL into the same cluster, and
    // Sluice has no reason to confirm their positions before it stops.)
    let sequence = records[999]["value"]["source"]["sequence"].as_str().expect("sequence").to_string();
    let commit: Vec<String> = serde_json::from_str(&sequence).unwrap();
    let slot = setup.properties["debezium.source.slot.name"].clone();
    let covered = setup.db.psql(&format!(
        "SELECT confirmed_flush_lsn > '0/0'::pg_lsn + {} FROM pg_replication_slots WHERE slot_name = '{slot}'",
        commit[0]
    ));
    assert_eq!(covered.trim(), "t", "the slot's confirmed position covers every delivered transaction");
    // Nothing is delivered twice after a graceful stop.
    let sluice = setup.start();
    setup.db.psql("INSERT INTO t VALUES (1001)");
    setup.wait_for_records("the new insert", WAIT, |r| r.len() >= 1001);
    sluice.stop();
    assert_eq!(setup.records().len(), 1001);
}

#[tokio::test(flavor = "multi_thread")]
async fn slot_and_all_tables_publication_are_created_once_and_reused_across_restarts() {
    let setup = Setup::new("slot_reuse").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    assert!(sluice.log().contains("created replication slot"));
    sluice.stop();
    assert_eq!(setup.db.psql("SELECT puballtables FROM pg_publication WHERE pubname = 'sluice_pub'").trim(), "t");
    setup.db.psql("INSERT INTO t VALUES (1)");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.wait_for_records("the insert made while stopped", WAIT, |r| r.len() == 1);
    assert!(!sluice.log().contains("created replication slot"), "the slot is reused");
    sluice.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn filtered_publication_holds_exactly_the_included_tables() {
    let mut setup = Setup::new("pub_filtered").await;
    setup.db.psql("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);");
    setup.set("debezium.source.publication.autocreate.mode", "filtered");
    setup.set("debezium.source.table.include.list", "public\\.a");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    assert_eq!(setup.db.psql("SELECT tablename FROM pg_publication_tables WHERE pubname = 'sluice_pub'").trim(), "a");
    setup.db.psql("INSERT INTO b VALUES (1); INSERT INTO a VALUES (1);");
    let records = setup.wait_for_records("the insert into a", WAIT, |r| !r.is_empty());
    sluice.stop();
    assert!(records.iter().all(|r| r["topic"] == "test.public.a"), "{records:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_tables_publication_starts_empty_and_captures_tables_once_added() {
    let mut setup = Setup::new("pub_none").await;
    setup.db.psql("CREATE TABLE a (id int PRIMARY KEY)");
    setup.set("debezium.source.publication.autocreate.mode", "no_tables");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    assert_eq!(setup.db.psql("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'sluice_pub'").trim(), "0");
    setup.db.psql("INSERT INTO a VALUES (1); ALTER PUBLICATION sluice_pub ADD TABLE a; INSERT INTO a VALUES (2);");
    let records = setup.wait_for_records("the insert after ADD TABLE", WAIT, |r| !r.is_empty());
    sluice.stop();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["value"]["after"]["id"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_publication_mode_without_a_publication_names_the_sql_to_run() {
    let mut setup = Setup::new("pub_disabled").await;
    setup.set("debezium.source.publication.autocreate.mode", "disabled");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("publication `sluice_pub` does not exist") && log.contains("CREATE PUBLICATION"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slot_in_use_by_another_process_is_a_clear_error() {
    let setup = Setup::new("slot_active").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    let mut first = setup.start();
    first.wait_for_log("streaming started", WAIT);
    let mut second = setup.beside();
    second.set("debezium.source.slot.max.retries", "0");
    let (code, log) = second.run_to_exit(WAIT);
    first.stop();
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("is active for PID") || log.contains("is in use"), "{log}");
    assert!(log.contains("slot.name"), "the error names the fix: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slot_freed_while_retrying_is_taken_over_and_streams() {
    let setup = Setup::new("slot_takeover").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    let mut first = setup.start();
    first.wait_for_log("streaming started", WAIT);
    let mut second = setup.beside();
    second.set("debezium.source.slot.retry.delay.ms", "200");
    second.set("debezium.source.slot.max.retries", "100");
    let mut taker = second.start();
    taker.wait_for_log("is in use by another connection", WAIT);
    first.stop();
    taker.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO t VALUES (1)");
    second.wait_for_records("the row inserted after the takeover", WAIT, |r| r.iter().any(|e| e["value"]["op"] == "c"));
    taker.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_replication_is_told_how_to_grant_it() {
    let mut setup = Setup::new("norepl").await;
    setup.set("debezium.source.database.user", "sluice_norepl");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("REPLICATION"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn initial_only_exits_after_the_snapshot_and_no_data_skips_it() {
    let mut setup = Setup::new("snapshot_modes").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);");
    setup.set("debezium.source.snapshot.mode", "initial_only");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 0, "{log}");
    assert_eq!(setup.envelopes("t").len(), 100);

    let mut setup = Setup::new("snapshot_modes_nodata").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);");
    setup.set("debezium.source.snapshot.mode", "no_data");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO t VALUES (101)");
    setup.wait_for_records("the insert", WAIT, |r| !r.is_empty());
    sluice.stop();
    assert_eq!(ops(&setup.envelopes("t")), ["c"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn always_takes_a_new_snapshot_on_every_start() {
    let mut setup = Setup::new("snapshot_always").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10);");
    setup.set("debezium.source.snapshot.mode", "always");
    for round in 1..=2 {
        let mut sluice = setup.start();
        sluice.wait_for_log("streaming started", WAIT);
        setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= 10 * round);
        sluice.stop();
    }
    assert_eq!(ops(&setup.envelopes("t")).iter().filter(|o| *o == "r").count(), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configuration_error_exits_with_code_2_before_connecting() {
    let mut setup = Setup::new("config_error").await;
    setup.set("debezium.source.tabel.include.list", "public.t");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("debezium.source.table.include.list"), "names the closest valid key: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_logical_wal_level_is_told_how_to_fix_it() {
    let cluster = sluice_testkit::PgCluster::dedicated("wal_level = replica");
    let setup = Setup::on(cluster, "wal_replica").await;
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("wal_level is `replica`") && log.contains("wal_level = logical"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_free_replication_slot_is_told_how_to_fix_it() {
    let cluster = sluice_testkit::PgCluster::dedicated("max_replication_slots = 1");
    let setup = Setup::on(cluster, "no_free_slot").await;
    setup.db.psql("SELECT pg_create_logical_replication_slot('taken', 'pgoutput')");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("max_replication_slots"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_sink_does_not_let_the_server_time_the_connection_out() {
    use std::io::BufRead;
    let cluster = sluice_testkit::PgCluster::dedicated("wal_sender_timeout = '5s'");
    let mut setup = Setup::on(cluster, "backpressure").await;
    setup.set("debezium.sink.type", "stdout");
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY, pad text)");
    let mut sluice = setup.start_piped();
    let stdout = sluice.take_stdout();
    sluice.wait_for_log("streaming started", WAIT);
    // Far more than a pipe buffer holds: the stdout sink blocks, the channel fills, the source stops reading.
    setup.db.psql("INSERT INTO t SELECT g, repeat('x', 500) FROM generate_series(1, 20000) g");
    std::thread::sleep(std::time::Duration::from_secs(12));
    let reader = std::thread::spawn(move || std::io::BufReader::new(stdout).lines().take(20000).count());
    let lines = reader.join().unwrap();
    assert_eq!(lines, 20000);
    let log = sluice.log();
    assert!(
        !log.contains("restarting from the last acknowledged position"),
        "the connection was lost while the sink stalled:\n{log}"
    );
    sluice.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_slot_stops_initial_mode_and_makes_when_needed_snapshot_again() {
    let mut setup = Setup::new("lost_slot").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO t VALUES (2)");
    setup.wait_for_records("the insert", WAIT, |r| r.len() >= 2);
    sluice.stop();
    let slot = setup.properties["debezium.source.slot.name"].clone();
    setup.db.psql(&format!("SELECT pg_drop_replication_slot('{slot}')"));
    setup.db.psql("INSERT INTO t VALUES (3)");

    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("cannot be recovered") && log.contains("when_needed"), "{log}");

    setup.set("debezium.source.snapshot.mode", "when_needed");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.wait_for_records("a new snapshot", WAIT, |r| r.len() >= 5);
    sluice.stop();
    let reads: Vec<i64> =
        setup.envelopes("t").iter().filter(|e| e["op"] == "r").map(|e| e["after"]["id"].as_i64().unwrap()).collect();
    assert_eq!(reads, [1, 1, 2, 3], "the first snapshot, then a full new one including the row written meanwhile");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_runs_over_tls_with_scram_and_a_password_from_a_file() {
    let mut setup = Setup::new("tls_scram").await;
    if !setup.db.cluster.tls() {
        eprintln!("the test server has no TLS (openssl missing); skipping");
        return;
    }
    let secrets = setup.dir.path().join("secrets.properties");
    std::fs::write(&secrets, "password=scram-secret\n").unwrap();
    setup.set("debezium.source.database.user", "sluice_scram");
    setup.set("debezium.source.database.password", &format!("${{file:{}:password}}", secrets.display()));
    setup.set("debezium.source.database.sslmode", "require");
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let encrypted = setup.db.psql(
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'sluice_scram'",
    );
    assert_eq!(encrypted.trim(), "t", "every Sluice connection uses TLS");
    setup.db.psql("INSERT INTO t VALUES (2)");
    setup.wait_for_records("snapshot and insert", WAIT, |r| r.len() >= 2);
    sluice.stop();
    assert_eq!(ops(&setup.envelopes("t")), ["r", "c"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_column_added_while_streaming_appears_in_later_events() {
    let setup = Setup::new("alter").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY, a text)");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql(
        "INSERT INTO t VALUES (1, 'x'); ALTER TABLE t ADD COLUMN b int DEFAULT 7; INSERT INTO t VALUES (2, 'y', 8);",
    );
    setup.wait_for_records("both inserts", WAIT, |r| r.len() >= 2);
    sluice.stop();
    let envelopes = setup.envelopes("t");
    assert_eq!(envelopes[0]["after"], json!({"id": 1, "a": "x"}));
    assert_eq!(envelopes[1]["after"], json!({"id": 2, "a": "y", "b": 8}));
}
