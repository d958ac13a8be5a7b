//! `sluice connect`: a Kafka Connect–compatible REST API, so the tools platform teams already drive Debezium with
//! (a Helm hook that PUTs a connector's JSON, `curl …/status` in runbooks) drive Sluice the same way.
//!
//! The worker file has Kafka Connect's worker keys (`bootstrap.servers`, `listeners` or `rest.host.name` /
//! `rest.port`, `offset.storage.file.filename` or distributed mode's `offset.storage.topic`, `config.providers`,
//! converters and `producer.*` defaults); each
//! connector configuration has Kafka Connect's connector keys (no `debezium.source.` prefix; `key.converter`,
//! `transforms.*`, `producer.override.*`). A connector configuration is translated into the Debezium Server keys
//! `sluice run` reads, validated by the very same code, and run as one pipeline into the worker's Kafka. Connector
//! configurations and their states are kept in a JSON file beside the offsets, so they survive a restart.
//!
//! Status codes and JSON shapes follow Kafka Connect's REST API. Values of keys that look like secrets are
//! replaced by `[hidden]` in every response ([`sluice_core::secret`]), and configurations are never logged.
//!
//! The API is an attack surface (docs/security.md): it listens on loopback unless told otherwise, can require
//! basic authentication and TLS ([`access`]), treats submitted configurations as data ([`policy`], and placeholders
//! limited by [`sluice_config::ProviderLimits`]), never uses a connector name as a path ([`names`]), keeps its
//! store readable by the worker alone ([`store`]), and never makes a request wait on a pipeline ([`supervisor`]).

mod access;
#[cfg(test)]
mod corpus;
mod loggers;
mod names;
mod offsets;
mod plugins;
mod policy;
mod store;
mod supervisor;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use sluice_config::ProviderLimits;
use tokio::sync::watch;

use crate::config;
pub use access::Access;
pub use loggers::{ApplyFilter, Loggers};
pub use policy::OverridePolicy;
use supervisor::{Connector, Desired, Observed};

const CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
/// Kafka Connect's default `task.shutdown.graceful.timeout.ms`.
const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(5);
/// A connector restarting after this many failures in a row shows FAILED (with the error and its hint) until it
/// streams again; a single failure that the first restart cures stays RUNNING.
const FAILED_AFTER_ATTEMPTS: u32 = 2;
/// Where the API listens unless `listeners` or `rest.host.name` / `rest.port` say otherwise: loopback only.
const DEFAULT_LISTEN: &str = "127.0.0.1:8083";

/// The worker's settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub listen: SocketAddr,
    pub bootstrap_servers: String,
    /// Kafka Connect's offsets file; Sluice keeps one offsets file per connector in a folder beside it, and the
    /// connector configurations beside it too (also when the offsets are in a topic).
    pub offsets_file: PathBuf,
    /// Distributed mode's offsets topic (`offset.storage.topic`): every connector's offsets go there instead.
    pub offsets_topic: Option<OffsetsTopic>,
    /// Worker-level converters and `producer.*`, the defaults of every connector.
    pub defaults: Vec<(String, String)>,
    /// Who may use the API.
    pub access: Access,
    /// TLS for the listener (`listeners=https://…`).
    pub tls: Option<access::Tls>,
    /// What placeholders in submitted configurations may read.
    pub limits: ProviderLimits,
    /// `connector.client.config.override.policy`.
    pub override_policy: OverridePolicy,
    /// `task.shutdown.graceful.timeout.ms`: how long a stopping connector may drain.
    pub graceful_stop: Duration,
}

/// Kafka Connect's offsets topic, as a distributed worker configures it.
#[derive(Clone, Debug)]
pub struct OffsetsTopic {
    pub topic: String,
    /// `offset.storage.partitions` (Kafka Connect's default 25; `-1`: the broker's).
    pub partitions: String,
    /// `offset.storage.replication.factor` (Kafka Connect's default 3; `-1`: the broker's).
    pub replication_factor: String,
    /// The worker's `security.protocol`, `sasl.*` and, with TLS, `ssl.*`: the clients' settings besides
    /// `bootstrap.servers`.
    pub client: Vec<(String, String)>,
}

impl OffsetsTopic {
    fn from_worker(entries: &BTreeMap<String, String>) -> Option<OffsetsTopic> {
        let topic = entries.get("offset.storage.topic").map(|t| t.trim()).filter(|t| !t.is_empty())?;
        let tls = entries.get("security.protocol").is_some_and(|p| p.to_ascii_uppercase().contains("SSL"));
        let client = entries
            .iter()
            .filter(|(k, _)| *k == "security.protocol" || k.starts_with("sasl.") || (tls && k.starts_with("ssl.")))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let get = |key: &str, default: &str| entries.get(key).map_or(default, |v| v.as_str()).trim().to_string();
        Some(OffsetsTopic {
            topic: topic.to_string(),
            partitions: get("offset.storage.partitions", "25"),
            replication_factor: get("offset.storage.replication.factor", "3"),
            client,
        })
    }
}

/// Kafka Connect worker keys that configure parts Sluice does not have (distributed mode's topics, plugin paths,
/// …): accepted and ignored, as Kafka Connect ignores keys it does not use.
fn worker_key_is_known(key: &str) -> bool {
    const KNOWN: &[&str] = &[
        "group.id",
        "config.storage.topic",
        "status.storage.topic",
        "config.storage.replication.factor",
        "status.storage.replication.factor",
        "offset.storage.partitions",
        "offset.storage.replication.factor",
        "security.protocol",
        "offset.flush.interval.ms",
        "plugin.path",
        "rest.advertised.host.name",
        "rest.advertised.port",
        "config.providers",
        "rest.extension.classes",
        "rest.basic.auth.credentials.file",
        "rest.unauthenticated.paths",
        "java.security.auth.login.config",
        "connector.client.config.override.policy",
        "task.shutdown.graceful.timeout.ms",
    ];
    KNOWN.contains(&key)
        || key.starts_with("config.providers.")
        || key.starts_with("consumer.")
        || key.starts_with("admin.")
        || key.starts_with("sasl.")
        || key.starts_with("listeners.https.")
        || key.starts_with("ssl.")
}

/// Reads a worker properties file; every problem is returned, one per line.
pub fn load_worker(path: &FsPath) -> Result<WorkerConfig, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
    let entries: BTreeMap<String, String> =
        config::parse_properties(&text).into_iter().map(|e| (e.key, e.value)).collect();
    let mut problems = Vec::new();
    let bootstrap_servers = entries.get("bootstrap.servers").cloned().unwrap_or_else(|| {
        problems.push("missing required worker key `bootstrap.servers`".to_string());
        String::new()
    });
    let mut https = false;
    let listen = match (entries.get("listeners"), entries.get("rest.host.name"), entries.get("rest.port")) {
        (Some(listeners), _, _) => {
            let first = listeners.split(',').next().unwrap_or("").trim();
            let (scheme, hostport) = first.split_once("://").unwrap_or(("http", first));
            https = scheme.eq_ignore_ascii_case("https");
            if !https && !scheme.eq_ignore_ascii_case("http") {
                problems.push(format!("`listeners` = `{listeners}`: the scheme must be http or https"));
            }
            let hostport = hostport.replacen("localhost", "127.0.0.1", 1);
            // Kafka's `http://:8083` means every interface: an explicit choice, documented as such.
            let hostport = if hostport.starts_with(':') { format!("0.0.0.0{hostport}") } else { hostport };
            hostport.parse().map_err(|_| {
                problems.push(format!("`listeners` = `{listeners}`: expected http[s]://HOST:PORT (an IP address)"))
            })
        }
        (None, host, port) => {
            let default: SocketAddr = DEFAULT_LISTEN.parse().expect("a valid address");
            let host = host.map(|h| h.replace("localhost", "127.0.0.1")).unwrap_or_else(|| default.ip().to_string());
            let port = port.map_or("8083", |p| p.as_str());
            format!("{host}:{port}").parse().map_err(|_| {
                problems.push(format!("`rest.host.name` / `rest.port` = `{host}:{port}` is not an IP address and port"))
            })
        }
    };
    let tls = if https { access::tls_acceptor(&entries, &mut problems) } else { None };
    let access = Access::from_worker(&entries, &mut problems);
    let limits = ProviderLimits::submitted(
        entries.get("config.providers.file.param.allowed.paths").map(String::as_str),
        entries.get("config.providers.env.param.allowlist.pattern").map(String::as_str),
    )
    .unwrap_or_else(|e| {
        problems.push(e);
        ProviderLimits::submitted(None, None).expect("the empty limits are valid")
    });
    let override_policy = entries
        .get("connector.client.config.override.policy")
        .map_or(Ok(OverridePolicy::All), |p| OverridePolicy::parse(p));
    let override_policy = override_policy.unwrap_or_else(|e| {
        problems.push(e);
        OverridePolicy::None
    });
    let graceful_stop = match entries.get("task.shutdown.graceful.timeout.ms").map(|v| v.trim().parse::<u64>()) {
        None => DEFAULT_GRACEFUL_STOP,
        Some(Ok(ms)) => Duration::from_millis(ms),
        Some(Err(_)) => {
            problems.push("`task.shutdown.graceful.timeout.ms` must be a number of milliseconds".into());
            DEFAULT_GRACEFUL_STOP
        }
    };
    let offsets_file =
        PathBuf::from(entries.get("offset.storage.file.filename").map_or("data/connect.offsets", |s| s.as_str()));
    let offsets_topic = OffsetsTopic::from_worker(&entries);
    if let Some(topic) = &offsets_topic {
        // Checked once here, with the worker's key names, rather than in every connector's configuration.
        let mut client = topic.client.clone();
        client.push(("bootstrap.servers".into(), bootstrap_servers.clone()));
        if let Err(found) = sluice_sinks::kafka::client_settings("", "offset.storage.topic is set", &client) {
            problems.extend(found);
        }
    }
    let mut defaults = Vec::new();
    for (key, value) in &entries {
        match key.as_str() {
            "bootstrap.servers"
            | "listeners"
            | "rest.host.name"
            | "rest.port"
            | "offset.storage.file.filename"
            | "offset.storage.topic" => {}
            k if k.starts_with("key.converter") || k.starts_with("value.converter") || k.starts_with("producer.") => {
                defaults.push((key.clone(), value.clone()))
            }
            k if worker_key_is_known(k) => {}
            other => tracing::warn!(key = other, "worker configuration key is not used by Sluice"),
        }
    }
    match (listen, problems.is_empty()) {
        (Ok(listen), true) => Ok(WorkerConfig {
            listen,
            bootstrap_servers,
            offsets_file,
            offsets_topic,
            defaults,
            access,
            tls,
            limits,
            override_policy,
            graceful_stop,
        }),
        _ => Err(problems),
    }
}

/// Kafka Connect's converter classes → Debezium Server's formats.
fn format_of(converter: &str) -> String {
    match converter.trim() {
        "org.apache.kafka.connect.json.JsonConverter" => "json".into(),
        "org.apache.kafka.connect.storage.StringConverter" => "simplestring".into(),
        "io.debezium.converters.BinaryDataConverter" | "org.apache.kafka.connect.converters.ByteArrayConverter" => {
            "binary".into()
        }
        // Converters Sluice does not have yet (Avro, Protobuf, CloudEvents) keep their class, so the "not supported
        // yet" problem names what the user wrote.
        other => other.to_string(),
    }
}

/// Kafka Connect's own checks of the framework keys Sluice reads (`errors.*`): a value Kafka Connect refuses is refused
/// here too, in its words.
fn framework_problems(config: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let invalid =
        |key: &str, value: &str, rule: &str| format!("`{key}`: Invalid value {value} for configuration {key}: {rule}");
    if let Some(value) = config.get("errors.tolerance") {
        if !["none", "all"].iter().any(|t| value.trim().eq_ignore_ascii_case(t)) {
            problems.push(invalid("errors.tolerance", value, "String must be one of: none, all"));
        }
    }
    for key in ["errors.log.enable", "errors.log.include.messages"] {
        if let Some(value) = config.get(key) {
            if !["true", "false"].iter().any(|b| value.trim().eq_ignore_ascii_case(b)) {
                problems.push(invalid(key, value, "Expected value to be either true or false"));
            }
        }
    }
    for key in ["errors.retry.timeout", "errors.retry.delay.max.ms"] {
        if let Some(value) = config.get(key) {
            if value.trim().parse::<i64>().is_err() {
                problems.push(invalid(key, value, "Not a number of type LONG"));
            }
        }
    }
    problems
}

/// Kafka Connect's `errors.tolerance=all` for a source connector: records that fail conversion are skipped, and logged
/// under `errors.log.enable=true`. Sluice's `event.processing.failure.handling.mode` does that (`warn` logs, `skip`
/// counts only), unless the configuration sets it itself.
fn failure_mode_of(connector: &BTreeMap<String, String>) -> Option<&'static str> {
    let tolerant = connector.get("errors.tolerance").is_some_and(|t| t.trim().eq_ignore_ascii_case("all"));
    if !tolerant || connector.contains_key("event.processing.failure.handling.mode") {
        return None;
    }
    let logged = connector.get("errors.log.enable").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    Some(if logged { "warn" } else { "skip" })
}

/// A connector's Kafka Connect configuration as Debezium Server keys for the pipeline.
pub fn translate(worker: &WorkerConfig, name: &str, connector: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    if let Some(mode) = failure_mode_of(connector) {
        out.insert("debezium.source.event.processing.failure.handling.mode".into(), mode.into());
    }
    let merged = worker.defaults.iter().cloned().chain(connector.iter().map(|(k, v)| (k.clone(), v.clone())));
    for (key, value) in merged {
        let (k, v) = match key.as_str() {
            "name" | "tasks.max" | "header.converter" | "topic.creation.enable" => continue,
            k if k.starts_with("errors.") || k.starts_with("config.action.") => continue,
            "key.converter" => ("debezium.format.key".to_string(), format_of(&value)),
            "value.converter" => ("debezium.format.value".to_string(), format_of(&value)),
            k if k.starts_with("key.converter.") => (format!("debezium.format.key.{}", &k[14..]), value),
            k if k.starts_with("value.converter.") => (format!("debezium.format.value.{}", &k[16..]), value),
            k if k.starts_with("transforms") || k.starts_with("predicates") => (format!("debezium.{k}"), value),
            k if k.starts_with("producer.override.") => {
                (format!("debezium.sink.kafka.producer.{}", &k["producer.override.".len()..]), value)
            }
            k if k.starts_with("producer.") => {
                (format!("debezium.sink.kafka.producer.{}", &k["producer.".len()..]), value)
            }
            k => (format!("debezium.source.{k}"), value),
        };
        out.insert(k, v);
    }
    out.insert("debezium.sink.type".into(), "kafka".into());
    out.entry("debezium.sink.kafka.producer.bootstrap.servers".into())
        .or_insert_with(|| worker.bootstrap_servers.clone());
    match &worker.offsets_topic {
        None => {
            out.insert(
                "debezium.source.offset.storage.file.filename".into(),
                names::offsets_file(&worker.offsets_file, name).display().to_string(),
            );
        }
        Some(offsets) => {
            let source = |key: &str| format!("debezium.source.{key}");
            out.insert(source("offset.storage"), sluice_engine::settings::KAFKA_OFFSET_STORE.into());
            out.insert(source("offset.storage.topic"), offsets.topic.clone());
            out.insert(source("offset.storage.partitions"), offsets.partitions.clone());
            out.insert(source("offset.storage.replication.factor"), offsets.replication_factor.clone());
            out.insert(source("bootstrap.servers"), worker.bootstrap_servers.clone());
            for (key, value) in &offsets.client {
                out.insert(source(key), value.clone());
            }
            // Kafka Connect keys a connector's offsets by its name.
            out.insert(source("name"), name.to_string());
        }
    }
    out.into_iter().collect()
}

/// A problem about Debezium Server keys, told with the Kafka Connect keys the user wrote. Only key names change: a
/// prefix counts where a key starts (after a backtick, a space or the start), so a class name such as
/// `io.debezium.transforms.ByLogicalTableRouter` in the same message stays as written.
fn connect_key_names(problem: &str) -> String {
    const RENAMES: &[(&str, &str)] = &[
        ("debezium.source.", ""),
        ("debezium.sink.kafka.producer.", "producer.override."),
        ("debezium.transforms", "transforms"),
        ("debezium.predicates", "predicates"),
        ("debezium.format.key", "key.converter"),
        ("debezium.format.value", "value.converter"),
    ];
    let mut out = String::with_capacity(problem.len());
    let mut rest = problem;
    'scan: while !rest.is_empty() {
        let starts_key = out.chars().last().is_none_or(|c| !(c.is_alphanumeric() || c == '.' || c == '_'));
        if starts_key {
            for (from, to) in RENAMES {
                if let Some(after) = rest.strip_prefix(from) {
                    out.push_str(to);
                    rest = after;
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        out.extend(chars.next());
        rest = chars.as_str();
    }
    out
}

/// Validates a translated configuration exactly as `sluice run` would; problems name Kafka Connect's keys and never
/// show what a placeholder resolved to. Placeholders read only what the worker allows submitted configurations.
fn validate(worker: &WorkerConfig, pairs: Vec<(String, String)>) -> Result<config::LoadedConfig, Vec<String>> {
    let connect_names =
        |problems: Vec<String>| -> Vec<String> { problems.iter().map(|p| connect_key_names(p)).collect() };
    let mut loaded = config::from_pairs(pairs, &|name| std::env::var(name).ok(), &worker.limits)
        .map_err(|e| connect_names(e.problems()))?;
    loaded.warnings = connect_names(std::mem::take(&mut loaded.warnings));
    loaded
        .config
        .sink
        .check()
        .map_err(|problems| connect_names(problems.iter().map(|p| loaded.redact(p)).collect()))?;
    Ok(loaded)
}

/// A connector's target state, as Kafka Connect's pause/resume/stop set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetState {
    Running,
    Paused,
    Stopped,
}

/// The worker: its settings and its connectors. The map's lock is held only to look up or swap entries, never
/// across I/O or a pipeline's stop; `changes` lets one change at a time write the store, so the file and the map
/// agree.
struct Worker {
    config: Arc<WorkerConfig>,
    /// The process's log levels, which `/admin/loggers` reads and changes.
    loggers: Arc<Loggers>,
    connectors: Mutex<BTreeMap<String, Arc<Connector>>>,
    changes: tokio::sync::Mutex<()>,
}

type Shared = Arc<Worker>;

impl Worker {
    fn get(&self, name: &str) -> Option<Arc<Connector>> {
        self.connectors.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    fn names(&self) -> Vec<String> {
        self.connectors.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    /// The store as it would be with `name` set to `entry` (or removed), written durably; the caller applies the
    /// change only when this succeeds.
    fn persist_with(&self, name: &str, entry: Option<store::Stored>) -> std::io::Result<()> {
        let mut stored: BTreeMap<String, store::Stored> = self
            .connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, c)| {
                let d = c.desired();
                (n.clone(), store::Stored { config: d.config, target: d.target })
            })
            .collect();
        match entry {
            Some(e) => stored.insert(name.to_string(), e),
            None => stored.remove(name),
        };
        let path = store::path(&self.config.offsets_file);
        store::save(&path, &stored).inspect_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "cannot save the connector configurations");
        })
    }
}

/// The answer when the store cannot be written: nothing was changed.
fn not_saved(e: std::io::Error) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("cannot save the connector configurations, so nothing was changed: {e}"),
    )
}

fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, Json(json!({"error_code": code.as_u16(), "message": message.into()}))).into_response()
}

fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("Connector {name} not found"))
}

fn invalid(problems: &[String]) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        format!(
            "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
            problems.len(),
            problems.join("\n")
        ),
    )
}

/// A JSON request body; one that is not JSON gets Kafka Connect's error shape, not axum's plain text.
struct Body(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<Value>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(bad_json(rejection)),
        }
    }
}

fn bad_json(rejection: JsonRejection) -> Response {
    error(rejection.status(), format!("Cannot read the request body: {}", rejection.body_text()))
}

/// A configuration as shown: secret values hidden unless they are placeholders (`${file:…}`), which show where the
/// secret is, not what it is.
fn shown(config: &BTreeMap<String, String>) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| {
            let placeholder = v.trim_start().starts_with("${");
            let value = if placeholder { v.as_str() } else { sluice_core::secret::shown_value(k, v) };
            (k.clone(), Value::String(value.to_string()))
        })
        .collect()
}

fn info(name: &str, config: &BTreeMap<String, String>) -> Value {
    json!({"name": name, "config": shown(config), "tasks": [{"connector": name, "task": 0}], "type": "source"})
}

fn connector_config(body: &Value) -> Result<BTreeMap<String, String>, String> {
    let object = body.as_object().ok_or("the configuration must be a JSON object")?;
    object
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(_) | Value::Bool(_) => Ok((k.clone(), v.to_string())),
            _ => Err(format!("`{k}`: values must be strings")),
        })
        .collect()
}

/// A configuration read back (`GET …/config`, where secrets show as `[hidden]`) and PUT again keeps its secrets:
/// a secret key whose value is exactly the mask takes the stored value. With nothing stored it is an error, never
/// the literal mask as a password.
fn restore_hidden(
    config: &mut BTreeMap<String, String>,
    stored: Option<&BTreeMap<String, String>>,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (key, value) in config.iter_mut() {
        if value != sluice_core::secret::HIDDEN || !sluice_core::secret::is_secret_key(key) {
            continue;
        }
        match stored.and_then(|s| s.get(key)) {
            Some(secret) => *value = secret.clone(),
            None => problems.push(format!(
                "`{key}` is `{}`, the mask Sluice shows for secrets, and no value is stored for it: give the value \
                 itself, or a ${{file:…}} placeholder",
                sluice_core::secret::HIDDEN
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Creates or updates a connector; returns whether it was created. An identical configuration changes nothing.
async fn upsert(
    worker: &Shared,
    name: &str,
    mut config: BTreeMap<String, String>,
    initial: TargetState,
) -> Result<bool, Response> {
    if let Some(problem) = names::check(name) {
        return Err(error(StatusCode::BAD_REQUEST, problem));
    }
    if let Some(other) = config.get("name").filter(|n| n.as_str() != name) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("Connector name configuration ({other}) doesn't match connector name in the URL ({name})"),
        ));
    }
    config.insert("name".into(), name.to_string());
    if config.get("connector.class").map(|c| c.trim()) != Some(CONNECTOR_CLASS) {
        return Err(invalid(&[format!(
            "`connector.class`: Sluice runs {CONNECTOR_CLASS} (got `{}`)",
            config.get("connector.class").map_or("nothing", |c| c.as_str())
        )]));
    }
    let stored = worker.get(name).map(|c| c.desired().config);
    restore_hidden(&mut config, stored.as_ref()).map_err(|p| invalid(&p))?;
    let mut refused = policy::problems(&config, worker.config.override_policy, &worker.config.limits);
    refused.extend(framework_problems(&config));
    if !refused.is_empty() {
        return Err(invalid(&refused));
    }
    validate(&worker.config, translate(&worker.config, name, &config)).map_err(|p| invalid(&p))?;
    let _change = worker.changes.lock().await;
    let existing = worker.get(name);
    if existing.as_ref().is_some_and(|c| c.desired().config == config) {
        return Ok(false);
    }
    let created = existing.is_none();
    let target = existing.as_ref().map_or(initial, |c| c.desired().target);
    worker.persist_with(name, Some(store::Stored { config: config.clone(), target })).map_err(not_saved)?;
    match existing {
        Some(c) => c.update(|d| {
            d.config = config;
            d.generation += 1;
        }),
        None => {
            let connector = Connector::spawn(
                name.to_string(),
                worker.config.clone(),
                Desired { config, target, generation: 0, removed: false },
            );
            worker.connectors.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), Arc::new(connector));
        }
    }
    Ok(created)
}

async fn root() -> Json<Value> {
    Json(json!({"version": env!("CARGO_PKG_VERSION"), "commit": "sluice", "kafka_cluster_id": "sluice"}))
}

/// `GET /connector-plugins`, with Kafka Connect's `connectorsOnly` (default `true`).
async fn plugins(uri: axum::http::Uri) -> Response {
    match query_flag(&uri, "connectorsOnly", true) {
        Ok(connectors_only) => Json(plugins::list(connectors_only)).into_response(),
        Err(refused) => *refused,
    }
}

/// `GET /connector-plugins/{plugin}/config`: the connector's configuration definitions. Only the connector has
/// them here; the transformations and converters `?connectorsOnly=false` lists are described in
/// docs/configuration.md.
async fn plugin_config(Path(plugin): Path<String>) -> Response {
    if plugins::is_connector(&plugin) {
        return Json(plugins::definitions()).into_response();
    }
    let message = if plugins::is_listed(&plugin) {
        format!("Sluice serves configuration definitions for {CONNECTOR_CLASS} only; the options of {plugin} are in docs/configuration.md")
    } else {
        format!("Unknown plugin {plugin}.")
    };
    error(StatusCode::NOT_FOUND, message)
}

/// `GET /connectors`: the names, or with `?expand=status` / `?expand=info` (both may be given) an object of each
/// connector's status and information, as Kafka Connect answers.
async fn list(State(worker): State<Shared>, uri: axum::http::Uri) -> Json<Value> {
    let expand: Vec<&str> =
        uri.query().unwrap_or("").split('&').filter_map(|pair| pair.strip_prefix("expand=")).collect();
    if expand.is_empty() {
        return Json(json!(worker.names()));
    }
    let mut all = Map::new();
    for name in worker.names() {
        let Some(c) = worker.get(&name) else { continue };
        let mut entry = Map::new();
        if expand.contains(&"status") {
            entry.insert("status".into(), status_of(&worker, &name, &c));
        }
        if expand.contains(&"info") {
            entry.insert("info".into(), info(&name, &c.desired().config));
        }
        all.insert(name, Value::Object(entry));
    }
    Json(Value::Object(all))
}

/// `PUT /connector-plugins/{plugin}/config/validate`, where every 400 points: Kafka Connect's `ConfigInfos`, each
/// key of the configuration with the problems that name it (problems that name no key of it go to
/// `connector.class`), and `error_count`. Nothing is created or started.
async fn validate_plugin_config(
    State(worker): State<Shared>,
    Path(plugin): Path<String>,
    Body(body): Body,
) -> Response {
    if !plugins::is_connector(&plugin) {
        return error(
            StatusCode::NOT_FOUND,
            format!("Connector plugin {plugin} not found: Sluice runs {CONNECTOR_CLASS}"),
        );
    }
    let mut config = match connector_config(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let name = config.get("name").cloned().unwrap_or_else(|| "validate".to_string());
    config.entry("connector.class".into()).or_insert_with(|| CONNECTOR_CLASS.to_string());
    let mut problems: Vec<String> = names::check(&name).into_iter().collect();
    if config["connector.class"].trim() != CONNECTOR_CLASS {
        problems.push(format!("`connector.class`: Sluice runs {CONNECTOR_CLASS}"));
    }
    problems.extend(policy::problems(&config, worker.config.override_policy, &worker.config.limits));
    problems.extend(framework_problems(&config));
    if problems.is_empty() {
        problems.extend(validate(&worker.config, translate(&worker.config, &name, &config)).err().unwrap_or_default());
    }
    let mut errors: BTreeMap<&str, Vec<&str>> = config.keys().map(|k| (k.as_str(), Vec::new())).collect();
    for problem in &problems {
        let key = config.keys().find(|k| problem.contains(&format!("`{k}`"))).map_or("connector.class", |k| k.as_str());
        errors.entry(key).or_default().push(problem);
    }
    let shown = shown(&config);
    let configs: Vec<Value> = errors
        .iter()
        .map(|(key, errs)| {
            json!({
                "definition": {"name": key, "type": "STRING", "required": false, "default_value": null,
                    "importance": "MEDIUM", "documentation": "", "group": null, "width": "NONE",
                    "display_name": key, "dependents": [], "order": -1},
                "value": {"name": key, "value": shown.get(*key), "recommended_values": [], "errors": errs, "visible": true}
            })
        })
        .collect();
    Json(json!({"name": CONNECTOR_CLASS, "error_count": problems.len(), "groups": ["Common"], "configs": configs}))
        .into_response()
}

/// `GET /health`: the worker is up and serving requests (Kafka Connect 3.9).
async fn health() -> Json<Value> {
    Json(json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}))
}

async fn create(State(worker): State<Shared>, Body(body): Body) -> Response {
    let Some(name) = body["name"].as_str().map(String::from) else {
        return error(StatusCode::BAD_REQUEST, "Connector name is missing: POST {\"name\": …, \"config\": {…}}");
    };
    if let Some(problem) = names::check(&name) {
        return error(StatusCode::BAD_REQUEST, problem);
    }
    if worker.get(&name).is_some() {
        return error(StatusCode::CONFLICT, format!("Connector {name} already exists"));
    }
    let config = match connector_config(&body["config"]) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    // Kafka Connect 3.5's `initial_state`: a connector may be created paused or stopped.
    let initial = match body.get("initial_state").map(|s| s.as_str().unwrap_or_default().to_ascii_uppercase()) {
        None => TargetState::Running,
        Some(state) => match state.as_str() {
            "RUNNING" => TargetState::Running,
            "PAUSED" => TargetState::Paused,
            "STOPPED" => TargetState::Stopped,
            _ => {
                return error(StatusCode::BAD_REQUEST, "`initial_state` must be RUNNING, PAUSED or STOPPED".to_string())
            }
        },
    };
    match upsert(&worker, &name, config, initial).await {
        Ok(_) => match worker.get(&name) {
            Some(c) => {
                let location = format!("/connectors/{}", names::file_name(&name));
                let mut response = (StatusCode::CREATED, Json(info(&name, &c.desired().config))).into_response();
                if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
                    response.headers_mut().insert(axum::http::header::LOCATION, value);
                }
                response
            }
            None => not_found(&name),
        },
        Err(response) => response,
    }
}

async fn get_info(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    match worker.get(&name) {
        Some(c) => Json(info(&name, &c.desired().config)).into_response(),
        None => not_found(&name),
    }
}

async fn get_config(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    match worker.get(&name) {
        Some(c) => Json(Value::Object(shown(&c.desired().config))).into_response(),
        None => not_found(&name),
    }
}

async fn put_config(State(worker): State<Shared>, Path(name): Path<String>, Body(body): Body) -> Response {
    let config = match connector_config(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let existed = worker.get(&name).is_some();
    match upsert(&worker, &name, config, TargetState::Running).await {
        Ok(_) => match worker.get(&name) {
            Some(c) => {
                let code = if existed { StatusCode::OK } else { StatusCode::CREATED };
                (code, Json(info(&name, &c.desired().config))).into_response()
            }
            None => not_found(&name),
        },
        Err(response) => response,
    }
}

/// `PATCH /connectors/{name}/config`: the stored configuration with the given keys changed (`null` removes one),
/// validated and applied like a PUT.
async fn patch_config(State(worker): State<Shared>, Path(name): Path<String>, Body(body): Body) -> Response {
    let Some(c) = worker.get(&name) else { return not_found(&name) };
    let Some(changes) = body.as_object() else {
        return error(StatusCode::BAD_REQUEST, "the configuration patch must be a JSON object");
    };
    let mut config = c.desired().config;
    let mut set = Map::new();
    for (key, value) in changes {
        if value.is_null() {
            config.remove(key);
        } else {
            set.insert(key.clone(), value.clone());
        }
    }
    match connector_config(&Value::Object(set)) {
        Ok(values) => config.extend(values),
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    }
    match upsert(&worker, &name, config, TargetState::Running).await {
        Ok(_) => match worker.get(&name) {
            Some(c) => Json(info(&name, &c.desired().config)).into_response(),
            None => not_found(&name),
        },
        Err(response) => response,
    }
}

/// Kafka Connect's status of a connector and its one task.
fn status_of(worker: &Worker, name: &str, c: &Connector) -> Value {
    let worker_id = worker.config.listen.to_string();
    let observed = match (c.observed(), c.status().retrying()) {
        // Restarting by itself, but failing again and again: a person should look (it turns RUNNING once it
        // recovers).
        (Observed::Running, Some(retrying)) if retrying.attempts >= FAILED_AFTER_ATTEMPTS => {
            Observed::Failed(retrying.trace)
        }
        (observed, _) => observed,
    };
    let (state, trace) = observed.state();
    let mut connector = json!({"state": state, "worker_id": worker_id});
    let mut task = json!({"id": 0, "state": state, "worker_id": worker_id});
    if let Some(trace) = trace {
        connector["trace"] = json!(trace);
        task["trace"] = json!(trace);
    }
    // Sluice's own field, beside Kafka Connect's: events left out by event.processing.failure.handling.mode.
    let skipped = c.status().skipped();
    if skipped > 0 {
        connector["skipped_events"] = json!(skipped);
    }
    json!({"name": name, "connector": connector, "tasks": [task], "type": "source"})
}

async fn status(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let Some(c) = worker.get(&name) else { return not_found(&name) };
    Json(status_of(&worker, &name, &c)).into_response()
}

/// `GET /connectors/{name}/tasks/{task}/status`: the one task, task 0.
async fn task_status(State(worker): State<Shared>, Path((name, task)): Path<(String, String)>) -> Response {
    match task_zero(&worker, &name, &task) {
        Ok(c) => Json(status_of(&worker, &name, &c)["tasks"][0].clone()).into_response(),
        Err(response) => *response,
    }
}

/// The connector of task `task`, which must be 0: a Sluice connector runs one task.
fn task_zero(worker: &Worker, name: &str, task: &str) -> Result<Arc<Connector>, Box<Response>> {
    let c = worker.get(name).ok_or_else(|| Box::new(not_found(name)))?;
    if task != "0" {
        let message = format!("Task {name}-{task} not found (a Sluice connector has task 0)");
        return Err(Box::new(error(StatusCode::NOT_FOUND, message)));
    }
    Ok(c)
}

/// `POST /connectors/{name}/tasks/{task}/restart`: restarting task 0 restarts the connector's pipeline.
async fn task_restart(State(worker): State<Shared>, Path((name, task)): Path<(String, String)>) -> Response {
    match task_zero(&worker, &name, &task) {
        Ok(c) => {
            c.update(|d| d.generation += 1);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(response) => *response,
    }
}

async fn tasks(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    match worker.get(&name) {
        Some(c) => {
            Json(json!([{"id": {"connector": name, "task": 0}, "config": shown(&c.desired().config)}])).into_response()
        }
        None => not_found(&name),
    }
}

/// `GET /connectors/{name}/tasks-config`, deprecated in Kafka Connect but still served: the task's configuration
/// under its id, `<name>-0`.
async fn tasks_config(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let Some(c) = worker.get(&name) else { return not_found(&name) };
    tracing::warn!(
        "The 'GET /connectors/{{connector}}/tasks-config' endpoint is deprecated and will be removed in the next major \
         release. Please use the 'GET /connectors/{{connector}}/tasks' endpoint instead."
    );
    let mut by_task = Map::new();
    by_task.insert(format!("{name}-0"), Value::Object(shown(&c.desired().config)));
    Json(Value::Object(by_task)).into_response()
}

/// `GET /connectors/{name}/topics`: the topics its pipelines delivered records to since the connector was created
/// (in this worker process) or its topics were reset. As in Kafka Connect, which reads them from its status store
/// without looking the connector up, a connector it does not know has none (`200`, not `404`).
async fn topics(State(worker): State<Shared>, Path(name): Path<String>) -> Json<Value> {
    let topics = worker.get(&name).map(|c| c.status().topics()).unwrap_or_default();
    let mut active = Map::new();
    active.insert(name, json!({"topics": topics}));
    Json(Value::Object(active))
}

/// `PUT /connectors/{name}/topics/reset`: forgets the topics written so far; `202`, as Kafka Connect, also for a
/// connector it does not know.
async fn reset_topics(State(worker): State<Shared>, Path(name): Path<String>) -> StatusCode {
    if let Some(c) = worker.get(&name) {
        c.status().reset_topics();
    }
    StatusCode::ACCEPTED
}

/// `GET /admin/loggers`: root and every logger whose level was set.
async fn all_loggers(State(worker): State<Shared>) -> Json<Value> {
    let all: Map<String, Value> = worker
        .loggers
        .all()
        .into_iter()
        .map(|(name, l)| (name, json!({"level": l.level, "last_modified": l.last_modified})))
        .collect();
    Json(Value::Object(all))
}

fn logger_error(e: loggers::LoggerError) -> Response {
    match e {
        loggers::LoggerError::NotFound(m) => error(StatusCode::NOT_FOUND, m),
        loggers::LoggerError::BadRequest(m) => error(StatusCode::BAD_REQUEST, m),
        loggers::LoggerError::Internal(m) => error(StatusCode::INTERNAL_SERVER_ERROR, m),
    }
}

/// `GET /admin/loggers/{logger}`.
async fn logger(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    match worker.loggers.level(&name) {
        Ok(l) => Json(json!({"level": l.level, "last_modified": l.last_modified})).into_response(),
        Err(e) => logger_error(e),
    }
}

/// `PUT /admin/loggers/{logger}` with `{"level": …}`: the loggers changed. `?scope=cluster` answers `204`, as
/// Kafka Connect does; this worker is the whole cluster, so both scopes change the same levels.
async fn set_logger(
    State(worker): State<Shared>,
    Path(name): Path<String>,
    uri: axum::http::Uri,
    Body(body): Body,
) -> Response {
    let Some(level) = body.get("level").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "Desired 'level' parameter was not specified in request.");
    };
    let cluster = uri.query().is_some_and(|q| q.split('&').any(|pair| pair.eq_ignore_ascii_case("scope=cluster")));
    let now_ms = sluice_core::unix_micros() / 1000;
    match worker.loggers.set_level(&name, level, now_ms) {
        Ok(_) if cluster => StatusCode::NO_CONTENT.into_response(),
        Ok(changed) => Json(json!(changed)).into_response(),
        Err(e) => logger_error(e),
    }
}

/// Pause, resume, stop: record the new target (durably), and let the connector's task apply it.
async fn retarget(worker: &Shared, name: &str, target: TargetState, code: StatusCode) -> Response {
    let _change = worker.changes.lock().await;
    let Some(c) = worker.get(name) else { return not_found(name) };
    let desired = c.desired();
    if desired.target != target {
        if let Err(e) = worker.persist_with(name, Some(store::Stored { config: desired.config, target })) {
            return not_saved(e);
        }
        c.update(|d| {
            d.target = target;
            if target == TargetState::Running {
                d.generation += 1;
            }
        });
    }
    code.into_response()
}

async fn pause(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    retarget(&worker, &name, TargetState::Paused, StatusCode::ACCEPTED).await
}

async fn resume(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    retarget(&worker, &name, TargetState::Running, StatusCode::ACCEPTED).await
}

async fn stop(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    retarget(&worker, &name, TargetState::Stopped, StatusCode::NO_CONTENT).await
}

/// `POST /connectors/{name}/restart`: `204`; with `includeTasks=true` or `onlyFailed=true` (Kafka Connect 3.0's
/// form) `202` and the status, as Kafka Connect answers that form.
async fn restart(State(worker): State<Shared>, Path(name): Path<String>, uri: axum::http::Uri) -> Response {
    let Some(c) = worker.get(&name) else { return not_found(&name) };
    let with_status = match (query_flag(&uri, "includeTasks", false), query_flag(&uri, "onlyFailed", false)) {
        (Ok(tasks), Ok(failed)) => tasks || failed,
        (Err(refused), _) | (_, Err(refused)) => return *refused,
    };
    c.update(|d| d.generation += 1);
    if with_status {
        return (StatusCode::ACCEPTED, Json(status_of(&worker, &name, &c))).into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// A boolean query parameter: `default` when absent, `true` or `false` in any case, the last one given when repeated.
/// Anything else is a 400 (Kafka Connect's Jersey reads it as `false`; a typo that silently means "no" is worse).
fn query_flag(uri: &axum::http::Uri, name: &str, default: bool) -> Result<bool, Box<Response>> {
    let mut flag = default;
    for pair in uri.query().unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != name {
            continue;
        }
        flag = match value.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                let message = format!("The query parameter {name} must be true or false.");
                return Err(Box::new(error(StatusCode::BAD_REQUEST, message)));
            }
        };
    }
    Ok(flag)
}

async fn delete(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let _change = worker.changes.lock().await;
    if worker.get(&name).is_none() {
        return not_found(&name);
    }
    if let Err(e) = worker.persist_with(&name, None) {
        return not_saved(e);
    }
    let removed = worker.connectors.lock().unwrap_or_else(|e| e.into_inner()).remove(&name);
    if let Some(c) = removed {
        // Draining may take a while; the request does not wait for it.
        tokio::spawn(async move { c.shut_down().await });
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The probes answer for every connector that should be running, each labelled with its name.
fn readiness(worker: Shared) -> crate::observe::Checks {
    Arc::new(move || {
        let connectors = worker.connectors.lock().unwrap_or_else(|e| e.into_inner());
        connectors
            .iter()
            .filter(|(_, c)| c.desired().target == TargetState::Running)
            .map(|(name, c)| crate::observe::Check {
                name: name.clone(),
                labels: vec![("connector", name.clone())],
                status: c.status().clone(),
            })
            .collect()
    })
}

async fn no_route() -> Response {
    error(StatusCode::NOT_FOUND, "Not found: see docs/rest-api.md for the endpoints")
}

async fn no_method() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "HTTP method not allowed for this endpoint")
}

/// Runs the REST API until `shutdown`; starts the stored connectors whose target is RUNNING first. `loggers` holds
/// the process's log filter, which `/admin/loggers` changes.
pub async fn serve(
    worker: WorkerConfig,
    loggers: Arc<Loggers>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), crate::app::RunError> {
    let task_error = |e: String| crate::app::RunError::Task(e);
    let stored = store::load(&store::path(&worker.offsets_file)).map_err(task_error)?;
    let worker = Arc::new(worker);
    let mut connectors = BTreeMap::new();
    for (name, s) in stored {
        if let Err(e) = names::adopt_legacy_offsets(&worker.offsets_file, &name) {
            tracing::warn!(connector = %name, error = %e, "cannot move the connector's offsets file to its new place");
        }
        let desired = Desired { config: s.config, target: s.target, generation: 0, removed: false };
        connectors.insert(name.clone(), Arc::new(Connector::spawn(name, worker.clone(), desired)));
    }
    let dir = names::connectors_dir(&worker.offsets_file);
    std::fs::create_dir_all(&dir).map_err(|e| task_error(format!("cannot create {}: {e}", dir.display())))?;
    let addr = worker.listen;
    let shared: Shared = Arc::new(Worker {
        config: worker.clone(),
        loggers,
        connectors: Mutex::new(connectors),
        changes: Default::default(),
    });
    let api = Router::new()
        .route("/", get(root))
        .route("/connector-plugins", get(plugins))
        .route("/health", get(health))
        .route("/connector-plugins/{plugin}/config", get(plugin_config))
        .route("/connector-plugins/{plugin}/config/validate", put(validate_plugin_config))
        .route("/admin/loggers", get(all_loggers))
        .route("/admin/loggers/{logger}", get(logger).put(set_logger))
        .route("/connectors", get(list).post(create))
        .route("/connectors/", get(list).post(create))
        .route("/connectors/{name}", get(get_info).delete(delete))
        .route("/connectors/{name}/config", get(get_config).put(put_config).patch(patch_config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks))
        .route("/connectors/{name}/tasks-config", get(tasks_config))
        .route("/connectors/{name}/topics", get(topics))
        .route("/connectors/{name}/topics/reset", put(reset_topics))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/tasks/{task}/restart", post(task_restart))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/stop", put(stop))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/offsets", get(offsets::get).delete(offsets::delete).patch(offsets::alter))
        .with_state(shared.clone())
        .merge(crate::observe::routes(readiness(shared.clone()))?)
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(axum::middleware::from_fn_with_state(Arc::new(worker.access.clone()), access::authenticate));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| crate::observe::ObserveError::Listen { addr, source })?;
    let bound = listener.local_addr().map_err(|source| crate::observe::ObserveError::Listen { addr, source })?;
    let scheme = if worker.tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %bound, scheme, authentication = worker.access.enabled(), "Kafka Connect REST API listening");
    if !bound.ip().is_loopback() && !worker.access.enabled() {
        tracing::warn!(
            address = %bound,
            "the REST API listens beyond loopback without authentication: anyone who reaches it can run connectors \
             with this worker's rights (docs/security.md)"
        );
    }
    let stopped = async move {
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    let served = match &worker.tls {
        Some(acceptor) => {
            let listener = access::TlsListener::new(listener, acceptor.clone())
                .map_err(|source| crate::observe::ObserveError::Listen { addr, source })?;
            axum::serve(listener, api).with_graceful_shutdown(stopped).await
        }
        None => axum::serve(listener, api).with_graceful_shutdown(stopped).await,
    };
    served.map_err(|e| task_error(format!("REST API: {e}")))?;
    let all: Vec<Arc<Connector>> =
        std::mem::take(&mut *shared.connectors.lock().unwrap_or_else(|e| e.into_inner())).into_values().collect();
    futures_util::future::join_all(all.iter().map(|c| c.shut_down())).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn worker() -> WorkerConfig {
        load_worker(FsPath::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../conf/worker.properties.example"))).unwrap()
    }

    #[test]
    fn problems_name_kafka_connect_keys_and_leave_class_names_as_written() {
        assert_eq!(
            connect_key_names(
                "`debezium.transforms.r.type` = `io.debezium.transforms.ByLogicalTableRouter`: see debezium.source.x"
            ),
            "`transforms.r.type` = `io.debezium.transforms.ByLogicalTableRouter`: see x"
        );
        assert_eq!(
            connect_key_names(
                "unknown key `debezium.source.tabel.include.list`; did you mean `debezium.source.table.include.list`?"
            ),
            "unknown key `tabel.include.list`; did you mean `table.include.list`?"
        );
        assert_eq!(connect_key_names("debezium.sink.kafka.producer.acks"), "producer.override.acks");
    }

    #[test]
    fn the_shipped_worker_example_is_valid() {
        let w = worker();
        assert_eq!(w.bootstrap_servers, "localhost:9092");
        assert_eq!(w.listen, "127.0.0.1:8083".parse().unwrap());
    }

    fn worker_from(text: &str) -> Result<WorkerConfig, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker.properties");
        std::fs::write(&path, text).unwrap();
        load_worker(&path)
    }

    #[test]
    fn the_api_listens_on_loopback_unless_told_otherwise() {
        let w = worker_from("bootstrap.servers=b:9092\n").unwrap();
        assert_eq!(w.listen, "127.0.0.1:8083".parse().unwrap());
        let w = worker_from("bootstrap.servers=b:9092\nrest.port=9000\n").unwrap();
        assert_eq!(w.listen, "127.0.0.1:9000".parse().unwrap());
        let w = worker_from("bootstrap.servers=b:9092\nlisteners=http://:8083\n").unwrap();
        assert_eq!(w.listen, "0.0.0.0:8083".parse().unwrap(), "Kafka's every-interface form is an explicit choice");
        assert_eq!(w.override_policy, OverridePolicy::All);
        assert_eq!(w.graceful_stop, DEFAULT_GRACEFUL_STOP);
    }

    #[test]
    fn an_https_listener_without_a_key_store_is_an_error() {
        let problems = worker_from("bootstrap.servers=b:9092\nlisteners=https://127.0.0.1:8443\n").unwrap_err();
        assert!(problems.iter().any(|p| p.contains("ssl.keystore.location")), "{problems:?}");
    }

    #[test]
    fn errors_tolerance_all_skips_unencodable_events_and_logs_them_only_with_errors_log_enable() {
        let config = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let mode = |pairs: &[(&str, &str)]| {
            let translated: BTreeMap<String, String> = translate(&worker(), "pg", &config(pairs)).into_iter().collect();
            translated.get("debezium.source.event.processing.failure.handling.mode").cloned()
        };
        assert_eq!(mode(&[("errors.tolerance", "all")]).as_deref(), Some("skip"));
        assert_eq!(mode(&[("errors.tolerance", "ALL"), ("errors.log.enable", "true")]).as_deref(), Some("warn"));
        assert_eq!(mode(&[("errors.tolerance", "none")]), None, "Kafka Connect's default: fail");
        assert_eq!(
            mode(&[("errors.tolerance", "all"), ("event.processing.failure.handling.mode", "fail")]).as_deref(),
            Some("fail"),
            "the connector's own mode wins"
        );
        let problems = framework_problems(&config(&[
            ("errors.tolerance", "some"),
            ("errors.log.enable", "yes"),
            ("errors.retry.timeout", "soon"),
            ("errors.retry.delay.max.ms", "60000"),
        ]));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0]
            .contains("Invalid value some for configuration errors.tolerance: String must be one of: none, all"));
    }

    #[test]
    fn connector_keys_become_debezium_server_keys() {
        let connector: BTreeMap<String, String> = [
            ("name", "pg"),
            ("tasks.max", "1"),
            ("connector.class", CONNECTOR_CLASS),
            ("database.hostname", "db"),
            ("key.converter", "org.apache.kafka.connect.storage.StringConverter"),
            ("value.converter", "io.debezium.converters.BinaryDataConverter"),
            ("transforms", "outbox"),
            ("transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter"),
            ("producer.override.compression.type", "zstd"),
            ("errors.tolerance", "none"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let pairs: BTreeMap<String, String> = translate(&worker(), "pg", &connector).into_iter().collect();
        assert_eq!(pairs["debezium.source.connector.class"], CONNECTOR_CLASS);
        assert_eq!(pairs["debezium.source.database.hostname"], "db");
        assert_eq!(pairs["debezium.format.key"], "simplestring");
        assert_eq!(pairs["debezium.format.value"], "binary");
        assert_eq!(pairs["debezium.transforms"], "outbox");
        assert_eq!(pairs["debezium.sink.kafka.producer.compression.type"], "zstd");
        assert_eq!(pairs["debezium.sink.kafka.producer.bootstrap.servers"], "localhost:9092");
        assert_eq!(pairs["debezium.sink.type"], "kafka");
        assert!(pairs["debezium.source.offset.storage.file.filename"].ends_with("connect.offsets.d/pg.offsets"));
        assert!(!pairs.contains_key("debezium.source.name") && !pairs.keys().any(|k| k.contains("errors")));
    }

    #[test]
    fn a_worker_with_an_offsets_topic_keeps_each_connectors_offsets_there_under_its_name() {
        let w = worker_from(
            "bootstrap.servers=b:9092\noffset.storage.topic=connect-offsets\noffset.storage.replication.factor=1\n\
             security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=cdc\nsasl.password=s3cret\n",
        )
        .unwrap();
        let connector: BTreeMap<String, String> = [("connector.class", CONNECTOR_CLASS), ("topic.prefix", "shop")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let pairs: BTreeMap<String, String> = translate(&w, "orders", &connector).into_iter().collect();
        assert_eq!(pairs["debezium.source.offset.storage"], sluice_engine::settings::KAFKA_OFFSET_STORE);
        assert_eq!(pairs["debezium.source.offset.storage.topic"], "connect-offsets");
        assert_eq!(pairs["debezium.source.offset.storage.partitions"], "25", "Kafka Connect's default");
        assert_eq!(pairs["debezium.source.offset.storage.replication.factor"], "1");
        assert_eq!(pairs["debezium.source.bootstrap.servers"], "b:9092");
        assert_eq!(pairs["debezium.source.sasl.mechanism"], "PLAIN");
        assert_eq!(pairs["debezium.source.name"], "orders");
        assert!(!pairs.contains_key("debezium.source.offset.storage.file.filename"));
        let problems =
            worker_from("bootstrap.servers=b:9092\noffset.storage.topic=o\nsasl.passwrd=hunter2\n").unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("`sasl.passwrd`")) && !problems.concat().contains("hunter2"),
            "{problems:?}"
        );
    }

    #[test]
    fn problems_name_kafka_connect_keys() {
        let pairs = vec![
            ("debezium.source.connector.class".to_string(), CONNECTOR_CLASS.to_string()),
            ("debezium.source.snapshot.mode".to_string(), "sometimes".to_string()),
            ("debezium.sink.type".to_string(), "kafka".to_string()),
        ];
        let problems = validate(&worker(), pairs).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("`snapshot.mode` = `sometimes`")), "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("debezium.")), "{problems:?}");
    }

    #[test]
    fn kafka_connect_transforms_and_predicates_are_read_from_a_connector_config() {
        let connector = |extra: &[(&str, &str)]| -> BTreeMap<String, String> {
            [
                ("connector.class", CONNECTOR_CLASS),
                ("database.hostname", "db"),
                ("database.user", "sluice"),
                ("database.dbname", "shop"),
                ("topic.prefix", "pg"),
                ("transforms", "route,dropTombstones"),
                ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
                ("transforms.route.regex", "pg\\.public\\.(.*)"),
                ("transforms.dropTombstones.type", "org.apache.kafka.connect.transforms.Filter"),
                ("transforms.dropTombstones.predicate", "isTombstone"),
                ("predicates", "isTombstone"),
                ("predicates.isTombstone.type", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"),
            ]
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        let loaded =
            validate(&worker(), translate(&worker(), "pg", &connector(&[("transforms.route.replacement", "cdc.$1")])))
                .unwrap();
        assert_eq!(loaded.config.transforms.len(), 2);
        let problems =
            validate(&worker(), translate(&worker(), "pg", &connector(&[("transforms.route.replacement", "$2")])))
                .unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("`transforms.route.replacement`") && p.contains("No group 2")),
            "{problems:?}"
        );
    }

    #[test]
    fn debezium_s_scripted_filter_and_router_are_read_from_a_connector_config_and_refusals_name_its_keys() {
        let connector = |condition: &str| -> BTreeMap<String, String> {
            [
                ("connector.class", CONNECTOR_CLASS),
                ("database.hostname", "db"),
                ("database.user", "sluice"),
                ("database.dbname", "shop"),
                ("topic.prefix", "pg"),
                ("transforms", "filter,route"),
                ("transforms.filter.type", "io.debezium.transforms.Filter"),
                ("transforms.filter.language", "jsr223.groovy"),
                ("transforms.filter.condition", condition),
                ("transforms.route.type", "io.debezium.transforms.ContentBasedRouter"),
                ("transforms.route.language", "jsr223.groovy"),
                ("transforms.route.topic.expression", "value.op == 'u' ? 'updates' : null"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        let loaded =
            validate(&worker(), translate(&worker(), "pg", &connector("value.op == 'u' && value.before.id == 2")))
                .unwrap();
        assert_eq!(loaded.config.transforms.len(), 2);
        let problems = validate(&worker(), translate(&worker(), "pg", &connector("value.op.equals('u')"))).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("`transforms.filter.condition`: `value.op.equals('u')` stops at character 9")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_configuration_read_back_with_masked_secrets_keeps_the_stored_ones() {
        let stored: BTreeMap<String, String> =
            [("database.password".to_string(), "hunter2".to_string())].into_iter().collect();
        let mut read_back = Value::Object(shown(&stored));
        read_back["database.user"] = json!("sluice");
        let mut config = connector_config(&read_back).unwrap();
        restore_hidden(&mut config, Some(&stored)).unwrap();
        assert_eq!(config["database.password"], "hunter2");
        let mut fresh = connector_config(&Value::Object(shown(&stored))).unwrap();
        let problems = restore_hidden(&mut fresh, None).unwrap_err();
        assert!(problems[0].contains("database.password") && problems[0].contains("[hidden]"), "{problems:?}");
        let mut literal: BTreeMap<String, String> =
            [("topic.prefix".to_string(), "[hidden]".to_string())].into_iter().collect();
        restore_hidden(&mut literal, None).unwrap();
        assert_eq!(literal["topic.prefix"], "[hidden]", "only secret keys are restored");
    }

    #[test]
    fn secrets_are_hidden_unless_they_are_placeholders() {
        let config: BTreeMap<String, String> = [
            ("database.password", "hunter2"),
            ("producer.override.sasl.jaas.config", "x required password=\"p\";"),
            ("database.user", "sluice"),
            ("database.sslpassword", "${file:/s.properties:key}"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let shown = Value::Object(shown(&config)).to_string();
        assert!(!shown.contains("hunter2") && !shown.contains("password=\\\"p"), "{shown}");
        assert!(shown.contains("sluice") && shown.contains("${file:/s.properties:key}"), "{shown}");
    }
}
