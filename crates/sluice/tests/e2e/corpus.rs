//! The public configurations of `crates/sluice/tests/corpus/` that start (see `src/connect/corpus.rs`), run end to
//! end as their users would run them: each connector JSON PUT unchanged to `sluice connect` — except where it points
//! (host, port, user, password, database) and its slot name, since slots are cluster-wide and the examples share one
//! cluster here — against the tables its example creates, with a real Kafka-protocol broker read back by librdkafka.
//! Each must yield the event its example's documentation shows: on the topic it names, with the fields it reads.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sluice_testkit::kafka::Broker;

use super::kafka::Reader;
use super::support::{http, wait_for_listener, WAIT};

/// One example: its corpus file, the tables (and rows) its example creates, the topic its documentation reads and
/// what one record there must show.
struct Example {
    file: &'static str,
    sql: &'static str,
    topic: &'static str,
    shows: fn(&Value) -> bool,
}

/// The envelope, with or without `schemas.enable` (`{"schema", "payload"}`).
fn payload(value: &Value) -> &Value {
    value.get("payload").filter(|_| value.get("schema").is_some()).unwrap_or(value)
}

fn after(record: &Value) -> &Value {
    &payload(&record["value"])["after"]
}

const CUSTOMERS: &str = "CREATE SCHEMA inventory;
    CREATE TABLE inventory.customers (id int PRIMARY KEY, first_name text NOT NULL, last_name text, email text);
    INSERT INTO inventory.customers VALUES (1001, 'Sally', 'Thomas', 'sally.thomas@acme.com');";

const EXAMPLES: &[Example] = &[
    // The tutorial: `dbserver1.inventory.customers`, a snapshot read of Sally Thomas (with schemas, as its worker).
    Example {
        file: "debezium-examples__tutorial__register-postgres.json",
        sql: CUSTOMERS,
        topic: "dbserver1.inventory.customers",
        shows: |r| r["value"]["schema"].is_object() && after(r)["first_name"] == "Sally" && payload(&r["value"])["op"] == "r",
    },
    Example {
        file: "debezium-examples__kafka-ssl__register-postgres.json",
        sql: CUSTOMERS,
        topic: "dbserver1.inventory.customers",
        shows: |r| after(r)["email"] == "sally.thomas@acme.com",
    },
    Example {
        file: "debezium-examples__podman__postgres-connector.json",
        sql: CUSTOMERS,
        topic: "postgres.inventory.customers",
        shows: |r| after(r)["id"] == 1001,
    },
    // kstreams-fk-join turns schemas off: the envelope is the whole value.
    Example {
        file: "debezium-examples__kstreams-fk-join__register-postgres.json",
        sql: CUSTOMERS,
        topic: "dbserver1.inventory.customers",
        shows: |r| r["value"]["after"]["last_name"] == "Thomas" && r["key"] == json!({"id": 1001}),
    },
    // The outbox example: `${routedByValue}.events` by aggregatetype, the type as the `eventType` header.
    Example {
        file: "debezium-examples__outbox__register-postgres.json",
        sql: "CREATE SCHEMA inventory;
            CREATE TABLE inventory.outboxevent (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL,
                aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb);
            INSERT INTO inventory.outboxevent VALUES
                ('7a8e4f1c-0000-4000-8000-000000000001', 'order', '1', 'OrderCreated', '{\"id\": 1}');",
        topic: "order.events",
        shows: |r| r["headers"]["eventType"] == "OrderCreated" && r["headers"]["id"].is_string(),
    },
    // The saga's order service: `${routedByValue}.request`, string converters (the payload as it was written).
    Example {
        file: "debezium-examples__saga__register-order-connector.json",
        sql: "CREATE SCHEMA purchaseorder;
            CREATE TABLE purchaseorder.outboxevent (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL,
                aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb);
            INSERT INTO purchaseorder.outboxevent VALUES
                ('7a8e4f1c-0000-4000-8000-000000000002', 'payment', '2', 'REQUEST', '{\"order-id\": 2}');",
        topic: "payment.request",
        shows: |r| r["value"]["order-id"] == 2 && r["raw_key"] == "2",
    },
    // The saga's state table, unwrapped to the row, schemas off.
    Example {
        file: "debezium-examples__saga__register-sagastate-connector.json",
        sql: "CREATE SCHEMA purchaseorder;
            CREATE TABLE purchaseorder.sagastate (id uuid PRIMARY KEY, currentstep varchar(255), payload text,
                sagastatus varchar(255), stepstatus varchar(255), type varchar(255), version int);
            INSERT INTO purchaseorder.sagastate VALUES
                ('7a8e4f1c-0000-4000-8000-000000000003', 'credit-approval', '{}', 'STARTED', '{}', 'order-placement', 0);",
        topic: "dbserver4.purchaseorder.sagastate",
        shows: |r| r["value"]["sagastatus"] == "STARTED" && r["value"].get("after").is_none(),
    },
    Example {
        file: "debezium-examples__auditlog__register-postgres.json",
        sql: "CREATE SCHEMA inventory;
            CREATE TABLE inventory.vegetable (id int PRIMARY KEY, name text NOT NULL, description text);
            CREATE TABLE inventory.transaction_context_data (transaction_id bigint PRIMARY KEY, user_name text);
            INSERT INTO inventory.vegetable VALUES (1, 'Potato', 'Spud');",
        topic: "dbserver1.inventory.vegetable",
        shows: |r| after(r)["name"] == "Potato",
    },
    // distributed-caching: decimals as strings.
    Example {
        file: "debezium-examples__distributed-caching__register-postgres.json",
        sql: "CREATE SCHEMA inventory;
            CREATE TABLE inventory.purchaseorder (id bigint PRIMARY KEY, customer text, order_date timestamp);
            CREATE TABLE inventory.orderline (id bigint PRIMARY KEY, order_id bigint, product text, quantity int,
                price numeric(19, 2));
            INSERT INTO inventory.orderline VALUES (1, 1, 'Debezium in Action', 2, 39.99);",
        topic: "dbserver1.inventory.orderline",
        shows: |r| after(r)["price"] == "39.99",
    },
    Example {
        file: "debezium-examples__kstreams-live-update__pgsql-source.json",
        sql: "CREATE SCHEMA inventory;
            CREATE TABLE inventory.categories (id bigint PRIMARY KEY, name text, average_price bigint);
            CREATE TABLE inventory.orders (id bigint PRIMARY KEY, category_id bigint, sales_price bigint);
            INSERT INTO inventory.categories VALUES (1, 'Toys', 20);",
        topic: "dbserver1.inventory.categories",
        shows: |r| after(r)["name"] == "Toys",
    },
    // No include list: every table of the database.
    Example {
        file: "debezium-examples__postgres-toast__debezium-source.json",
        sql: "CREATE TABLE customers (id int PRIMARY KEY, name text, biography text);
            INSERT INTO customers VALUES (1, 'Ann', repeat('long story ', 1000));",
        topic: "dbserver1.public.customers",
        shows: |r| after(r)["biography"].as_str().is_some_and(|b| b.len() == 11_000),
    },
    Example {
        file: "debezium-examples__db-activity-monitoring__postgres-activity-monitoring.json",
        sql: CUSTOMERS,
        topic: "monitoring.inventory.customers",
        shows: |r| after(r)["id"] == 1001,
    },
    // cqrs: ByLogicalTableRouter turns `polls.public.pollentity` into `pollentity`, the physical table in the key.
    Example {
        file: "debezium-examples__cqrs__postgres-source.json",
        sql: "CREATE TABLE pollentity (id bigint PRIMARY KEY, question text);
            CREATE TABLE optionentity (id bigint PRIMARY KEY, text text);
            CREATE TABLE pollentity_optionentity (pollentity_id bigint, options_id bigint, PRIMARY KEY (pollentity_id, options_id));
            CREATE TABLE pollentity_voteentity (pollentity_id bigint, votes_id bigint, PRIMARY KEY (pollentity_id, votes_id));
            CREATE TABLE voteentity (id bigint PRIMARY KEY, option_id bigint);
            INSERT INTO pollentity VALUES (1, 'Tabs or spaces?');",
        topic: "pollentity",
        shows: |r| {
            after(r)["question"] == "Tabs or spaces?"
                && payload(&r["key"])["__dbz__physicalTableIdentifier"] == "polls.public.pollentity"
        },
    },
    Example {
        file: "debezium-examples__topic-auto-create__connector.json",
        sql: "CREATE SCHEMA inventory;
            CREATE TABLE inventory.products (id int PRIMARY KEY, name text, weight float8);
            INSERT INTO inventory.products VALUES (101, 'scooter', 3.14);",
        topic: "dbserver1.inventory.products",
        shows: |r| after(r)["name"] == "scooter",
    },
    Example {
        file: "jianjustin-tutorial__demos__cdc__README.md.json",
        sql: "CREATE TABLE orders (id serial PRIMARY KEY, item text, amount numeric(10, 2));
            INSERT INTO orders (item, amount) VALUES ('book', 12.50);",
        topic: "pgdemo.public.orders",
        shows: |r| after(r)["item"] == "book",
    },
    // `topic.prefix` ends in a dash; Debezium joins with a dot all the same.
    Example {
        file: "yaperos-app-java-codechallenge__init-debezium.sh.json",
        sql: "CREATE TABLE transactions (id uuid PRIMARY KEY, value numeric(12, 2), status text);
            INSERT INTO transactions VALUES ('7a8e4f1c-0000-4000-8000-000000000004', 120, 'pending');",
        topic: "cqrs-.public.transactions",
        shows: |r| after(r)["status"] == "pending",
    },
    // Only `database.server.name` (Debezium 1.x), no `topic.prefix`: the old name is the prefix.
    Example {
        file: "git-raka-docker_kafka_neo4j__postgres-to-kafka.sh.json",
        sql: "CREATE TABLE people (id int PRIMARY KEY, name text); INSERT INTO people VALUES (1, 'Ada');",
        topic: "postgres.public.people",
        shows: |r| r["value"]["after"]["name"] == "Ada",
    },
    // Schemas on, heartbeats every 50 ms.
    Example {
        file: "kadekchrisna-kafka-playground__create-connector-debezium-pgoutput.sh.json",
        sql: "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'Bo');",
        topic: "topic-connect.public.users",
        shows: |r| r["value"]["schema"]["name"] == "topic-connect.public.users.Envelope" && after(r)["name"] == "Bo",
    },
];

/// The corpus files that do not start yet (src/connect/corpus.rs says why, per file): no events to check.
const NOT_STARTING: &[&str] = &[
    "debezium-examples__postgres-failover-slots__inventory-source.json",
    "debezium-examples__machine-learning__tensorflow-mnist__register-postgres.json",
    "debezium-examples__cloudevents__register-postgres-json-json.json",
    "debezium-examples__postgres-kafka-signal__connector.json",
    "debezium-examples__http-signaling-notification__register-postgres.json",
    "debezium-examples__openlinage__debezium-server__config__application.properties",
    "debezium-examples__data-replication__debezium-server__application.properties",
];

#[test]
fn every_starting_corpus_file_has_its_documented_event_checked() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| !NOT_STARTING.contains(&f.as_str()))
        .collect();
    files.sort();
    let mut checked: Vec<String> = EXAMPLES.iter().map(|e| e.file.to_string()).collect();
    checked.sort();
    assert_eq!(files, checked);
}

/// The worker, killed when the test ends however it ends.
struct Connect(std::process::Child);

impl Drop for Connect {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example's connector name (its own, or the file's) and configuration, pointed at `dbname` on the test cluster
/// with its own slot.
fn pointed_at(file: &str, dbname: &str, slot: &str) -> (String, Value) {
    let path = format!("{}/tests/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
    let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut config: Map<String, Value> = body.get("config").unwrap_or(&body).as_object().unwrap().clone();
    let name = [config.get("name"), body.get("name")]
        .into_iter()
        .flatten()
        .find_map(|n| n.as_str())
        .unwrap_or(file.split("__").nth(1).unwrap_or(file))
        .to_string();
    let cluster = sluice_testkit::cluster();
    config.remove("database.password");
    for (key, value) in [
        ("database.hostname", cluster.host.clone()),
        ("database.port", cluster.port.to_string()),
        ("database.user", "postgres".to_string()),
        ("database.dbname", dbname.to_string()),
        ("database.sslmode", "disable".to_string()),
        ("slot.name", slot.to_string()),
    ] {
        config.insert(key.into(), json!(value));
    }
    (name, Value::Object(config))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_public_configuration_that_starts_yields_the_events_its_example_documents() {
    let broker = Broker::memory();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", sluice_testkit::free_port());
    let worker = dir.path().join("worker.properties");
    std::fs::write(
        &worker,
        format!(
            "bootstrap.servers={}\nlisteners=http://{addr}\noffset.storage.file.filename={}\n",
            broker.bootstrap(),
            dir.path().join("connect.offsets").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("connect.log");
    let _connect = Connect(super::support::start_connect(&worker, &log));
    wait_for_listener(&addr);
    let mut names = std::collections::BTreeSet::new();
    for (n, example) in EXAMPLES.iter().enumerate() {
        let db = sluice_testkit::cluster().fresh_database(&format!("corpus_{n}")).await;
        db.psql(example.sql);
        let (mut name, mut config) = pointed_at(example.file, &db.name, &format!("corpus_{}", db.name));
        // Two examples are both `inventory-connector`; in one worker the second gets a suffix.
        if !names.insert(name.clone()) {
            name = format!("{name}-{n}");
            names.insert(name.clone());
            if config.get("name").is_some() {
                config["name"] = json!(name);
            }
        }
        let (code, body) = http(&addr, "PUT", &format!("/connectors/{name}/config"), Some(&config));
        assert!(code == 201 || code == 200, "{}: {code} {body}", example.file);
    }
    let mut reader = Reader::every_topic(&broker.bootstrap());
    let deadline = Instant::now() + WAIT * 2;
    let mut missing: Vec<&Example> = EXAMPLES.iter().collect();
    while !missing.is_empty() {
        reader.poll();
        let records = reader.records();
        missing.retain(|e| !records.iter().any(|r| r["topic"] == e.topic && (e.shows)(r)));
        if Instant::now() > deadline {
            let on_topic = |e: &Example| records.iter().filter(|r| r["topic"] == e.topic).cloned().collect::<Vec<_>>();
            let seen: Vec<(&str, Vec<Value>)> = missing.iter().map(|e| (e.file, on_topic(e))).collect();
            panic!(
                "no documented event from {seen:#?}\ntopics: {:?}\nworker log:\n{}",
                records.iter().map(|r| r["topic"].as_str().unwrap_or("")).collect::<std::collections::BTreeSet<_>>(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
