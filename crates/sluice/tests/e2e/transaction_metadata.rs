//! `provide.transaction.metadata` against a real PostgreSQL, compared with Debezium's TransactionMetadataIT: BEGIN
//! and END around each transaction on `<topic.prefix>.transaction`, events counted per table across many sink
//! writes, nothing for a transaction the server does not send, and after a kill -9 mid-transaction one BEGIN, an END
//! with the whole transaction's counts, and orders that go on where they stopped.

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

const TOPIC: &str = "test.transaction";
/// The rows of the crash test's transaction.
const ROWS: u64 = 2000;

fn boundaries(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["topic"] == TOPIC).collect()
}

/// The transaction number of an id `<txId>:<lsn>`.
fn tx_of(id: &Value) -> String {
    id.as_str().expect("a string id").split(':').next().unwrap().to_string()
}

fn ends(records: &[Value]) -> usize {
    boundaries(records).iter().filter(|r| r["value"]["status"] == "END").count()
}

/// Runs `sql` in a transaction that reports its id.
fn transaction(setup: &Setup, sql: &str) -> String {
    setup.db.psql(&format!("BEGIN; {sql} SELECT txid_current(); COMMIT;")).trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_transaction_is_bracketed_by_begin_and_end_counted_per_table_across_batches_and_empty_ones_make_nothing() {
    let mut setup = Setup::new("tx_metadata").await;
    setup.db.psql("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); CREATE TABLE other (id int PRIMARY KEY);");
    setup.set("debezium.source.provide.transaction.metadata", "true");
    setup.set("debezium.source.table.include.list", "public.a,public.b");
    setup.set("debezium.source.publication.autocreate.mode", "filtered");
    let mut sluice = setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "2")]);
    sluice.wait_for_log("streaming started", WAIT);

    let first = transaction(
        &setup,
        "INSERT INTO a VALUES (1), (2), (3); INSERT INTO b VALUES (1), (2); UPDATE a SET id = 4 WHERE id = 3;",
    );
    // Touches no published table: PostgreSQL (15 and later) sends no Begin/Commit for it, so there is nothing to mark.
    transaction(&setup, "INSERT INTO other VALUES (1);");
    let last = transaction(&setup, "INSERT INTO b VALUES (10);");
    let records = setup.wait_for_records("both ENDs", WAIT, |r| ends(r) >= 2);
    sluice.stop();

    let marks: Vec<(String, String)> = boundaries(&records)
        .iter()
        .map(|r| (r["value"]["status"].as_str().unwrap().to_string(), tx_of(&r["value"]["id"])))
        .collect();
    let mark = |status: &str, tx: &str| (status.to_string(), tx.to_string());
    assert_eq!(marks, [mark("BEGIN", &first), mark("END", &first), mark("BEGIN", &last), mark("END", &last)]);

    // In the stream: BEGIN, the events (a key change is a delete and a create, each counted), END.
    let begin = records.iter().position(|r| r["topic"] == TOPIC).unwrap();
    let end = records
        .iter()
        .rposition(|r| r["topic"] == TOPIC && r["value"]["status"] == "END" && tx_of(&r["value"]["id"]) == first)
        .unwrap();
    let orders: Vec<(String, Value)> = records[begin + 1..end]
        .iter()
        .filter(|r| !r["value"].is_null())
        .map(|r| {
            let t = &r["value"]["transaction"];
            assert_eq!(tx_of(&t["id"]), first);
            assert_eq!(
                t["id"].as_str().unwrap().split(':').nth(1).unwrap(),
                r["value"]["source"]["lsn"].to_string(),
                "the id's LSN is the event's"
            );
            (r["topic"].as_str().unwrap().to_string(), json!([t["total_order"], t["data_collection_order"]]))
        })
        .collect();
    let at = |topic: &str, total: u64, table: u64| (format!("test.public.{topic}"), json!([total, table]));
    assert_eq!(
        orders,
        [at("a", 1, 1), at("a", 2, 2), at("a", 3, 3), at("b", 4, 1), at("b", 5, 2), at("a", 6, 4), at("a", 7, 5)]
    );
    let end = &records[end]["value"];
    assert_eq!(end["event_count"], json!(7));
    assert_eq!(
        end["data_collections"],
        json!([{"data_collection": "public.a", "event_count": 5}, {"data_collection": "public.b", "event_count": 2}])
    );
    assert_eq!(records[begin]["key"], json!({"id": records[begin]["value"]["id"]}));
    assert_eq!(records[begin]["value"]["event_count"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_mid_transaction_loses_no_end_and_the_counts_go_on_where_they_stopped() {
    let mut setup = Setup::new("tx_metadata_crash").await;
    setup.db.psql("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);");
    setup.set("debezium.source.provide.transaction.metadata", "true");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    sluice.stop();

    // Rows alternating between the tables, row n the transaction's n-th event: more than one chunk from the source,
    // so the kill comes after some of the transaction was acknowledged.
    let tx = transaction(
        &setup,
        &format!(
            "DO $$ BEGIN FOR n IN 1..{ROWS} LOOP
               IF n % 2 = 1 THEN INSERT INTO a VALUES (n); ELSE INSERT INTO b VALUES (n); END IF;
             END LOOP; END $$;"
        ),
    );

    // Two records a write, killed after write 300 (records 599 and 600), before it is acknowledged.
    let mut crashing =
        setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "2"), ("SLUICE_TEST_CRASH_AFTER_WRITES", "300")]);
    assert_ne!(crashing.wait_exit(WAIT), 0);
    let before = setup.records();
    assert_eq!(ends(&before), 0, "killed mid-transaction");
    assert!(before.len() > 512, "{} records before the kill: more than the first chunk", before.len());

    let sluice = setup.start();
    let records = setup.wait_for_records("the END", WAIT, |r| ends(r) >= 1);
    sluice.stop();

    let marks = boundaries(&records);
    let begins = marks.iter().filter(|r| r["value"]["status"] == "BEGIN").count();
    assert_eq!(begins, 1, "the BEGIN was delivered before the kill and is not repeated");
    let end = marks.iter().find(|r| r["value"]["status"] == "END").unwrap();
    assert_eq!(tx_of(&end["value"]["id"]), tx);
    assert_eq!(end["value"]["event_count"], json!(ROWS));
    assert_eq!(
        end["value"]["data_collections"],
        json!([{"data_collection": "public.a", "event_count": ROWS / 2}, {"data_collection": "public.b", "event_count": ROWS / 2}])
    );
    let mut seen = std::collections::BTreeSet::new();
    for r in records.iter().filter(|r| r["topic"] != TOPIC && !r["value"].is_null()) {
        let n = r["value"]["after"]["id"].as_u64().unwrap();
        let t = &r["value"]["transaction"];
        assert_eq!(t["total_order"], json!(n), "row {n}, delivered again or not, keeps its order");
        assert_eq!(t["data_collection_order"], json!(n.div_ceil(2)));
        seen.insert(n);
    }
    assert_eq!(seen.len(), ROWS as usize, "every row delivered");
    assert_eq!(records.last().unwrap()["value"]["status"], "END", "the END follows the transaction's last event");
}
