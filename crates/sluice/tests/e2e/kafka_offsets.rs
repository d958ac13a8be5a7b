//! Offsets in Kafka (`offset.storage=…KafkaOffsetBackingStore`) end to end: the real binary and PostgreSQL, the
//! offsets topic on a real Kafka-protocol broker (`nisshi`), events into the file sink so that the only Kafka in play
//! is the offset store. The topic is read and written with a librdkafka client the way Kafka Connect and Debezium
//! do: key `["<connector>",{"server":"<topic.prefix>"}]`, JSON values, the Java client's partitioning.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use sluice_testkit::kafka::Broker;

use super::crash::{kill_9_mid_snapshot, SnapshotPoint};
use super::support::{Setup, WAIT};
use super::workload::{acct_state, caught_up, create_tables, journal_ids, verify, Workload};

const KEYS: u32 = 40;
const TOPIC: &str = "connect-offsets";
/// Debezium Server names its engine after the sink type, and so the offsets' key.
const KEY: &str = r#"["file",{"server":"test"}]"#;

/// A file-sink setup whose offsets are kept in `TOPIC` on `broker` (three partitions, so keys must land where the
/// Java client would put them).
async fn setup(prefix: &str, broker: &Broker) -> Setup {
    let mut setup = Setup::new(prefix).await;
    setup.properties.remove("debezium.source.offset.storage.file.filename");
    setup
        .set("debezium.source.offset.storage", "org.apache.kafka.connect.storage.KafkaOffsetBackingStore")
        .set("debezium.source.offset.storage.topic", TOPIC)
        .set("debezium.source.offset.storage.partitions", "3")
        .set("debezium.source.offset.storage.replication.factor", "1")
        .set("debezium.source.offset.flush.timeout.ms", "2000")
        .set("debezium.source.bootstrap.servers", &broker.bootstrap());
    setup
}

/// Every record of an offsets topic as `(key, value)`, partition by partition, read to the end.
pub(super) fn offset_records(bootstrap: &str, topic: &str) -> Vec<(String, Option<Value>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "sluice-tests-offsets")
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("the topic's metadata");
    let mut list = TopicPartitionList::new();
    let mut ends = std::collections::BTreeMap::new();
    for p in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10)).expect("watermarks");
        if high > low {
            ends.insert(p.id(), high);
            list.add_partition_offset(topic, p.id(), Offset::Beginning).unwrap();
        }
    }
    let mut records = Vec::new();
    if ends.is_empty() {
        return records;
    }
    consumer.assign(&list).unwrap();
    let deadline = Instant::now() + WAIT;
    while !ends.is_empty() {
        assert!(Instant::now() < deadline, "the offsets topic was not read to its end");
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else { continue };
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        records.push((key, m.payload().map(|v| serde_json::from_slice(v).expect("a JSON value"))));
        if ends.get(&m.partition()).is_some_and(|end| m.offset() + 1 >= *end) {
            ends.remove(&m.partition());
        }
    }
    records
}

/// The newest offsets Sluice stored for the test's connector.
fn stored_offsets(bootstrap: &str) -> Value {
    let records = offset_records(bootstrap, TOPIC);
    let (_, value) =
        records.iter().rev().find(|(k, _)| k == KEY).unwrap_or_else(|| panic!("no offsets for {KEY} in {records:?}"));
    value.clone().expect("offsets, not a tombstone")
}

/// Produces one offsets record as Kafka Connect's producer would (the Java client's partitioner on the key bytes).
fn produce(bootstrap: &str, key: &str, value: &Value) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", "murmur2_random")
        .set("acks", "all")
        .create()
        .expect("a producer");
    let payload = serde_json::to_vec(value).unwrap();
    producer.send(BaseRecord::to(TOPIC).key(key).payload(&payload)).map_err(|(e, _)| e).expect("queued");
    producer.flush(Duration::from_secs(10)).expect("acknowledged");
}

fn reads(setup: &Setup) -> usize {
    setup.records().iter().filter(|r| r["value"]["op"] == "r").count()
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_in_kafka_survive_a_restart_with_nothing_lost_and_no_second_snapshot() {
    let broker = Broker::memory();
    let setup = setup("koffsets_restart", &broker).await;
    create_tables(&setup.db, KEYS);
    let mut sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= KEYS as usize);
    sluice.wait_for_log("streaming started", WAIT);
    let workload = Workload::start(&setup.db, KEYS).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    sluice.stop();
    let snapshot_reads = reads(&setup);

    let sluice = setup.start();
    tokio::time::sleep(Duration::from_secs(1)).await;
    workload.finish().await;
    let state = acct_state(&setup.db).await;
    let records = setup.wait_for_records("the final state", WAIT, |r| caught_up(r, &state));
    sluice.stop();
    verify(&records, &state, &journal_ids(&setup.db).await);
    assert_eq!(reads(&setup), snapshot_reads, "the completed snapshot ran again");
    let offsets = stored_offsets(&broker.bootstrap());
    assert!(offsets["lsn_commit"].as_u64().unwrap() >= setup.confirmed_flush_lsn().await, "{offsets}");
    assert!(!setup.dir.path().join("offsets.dat").exists(), "no offsets file beside the topic");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_stream_with_offsets_in_kafka_loses_nothing() {
    let broker = Broker::memory();
    let setup = setup("koffsets_crash", &broker).await;
    create_tables(&setup.db, KEYS);
    let env = [("SLUICE_TEST_MAX_BATCH", "7")];
    let sluice = setup.start_with_env(&env);
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= KEYS as usize);
    let snapshot_reads = reads(&setup);
    let workload = Workload::start(&setup.db, KEYS).await;
    let mut sluice = Some(sluice);
    for round in 1..=3 {
        let have = setup.records().len();
        setup.wait_for_records(&format!("progress before kill {round}"), WAIT, |r| r.len() >= have + 200);
        sluice.take().unwrap().kill9();
        sluice = Some(setup.start_with_env(&env));
    }
    workload.finish().await;
    let state = acct_state(&setup.db).await;
    let records = setup.wait_for_records("the final state", WAIT, |r| caught_up(r, &state));
    sluice.take().unwrap().stop();
    verify(&records, &state, &journal_ids(&setup.db).await);
    assert_eq!(reads(&setup), snapshot_reads, "the snapshot was taken once");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_snapshot_with_offsets_in_kafka_resumes_it_table_by_table_and_never_reruns_it() {
    let broker = Broker::memory();
    let setup = setup("koffsets_crash_snapshot", &broker).await;
    let bootstrap = broker.bootstrap();
    kill_9_mid_snapshot(setup, |point| {
        let stored = stored_offsets(&bootstrap);
        match point {
            SnapshotPoint::Killed => {
                assert_eq!(stored["sluice_snapshot"]["completed"], json!(false), "its tables stored first: {stored}");
                assert_eq!(stored["snapshot"], json!(true), "Debezium would take it again: {stored}");
            }
            SnapshotPoint::Complete => {
                assert_eq!(stored["sluice_snapshot"]["completed"], json!(true), "{stored}");
                assert!(stored.get("snapshot").is_none(), "Debezium reads a completed snapshot: {stored}");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sluices_offsets_read_as_debeziums_and_debeziums_are_resumed_from() {
    let broker = Broker::memory();
    let setup = setup("koffsets_format", &broker).await;
    setup.db.psql("CREATE TABLE item (id int PRIMARY KEY, name text); INSERT INTO item VALUES (1, 'snapshot');");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("UPDATE item SET name = 'streamed' WHERE id = 1");
    setup.wait_for_records("the update", WAIT, |r| r.len() >= 2);
    sluice.stop();

    // What Debezium reads: Kafka Connect's key, and PostgresOffsetContext's fields after a commit.
    let offsets = stored_offsets(&broker.bootstrap());
    let commit = offsets["lsn_commit"].as_u64().expect("lsn_commit, a number");
    assert_eq!((offsets["lsn"].as_u64(), offsets["lsn_proc"].as_u64()), (Some(commit), Some(commit)), "{offsets}");
    assert_eq!(offsets["messageType"], "COMMIT");
    assert!(offsets["txId"].is_u64() && offsets["ts_usec"].as_i64().is_some_and(|t| t > 0), "{offsets}");
    assert!(offsets.get("snapshot").is_none(), "the snapshot is complete: {offsets}");
    assert!(commit >= setup.confirmed_flush_lsn().await, "the slot is never confirmed past the stored offsets");

    // Debezium takes over, delivers one more change and writes its offsets as PostgresOffsetContext does.
    setup.db.psql("UPDATE item SET name = 'delivered by debezium' WHERE id = 1");
    let lsn = setup.current_wal_lsn().await;
    let debezium = json!({"transaction_id": null, "lsn_proc": lsn, "messageType": "UPDATE", "lsn_commit": lsn,
        "lsn": lsn, "txId": 999, "ts_usec": 1_733_300_000_000_000i64});
    produce(&broker.bootstrap(), KEY, &debezium);
    setup.db.psql("UPDATE item SET name = 'after debezium' WHERE id = 1");

    let sluice = setup.start();
    let records = setup.wait_for_records("the change after Debezium's", WAIT, |r| r.len() >= 3);
    sluice.stop();
    let names: Vec<&str> = records.iter().map(|r| r["value"]["after"]["name"].as_str().unwrap_or_default()).collect();
    assert_eq!(names, ["snapshot", "streamed", "after debezium"], "Debezium's delivered change skipped, no snapshot");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tombstone_for_the_key_means_no_offsets_and_a_new_snapshot() {
    let broker = Broker::memory();
    let setup = setup("koffsets_tombstone", &broker).await;
    setup.db.psql("CREATE TABLE item (id int PRIMARY KEY, name text); INSERT INTO item VALUES (1, 'one');");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    sluice.stop();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("partitioner", "murmur2_random")
        .create()
        .unwrap();
    producer.send(BaseRecord::<str, [u8]>::to(TOPIC).key(KEY)).map_err(|(e, _)| e).unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    // No offsets with an existing slot: the snapshot is taken again (at a later point, then streaming goes on).
    let sluice = setup.start();
    setup.wait_for_records("the second snapshot", WAIT, |r| r.len() >= 2);
    sluice.stop();
    assert_eq!(reads(&setup), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_unavailable_at_start_is_a_clear_error_naming_the_store_and_the_topic() {
    let broker = Broker::memory();
    let mut setup = setup("koffsets_no_broker", &broker).await;
    let nobody = format!("127.0.0.1:{}", sluice_testkit::free_port());
    setup.set("debezium.source.bootstrap.servers", &nobody);
    setup.db.psql("CREATE TABLE item (id int PRIMARY KEY)");
    let (code, log) = setup.run_to_exit(WAIT);
    assert_eq!(code, 1, "{log}");
    for needle in [TOPIC, "KafkaOffsetBackingStore", nobody.as_str(), "bootstrap.servers"] {
        assert!(log.contains(needle), "the error names {needle}:\n{log}");
    }
    assert!(setup.records().is_empty(), "nothing read without offsets to resume from");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offsets_topic_outage_confirms_nothing_it_does_not_hold_and_loses_nothing() {
    let mut broker = Broker::persistent();
    let setup = setup("koffsets_outage", &broker).await;
    create_tables(&setup.db, KEYS);
    let mut sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= KEYS as usize);
    sluice.wait_for_log("streaming started", WAIT);
    let workload = Workload::paced(&setup.db, KEYS, Duration::from_millis(3)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    broker.kill();
    let down_at = setup.current_wal_lsn().await;
    let mut max_confirmed = 0;
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        max_confirmed = max_confirmed.max(setup.confirmed_flush_lsn().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    workload.finish().await;
    assert!(
        max_confirmed <= down_at,
        "the slot was confirmed to {max_confirmed:X} past {down_at:X} while the offsets could not be stored"
    );
    sluice.wait_for_log("cannot store the offsets; retrying", WAIT);

    broker.restart();
    let state = acct_state(&setup.db).await;
    let journal = journal_ids(&setup.db).await;
    let records = setup.wait_for_records("the final state after the outage", WAIT, |r| caught_up(r, &state));
    let end = setup.current_wal_lsn().await;
    let deadline = Instant::now() + WAIT;
    while setup.confirmed_flush_lsn().await <= down_at {
        assert!(Instant::now() < deadline, "the slot never moved on once the offsets were stored again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sluice.stop();
    verify(&records, &state, &journal);
    assert!(end > down_at, "the workload went on during the outage");
    assert!(stored_offsets(&broker.bootstrap())["lsn_commit"].as_u64().unwrap() > down_at);
}
