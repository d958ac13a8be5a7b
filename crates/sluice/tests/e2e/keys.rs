//! Event keys describe a row as its table was when the change was made, however the table changed before Sluice
//! decoded it: dropped, its key column renamed. A delete keeps its key and its tombstone.

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

/// Starts Sluice once so that its slot exists, and stops it: what happens next is decoded only on the next start.
async fn slot_created_then_stopped(prefix: &str, ddl: &str) -> Setup {
    let setup = Setup::new(prefix).await;
    setup.db.psql(ddl);
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    sluice.stop();
    setup
}

/// (op or "tombstone", key) of every record.
fn keyed(records: &[Value]) -> Vec<(String, Value)> {
    records
        .iter()
        .map(|r| {
            let op = r["value"]["op"].as_str().unwrap_or("tombstone").to_string();
            (op, r["key"].clone())
        })
        .collect()
}

fn pair(op: &str, key: Value) -> (String, Value) {
    (op.to_string(), key)
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_decoded_after_their_table_was_dropped_keep_their_keys_and_the_tombstone() {
    let setup = slot_created_then_stopped(
        "keys_drop",
        "CREATE TYPE mood AS ENUM ('ok', 'sad');
         CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, m mood)",
    )
    .await;
    setup.db.psql(
        "INSERT INTO t VALUES (1, 'a', 'ok'), (2, 'b', NULL);
         UPDATE t SET name = 'a2', m = 'sad' WHERE id = 1;
         DELETE FROM t WHERE id = 2;
         DROP TABLE t;",
    );
    let sluice = setup.start();
    let records = setup.wait_for_records("the changes to the dropped table", WAIT, |r| r.len() >= 5);
    sluice.stop();
    assert_eq!(
        keyed(&records),
        [
            pair("c", json!({"id": 1})),
            pair("c", json!({"id": 2})),
            pair("u", json!({"id": 1})),
            pair("d", json!({"id": 2})),
            pair("tombstone", json!({"id": 2})),
        ]
    );
    assert_eq!(records[2]["value"]["after"], json!({"id": 1, "name": "a2", "m": "sad"}));
    assert_eq!(records[3]["value"]["before"], json!({"id": 2, "name": null, "m": null}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_column_whose_type_was_dropped_with_its_table_is_left_out_and_decoding_goes_on() {
    let setup = slot_created_then_stopped(
        "keys_drop_type",
        "CREATE TYPE mood AS ENUM ('ok', 'sad');
         CREATE TABLE t (id int PRIMARY KEY, m mood)",
    )
    .await;
    setup.db.psql("INSERT INTO t VALUES (1, 'ok'); DELETE FROM t WHERE id = 1; DROP TABLE t; DROP TYPE mood;");
    let sluice = setup.start();
    let records = setup.wait_for_records("the insert and the delete", WAIT, |r| r.len() >= 3);
    sluice.stop();
    assert_eq!(
        keyed(&records),
        [pair("c", json!({"id": 1})), pair("d", json!({"id": 1})), pair("tombstone", json!({"id": 1}))]
    );
    // The labels went with the type: the column is an unknown type now, left out as Debezium leaves those out.
    assert_eq!(records[0]["value"]["after"], json!({"id": 1}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_decoded_after_its_key_column_was_renamed_has_the_key_named_as_at_the_time_of_the_change() {
    let setup = slot_created_then_stopped("keys_rename", "CREATE TABLE t (id int PRIMARY KEY, name text)").await;
    setup.db.psql(
        "INSERT INTO t VALUES (1, 'a'), (2, 'b');
         DELETE FROM t WHERE id = 2;
         ALTER TABLE t RENAME COLUMN id TO ident;
         INSERT INTO t VALUES (3, 'c');",
    );
    let sluice = setup.start();
    let records = setup.wait_for_records("the changes around the rename", WAIT, |r| r.len() >= 5);
    sluice.stop();
    assert_eq!(
        keyed(&records),
        [
            pair("c", json!({"id": 1})),
            pair("c", json!({"id": 2})),
            pair("d", json!({"id": 2})),
            pair("tombstone", json!({"id": 2})),
            // The Relation message sent after the rename replaces the table's shape.
            pair("c", json!({"ident": 3})),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn under_replica_identity_full_the_key_is_the_primary_key_even_when_the_table_is_gone_by_decoding_time() {
    let setup = Setup::new("keys_full").await;
    setup.db.psql(
        "CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);
         ALTER TABLE t REPLICA IDENTITY FULL;
         CREATE TABLE r (id int PRIMARY KEY, name text);
         ALTER TABLE r REPLICA IDENTITY FULL;
         INSERT INTO t VALUES (1, 'a'); INSERT INTO r VALUES (1, 'a');",
    );
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= 2);
    // pgoutput sends a transaction only once it committed, so when Sluice decodes these deletes the catalogue no
    // longer has table t, nor a column r.id: the keys come from what Sluice saw of the tables before.
    setup.db.psql(
        "BEGIN; DELETE FROM t WHERE id = 1; DROP TABLE t; COMMIT;
         BEGIN; DELETE FROM r WHERE id = 1; ALTER TABLE r RENAME COLUMN id TO ident; COMMIT;",
    );
    let records = setup.wait_for_records("both deletes", WAIT, |r| r.len() >= 6);
    sluice.stop();
    assert_eq!(
        keyed(&records[2..]),
        [
            pair("d", json!({"id": 1})),
            pair("tombstone", json!({"id": 1})),
            pair("d", json!({"id": 1})),
            pair("tombstone", json!({"id": 1})),
        ]
    );
    assert_eq!(records[2]["topic"], "test.public.t");
    assert_eq!(records[2]["value"]["before"], json!({"id": 1, "name": "a"}));
    assert_eq!(records[4]["topic"], "test.public.r");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_identity_table_dropped_before_sluice_started_gives_null_keys_and_a_warning_saying_why() {
    let setup = slot_created_then_stopped(
        "keys_full_gone",
        "CREATE TABLE t (id int PRIMARY KEY, name text); ALTER TABLE t REPLICA IDENTITY FULL;",
    )
    .await;
    setup.db.psql("INSERT INTO t VALUES (1, 'a'); DELETE FROM t WHERE id = 1; DROP TABLE t;");
    let sluice = setup.start();
    let records = setup.wait_for_records("the insert and the delete", WAIT, |r| r.len() >= 2);
    let log = sluice.log();
    sluice.stop();
    assert_eq!(keyed(&records), [pair("c", Value::Null), pair("d", Value::Null)]);
    assert_eq!(records[1]["value"]["before"], json!({"id": 1, "name": "a"}));
    assert!(log.contains("public.t") && log.contains("primary key of this table's events cannot be known"), "{log}");
}
