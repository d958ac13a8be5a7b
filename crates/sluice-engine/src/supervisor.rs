//! Restarting a pipeline: how often, how far apart, and when to give up.
//!
//! A failure the policy marks [`Action::Restart`] starts the pipeline again from its durable state (the slot and the
//! offsets), which is exactly the crash-recovery path the crash tests exercise. Delays double from one second to a
//! minute and start over after a run that lasted a minute (a healthy run). A slot held by another connection is
//! Debezium's case apart: `slot.max.retries` attempts, `slot.retry.delay.ms` apart, then the error stands.

use std::future::Future;
use std::time::{Duration, Instant};

use sluice_core::policy::{Action, FailureKind};
use sluice_core::PipelineStatus;
use tokio::sync::watch;

const RESTART_MIN: Duration = Duration::from_secs(1);
const RESTART_MAX: Duration = Duration::from_secs(60);
/// A run that lasted this long was healthy: the next failure starts the back-off from the beginning again.
const HEALTHY_RUN: Duration = RESTART_MAX;

/// A pipeline's failure, as the supervisor needs to see it.
pub trait Failure: std::fmt::Display {
    /// Its row in the error policy.
    fn kind(&self) -> FailureKind;

    /// The message and the policy's hint, as the log, the exit message and a connector's status show it.
    fn explained(&self) -> String {
        format!("{self}\n  hint: {}", self.kind().hint())
    }
}

/// Debezium's `slot.max.retries` and `slot.retry.delay.ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartLimits {
    pub slot_max_retries: u32,
    pub slot_retry_delay: Duration,
}

/// Runs `run_once` until shutdown, a success, or a failure the policy does not restart; restarts in between are
/// counted (`sluice_restarts_total`), logged with their hint, and shown in `status`.
pub async fn supervise<E, F, Fut>(
    limits: RestartLimits,
    status: &PipelineStatus,
    shutdown: watch::Receiver<bool>,
    mut run_once: F,
) -> Result<(), E>
where
    E: Failure,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut restarts = Restarts::new(limits);
    loop {
        let started = Instant::now();
        let error = match run_once().await {
            Err(e) if !*shutdown.borrow() => e,
            other => return other,
        };
        let Some(delay) = restarts.after(error.kind(), started.elapsed()) else { return Err(error) };
        metrics::counter!("sluice_restarts_total").increment(1);
        let explained = error.explained();
        status.restarting(&explained, delay);
        tracing::warn!(error = %explained, restart_in_ms = delay.as_millis() as u64, "restarting from the last acknowledged position");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopped(shutdown.clone()) => return Ok(()),
        }
    }
}

async fn stopped(mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// The restart schedule.
#[derive(Debug)]
struct Restarts {
    delay: Duration,
    limits: RestartLimits,
    slot_retries: u32,
}

impl Restarts {
    fn new(limits: RestartLimits) -> Self {
        Restarts { delay: RESTART_MIN, limits, slot_retries: 0 }
    }

    /// The wait before the next attempt after a failure of `kind` ended a run that lasted `ran_for`; `None`: the
    /// policy says stop, or the retries are used up.
    fn after(&mut self, kind: FailureKind, ran_for: Duration) -> Option<Duration> {
        if kind.action() != Action::Restart {
            return None;
        }
        if ran_for >= HEALTHY_RUN {
            self.delay = RESTART_MIN;
            self.slot_retries = 0;
        }
        if kind == FailureKind::SlotInUse {
            self.slot_retries += 1;
            return (self.slot_retries <= self.limits.slot_max_retries).then_some(self.limits.slot_retry_delay);
        }
        self.slot_retries = 0;
        let delay = self.delay;
        self.delay = (delay * 2).min(RESTART_MAX);
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn restarts(slot_max_retries: u32) -> Restarts {
        Restarts::new(RestartLimits { slot_max_retries, slot_retry_delay: Duration::from_millis(250) })
    }

    #[test]
    fn the_back_off_doubles_up_to_its_ceiling() {
        let mut r = restarts(6);
        let delays: Vec<u64> =
            (0..8).map(|_| r.after(FailureKind::ConnectionLost, Duration::ZERO).unwrap().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn the_back_off_starts_over_after_a_healthy_run() {
        let mut r = restarts(6);
        for _ in 0..5 {
            r.after(FailureKind::ConnectionLost, Duration::from_secs(1));
        }
        assert_eq!(r.after(FailureKind::ConnectionLost, HEALTHY_RUN), Some(RESTART_MIN));
        assert_eq!(r.after(FailureKind::ConnectionLost, Duration::from_secs(1)), Some(RESTART_MIN * 2));
    }

    #[test]
    fn a_slot_in_use_is_retried_as_often_as_slot_max_retries_says() {
        let mut r = restarts(2);
        assert_eq!(r.after(FailureKind::SlotInUse, Duration::ZERO), Some(Duration::from_millis(250)));
        assert_eq!(r.after(FailureKind::SlotInUse, Duration::ZERO), Some(Duration::from_millis(250)));
        assert_eq!(r.after(FailureKind::SlotInUse, Duration::ZERO), None);
        assert_eq!(restarts(0).after(FailureKind::SlotInUse, Duration::ZERO), None);
    }

    #[test]
    fn only_failures_the_policy_restarts_are_retried() {
        for kind in FailureKind::ALL {
            let restarted = restarts(6).after(kind, Duration::ZERO).is_some();
            assert_eq!(restarted, kind.action() == Action::Restart, "{kind:?}");
        }
    }

    #[derive(Debug)]
    struct Flaky(FailureKind);

    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "failed: {:?}", self.0)
        }
    }

    impl Failure for Flaky {
        fn kind(&self) -> FailureKind {
            self.0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pipeline_is_restarted_until_it_succeeds_and_its_failures_show_in_its_status() {
        let status = PipelineStatus::new();
        let (_stop, shutdown) = watch::channel(false);
        let attempts = AtomicU32::new(0);
        let limits = RestartLimits { slot_max_retries: 6, slot_retry_delay: Duration::from_millis(10) };
        let result = supervise(limits, &status, shutdown, || {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(Flaky(FailureKind::ConnectionLost))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
        let retrying = status.retrying().expect("the failures are shown until the pipeline streams");
        assert_eq!(retrying.attempts, 2);
        assert!(retrying.trace.contains("hint:"), "{}", retrying.trace);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_the_policy_stops_at_ends_the_run_at_once() {
        let (_stop, shutdown) = watch::channel(false);
        let attempts = AtomicU32::new(0);
        let limits = RestartLimits { slot_max_retries: 6, slot_retry_delay: Duration::from_millis(10) };
        let result = supervise(limits, &PipelineStatus::new(), shutdown, || {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(Flaky(FailureKind::DatabaseSetup)) }
        })
        .await;
        assert_eq!(result.unwrap_err().0, FailureKind::DatabaseSetup);
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
