//! Debezium's per-column options on a real database, each compared with the Debezium test that sets it up the same
//! way: `message.key.columns` (the key's columns, also for deletes, tombstones and key changes), the column mappers
//! that mask, hash and truncate values, and the source-type schema parameters.

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

/// The records of one topic.
fn of(records: &[Value], topic: &str) -> Vec<Value> {
    records.iter().filter(|r| r["topic"] == topic).cloned().collect()
}

/// (op or "tombstone", key) of every record.
fn keyed(records: &[Value]) -> Vec<(String, Value)> {
    records.iter().map(|r| (r["value"]["op"].as_str().unwrap_or("tombstone").to_string(), r["key"].clone())).collect()
}

/// A field schema of a schemas-enabled envelope's `after`.
fn after_field(envelope: &Value, name: &str) -> Value {
    let fields = envelope["schema"]["fields"][1]["fields"].as_array().expect("the after struct's fields");
    fields.iter().find(|f| f["field"] == name).unwrap_or_else(|| panic!("no field {name}")).clone()
}

/// Compared with Debezium's PostgresConnectorIT.shouldRewriteIdentityKey (DBZ-1015: `(.*)1.a:pk,aa` makes `{pk, aa}`
/// the key of `s1.a` and leaves `s2.a` on its primary key), and RelationalChangeRecordEmitter for a changed key (a
/// delete with `__debezium.newkey`, its tombstone, a create) and a table without a primary key.
#[tokio::test(flavor = "multi_thread")]
async fn message_key_columns_choose_the_key_of_every_event_and_tombstone() {
    let mut setup = Setup::new("key_columns").await;
    setup.set("debezium.source.message.key.columns", "(.*)1.a:pk,aa;public.nopk:code");
    setup.db.psql(
        "CREATE SCHEMA s1; CREATE SCHEMA s2;
         CREATE TABLE s1.a (pk SERIAL, aa integer, PRIMARY KEY(pk));
         CREATE TABLE s2.a (pk SERIAL, aa integer, bb varchar(20), PRIMARY KEY(pk));
         CREATE TABLE nopk (code text, qty int); ALTER TABLE nopk REPLICA IDENTITY FULL;
         INSERT INTO s1.a (aa) VALUES (1); INSERT INTO s2.a (aa) VALUES (1); INSERT INTO nopk VALUES ('x', 1);",
    );
    let sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= 3);
    setup.db.psql(
        "UPDATE nopk SET qty = 2; UPDATE nopk SET code = 'y'; DELETE FROM nopk;
         ALTER TABLE s1.a REPLICA IDENTITY FULL; UPDATE s1.a SET aa = 5;",
    );
    let records = setup.wait_for_records("the streamed changes", WAIT, |r| r.len() >= 12);
    sluice.stop();

    assert_eq!(keyed(&of(&records, "test.s2.a")), [("r".to_string(), json!({"pk": 1}))]);
    let s1 = keyed(&of(&records, "test.s1.a"));
    assert_eq!(s1[0], ("r".to_string(), json!({"pk": 1, "aa": 1})));
    // Changing a key column is a key change: the old key's delete and tombstone, then the new key's create.
    let change: Vec<(String, Value)> = vec![
        ("d".into(), json!({"pk": 1, "aa": 1})),
        ("tombstone".into(), json!({"pk": 1, "aa": 1})),
        ("c".into(), json!({"pk": 1, "aa": 5})),
    ];
    assert_eq!(s1[1..], change);
    let nopk = keyed(&of(&records, "test.public.nopk"));
    let want: Vec<(String, Value)> = vec![
        ("r".into(), json!({"code": "x"})),
        ("u".into(), json!({"code": "x"})),
        ("d".into(), json!({"code": "x"})),
        ("tombstone".into(), json!({"code": "x"})),
        ("c".into(), json!({"code": "y"})),
        ("d".into(), json!({"code": "y"})),
        ("tombstone".into(), json!({"code": "y"})),
    ];
    assert_eq!(nopk, want);
    let delete = of(&records, "test.public.nopk").into_iter().find(|r| r["value"]["op"] == "d").unwrap();
    assert!(delete["headers"].to_string().contains("__debezium.newkey"), "{delete}");
}

/// Compared with Debezium's PostgresConnectorIT on its table `s2.a (pk SERIAL, aa integer, bb varchar(20))`:
/// shouldConsumeEventsWithMaskedColumns (`column.mask.with.5.chars`: `*****`, the snapshot's null included),
/// shouldConsumeEventsWithMaskedHashedColumns (`column.mask.hash.SHA-256.with.salt.CzQMA0cB5K`: the hex cut to
/// varchar(20), whole for varchar(255), null kept) and shouldConsumeEventsWithTruncatedColumns
/// (`column.truncate.to.3.chars`); the schema parameters are MaskStrings' `masked` and TruncateColumn's
/// `truncateLength`.
#[tokio::test(flavor = "multi_thread")]
async fn masked_hashed_and_truncated_columns_match_debeziums_values() {
    let mut setup = Setup::new("column_mappers").await;
    setup.set("debezium.format.value.schemas.enable", "true");
    setup.set("debezium.source.column.mask.with.5.chars", "public.m.bb");
    setup.set("debezium.source.column.mask.hash.SHA-256.with.salt.CzQMA0cB5K", "public.h.bb, public.h2.bb");
    setup.set("debezium.source.column.truncate.to.3.chars", "public.t.bb");
    setup.db.psql(
        "CREATE TABLE m (pk SERIAL, aa integer, bb varchar(20), PRIMARY KEY(pk));
         CREATE TABLE h (pk SERIAL, aa integer, bb varchar(20), PRIMARY KEY(pk));
         CREATE TABLE h2 (pk SERIAL, bb varchar(255), PRIMARY KEY(pk));
         CREATE TABLE t (pk SERIAL, aa integer, bb varchar(20), PRIMARY KEY(pk));
         ALTER TABLE m REPLICA IDENTITY FULL; ALTER TABLE t REPLICA IDENTITY FULL;
         INSERT INTO m (aa) VALUES (1); INSERT INTO h (aa) VALUES (1);",
    );
    let sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= 2);
    setup.db.psql(
        "INSERT INTO m (aa, bb) VALUES (1, 'test'); UPDATE m SET aa = 2, bb = 'hello' WHERE pk = 2;
         INSERT INTO h (aa, bb) VALUES (1, 'test'); UPDATE h SET aa = 2, bb = 'hello' WHERE pk = 2;
         INSERT INTO h2 (bb) VALUES ('hello');
         INSERT INTO t (aa, bb) VALUES (1, 'test'); UPDATE t SET aa = 2, bb = 'hello' WHERE pk = 1;",
    );
    setup.wait_for_records("the streamed changes", WAIT, |r| r.len() >= 9);
    sluice.stop();

    let bb = |table: &str, side: &str| -> Vec<Value> {
        setup.envelopes(table).iter().map(|e| e["payload"][side]["bb"].clone()).collect()
    };
    assert_eq!(bb("m", "after"), [json!("*****"), json!("*****"), json!("*****")]);
    assert_eq!(bb("m", "before")[2], "*****");
    assert_eq!(bb("h", "after"), [Value::Null, json!("8e68c68edbbac316dfe2"), json!("b4d39ab0d198fb4cac8b")]);
    assert_eq!(bb("h2", "after"), [json!("b4d39ab0d198fb4cac8b2f023da74f670bcaf192dcc79b5d6361b7ae6b2fafdf")]);
    assert_eq!(bb("t", "after"), [json!("tes"), json!("hel")]);
    assert_eq!(bb("t", "before")[1], "tes");

    let params = |table: &str| after_field(&setup.envelopes(table)[0], "bb")["parameters"].clone();
    assert_eq!(params("m"), json!({"masked": "true"}));
    assert_eq!(params("h"), json!({"masked": "true"}));
    assert_eq!(params("t"), json!({"truncateLength": "3"}));
    assert_eq!(after_field(&setup.envelopes("m")[0], "bb")["type"], "string");
}

/// Compared with Debezium's RecordsStreamProducerIT.shouldPropagateSourceTypeByDatatype (DBZ-1916/DBZ-1830: its table
/// and `.+\.NUMERIC,.+\.VARCHAR,.+\.FLOAT4`: NUMERIC 5/2 and 8/4, VARCHAR 128, FLOAT4 8/8, nothing on the other
/// columns) and RecordsSnapshotProducerIT.shouldSnapshotDomainTypeWithPropagatedSourceTypeAttributes (DBZ-1413:
/// `column.propagate.source.type` on a money column: MONEY, 2147483647, 0, and the column's name).
#[tokio::test(flavor = "multi_thread")]
async fn propagated_source_types_are_debeziums_schema_parameters() {
    let mut setup = Setup::new("source_types").await;
    setup.set("debezium.format.value.schemas.enable", "true");
    setup.set("debezium.source.datatype.propagate.source.type", ".+\\.NUMERIC,.+\\.VARCHAR,.+\\.FLOAT4");
    setup.set("debezium.source.column.propagate.source.type", "public.test_table.salary");
    setup.db.psql(
        "CREATE TABLE test_table (id SERIAL, c1 INT, c2 INT, c3a NUMERIC(5,2), c3b VARCHAR(128), f1 float(10),
                                  f2 decimal(8,4), salary money, primary key (id));",
    );
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO test_table (c1, c2, c3a, c3b, f1, f2, salary) VALUES (123, 456, 789.01, 'test', 1.228, 234.56, 7.25);");
    setup.wait_for_records("the insert", WAIT, |r| !r.is_empty());
    sluice.stop();

    let envelope = &setup.envelopes("test_table")[0];
    let params = |name: &str| after_field(envelope, name)["parameters"].clone();
    let source = |t: &str, l: &str, s: &str, n: &str| {
        json!({"__debezium.source.column.type": t, "__debezium.source.column.length": l,
               "__debezium.source.column.scale": s, "__debezium.source.column.name": n})
    };
    let with = |own: Value, theirs: Value| {
        let mut all = own;
        all.as_object_mut().unwrap().extend(theirs.as_object().unwrap().clone());
        all
    };
    for name in ["id", "c1", "c2"] {
        assert_eq!(params(name), Value::Null, "{name} has no parameters");
    }
    let decimal = |p: &str, s: &str| json!({"scale": s, "connect.decimal.precision": p});
    assert_eq!(params("c3a"), with(decimal("5", "2"), source("NUMERIC", "5", "2", "c3a")));
    assert_eq!(params("c3b"), source("VARCHAR", "128", "0", "c3b"));
    assert_eq!(params("f1"), source("FLOAT4", "8", "8", "f1"));
    assert_eq!(params("f2"), with(decimal("8", "4"), source("NUMERIC", "8", "4", "f2")));
    assert_eq!(params("salary"), with(json!({"scale": "2"}), source("MONEY", "2147483647", "0", "salary")));
}
