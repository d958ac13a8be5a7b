//! One error policy: for each kind of failure, what the supervisor does and what the operator is told.
//!
//! The decision used to be spread over four places (each error type's "is it transient?", the sink's `retriable`
//! flag, the Kafka sink's own classification); this table is now the one place a reader looks to learn what Sluice
//! does when something breaks, and the hint it gives is the same in the log, in `sluice connect`'s status trace and
//! in the exit message.
//!
//! - [`Action::RetryBatch`]: the delivery loop writes the failed batch again (and everything after it) with
//!   back-off; the source waits. Repeats, never gaps.
//! - [`Action::Restart`]: the whole pipeline starts again from the durable state (the slot and the offsets file)
//!   after a back-off — exactly the crash-recovery path.
//! - [`Action::Stop`]: a person must act; nothing unacknowledged is confirmed.

/// What the supervisor does with a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    RetryBatch,
    Restart,
    Stop,
}

/// The kinds of failure, as the policy tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// A connection to PostgreSQL dropped or could not be made (server restarting, network, refused).
    ConnectionLost,
    /// Another connection streams from the replication slot.
    SlotInUse,
    /// The slot was invalidated or dropped, and `slot.lost.policy=recreate` says to start over.
    SlotLostRecreate,
    /// The slot was invalidated or dropped, and `slot.lost.policy=fail`.
    SlotLost,
    /// PostgreSQL refused a login or a statement (authentication, permissions, an error with a SQLSTATE).
    DatabaseRefused,
    /// The database is not set up for Sluice (`wal_level`, the replication attribute, the publication).
    DatabaseSetup,
    /// The replication stream or a snapshot could not be read as PostgreSQL's protocol says.
    Undecodable,
    /// An event cannot be encoded (under `event.processing.failure.handling.mode=fail`), or a transform refused it.
    Unencodable,
    /// The sink cannot take the batch now (broker down, timeout).
    SinkUnavailable,
    /// The sink refused the records for good (too large, not authorised, invalid settings).
    SinkRejected,
    /// The offsets cannot be read or written for good (a corrupt file, refused credentials, a malformed record).
    OffsetStorage,
    /// The offset store cannot be reached now (the offsets topic's brokers are down, a write timed out).
    OffsetStorageUnavailable,
    /// Anything else: a bug, or the process's own environment.
    Internal,
}

impl FailureKind {
    /// Every kind, for tables and tests.
    pub const ALL: [FailureKind; 13] = [
        FailureKind::ConnectionLost,
        FailureKind::SlotInUse,
        FailureKind::SlotLostRecreate,
        FailureKind::SlotLost,
        FailureKind::DatabaseRefused,
        FailureKind::DatabaseSetup,
        FailureKind::Undecodable,
        FailureKind::Unencodable,
        FailureKind::SinkUnavailable,
        FailureKind::SinkRejected,
        FailureKind::OffsetStorage,
        FailureKind::OffsetStorageUnavailable,
        FailureKind::Internal,
    ];

    /// What the supervisor does.
    pub fn action(self) -> Action {
        match self {
            FailureKind::ConnectionLost | FailureKind::SlotInUse | FailureKind::SlotLostRecreate => Action::Restart,
            FailureKind::SinkUnavailable | FailureKind::OffsetStorageUnavailable => Action::RetryBatch,
            FailureKind::SlotLost
            | FailureKind::DatabaseRefused
            | FailureKind::DatabaseSetup
            | FailureKind::Undecodable
            | FailureKind::Unencodable
            | FailureKind::SinkRejected
            | FailureKind::OffsetStorage
            | FailureKind::Internal => Action::Stop,
        }
    }

    /// What the operator is told.
    pub fn hint(self) -> &'static str {
        match self {
            FailureKind::ConnectionLost => {
                "Sluice reconnects by itself with back-off; if it goes on, check that PostgreSQL runs and is \
                 reachable at database.hostname:database.port from here"
            }
            FailureKind::SlotInUse => {
                "retried slot.max.retries times, slot.retry.delay.ms apart; if it goes on, stop the other process \
                 streaming from the slot or give this one its own slot.name"
            }
            FailureKind::SlotLostRecreate => {
                "the slot is created anew and a new snapshot taken (slot.lost.policy=recreate); changes made while \
                 the slot was gone are only in that snapshot's final state"
            }
            FailureKind::SlotLost => {
                "changes the slot held are gone; decide how to catch up, then restart (set slot.lost.policy=recreate \
                 to re-snapshot automatically, see docs/slots-and-wal.md)"
            }
            FailureKind::DatabaseRefused => {
                "the message says what PostgreSQL refused: check database.user, database.password, pg_hba.conf and \
                 the role's privileges, then restart"
            }
            FailureKind::DatabaseSetup => "apply the fix the message names, then restart",
            FailureKind::Undecodable => {
                "this is a bug or an unsupported server: report it with the message and the PostgreSQL version; the \
                 slot keeps the changes, so nothing is lost while it is fixed"
            }
            FailureKind::Unencodable => {
                "set event.processing.failure.handling.mode=warn or skip to leave such events out, or fix the \
                 transform's configuration; the slot keeps the changes until then"
            }
            FailureKind::SinkUnavailable => {
                "the batch is written again with back-off; nothing is confirmed to PostgreSQL until it is delivered"
            }
            FailureKind::SinkRejected => {
                "the destination refused the records: fix its settings (size limits, permissions, topic names) and \
                 restart; nothing refused was confirmed to PostgreSQL"
            }
            FailureKind::OffsetStorage => {
                "check the disk and the rights on offset.storage.file.filename, or the offsets topic's credentials; \
                 a corrupt file can be moved away (a corrupt record replaced by a tombstone), which re-runs the \
                 snapshot"
            }
            FailureKind::OffsetStorageUnavailable => {
                "while running, the offsets are written again with back-off and nothing more is confirmed to \
                 PostgreSQL until they are stored; at start Sluice stops: check that the offsets topic's brokers \
                 (bootstrap.servers) are reachable, then start it again"
            }
            FailureKind::Internal => "report it with the message; the slot keeps the changes, so nothing is lost",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_table_as_written() {
        let table: Vec<(FailureKind, Action)> = FailureKind::ALL.iter().map(|k| (*k, k.action())).collect();
        assert_eq!(
            table,
            [
                (FailureKind::ConnectionLost, Action::Restart),
                (FailureKind::SlotInUse, Action::Restart),
                (FailureKind::SlotLostRecreate, Action::Restart),
                (FailureKind::SlotLost, Action::Stop),
                (FailureKind::DatabaseRefused, Action::Stop),
                (FailureKind::DatabaseSetup, Action::Stop),
                (FailureKind::Undecodable, Action::Stop),
                (FailureKind::Unencodable, Action::Stop),
                (FailureKind::SinkUnavailable, Action::RetryBatch),
                (FailureKind::SinkRejected, Action::Stop),
                (FailureKind::OffsetStorage, Action::Stop),
                (FailureKind::OffsetStorageUnavailable, Action::RetryBatch),
                (FailureKind::Internal, Action::Stop),
            ]
        );
    }

    #[test]
    fn every_kind_tells_the_operator_what_to_do() {
        for kind in FailureKind::ALL {
            assert!(kind.hint().len() > 40, "{kind:?}");
        }
    }
}
