//! Debezium's New Record State Extraction ("unwrap") end to end: a Debezium Server configuration with
//! `ExtractNewRecordState`, `add.fields` and the older `delete.handling.mode=rewrite`, run as it is, gives the
//! flattened rows Debezium gives.

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

#[tokio::test(flavor = "multi_thread")]
async fn a_debezium_unwrap_configuration_gives_flattened_rows_with_added_fields_and_rewritten_deletes() {
    let mut setup = Setup::new("unwrap").await;
    setup.db.psql(
        "CREATE TABLE customers (id int PRIMARY KEY, email text);
         INSERT INTO customers VALUES (1, 'anne@example.com');",
    );
    setup
        .set("debezium.source.table.include.list", "public.customers")
        .set("debezium.transforms", "unwrap")
        .set("debezium.transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState")
        .set("debezium.transforms.unwrap.add.fields", "op,table,lsn")
        .set("debezium.transforms.unwrap.delete.handling.mode", "rewrite");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO customers VALUES (2, 'bob@example.com');");
    setup.db.psql("UPDATE customers SET email = 'robert@example.com' WHERE id = 2;");
    setup.db.psql("DELETE FROM customers WHERE id = 1;");
    let records = setup.wait_for_records("four rows", WAIT, |r| r.len() >= 4);
    sluice.stop();

    assert_eq!(records.len(), 4, "the delete's tombstone is dropped (drop.tombstones defaults to true): {records:#?}");
    for r in &records {
        assert_eq!(r["topic"], "test.public.customers", "{r}");
        assert!(r["value"]["__lsn"].is_u64(), "the change's WAL position: {r}");
    }
    let without_lsn = |r: &Value| {
        let mut value = r["value"].clone();
        value.as_object_mut().unwrap().remove("__lsn");
        (r["key"].clone(), value)
    };
    // The delete carries the `before` row, which under the default replica identity holds the key columns only.
    assert_eq!(
        records.iter().map(without_lsn).collect::<Vec<_>>(),
        [
            (
                json!({"id": 1}),
                json!({"id": 1, "email": "anne@example.com", "__deleted": "false", "__op": "r", "__table": "customers"})
            ),
            (
                json!({"id": 2}),
                json!({"id": 2, "email": "bob@example.com", "__deleted": "false", "__op": "c", "__table": "customers"})
            ),
            (
                json!({"id": 2}),
                json!({"id": 2, "email": "robert@example.com", "__deleted": "false", "__op": "u", "__table": "customers"})
            ),
            (
                json!({"id": 1}),
                json!({"id": 1, "email": null, "__deleted": "true", "__op": "d", "__table": "customers"})
            ),
        ]
    );
}
