//! What a connector configuration submitted over REST may ask of the worker.
//!
//! Whoever reaches the REST port writes these configurations, and the worker acts on them with its own rights. So a
//! configuration is data, never privilege:
//!
//! - client overrides (`producer.override.*`) follow Kafka Connect's `connector.client.config.override.policy`
//!   (`All`, its default; `Principal`: only the SASL principal keys; `None`);
//! - even where overrides are allowed, keys that load code or run commands (`plugin.library.paths`, OpenSSL
//!   engines, `sasl.kerberos.kinit.cmd`) are refused, before librdkafka sees them;
//! - keys that name local files (`*.location`, `*.keytab`, `database.sslrootcert`, …) may only name files inside
//!   the directories the worker allows to be read (`config.providers.file.param.allowed.paths`), or be a
//!   placeholder, which the worker resolves within the same limits.
//!
//! The worker file's own `producer.*` defaults are the operator's and are not limited.

use std::collections::BTreeMap;
use std::path::Path;

use sluice_config::ProviderLimits;

/// Kafka Connect's `connector.client.config.override.policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverridePolicy {
    None,
    Principal,
    All,
}

/// The client keys `Principal` allows, as Kafka's `PrincipalConnectorClientConfigOverridePolicy`.
const PRINCIPAL_KEYS: &[&str] = &["sasl.jaas.config", "sasl.mechanism", "security.protocol"];

/// Client keys that run a program, besides those that load code into the process.
const COMMAND_KEYS: &[&str] = &["sasl.kerberos.kinit.cmd"];

/// Connector keys Sluice sets itself, whatever a submission says.
const WORKER_OWNED_KEYS: &[&str] = &["offset.storage.file.filename"];

impl OverridePolicy {
    /// From the worker key: Kafka's short names or class names.
    pub fn parse(value: &str) -> Result<Self, String> {
        let short =
            value.trim().rsplit('.').next().unwrap_or("").trim_end_matches("ConnectorClientConfigOverridePolicy");
        match short {
            "None" => Ok(OverridePolicy::None),
            "Principal" => Ok(OverridePolicy::Principal),
            "All" => Ok(OverridePolicy::All),
            _ => Err(format!(
                "`connector.client.config.override.policy` = `{value}`: expected None, Principal or All (or their class names)"
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            OverridePolicy::None => "None",
            OverridePolicy::Principal => "Principal",
            OverridePolicy::All => "All",
        }
    }
}

/// Whether a client key loads code or runs a command.
fn runs_code(client_key: &str) -> bool {
    sluice_sinks::kafka::CODE_LOADING_KEYS.contains(&client_key) || COMMAND_KEYS.contains(&client_key)
}

/// Whether a key's value names a local file.
fn names_a_file(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    key.ends_with(".location")
        || key.ends_with(".keytab")
        || matches!(last, "sslrootcert" | "sslcert" | "sslkey" | "filename" | "file" | "path" | "paths" | "dir")
        || key.ends_with("certificate.stores")
}

/// Every reason `connector` may not be run as submitted; empty when it may.
pub fn problems(connector: &BTreeMap<String, String>, policy: OverridePolicy, limits: &ProviderLimits) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, value) in connector {
        let client_key = key.strip_prefix("producer.override.").or_else(|| key.strip_prefix("producer."));
        if let Some(client_key) = client_key {
            if runs_code(client_key) {
                problems.push(format!(
                    "`{key}`: loading code or running commands is not allowed in a submitted configuration"
                ));
                continue;
            }
            let allowed = match policy {
                OverridePolicy::All => true,
                OverridePolicy::Principal => PRINCIPAL_KEYS.contains(&client_key),
                OverridePolicy::None => false,
            };
            if !allowed {
                problems.push(format!(
                    "`{key}`: the worker's connector.client.config.override.policy ({}) does not allow overriding \
                     this client setting",
                    policy.name()
                ));
                continue;
            }
        }
        if names_a_file(key) && !WORKER_OWNED_KEYS.contains(&key.as_str()) && !file_allowed(value, limits) {
            problems.push(format!(
                "`{key}` names a local file outside the directories this worker lets submitted configurations read \
                 (`config.providers.file.param.allowed.paths`)"
            ));
        }
    }
    problems
}

/// A path inside the allowed directories, or exactly one placeholder (resolved later, within the same limits).
fn file_allowed(value: &str, limits: &ProviderLimits) -> bool {
    let value = value.trim();
    let one_placeholder = value.starts_with("${") && value.ends_with('}') && value.matches("${").count() == 1;
    one_placeholder || value.split(',').map(str::trim).all(|p| limits.file_allowed(Path::new(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn nothing_allowed() -> ProviderLimits {
        ProviderLimits::submitted(None, None).unwrap()
    }

    #[test]
    fn code_loading_keys_are_refused_under_every_policy() {
        for policy in [OverridePolicy::All, OverridePolicy::Principal, OverridePolicy::None] {
            for key in ["producer.override.plugin.library.paths", "producer.override.sasl.kerberos.kinit.cmd"] {
                let p = problems(&config(&[(key, "/tmp/evil.so")]), policy, &nothing_allowed());
                assert!(p.len() == 1 && p[0].contains("loading code"), "{policy:?} {key}: {p:?}");
            }
        }
    }

    #[test]
    fn overrides_follow_the_policy() {
        let compression = config(&[("producer.override.compression.type", "zstd")]);
        let jaas = config(&[("producer.override.sasl.jaas.config", "x")]);
        assert!(problems(&compression, OverridePolicy::All, &nothing_allowed()).is_empty());
        assert!(problems(&compression, OverridePolicy::Principal, &nothing_allowed())[0].contains("Principal"));
        assert!(problems(&jaas, OverridePolicy::Principal, &nothing_allowed()).is_empty());
        assert!(problems(&jaas, OverridePolicy::None, &nothing_allowed())[0].contains("None"));
    }

    #[test]
    fn file_keys_may_only_name_allowed_files_or_a_placeholder() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("ca.pem");
        std::fs::write(&cert, "x").unwrap();
        let limits = ProviderLimits::submitted(Some(&dir.path().display().to_string()), None).unwrap();
        let inside = cert.display().to_string();
        for key in ["producer.override.ssl.ca.location", "database.sslrootcert", "producer.override.ssl.key.location"] {
            assert!(!problems(&config(&[(key, "/etc/shadow")]), OverridePolicy::All, &limits).is_empty(), "{key}");
            assert!(problems(&config(&[(key, &inside)]), OverridePolicy::All, &limits).is_empty(), "{key}");
            assert!(problems(&config(&[(key, "${file:/x.properties:ca}")]), OverridePolicy::All, &limits).is_empty());
        }
        let owned = config(&[("offset.storage.file.filename", "/etc/passwd")]);
        assert!(problems(&owned, OverridePolicy::All, &limits).is_empty(), "the worker sets it itself");
    }

    #[test]
    fn the_policy_is_read_from_short_and_class_names() {
        assert_eq!(OverridePolicy::parse("All").unwrap(), OverridePolicy::All);
        assert_eq!(
            OverridePolicy::parse("org.apache.kafka.connect.connector.policy.NoneConnectorClientConfigOverridePolicy")
                .unwrap(),
            OverridePolicy::None
        );
        assert!(OverridePolicy::parse("Some").is_err());
    }
}
