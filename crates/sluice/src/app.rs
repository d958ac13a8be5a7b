//! Wiring: configuration in, a running source and pipeline out. No processing logic lives here.
//!
//! The source and the pipeline run as two tasks so that decoding (source) and encoding plus sink I/O (pipeline)
//! use two cores. A transient fault — a dropped connection, a restarted server — restarts both from the durable
//! state (the slot and the offsets file) after a back-off, which is exactly the crash-recovery path, so it is the
//! path the crash tests exercise.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::{Lsn, OffsetStore, Offsets, TableId};
use sluice_format::outbox::EventRouter;
use sluice_format::transform::{TopicPredicate, Transform, TransformKind, Transforms};
use sluice_format::{Encoder, EncoderOptions};
use sluice_postgres::outbox_cleaner::run_outbox_cleaner;
use sluice_postgres::replication::ConnectOptions;
use sluice_postgres::source::{self, CaptureFilter, HeartbeatActions, SourceError, SourceOptions, SourceOutcome};
use sluice_sinks::kafka::{self, KafkaSink, ProducerSettings, TopicCreation};
use sluice_sinks::{AnySink, FileSink, NullSink, StdoutSink};
use tokio::sync::{mpsc, watch};

use crate::config::{self, Config, SinkConfig};
use crate::pipeline::{Pipeline, PipelineError};

/// Chunks in flight between source and pipeline: bounds memory (a chunk holds up to 512 items).
const CHANNEL_CHUNKS: usize = 2;
/// `max.queue.size.in.bytes` is shared by what can be in flight at once: the chunk the source fills, the
/// [`CHANNEL_CHUNKS`] in the channel, and the pipeline's batch of encoded records — a quarter each.
const BUDGET_SHARES: u64 = CHANNEL_CHUNKS as u64 + 2;
const RESTART_MIN: Duration = Duration::from_secs(1);
const RESTART_MAX: Duration = Duration::from_secs(60);
/// A run that lasted this long was healthy: the next failure starts the back-off from the beginning again.
const HEALTHY_RUN: Duration = RESTART_MAX;

/// Why a run ended badly.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Offsets(#[from] sluice_core::OffsetError),
    #[error(transparent)]
    Sink(#[from] sluice_core::SinkError),
    #[error(transparent)]
    Observe(#[from] crate::observe::ObserveError),
    #[error("internal error: {0}")]
    Task(String),
}

impl RunError {
    fn is_transient(&self) -> bool {
        matches!(self, RunError::Source(e) if e.is_transient())
    }

    fn is_slot_in_use(&self) -> bool {
        matches!(self, RunError::Source(SourceError::SlotInUse { .. }))
    }
}

/// When to try again after a transient failure: doubling delays from `RESTART_MIN` to `RESTART_MAX`, back to the
/// start after a healthy run. A slot held by another connection is Debezium's case apart: `slot.max.retries`
/// attempts, `slot.retry.delay.ms` apart, then the error stands.
#[derive(Debug)]
struct Restarts {
    delay: Duration,
    slot: config::SlotRetries,
    slot_retries: u32,
}

impl Restarts {
    fn new(slot: config::SlotRetries) -> Self {
        Restarts { delay: RESTART_MIN, slot, slot_retries: 0 }
    }

    /// The wait before the next attempt after `error` ended a run that lasted `ran_for`; `None`: give up.
    fn after(&mut self, error: &RunError, ran_for: Duration) -> Option<Duration> {
        if ran_for >= HEALTHY_RUN {
            self.delay = RESTART_MIN;
            self.slot_retries = 0;
        }
        if error.is_slot_in_use() {
            self.slot_retries += 1;
            return (self.slot_retries <= self.slot.max_retries).then_some(self.slot.delay);
        }
        self.slot_retries = 0;
        let delay = self.delay;
        self.delay = (delay * 2).min(RESTART_MAX);
        Some(delay)
    }
}

struct Filters(config::TableFilters);

impl CaptureFilter for Filters {
    fn table(&self, table: &TableId) -> bool {
        self.0.includes_table(&table.schema, &table.table)
    }

    fn column(&self, table: &TableId, column: &str) -> bool {
        self.0.includes_column(&table.schema, &table.table, column)
    }
}

/// Runs until shutdown or a fault that a restart cannot cure.
pub async fn run(config: Config, shutdown: watch::Receiver<bool>) -> Result<(), RunError> {
    if let Some(addr) = config.http {
        crate::observe::serve(addr).await?;
    }
    let config = Arc::new(config);
    let mut restarts = Restarts::new(config.source.slot_retries);
    loop {
        let started = std::time::Instant::now();
        let error = match run_once(&config, shutdown.clone()).await {
            Err(e) if e.is_transient() && !*shutdown.borrow() => e,
            other => return other,
        };
        let Some(delay) = restarts.after(&error, started.elapsed()) else { return Err(error) };
        metrics::counter!("sluice_restarts_total").increment(1);
        tracing::warn!(error = %error, restart_in_ms = delay.as_millis() as u64, "transient failure; restarting from the last acknowledged position");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = wait_for_shutdown(shutdown.clone()) => return Ok(()),
        }
    }
}

async fn wait_for_shutdown(mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

fn source_options(config: &Config) -> SourceOptions {
    let s = &config.source;
    SourceOptions {
        connect: ConnectOptions {
            host: s.hostname.clone(),
            port: s.port,
            user: s.user.clone(),
            password: s.password.clone(),
            dbname: s.dbname.clone(),
            sslmode: s.sslmode,
            sslrootcert: s.sslrootcert.clone(),
            application_name: format!("sluice {}", s.topic_prefix),
            receive_buffer: s.receive_buffer,
        },
        slot_name: s.slot_name.clone(),
        publication_name: s.publication_name.clone(),
        publication_mode: s.publication_autocreate_mode,
        snapshot_mode: s.snapshot_mode,
        snapshot_max_threads: s.snapshot_max_threads,
        skipped_operations: s.skipped_operations,
        filter: Arc::new(Filters(s.filters.clone())),
        status_interval: s.status_update_interval,
        lost_slot_policy: s.lost_slot_policy,
        slot_guard: s.slot_guard.clone(),
        chunk_bytes: budget_share(s.max_queue_bytes),
    }
}

/// The byte bound of one chunk, and of the pipeline's batch: an equal share of `max.queue.size.in.bytes`.
fn budget_share(max_queue_bytes: Option<u64>) -> usize {
    max_queue_bytes.map_or(usize::MAX, |bytes| usize::try_from(bytes / BUDGET_SHARES).unwrap_or(usize::MAX))
}

fn encoder_options(config: &Config) -> EncoderOptions {
    let s = &config.source;
    EncoderOptions {
        topic_prefix: s.topic_prefix.clone(),
        database: s.dbname.clone(),
        key: config.format.key.clone(),
        value: config.format.value.clone(),
        decimal_handling_mode: s.decimal_handling_mode,
        time_precision_mode: s.time_precision_mode,
        binary_handling_mode: s.binary_handling_mode,
        unavailable_value_placeholder: s.unavailable_value_placeholder.clone(),
        include_unknown_datatypes: s.include_unknown_datatypes,
        money_fraction_digits: s.money_fraction_digits,
        tombstones_on_delete: s.tombstones_on_delete,
    }
}

/// Checks what only the sink can check (the Kafka producer's keys, by librdkafka) without connecting anywhere.
/// Returns the notes to log, or every problem.
pub fn check_sink(config: &SinkConfig) -> Result<Vec<String>, Vec<String>> {
    match config {
        SinkConfig::Kafka { producer, .. } => kafka::producer_settings(producer).map(|s| s.notes),
        _ => Ok(Vec::new()),
    }
}

/// The `debezium.transforms` chain; its options were validated with the configuration.
fn transforms(config: &Config) -> Result<Transforms, RunError> {
    let invalid = |name: &str, e: String| RunError::Task(format!("transform `{name}`: {e}"));
    let mut steps = Vec::with_capacity(config.transforms.len());
    for t in &config.transforms {
        let kind = match &t.kind {
            config::TransformType::DecodeMessageContent => TransformKind::DecodeMessageContent,
            config::TransformType::EventRouter(options) => TransformKind::EventRouter(Box::new(
                EventRouter::new((**options).clone(), config.format.key.clone(), config.format.value.clone())
                    .map_err(|e| invalid(&t.name, e.to_string()))?,
            )),
        };
        let predicate = match &t.predicate {
            Some(p) => Some(TopicPredicate::new(&p.pattern, p.negate).map_err(|e| invalid(&t.name, e.to_string()))?),
            None => None,
        };
        steps.push(Transform { name: t.name.clone(), kind, predicate });
    }
    Ok(Transforms::new(steps, config.source.topic_prefix.clone()))
}

fn kafka_settings(producer: &[(String, String)]) -> Result<ProducerSettings, RunError> {
    // Already validated by `check_sink` before the run started; a failure here is reported the same way.
    kafka::producer_settings(producer).map_err(|problems| {
        RunError::Sink(sluice_core::SinkError {
            sink: "kafka",
            retriable: false,
            message: problems.join("; "),
            source: None,
        })
    })
}

fn open_sink(config: &SinkConfig) -> Result<AnySink, RunError> {
    Ok(match config {
        SinkConfig::Kafka { producer, topic_creation } => AnySink::Kafka(KafkaSink::new(
            kafka_settings(producer)?,
            topic_creation.as_ref().map(|t| TopicCreation {
                partitions: t.partitions,
                replication_factor: t.replication_factor.into(),
                configs: t.topic_configs.clone(),
            }),
        )?),
        SinkConfig::File { path } => AnySink::File(FileSink::open(path)?),
        SinkConfig::Stdout => AnySink::Stdout(StdoutSink::default()),
        SinkConfig::Null => AnySink::Null(NullSink),
    })
}

async fn run_once(config: &Config, shutdown: watch::Receiver<bool>) -> Result<(), RunError> {
    let store = OffsetStore::new(&config.offsets.file);
    let loaded = store.load()?;
    let slot_name = &config.source.slot_name;
    let offsets = loaded
        .clone()
        .filter(|o| &o.slot_name == slot_name)
        .unwrap_or_else(|| Offsets { slot_name: slot_name.clone(), ..Offsets::default() });
    let sink = open_sink(&config.sink)?;
    let heartbeat = &config.source.heartbeat;
    let pipeline =
        Pipeline::new(Encoder::new(encoder_options(config)), sink, store, offsets, config.offsets.flush_interval)
            .with_heartbeat(heartbeat.interval, heartbeat.topic_prefix.clone())
            .with_failure_handling(config.source.failure_handling_mode)
            .with_max_batch_bytes(budget_share(config.source.max_queue_bytes))
            .with_transforms(transforms(config)?);
    let (pipeline, cleaner) = match &config.source.outbox_cleanup {
        Some(cleanup) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let pipeline = pipeline.with_outbox_cleanup(cleanup.table.clone(), cleanup.id_column.clone(), tx);
            let options = source_options(config);
            (pipeline, Some(tokio::spawn(run_outbox_cleaner(options.connect, cleanup.clone(), rx))))
        }
        None => (pipeline, None),
    };

    let (items_tx, items_rx) = mpsc::channel(CHANNEL_CHUNKS);
    let (flush_tx, flush_rx) = watch::channel(Lsn::ZERO);
    let options = source_options(config);
    let mut guard = tokio::spawn(source::watch_slot(options.clone(), shutdown.clone()));
    let heartbeat_actions = tokio::spawn(source::run_heartbeat_actions(
        options.connect.clone(),
        HeartbeatActions {
            interval: heartbeat.interval,
            action_query: heartbeat.action_query.clone(),
            emit_message: heartbeat.emit_message,
        },
        shutdown.clone(),
    ));
    let source = tokio::spawn(source::run(options, loaded, items_tx, flush_rx, shutdown));
    let pipeline = tokio::spawn(pipeline.run(items_rx, flush_tx));
    let stop_both = [source.abort_handle(), pipeline.abort_handle()];
    let both = async { tokio::join!(source, pipeline) };
    tokio::pin!(both);
    // The slot guard ends this run the moment the slot is lost (its error says what happens next); otherwise it
    // runs beside the pipeline until shutdown.
    let (source, pipeline) = loop {
        tokio::select! {
            done = &mut both => break done,
            watched = &mut guard, if !guard.is_finished() => {
                let failure = match watched {
                    Ok(Err(e)) => RunError::from(e),
                    Err(e) => RunError::Task(e.to_string()),
                    Ok(Ok(())) => continue,
                };
                // As abrupt as a crash, and as safe: nothing unacknowledged was confirmed.
                stop_both.iter().for_each(|h| h.abort());
                heartbeat_actions.abort();
                if let Some(cleaner) = &cleaner {
                    cleaner.abort();
                }
                return Err(failure);
            }
        }
    };
    guard.abort();
    heartbeat_actions.abort();
    if let Some(cleaner) = cleaner {
        // The pipeline is done, so the cleaner's channel is closed: it deletes what is left and ends.
        let _ = cleaner.await;
    }
    let source = source.map_err(|e| RunError::Task(e.to_string()))?;
    let stats = pipeline.map_err(|e| RunError::Task(e.to_string()))??;
    match source? {
        SourceOutcome::Stopped => tracing::info!(events = stats.events, records = stats.records, "stopped"),
        SourceOutcome::SnapshotOnly => {
            tracing::info!(events = stats.events, "snapshot complete (snapshot.mode=initial_only); not streaming")
        }
        SourceOutcome::PipelineGone => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> RunError {
        RunError::Source(SourceError::ServerEnded)
    }

    fn slot_in_use() -> RunError {
        RunError::Source(SourceError::SlotInUse { slot: "s".into(), detail: "active for PID 7".into() })
    }

    fn restarts(max_retries: u32) -> Restarts {
        Restarts::new(config::SlotRetries { max_retries, delay: Duration::from_millis(250) })
    }

    #[test]
    fn the_back_off_doubles_up_to_its_ceiling() {
        let mut r = restarts(6);
        let delays: Vec<u64> = (0..8).map(|_| r.after(&transient(), Duration::ZERO).unwrap().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn the_back_off_starts_over_after_a_healthy_run() {
        let mut r = restarts(6);
        for _ in 0..5 {
            r.after(&transient(), Duration::from_secs(1));
        }
        assert_eq!(r.after(&transient(), HEALTHY_RUN), Some(RESTART_MIN));
        assert_eq!(r.after(&transient(), Duration::from_secs(1)), Some(RESTART_MIN * 2));
    }

    #[test]
    fn a_slot_in_use_is_retried_as_often_as_slot_max_retries_says() {
        let mut r = restarts(2);
        assert_eq!(r.after(&slot_in_use(), Duration::ZERO), Some(Duration::from_millis(250)));
        assert_eq!(r.after(&slot_in_use(), Duration::ZERO), Some(Duration::from_millis(250)));
        assert_eq!(r.after(&slot_in_use(), Duration::ZERO), None);
        assert_eq!(restarts(0).after(&slot_in_use(), Duration::ZERO), None);
    }
}
