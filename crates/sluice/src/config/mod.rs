//! The whole configuration, assembled from the parts that own it.
//!
//! Every part declares and reads its own keys (the PostgreSQL source in `sluice_postgres::settings`, the event format
//! and transforms in `sluice_format::settings`, the engine in `sluice_engine::settings`, each sink in its folder of
//! `sluice-sinks`); `sluice-config` classifies keys without knowing any of them. This module is the one place that
//! lists the parts ([`registry`]) and reads them into one [`Config`].

use std::path::Path;
use std::sync::{Arc, OnceLock};

use sluice_config::{key, ConfigError, KeySet, ProviderLimits, Registry, Settings};
use sluice_engine::settings::{EngineSettings, OffsetConfig, OffsetStorage};
use sluice_format::settings::{EventSettings, TransformConfig};
use sluice_postgres::settings::PostgresSettings;
use sluice_sinks::registry::SinkConfig;

pub use sluice_config::{parse_properties, redact, Entry};

pub mod reference;

/// A valid configuration plus what the caller should log.
pub type LoadedConfig = sluice_config::Loaded<Config>;

/// Debezium Server's own keys: the HTTP listener of its health and metrics endpoints.
static SERVER_KEYS: KeySet = KeySet {
    owner: "the server",
    prefix: "",
    keys: &[
        key("quarkus.http.port", "", "serve metrics and health probes on this port; unset: off"),
        key("quarkus.http.host", "0.0.0.0", "the address they listen on"),
    ],
    not_yet: &["debezium.api."],
    ..KeySet::EMPTY
};

/// Every part's keys, in one registry.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let registry = Registry::new()
            .with(&sluice_postgres::settings::KEYS)
            .with(&sluice_format::settings::EVENT_KEYS)
            .with(&sluice_format::settings::FORMAT_KEYS)
            .with(&sluice_format::settings::TRANSFORM_KEYS)
            .with(&sluice_engine::settings::KEYS)
            .with(&SERVER_KEYS);
        sluice_sinks::registry::register(registry)
    })
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Where to serve metrics and health probes (`quarkus.http.host`:`quarkus.http.port`); off when the port is unset.
    pub http: Option<std::net::SocketAddr>,
    pub source: PostgresSettings,
    pub events: EventSettings,
    pub engine: EngineSettings,
    pub sink: Arc<dyn SinkConfig>,
    /// `debezium.transforms`, in order.
    pub transforms: Vec<TransformConfig>,
}

impl Config {
    pub fn offsets(&self) -> &OffsetConfig {
        &self.engine.offsets
    }
}

fn read(s: &mut Settings) -> Config {
    let source = sluice_postgres::settings::read(s);
    let sink = sluice_sinks::registry::read(s);
    let events = sluice_format::settings::read(s);
    let engine = sluice_engine::settings::read(s);
    if let OffsetStorage::Kafka(kafka) = &engine.offsets.storage {
        // The Kafka offset store's clients, checked like the producer's before anything connects.
        if let Err(problems) = sluice_sinks::kafka::offset_client_settings(&kafka.client) {
            problems.into_iter().for_each(|p| s.problem(p));
        }
    }
    let transforms = sluice_format::settings::read_transforms(s);
    sluice_format::settings::check_transform_converters(s, &transforms, &events.key, &events.value);
    Config { http: http(s), source, events, engine, sink, transforms }
}

fn http(s: &mut Settings) -> Option<std::net::SocketAddr> {
    let port: u16 = s.number("quarkus.http.port", 0u16, "a port number (0-65535)");
    let host = s.get("quarkus.http.host").map(|h| h.trim().to_string());
    s.get("quarkus.http.port")?;
    let host = host.unwrap_or_else(|| "0.0.0.0".into());
    let host = if host == "localhost" { "127.0.0.1".to_string() } else { host };
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => Some(std::net::SocketAddr::new(ip, port)),
        Err(_) => {
            s.problem(format!("`quarkus.http.host` = `{host}` is not an IP address (use 0.0.0.0, 127.0.0.1, ::)"));
            None
        }
    }
}

/// Loads and validates a properties file.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    parse_str(&sluice_config::read_file(path)?)
}

/// Validates properties text, resolving placeholders from the process environment.
pub fn parse_str(text: &str) -> Result<LoadedConfig, ConfigError> {
    parse_with_env(text, &|name| std::env::var(name).ok())
}

/// Validates properties text with a given environment (tests).
pub fn parse_with_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<LoadedConfig, ConfigError> {
    sluice_config::parse_with_env(text, env, registry(), read)
}

/// Validates keys and values that did not come from a file (the REST API's connector configurations): the same
/// checks, without line numbers, with placeholders limited by `limits`.
pub fn from_pairs(
    pairs: impl IntoIterator<Item = (String, String)>,
    env: &dyn Fn(&str) -> Option<String>,
    limits: &ProviderLimits,
) -> Result<LoadedConfig, ConfigError> {
    sluice_config::from_pairs(pairs, env, limits, registry(), read)
}

#[cfg(test)]
mod tests;
