//! `topic.naming.strategy`, `topic.delimiter` and `schema.name.adjustment.mode` against a real PostgreSQL: with
//! Debezium's PostgreSQL default, SchemaTopicNamingStrategy, and a `_` delimiter, each table of two schemas has its
//! own topic `test_<schema>_<table>` in the snapshot and the stream, its schemas are named after it, and the
//! heartbeat and transaction topics are joined with the delimiter too; DefaultTopicNamingStrategy names topics
//! `test.<table>`.

use serde_json::Value;

use super::support::{Setup, WAIT};

fn on_topic<'a>(records: &'a [Value], topic: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["topic"] == topic && !r["value"].is_null()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schema_strategy_with_a_custom_delimiter_names_every_topic_with_it() {
    let mut setup = Setup::new("topic_naming").await;
    setup
        .set("debezium.source.topic.naming.strategy", "io.debezium.schema.SchemaTopicNamingStrategy")
        .set("debezium.source.topic.delimiter", "_")
        .set("debezium.source.schema.name.adjustment.mode", "avro")
        .set("debezium.source.provide.transaction.metadata", "true")
        .set("debezium.source.heartbeat.interval.ms", "100")
        .set("debezium.format.key.schemas.enable", "true")
        .set("debezium.format.value.schemas.enable", "true");
    setup.db.psql(
        "CREATE SCHEMA shop; CREATE TABLE public.orders (id int PRIMARY KEY); CREATE TABLE shop.orders (id int PRIMARY KEY);
         INSERT INTO public.orders VALUES (1); INSERT INTO shop.orders VALUES (1);",
    );
    let sluice = setup.start();
    setup.wait_for_records("both snapshot rows", WAIT, |r| {
        on_topic(r, "test_public_orders").len() == 1 && on_topic(r, "test_shop_orders").len() == 1
    });
    setup.db.psql("INSERT INTO public.orders VALUES (2); INSERT INTO shop.orders VALUES (2);");
    let records = setup.wait_for_records("both streamed rows and a heartbeat", WAIT, |r| {
        on_topic(r, "test_public_orders").len() == 2
            && on_topic(r, "test_shop_orders").len() == 2
            && r.iter().any(|r| r["topic"] == "__debezium-heartbeat_test")
    });
    sluice.stop();
    for schema in ["public", "shop"] {
        let topic = format!("test_{schema}_orders");
        let rows = on_topic(&records, &topic);
        assert_eq!(rows[0]["value"]["payload"]["op"], "r");
        assert_eq!(rows[1]["value"]["payload"]["op"], "c");
        assert_eq!(rows[1]["value"]["payload"]["source"]["schema"], schema);
        assert_eq!(rows[1]["key"]["schema"]["name"], format!("{topic}.Key"));
        assert_eq!(rows[1]["value"]["schema"]["name"], format!("{topic}.Envelope"));
        assert_eq!(rows[1]["value"]["schema"]["fields"][0]["name"], format!("{topic}.Value"));
    }
    assert!(records.iter().any(|r| r["topic"] == "test_transaction"), "transaction metadata on test_transaction");
    assert!(
        !records.iter().any(|r| r["topic"].as_str().is_some_and(|t| t.starts_with("test.public"))),
        "no topic keeps the default delimiter"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_strategy_names_topics_by_prefix_and_table() {
    let mut setup = Setup::new("topic_naming_default").await;
    setup.set("debezium.source.topic.naming.strategy", "io.debezium.schema.DefaultTopicNamingStrategy");
    setup.db.psql("CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1);");
    let sluice = setup.start();
    setup.wait_for_records("the snapshot row", WAIT, |r| on_topic(r, "test.orders").len() == 1);
    setup.db.psql("INSERT INTO orders VALUES (2);");
    let records = setup.wait_for_records("the streamed row", WAIT, |r| on_topic(r, "test.orders").len() == 2);
    sluice.stop();
    assert_eq!(on_topic(&records, "test.orders")[1]["value"]["op"], "c");
}
