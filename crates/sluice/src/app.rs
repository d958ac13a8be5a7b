//! Wiring: configuration in, a running source and pipeline out. No processing logic lives here.
//!
//! The source and the pipeline run as two tasks so that decoding (source) and encoding plus sink I/O (pipeline)
//! use two cores. A transient fault — a dropped connection, a restarted server — restarts both from the durable
//! state (the slot and the offsets file) after a back-off, which is exactly the crash-recovery path, so it is the
//! path the crash tests exercise.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::{Lsn, OffsetStore, Offsets, TableId};
use sluice_format::{BinaryHandlingMode, Converter, DecimalHandlingMode, Encoder, EncoderOptions, TimePrecisionMode};
use sluice_postgres::replication::ConnectOptions;
use sluice_postgres::source::{
    self, CaptureFilter, PublicationMode, SkippedOperations, SnapshotMode, SourceError, SourceOptions, SourceOutcome,
};
use sluice_postgres::tls::SslMode;
use sluice_sinks::{AnySink, FileSink, NullSink, StdoutSink};
use tokio::sync::{mpsc, watch};

use crate::config::{self, Config, SinkConfig};
use crate::pipeline::{Pipeline, PipelineError};

/// Chunks in flight between source and pipeline: bounds memory (a chunk holds up to a few thousand events).
const CHANNEL_CHUNKS: usize = 2;
const RESTART_MIN: Duration = Duration::from_secs(1);
const RESTART_MAX: Duration = Duration::from_secs(60);

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
    #[error("internal error: {0}")]
    Task(String),
}

impl RunError {
    fn is_transient(&self) -> bool {
        matches!(self, RunError::Source(e) if e.is_transient())
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
    let config = Arc::new(config);
    let mut delay = RESTART_MIN;
    loop {
        match run_once(&config, shutdown.clone()).await {
            Err(e) if e.is_transient() && !*shutdown.borrow() => {
                tracing::warn!(error = %e, restart_in_s = delay.as_secs(), "transient failure; restarting from the last acknowledged position");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = wait_for_shutdown(shutdown.clone()) => return Ok(()),
                }
                delay = (delay * 2).min(RESTART_MAX);
            }
            other => return other,
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

fn sslmode(mode: config::SslMode) -> SslMode {
    match mode {
        config::SslMode::Disable => SslMode::Disable,
        config::SslMode::Allow => SslMode::Allow,
        config::SslMode::Prefer => SslMode::Prefer,
        config::SslMode::Require => SslMode::Require,
        config::SslMode::VerifyCa => SslMode::VerifyCa,
        config::SslMode::VerifyFull => SslMode::VerifyFull,
    }
}

fn publication_mode(mode: config::PublicationAutocreateMode) -> PublicationMode {
    match mode {
        config::PublicationAutocreateMode::AllTables => PublicationMode::AllTables,
        config::PublicationAutocreateMode::Disabled => PublicationMode::Disabled,
        config::PublicationAutocreateMode::Filtered => PublicationMode::Filtered,
        config::PublicationAutocreateMode::NoTables => PublicationMode::NoTables,
    }
}

fn snapshot_mode(mode: config::SnapshotMode) -> SnapshotMode {
    match mode {
        config::SnapshotMode::Initial => SnapshotMode::Initial,
        config::SnapshotMode::Always => SnapshotMode::Always,
        config::SnapshotMode::InitialOnly => SnapshotMode::InitialOnly,
        config::SnapshotMode::NoData => SnapshotMode::NoData,
        config::SnapshotMode::WhenNeeded => SnapshotMode::WhenNeeded,
    }
}

fn converter(c: &config::Converter) -> Converter {
    match c {
        config::Converter::Json { schemas_enable } => Converter::Json { schemas_enable: *schemas_enable },
        config::Converter::SimpleString => Converter::SimpleString,
        config::Converter::Binary => Converter::Binary,
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
            sslmode: sslmode(s.sslmode),
            sslrootcert: s.sslrootcert.clone(),
            application_name: format!("sluice {}", s.topic_prefix),
        },
        slot_name: s.slot_name.clone(),
        publication_name: s.publication_name.clone(),
        publication_mode: publication_mode(s.publication_autocreate_mode),
        snapshot_mode: snapshot_mode(s.snapshot_mode),
        snapshot_max_threads: s.snapshot_max_threads,
        skipped_operations: SkippedOperations {
            create: s.skipped_operations.create,
            update: s.skipped_operations.update,
            delete: s.skipped_operations.delete,
            truncate: s.skipped_operations.truncate,
        },
        filter: Arc::new(Filters(s.filters.clone())),
        status_interval: s.status_update_interval,
    }
}

fn encoder_options(config: &Config) -> EncoderOptions {
    let s = &config.source;
    EncoderOptions {
        topic_prefix: s.topic_prefix.clone(),
        database: s.dbname.clone(),
        key: converter(&config.format.key),
        value: converter(&config.format.value),
        decimal_handling_mode: match s.decimal_handling_mode {
            config::DecimalHandlingMode::Precise => DecimalHandlingMode::Precise,
            config::DecimalHandlingMode::Double => DecimalHandlingMode::Double,
            config::DecimalHandlingMode::String => DecimalHandlingMode::String,
        },
        time_precision_mode: match s.time_precision_mode {
            config::TimePrecisionMode::Adaptive => TimePrecisionMode::Adaptive,
            config::TimePrecisionMode::AdaptiveTimeMicroseconds => TimePrecisionMode::AdaptiveTimeMicroseconds,
            config::TimePrecisionMode::Connect => TimePrecisionMode::Connect,
        },
        binary_handling_mode: match s.binary_handling_mode {
            config::BinaryHandlingMode::Bytes => BinaryHandlingMode::Bytes,
            config::BinaryHandlingMode::Base64 => BinaryHandlingMode::Base64,
            config::BinaryHandlingMode::Base64UrlSafe => BinaryHandlingMode::Base64UrlSafe,
            config::BinaryHandlingMode::Hex => BinaryHandlingMode::Hex,
        },
        unavailable_value_placeholder: s.unavailable_value_placeholder.clone(),
        include_unknown_datatypes: s.include_unknown_datatypes,
        money_fraction_digits: s.money_fraction_digits,
        tombstones_on_delete: s.tombstones_on_delete,
    }
}

fn open_sink(config: &SinkConfig) -> Result<AnySink, RunError> {
    Ok(match config {
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
    let pipeline =
        Pipeline::new(Encoder::new(encoder_options(config)), sink, store, offsets, config.offsets.flush_interval);

    let (items_tx, items_rx) = mpsc::channel(CHANNEL_CHUNKS);
    let (flush_tx, flush_rx) = watch::channel(Lsn::ZERO);
    let source = tokio::spawn(source::run(source_options(config), loaded, items_tx, flush_rx, shutdown));
    let pipeline = tokio::spawn(pipeline.run(items_rx, flush_tx));
    let (source, pipeline) = tokio::join!(source, pipeline);
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
