//! One rule for what counts as a secret, for every surface that shows configuration: REST responses, validation
//! errors, logs.
//!
//! The rule is by key name, case-insensitive, and errs on the side of hiding: a value hidden by mistake costs a
//! look at the file, a value shown by mistake cannot be taken back. It covers passwords, private keys (inline PEM
//! and their locations), tokens, API keys, JAAS lines and OAuth settings, under Debezium's, Kafka's and
//! librdkafka's names (`database.password`, `ssl.key.pem`, `sasl.jaas.config`, `sasl.oauthbearer.client.secret`, …).

/// What a hidden value is replaced with.
pub const HIDDEN: &str = "[hidden]";

/// Fragments of key names whose values are secret.
const SECRET_FRAGMENTS: &[&str] = &[
    "passw",
    "pwd",
    "passphrase",
    "secret",
    "jaas",
    "token",
    "credential",
    "private",
    "apikey",
    "api.key",
    "api_key",
    "pem",
    "sslkey",
    "ssl.key",
    "keystore.key",
    "oauthbearer.config",
    "authorization",
];

/// Whether the value of `key` must never be shown.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_FRAGMENTS.iter().any(|f| lower.contains(f))
}

/// `value` as it may be shown for `key`: [`HIDDEN`] for secrets.
pub fn shown_value<'a>(key: &str, value: &'a str) -> &'a str {
    if is_secret_key(key) {
        HIDDEN
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_whatever_the_case() {
        for key in [
            "database.password",
            "Database.PASSWORD",
            "producer.override.ssl.key.pem",
            "producer.override.SSL.KEY.PEM",
            "ssl.keystore.key",
            "ssl.key.password",
            "sasl.passwrd",
            "database.sslkey",
            "sasl.jaas.config",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.config",
            "sasl.password",
            "ssl.keystore.password",
            "schema.registry.basic.auth.credentials.source",
            "some.api.key",
            "ssl.certificate.pem",
            "http.Authorization",
        ] {
            assert!(is_secret_key(key), "{key}");
            assert_eq!(shown_value(key, "x"), HIDDEN);
        }
    }

    #[test]
    fn ordinary_keys_are_shown() {
        for key in [
            "database.user",
            "database.hostname",
            "key.converter",
            "message.key.columns",
            "topic.prefix",
            "bootstrap.servers",
            "sasl.username",
            "transforms.outbox.table.field.event.key",
        ] {
            assert!(!is_secret_key(key), "{key}");
            assert_eq!(shown_value(key, "x"), "x");
        }
    }
}
