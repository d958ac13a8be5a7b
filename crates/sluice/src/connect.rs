//! `sluice connect`: a Kafka Connect–compatible REST API, so the tools platform teams already drive Debezium with
//! (a Helm hook that PUTs a connector's JSON, `curl …/status` in runbooks) drive Sluice the same way.
//!
//! The worker file has Kafka Connect's worker keys (`bootstrap.servers`, `listeners` or `rest.host.name` /
//! `rest.port`, `offset.storage.file.filename`, `config.providers`, converters and `producer.*` defaults); each
//! connector configuration has Kafka Connect's connector keys (no `debezium.source.` prefix; `key.converter`,
//! `transforms.*`, `producer.override.*`). A connector configuration is translated into the Debezium Server keys
//! `sluice run` reads, validated by the very same code, and run as one pipeline into the worker's Kafka. Connector
//! configurations and their states are kept in a JSON file beside the offsets, so they survive a restart.
//!
//! Status codes and JSON shapes follow Kafka Connect's REST API. Values of keys that look like secrets are
//! replaced by `[hidden]` in every response, and configurations are never logged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::FutureExt;
use serde_json::{json, Map, Value};
use sluice_core::{OffsetStore, Offsets};
use tokio::sync::{watch, Mutex};

use crate::config;

const CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The worker's settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub listen: SocketAddr,
    pub bootstrap_servers: String,
    /// Kafka Connect's offsets file; Sluice keeps one offsets file per connector beside it.
    pub offsets_file: PathBuf,
    /// Worker-level converters and `producer.*`, the defaults of every connector.
    pub defaults: Vec<(String, String)>,
}

/// Kafka Connect worker keys that configure parts Sluice does not have (distributed mode's topics, plugin paths,
/// …): accepted and ignored, as Kafka Connect ignores keys it does not use.
fn worker_key_is_known(key: &str) -> bool {
    const KNOWN: &[&str] = &[
        "group.id",
        "config.storage.topic",
        "offset.storage.topic",
        "status.storage.topic",
        "config.storage.replication.factor",
        "offset.storage.replication.factor",
        "status.storage.replication.factor",
        "offset.flush.interval.ms",
        "plugin.path",
        "rest.advertised.host.name",
        "rest.advertised.port",
        "config.providers",
    ];
    KNOWN.contains(&key)
        || key.starts_with("config.providers.")
        || key.starts_with("consumer.")
        || key.starts_with("admin.")
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
    let listen = match (entries.get("listeners"), entries.get("rest.host.name"), entries.get("rest.port")) {
        (Some(listeners), _, _) => {
            let first = listeners.split(',').next().unwrap_or("").trim();
            let hostport = first.strip_prefix("http://").unwrap_or(first);
            let hostport = hostport.replacen("localhost", "127.0.0.1", 1);
            let hostport = if hostport.starts_with(':') { format!("0.0.0.0{hostport}") } else { hostport };
            hostport.parse().map_err(|_| {
                problems.push(format!("`listeners` = `{listeners}`: expected http://HOST:PORT (an IP address)"))
            })
        }
        (None, host, port) => {
            let host = host.map(|h| h.replace("localhost", "127.0.0.1")).unwrap_or_else(|| "0.0.0.0".into());
            let port = port.map_or("8083", |p| p.as_str());
            format!("{host}:{port}").parse().map_err(|_| {
                problems.push(format!("`rest.host.name` / `rest.port` = `{host}:{port}` is not an IP address and port"))
            })
        }
    };
    let offsets_file =
        PathBuf::from(entries.get("offset.storage.file.filename").map_or("data/connect.offsets", |s| s.as_str()));
    let mut defaults = Vec::new();
    for (key, value) in &entries {
        match key.as_str() {
            "bootstrap.servers" | "listeners" | "rest.host.name" | "rest.port" | "offset.storage.file.filename" => {}
            k if k.starts_with("key.converter") || k.starts_with("value.converter") || k.starts_with("producer.") => {
                defaults.push((key.clone(), value.clone()))
            }
            k if worker_key_is_known(k) => {}
            other => tracing::warn!(key = other, "worker configuration key is not used by Sluice"),
        }
    }
    match (listen, problems.is_empty()) {
        (Ok(listen), true) => Ok(WorkerConfig { listen, bootstrap_servers, offsets_file, defaults }),
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
        "io.confluent.connect.avro.AvroConverter" | "io.apicurio.registry.utils.converter.AvroConverter" => {
            "avro".into()
        }
        "io.confluent.connect.protobuf.ProtobufConverter" => "protobuf".into(),
        "io.debezium.converters.CloudEventsConverter" => "cloudevents".into(),
        other => other.to_string(),
    }
}

/// A connector's Kafka Connect configuration as Debezium Server keys for the pipeline.
pub fn translate(worker: &WorkerConfig, name: &str, connector: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
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
    out.insert("debezium.source.offset.storage.file.filename".into(), offsets_file(worker, name).display().to_string());
    out.into_iter().collect()
}

fn offsets_file(worker: &WorkerConfig, name: &str) -> PathBuf {
    let base = worker.offsets_file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    worker.offsets_file.with_file_name(format!("{base}.{name}"))
}

fn store_file(worker: &WorkerConfig) -> PathBuf {
    let base = worker.offsets_file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    worker.offsets_file.with_file_name(format!("{base}.connectors.json"))
}

/// Validates a translated configuration exactly as `sluice run` would; problems name Kafka Connect's keys.
fn validate(pairs: Vec<(String, String)>) -> Result<config::Config, Vec<String>> {
    let connect_names = |problems: Vec<String>| -> Vec<String> {
        problems
            .into_iter()
            .map(|p| {
                p.replace("debezium.source.", "")
                    .replace("debezium.sink.kafka.producer.", "producer.override.")
                    .replace("debezium.transforms", "transforms")
                    .replace("debezium.predicates", "predicates")
                    .replace("debezium.format.key", "key.converter")
                    .replace("debezium.format.value", "value.converter")
            })
            .collect()
    };
    let loaded =
        config::from_pairs(pairs, &|name| std::env::var(name).ok()).map_err(|e| connect_names(e.problems()))?;
    crate::app::check_sink(&loaded.config.sink).map_err(connect_names)?;
    Ok(loaded.config)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum TargetState {
    Running,
    Paused,
    Stopped,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    config: BTreeMap<String, String>,
    target: TargetState,
}

struct Connector {
    config: BTreeMap<String, String>,
    target: TargetState,
    run: Option<Running>,
    /// Why the last run ended badly.
    failure: Option<String>,
}

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

struct Worker {
    config: WorkerConfig,
    connectors: BTreeMap<String, Connector>,
}

type Shared = Arc<Mutex<Worker>>;

impl Worker {
    fn persist(&self) {
        let stored: BTreeMap<&String, Stored> =
            self.connectors.iter().map(|(n, c)| (n, Stored { config: c.config.clone(), target: c.target })).collect();
        let path = store_file(&self.config);
        let tmp = path.with_extension("tmp");
        let written = serde_json::to_vec_pretty(&stored)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            tracing::error!(path = %path.display(), error = %e, "cannot save the connector configurations");
        }
    }
}

impl Connector {
    fn start(&mut self, name: &str, config: config::Config) {
        let (stop, stop_rx) = watch::channel(false);
        let name = name.to_string();
        let task = tokio::spawn(async move {
            tracing::info!(connector = %name, "connector starting");
            let result = crate::app::run(config, stop_rx).await.map_err(|e| e.to_string());
            match &result {
                Ok(()) => tracing::info!(connector = %name, "connector stopped"),
                Err(e) => tracing::error!(connector = %name, error = %e, "connector failed"),
            }
            result
        });
        self.failure = None;
        self.run = Some(Running { stop, task });
    }

    /// Stops the pipeline gracefully (drain, acknowledge), within a bound.
    async fn halt(&mut self) {
        if let Some(run) = self.run.take() {
            let _ = run.stop.send(true);
            let mut task = run.task;
            match tokio::time::timeout(STOP_TIMEOUT, &mut task).await {
                Ok(Ok(Err(e))) => self.failure = Some(e),
                Ok(_) => {}
                Err(_) => task.abort(),
            }
        }
    }

    /// Kafka Connect's state: what the target says, unless the run failed.
    fn state(&mut self) -> (&'static str, Option<String>) {
        if let Some(run) = &self.run {
            if run.task.is_finished() {
                if let Some(run) = self.run.take() {
                    if let Some(Ok(Err(e))) = run.task.now_or_never() {
                        self.failure = Some(e);
                    }
                }
            }
        }
        if let Some(trace) = &self.failure {
            return ("FAILED", Some(trace.clone()));
        }
        (
            match self.target {
                TargetState::Running if self.run.is_some() => "RUNNING",
                TargetState::Running => "UNASSIGNED",
                TargetState::Paused => "PAUSED",
                TargetState::Stopped => "STOPPED",
            },
            None,
        )
    }
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

/// A configuration as shown: secret-looking values hidden unless they are placeholders (`${file:…}`).
fn shown(config: &BTreeMap<String, String>) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let secret = ["password", "secret", "jaas", "token", "credential"].iter().any(|s| lower.contains(s));
            let value = if secret && !v.trim_start().starts_with("${") { "[hidden]".to_string() } else { v.clone() };
            (k.clone(), Value::String(value))
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

/// Creates or updates a connector; returns whether it was created. An identical configuration changes nothing.
async fn upsert(worker: &Shared, name: &str, mut config: BTreeMap<String, String>) -> Result<bool, Response> {
    config.insert("name".into(), name.to_string());
    if config.get("connector.class").map(|c| c.trim()) != Some(CONNECTOR_CLASS) {
        return Err(invalid(&[format!(
            "`connector.class`: Sluice runs {CONNECTOR_CLASS} (got `{}`)",
            config.get("connector.class").map_or("nothing", |c| c.as_str())
        )]));
    }
    let mut w = worker.lock().await;
    if w.connectors.get(name).is_some_and(|c| c.config == config) {
        return Ok(false);
    }
    let pipeline = validate(translate(&w.config, name, &config)).map_err(|p| invalid(&p))?;
    let created = !w.connectors.contains_key(name);
    let connector = w.connectors.entry(name.to_string()).or_insert(Connector {
        config: config.clone(),
        target: TargetState::Running,
        run: None,
        failure: None,
    });
    connector.halt().await;
    connector.config = config;
    if connector.target == TargetState::Running {
        connector.start(name, pipeline);
    }
    w.persist();
    Ok(created)
}

async fn root() -> Json<Value> {
    Json(json!({"version": env!("CARGO_PKG_VERSION"), "commit": "sluice", "kafka_cluster_id": "sluice"}))
}

async fn plugins() -> Json<Value> {
    Json(json!([{"class": CONNECTOR_CLASS, "type": "source", "version": env!("CARGO_PKG_VERSION")}]))
}

async fn list(State(worker): State<Shared>) -> Json<Value> {
    Json(json!(worker.lock().await.connectors.keys().collect::<Vec<_>>()))
}

async fn create(State(worker): State<Shared>, Json(body): Json<Value>) -> Response {
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()).map(String::from) else {
        return error(StatusCode::BAD_REQUEST, "Connector name is missing: POST {\"name\": …, \"config\": {…}}");
    };
    if worker.lock().await.connectors.contains_key(&name) {
        return error(StatusCode::CONFLICT, format!("Connector {name} already exists"));
    }
    let config = match connector_config(&body["config"]) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match upsert(&worker, &name, config).await {
        Ok(_) => {
            let w = worker.lock().await;
            (StatusCode::CREATED, Json(info(&name, &w.connectors[&name].config))).into_response()
        }
        Err(response) => response,
    }
}

async fn get_info(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    match worker.lock().await.connectors.get(&name) {
        Some(c) => Json(info(&name, &c.config)).into_response(),
        None => not_found(&name),
    }
}

async fn get_config(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    match worker.lock().await.connectors.get(&name) {
        Some(c) => Json(Value::Object(shown(&c.config))).into_response(),
        None => not_found(&name),
    }
}

async fn put_config(State(worker): State<Shared>, Path(name): Path<String>, Json(body): Json<Value>) -> Response {
    let config = match connector_config(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match upsert(&worker, &name, config).await {
        Ok(created) => {
            let w = worker.lock().await;
            let code = if created { StatusCode::CREATED } else { StatusCode::OK };
            (code, Json(info(&name, &w.connectors[&name].config))).into_response()
        }
        Err(response) => response,
    }
}

async fn status(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let mut w = worker.lock().await;
    let worker_id = w.config.listen.to_string();
    let Some(c) = w.connectors.get_mut(&name) else { return not_found(&name) };
    let (state, trace) = c.state();
    let mut connector = json!({"state": state, "worker_id": worker_id});
    let mut task = json!({"id": 0, "state": state, "worker_id": worker_id});
    if let Some(trace) = trace {
        connector["trace"] = json!(trace);
        task["trace"] = json!(trace);
    }
    Json(json!({"name": name, "connector": connector, "tasks": [task], "type": "source"})).into_response()
}

async fn tasks(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    match worker.lock().await.connectors.get(&name) {
        Some(c) => Json(json!([{"id": {"connector": name, "task": 0}, "config": shown(&c.config)}])).into_response(),
        None => not_found(&name),
    }
}

/// Pause, resume, stop: change the target state and apply it.
async fn retarget(worker: &Shared, name: &str, target: TargetState, code: StatusCode) -> Response {
    let mut w = worker.lock().await;
    let pipeline = match w.connectors.get(name) {
        None => return not_found(name),
        Some(c) => validate(translate(&w.config, name, &c.config)),
    };
    let Some(c) = w.connectors.get_mut(name) else { return not_found(name) };
    c.target = target;
    match target {
        TargetState::Running if c.run.is_none() => match pipeline {
            Ok(config) => c.start(name, config),
            Err(problems) => c.failure = Some(problems.join("\n")),
        },
        TargetState::Running => {}
        TargetState::Paused | TargetState::Stopped => c.halt().await,
    }
    w.persist();
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

async fn restart(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let mut w = worker.lock().await;
    let pipeline = match w.connectors.get(&name) {
        None => return not_found(&name),
        Some(c) => validate(translate(&w.config, &name, &c.config)),
    };
    let Some(c) = w.connectors.get_mut(&name) else { return not_found(&name) };
    c.halt().await;
    c.failure = None;
    if c.target == TargetState::Running {
        match pipeline {
            Ok(config) => c.start(&name, config),
            Err(problems) => c.failure = Some(problems.join("\n")),
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn delete(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let mut w = worker.lock().await;
    let Some(mut c) = w.connectors.remove(&name) else { return not_found(&name) };
    c.halt().await;
    w.persist();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_offsets(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let w = worker.lock().await;
    let Some(c) = w.connectors.get(&name) else { return not_found(&name) };
    let prefix = c.config.get("topic.prefix").cloned().unwrap_or_default();
    let offsets: Option<Offsets> = OffsetStore::new(offsets_file(&w.config, &name)).load().ok().flatten();
    let entries: Vec<Value> = offsets
        .and_then(|o| o.acknowledged)
        .map(|p| {
            json!({"partition": {"server": prefix}, "offset": {"lsn": p.commit_lsn.0, "lsn_commit": p.commit_lsn.0, "event_serial_no": p.ordinal}})
        })
        .into_iter()
        .collect();
    Json(json!({"offsets": entries})).into_response()
}

async fn delete_offsets(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let w = worker.lock().await;
    let Some(c) = w.connectors.get(&name) else { return not_found(&name) };
    if c.target != TargetState::Stopped || c.run.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"),
        );
    }
    let path = offsets_file(&w.config, &name);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot remove the offsets: {e}")),
    }
    Json(json!({"message": "The offsets for this connector have been reset successfully"})).into_response()
}

/// Runs the REST API until `shutdown`; starts the stored connectors whose target is RUNNING first.
pub async fn serve(worker: WorkerConfig, mut shutdown: watch::Receiver<bool>) -> Result<(), crate::app::RunError> {
    let mut connectors = BTreeMap::new();
    if let Ok(bytes) = std::fs::read(store_file(&worker)) {
        let stored: BTreeMap<String, Stored> = serde_json::from_slice(&bytes).map_err(|e| {
            crate::app::RunError::Task(format!(
                "cannot read the stored connector configurations {}: {e}; fix or move the file away",
                store_file(&worker).display()
            ))
        })?;
        for (name, s) in stored {
            let mut c = Connector { config: s.config, target: s.target, run: None, failure: None };
            if c.target == TargetState::Running {
                match validate(translate(&worker, &name, &c.config)) {
                    Ok(config) => c.start(&name, config),
                    Err(problems) => c.failure = Some(problems.join("\n")),
                }
            }
            connectors.insert(name, c);
        }
    }
    if let Some(dir) = worker.offsets_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let addr = worker.listen;
    let shared: Shared = Arc::new(Mutex::new(Worker { config: worker, connectors }));
    let api = Router::new()
        .route("/", get(root))
        .route("/connector-plugins", get(plugins))
        .route("/connectors", get(list).post(create))
        .route("/connectors/{name}", get(get_info).delete(delete))
        .route("/connectors/{name}/config", get(get_config).put(put_config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/stop", put(stop))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/offsets", get(get_offsets).delete(delete_offsets))
        .with_state(shared.clone())
        .merge(crate::observe::routes()?);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| crate::observe::ObserveError::Listen { addr, source })?;
    let bound = listener.local_addr().map_err(|source| crate::observe::ObserveError::Listen { addr, source })?;
    tracing::info!(address = %bound, "Kafka Connect REST API listening");
    let stopped = async move {
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    axum::serve(listener, api)
        .with_graceful_shutdown(stopped)
        .await
        .map_err(|e| crate::app::RunError::Task(format!("REST API: {e}")))?;
    let mut w = shared.lock().await;
    for connector in w.connectors.values_mut() {
        connector.halt().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker() -> WorkerConfig {
        load_worker(FsPath::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../conf/worker.properties.example"))).unwrap()
    }

    #[test]
    fn the_shipped_worker_example_is_valid() {
        let w = worker();
        assert_eq!(w.bootstrap_servers, "localhost:9092");
        assert_eq!(w.listen, "0.0.0.0:8083".parse().unwrap());
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
        assert!(pairs["debezium.source.offset.storage.file.filename"].ends_with("connect.offsets.pg"));
        assert!(!pairs.contains_key("debezium.source.name") && !pairs.keys().any(|k| k.contains("errors")));
    }

    #[test]
    fn problems_name_kafka_connect_keys() {
        let pairs = vec![
            ("debezium.source.connector.class".to_string(), CONNECTOR_CLASS.to_string()),
            ("debezium.source.snapshot.mode".to_string(), "sometimes".to_string()),
            ("debezium.sink.type".to_string(), "kafka".to_string()),
        ];
        let problems = validate(pairs).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("`snapshot.mode` = `sometimes`")), "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("debezium.")), "{problems:?}");
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
