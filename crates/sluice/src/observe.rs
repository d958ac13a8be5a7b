//! The HTTP endpoint operators scrape and probe: Prometheus metrics and liveness/readiness, on the port Debezium
//! Server uses for the same purpose (`quarkus.http.port`, with Quarkus's paths `/q/metrics`, `/q/health/live`,
//! `/q/health/ready`, plus the shorter `/metrics`, `/health/live`, `/health/ready`).
//!
//! Metric names follow `sluice_<name>_<unit>[_total]` with few, bounded labels; `docs/metrics.md` lists them and the
//! alerts worth setting. Everything is recorded through the `metrics` facade, so code that records does not know
//! whether anyone scrapes; without a listener configured no recorder is installed and recording costs nothing.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use futures_util::future::Either;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use sluice_core::PipelineStatus;

/// Buckets of the latency histograms, in seconds: from a millisecond to ten minutes.
const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("cannot install the metrics recorder: {0}")]
    Recorder(String),
    #[error("cannot listen on {addr} (quarkus.http.host / quarkus.http.port): {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

static RECORDER: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();

tokio::task_local! {
    /// The connector whose task is running, for the `connector` label.
    static CONNECTOR: Arc<str>;
}

/// Runs `future` with every metric it records labelled `connector="<name>"` (`sluice connect`, one per connector).
pub fn labelled<F: Future>(connector: Arc<str>, future: F) -> impl Future<Output = F::Output> {
    CONNECTOR.scope(connector, future)
}

/// `future` with the current task's connector label, for a task it is about to spawn (task-locals do not cross
/// `tokio::spawn` by themselves).
pub fn carry<F: Future>(future: F) -> impl Future<Output = F::Output> {
    match CONNECTOR.try_with(Arc::clone) {
        Ok(connector) => Either::Left(CONNECTOR.scope(connector, future)),
        Err(_) => Either::Right(future),
    }
}

/// The Prometheus recorder, with the running task's connector added as a label. Every call site records as before;
/// the label comes from the task, so one connector's series never add up with another's.
struct ConnectorLabels(PrometheusRecorder);

impl ConnectorLabels {
    fn key(key: &Key) -> Key {
        match CONNECTOR.try_with(|c| Label::new("connector", c.to_string())) {
            Ok(label) => key.with_extra_labels(vec![label]),
            Err(_) => key.clone(),
        }
    }
}

impl Recorder for ConnectorLabels {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_counter(key, unit, description)
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_gauge(key, unit, description)
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_histogram(key, unit, description)
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.0.register_counter(&Self::key(key), metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.0.register_gauge(&Self::key(key), metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.0.register_histogram(&Self::key(key), metadata)
    }
}

/// A pipeline the probes answer for.
#[derive(Clone, Debug)]
pub struct Check {
    /// Its name in the readiness answer: the connector's, or "replication stream" for `sluice run`.
    pub name: String,
    /// The labels of its series (`connector` in `sluice connect`).
    pub labels: Vec<(&'static str, String)>,
    pub status: PipelineStatus,
}

/// The pipelines that should be streaming now; asked at every probe and scrape.
pub type Checks = Arc<dyn Fn() -> Vec<Check> + Send + Sync>;

/// The one pipeline of `sluice run`.
pub fn single(status: PipelineStatus) -> Checks {
    Arc::new(move || vec![Check { name: "replication stream".into(), labels: Vec::new(), status: status.clone() }])
}

/// Installs the Prometheus recorder (once per process) and returns the routes of `/metrics` and the probes.
pub fn routes(checks: Checks) -> Result<Router, ObserveError> {
    let handle = match RECORDER.get() {
        Some(handle) => handle.clone(),
        None => {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .map_err(|e| ObserveError::Recorder(e.to_string()))?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(ConnectorLabels(recorder))
                .map_err(|e| ObserveError::Recorder(e.to_string()))?;
            describe();
            RECORDER.get_or_init(|| handle).clone()
        }
    };
    let scraped = checks.clone();
    let metrics = move || {
        let handle: PrometheusHandle = handle.clone();
        let checks = scraped();
        async move { render(&handle, &checks) }
    };
    let ready = move || {
        let checks = checks();
        async move { ready(&checks) }
    };
    Ok(Router::new()
        .route("/metrics", get(metrics.clone()))
        .route("/q/metrics", get(metrics))
        .route("/health/live", get(live))
        .route("/q/health/live", get(live))
        .route("/health/ready", get(ready.clone()))
        .route("/q/health/ready", get(ready)))
}

/// Serves the metrics and probes on `addr` in the background.
pub async fn serve(addr: SocketAddr, checks: Checks) -> Result<SocketAddr, ObserveError> {
    let app = routes(checks)?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ObserveError::Listen { addr, source })?;
    let bound = listener.local_addr().map_err(|source| ObserveError::Listen { addr, source })?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics and health endpoint stopped");
        }
    });
    tracing::info!(address = %bound, "serving /metrics and /q/health/{{live,ready}}");
    Ok(bound)
}

fn render(handle: &PrometheusHandle, checks: &[Check]) -> String {
    let now_us = sluice_core::unix_micros();
    for check in checks {
        if let Some(last) = check.status.last_event_us() {
            metrics::gauge!("sluice_last_event_age_seconds", &check.labels).set((now_us - last).max(0) as f64 / 1e6);
        }
    }
    handle.render()
}

async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "UP", "checks": [{"name": "sluice", "status": "UP"}]}))
}

/// Ready while every pipeline that should stream has its replication stream open (after the snapshot, which itself
/// runs on an open slot); each pipeline is a check of its own.
fn ready(checks: &[Check]) -> (StatusCode, Json<serde_json::Value>) {
    let up = |c: &Check| if c.status.streaming() { "UP" } else { "DOWN" };
    let all = checks.iter().all(|c| c.status.streaming());
    let listed: Vec<serde_json::Value> =
        checks.iter().map(|c| serde_json::json!({"name": c.name, "status": up(c)})).collect();
    let code = if all { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(serde_json::json!({"status": if all { "UP" } else { "DOWN" }, "checks": listed})))
}

/// Help texts for `# HELP` lines.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "sluice_events_total",
        "Change events acknowledged by the sink, by operation (op: c, u, d, r, t, m)"
    );
    describe_counter!("sluice_records_written_total", "Records (events and tombstones) the sink acknowledged");
    describe_counter!(
        "sluice_events_skipped_total",
        "Events left out because they could not be encoded (event.processing.failure.handling.mode=warn or skip)"
    );
    describe_gauge!("sluice_snapshot_tables", "Tables in the current snapshot");
    describe_gauge!("sluice_snapshot_tables_done", "Tables of the current snapshot read and acknowledged");
    describe_counter!("sluice_snapshot_rows_total", "Snapshot rows (op r) acknowledged");
    describe_gauge!(
        "sluice_behind_source_milliseconds",
        Unit::Milliseconds,
        "Commit time of the last acknowledged streamed event to its acknowledgement"
    );
    describe_histogram!(
        "sluice_commit_to_acknowledged_seconds",
        Unit::Seconds,
        "Commit in PostgreSQL to acknowledgement by the sink, per batch"
    );
    describe_gauge!(
        "sluice_last_event_timestamp_seconds",
        Unit::Seconds,
        "When the last streamed event was acknowledged (Unix time)"
    );
    describe_gauge!(
        "sluice_last_event_age_seconds",
        Unit::Seconds,
        "Seconds since the last streamed event was acknowledged"
    );
    describe_gauge!("sluice_queue_chunks", "Chunks of events waiting between source and pipeline (bounded)");
    describe_gauge!("sluice_connected", "1 while the replication stream is open");
    describe_gauge!("sluice_acknowledged_lsn", "The LSN confirmed to PostgreSQL as flushed (as a number)");
    describe_histogram!("sluice_sink_write_seconds", Unit::Seconds, "Duration of sink writes, each until durable");
    describe_counter!("sluice_sink_errors_total", "Failed sink writes (retriable: true or false)");
    describe_counter!("sluice_sink_retries_total", "Sink writes retried after a retriable failure");
    describe_counter!(
        "sluice_outbox_rows_deleted_total",
        "Outbox rows the cleaner deleted after the flush LSN passed their transaction"
    );
    describe_gauge!(
        "sluice_slot_retained_wal_bytes",
        Unit::Bytes,
        "WAL the replication slot keeps (current LSN - restart_lsn)"
    );
    describe_gauge!(
        "sluice_slot_safe_wal_bytes",
        Unit::Bytes,
        "WAL that may still be written before the slot is invalidated (max_slot_wal_keep_size)"
    );
    describe_gauge!(
        "sluice_slot_spill_bytes",
        Unit::Bytes,
        "Bytes the server spilled to disk decoding large transactions for this slot"
    );
    describe_gauge!(
        "sluice_slot_status",
        "1 for the slot's current wal_status (reserved, extended, unreserved, lost, missing)"
    );
    describe_counter!("sluice_restarts_total", "Restarts after transient failures");
}

/// `sluice status`: a running instance's state, read from its `/metrics`, for people.
pub fn status_report(addr: &str) -> Result<String, String> {
    let metrics = http_get(addr, "/metrics")?;
    let sample = |series: &str| -> Option<f64> {
        metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
    };
    let mut out = String::new();
    let connected = sample("sluice_connected") == Some(1.0);
    out.push_str(&format!(
        "state:      {}\n",
        if connected {
            "RUNNING (replication stream open)"
        } else {
            "NOT STREAMING (starting, reconnecting or stopped)"
        }
    ));
    let status = ["reserved", "extended", "unreserved", "lost", "missing"]
        .into_iter()
        .find(|s| sample(&format!("sluice_slot_status{{status=\"{s}\"}}")) == Some(1.0));
    match (status, sample("sluice_slot_retained_wal_bytes")) {
        (Some(status), Some(bytes)) => {
            out.push_str(&format!("slot:       wal_status {status}, {:.1} MiB of WAL retained\n", bytes / 1_048_576.0))
        }
        _ => out.push_str("slot:       not read yet (the slot guard reads it every slot.guard.interval.ms)\n"),
    }
    match sample("sluice_last_event_age_seconds") {
        Some(age) => out.push_str(&format!(
            "last event: {age:.1} s ago, {:.0} ms behind the source when acknowledged\n",
            sample("sluice_behind_source_milliseconds").unwrap_or(0.0)
        )),
        None => out.push_str("last event: none streamed yet\n"),
    }
    let ops: Vec<String> = ["c", "u", "d", "r", "t", "m"]
        .iter()
        .filter_map(|op| sample(&format!("sluice_events_total{{op=\"{op}\"}}")).map(|n| format!("{op}={n:.0}")))
        .collect();
    out.push_str(&format!("events:     {}\n", if ops.is_empty() { "none yet".to_string() } else { ops.join(" ") }));
    if let Some(skipped) = sample("sluice_events_skipped_total").filter(|n| *n > 0.0) {
        out.push_str(&format!(
            "skipped:    {skipped:.0} events that could not be encoded (event.processing.failure.handling.mode; see the log)\n"
        ));
    }
    if let (Some(total), Some(done)) = (sample("sluice_snapshot_tables"), sample("sluice_snapshot_tables_done")) {
        out.push_str(&format!("snapshot:   {done:.0}/{total:.0} tables\n"));
    }
    Ok(out)
}

fn http_get(addr: &str, path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| {
        format!("cannot reach a running Sluice on {addr}: {e} (is quarkus.http.port set, and Sluice running?)")
    })?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("an empty answer")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("{addr}{path} answered {}", head.lines().next().unwrap_or("")));
    }
    Ok(body.to_string())
}
