//! Prints what a Kafka consumer reads, for the Kafka quick start and for looking at a test broker by hand.
//!
//! `sluice-kafka-tail BOOTSTRAP TOPIC_PREFIX` follows every topic whose name starts with TOPIC_PREFIX (also topics
//! created later), from the beginning, and prints one JSON line per message:
//! `{"topic", "partition", "offset", "key", "value", "headers"}` (key and value as text; `null` for a tombstone).
//! Partitions are assigned directly rather than through a consumer group, so output starts at once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, prefix] = args.as_slice() else {
        eprintln!("usage: sluice-kafka-tail BOOTSTRAP TOPIC_PREFIX");
        std::process::exit(2);
    };
    let consumer: BaseConsumer = match ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "sluice-kafka-tail")
        .set("enable.auto.commit", "false")
        .create()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sluice-kafka-tail: {e}");
            std::process::exit(1);
        }
    };
    let mut assigned = HashSet::new();
    let mut next_lookup = Instant::now();
    loop {
        if Instant::now() >= next_lookup {
            next_lookup = Instant::now() + Duration::from_secs(1);
            if let Ok(metadata) = consumer.fetch_metadata(None, Duration::from_secs(5)) {
                let mut list = TopicPartitionList::new();
                for topic in metadata.topics().iter().filter(|t| t.name().starts_with(prefix.as_str())) {
                    for p in topic.partitions() {
                        if assigned.insert((topic.name().to_string(), p.id())) {
                            list.add_partition_offset(topic.name(), p.id(), Offset::Beginning)
                                .expect("a new partition");
                        }
                    }
                }
                if list.count() > 0 {
                    if let Err(e) = consumer.incremental_assign(&list) {
                        eprintln!("sluice-kafka-tail: cannot assign partitions: {e}");
                    }
                }
            }
        }
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let text = |b: Option<&[u8]>| {
                b.map_or(serde_json::Value::Null, |b| String::from_utf8_lossy(b).into_owned().into())
            };
            let headers: serde_json::Map<String, serde_json::Value> =
                m.headers().map(|h| h.iter().map(|h| (h.key.to_string(), text(h.value))).collect()).unwrap_or_default();
            let line = serde_json::json!({
                "topic": m.topic(),
                "partition": m.partition(),
                "offset": m.offset(),
                "key": text(m.key()),
                "value": text(m.payload()),
                "headers": headers,
            });
            println!("{line}");
        }
    }
}
