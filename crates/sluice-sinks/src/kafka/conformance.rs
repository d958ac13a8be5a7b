//! The Kafka sink against the conformance suite, on a real Kafka-protocol broker (`nisshi`, from sluice-testkit)
//! with its data in SQLite. The reader is a librdkafka consumer assigned to every partition of the topic, which the
//! sink creates with four partitions, so per-key order is checked across partitions. The failure is the broker
//! killed with SIGKILL and restarted on the same port and data: the write in flight times out
//! (`message.timeout.ms`), and the records acknowledged before the kill must still be there afterwards.
//!
//! The failure case runs with the idempotent producer off (and one request in flight per connection, which keeps
//! order without it). Why: after messages time out, librdkafka bumps the idempotent producer's epoch (KIP-360, as
//! Apache Kafka 2.5+ supports), and nisshi's SQLite store then fails every produce from that producer
//! (`Misuse("sql=producer_select_for_update.sql")`, seen as `Unknown broker error`) — a bug of the test broker, not
//! of the sink. Every other case runs with Sluice's defaults.
//!
//! `message.max.bytes` is lowered to 100,000 to keep the size case small; librdkafka counts a record's key, value,
//! headers and the record's worst-case framing (36 bytes) against it.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use sluice_testkit::kafka::Broker;

use super::{producer_settings, KafkaSink, TopicCreation};
use crate::conformance::{suite, Destination, Seen, TOPIC};
use sluice_core::{Lsn, Payload, Position, Record, Sink};

const MESSAGE_MAX_BYTES: usize = 100_000;
/// librdkafka's `RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD`.
const RECORD_FRAMING: usize = 36;

struct KafkaDestination {
    idempotent: bool,
    broker: Broker,
    consumer: BaseConsumer,
    assigned: HashSet<i32>,
    by_partition: BTreeMap<i32, Vec<Seen>>,
}

impl KafkaDestination {
    fn new(idempotent: bool) -> Self {
        let broker = Broker::persistent();
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", broker.bootstrap())
            .set("group.id", "sluice-conformance")
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        KafkaDestination { idempotent, broker, consumer, assigned: HashSet::new(), by_partition: BTreeMap::new() }
    }

    /// Assigns the topic's partitions not assigned yet (the sink creates the topic on its first write).
    fn assign_new_partitions(&mut self) {
        let Ok(metadata) = self.consumer.fetch_metadata(Some(TOPIC), Duration::from_secs(5)) else { return };
        let mut list = TopicPartitionList::new();
        for topic in metadata.topics().iter().filter(|t| t.name() == TOPIC && t.error().is_none()) {
            for p in topic.partitions() {
                if self.assigned.insert(p.id()) {
                    list.add_partition_offset(TOPIC, p.id(), Offset::Beginning).expect("a partition");
                }
            }
        }
        if list.count() > 0 {
            self.consumer.incremental_assign(&list).expect("assign partitions");
        }
    }
}

fn json(bytes: Option<&[u8]>) -> Value {
    bytes.map_or(Value::Null, |b| serde_json::from_slice(b).expect("JSON"))
}

impl Destination for KafkaDestination {
    type Sink = KafkaSink;

    async fn open(&mut self) -> KafkaSink {
        let mut producer = vec![
            ("bootstrap.servers", self.broker.bootstrap()),
            ("message.timeout.ms", "5000".into()),
            ("message.max.bytes", MESSAGE_MAX_BYTES.to_string()),
        ];
        if !self.idempotent {
            producer.extend([("enable.idempotence", "false".into()), ("max.in.flight", "1".into())]);
        }
        let producer: Vec<(String, String)> = producer.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let settings = producer_settings(&producer).expect("valid producer settings");
        let creation = TopicCreation { partitions: 4, replication_factor: -1, configs: vec![], groups: vec![] };
        KafkaSink::new(settings, Some(creation)).expect("a Kafka sink")
    }

    async fn read(&mut self) -> Vec<Seen> {
        self.assign_new_partitions();
        while let Some(message) = self.consumer.poll(Duration::from_millis(200)) {
            // The broker may be down on purpose; the consumer reconnects by itself.
            let Ok(m) = message else { continue };
            let headers = m.headers().map_or(vec![], |h| {
                h.iter()
                    .map(|h| (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or_default()).into()))
                    .collect()
            });
            let seen = Seen { topic: m.topic().into(), key: json(m.key()), value: json(m.payload()), headers };
            self.by_partition.entry(m.partition()).or_default().push(seen);
        }
        self.by_partition.values().flatten().cloned().collect()
    }

    fn visible_at_once(&self) -> bool {
        false
    }

    fn max_record_bytes(&self) -> Option<usize> {
        Some(MESSAGE_MAX_BYTES - RECORD_FRAMING)
    }

    async fn fail(&mut self) {
        self.broker.kill();
    }

    async fn recover(&mut self) {
        self.broker.restart();
    }
}

suite!(KafkaDestination::new(true);
    keeps_per_key_order_across_batches,
    acknowledges_only_what_an_independent_reader_can_read,
    a_write_cancelled_halfway_then_retried_leaves_everything_in_order,
    an_empty_batch_is_acknowledged_and_writes_nothing,
    records_up_to_the_size_limit_arrive_whole_and_larger_ones_fail_naming_the_topic,
    close_settles_a_cancelled_write_and_flushes,
    health_is_ok_while_the_destination_is_reachable,
);

suite!(KafkaDestination::new(false);
    a_failed_batch_written_again_leaves_repeats_never_gaps,
    health_fails_retriably_while_the_destination_is_down_and_recovers,
);

/// A record that names its partition (Debezium's `PartitionRouting`, the outbox router's `partition` placement)
/// is produced to that partition, not to the one its key hashes to; a record without one goes where the key says.
#[tokio::test]
async fn a_record_s_own_partition_is_the_partition_it_lands_in() {
    let mut destination = KafkaDestination::new(true);
    let mut sink = destination.open().await;
    let record = |partition: Option<i32>, n: u64| Record {
        topic: TOPIC.into(),
        partition,
        key: Some(Payload::Json(br#"{"k":1}"#.to_vec())),
        value: Some(Payload::Json(format!(r#"{{"n":{n}}}"#).into_bytes())),
        headers: Vec::new(),
        timestamp_ms: 1_700_000_000_000,
        position: Position::new(Lsn(1), n),
    };
    let batch = [record(Some(3), 1), record(Some(1), 2), record(Some(3), 3)];
    sink.write(&batch).await.expect("written");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while destination.read().await.len() < 3 && std::time::Instant::now() < deadline {}
    let values = |p: i32| -> Vec<Value> {
        destination.by_partition.get(&p).map_or(vec![], |seen| seen.iter().map(|s| s.value["n"].clone()).collect())
    };
    assert_eq!(values(3), [1, 3]);
    assert_eq!(values(1), [2]);
}
