//! The producer library against a real PostgreSQL: the event commits and rolls back with the business change.

use sluice_outbox::{Outbox, OutboxEvent};

#[tokio::test(flavor = "multi_thread")]
async fn the_event_commits_and_rolls_back_with_the_business_change() {
    let db = sluice_testkit::cluster().fresh_database("outbox_producer").await;
    let mut client = db.client().await;
    let outbox = Outbox::table("public.outboxevent");
    client.batch_execute(&outbox.create_sql()).await.unwrap();
    client.batch_execute("CREATE TABLE orders (id int PRIMARY KEY)").await.unwrap();

    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO orders VALUES (1)", &[]).await.unwrap();
    let event = OutboxEvent::new("Order", "1", "OrderPlaced", serde_json::json!({"order": 1}))
        .with_id("6f1c0c9e-0000-0000-0000-000000000001");
    outbox.write(&tx, &event).await.unwrap();
    tx.commit().await.unwrap();

    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO orders VALUES (2)", &[]).await.unwrap();
    outbox.write(&tx, &OutboxEvent::new("Order", "2", "OrderPlaced", serde_json::json!({}))).await.unwrap();
    tx.rollback().await.unwrap();

    let rows = client
        .query("SELECT id::text, aggregatetype, aggregateid, type, payload::text FROM outboxevent", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the rolled-back event is gone with its order");
    let row = &rows[0];
    assert_eq!(row.get::<_, String>(0), "6f1c0c9e-0000-0000-0000-000000000001");
    assert_eq!(row.get::<_, String>(2), "1");
    assert_eq!(row.get::<_, String>(4), "{\"order\": 1}");
}

#[tokio::test(flavor = "multi_thread")]
async fn emit_writes_a_transactional_message_with_the_outbox_columns() {
    let db = sluice_testkit::cluster().fresh_database("outbox_emit").await;
    let mut client = db.client().await;
    client.batch_execute("SELECT pg_create_logical_replication_slot('emit_test', 'test_decoding')").await.unwrap();
    let outbox = Outbox::table("outboxevent");
    let tx = client.transaction().await.unwrap();
    outbox.emit(&tx, &OutboxEvent::new("Order", "7", "OrderPlaced", serde_json::json!({"order": 7}))).await.unwrap();
    tx.commit().await.unwrap();
    let tx = client.transaction().await.unwrap();
    outbox.emit(&tx, &OutboxEvent::new("Order", "8", "OrderPlaced", serde_json::json!({}))).await.unwrap();
    tx.rollback().await.unwrap();

    let changes: Vec<String> = client
        .query("SELECT data FROM pg_logical_slot_get_changes('emit_test', NULL, NULL)", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    client.batch_execute("SELECT pg_drop_replication_slot('emit_test')").await.unwrap();
    let messages: Vec<&String> = changes.iter().filter(|c| c.starts_with("message:")).collect();
    assert_eq!(messages.len(), 1, "only the committed message: {changes:?}");
    let content = messages[0].split_once("content:").unwrap().1;
    let json: serde_json::Value = serde_json::from_str(content).unwrap();
    assert_eq!(json["aggregatetype"], "Order");
    assert_eq!(json["aggregateid"], "7");
    assert_eq!(json["type"], "OrderPlaced");
    assert_eq!(json["payload"], "{\"order\": 7}");
    assert!(messages[0].contains("transactional: 1") && messages[0].contains("prefix: outbox"), "{}", messages[0]);
}
