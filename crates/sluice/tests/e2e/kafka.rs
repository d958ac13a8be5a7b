//! The `kafka` sink end to end: the real binary, a real PostgreSQL and a real Kafka-protocol broker (`nisshi`),
//! read back with a real librdkafka consumer. The consumer assigns partitions directly (no consumer group), so it
//! sees every message from the beginning without waiting for a group to form.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use sluice_testkit::kafka::Broker;

use super::support::{http, wait_for_status, Setup, WAIT};
use super::workload::{acct_state, caught_up, create_tables, journal_ids, verify, Workload};

const KEYS: u32 = 40;
/// Between the workload's transactions: a few hundred a second, so reading everything back stays quick.
const PACE: Duration = Duration::from_millis(3);

/// A test's database, broker and Sluice configuration with the kafka sink.
struct KafkaSetup {
    setup: Setup,
    broker: Broker,
    reader: Reader,
}

impl KafkaSetup {
    async fn new(prefix: &str, broker: Broker) -> KafkaSetup {
        let mut setup = Setup::new(prefix).await;
        setup.properties.remove("debezium.sink.file.path");
        setup
            .set("debezium.sink.type", "kafka")
            .set("debezium.sink.kafka.producer.bootstrap.servers", &broker.bootstrap())
            .set("debezium.sink.kafka.producer.linger.ms", "0")
            .set(
                "debezium.sink.kafka.producer.key.serializer",
                "org.apache.kafka.common.serialization.StringSerializer",
            );
        let reader = Reader::new(&broker.bootstrap());
        KafkaSetup { setup, broker, reader }
    }

    fn records(&mut self) -> Vec<Value> {
        self.reader.poll();
        self.reader.records().to_vec()
    }

    fn wait_for_records(&mut self, what: &str, timeout: Duration, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut first = true;
        loop {
            // The predicate is only worth re-checking when something new arrived.
            if self.reader.poll() || std::mem::take(&mut first) {
                let records = self.reader.records();
                if pred(records) {
                    return records.to_vec();
                }
            }
            let records = self.reader.records();
            if Instant::now() > deadline {
                let logs: Vec<String> = std::fs::read_dir(self.setup.dir.path())
                    .unwrap()
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("sluice-"))
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect();
                let tail: String = logs.concat().lines().rev().take(40).collect::<Vec<_>>().join("\n");
                panic!(
                    "timed out waiting for {what}; {} records so far; Sluice's last log lines (newest first):\n{tail}",
                    records.len()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn topic_records(&mut self, topic: &str) -> Vec<Value> {
        self.records().into_iter().filter(|r| r["topic"] == topic).collect()
    }

    fn wait_for_topic_records(&mut self, topic: &str, n: usize) -> Vec<Value> {
        let records = self.wait_for_records(&format!("{n} records on {topic}"), WAIT, |r| {
            r.iter().filter(|r| r["topic"] == topic).count() >= n
        });
        records.into_iter().filter(|r| r["topic"] == topic).collect()
    }
}

/// Whether the records show the final state of `acct` and every surviving journal row: partitions are read one
/// after another, so one table being complete says nothing about another.
fn complete(records: &[Value], state: &BTreeMap<i64, i64>, journal: &std::collections::BTreeSet<i64>) -> bool {
    let delivered: HashSet<i64> = records
        .iter()
        .filter(|r| r["topic"] == "test.public.journal" && !r["value"].is_null())
        .filter_map(|r| r["value"]["after"]["id"].as_i64())
        .collect();
    caught_up(records, state) && journal.iter().all(|id| delivered.contains(id))
}

/// Everything in the broker's `test.*` topics, read partition by partition, as the file sink's JSON shape:
/// `{"topic", "partition", "key", "value", "headers"}` (key and value parsed as JSON; null for a null value).
pub(super) struct Reader {
    consumer: BaseConsumer,
    /// Reads every topic but the broker's and Sluice's internal ones (`_…`), not only `test.*` and `outbox.*`.
    every_topic: bool,
    assigned: HashSet<(String, i32)>,
    by_partition: BTreeMap<(String, i32), Vec<Value>>,
    /// `by_partition` flattened, rebuilt when something new arrived.
    flat: Vec<Value>,
}

impl Reader {
    /// Reads `test.*` and `outbox.*` topics.
    fn new(bootstrap: &str) -> Reader {
        Reader { every_topic: false, ..Reader::every_topic(bootstrap) }
    }

    /// Reads every topic whose name does not start with `_`.
    pub(super) fn every_topic(bootstrap: &str) -> Reader {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "sluice-tests")
            .set("enable.auto.commit", "false")
            .set("topic.metadata.refresh.interval.ms", "500")
            .create()
            .expect("create a consumer");
        Reader {
            consumer,
            every_topic: true,
            assigned: HashSet::new(),
            by_partition: BTreeMap::new(),
            flat: Vec::new(),
        }
    }

    /// Assigns partitions of `test.*` topics it has not seen yet, then reads what is there; says whether anything
    /// new arrived.
    pub(super) fn poll(&mut self) -> bool {
        let mut new = false;
        if let Ok(metadata) = self.consumer.fetch_metadata(None, Duration::from_secs(5)) {
            let mut list = TopicPartitionList::new();
            let wanted = |name: &str| match self.every_topic {
                true => !name.starts_with('_'),
                false => name.starts_with("test.") || name.starts_with("outbox."),
            };
            for topic in metadata.topics().iter().filter(|t| wanted(t.name())) {
                for p in topic.partitions() {
                    if self.assigned.insert((topic.name().to_string(), p.id())) {
                        list.add_partition_offset(topic.name(), p.id(), Offset::Beginning).unwrap();
                    }
                }
            }
            if list.count() > 0 {
                self.consumer.incremental_assign(&list).expect("assign partitions");
            }
        }
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let headers: serde_json::Map<String, Value> = m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|h| {
                                    (h.key.to_string(), json!(String::from_utf8_lossy(h.value.unwrap_or_default())))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    // Keys and values that are not JSON (string and binary converters) read as null here.
                    let parse =
                        |b: Option<&[u8]>| b.map_or(Value::Null, |b| serde_json::from_slice(b).unwrap_or(Value::Null));
                    let record = json!({
                        "topic": m.topic(),
                        "partition": m.partition(),
                        "key": parse(m.key()),
                        "value": parse(m.payload()),
                        "headers": headers,
                        "raw_key": m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                        "raw_value_hex": m.payload().map(|v| v.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                    });
                    self.by_partition.entry((m.topic().to_string(), m.partition())).or_default().push(record);
                    new = true;
                }
                // The broker may be down on purpose; the consumer reconnects by itself.
                Some(Err(_)) => std::thread::sleep(Duration::from_millis(50)),
                None => break,
            }
        }
        if new {
            self.flat = self.by_partition.values().flatten().cloned().collect();
        }
        new
    }

    /// All records, partition after partition (order is only defined within a partition, as in Kafka).
    pub(super) fn records(&self) -> &[Value] {
        &self.flat
    }
}

/// Kafka's `Utils.murmur2`, the hash of the Java client's default partitioner.
fn murmur2(key: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    let mut h = SEED ^ key.len() as u32;
    let chunks = key.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition a JVM producer picks for a keyed record: `toPositive(murmur2(key)) % partitions`.
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

#[test]
fn the_reference_murmur2_matches_kafkas_own_test_vectors() {
    for (key, hash) in [
        ("21", -973932308),
        ("foobar", -790332482),
        ("a-little-bit-long-string", -985981536),
        ("a-little-bit-longer-string", -1486304829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        ("abc", 479470107),
    ] {
        assert_eq!(murmur2(key.as_bytes()), hash, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_and_streamed_events_reach_kafka_with_keys_values_headers_and_tombstones() {
    let mut k = KafkaSetup::new("kafka_events", Broker::memory()).await;
    // One partition, created by Sluice, so the whole topic is in commit order.
    k.setup
        .set("debezium.source.topic.creation.default.partitions", "1")
        .set("debezium.source.topic.creation.default.replication.factor", "1")
        .set("debezium.source.topic.creation.default.cleanup.policy", "compact");
    k.setup
        .db
        .psql("CREATE TABLE item (id int PRIMARY KEY, name text); INSERT INTO item VALUES (1, 'one'), (2, 'two');");
    let mut sluice = k.setup.start();
    k.wait_for_records("the snapshot", WAIT, |r| r.len() >= 2);
    sluice.wait_for_log("streaming started", WAIT);
    k.setup.db.psql(
        "INSERT INTO item VALUES (3, 'three'); UPDATE item SET name = 'uno' WHERE id = 1; DELETE FROM item WHERE id = 2;
         UPDATE item SET id = 30 WHERE id = 3;",
    );
    // r r, c, u, d + tombstone, key change: d + tombstone + c.
    let records = k.wait_for_records("every change", WAIT, |r| r.len() >= 9);
    sluice.stop();
    assert!(records.iter().all(|r| r["topic"] == "test.public.item"), "{records:?}");
    let ops: Vec<(Value, Value)> = records
        .iter()
        .map(|r| {
            (r["key"]["id"].clone(), if r["value"].is_null() { json!("tombstone") } else { r["value"]["op"].clone() })
        })
        .collect();
    let expected: Vec<(Value, Value)> =
        [(1, "r"), (2, "r"), (3, "c"), (1, "u"), (2, "d"), (2, "tombstone"), (3, "d"), (3, "tombstone"), (30, "c")]
            .iter()
            .map(|(id, op)| (json!(id), json!(op)))
            .collect();
    assert_eq!(ops, expected, "one partition, so commit order");
    let update = &records[3]["value"];
    assert_eq!(update["after"], json!({"id": 1, "name": "uno"}));
    assert_eq!(update["source"]["table"], "item");
    let tombstone = &records[5];
    assert!(tombstone["value"].is_null() && tombstone["key"] == json!({"id": 2}), "a real null-value message");
    let moved = &records[8];
    assert_eq!(moved["headers"]["__debezium.oldkey"], json!("{\"id\":3}"), "{moved}");
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_creation_groups_give_matching_topics_their_own_partitions() {
    let mut k = KafkaSetup::new("kafka_groups", Broker::memory()).await;
    // debezium/debezium-examples topic-auto-create/connector.json's shape: a default group and one named group.
    k.setup
        .set("debezium.source.topic.creation.default.partitions", "1")
        .set("debezium.source.topic.creation.default.replication.factor", "1")
        .set("debezium.source.topic.creation.groups", "wide")
        .set("debezium.source.topic.creation.wide.include", "test\\.public\\.wide.*")
        .set("debezium.source.topic.creation.wide.exclude", "test\\.public\\.wide_but_not")
        .set("debezium.source.topic.creation.wide.partitions", "3");
    k.setup.db.psql(
        "CREATE TABLE wide (id int PRIMARY KEY); CREATE TABLE wide_but_not (id int PRIMARY KEY);
         CREATE TABLE narrow (id int PRIMARY KEY);
         INSERT INTO wide VALUES (1); INSERT INTO wide_but_not VALUES (1); INSERT INTO narrow VALUES (1);",
    );
    let sluice = k.setup.start();
    k.wait_for_records("a row of each table", WAIT, |r| r.len() >= 3);
    sluice.stop();
    let partitions = |topic: &str| {
        let metadata = k.reader.consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).unwrap();
        metadata.topics()[0].partitions().len()
    };
    assert_eq!(partitions("test.public.wide"), 3, "the group's");
    assert_eq!(partitions("test.public.wide_but_not"), 1, "excluded from the group: the default's");
    assert_eq!(partitions("test.public.narrow"), 1, "the default's");
}

#[tokio::test(flavor = "multi_thread")]
async fn per_key_order_holds_across_four_partitions_chosen_like_the_java_client() {
    let mut k = KafkaSetup::new("kafka_order", Broker::memory()).await;
    k.setup
        .set("debezium.source.topic.creation.default.partitions", "4")
        .set("debezium.source.topic.creation.default.replication.factor", "-1");
    create_tables(&k.setup.db, KEYS);
    let sluice = k.setup.start();
    k.wait_for_records("the snapshot", WAIT, |r| r.len() >= KEYS as usize);
    let workload = Workload::paced(&k.setup.db, KEYS, PACE).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    workload.finish().await;
    let state = acct_state(&k.setup.db).await;
    let journal = journal_ids(&k.setup.db).await;
    let records = k.wait_for_records("the final state", WAIT, |r| complete(r, &state, &journal));
    sluice.stop();
    verify(&records, &state, &journal);

    let mut partitions_of_key: HashMap<String, HashSet<i64>> = HashMap::new();
    for r in records.iter().filter(|r| r["topic"] == "test.public.acct") {
        let key = r["raw_key"].as_str().unwrap().to_string();
        let partition = r["partition"].as_i64().unwrap();
        assert_eq!(partition, java_partition(key.as_bytes(), 4) as i64, "key {key} is where a JVM producer puts it");
        partitions_of_key.entry(key).or_default().insert(partition);
    }
    let used: HashSet<i64> = partitions_of_key.values().flatten().copied().collect();
    assert_eq!(used.len(), 4, "40 keys spread over all four partitions");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_stream_then_restart_loses_nothing_in_kafka() {
    let mut k = KafkaSetup::new("kafka_crash", Broker::memory()).await;
    k.setup
        .set("debezium.source.topic.creation.default.partitions", "4")
        .set("debezium.source.topic.creation.default.replication.factor", "1");
    create_tables(&k.setup.db, KEYS);
    let env = [("SLUICE_TEST_MAX_BATCH", "7")];
    let sluice = k.setup.start_with_env(&env);
    k.wait_for_records("the snapshot", WAIT, |r| r.len() >= KEYS as usize);
    let workload = Workload::paced(&k.setup.db, KEYS, PACE).await;
    let mut sluice = Some(sluice);
    for round in 1..=3 {
        let have = k.records().len();
        k.wait_for_records(&format!("progress before kill {round}"), WAIT, |r| r.len() >= have + 200);
        sluice.take().unwrap().kill9();
        sluice = Some(k.setup.start_with_env(&env));
    }
    workload.finish().await;
    let state = acct_state(&k.setup.db).await;
    let journal = journal_ids(&k.setup.db).await;
    let records = k.wait_for_records("the final state", WAIT, |r| complete(r, &state, &journal));
    sluice.take().unwrap().stop();
    verify(&records, &state, &journal);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_outage_blocks_the_flush_lsn_and_loses_nothing_once_the_broker_is_back() {
    let mut k = KafkaSetup::new("kafka_outage", Broker::persistent()).await;
    create_tables(&k.setup.db, KEYS);
    let mut sluice = k.setup.start();
    k.wait_for_records("the snapshot", WAIT, |r| r.len() >= KEYS as usize);
    sluice.wait_for_log("streaming started", WAIT);
    let workload = Workload::paced(&k.setup.db, KEYS, PACE).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    k.broker.kill();
    let client = k.setup.db.client().await;
    let down_at: i64 = client.query_one("SELECT (pg_current_wal_lsn() - '0/0')::bigint", &[]).await.unwrap().get(0);
    // Committed while the broker is down: none of it may be confirmed to PostgreSQL until the broker has it.
    let mut max_confirmed = 0;
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        max_confirmed = max_confirmed.max(k.setup.confirmed_flush_lsn().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    workload.finish().await;
    assert!(
        max_confirmed <= down_at as u64,
        "the slot was confirmed to {max_confirmed:X} past {down_at:X} while the broker was down"
    );

    k.broker.restart();
    let state = acct_state(&k.setup.db).await;
    let journal = journal_ids(&k.setup.db).await;
    let records = k.wait_for_records("the final state after the outage", WAIT, |r| complete(r, &state, &journal));
    let end: i64 = client.query_one("SELECT (pg_current_wal_lsn() - '0/0')::bigint", &[]).await.unwrap().get(0);
    sluice.stop();
    verify(&records, &state, &journal);
    assert!(k.setup.confirmed_flush_lsn().await > down_at as u64, "the flush LSN moves on once delivered");
    assert!(end > down_at, "the workload went on during the outage");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_broker_at_start_is_named_with_the_hint_and_retried() {
    let mut k = KafkaSetup::new("kafka_unreachable", Broker::memory()).await;
    let nowhere = format!("127.0.0.1:{}", sluice_testkit::free_port());
    k.setup.set("debezium.sink.kafka.producer.bootstrap.servers", &nowhere);
    create_tables(&k.setup.db, KEYS);
    let mut sluice = k.setup.start();
    // The sink's health check fails the run before any batch: named, with the policy's hint, then retried.
    sluice.wait_for_log(&format!("no Kafka broker at {nowhere} answered"), WAIT);
    sluice.wait_for_log("nothing is confirmed to PostgreSQL until it is delivered", WAIT);
    sluice.wait_for_log("asking again", WAIT);
    // Asked again with back-off, and a shutdown meanwhile is clean.
    sluice.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_over_the_size_limit_stops_sluice_naming_the_topic_without_confirming_it() {
    let mut k = KafkaSetup::new("kafka_too_large", Broker::memory()).await;
    k.setup.db.psql("CREATE TABLE doc (id int PRIMARY KEY, body text)");
    let mut sluice = k.setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    k.setup.db.psql("INSERT INTO doc VALUES (1, 'small')");
    k.wait_for_records("the small row", WAIT, |r| r.len() == 1);
    // Everything before the oversized row may be confirmed (the small row, keepalives, other databases' WAL on the
    // shared cluster); not the row's own transaction, whose WAL ends after `written`.
    // Over librdkafka's default message.max.bytes (1,000,000, as the brokers' default): incompressible text.
    let written: u64 = k
        .setup
        .db
        .psql(
            "BEGIN; INSERT INTO doc SELECT 2, string_agg(md5(g::text), '') FROM generate_series(1, 40000) g;
             SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint; COMMIT;",
        )
        .trim()
        .parse()
        .unwrap();
    let code = sluice.wait_exit(WAIT);
    let log = sluice.log();
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("`test.public.doc`") && log.contains("message.max.bytes"), "{log}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let confirmed = k.setup.confirmed_flush_lsn().await;
    assert!(confirmed < written, "confirmed {confirmed:X} is past the undelivered record's transaction ({written:X})");
    assert_eq!(k.records().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_producer_key_librdkafka_rejects_is_a_configuration_error_naming_it() {
    let mut k = KafkaSetup::new("kafka_bad_key", Broker::memory()).await;
    k.setup.set("debezium.sink.kafka.producer.lingr.ms", "5");
    let (code, log) = k.setup.run_to_exit(WAIT);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("debezium.sink.kafka.producer.lingr.ms"), "{log}");
}

/// `sluice connect` with a worker file, its log in the test's directory.
fn start_connect(setup: &Setup, worker: &std::path::Path) -> std::process::Child {
    super::support::start_connect(worker, &setup.dir.path().join(format!("sluice-connect-{}.log", std::process::id())))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_debezium_connector_json_put_to_the_rest_api_runs_and_is_managed_like_kafka_connect() {
    let mut k = KafkaSetup::new("kafka_connect_api", Broker::memory()).await;
    k.setup.db.psql(
        "CREATE TABLE outboxevent (id uuid PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload bytea);",
    );
    let dir = k.setup.dir.path().to_path_buf();
    std::fs::write(dir.join("secrets.properties"), "password=not-needed-with-trust\n").unwrap();
    let port = sluice_testkit::free_port();
    let addr = format!("127.0.0.1:{port}");
    let worker = dir.join("worker.properties");
    std::fs::write(
        &worker,
        format!(
            "bootstrap.servers={}\nlisteners=http://{addr}\noffset.storage.file.filename={}\n\
             config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
             config.providers.file.param.allowed.paths={}\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n",
            k.broker.bootstrap(),
            dir.join("connect.offsets").display(),
            dir.display()
        ),
    )
    .unwrap();
    let db = &k.setup.db;
    let connector = json!({
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "database.hostname": db.cluster.host,
        "database.port": db.cluster.port.to_string(),
        "database.user": "postgres",
        "database.password": format!("${{file:{}:password}}", dir.join("secrets.properties").display()),
        "database.dbname": db.name,
        "database.sslmode": "disable",
        "topic.prefix": "pg",
        "slot.name": format!("slot_{}", db.name),
        "table.include.list": "public.outboxevent",
        "publication.autocreate.mode": "filtered",
        "snapshot.mode": "no_data",
        "tombstones.on.delete": "false",
        "transforms": "outbox",
        "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
        "transforms.outbox.route.by.field": "aggregatetype",
        "transforms.outbox.table.field.event.key": "aggregateid",
        "value.converter": "io.debezium.converters.BinaryDataConverter",
        "producer.override.compression.type": "zstd",
        "producer.override.linger.ms": "0"
    });
    let mut process = start_connect(&k.setup, &worker);
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "the REST API never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(http(&addr, "GET", "/", None).0, 200);
    let (code, body) = http(&addr, "GET", "/connector-plugins", None);
    assert!(code == 200 && body.contains("io.debezium.connector.postgresql.PostgresConnector"), "{body}");

    let (code, body) = http(&addr, "PUT", "/connectors/pg-outbox/config", Some(&connector));
    assert_eq!(code, 201, "{body}");
    let (code, _) = http(&addr, "PUT", "/connectors/pg-outbox/config", Some(&connector));
    assert_eq!(code, 200, "the Helm hook's repeated PUT is idempotent");
    wait_for_status(&addr, "pg-outbox", "RUNNING");
    let (_, config) = http(&addr, "GET", "/connectors/pg-outbox/config", None);
    assert!(!config.contains("not-needed-with-trust"), "no secret in responses: {config}");

    let insert = |n: u32| {
        format!(
            "INSERT INTO outboxevent VALUES (gen_random_uuid(), 'Order', 'order-{n}', 'OrderPlaced', '\\x0a0b{n:02x}')"
        )
    };
    let deadline = Instant::now() + WAIT;
    // The slot may still be being created right after RUNNING: insert once streaming surely runs.
    loop {
        let (_, body) = http(&addr, "GET", "/metrics", None);
        if body.contains("sluice_connected{connector=\"pg-outbox\"} 1") {
            break;
        }
        assert!(Instant::now() < deadline, "never connected:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    k.setup.db.psql(&insert(1));
    let records = k.wait_for_topic_records("outbox.event.Order", 1);
    assert_eq!(records[0]["raw_key"], "order-1");
    assert_eq!(records[0]["raw_value_hex"], "0a0b01", "BinaryDataConverter: the bytes untouched");

    assert_eq!(http(&addr, "PUT", "/connectors/pg-outbox/pause", None).0, 202);
    wait_for_status(&addr, "pg-outbox", "PAUSED");
    k.setup.db.psql(&insert(2));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(k.topic_records("outbox.event.Order").len(), 1, "nothing flows while paused");
    assert_eq!(http(&addr, "PUT", "/connectors/pg-outbox/resume", None).0, 202);
    wait_for_status(&addr, "pg-outbox", "RUNNING");
    k.wait_for_topic_records("outbox.event.Order", 2);
    assert_eq!(http(&addr, "POST", "/connectors/pg-outbox/restart", None).0, 204);
    wait_for_status(&addr, "pg-outbox", "RUNNING");

    // The configuration survives a restart of Sluice.
    std::process::Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap();
    assert!(process.wait().unwrap().success());
    process = start_connect(&k.setup, &worker);
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "the REST API never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, list) = http(&addr, "GET", "/connectors", None);
    assert_eq!(serde_json::from_str::<Value>(&list).unwrap(), json!(["pg-outbox"]));
    wait_for_status(&addr, "pg-outbox", "RUNNING");
    k.setup.db.psql(&insert(3));
    k.wait_for_topic_records("outbox.event.Order", 3);

    // An invalid configuration: Kafka Connect's error shape, naming the key.
    let mut bad = connector.clone();
    bad["snapshot.mode"] = json!("sometimes");
    let (code, body) = http(&addr, "PUT", "/connectors/bad/config", Some(&bad));
    assert_eq!(code, 400, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error_code"], 400);
    assert!(error["message"].as_str().unwrap().contains("`snapshot.mode` = `sometimes` is not valid"), "{error}");

    assert_eq!(http(&addr, "PUT", "/connectors/pg-outbox/stop", None).0, 204);
    wait_for_status(&addr, "pg-outbox", "STOPPED");
    let (code, offsets) = http(&addr, "GET", "/connectors/pg-outbox/offsets", None);
    assert!(code == 200 && offsets.contains("\"server\":\"pg\""), "{offsets}");
    assert_eq!(http(&addr, "DELETE", "/connectors/pg-outbox", None).0, 204);
    let (code, body) = http(&addr, "GET", "/connectors/pg-outbox/status", None);
    assert_eq!(code, 404);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error_code"], 404);
    std::process::Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap();
    assert!(process.wait().unwrap().success());
}

/// A worker file for the test's broker, listening on a free loopback port: (REST address, worker file).
fn connect_worker(k: &KafkaSetup, extra: &str) -> (String, std::path::PathBuf) {
    let dir = k.setup.dir.path();
    let addr = format!("127.0.0.1:{}", sluice_testkit::free_port());
    let worker = dir.join("worker.properties");
    let offsets = dir.join("connect.offsets");
    let text = format!(
        "bootstrap.servers={}\nlisteners=http://{addr}\noffset.storage.file.filename={}\n{extra}",
        k.broker.bootstrap(),
        offsets.display()
    );
    std::fs::write(&worker, text).unwrap();
    (addr, worker)
}

/// A connector capturing `public.item` of the test's database into `test.*` topics, streaming only.
fn item_connector(setup: &Setup) -> Value {
    let mut config = super::support::connector(setup, &format!("slot_{}", setup.db.name));
    config["topic.prefix"] = json!("test");
    config["table.include.list"] = json!("public.item");
    config["producer.override.linger.ms"] = json!("0");
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_broker_never_holds_up_the_api_and_a_config_update_during_the_stall_runs_once_it_is_back() {
    let mut k = KafkaSetup::new("kafka_connect_stall", Broker::persistent()).await;
    k.setup.db.psql("CREATE TABLE item (id int PRIMARY KEY, name text)");
    let (addr, worker) = connect_worker(&k, "task.shutdown.graceful.timeout.ms=4000\n");
    let mut connector = item_connector(&k.setup);
    connector["slot.retry.delay.ms"] = json!("200");
    let mut process = start_connect(&k.setup, &worker);
    super::support::wait_for_listener(&addr);
    assert_eq!(http(&addr, "PUT", "/connectors/items/config", Some(&connector)).0, 201);
    wait_for_status(&addr, "items", "RUNNING");
    let deadline = Instant::now() + WAIT;
    while !http(&addr, "GET", "/metrics", None).1.contains("sluice_connected{connector=\"items\"} 1") {
        assert!(Instant::now() < deadline, "never connected");
        std::thread::sleep(Duration::from_millis(100));
    }
    k.setup.db.psql("INSERT INTO item VALUES (1, 'before the stall')");
    k.wait_for_topic_records("test.public.item", 1);

    k.broker.kill();
    k.setup.db.psql("INSERT INTO item VALUES (2, 'during the stall')");
    let mut updated = connector.clone();
    updated["producer.override.linger.ms"] = json!("1");
    let started = Instant::now();
    let (code, body) = http(&addr, "PUT", "/connectors/items/config", Some(&updated));
    assert_eq!(code, 200, "{body}");
    // The old pipeline now drains against a dead broker for up to the graceful timeout; the API does not wait.
    let (code, list) = http(&addr, "GET", "/connectors", None);
    assert_eq!((code, list.as_str()), (200, "[\"items\"]"));
    assert_eq!(http(&addr, "GET", "/connectors/items/status", None).0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the API waited {:?} for the stalled pipeline",
        started.elapsed()
    );

    k.broker.restart();
    wait_for_status(&addr, "items", "RUNNING");
    k.wait_for_topic_records("test.public.item", 2);
    k.setup.db.psql("INSERT INTO item VALUES (3, 'after the stall')");
    let records = k.wait_for_topic_records("test.public.item", 3);
    assert!(records.iter().any(|r| r["value"].to_string().contains("after the stall")), "{records:?}");
    let status = wait_for_status(&addr, "items", "RUNNING");
    assert!(status["connector"]["trace"].is_null(), "{status}");
    std::process::Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap();
    assert!(process.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_named_with_an_emoji_and_an_outbox_route_with_a_slash_stream_into_kafka_on_sanitized_topics() {
    let mut k = KafkaSetup::new("kafka_topics", Broker::memory()).await;
    k.setup
        .set("debezium.source.topic.creation.default.partitions", "1")
        .set("debezium.source.topic.creation.default.replication.factor", "1")
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter")
        .set("debezium.transforms.outbox.predicate", "isOutbox")
        .set("debezium.predicates", "isOutbox")
        .set("debezium.predicates.isOutbox.type", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches")
        .set("debezium.predicates.isOutbox.pattern", "test\\\\.public\\\\.outboxevent");
    k.setup.db.psql(
        r#"CREATE TABLE "🚀" (id int PRIMARY KEY, v text); INSERT INTO "🚀" VALUES (1, 'launch');
           CREATE TABLE outboxevent (id uuid PRIMARY KEY, aggregatetype text NOT NULL, aggregateid text NOT NULL,
             type text NOT NULL, payload jsonb);"#,
    );
    let mut sluice = k.setup.start();
    k.wait_for_topic_records("test.public.__", 1);
    sluice.wait_for_log("streaming started", WAIT);
    k.setup.db.psql(
        r#"INSERT INTO "🚀" VALUES (2, 'orbit');
           INSERT INTO outboxevent VALUES ('00000000-0000-0000-0000-000000000001', 'Ord/er ✓', 'o-1', 'Placed', '{"n": 1}');
           INSERT INTO outboxevent VALUES ('00000000-0000-0000-0000-000000000002', 'Ord/er ✓', 'o-2', 'Placed', '{"n": 2}');"#,
    );
    let rockets = k.wait_for_topic_records("test.public.__", 2);
    assert_eq!(rockets[1]["value"]["after"], json!({"id": 2, "v": "orbit"}));
    assert_eq!(rockets[1]["value"]["source"]["table"], "🚀", "the source block keeps the real name");
    let routed = k.wait_for_topic_records("outbox.event.Ord_er__", 2);
    assert_eq!(routed[0]["value"], json!("{\"n\": 1}"), "the jsonb payload, as a Json string");
    assert!(routed[1]["raw_key"].as_str().unwrap().contains("o-2"), "{}", routed[1]);

    // Still running, and still streaming into the same topics.
    k.setup.db.psql(r#"INSERT INTO "🚀" VALUES (3, 'landed');"#);
    k.wait_for_topic_records("test.public.__", 3);
    let log = sluice.log();
    assert_eq!(log.matches("is not a valid Kafka topic name").count(), 2, "once per table and route:\n{log}");
    sluice.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_connectors_one_unreachable_have_their_own_state_readiness_and_metrics_labelled_apart() {
    let mut k = KafkaSetup::new("kafka_connect_two", Broker::memory()).await;
    k.setup.db.psql("CREATE TABLE item (id int PRIMARY KEY)");
    let (addr, worker) = connect_worker(&k, "");
    let db = &k.setup.db;
    let healthy = item_connector(&k.setup);
    let mut unreachable = healthy.clone();
    unreachable["database.port"] = json!(sluice_testkit::free_port().to_string());
    unreachable["slot.name"] = json!(format!("slot_{}_b", db.name));
    let mut process = start_connect(&k.setup, &worker);
    super::support::wait_for_listener(&addr);
    assert_eq!(http(&addr, "PUT", "/connectors/alpha/config", Some(&healthy)).0, 201);
    assert_eq!(http(&addr, "PUT", "/connectors/beta/config", Some(&unreachable)).0, 201);
    wait_for_status(&addr, "alpha", "RUNNING");
    let deadline = Instant::now() + WAIT;
    while !http(&addr, "GET", "/metrics", None).1.contains("sluice_connected{connector=\"alpha\"} 1") {
        assert!(Instant::now() < deadline, "alpha never connected");
        std::thread::sleep(Duration::from_millis(100));
    }
    k.setup.db.psql("INSERT INTO item VALUES (1)");
    k.wait_for_topic_records("test.public.item", 1);

    let (code, ready) = http(&addr, "GET", "/health/ready", None);
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(code, 503, "one connector cannot reach its database: {ready}");
    assert_eq!(
        ready["checks"],
        json!([{"name": "alpha", "status": "UP"}, {"name": "beta", "status": "DOWN"}]),
        "each connector is a check of its own"
    );
    let deadline = Instant::now() + WAIT;
    loop {
        let metrics = http(&addr, "GET", "/metrics", None).1;
        let counted = metrics
            .lines()
            .any(|l| l.starts_with("sluice_events_total{") && l.contains("connector=\"alpha\"") && l.ends_with(" 1"));
        if counted {
            assert!(!metrics.contains("sluice_connected{connector=\"beta\"} 1"), "{metrics}");
            assert!(!metrics.lines().any(|l| l.starts_with("sluice_connected ")), "no unlabelled series: {metrics}");
            break;
        }
        assert!(Instant::now() < deadline, "alpha's event never counted under its label:\n{metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let beta = wait_for_status(&addr, "beta", "FAILED");
    let trace = beta["connector"]["trace"].as_str().unwrap();
    assert!(trace.contains("hint:") && trace.contains("database.hostname") && trace.contains("retrying"), "{beta}");
    assert_eq!(wait_for_status(&addr, "alpha", "RUNNING")["connector"]["trace"], Value::Null);
    assert_eq!(http(&addr, "DELETE", "/connectors/beta", None).0, 204);
    let deadline = Instant::now() + WAIT;
    while http(&addr, "GET", "/health/ready", None).0 != 200 {
        assert!(Instant::now() < deadline, "ready never came back with only the healthy connector");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::process::Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap();
    assert!(process.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skipped_event_is_counted_in_the_connectors_status() {
    let mut k = KafkaSetup::new("kafka_connect_skip", Broker::memory()).await;
    k.setup.db.psql("CREATE TABLE item (id int PRIMARY KEY, price numeric NOT NULL)");
    let (addr, worker) = connect_worker(&k, "");
    let mut connector = item_connector(&k.setup);
    connector["decimal.handling.mode"] = json!("precise");
    connector["event.processing.failure.handling.mode"] = json!("skip");
    let mut process = start_connect(&k.setup, &worker);
    super::support::wait_for_listener(&addr);
    assert_eq!(http(&addr, "PUT", "/connectors/items/config", Some(&connector)).0, 201);
    let deadline = Instant::now() + WAIT;
    while !http(&addr, "GET", "/metrics", None).1.contains("sluice_connected{connector=\"items\"} 1") {
        assert!(Instant::now() < deadline, "never connected");
        std::thread::sleep(Duration::from_millis(100));
    }
    // NaN has no precise Connect decimal (Debezium cannot encode it either): skipped; the next row still arrives.
    k.setup.db.psql("INSERT INTO item VALUES (1, 'NaN'); INSERT INTO item VALUES (2, 9.5)");
    k.wait_for_topic_records("test.public.item", 1);
    let deadline = Instant::now() + WAIT;
    loop {
        let status: Value = serde_json::from_str(&http(&addr, "GET", "/connectors/items/status", None).1).unwrap();
        if status["connector"]["skipped_events"] == 1 {
            assert_eq!(status["connector"]["state"], "RUNNING", "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "the skip never showed in the status: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::process::Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap();
    assert!(process.wait().unwrap().success());
}

/// Starts a worker for the test's broker with the `items` connector, and waits until it streams: its address and
/// process.
fn start_items(k: &KafkaSetup) -> (String, std::process::Child) {
    start_items_with(k, "")
}

/// [`start_items`] with more worker keys.
fn start_items_with(k: &KafkaSetup, worker_keys: &str) -> (String, std::process::Child) {
    k.setup.db.psql("CREATE TABLE item (id int PRIMARY KEY, name text)");
    let (addr, worker) = connect_worker(k, worker_keys);
    let process = start_connect(&k.setup, &worker);
    super::support::wait_for_listener(&addr);
    assert_eq!(http(&addr, "PUT", "/connectors/items/config", Some(&item_connector(&k.setup))).0, 201);
    wait_for_status(&addr, "items", "RUNNING");
    let deadline = Instant::now() + WAIT;
    while !http(&addr, "GET", "/metrics", None).1.contains("sluice_connected{connector=\"items\"} 1") {
        assert!(Instant::now() < deadline, "never connected");
        std::thread::sleep(Duration::from_millis(100));
    }
    (addr, process)
}

/// `GET /connectors/items/topics`'s list.
fn active_topics(addr: &str) -> Value {
    let (code, body) = http(addr, "GET", "/connectors/items/topics", None);
    assert_eq!(code, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["items"]["topics"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_topics_endpoint_lists_the_topics_a_connector_delivered_to_until_they_are_reset() {
    let mut k = KafkaSetup::new("kafka_connect_topics", Broker::memory()).await;
    let (addr, mut process) = start_items(&k);
    assert_eq!(active_topics(&addr), json!([]), "nothing delivered yet");
    k.setup.db.psql("INSERT INTO item VALUES (1, 'one')");
    k.wait_for_topic_records("test.public.item", 1);
    assert_eq!(active_topics(&addr), json!(["test.public.item"]), "delivered, so listed");

    assert_eq!(http(&addr, "PUT", "/connectors/items/topics/reset", None), (202, String::new()));
    assert_eq!(active_topics(&addr), json!([]));
    k.setup.db.psql("INSERT INTO item VALUES (2, 'two')");
    k.wait_for_topic_records("test.public.item", 2);
    assert_eq!(active_topics(&addr), json!(["test.public.item"]), "listed again once written to again");
    // Kafka Connect answers from its status store without looking the connector up: none, not a 404.
    let (code, body) = http(&addr, "GET", "/connectors/nope/topics", None);
    assert_eq!((code, serde_json::from_str::<Value>(&body).unwrap()), (200, json!({"nope": {"topics": []}})));
    assert_eq!(http(&addr, "PUT", "/connectors/nope/topics/reset", None).0, 202);
    std::process::Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap();
    assert!(process.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_moved_forward_on_a_stopped_connector_skip_the_changes_before_them() {
    let mut k = KafkaSetup::new("kafka_connect_alter_offsets", Broker::memory()).await;
    let (addr, mut process) = start_items(&k);
    k.setup.db.psql("INSERT INTO item VALUES (1, 'delivered')");
    k.wait_for_topic_records("test.public.item", 1);
    assert_eq!(http(&addr, "PUT", "/connectors/items/stop", None).0, 204);
    wait_for_status(&addr, "items", "STOPPED");

    // One key, so one partition: had the skipped change been delivered, it would come before the later one.
    k.setup.db.psql("UPDATE item SET name = 'skipped' WHERE id = 1");
    let client = k.setup.db.client().await;
    let row = client.query_one("SELECT (pg_current_wal_lsn() - '0/0')::bigint", &[]).await.unwrap();
    let lsn = row.get::<_, i64>(0);
    let offsets = json!({"offsets": [{"partition": {"server": "test"}, "offset": {"lsn": lsn}}]});
    let (code, body) = http(&addr, "PATCH", "/connectors/items/offsets", Some(&offsets));
    assert_eq!(code, 200, "{body}");
    k.setup.db.psql("UPDATE item SET name = 'after the move' WHERE id = 1");

    assert_eq!(http(&addr, "PUT", "/connectors/items/resume", None).0, 202);
    wait_for_status(&addr, "items", "RUNNING");
    let records = k.wait_for_topic_records("test.public.item", 2);
    let name = |r: &Value| {
        let value = if r["value"].get("payload").is_some() { &r["value"]["payload"] } else { &r["value"] };
        value["after"]["name"].as_str().unwrap_or_default().to_string()
    };
    let names: Vec<String> = records.iter().map(name).collect();
    assert_eq!(names, ["delivered", "after the move"], "{records:?}");
    std::process::Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap();
    assert!(process.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_with_an_offsets_topic_keeps_connector_offsets_there_for_the_offsets_api() {
    let mut k = KafkaSetup::new("kafka_connect_offsets_topic", Broker::memory()).await;
    let extra =
        "offset.storage.topic=connect-offsets\noffset.storage.partitions=5\noffset.storage.replication.factor=1\n";
    let (addr, mut process) = start_items_with(&k, extra);
    k.setup.db.psql("INSERT INTO item VALUES (1, 'one')");
    k.wait_for_topic_records("test.public.item", 1);
    assert_eq!(http(&addr, "PUT", "/connectors/items/stop", None).0, 204);
    wait_for_status(&addr, "items", "STOPPED");

    let key = r#"["items",{"server":"test"}]"#;
    let stored = super::kafka_offsets::offset_records(&k.broker.bootstrap(), "connect-offsets");
    let (_, last) = stored.iter().rev().find(|(k, _)| k == key).unwrap_or_else(|| panic!("{stored:?}"));
    let last = last.clone().expect("offsets, not a tombstone");
    let (code, body) = http(&addr, "GET", "/connectors/items/offsets", None);
    assert_eq!(code, 200, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        shown,
        json!({"offsets": [{"partition": {"server": "test"}, "offset": last}]}),
        "GET shows the topic's record"
    );
    assert!(last["lsn_commit"].as_u64().is_some_and(|l| l > 0), "{last}");
    let (code, body) = http(&addr, "PATCH", "/connectors/items/offsets", Some(&shown));
    assert_eq!(code, 200, "GET's answer is a valid PATCH body: {body}");
    let stored = super::kafka_offsets::offset_records(&k.broker.bootstrap(), "connect-offsets");
    assert_eq!(stored.last(), Some(&(key.to_string(), Some(last.clone()))), "written back to the topic as it was");

    assert_eq!(http(&addr, "DELETE", "/connectors/items/offsets", None).0, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&http(&addr, "GET", "/connectors/items/offsets", None).1).unwrap(),
        json!({"offsets": []})
    );
    let stored = super::kafka_offsets::offset_records(&k.broker.bootstrap(), "connect-offsets");
    assert_eq!(
        stored.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone()),
        Some(None),
        "a tombstone for the key"
    );
    std::process::Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap();
    assert!(process.wait().unwrap().success());
}
