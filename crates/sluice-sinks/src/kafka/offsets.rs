//! Offsets in Kafka: Kafka Connect's `KafkaOffsetBackingStore`, so Debezium and Sluice can hand a connector's
//! position to each other through the same topic.
//!
//! The topic is compacted and keyed per connector and source partition; [`sluice_core::connect_format`] has the
//! record format. Loading reads every partition from its beginning to the end it had when the read began and takes
//! the last record for the key (a tombstone: no offsets), as Kafka Connect does when a worker starts. Saving produces
//! one record with the producer Kafka Connect would use — `acks=all`, idempotent, partitioned by the Java client's
//! hash of the key, so Debezium's records and Sluice's land on the same partition — and returns only once the
//! brokers acknowledged it, because the pipeline confirms the slot right after.
//!
//! Failures say which topic and brokers they concern. A broker that cannot be reached, or does not acknowledge
//! within `offset.flush.timeout.ms`, is a retriable failure (the pipeline writes the offsets again and confirms
//! nothing meanwhile); refused credentials or a malformed record are not. Records never expire in the client, so an
//! outage leaves a few queued copies of older offsets, delivered in order before the newer ones.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use sluice_core::{connect_format, OffsetError, OffsetStore, Offsets, StoreFuture};

use super::{is_permanent, LogContext, ProducerSettings};

/// How long reading the topic at start may take: creating it, finding its partitions and reading them to the end.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Kafka Connect's class name, as the errors name the store.
const STORE: &str = "KafkaOffsetBackingStore";

/// Checks the store's client keys (`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`, given without
/// `debezium.source.`) as the producer's are checked, before anything connects.
pub fn offset_client_settings(client: &[(String, String)]) -> Result<ProducerSettings, Vec<String>> {
    super::client_settings("debezium.source.", "offset.storage is the Kafka offset store", client)
}

/// What the store needs besides its clients' settings.
#[derive(Clone, Debug)]
pub struct KafkaStoreOptions {
    pub topic: String,
    /// `-1`: the broker's default.
    pub partitions: i32,
    /// `-1`: the broker's default.
    pub replication_factor: i32,
    /// How long one save waits for the brokers' acknowledgement (`offset.flush.timeout.ms`).
    pub flush_timeout: Duration,
    /// The connector's name and its `topic.prefix`: the record key.
    pub connector: String,
    pub topic_prefix: String,
    /// The configured slot: Debezium's offsets belong to it.
    pub slot_name: String,
}

/// Offsets in a Kafka Connect offsets topic.
pub struct KafkaOffsetStore {
    options: KafkaStoreOptions,
    key: Vec<u8>,
    bootstrap: String,
    producer_config: ClientConfig,
    producer: FutureProducer<LogContext>,
    admin: AdminClient<LogContext>,
    consumer: ClientConfig,
    topic_ready: bool,
}

impl std::fmt::Debug for KafkaOffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaOffsetStore").field("options", &self.options).finish_non_exhaustive()
    }
}

impl KafkaOffsetStore {
    /// Creates the clients (they connect in the background; nothing here waits for a broker).
    pub fn new(settings: ProducerSettings, options: KafkaStoreOptions) -> Result<KafkaOffsetStore, OffsetError> {
        let bootstrap = settings.get("bootstrap.servers").unwrap_or_default().to_string();
        let consumer = settings.client_config_without_producer_keys();
        let admin = consumer.create_with_context(LogContext).map_err(|e| refused(&options.topic, &bootstrap, e))?;
        let mut producer_config = settings.into_client_config();
        // As Kafka Connect's offsets producer (`delivery.timeout.ms` = forever): librdkafka keeps a record until the
        // brokers take it, so a record never times out in the client (which would need the idempotent producer's
        // epoch bumped); `offset.flush.timeout.ms` bounds how long a save waits for it instead.
        producer_config.set("message.timeout.ms", "0").set("linger.ms", "0");
        let producer =
            producer_config.create_with_context(LogContext).map_err(|e| refused(&options.topic, &bootstrap, e))?;
        let key = connect_format::key(&options.connector, &options.topic_prefix);
        Ok(KafkaOffsetStore { options, key, bootstrap, producer_config, producer, admin, consumer, topic_ready: false })
    }

    /// Where the offsets are, as errors and logs name it.
    fn place(&self) -> String {
        place(&self.options.topic, &self.bootstrap)
    }

    fn error(&self, retriable: bool, what: &str, detail: impl std::fmt::Display) -> OffsetError {
        OffsetError::Store { retriable, message: format!("cannot {what} {}: {detail}", self.place()) }
    }

    /// Creates the topic, compacted, when it does not exist (as Kafka Connect's worker does).
    async fn ensure_topic(&mut self) -> Result<(), OffsetError> {
        if self.topic_ready {
            return Ok(());
        }
        let o = &self.options;
        let topic = NewTopic::new(&o.topic, o.partitions, TopicReplication::Fixed(o.replication_factor))
            .set("cleanup.policy", "compact");
        let admin_options =
            AdminOptions::new().request_timeout(Some(LOAD_TIMEOUT)).operation_timeout(Some(LOAD_TIMEOUT));
        let results = self.admin.create_topics([&topic], &admin_options).await.map_err(|e| {
            let detail = format!("{e} while making sure the topic exists; is a broker reachable at bootstrap.servers?");
            self.error(true, "reach the offsets store,", detail)
        })?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(topic = %name, partitions = o.partitions,
                    replication_factor = o.replication_factor, "created the compacted offsets topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((
                    name,
                    code @ (RDKafkaErrorCode::TopicAuthorizationFailed | RDKafkaErrorCode::ClusterAuthorizationFailed),
                )) => {
                    tracing::warn!(topic = %name, error = %code, "not allowed to create the offsets topic; using it as it is")
                }
                Err((_, code)) => {
                    let hint =
                        "check offset.storage.partitions and offset.storage.replication.factor against the brokers";
                    return Err(self.error(!is_permanent(code), "create", format!("{code}; {hint}")));
                }
            }
        }
        self.topic_ready = true;
        Ok(())
    }

    /// Reads the topic to its end; the last value for the key, `Some(None)` for a tombstone, `None` for no record.
    async fn read_last(&self) -> Result<Option<Option<Vec<u8>>>, OffsetError> {
        let mut config = self.consumer.clone();
        config
            .set("group.id", "sluice-offset-store")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true");
        let consumer: BaseConsumer<LogContext> =
            config.create_with_context(LogContext).map_err(|e| refused(&self.options.topic, &self.bootstrap, e))?;
        let topic = self.options.topic.clone();
        let (connector, prefix) = (self.options.connector.clone(), self.options.topic_prefix.clone());
        let read = tokio::task::spawn_blocking(move || read_to_end(&consumer, &topic, &connector, &prefix)).await;
        match read {
            Ok(Ok(last)) => Ok(last),
            Ok(Err((retriable, detail))) => Err(self.error(retriable, "read the offsets from", detail)),
            Err(e) => Err(self.error(false, "read the offsets from", e)),
        }
    }

    /// Produces `value` (a tombstone when `None`) for the key and waits for the brokers' acknowledgement; a producer
    /// that failed for good (possible with idempotence) is replaced, and the save fails as retriable.
    async fn produce(&mut self, value: Option<Vec<u8>>) -> Result<(), OffsetError> {
        self.ensure_topic().await?;
        let produced = self.produce_once(value).await;
        if produced.is_err() && self.producer.client().fatal_error().is_some() {
            self.producer = self
                .producer_config
                .create_with_context(LogContext)
                .map_err(|e| refused(&self.options.topic, &self.bootstrap, e))?;
        }
        produced
    }

    async fn produce_once(&self, value: Option<Vec<u8>>) -> Result<(), OffsetError> {
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.options.topic).key(&self.key);
        if let Some(value) = value.as_deref() {
            record = record.payload(value);
        }
        let delivery =
            self.producer.send_result(record).map_err(|(e, _)| self.kafka_error("write the offsets to", e))?;
        // A save that is not acknowledged in time fails as retriable and is made again; the record still queued is
        // delivered too, before the later one, so the last record for the key stays the newest offsets.
        let timeout = self.options.flush_timeout;
        match tokio::time::timeout(timeout, delivery).await {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err((e, _)))) => Err(self.kafka_error("write the offsets to", e)),
            Ok(Err(_)) => Err(self.error(true, "write the offsets to", "the producer went away")),
            Err(_) => Err(self.error(
                true,
                "write the offsets to",
                format!("no acknowledgement within offset.flush.timeout.ms ({} ms)", timeout.as_millis()),
            )),
        }
    }

    fn kafka_error(&self, what: &str, e: KafkaError) -> OffsetError {
        let retriable = e.rdkafka_error_code().is_none_or(|code| !is_permanent(code));
        self.error(retriable, what, e)
    }
}

fn place(topic: &str, bootstrap: &str) -> String {
    format!("Kafka topic `{topic}` ({STORE} at {bootstrap})")
}

fn refused(topic: &str, bootstrap: &str, e: KafkaError) -> OffsetError {
    OffsetError::Store {
        retriable: false,
        message: format!("cannot create a Kafka client for {}: {e}", place(topic, bootstrap)),
    }
}

/// The blocking read behind [`KafkaOffsetStore::read_last`]; an error is `(retriable, detail)`.
fn read_to_end(
    consumer: &BaseConsumer<LogContext>,
    topic: &str,
    connector: &str,
    prefix: &str,
) -> Result<Option<Option<Vec<u8>>>, (bool, String)> {
    let deadline = Instant::now() + LOAD_TIMEOUT;
    let left = || deadline.saturating_duration_since(Instant::now());
    let unreachable = |e: KafkaError| {
        let retriable = e.rdkafka_error_code().is_none_or(|code| !is_permanent(code));
        (retriable, format!("{e}; is a broker reachable at bootstrap.servers?"))
    };
    // A topic that is not there holds no offsets, but "none" would mean a new snapshot: that is for an operator to
    // decide, not for a topic that could not be created. One created a moment ago may take a moment to be listed.
    let partitions: Vec<i32> = loop {
        let metadata = consumer.fetch_metadata(Some(topic), left()).map_err(unreachable)?;
        let listed = match metadata.topics().iter().find(|t| t.name() == topic) {
            None => Err("the brokers do not list the topic".to_string()),
            Some(t) => match t.error() {
                Some(error) => {
                    Err(format!("{}: the topic cannot be read (does it exist?)", RDKafkaErrorCode::from(error)))
                }
                None => Ok(t.partitions().iter().map(|p| p.id()).collect()),
            },
        };
        match listed {
            Ok(partitions) => break partitions,
            Err(problem) if left().is_zero() => return Err((true, problem)),
            Err(_) => std::thread::sleep(Duration::from_millis(200).min(left())),
        }
    };
    let mut ends = std::collections::BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, left()).map_err(unreachable)?;
        if high > low {
            ends.insert(partition, high);
            assignment.add_partition_offset(topic, partition, Offset::Beginning).map_err(unreachable)?;
        }
    }
    if ends.is_empty() {
        return Ok(None);
    }
    consumer.assign(&assignment).map_err(unreachable)?;
    // The newest record for the key: per partition the last one read; across partitions (only if another producer
    // partitioned differently) the one with the latest timestamp.
    let mut last: Option<(i64, Option<Vec<u8>>)> = None;
    while !ends.is_empty() {
        if left().is_zero() {
            return Err((true, format!("the topic was not read to its end within {} s", LOAD_TIMEOUT.as_secs())));
        }
        let message = match consumer.poll(left().min(Duration::from_millis(500))) {
            None => continue,
            // The end as it is now, past any control records a transactional writer left at the end.
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                ends.remove(&partition);
                continue;
            }
            Some(other) => other.map_err(unreachable)?,
        };
        if message.key().is_some_and(|k| connect_format::is_key(k, connector, prefix)) {
            let timestamp = message.timestamp().to_millis().unwrap_or(0);
            if last.as_ref().is_none_or(|(t, _)| timestamp >= *t) {
                last = Some((timestamp, message.payload().map(<[u8]>::to_vec)));
            }
        }
        if ends.get(&message.partition()).is_some_and(|end| message.offset() + 1 >= *end) {
            ends.remove(&message.partition());
        }
    }
    Ok(last.map(|(_, value)| value))
}

impl OffsetStore for KafkaOffsetStore {
    fn describe(&self) -> String {
        self.place()
    }

    fn load(&mut self) -> StoreFuture<'_, Option<Offsets>> {
        Box::pin(async move {
            self.ensure_topic().await?;
            let Some(Some(bytes)) = self.read_last().await? else { return Ok(None) };
            let corrupt = |detail: String| OffsetError::Store {
                retriable: false,
                message: format!(
                    "the offsets of `{}` in {} are not valid ({detail}); produce a tombstone for key {} to start \
                     over, which re-runs the snapshot",
                    self.options.connector,
                    self.place(),
                    String::from_utf8_lossy(&self.key)
                ),
            };
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
            connect_format::offsets_from(&value, &self.options.slot_name).map(Some).map_err(corrupt)
        })
    }

    fn save<'a>(&'a mut self, offsets: &'a Offsets) -> StoreFuture<'a, ()> {
        Box::pin(self.produce(Some(connect_format::value_bytes(offsets))))
    }

    /// A tombstone for the key.
    fn reset(&mut self) -> StoreFuture<'_, ()> {
        Box::pin(self.produce(None))
    }
}
