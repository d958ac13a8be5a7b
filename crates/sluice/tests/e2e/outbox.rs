//! The transactional outbox end to end: Debezium's Outbox Event Router configuration run unchanged, the
//! message-based outbox, selective application next to business tables, and malformed rows.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

const OUTBOX_TABLE: &str = "CREATE TABLE outboxevent (
    id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, aggregateid varchar(255) NOT NULL,
    type varchar(255) NOT NULL, timestamp timestamp NOT NULL DEFAULT now(), payload jsonb);
  CREATE TABLE orders (id int PRIMARY KEY, status text);";

/// An order placed: the business row and its event in one transaction, as a service writes them.
fn place_order(n: u32) -> String {
    format!(
        "BEGIN;
         INSERT INTO orders VALUES ({n}, 'placed');
         INSERT INTO outboxevent (id, aggregatetype, aggregateid, type, payload)
           VALUES ('00000000-0000-0000-0000-{n:012}', 'Order', 'order-{n}', 'OrderPlaced', '{{\"order\": {n}, \"items\": [1, 2]}}');
         COMMIT;"
    )
}

/// Debezium's documented outbox configuration, as a user brings it (password from a file, as in production).
fn debezium_router_config(setup: &mut Setup) {
    let secrets = setup.dir.path().join("secrets.properties");
    std::fs::write(&secrets, "password=unused-with-trust\n").unwrap();
    setup
        .set("debezium.source.table.include.list", "public.outboxevent")
        .set("debezium.source.publication.autocreate.mode", "disabled")
        .set("debezium.source.publication.name", "outbox_pub")
        .set("debezium.source.database.password", &format!("${{file:{}:password}}", secrets.display()))
        .set("debezium.source.snapshot.mode", "never")
        .set("debezium.source.tombstones.on.delete", "false")
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter")
        .set("debezium.transforms.outbox.route.by.field", "aggregatetype")
        .set("debezium.transforms.outbox.route.topic.replacement", "outbox.event.${routedByValue}")
        .set("debezium.transforms.outbox.table.field.event.key", "aggregateid")
        .set("debezium.transforms.outbox.table.field.event.payload", "payload")
        .set(
            "debezium.transforms.outbox.table.fields.additional.placement",
            "type:header:eventType,timestamp:header:ts",
        );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_debezium_outbox_router_configuration_runs_unchanged() {
    let mut setup = Setup::new("outbox_router").await;
    setup.db.psql(OUTBOX_TABLE);
    setup.db.psql("CREATE PUBLICATION outbox_pub FOR TABLE outboxevent;");
    debezium_router_config(&mut setup);
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);

    setup.db.psql(&place_order(1));
    // Rolled back: nothing.
    setup.db.psql(
        "BEGIN; INSERT INTO outboxevent (id, aggregatetype, aggregateid, type, payload)
           VALUES ('00000000-0000-0000-0000-000000000999', 'Order', 'order-999', 'OrderPlaced', '{}'); ROLLBACK;",
    );
    // Inserted and deleted in the same transaction (the cleanup-in-place strategy): emitted once.
    setup.db.psql(
        "BEGIN; INSERT INTO outboxevent (id, aggregatetype, aggregateid, type, payload)
           VALUES ('00000000-0000-0000-0000-000000000002', 'Customer', 'customer-7', 'CustomerCreated', '{\"name\": \"Ada\"}');
         DELETE FROM outboxevent WHERE id = '00000000-0000-0000-0000-000000000002'; COMMIT;",
    );
    for n in 3..=6 {
        setup.db.psql(&place_order(n));
    }
    let records = setup.wait_for_records("six events", WAIT, |r| r.len() >= 6);
    sluice.stop();

    assert_eq!(
        records.len(),
        6,
        "no event for the rollback, one for insert+delete, nothing for the delete: {records:#?}"
    );
    let orders: Vec<&Value> = records.iter().filter(|r| r["topic"] == "outbox.event.Order").collect();
    assert_eq!(orders.len(), 5);
    let keys: Vec<&str> = orders.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["order-1", "order-3", "order-4", "order-5", "order-6"], "commit order");
    let first = orders[0];
    let stored = setup.db.psql("SELECT payload::text FROM outboxevent WHERE aggregateid = 'order-1'");
    assert_eq!(first["value"].as_str().unwrap(), stored.trim(), "the payload, untouched, as a JSON string");
    assert_eq!(first["headers"]["id"], "00000000-0000-0000-0000-000000000001");
    assert_eq!(first["headers"]["eventType"], "OrderPlaced");
    assert!(first["headers"]["ts"].as_str().unwrap().ends_with('Z'), "{first}");
    let customer = records.iter().find(|r| r["topic"] == "outbox.event.Customer").unwrap();
    assert_eq!(customer["key"], "customer-7");
    assert_eq!(customer["value"], "{\"name\": \"Ada\"}");
}

#[tokio::test(flavor = "multi_thread")]
async fn outbox_updates_are_skipped_with_a_warning_or_stop_sluice_per_table_op_invalid_behavior() {
    let mut setup = Setup::new("outbox_update").await;
    setup.db.psql(OUTBOX_TABLE);
    setup.db.psql("CREATE PUBLICATION outbox_pub FOR TABLE outboxevent;");
    debezium_router_config(&mut setup);
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql(&place_order(1));
    setup.db.psql("UPDATE outboxevent SET type = 'Changed'");
    setup.db.psql(&place_order(2));
    sluice.wait_for_log("only inserted rows become events", WAIT);
    let records = setup.wait_for_records("two events", WAIT, |r| r.len() >= 2);
    sluice.stop();
    assert_eq!(records.len(), 2, "the update emits nothing");

    setup.set("debezium.transforms.outbox.table.op.invalid.behavior", "fatal");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("UPDATE outboxevent SET type = 'Again' WHERE aggregateid = 'order-1'");
    let code = sluice.wait_exit(WAIT);
    let log = sluice.log();
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("table.op.invalid.behavior=fatal"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bytea_payload_passes_byte_for_byte_with_the_binary_converter() {
    let mut setup = Setup::new("outbox_binary").await;
    setup.db.psql(
        "CREATE TABLE outboxevent (id uuid PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload bytea);",
    );
    setup
        .set("debezium.source.table.include.list", "public.outboxevent")
        .set("debezium.format.key", "simplestring")
        .set("debezium.format.value", "binary")
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    // A protobuf-like payload with every byte value, including NUL and invalid UTF-8.
    setup.db.psql(
        "INSERT INTO outboxevent SELECT gen_random_uuid(), 'Invoice', 'inv-1', 'InvoiceIssued',
           (SELECT string_agg(set_byte('\\x00'::bytea, 0, g), ''::bytea) FROM generate_series(0, 255) g)",
    );
    let records = setup.wait_for_records("the event", WAIT, |r| !r.is_empty());
    sluice.stop();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(records[0]["value_base64"].as_str().unwrap()).unwrap();
    assert_eq!(bytes, (0..=255u8).collect::<Vec<u8>>());
    assert_eq!(records[0]["key"], "inv-1");
    assert_eq!(records[0]["topic"], "outbox.event.Invoice");
}

/// The same business transactions, written to the outbox table or as messages, give the same events.
#[tokio::test(flavor = "multi_thread")]
async fn the_message_outbox_yields_the_same_events_as_the_table_outbox() {
    let mut setup = Setup::new("outbox_message").await;
    setup.db.psql(OUTBOX_TABLE);
    setup
        .set("debezium.source.table.include.list", "public.outboxevent")
        .set("debezium.source.tombstones.on.delete", "false")
        .set("debezium.transforms", "decode,outbox")
        .set(
            "debezium.transforms.decode.type",
            "io.debezium.connector.postgresql.transforms.DecodeLogicalDecodingMessageContent",
        )
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter")
        .set("debezium.transforms.outbox.table.fields.additional.placement", "type:header:eventType");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    for n in 1..=3 {
        setup.db.psql(&place_order(n));
    }
    for n in 1..=3 {
        // The table-free outbox: the event travels in the WAL only; the content's fields are the outbox columns.
        // (The payload goes through jsonb so its text is what the jsonb column above stores.)
        setup.db.psql(&format!(
            "BEGIN; INSERT INTO orders VALUES ({m}, 'placed');
             SELECT pg_logical_emit_message(true, 'outbox', json_build_object(
               'id', '00000000-0000-0000-0000-{n:012}', 'aggregatetype', 'Order', 'aggregateid', 'order-{n}',
               'type', 'OrderPlaced', 'payload', '{{\"order\": {n}, \"items\": [1, 2]}}'::jsonb::text)::text);
             COMMIT;",
            m = n + 100
        ));
    }
    let records = setup.wait_for_records("six events", WAIT, |r| r.len() >= 6);
    sluice.stop();
    let identity =
        |r: &Value| (r["topic"].to_string(), r["key"].to_string(), r["value"].to_string(), r["headers"].to_string());
    let from_table: Vec<_> = records[..3].iter().map(identity).collect();
    let from_messages: Vec<_> = records[3..].iter().map(identity).collect();
    assert_eq!(from_table, from_messages);
    assert_eq!(
        records[0]["headers"],
        json!({"id": "00000000-0000-0000-0000-000000000001", "eventType": "OrderPlaced"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn business_tables_and_the_outbox_share_one_pipeline_through_a_predicate() {
    let mut setup = Setup::new("outbox_predicate").await;
    setup.db.psql(OUTBOX_TABLE);
    setup
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter")
        .set("debezium.transforms.outbox.predicate", "isOutbox")
        .set("debezium.predicates", "isOutbox")
        .set("debezium.predicates.isOutbox.type", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches")
        .set("debezium.predicates.isOutbox.pattern", ".*\\\\.outboxevent");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql(&place_order(1));
    let records = setup.wait_for_records("the order and its event", WAIT, |r| r.len() >= 2);
    sluice.stop();
    let topics: BTreeSet<&str> = records.iter().map(|r| r["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, BTreeSet::from(["outbox.event.Order", "test.public.orders"]));
    let order = records.iter().find(|r| r["topic"] == "test.public.orders").unwrap();
    assert_eq!(order["value"]["op"], "c", "business tables keep their change events");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_outbox_rows_get_the_documented_behaviour_and_a_clear_log_line() {
    let mut setup = Setup::new("outbox_malformed").await;
    setup.db.psql(
        "CREATE TABLE outboxevent (id uuid PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload text);",
    );
    setup
        .set("debezium.source.table.include.list", "public.outboxevent")
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter")
        .set("debezium.transforms.outbox.table.expand.json.payload", "true");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql(
        "INSERT INTO outboxevent VALUES (gen_random_uuid(), 'Order', 'o-1', 'T', NULL);
         INSERT INTO outboxevent VALUES (gen_random_uuid(), 'Order', 'o-2', 'T', 'not json {');
         INSERT INTO outboxevent VALUES (gen_random_uuid(), 'Order', 'o-3', 'T', '{\"a\": 1, \"b\": null}');",
    );
    let records = setup.wait_for_records("three events", WAIT, |r| r.len() >= 3);
    sluice.wait_for_log("null payload", WAIT);
    sluice.wait_for_log("the payload is not JSON", WAIT);
    sluice.stop();
    assert!(records[0]["value"].is_null(), "a null payload: a null value");
    assert_eq!(records[1]["value"], "not json {", "bad JSON with expansion on: emitted unchanged");
    assert_eq!(records[2]["value"], json!({"a": 1}), "expanded, null fields ignored by default");

    // A configured column the table does not have: Sluice stops and names it (Debezium fails the same way).
    setup.set("debezium.transforms.outbox.table.field.event.key", "aggregate_id");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO outboxevent VALUES (gen_random_uuid(), 'Order', 'o-4', 'T', '{}')");
    let code = sluice.wait_exit(WAIT);
    let log = sluice.log();
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("column `aggregate_id`") && log.contains("table.field.event.key"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_router_option_is_a_configuration_error_naming_it() {
    let mut setup = Setup::new("outbox_bad_option").await;
    setup
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter")
        .set("debezium.transforms.outbox.route.by.feild", "aggregatetype");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("did you mean `debezium.transforms.outbox.route.by.field`"), "{log}");
}

/// The outbox rows still in the table and the event ids the sink received.
async fn table_and_delivered(setup: &Setup) -> (BTreeSet<String>, BTreeSet<String>) {
    let client = setup.db.client().await;
    let in_table: BTreeSet<String> =
        client.query("SELECT id::text FROM outboxevent", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    let delivered: BTreeSet<String> =
        setup.records().iter().filter_map(|r| r["headers"]["id"].as_str().map(String::from)).collect();
    (in_table, delivered)
}

fn cleaner_config(setup: &mut Setup) {
    setup
        .set("debezium.source.table.include.list", "public.outboxevent")
        .set("debezium.source.tombstones.on.delete", "false")
        .set("debezium.source.outbox.cleanup.table", "public.outboxevent")
        .set("debezium.source.outbox.cleanup.interval.ms", "50")
        .set("debezium.source.outbox.cleanup.batch.size", "7")
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cleaner_never_deletes_a_row_whose_event_is_not_acknowledged() {
    let mut setup = Setup::new("outbox_cleaner_ack").await;
    setup.db.psql(OUTBOX_TABLE);
    cleaner_config(&mut setup);
    for n in 1..=20 {
        setup.db.psql(&place_order(n));
    }
    // Batches of five; abort right after the second write, before it is acknowledged.
    let mut crashing = setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "5"), ("SLUICE_TEST_CRASH_AFTER_WRITES", "2")]);
    assert_ne!(crashing.wait_exit(WAIT), 0);
    let written: Vec<String> =
        setup.records().iter().map(|r| r["headers"]["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(written.len(), 10);
    let (in_table, _) = table_and_delivered(&setup).await;
    for id in &written[5..] {
        assert!(in_table.contains(id), "row {id} was deleted although its write was never acknowledged");
    }

    // Restarted normally, everything is delivered and then deleted.
    let sluice = setup.start();
    setup.wait_for_records("all twenty events", WAIT, |r| {
        r.iter().filter_map(|r| r["headers"]["id"].as_str()).collect::<BTreeSet<_>>().len() == 20
    });
    sluice.stop();
    let (in_table, delivered) = table_and_delivered(&setup).await;
    assert_eq!(delivered.len(), 20);
    assert!(
        in_table.len() <= 5,
        "delivered rows are deleted (the first batch's ids may have been lost in the crash): {in_table:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_under_load_never_leaves_a_deleted_row_undelivered() {
    let mut setup = Setup::new("outbox_cleaner_kill").await;
    setup.db.psql(OUTBOX_TABLE);
    cleaner_config(&mut setup);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let client = setup.db.client().await;
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                client.batch_execute(&place_order(n)).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            n
        })
    };
    let env = [("SLUICE_TEST_MAX_BATCH", "3")];
    let mut sluice = Some(setup.start_with_env(&env));
    for round in 1..=3 {
        let have = setup.records().len();
        setup.wait_for_records(&format!("progress before kill {round}"), WAIT, |r| r.len() >= have + 50);
        sluice.take().unwrap().kill9();
        // Every order committed so far put one outbox row; each one gone from the table must have been delivered.
        let client = setup.db.client().await;
        let committed: i32 = client.query_one("SELECT coalesce(max(id), 0) FROM orders", &[]).await.unwrap().get(0);
        let (in_table, delivered) = table_and_delivered(&setup).await;
        let undelivered_but_deleted: Vec<String> = (1..=committed as u32)
            .map(|n| format!("00000000-0000-0000-0000-{n:012}"))
            .filter(|id| !in_table.contains(id) && !delivered.contains(id))
            .collect();
        assert!(undelivered_but_deleted.is_empty(), "deleted before delivery: {undelivered_but_deleted:?}");
        sluice = Some(setup.start_with_env(&env));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let inserted = writer.await.unwrap();
    let all: BTreeSet<String> = (1..=inserted).map(|n| format!("00000000-0000-0000-0000-{n:012}")).collect();
    setup.wait_for_records("every event", WAIT, |r| {
        r.iter().filter_map(|r| r["headers"]["id"].as_str()).collect::<BTreeSet<_>>().len() == all.len()
    });
    sluice.take().unwrap().stop();
    let (in_table, delivered) = table_and_delivered(&setup).await;
    assert_eq!(delivered, all, "every committed outbox row was delivered");
    let deleted: BTreeSet<&String> = all.iter().filter(|id| !in_table.contains(*id)).collect();
    assert!(deleted.iter().all(|id| delivered.contains(*id)));
    assert!(
        in_table.len() < all.len() / 2,
        "the cleaner deleted most delivered rows ({} of {} left)",
        in_table.len(),
        all.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_partitioned_outbox_is_routed_and_old_days_are_dropped_by_the_helper() {
    use sluice_outbox::partitions;
    let mut setup = Setup::new("outbox_partitions").await;
    let client = setup.db.client().await;
    client.batch_execute(&partitions::create_partitioned_sql("public.outboxevent")).await.unwrap();
    for day in ["2026-11-22", "2026-11-23", "2026-11-24"] {
        partitions::create_day_partition(&client, "public.outboxevent", day).await.unwrap();
    }
    // Events keep the parent's name (and one publication entry) with publish_via_partition_root.
    client
        .batch_execute("CREATE PUBLICATION outbox_pub FOR TABLE outboxevent WITH (publish_via_partition_root = true)")
        .await
        .unwrap();
    setup
        .set("debezium.source.table.include.list", "public.outboxevent")
        .set("debezium.source.publication.autocreate.mode", "disabled")
        .set("debezium.source.publication.name", "outbox_pub")
        .set("debezium.source.snapshot.mode", "no_data")
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    for (n, day) in [(1, "2026-11-22"), (2, "2026-11-23"), (3, "2026-11-24")] {
        setup.db.psql(&format!(
            "INSERT INTO outboxevent (aggregatetype, aggregateid, type, timestamp, payload)
             VALUES ('Order', 'order-{n}', 'OrderPlaced', '{day} 12:00+00', '{{}}')"
        ));
    }
    setup.wait_for_records("three events", WAIT, |r| r.len() >= 3);
    let dropped = partitions::drop_partitions_before(&client, "public.outboxevent", "2026-11-24").await.unwrap();
    assert_eq!(dropped, ["public.outboxevent_20261122", "public.outboxevent_20261123"]);
    setup.db.psql(
        "INSERT INTO outboxevent (aggregatetype, aggregateid, type, timestamp, payload)
         VALUES ('Order', 'order-4', 'OrderPlaced', '2026-11-24 13:00+00', '{}')",
    );
    let records = setup.wait_for_records("the fourth event", WAIT, |r| r.len() >= 4);
    sluice.stop();
    let keys: Vec<&str> = records.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["order-1", "order-2", "order-3", "order-4"]);
    assert!(records.iter().all(|r| r["topic"] == "outbox.event.Order"));
    let left: i64 = client.query_one("SELECT count(*) FROM outboxevent", &[]).await.unwrap().get(0);
    assert_eq!(left, 2, "only the kept day's rows remain");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cleaner_waits_for_the_flush_lsn_to_pass_a_whole_transaction() {
    let mut setup = Setup::new("outbox_cleaner_flush").await;
    setup.db.psql(OUTBOX_TABLE);
    cleaner_config(&mut setup);
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    sluice.stop();
    // One transaction of ten outbox rows, delivered in writes of at most three; abort after two writes. Whether
    // the first write was acknowledged (and its position stored) before the crash depends on how the source's reads
    // chunked the transaction; either way the restart must end with every row deleted. The pipeline's unit test
    // `a_replayed_transaction_is_written_from_past_the_stored_position_and_observers_see_all_of_it` covers the
    // stored-position case deterministically.
    let rows: Vec<String> = (1..=10)
        .map(|n| format!("('00000000-0000-0000-0000-{n:012}', 'Order', 'order-{n}', 'OrderPlaced', '{{}}')"))
        .collect();
    setup.db.psql(&format!(
        "INSERT INTO outboxevent (id, aggregatetype, aggregateid, type, payload) VALUES {}",
        rows.join(",")
    ));
    let mut crashing = setup.start_with_env(&[("SLUICE_TEST_MAX_BATCH", "3"), ("SLUICE_TEST_CRASH_AFTER_WRITES", "2")]);
    assert_ne!(crashing.wait_exit(WAIT), 0);
    let (in_table, delivered) = table_and_delivered(&setup).await;
    assert!((2..=6).contains(&delivered.len()), "two writes of at most three: {}", delivered.len());
    assert_eq!(in_table.len(), 10, "rows delivered, but of a transaction not wholly delivered, are kept");

    let sluice = setup.start();
    setup.wait_for_records("all ten", WAIT, |r| {
        r.iter().filter_map(|r| r["headers"]["id"].as_str()).collect::<BTreeSet<_>>().len() == 10
    });
    sluice.stop();
    let (in_table, _) = table_and_delivered(&setup).await;
    assert!(in_table.is_empty(), "once the transaction is confirmed, its rows go: {in_table:?}");
}
