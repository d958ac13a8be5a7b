//! `debezium.sink.kafka.producer.*` → a librdkafka configuration, validated key by key before anything connects.
//!
//! Users bring the producer section of a Debezium Server file written for the Java client. librdkafka shares most
//! of its names (`bootstrap.servers`, `acks`, `compression.type`, `linger.ms`, `batch.size`, `security.protocol`,
//! `sasl.mechanism`, `ssl.ca.location`, …); what differs is handled here so such a file works unchanged or fails
//! with the exact key and the fix.
//!
//! Validation loads nothing and connects nowhere: librdkafka loads `plugin.library.paths` and OpenSSL engines the
//! moment the key is *set*, so those keys are refused before any librdkafka call (Sluice runs no librdkafka
//! plugins), and the whole-configuration check builds a client without `bootstrap.servers`, so it never dials a
//! broker.

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::BaseProducer;

const PREFIX: &str = "debezium.sink.kafka.producer.";

/// Java producer keys that mean nothing to librdkafka: serialisation is Sluice's (`debezium.format.*`), and the
/// rest tunes the JVM client. Accepted and ignored, with one log line each.
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.converter",
    "value.converter",
    "header.converter",
    "interceptor.classes",
    "partitioner.class",
    "partitioner.ignore.keys",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "buffer.memory",
    "max.block.ms",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "auto.include.jmx.reporter",
    "enable.metrics.push",
    "client.dns.lookup",
    "security.providers",
    "send.buffer.bytes",
    "receive.buffer.bytes",
    "sasl.login.class",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "ssl.engine.factory.class",
    "ssl.protocol",
    "ssl.provider",
    "ssl.trustmanager.algorithm",
    "ssl.keymanager.algorithm",
    "ssl.secure.random.implementation",
];

/// librdkafka keys that load code into the process: refused in every configuration. librdkafka acts on them when
/// they are set, before any client exists, so a validation that passed them on would already have run the code.
pub const CODE_LOADING_KEYS: &[&str] =
    &["plugin.library.paths", "ssl.engine.location", "ssl.engine.id", "ssl_engine_callback_data"];

/// Java keys with a librdkafka equivalent under another name.
const RENAMED: &[(&str, &str)] = &[("max.request.size", "message.max.bytes")];

/// A validated producer configuration.
#[derive(Clone, Debug)]
pub struct ProducerSettings {
    entries: Vec<(String, String)>,
    /// What was ignored or translated, for the log.
    pub notes: Vec<String>,
}

impl ProducerSettings {
    pub fn into_client_config(self) -> ClientConfig {
        self.entries.into_iter().collect()
    }

    /// The configuration without the producer's own keys, for a consumer or an admin client of the same cluster.
    pub fn client_config_without_producer_keys(&self) -> ClientConfig {
        const PRODUCER_ONLY: &[&str] =
            &["acks", "enable.idempotence", "partitioner", "message.timeout.ms", "linger.ms"];
        self.entries.iter().filter(|(k, _)| !PRODUCER_ONLY.contains(&k.as_str())).cloned().collect()
    }

    /// The value librdkafka will get for `key`, after defaults and translations.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Validates `debezium.sink.kafka.producer.*` (given without the prefix) and applies Sluice's defaults: `acks=all`,
/// `enable.idempotence=true`, `partitioner=murmur2_random` (the Java client's partitioning), `client.id=sluice`.
/// Returns every problem, each naming its full key.
pub fn producer_settings(props: &[(String, String)]) -> Result<ProducerSettings, Vec<String>> {
    client_settings(PREFIX, "the sink type is kafka", props)
}

/// [`producer_settings`] for keys under another `prefix` (the Kafka offset store's `debezium.source.*`); `needs`
/// says why `bootstrap.servers` is required.
pub fn client_settings(prefix: &str, needs: &str, props: &[(String, String)]) -> Result<ProducerSettings, Vec<String>> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut entries: Vec<(String, String)> = Vec::new();
    let user_set = |key: &str| props.iter().any(|(k, _)| k == key);
    for (key, value) in props {
        let value = value.trim();
        if JAVA_ONLY.contains(&key.as_str()) || key.starts_with("key.converter.") || key.starts_with("value.converter.")
        {
            notes.push(format!("ignoring `{prefix}{key}`: a Java client setting with no meaning for librdkafka"));
            continue;
        }
        if let Some((_, renamed)) = RENAMED.iter().find(|(java, _)| java == key) {
            notes.push(format!("`{prefix}{key}` is Java's name; passing it to librdkafka as `{renamed}`"));
            entries.push((renamed.to_string(), value.to_string()));
            continue;
        }
        match key.as_str() {
            k if CODE_LOADING_KEYS.contains(&k) => problems.push(format!(
                "`{prefix}{key}`: Sluice does not load librdkafka plugins or OpenSSL engines; remove it"
            )),
            "sasl.jaas.config" => match jaas_credentials(value) {
                Some((user, password)) => {
                    notes.push(format!(
                        "`{prefix}sasl.jaas.config`: using its username and password as sasl.username/sasl.password"
                    ));
                    entries.push(("sasl.username".into(), user));
                    entries.push(("sasl.password".into(), password));
                }
                None => problems.push(format!(
                    "`{prefix}sasl.jaas.config`: only the PlainLoginModule and ScramLoginModule forms with username \
                     and password are understood; set `{prefix}sasl.username` and `{prefix}sasl.password` instead \
                     (librdkafka has no JAAS)"
                )),
            },
            "transactional.id" => problems.push(format!(
                "`{prefix}transactional.id`: transactional producing is not supported yet; remove it (the sink is \
                 idempotent and at least once)"
            )),
            k if k.starts_with("ssl.truststore.")
                || (k.starts_with("ssl.keystore.") && k != "ssl.keystore.location" && k != "ssl.keystore.password") =>
            {
                problems.push(format!(
                    "`{prefix}{key}`: librdkafka reads no Java key stores; convert the trust store to PEM and set \
                 `{prefix}ssl.ca.location` (and ssl.certificate.location / ssl.key.location, or a PKCS#12 \
                 ssl.keystore.location, for client certificates)"
                ))
            }
            _ => entries.push((key.clone(), value.to_string())),
        }
    }
    if !user_set("bootstrap.servers") {
        problems.push(format!("missing required key `{prefix}bootstrap.servers` ({needs})"));
    }
    let mut defaults = vec![("partitioner", "murmur2_random"), ("client.id", "sluice")];
    let acks = props.iter().rev().find(|(k, _)| k == "acks").map(|(_, v)| v.trim());
    if acks.is_none_or(|a| a == "all" || a == "-1") {
        defaults.push(("acks", "all"));
        defaults.push(("enable.idempotence", "true"));
    } else if !user_set("enable.idempotence") {
        // As the Java client does: idempotence needs acks=all, so a weaker acks turns the default off.
        notes.push(format!("`{prefix}acks` is not all, so the producer is not idempotent (as in the Java client)"));
    }
    for (key, value) in defaults {
        if !entries.iter().any(|(k, _)| k == key) {
            entries.insert(0, (key.into(), value.into()));
        }
    }
    for (key, value) in &entries {
        let mut one = ClientConfig::new();
        one.set(key, value);
        if let Err(e) = one.create_native_config() {
            problems.push(config_problem(prefix, key, value, &e));
        }
    }
    if problems.is_empty() {
        // Some combinations are only checked when a client is made (acks with idempotence, in-flight limits). Without
        // bootstrap servers the client has no broker to dial.
        let config: ClientConfig = entries.iter().filter(|(k, _)| k != "bootstrap.servers").cloned().collect();
        if let Err(e) = config.create::<BaseProducer>() {
            let keys = if prefix.is_empty() { String::new() } else { format!(" (`{prefix}*`)") };
            problems.push(format!("the Kafka client settings{keys} are inconsistent: {e}"));
        }
    }
    if problems.is_empty() {
        Ok(ProducerSettings { entries, notes })
    } else {
        Err(problems)
    }
}

fn config_problem(prefix: &str, key: &str, value: &str, e: &KafkaError) -> String {
    let reason = match e {
        KafkaError::ClientConfig(_, description, _, _) => description.clone(),
        other => other.to_string(),
    };
    let full = RENAMED.iter().find(|(_, r)| *r == key).map_or(key, |(java, _)| java);
    format!("`{prefix}{full}` = `{}`: librdkafka rejects it: {reason}", sluice_core::secret::shown_value(key, value))
}

/// `username` and `password` of a JAAS line for Kafka's PLAIN or SCRAM login module.
fn jaas_credentials(jaas: &str) -> Option<(String, String)> {
    let module = jaas.split_whitespace().next()?;
    if !(module.ends_with("PlainLoginModule") || module.ends_with("ScramLoginModule")) {
        return None;
    }
    let field = |name: &str| -> Option<String> {
        let mut rest = jaas;
        loop {
            let at = rest.find(name)?;
            let before = rest[..at].chars().next_back();
            rest = &rest[at + name.len()..];
            if before.is_some_and(|c| !c.is_whitespace()) {
                continue;
            }
            let quoted = rest.trim_start().strip_prefix('=')?.trim_start().strip_prefix('"')?;
            return Some(quoted[..quoted.find('"')?].to_string());
        }
    };
    Some((field("username")?, field("password")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_acks_all_idempotent_and_java_partitioning() {
        let s = producer_settings(&props(&[("bootstrap.servers", "127.0.0.1:9092")])).unwrap();
        assert_eq!(s.get("acks"), Some("all"));
        assert_eq!(s.get("enable.idempotence"), Some("true"));
        assert_eq!(s.get("partitioner"), Some("murmur2_random"));
        assert_eq!(s.get("bootstrap.servers"), Some("127.0.0.1:9092"));
    }

    #[test]
    fn user_values_win_over_defaults() {
        let s = producer_settings(&props(&[
            ("bootstrap.servers", "b:9092"),
            ("client.id", "orders-cdc"),
            ("compression.type", "zstd"),
            ("linger.ms", "20"),
            ("batch.size", "65536"),
        ]))
        .unwrap();
        assert_eq!(s.get("client.id"), Some("orders-cdc"));
        assert_eq!(s.get("compression.type"), Some("zstd"));
    }

    #[test]
    fn every_compression_type_is_accepted() {
        for c in ["zstd", "lz4", "snappy", "gzip", "none"] {
            producer_settings(&props(&[("bootstrap.servers", "b:9092"), ("compression.type", c)]))
                .unwrap_or_else(|e| panic!("{c}: {e:?}"));
        }
    }

    #[test]
    fn java_only_keys_are_ignored_with_a_note() {
        let s = producer_settings(&props(&[
            ("bootstrap.servers", "b:9092"),
            ("key.serializer", "org.apache.kafka.common.serialization.StringSerializer"),
            ("value.serializer", "org.apache.kafka.common.serialization.StringSerializer"),
            ("key.converter.schemas.enable", "true"),
            ("buffer.memory", "33554432"),
        ]))
        .unwrap();
        assert_eq!(s.notes.len(), 4, "{:?}", s.notes);
        assert!(s.notes[0].contains("debezium.sink.kafka.producer.key.serializer"));
        assert_eq!(s.get("key.serializer"), None);
    }

    #[test]
    fn max_request_size_becomes_message_max_bytes() {
        let s = producer_settings(&props(&[("bootstrap.servers", "b:9092"), ("max.request.size", "2000000")])).unwrap();
        assert_eq!(s.get("message.max.bytes"), Some("2000000"));
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it() {
        let e = producer_settings(&props(&[("bootstrap.servers", "b:9092"), ("lingr.ms", "5")])).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("`debezium.sink.kafka.producer.lingr.ms`"), "{e:?}");
    }

    #[test]
    fn an_invalid_value_is_an_error_naming_the_key() {
        let e =
            producer_settings(&props(&[("bootstrap.servers", "b:9092"), ("compression.type", "brotli")])).unwrap_err();
        assert!(e[0].contains("debezium.sink.kafka.producer.compression.type") && e[0].contains("brotli"), "{e:?}");
    }

    #[test]
    fn bootstrap_servers_are_required() {
        let e = producer_settings(&props(&[("acks", "all")])).unwrap_err();
        assert!(e[0].contains("missing required key `debezium.sink.kafka.producer.bootstrap.servers`"), "{e:?}");
    }

    #[test]
    fn weaker_acks_turn_idempotence_off_like_the_java_client() {
        let s = producer_settings(&props(&[("bootstrap.servers", "b:9092"), ("acks", "1")])).unwrap();
        assert_eq!(s.get("enable.idempotence"), None);
        assert!(s.notes.iter().any(|n| n.contains("not idempotent")));
    }

    #[test]
    fn inconsistent_settings_are_rejected_before_connecting() {
        let e = producer_settings(&props(&[
            ("bootstrap.servers", "b:9092"),
            ("acks", "1"),
            ("enable.idempotence", "true"),
        ]))
        .unwrap_err();
        assert!(e[0].contains("inconsistent") && e[0].contains("acks"), "{e:?}");
    }

    #[test]
    fn jaas_plain_and_scram_credentials_are_translated() {
        let s = producer_settings(&props(&[
            ("bootstrap.servers", "b:9092"),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="cdc" password="s3cr=t";"#,
            ),
        ]))
        .unwrap();
        assert_eq!(s.get("sasl.username"), Some("cdc"));
        assert_eq!(s.get("sasl.password"), Some("s3cr=t"));
    }

    #[test]
    fn other_jaas_modules_are_an_error_without_the_secret() {
        let e = producer_settings(&props(&[
            ("bootstrap.servers", "b:9092"),
            ("sasl.jaas.config", "com.sun.security.auth.module.Krb5LoginModule required keyTab=\"/k\";"),
        ]))
        .unwrap_err();
        assert!(e[0].contains("sasl.username") && !e[0].contains("/k"), "{e:?}");
    }

    #[test]
    fn secrets_never_appear_in_errors() {
        let e = producer_settings(&props(&[("bootstrap.servers", "b:9092"), ("sasl.passwrd", "hunter2")])).unwrap_err();
        assert!(!e.concat().contains("hunter2"), "{e:?}");
    }

    #[test]
    fn java_trust_stores_get_the_pem_hint() {
        let e = producer_settings(&props(&[
            ("bootstrap.servers", "b:9092"),
            ("ssl.truststore.location", "/etc/kafka/truststore.jks"),
        ]))
        .unwrap_err();
        assert!(e[0].contains("ssl.ca.location"), "{e:?}");
    }

    #[test]
    fn transactional_ids_are_not_supported_yet() {
        let e = producer_settings(&props(&[("bootstrap.servers", "b:9092"), ("transactional.id", "x")])).unwrap_err();
        assert!(e[0].contains("not supported yet"), "{e:?}");
    }

    #[test]
    fn code_loading_keys_are_refused_before_librdkafka_sees_them() {
        let dir = tempfile::tempdir().unwrap();
        for key in CODE_LOADING_KEYS {
            let library = dir.path().join("evil.so");
            let e = producer_settings(&props(&[("bootstrap.servers", "b:9092"), (key, library.to_str().unwrap())]))
                .unwrap_err();
            assert!(e.iter().any(|p| p.contains(key) && p.contains("does not load")), "{e:?}");
        }
    }

    #[test]
    fn validation_dials_no_broker() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let bootstrap = listener.local_addr().unwrap().to_string();
        producer_settings(&props(&[("bootstrap.servers", &bootstrap)])).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(listener.accept().is_err(), "validating the settings connected to the broker");
    }
}
