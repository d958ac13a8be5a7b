//! The HTTP endpoint operators scrape and probe: Prometheus metrics and liveness/readiness, on the port Debezium
//! Server uses for the same purpose (`quarkus.http.port`, with Quarkus's paths `/q/metrics`, `/q/health/live`,
//! `/q/health/ready`, plus the shorter `/metrics`, `/health/live`, `/health/ready`).
//!
//! Metric names follow `sluice_<name>_<unit>[_total]` with few, bounded labels; `docs/metrics.md` lists them and the
//! alerts worth setting. Everything is recorded through the `metrics` facade, so code that records does not know
//! whether anyone scrapes; without a listener configured no recorder is installed and recording costs nothing.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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

/// Installs the Prometheus recorder (once per process) and returns the routes of `/metrics` and the probes.
pub fn routes() -> Result<Router, ObserveError> {
    let handle = match RECORDER.get() {
        Some(handle) => handle.clone(),
        None => {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .map_err(|e| ObserveError::Recorder(e.to_string()))?
                .install_recorder()
                .map_err(|e| ObserveError::Recorder(e.to_string()))?;
            describe();
            RECORDER.get_or_init(|| handle).clone()
        }
    };
    let metrics = move || {
        let handle: PrometheusHandle = handle.clone();
        async move { render(&handle) }
    };
    Ok(Router::new()
        .route("/metrics", get(metrics.clone()))
        .route("/q/metrics", get(metrics))
        .route("/health/live", get(live))
        .route("/q/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/q/health/ready", get(ready)))
}

/// Serves the metrics and probes on `addr` in the background.
pub async fn serve(addr: SocketAddr) -> Result<SocketAddr, ObserveError> {
    let app = routes()?;
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

fn render(handle: &PrometheusHandle) -> String {
    let last = crate::pipeline::LAST_EVENT_US.load(Ordering::Relaxed);
    if last > 0 {
        let now_us = sluice_core::unix_micros();
        metrics::gauge!("sluice_last_event_age_seconds").set((now_us - last).max(0) as f64 / 1e6);
    }
    handle.render()
}

async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "UP", "checks": [{"name": "sluice", "status": "UP"}]}))
}

/// Ready while the replication stream is open (after the snapshot, which itself runs on an open slot).
async fn ready() -> (StatusCode, Json<serde_json::Value>) {
    let up = sluice_postgres::source::STREAMING.load(Ordering::Relaxed);
    let status = if up { "UP" } else { "DOWN" };
    let code = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(serde_json::json!({"status": status, "checks": [{"name": "replication stream", "status": status}]})))
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
