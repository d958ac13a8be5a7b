//! One task per connector that makes its pipeline match what the REST API asked for.
//!
//! REST handlers only record the wish (configuration, target state, a generation that a restart or a new
//! configuration bumps) and return; this task does the slow part — draining the old pipeline, which can take as
//! long as a stalled broker lets it, and starting the new one — and publishes the state that `/status` reads. So no
//! request waits for a pipeline, and one connector's trouble never holds up another's API calls.
//!
//! The old pipeline is always gone (drained, or cancelled after `task.shutdown.graceful.timeout.ms`, and its task
//! awaited) before the new one starts; if PostgreSQL still counts the old replication connection against the slot
//! for a moment, the new pipeline treats "slot in use" as transient and retries.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_core::PipelineStatus;
use sluice_engine::Failure;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{TargetState, WorkerConfig};

/// What the REST API asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub config: BTreeMap<String, String>,
    pub target: TargetState,
    /// Bumped when the pipeline must start over: a new configuration, a restart, a resume.
    pub generation: u64,
    /// The connector was deleted, or the worker is stopping: drain and end.
    pub removed: bool,
}

/// What the connector is doing, as `/status` shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// Starting, stopping, or finished on its own.
    Unassigned,
    Running,
    Paused,
    Stopped,
    /// The pipeline ended with this error, or the configuration no longer validates.
    Failed(String),
}

impl Observed {
    /// Kafka Connect's state name and trace.
    pub fn state(&self) -> (&'static str, Option<&str>) {
        match self {
            Observed::Unassigned => ("UNASSIGNED", None),
            Observed::Running => ("RUNNING", None),
            Observed::Paused => ("PAUSED", None),
            Observed::Stopped => ("STOPPED", None),
            Observed::Failed(trace) => ("FAILED", Some(trace)),
        }
    }
}

/// The REST side's handle on a connector's task.
pub struct Connector {
    desired: watch::Sender<Desired>,
    observed: watch::Receiver<Observed>,
    /// The status its pipelines report to (streaming, last event, snapshot progress), one per connector.
    status: PipelineStatus,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Connector {
    /// Starts supervising `name`.
    pub fn spawn(name: String, worker: Arc<WorkerConfig>, desired: Desired) -> Connector {
        let (desired, wishes) = watch::channel(desired);
        let (report, observed) = watch::channel(Observed::Unassigned);
        let status = PipelineStatus::new();
        let task = tokio::spawn(supervise(name, worker, wishes, report, status.clone()));
        Connector { desired, observed, status, task: std::sync::Mutex::new(Some(task)) }
    }

    pub fn status(&self) -> &PipelineStatus {
        &self.status
    }

    pub fn desired(&self) -> Desired {
        self.desired.borrow().clone()
    }

    pub fn observed(&self) -> Observed {
        self.observed.borrow().clone()
    }

    /// Changes the wish; the task acts on it.
    pub fn update(&self, change: impl FnOnce(&mut Desired)) {
        self.desired.send_modify(change);
    }

    /// Stops the pipeline (draining it within the worker's bound) and ends the task.
    pub async fn shut_down(&self) {
        self.desired.send_modify(|d| d.removed = true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

struct Pipeline {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), String>>,
    generation: u64,
}

impl Pipeline {
    /// Starts the pipeline, its metrics labelled with the connector's name; its error, as logged and as `/status`
    /// shows it, never holds what a placeholder resolved to.
    fn start(name: &str, loaded: crate::config::LoadedConfig, status: PipelineStatus, generation: u64) -> Pipeline {
        let (stop, stop_rx) = watch::channel(false);
        let label: Arc<str> = Arc::from(name);
        let name = name.to_string();
        let run = async move {
            tracing::info!(connector = %name, "connector starting");
            for warning in &loaded.warnings {
                tracing::warn!(connector = %name, "{warning}");
            }
            for key in &loaded.ignored_keys {
                tracing::info!(connector = %name, key = %key, "ignoring a key that asks for nothing Sluice lacks");
            }
            let sluice_config::Loaded { config, resolved, .. } = loaded;
            let result = crate::app::run(config, status, stop_rx)
                .await
                .map_err(|e| sluice_config::redact(&e.explained(), &resolved));
            match &result {
                Ok(()) => tracing::info!(connector = %name, "connector stopped"),
                Err(e) => tracing::error!(connector = %name, error = %e, "connector failed"),
            }
            result
        };
        let task = tokio::spawn(crate::observe::labelled(label, run));
        Pipeline { stop, task, generation }
    }

    /// Asks the pipeline to drain; cancels it after `grace`. Returns once its task is over.
    async fn halt(mut self, name: &str, grace: Duration) {
        let _ = self.stop.send(true);
        match tokio::time::timeout(grace, &mut self.task).await {
            Ok(Ok(Err(e))) => tracing::warn!(connector = %name, error = %e, "the connector failed while stopping"),
            Ok(_) => {}
            Err(_) => {
                tracing::warn!(
                    connector = %name,
                    grace_ms = grace.as_millis() as u64,
                    "the connector did not drain in time (task.shutdown.graceful.timeout.ms); cancelling it, what \
                     it had not acknowledged will be sent again"
                );
                self.task.abort();
                let _ = self.task.await;
            }
        }
    }
}

/// The running pipeline's end, or never.
async fn ended(pipeline: &mut Option<Pipeline>) -> Result<Result<(), String>, tokio::task::JoinError> {
    match pipeline {
        Some(p) => (&mut p.task).await,
        None => std::future::pending().await,
    }
}

async fn supervise(
    name: String,
    worker: Arc<WorkerConfig>,
    mut wishes: watch::Receiver<Desired>,
    report: watch::Sender<Observed>,
    status: PipelineStatus,
) {
    let mut pipeline: Option<Pipeline> = None;
    // The generation whose pipeline ended (failed, or finished on its own): not started again until a new one.
    let mut settled: Option<u64> = None;
    loop {
        let want = wishes.borrow_and_update().clone();
        if want.removed {
            if let Some(p) = pipeline.take() {
                p.halt(&name, worker.graceful_stop).await;
            }
            return;
        }
        if pipeline.as_ref().is_some_and(|p| want.target != TargetState::Running || p.generation != want.generation) {
            report.send_replace(Observed::Unassigned);
            if let Some(p) = pipeline.take() {
                p.halt(&name, worker.graceful_stop).await;
            }
            // The wish may have moved on while the pipeline drained.
            continue;
        }
        if pipeline.is_none() {
            match want.target {
                TargetState::Running if settled != Some(want.generation) => {
                    match super::validate(&worker, super::translate(&worker, &name, &want.config)) {
                        Ok(loaded) => {
                            pipeline = Some(Pipeline::start(&name, loaded, status.clone(), want.generation));
                            report.send_replace(Observed::Running);
                        }
                        Err(problems) => {
                            settled = Some(want.generation);
                            report.send_replace(Observed::Failed(problems.join("\n")));
                        }
                    }
                }
                TargetState::Running => {}
                TargetState::Paused => {
                    report.send_replace(Observed::Paused);
                }
                TargetState::Stopped => {
                    report.send_replace(Observed::Stopped);
                }
            }
        }
        tokio::select! {
            changed = wishes.changed() => {
                if changed.is_err() {
                    if let Some(p) = pipeline.take() {
                        p.halt(&name, worker.graceful_stop).await;
                    }
                    return;
                }
            }
            result = ended(&mut pipeline) => {
                if let Some(p) = pipeline.take() {
                    settled = Some(p.generation);
                }
                report.send_replace(match result {
                    Ok(Ok(())) => Observed::Unassigned,
                    Ok(Err(trace)) => Observed::Failed(trace),
                    Err(e) => Observed::Failed(format!("the connector's task ended abnormally: {e}")),
                });
            }
        }
    }
}
