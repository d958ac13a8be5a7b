//! Debezium's source keys that shape what is read and how Sluice uses its connections: which tables the snapshot
//! reads and with what SELECT, session statements, which logical decoding messages become events, and a slot that
//! goes when Sluice stops. Expectations follow Debezium's PostgreSQL connector documentation for each key.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

fn ids_of(records: &[Value], topic: &str, op: &str) -> BTreeSet<i64> {
    records
        .iter()
        .filter(|r| r["topic"] == topic && r["value"]["op"] == op)
        .filter_map(|r| r["value"]["after"]["id"].as_i64())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_snapshot_reads_only_the_listed_tables_and_an_overridden_table_through_its_select() {
    let mut setup = Setup::new("snapshot_select").await;
    setup.db.psql(
        "CREATE TABLE a (id int PRIMARY KEY, v text);
         CREATE TABLE b (id int PRIMARY KEY, status text NOT NULL);
         CREATE TABLE c (id int PRIMARY KEY);
         INSERT INTO a VALUES (1, 'x'), (2, 'y');
         INSERT INTO b VALUES (1, 'open'), (2, 'archived'), (3, 'open');
         INSERT INTO c VALUES (1);",
    );
    setup
        .set("debezium.source.snapshot.include.collection.list", "public\\.a,public\\.b")
        .set("debezium.source.snapshot.select.statement.overrides", "public.b")
        .set(
            "debezium.source.snapshot.select.statement.overrides.public.b",
            "SELECT * FROM public.b WHERE status <> 'archived' ORDER BY id DESC;",
        );
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO c VALUES (2)");
    let records = setup.wait_for_records("c's streamed insert", WAIT, |r| {
        r.iter().any(|r| r["topic"] == "test.public.c" && r["value"]["op"] == "c")
    });
    sluice.stop();
    assert_eq!(ids_of(&records, "test.public.a", "r"), BTreeSet::from([1, 2]), "a listed table is read whole");
    assert_eq!(ids_of(&records, "test.public.b", "r"), BTreeSet::from([1, 3]), "b is read through its SELECT");
    let b: Vec<&Value> = records.iter().filter(|r| r["topic"] == "test.public.b").collect();
    assert_eq!(b[0]["value"]["after"], json!({"id": 3, "status": "open"}), "in the SELECT's order, every column");
    assert!(ids_of(&records, "test.public.c", "r").is_empty(), "c is not in the snapshot list: {records:?}");
    assert_eq!(ids_of(&records, "test.public.c", "c"), BTreeSet::from([2]), "but its changes are captured");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_select_override_that_lacks_a_captured_column_stops_the_snapshot_naming_its_key() {
    let mut setup = Setup::new("snapshot_select_bad").await;
    setup.db.psql("CREATE TABLE b (id int PRIMARY KEY, status text); INSERT INTO b VALUES (1, 'open');");
    setup
        .set("debezium.source.snapshot.select.statement.overrides", "public.b")
        .set("debezium.source.snapshot.select.statement.overrides.public.b", "SELECT id FROM public.b");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_ne!(code, 0, "{log}");
    assert!(log.contains("snapshot.select.statement.overrides.public.b"), "{log}");
    assert!(log.contains("status"), "the missing column is named: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listed_override_without_its_select_is_a_configuration_error() {
    let mut setup = Setup::new("snapshot_select_missing").await;
    setup.set("debezium.source.snapshot.select.statement.overrides", "public.b");
    let (code, output) = setup.check();
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("debezium.source.snapshot.select.statement.overrides.public.b"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn database_initial_statements_run_on_sluices_sql_connections_with_double_semicolons_kept() {
    let mut setup = Setup::new("initial_statements").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    setup.set(
        "debezium.source.database.initial.statements",
        "SET application_name = 'sluice;;initial'; SET statement_timeout = 0",
    );
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    // The slot guard keeps its connection open while Sluice runs.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let named = setup.db.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sluice;initial'");
        if named.trim() != "0" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no connection ran the statements");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let replication = setup.db.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender' AND application_name = 'sluice;initial'",
    );
    assert_eq!(replication.trim(), "0", "not on the replication connection, as in Debezium");
    sluice.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_initial_statement_stops_sluice_naming_its_place() {
    let mut setup = Setup::new("initial_statements_bad").await;
    setup.set("debezium.source.database.initial.statements", "SET statement_timeout = 0;SET no_such_setting = 1");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_ne!(code, 0, "{log}");
    assert!(log.contains("statement 2 of database.initial.statements failed"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_messages_whose_prefix_the_include_list_matches_become_events() {
    let mut setup = Setup::new("message_prefixes").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    setup.set("debezium.source.message.prefix.include.list", "audit\\..*");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql(
        "SELECT pg_logical_emit_message(true, 'audit.login', 'kept');
         SELECT pg_logical_emit_message(true, 'metrics', 'left out');
         SELECT pg_logical_emit_message(false, 'audit', 'left out: anchored');
         INSERT INTO t VALUES (1);",
    );
    let records = setup
        .wait_for_records("the insert after the messages", WAIT, |r| r.iter().any(|r| r["topic"] == "test.public.t"));
    sluice.stop();
    let prefixes: Vec<&Value> =
        records.iter().filter(|r| r["topic"] == "test.message").map(|r| &r["value"]["message"]["prefix"]).collect();
    assert_eq!(prefixes, [&json!("audit.login")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn message_prefix_include_and_exclude_lists_cannot_both_be_set() {
    let mut setup = Setup::new("message_prefixes_both").await;
    setup
        .set("debezium.source.message.prefix.include.list", "a")
        .set("debezium.source.message.prefix.exclude.list", "b");
    let (code, output) = setup.check();
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("cannot both be set"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn slot_drop_on_stop_drops_the_slot_after_a_graceful_stop_and_says_what_it_costs() {
    let mut setup = Setup::new("slot_drop").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    setup.set("debezium.source.slot.drop.on.stop", "true");
    let slot = format!("slot_{}", setup.db.name);
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let count = format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'");
    assert_eq!(setup.db.psql(&count).trim(), "1");
    let log = sluice.log();
    assert!(log.contains("slot.drop.on.stop") && log.contains("Meant for tests and trials"), "{log}");
    sluice.stop();
    assert_eq!(setup.db.psql(&count).trim(), "0", "the slot is gone after the stop");
}

const PARTITIONED: &str =
    "CREATE TABLE orders (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
     CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');
     CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');
     INSERT INTO orders VALUES (1, 'eu'), (2, 'us');";

/// (topic, op, id) of every record, sorted.
fn topics_ops_ids(records: &[Value]) -> Vec<(String, String, i64)> {
    let mut seen: Vec<(String, String, i64)> = records
        .iter()
        .filter_map(|r| {
            let value = &r["value"];
            Some((r["topic"].as_str()?.to_string(), value["op"].as_str()?.to_string(), value["after"]["id"].as_i64()?))
        })
        .collect();
    seen.sort();
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_each_partition_is_its_own_table_in_the_snapshot_and_the_stream_as_in_debezium() {
    let setup = Setup::new("partitions_leaf").await;
    setup.db.psql(PARTITIONED);
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO orders VALUES (3, 'eu')");
    let records = setup.wait_for_records("the streamed insert", WAIT, |r| r.len() >= 3);
    sluice.stop();
    let t = |topic: &str, op: &str, id| (format!("test.public.{topic}"), op.to_string(), id);
    assert_eq!(
        topics_ops_ids(&records),
        [t("orders_eu", "c", 3), t("orders_eu", "r", 1), t("orders_us", "r", 2)],
        "snapshot and stream agree on the partitions' topics, the parent has none"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_via_partition_root_captures_a_partitioned_table_as_its_root() {
    let mut setup = Setup::new("partitions_root").await;
    setup.db.psql(PARTITIONED);
    setup.set("debezium.source.publish.via.partition.root", "true");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO orders VALUES (3, 'us')");
    let records = setup.wait_for_records("the streamed insert", WAIT, |r| r.len() >= 3);
    sluice.stop();
    let t = |op: &str, id| ("test.public.orders".to_string(), op.to_string(), id);
    assert_eq!(topics_ops_ids(&records), [t("c", 3), t("r", 1), t("r", 2)]);
    let via_root = setup.db.psql("SELECT pubviaroot FROM pg_publication WHERE pubname = 'sluice_pub'");
    assert_eq!(via_root.trim(), "t", "the publication Sluice created publishes through the root");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publication_that_disagrees_with_publish_via_partition_root_stops_sluice_with_the_fix() {
    let mut setup = Setup::new("partitions_mismatch").await;
    setup.db.psql(&format!("{PARTITIONED} CREATE PUBLICATION sluice_pub FOR ALL TABLES;"));
    setup.set("debezium.source.publish.via.partition.root", "true");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_ne!(code, 0, "{log}");
    assert!(log.contains("ALTER PUBLICATION \"sluice_pub\" SET (publish_via_partition_root = true)"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_identity_autoset_values_give_captured_tables_their_identity_before_the_stream() {
    let mut setup = Setup::new("replica_identity").await;
    setup.db.psql(
        "CREATE TABLE audit (id int, note text);
         CREATE TABLE items (id int PRIMARY KEY, sku text NOT NULL UNIQUE, name text);
         CREATE TABLE other (id int PRIMARY KEY);
         INSERT INTO audit VALUES (1, 'a'); INSERT INTO items VALUES (1, 'S1', 'one');",
    );
    setup.set(
        "debezium.source.replica.identity.autoset.values",
        "public\\.audit:FULL,public\\.items:INDEX items_sku_key",
    );
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let identities = setup.db.psql(
        "SELECT string_agg(relname || '=' || relreplident::text, ',' ORDER BY relname) FROM pg_class
          WHERE relname IN ('audit', 'items', 'other')",
    );
    assert_eq!(identities.trim(), "audit=f,items=i,other=d", "only the listed tables change");
    // A table without a primary key now publishes its updates, with the whole old row (Debezium's FULL).
    setup.db.psql("UPDATE audit SET note = 'b' WHERE id = 1");
    let records = setup.wait_for_records("the update", WAIT, |r| r.iter().any(|r| r["value"]["op"] == "u"));
    sluice.stop();
    let update = records.iter().find(|r| r["value"]["op"] == "u").unwrap();
    assert_eq!(update["value"]["before"], json!({"id": 1, "note": "a"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn slot_stream_params_reach_the_plugin_and_an_option_it_does_not_know_stops_the_start_with_its_message() {
    let mut setup = Setup::new("slot_stream_params").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    // PostgreSQL 15's pgoutput has no `origin` option (16 added it): the server's refusal proves the option reached it.
    setup.set("debezium.source.slot.stream.params", "origin=none");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_ne!(code, 0, "{log}");
    assert!(log.contains("unrecognized pgoutput option") && log.contains("origin"), "{log}");
}
