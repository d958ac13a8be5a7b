//! Heartbeat actions: writes Sluice makes to the source database on a timer (`heartbeat.interval.ms`).
//!
//! Why write at all: a slot only moves forward when the walsender decodes something for it. When the captured
//! tables are quiet — or the whole database is, while other databases of the cluster write plenty — the slot can
//! sit still and pin WAL. Debezium's answer is `heartbeat.action.query` (typically an UPDATE of a one-row heartbeat
//! table that is in the publication); Sluice adds `heartbeat.emit.message`, which writes a non-transactional
//! logical decoding message (`pg_logical_emit_message(false, 'sluice.heartbeat', …)`) instead, so no heartbeat
//! table is needed. The stream recognises those messages by their prefix and drops them: they move the slot but
//! never become events.
//!
//! A failing action is logged and tried again on the next tick; it never stops change capture.

use std::time::Duration;

use tokio::sync::watch;

use crate::replication::{connect_sql, ConnectOptions};

/// The prefix of Sluice's own heartbeat messages; the stream drops messages with it.
pub const HEARTBEAT_MESSAGE_PREFIX: &str = "sluice.heartbeat";

/// What to do on every heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatActions {
    pub interval: Duration,
    pub action_query: Option<String>,
    pub emit_message: bool,
}

impl HeartbeatActions {
    pub fn is_empty(&self) -> bool {
        self.interval.is_zero() || (self.action_query.is_none() && !self.emit_message)
    }
}

/// Runs the heartbeat actions until shutdown.
pub async fn run_heartbeat_actions(
    connect: ConnectOptions,
    actions: HeartbeatActions,
    mut shutdown: watch::Receiver<bool>,
) {
    if actions.is_empty() {
        return;
    }
    let mut client = None;
    let mut tick = tokio::time::interval(actions.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
            _ = tick.tick() => {
                if client.as_ref().is_none_or(|c: &tokio_postgres::Client| c.is_closed()) {
                    client = match connect_sql(&connect).await {
                        Ok(c) => Some(c),
                        Err(e) => {
                            tracing::warn!(error = %e, "heartbeat: cannot connect to run the heartbeat actions; trying again");
                            continue;
                        }
                    };
                }
                let Some(c) = client.as_ref() else { continue };
                if let Some(query) = &actions.action_query {
                    if let Err(e) = c.batch_execute(query).await {
                        tracing::warn!(error = %crate::error::describe(&e), query = %query, "heartbeat.action.query failed; trying again on the next heartbeat");
                    }
                }
                if actions.emit_message {
                    let emitted = c
                        .execute("SELECT pg_logical_emit_message(false, $1, ''::text)", &[&HEARTBEAT_MESSAGE_PREFIX])
                        .await;
                    if let Err(e) = emitted {
                        tracing::warn!(error = %crate::error::describe(&e), "heartbeat.emit.message: pg_logical_emit_message failed; trying again on the next heartbeat");
                    }
                }
            }
        }
    }
}
