//! Wiring: configuration in, a running source and pipeline out. No processing logic lives here.
//!
//! The source and the pipeline run as two tasks so that decoding (source) and encoding plus sink I/O (pipeline)
//! use two cores. A transient fault — a dropped connection, a restarted server — restarts both from the durable
//! state (the slot and the offsets) after a back-off, which is exactly the crash-recovery path, so it is the path
//! the crash tests exercise. The offsets are in a file or, as in Kafka Connect, in a Kafka topic ([`offset_store`]).

use std::sync::Arc;

use sluice_core::policy::FailureKind;
use sluice_core::{FileOffsetStore, Lsn, OffsetError, OffsetStore, Offsets, PipelineStatus};
use sluice_engine::settings::OffsetStorage;
use sluice_engine::{Failure, Pipeline, PipelineError, RestartLimits};
use sluice_format::outbox::EventRouter;
use sluice_format::settings::TransformType;
use sluice_format::transform::records::{Condition, Predicate, RecordTransform};
use sluice_format::transform::{Transform, TransformKind, Transforms};
use sluice_format::{Encoder, EncoderOptions};
use sluice_postgres::outbox_cleaner::{run_outbox_cleaner, OutboxFeed};
use sluice_postgres::source::{self, ChangeSource, PostgresSource, SourceChannels, SourceError, SourceOutcome};
use tokio::sync::{mpsc, watch};

use crate::config::Config;

/// Chunks in flight between source and pipeline: bounds memory (a chunk holds up to 512 items).
const CHANNEL_CHUNKS: usize = 2;
/// `max.queue.size.in.bytes` is shared by what can be in flight at once: the chunk the source fills, the
/// [`CHANNEL_CHUNKS`] in the channel, and the pipeline's batch of encoded records — a quarter each.
const BUDGET_SHARES: u64 = CHANNEL_CHUNKS as u64 + 2;

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

impl Failure for RunError {
    fn kind(&self) -> FailureKind {
        match self {
            RunError::Source(e) => e.kind(),
            RunError::Pipeline(PipelineError::Sink(e)) | RunError::Sink(e) if e.retriable => {
                FailureKind::SinkUnavailable
            }
            RunError::Pipeline(PipelineError::Sink(_)) | RunError::Sink(_) => FailureKind::SinkRejected,
            RunError::Pipeline(
                PipelineError::Encode { .. } | PipelineError::Topics(_) | PipelineError::Transform(_),
            ) => FailureKind::Unencodable,
            RunError::Pipeline(PipelineError::Offsets(e)) | RunError::Offsets(e) if e.retriable() => {
                FailureKind::OffsetStorageUnavailable
            }
            RunError::Pipeline(PipelineError::Offsets(_)) | RunError::Offsets(_) => FailureKind::OffsetStorage,
            RunError::Observe(_) | RunError::Task(_) => FailureKind::Internal,
        }
    }
}

/// Runs until shutdown or a fault the error policy says to stop at ([`sluice_core::policy`]).
/// `status` is this pipeline's: its source, its delivery loop and whoever reads it share it.
pub async fn run(config: Config, status: PipelineStatus, shutdown: watch::Receiver<bool>) -> Result<(), RunError> {
    if let Some(addr) = config.http {
        crate::observe::serve(addr, crate::observe::single(status.clone())).await?;
    }
    let config = Arc::new(config);
    let retries = config.source.slot_retries;
    let limits = RestartLimits { slot_max_retries: retries.max_retries, slot_retry_delay: retries.delay };
    sluice_engine::supervise(limits, &status, shutdown.clone(), || run_once(&config, &status, shutdown.clone())).await
}

/// The byte bound of one chunk, and of the pipeline's batch: an equal share of `max.queue.size.in.bytes`.
fn budget_share(max_queue_bytes: Option<u64>) -> usize {
    max_queue_bytes.map_or(usize::MAX, |bytes| usize::try_from(bytes / BUDGET_SHARES).unwrap_or(usize::MAX))
}

fn encoder_options(config: &Config) -> EncoderOptions {
    config.events.encoder_options(&config.source.topic_prefix, &config.source.dbname)
}

/// The pipeline's encoder: with transaction metadata when `provide.transaction.metadata` is on.
fn encoder(config: &Config) -> Encoder {
    let encoder = Encoder::new(encoder_options(config));
    match &config.source.transaction_topic {
        Some(topic) => encoder.with_transaction_metadata(topic),
        None => encoder,
    }
}

/// The `debezium.transforms` chain; its options were validated with the configuration.
fn transforms(config: &Config) -> Result<Transforms, RunError> {
    let invalid = |name: &str, e: String| RunError::Task(format!("transform `{name}`: {e}"));
    let mut steps = Vec::with_capacity(config.transforms.len());
    for t in &config.transforms {
        let kind = match &t.kind {
            TransformType::DecodeMessageContent => TransformKind::DecodeMessageContent,
            TransformType::Unwrap(options) => {
                TransformKind::Unwrap(Box::new(Encoder::new(encoder_options(config)).with_unwrap(options)))
            }
            TransformType::EventRouter(options) => TransformKind::EventRouter(Box::new(
                EventRouter::new((**options).clone(), config.events.key.clone(), config.events.value.clone())
                    .map_err(|e| invalid(&t.name, e.to_string()))?,
            )),
            TransformType::Record(record) => TransformKind::Record(
                RecordTransform::new(record).map_err(|(option, e)| invalid(&t.name, format!("{option}: {e}")))?,
            ),
        };
        let predicate = match &t.predicate {
            Some(p) => Some(Condition {
                predicate: Predicate::new(&p.kind).map_err(|e| invalid(&t.name, e))?,
                negate: p.negate,
            }),
            None => None,
        };
        steps.push(Transform { name: t.name.clone(), kind, predicate });
    }
    Ok(Transforms::new(steps, config.source.topic_prefix.clone()).with_naming(config.events.naming.clone()))
}

/// The connector's name in the offsets topic's keys: `debezium.source.name`, or the sink type, as Debezium Server
/// names its engine.
pub fn connector_name(config: &Config) -> String {
    config.offsets().name.clone().unwrap_or_else(|| config.sink.sink_type().to_string())
}

/// The offset store the configuration chose (its clients' settings were checked with the configuration).
pub fn offset_store(config: &Config) -> Result<Box<dyn OffsetStore>, OffsetError> {
    match &config.offsets().storage {
        OffsetStorage::File(path) => Ok(Box::new(FileOffsetStore::new(path))),
        OffsetStorage::Kafka(kafka) => {
            use sluice_sinks::kafka::{offset_client_settings, KafkaOffsetStore, KafkaStoreOptions};
            let settings = offset_client_settings(&kafka.client)
                .map_err(|problems| OffsetError::Store { retriable: false, message: problems.join("; ") })?;
            let options = KafkaStoreOptions {
                topic: kafka.topic.clone(),
                partitions: kafka.partitions,
                replication_factor: kafka.replication_factor,
                flush_timeout: kafka.flush_timeout,
                connector: connector_name(config),
                topic_prefix: config.source.topic_prefix.clone(),
                slot_name: config.source.slot_name.clone(),
            };
            Ok(Box::new(KafkaOffsetStore::new(settings, options)?))
        }
    }
}

/// Every task it spawns carries the caller's connector label for its metrics (`observe::carry`).
async fn run_once(config: &Config, status: &PipelineStatus, shutdown: watch::Receiver<bool>) -> Result<(), RunError> {
    use crate::observe::carry;
    let mut store = offset_store(config)?;
    let loaded = store.load().await?;
    let slot_name = &config.source.slot_name;
    let offsets = loaded
        .clone()
        .filter(|o| &o.slot_name == slot_name)
        .unwrap_or_else(|| Offsets { slot_name: slot_name.clone(), ..Offsets::default() });
    let sink = config.sink.open()?;
    let heartbeat = &config.source.heartbeat;
    let pipeline = Pipeline::new(encoder(config), sink, store, offsets, config.offsets().flush_interval)
        .with_heartbeat(heartbeat.interval, heartbeat.topic_prefix.clone())
        .with_failure_handling(config.events.failure_handling_mode)
        .with_max_batch_bytes(budget_share(config.engine.max_queue_bytes))
        .with_max_batch_records(config.engine.max_batch_records)
        .with_transforms(transforms(config)?)
        .with_status(status.clone())
        .with_shutdown(shutdown.clone());
    let (pipeline, cleaner) = match &config.source.outbox_cleanup {
        Some(cleanup) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let pipeline = pipeline.with_observer(Box::new(OutboxFeed::new(cleanup, tx)));
            let connect = config.source.connect_options();
            (pipeline, Some(tokio::spawn(carry(run_outbox_cleaner(connect, cleanup.clone(), rx)))))
        }
        None => (pipeline, None),
    };

    let (items_tx, items_rx) = mpsc::channel(CHANNEL_CHUNKS);
    let (flush_tx, flush_rx) = watch::channel(Lsn::ZERO);
    let options = config.source.source_options(status, budget_share(config.engine.max_queue_bytes));
    let mut guard = tokio::spawn(carry(source::watch_slot(options.clone(), shutdown.clone())));
    let heartbeat_actions = tokio::spawn(carry(source::run_heartbeat_actions(
        options.connect.clone(),
        heartbeat.actions(),
        shutdown.clone(),
    )));
    let channels = SourceChannels { items: items_tx, acknowledged: flush_rx, shutdown };
    let source = tokio::spawn(carry(PostgresSource(options).run(loaded, channels)));
    let pipeline = tokio::spawn(carry(pipeline.run(items_rx, flush_tx)));
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

    fn sink(retriable: bool) -> RunError {
        RunError::Sink(sluice_core::SinkError { sink: "kafka", retriable, message: "m".into(), source: None })
    }

    #[test]
    fn each_failure_finds_its_row_in_the_policy() {
        use sluice_core::policy::FailureKind as K;
        let lost = |policy| RunError::Source(SourceError::SlotLost { slot: "s".into(), invalidated: true, policy });
        let cases = [
            (transient(), K::ConnectionLost),
            (slot_in_use(), K::SlotInUse),
            (lost(source::LostSlotPolicy::Recreate), K::SlotLostRecreate),
            (lost(source::LostSlotPolicy::Fail), K::SlotLost),
            (RunError::Source(SourceError::UnknownRelation { oid: 7 }), K::Undecodable),
            (sink(true), K::SinkUnavailable),
            (sink(false), K::SinkRejected),
            (RunError::Task("boom".into()), K::Internal),
            (
                RunError::Offsets(OffsetError::Store { retriable: true, message: "down".into() }),
                K::OffsetStorageUnavailable,
            ),
            (RunError::Offsets(OffsetError::Store { retriable: false, message: "refused".into() }), K::OffsetStorage),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            assert!(error.explained().ends_with(kind.hint()), "{}", error.explained());
        }
    }
}
