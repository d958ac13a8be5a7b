//! The slot guard: watches the replication slot from the side while Sluice streams.
//!
//! The most common way log-based CDC hurts a database is a slot that stops advancing: PostgreSQL keeps every WAL
//! segment the slot may still need, the disk fills, and the primary stops. Since PostgreSQL 13 the server can
//! instead give up on the slot (`max_slot_wal_keep_size`): the slot is *invalidated* (`wal_status = lost`) and the
//! changes it had not yet delivered are gone for good. Both must be seen early, by a person and by Sluice:
//!
//! - past `slot.guard.retained.wal.warn.bytes` of retained WAL (`pg_current_wal_lsn() - restart_lsn`), and while
//!   the slot is `unreserved` (about to be invalidated), a warning is logged with what to look at;
//! - an invalidated or vanished slot ends the run at once with [`SourceError::SlotLost`]. What happens then is the
//!   `slot.lost.policy`: `fail` (the default: stop with the fix, because events are missing and only a person can
//!   decide) or `recreate` (drop the slot, create it anew and take a new snapshot, so the sink ends with the right
//!   data — consumers see a snapshot again, never a silent gap).
//!
//! The guard uses its own ordinary connection and never touches the replication stream, so a stalled sink (which
//! stops the stream from being read) does not stall it.

use std::time::{Duration, Instant};

use sluice_core::Lsn;
use tokio::sync::watch;

use crate::replication::connect_sql;
use crate::source::{LostSlotPolicy, SourceError, SourceOptions};

/// A warning about the same condition is repeated at most this often.
const WARN_EVERY: Duration = Duration::from_secs(300);

/// The guard's settings (`debezium.source.slot.guard.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotGuardOptions {
    /// How often the slot is looked at; zero turns the guard off.
    pub interval: Duration,
    /// Retained WAL above this many bytes is logged as a warning.
    pub retained_wal_warn_bytes: u64,
}

impl Default for SlotGuardOptions {
    fn default() -> Self {
        SlotGuardOptions { interval: Duration::from_secs(10), retained_wal_warn_bytes: 1 << 30 }
    }
}

/// What the guard reads about the slot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotHealth {
    pub exists: bool,
    /// `reserved`, `extended`, `unreserved` or `lost` (PostgreSQL 13+).
    pub wal_status: Option<String>,
    pub retained_bytes: Option<i64>,
    /// Bytes of WAL that can still be written before the slot is invalidated (`max_slot_wal_keep_size` set).
    pub safe_wal_size: Option<i64>,
    pub confirmed_flush_lsn: Option<Lsn>,
    /// From `pg_stat_replication_slots` (PostgreSQL 14+): bytes the server spilled to disk decoding big transactions.
    pub spill_bytes: Option<i64>,
}

/// Reads the slot's health in one query.
pub async fn slot_health(client: &tokio_postgres::Client, slot: &str) -> Result<SlotHealth, SourceError> {
    let row = client
        .query_opt(
            "SELECT wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, safe_wal_size,
                    confirmed_flush_lsn::text
               FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(|e| SourceError::sql("read the replication slot's state", e))?;
    let Some(row) = row else { return Ok(SlotHealth::default()) };
    // pg_stat_replication_slots exists from PostgreSQL 14 on; its absence is not an error.
    let spill_bytes = client
        .query_opt("SELECT spill_bytes FROM pg_stat_replication_slots WHERE slot_name = $1", &[&slot])
        .await
        .ok()
        .flatten()
        .map(|r| r.get::<_, i64>(0));
    Ok(SlotHealth {
        exists: true,
        wal_status: row.get(0),
        retained_bytes: row.get(1),
        safe_wal_size: row.get(2),
        confirmed_flush_lsn: row.get::<_, Option<String>>(3).and_then(|s| s.parse().ok()),
        spill_bytes,
    })
}

/// Watches the slot until shutdown; returns [`SourceError::SlotLost`] as soon as the slot is invalidated, or gone
/// after it existed.
pub async fn watch_slot(options: SourceOptions, mut shutdown: watch::Receiver<bool>) -> Result<(), SourceError> {
    let guard = options.slot_guard.clone();
    if guard.interval.is_zero() {
        return Ok(());
    }
    let client = connect_sql(&options.connect).await?;
    let slot = &options.slot_name;
    let mut last_retained_warning: Option<Instant> = None;
    let mut last_unreserved_warning: Option<Instant> = None;
    // The source creates the slot during set-up, which runs at the same time: a slot not seen yet is not lost.
    let mut seen = false;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + guard.interval, guard.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return Ok(());
                }
            }
            _ = tick.tick() => {
                let health = slot_health(&client, slot).await?;
                seen |= health.exists;
                publish(&health);
                if (seen && !health.exists) || health.wal_status.as_deref() == Some("lost") {
                    return Err(SourceError::SlotLost {
                        slot: slot.clone(),
                        invalidated: health.exists,
                        policy: options.lost_slot_policy,
                    });
                }
                let due = |last: Option<Instant>| last.is_none_or(|t| t.elapsed() >= WARN_EVERY);
                let retained = health.retained_bytes.unwrap_or(0).max(0) as u64;
                if retained > guard.retained_wal_warn_bytes && due(last_retained_warning) {
                    last_retained_warning = Some(Instant::now());
                    tracing::warn!(slot = %slot, retained_bytes = retained, limit = guard.retained_wal_warn_bytes,
                        confirmed_flush_lsn = ?health.confirmed_flush_lsn,
                        "the replication slot holds back more WAL than slot.guard.retained.wal.warn.bytes: the sink \
                         is slow or stalled, or Sluice fell behind; PostgreSQL keeps this WAL on disk until it is \
                         delivered");
                }
                if health.wal_status.as_deref() == Some("unreserved") && due(last_unreserved_warning) {
                    last_unreserved_warning = Some(Instant::now());
                    tracing::warn!(slot = %slot, safe_wal_size = ?health.safe_wal_size,
                        "the replication slot is past max_slot_wal_keep_size (wal_status = unreserved): the next \
                         checkpoint may invalidate it and lose undelivered changes");
                }
                tracing::debug!(slot = %slot, retained_bytes = retained, wal_status = ?health.wal_status,
                    safe_wal_size = ?health.safe_wal_size, spill_bytes = ?health.spill_bytes, "slot health");
            }
        }
    }
}

/// The slot's figures as metrics (`docs/metrics.md`).
fn publish(health: &SlotHealth) {
    if let Some(bytes) = health.retained_bytes {
        metrics::gauge!("sluice_slot_retained_wal_bytes").set(bytes as f64);
    }
    if let Some(bytes) = health.safe_wal_size {
        metrics::gauge!("sluice_slot_safe_wal_bytes").set(bytes as f64);
    }
    if let Some(bytes) = health.spill_bytes {
        metrics::gauge!("sluice_slot_spill_bytes").set(bytes as f64);
    }
    let current = if health.exists { health.wal_status.as_deref().unwrap_or("reserved") } else { "missing" };
    for status in ["reserved", "extended", "unreserved", "lost", "missing"] {
        metrics::gauge!("sluice_slot_status", "status" => status).set(if status == current { 1.0 } else { 0.0 });
    }
}

impl LostSlotPolicy {
    /// The sentence that tells the operator what to do about a lost slot under this policy.
    pub(crate) fn fix(self, slot: &str) -> String {
        match self {
            LostSlotPolicy::Fail => format!(
                "the changes the slot had not delivered are gone. To start over with a new snapshot, set \
                 debezium.source.slot.lost.policy=recreate (or snapshot.mode=when_needed), or drop the slot \
                 (SELECT pg_drop_replication_slot('{slot}')) and move the offsets file away. To keep it from \
                 happening again, raise max_slot_wal_keep_size or fix what stalled delivery (docs/slots-and-wal.md)"
            ),
            LostSlotPolicy::Recreate => {
                "slot.lost.policy=recreate: Sluice drops the slot, creates it anew and takes a new snapshot".into()
            }
        }
    }
}
