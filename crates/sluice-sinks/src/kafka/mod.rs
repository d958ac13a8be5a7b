//! The `kafka` sink: records into Kafka through librdkafka, acknowledged only by the broker's delivery reports.
//!
//! The delivery contract (DESIGN §2) maps onto Kafka like this:
//!
//! - **Durable means delivered.** [`KafkaSink::write`] produces the whole batch, then waits for every message's
//!   delivery report. Only when all of them succeeded does it return `Ok`, so the pipeline confirms nothing to
//!   PostgreSQL that the brokers have not taken with the configured `acks` (`all` by default).
//! - **Order per key.** The producer is idempotent by default (librdkafka then keeps order within a partition across
//!   its own retries), and partitions are chosen by `murmur2_random`, librdkafka's implementation of the Java
//!   client's default partitioner: the same key lands on the same partition as it would from a JVM producer.
//! - **Broker trouble is back-pressure, not loss.** While brokers are unreachable librdkafka keeps the messages and
//!   retries; `write` simply does not return, the pipeline stops taking items, and the source keeps answering the
//!   server's keepalives. A message that times out in the client (`message.timeout.ms`, Java's
//!   `delivery.timeout.ms`) fails the batch as retriable and the pipeline writes it again — a repeat, never a gap.
//! - **What a retry cannot fix stops Sluice**: a record over the size limit, missing authorisation, a topic that does
//!   not exist and will not be created. The error names the topic and the fix.
//!
//! - **Close drains the client.** `write` waits for its own messages, but one whose future was dropped halfway
//!   leaves messages queued in librdkafka; [`KafkaSink::close`] flushes the producer (bounded by [`CLOSE_TIMEOUT`])
//!   so they land or fail before the sink goes away.
//!
//! Configuration is Debezium Server's: every `debezium.sink.kafka.producer.<key>` goes to the producer. Most Java
//! producer keys have the same name in librdkafka; the Java-only ones users carry over (serializers, converters,
//! `buffer.memory`, …) are accepted and ignored with a log line, `max.request.size` becomes `message.max.bytes`, and
//! the username and password of a `sasl.jaas.config` for the PLAIN and SCRAM login modules become `sasl.username`
//! and `sasl.password`. Anything librdkafka rejects is a configuration error naming the key.

pub(crate) mod config;
mod settings;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use sluice_core::{Record, Sink, SinkError};

pub use settings::{producer_settings, ProducerSettings, CODE_LOADING_KEYS};

/// How long a topic creation request may take before it counts as a transient failure.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the health check waits for the brokers' metadata.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `close` waits for messages still queued in the producer.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Kafka Connect's `topic.creation.default.*`: topics Sluice creates itself, before it first writes to them.
#[derive(Clone, Debug)]
pub struct TopicCreation {
    /// `-1` lets the broker choose (`num.partitions`).
    pub partitions: i32,
    /// `-1` lets the broker choose (`default.replication.factor`).
    pub replication_factor: i32,
    /// Topic-level configuration, such as `cleanup.policy=compact`.
    pub configs: Vec<(String, String)>,
    /// `topic.creation.groups`, in order: the first group a topic matches gives its settings, the default the rest.
    pub groups: Vec<TopicGroup>,
}

/// One of Kafka Connect's topic creation groups (`topic.creation.<group>.*`, KIP-158).
#[derive(Clone, Debug)]
pub struct TopicGroup {
    pub name: String,
    /// Regular expressions a topic name must match whole (one of them)…
    pub include: Vec<regex::Regex>,
    /// …and none of these.
    pub exclude: Vec<regex::Regex>,
    /// The group's own, or the default group's when it sets none.
    pub partitions: i32,
    pub replication_factor: i32,
    /// The group's own topic configs (not the default group's).
    pub configs: Vec<(String, String)>,
}

impl TopicCreation {
    /// Partitions, replication factor and topic configs of a new topic: its group's, or the default's.
    pub fn settings_for(&self, topic: &str) -> (i32, i32, &[(String, String)]) {
        let group = self
            .groups
            .iter()
            .find(|g| g.include.iter().any(|r| r.is_match(topic)) && !g.exclude.iter().any(|r| r.is_match(topic)));
        match group {
            Some(g) => (g.partitions, g.replication_factor, &g.configs),
            None => (self.partitions, self.replication_factor, &self.configs),
        }
    }
}

/// Routes librdkafka's own logs and errors to `tracing`, so they land in Sluice's log with everything else.
#[derive(Clone, Default)]
pub struct LogContext;

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", error = %error, "Kafka client: {reason}");
    }
}

pub struct KafkaSink {
    config: ClientConfig,
    producer: FutureProducer<LogContext>,
    topic_creation: Option<TopicCreation>,
    admin: Option<AdminClient<LogContext>>,
    /// Topics known to exist (created, or found to exist), so each is checked once per run.
    ready_topics: HashSet<Arc<str>>,
    pending: VecDeque<DeliveryFuture>,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink").field("topic_creation", &self.topic_creation).finish_non_exhaustive()
    }
}

fn sink_error(retriable: bool, message: String, source: Option<KafkaError>) -> SinkError {
    SinkError {
        sink: "kafka",
        retriable,
        message,
        source: source.map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
    }
}

impl KafkaSink {
    /// Creates the producer (librdkafka connects in the background; nothing here waits for a broker).
    pub fn new(settings: ProducerSettings, topic_creation: Option<TopicCreation>) -> Result<KafkaSink, SinkError> {
        let config = settings.into_client_config();
        let producer = create_producer(&config)?;
        let admin = match &topic_creation {
            Some(_) => Some(
                config
                    .create_with_context(LogContext)
                    .map_err(|e| sink_error(false, format!("cannot create the Kafka admin client: {e}"), Some(e)))?,
            ),
            None => None,
        };
        Ok(KafkaSink {
            config,
            producer,
            topic_creation,
            admin,
            ready_topics: HashSet::new(),
            pending: VecDeque::new(),
        })
    }

    /// Creates the batch's topics that are new to this run, when `topic.creation.default.*` asks for it.
    async fn ensure_topics(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        let (Some(creation), Some(admin)) = (&self.topic_creation, &self.admin) else { return Ok(()) };
        let mut new: Vec<Arc<str>> = Vec::new();
        for record in batch {
            if !self.ready_topics.contains(&record.topic) && !new.contains(&record.topic) {
                new.push(record.topic.clone());
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let topics: Vec<NewTopic<'_>> =
            new.iter()
                .map(|name| {
                    let (partitions, replication_factor, configs) = creation.settings_for(name);
                    configs.iter().fold(
                        NewTopic::new(name, partitions, TopicReplication::Fixed(replication_factor)),
                        |t, (k, v)| t.set(k, v),
                    )
                })
                .collect();
        let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
        let results = admin
            .create_topics(&topics, &options)
            .await
            .map_err(|e| sink_error(true, format!("cannot create topics {}: {e}", join(&new)), Some(e)))?;
        let mut ready = Vec::with_capacity(results.len());
        let mut failure = None;
        for result in results {
            match result {
                Ok(name) => {
                    let (partitions, replication_factor, _) = creation.settings_for(&name);
                    tracing::info!(topic = %name, partitions, replication_factor, "created topic");
                    ready.push(name);
                }
                Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => ready.push(name),
                Err((
                    name,
                    code @ (RDKafkaErrorCode::TopicAuthorizationFailed | RDKafkaErrorCode::ClusterAuthorizationFailed),
                )) => {
                    // As Kafka Connect does: without the right to create, use the topic as it is (or let the
                    // broker auto-create it); producing will tell whether that works.
                    tracing::warn!(topic = %name, error = %code,
                        "not allowed to create the topic; writing to it as it is");
                    ready.push(name);
                }
                Err((name, code)) if is_transient(code) => {
                    failure = Some(sink_error(true, format!("cannot create topic `{name}` yet: {code}"), None));
                }
                Err((name, code)) => {
                    failure = Some(sink_error(
                        false,
                        format!(
                            "cannot create topic `{name}`: {code}; check debezium.source.topic.creation.default.* \
                             (partitions, replication.factor and topic configs) against the brokers"
                        ),
                        None,
                    ));
                }
            }
        }
        self.ready_topics.extend(ready.into_iter().map(Arc::from));
        failure.map_or(Ok(()), Err)
    }

    /// A producer whose fatal error made it unusable (possible with idempotence) is replaced; the batch is then
    /// written again by the pipeline's retry.
    fn replace_if_fatal(&mut self) -> Option<SinkError> {
        let (code, reason) = self.producer.client().fatal_error()?;
        tracing::warn!(error = %code, reason, "the Kafka producer hit a fatal error; starting a new one");
        match create_producer(&self.config) {
            Ok(p) => self.producer = p,
            Err(e) => return Some(e),
        }
        Some(sink_error(true, format!("the producer failed ({code}: {reason}); retrying with a new one"), None))
    }
}

fn create_producer(config: &ClientConfig) -> Result<FutureProducer<LogContext>, SinkError> {
    config
        .create_with_context(LogContext)
        .map_err(|e| sink_error(false, format!("cannot create the Kafka producer: {e}"), Some(e)))
}

fn join(topics: &[Arc<str>]) -> String {
    topics.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
}

/// Errors a later attempt can get past: the network, leadership changes, timeouts, a full local queue.
fn is_transient(code: RDKafkaErrorCode) -> bool {
    !is_permanent(code)
}

/// Errors no retry fixes. The rest (connection loss, leader elections, timeouts, throttling) are retried.
fn is_permanent(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::MessageSizeTooLarge
            | C::InvalidMessageSize
            | C::MessageBatchTooLarge
            | C::InvalidRecord
            | C::InvalidTopic
            | C::UnknownTopic
            | C::UnknownTopicOrPartition
            | C::UnknownPartition
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::TransactionalIdAuthorizationFailed
            | C::SaslAuthenticationFailed
            | C::Authentication
            | C::PolicyViolation
            | C::InvalidReplicationFactor
            | C::InvalidPartitions
            | C::InvalidConfig
            | C::InvalidRequiredAcks
            | C::UnsupportedCompressionType
            | C::UnsupportedForMessageFormat
            | C::UnsupportedVersion
            | C::InvalidArgument
    )
}

/// What went wrong producing to `topic`, with the fix where there is one.
fn produce_error(topic: &str, bytes: usize, e: KafkaError) -> SinkError {
    use RDKafkaErrorCode as C;
    let Some(code) = e.rdkafka_error_code() else {
        return sink_error(true, format!("cannot produce to `{topic}`: {e}"), Some(e));
    };
    let hint = match code {
        C::MessageSizeTooLarge | C::InvalidMessageSize | C::MessageBatchTooLarge => format!(
            ": a record of {bytes} bytes is over the size limit. Raise the topic's max.message.bytes (or the \
             broker's message.max.bytes) and debezium.sink.kafka.producer.message.max.bytes, or enable \
             debezium.sink.kafka.producer.compression.type"
        ),
        C::UnknownTopic | C::UnknownTopicOrPartition | C::UnknownPartition => ": the topic does not exist and the \
             brokers do not create it. Create it, enable auto.create.topics.enable on the brokers, or set \
             debezium.source.topic.creation.default.partitions and .replication.factor so Sluice creates it"
            .into(),
        C::TopicAuthorizationFailed | C::ClusterAuthorizationFailed | C::TransactionalIdAuthorizationFailed => {
            ": the producer's principal is not allowed to write it; grant WRITE (and IDEMPOTENT_WRITE on the \
             cluster for the idempotent producer) in the brokers' ACLs"
                .into()
        }
        C::SaslAuthenticationFailed | C::Authentication => {
            ": authentication failed; check debezium.sink.kafka.producer.sasl.* and security.protocol".into()
        }
        _ => String::new(),
    };
    sink_error(!is_permanent(code), format!("cannot produce to `{topic}`: {code}{hint}"), Some(e))
}

impl Sink for KafkaSink {
    fn name(&self) -> &'static str {
        "kafka"
    }

    async fn write(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        self.ensure_topics(batch).await?;
        self.pending.clear();
        let mut first_error: Option<SinkError> = None;
        let mut sizes = VecDeque::with_capacity(batch.len());
        // Where a key or value held in parts is assembled; librdkafka copies it during `send_result`.
        let (mut key_buf, mut value_buf) = (Vec::new(), Vec::new());
        for record in batch {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (key, value) in &record.headers {
                headers = headers.insert(Header { key, value: Some(value) });
            }
            let key = record.key.as_ref().map(|k| k.bytes_in(&mut key_buf));
            let value = record.value.as_ref().map(|v| v.bytes_in(&mut value_buf));
            let mut message =
                FutureRecord::<[u8], [u8]>::to(&record.topic[..]).headers(headers).timestamp(record.timestamp_ms);
            if let Some(key) = key {
                message = message.key(key);
            }
            if let Some(value) = value {
                message = message.payload(value);
            }
            if let Some(partition) = record.partition {
                message = message.partition(partition);
            }
            let size = key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len);
            loop {
                match self.producer.send_result(message) {
                    Ok(delivery) => {
                        self.pending.push_back(delivery);
                        sizes.push_back((record.topic.clone(), size));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // The client's queue is full: wait for the oldest message in flight, then try again.
                        message = back;
                        match self.pending.pop_front() {
                            Some(delivery) => {
                                let (topic, bytes) = sizes.pop_front().expect("one size per delivery");
                                if let Err(e) = await_delivery(delivery, &topic, bytes).await {
                                    first_error.get_or_insert(e);
                                }
                            }
                            None => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                    Err((e, _)) => {
                        first_error.get_or_insert(produce_error(&record.topic, size, e));
                        break;
                    }
                }
            }
            if first_error.is_some() {
                break;
            }
        }
        while let Some(delivery) = self.pending.pop_front() {
            let (topic, bytes) = sizes.pop_front().expect("one size per delivery");
            if let Err(e) = await_delivery(delivery, &topic, bytes).await {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            None => Ok(()),
            Some(e) => Err(self.replace_if_fatal().unwrap_or(e)),
        }
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.pending.clear();
        let producer = self.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || {
            let result = producer.flush(CLOSE_TIMEOUT);
            (result, producer.in_flight_count())
        })
        .await;
        match flushed {
            Ok((Ok(()), _)) => Ok(()),
            Ok((Err(e), left)) => Err(sink_error(
                true,
                format!("{left} messages were still undelivered after {} s: {e}", CLOSE_TIMEOUT.as_secs()),
                Some(e),
            )),
            Err(e) => Err(sink_error(false, format!("the flush task failed: {e}"), None)),
        }
    }

    /// A metadata request to the brokers: it needs a broker to answer, and creates nothing.
    async fn health(&mut self) -> Result<(), SinkError> {
        let producer = self.producer.clone();
        let answered =
            tokio::task::spawn_blocking(move || producer.client().fetch_metadata(None, HEALTH_TIMEOUT).map(|_| ()))
                .await;
        let brokers = self.config.get("bootstrap.servers").unwrap_or("(bootstrap.servers unset)").to_string();
        match answered {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(sink_error(
                true,
                format!("no Kafka broker at {brokers} answered within {} s: {e}", HEALTH_TIMEOUT.as_secs()),
                Some(e),
            )),
            Err(e) => Err(sink_error(false, format!("the health check task failed: {e}"), None)),
        }
    }
}

async fn await_delivery(delivery: DeliveryFuture, topic: &str, bytes: usize) -> Result<(), SinkError> {
    match delivery.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(produce_error(topic, bytes, e)),
        Err(_) => Err(sink_error(true, format!("the Kafka producer went away before `{topic}` acknowledged"), None)),
    }
}

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod tests;
