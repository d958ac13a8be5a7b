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
