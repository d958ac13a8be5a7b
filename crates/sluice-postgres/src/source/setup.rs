//! Before the first event: prerequisite checks, the publication, the slot, and the snapshot plan.
//!
//! Every check that can fail on a user's database fails here with the fix in the message (`wal_level`, the
//! REPLICATION privilege, a missing publication, a slot held by another process, no free slot). The snapshot plan
//! decides, from the snapshot mode, the offsets and whether the slot had to be created, which tables to read and
//! at which exported snapshot:
//!
//! - a new slot exports its own snapshot, taken exactly at the slot's consistent point, so streaming from the
//!   slot continues where the snapshot ends — no gap, no overlap;
//! - otherwise (resuming a snapshot a crash interrupted, or `snapshot.mode=always`) a *temporary* slot exports a
//!   fresh snapshot at a later point Y while streaming resumes from the permanent slot's confirmed position X.
//!   Changes between X and Y to the re-read tables arrive after their snapshot rows; they are older than the rows
//!   (their positions are lower) and replaying them in commit order converges on the same final state, so nothing
//!   is lost, and a consumer deduplicating on position discards them.

use sluice_core::{Lsn, Offsets, ReplicaIdentity, SnapshotProgress, TableId};

use crate::replication::{connect_sql, ReplicationClient};
use crate::source::{Catalog, CatalogTable, LostSlotPolicy, SourceError, SourceOptions};

/// Debezium's `publication.autocreate.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicationMode {
    /// Create `FOR ALL TABLES` when missing (needs superuser).
    AllTables,
    /// Never create: the publication must exist.
    Disabled,
    /// Create for the captured tables when missing, and keep its table list equal to them.
    Filtered,
    /// Create an empty publication when missing; the user adds tables.
    NoTables,
}

/// Debezium's `snapshot.mode` (`never` is accepted by the configuration as an alias of `no_data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    Always,
    InitialOnly,
    NoData,
    WhenNeeded,
}

/// What `prepare` hands to the snapshot and the stream.
pub(crate) struct Prepared {
    pub repl: ReplicationClient,
    pub catalog: Catalog,
    /// The slot's confirmed position: streaming resumes here.
    pub start_lsn: Lsn,
    pub snapshot: Option<SnapshotPlan>,
}

/// A snapshot to take.
pub(crate) struct SnapshotPlan {
    pub snapshot_name: String,
    pub lsn: Lsn,
    pub tables: Vec<CatalogTable>,
    pub progress: SnapshotProgress,
    /// The connection of a temporary slot that exported the snapshot; it must stay open until every reader has
    /// imported the snapshot. `None` when the permanent slot's own connection exported it.
    pub exporter: Option<ReplicationClient>,
}

pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub(crate) fn quote_table(t: &TableId) -> String {
    format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table))
}

/// Runs the checks, ensures publication and slot, and plans the snapshot.
pub(crate) async fn prepare(options: &SourceOptions, offsets: Option<&Offsets>) -> Result<Prepared, SourceError> {
    let client = connect_sql(&options.connect).await?;
    let wal_level: String =
        client.query_one("SHOW wal_level", &[]).await.map_err(|e| SourceError::sql("read wal_level", e))?.get(0);
    if wal_level != "logical" {
        return Err(SourceError::prerequisite(
            format!("the server's wal_level is `{wal_level}`, but logical decoding needs `logical`"),
            "set `wal_level = logical` in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL",
        ));
    }
    let mut catalog = Catalog::new(client);
    let mut repl = ReplicationClient::connect(&options.connect).await.map_err(|e| match e.sqlstate() {
        Some("42501") => SourceError::prerequisite(
            format!("role `{}` may not open a replication connection ({e})", options.connect.user),
            format!("ALTER ROLE {} REPLICATION; and allow it in pg_hba.conf", quote_ident(&options.connect.user)),
        ),
        _ => SourceError::Replication(e),
    })?;

    let mut tables = ensure_publication(options, &catalog).await?;
    set_replica_identities(options, &catalog, &mut tables).await?;
    warn_about_replica_identity(&tables);
    catalog.remember_primary_keys(&tables).await?;

    let offsets = offsets.filter(|o| {
        let same = o.slot_name == options.slot_name;
        if !same {
            tracing::warn!(offsets_slot = %o.slot_name, slot = %options.slot_name,
                "the offsets file belongs to another slot; ignoring it");
        }
        same
    });
    let slot = existing_slot(&catalog, options).await?;
    let slot_created = slot.is_none();
    let resnapshot_on_loss =
        options.lost_slot_policy == LostSlotPolicy::Recreate || options.snapshot_mode == SnapshotMode::WhenNeeded;
    let plan = plan_snapshot(options.snapshot_mode, offsets, slot_created, resnapshot_on_loss, &options.slot_name)?;

    let (start_lsn, exported) = match slot {
        Some(lsn) => (lsn, None),
        None => {
            let want_export = plan.is_some();
            let created =
                repl.create_logical_slot(&options.slot_name, false, want_export).await.map_err(|e| {
                    match e.sqlstate() {
                        Some("53400") => SourceError::prerequisite(
                            format!("cannot create replication slot `{}`: {e}", options.slot_name),
                            "raise max_replication_slots in postgresql.conf (and restart), or drop unused slots \
                             (SELECT slot_name, active FROM pg_replication_slots)",
                        ),
                        _ => SourceError::Replication(e),
                    }
                })?;
            tracing::info!(slot = %options.slot_name, consistent_point = %created.consistent_point, "created replication slot");
            (created.consistent_point, created.snapshot_name.map(|n| (n, created.consistent_point)))
        }
    };

    let snapshot = match plan {
        None => None,
        Some(plan) => {
            let (to_read, progress_tables, done) = match plan {
                Plan::All => {
                    let chosen: Vec<CatalogTable> =
                        tables.iter().filter(|t| options.snapshot_selection.includes(&t.id)).cloned().collect();
                    if chosen.len() < tables.len() {
                        tracing::info!(
                            captured = tables.len(),
                            snapshot = chosen.len(),
                            "snapshot.include.collection.list: the snapshot reads some of the captured tables"
                        );
                    }
                    let ids = chosen.iter().map(|t| t.id.clone()).collect();
                    (chosen, ids, Vec::new())
                }
                Plan::Resume(progress) => {
                    let todo: Vec<CatalogTable> =
                        tables.iter().filter(|t| !progress.tables_done.contains(&t.id)).cloned().collect();
                    tracing::info!(
                        done = progress.tables_done.len(),
                        remaining = todo.len(),
                        "resuming an interrupted snapshot"
                    );
                    (todo, progress.tables.clone(), progress.tables_done.clone())
                }
            };
            let (snapshot_name, lsn, exporter) = match exported {
                Some((name, lsn)) => (name, lsn, None),
                None => {
                    let mut exporter = ReplicationClient::connect(&options.connect).await?;
                    let temp = temporary_slot_name(&options.slot_name, std::process::id());
                    let created = exporter.create_logical_slot(&temp, true, true).await?;
                    let name = created.snapshot_name.ok_or_else(|| {
                        SourceError::prerequisite("the server did not export a snapshot", "use PostgreSQL 10 or newer")
                    })?;
                    (name, created.consistent_point, Some(exporter))
                }
            };
            Some(SnapshotPlan {
                snapshot_name,
                lsn,
                tables: to_read,
                progress: SnapshotProgress { lsn, tables: progress_tables, tables_done: done, completed: false },
                exporter,
            })
        }
    };
    Ok(Prepared { repl, catalog, start_lsn, snapshot })
}

/// `slot.drop.on.stop`: drops the slot once the stream has stopped. The walsender lets go of the slot a moment
/// after the replication connection closes, so an active slot is asked again for a few seconds. A failure is a
/// warning: the slot stays, as it would without the key.
pub(crate) async fn drop_slot_after_stop(options: &SourceOptions) {
    const ATTEMPTS: u32 = 50;
    const PAUSE: std::time::Duration = std::time::Duration::from_millis(100);
    let slot = &options.slot_name;
    let client = match connect_sql(&options.connect).await {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(%slot, error = %e, "slot.drop.on.stop: cannot connect to drop the slot; it stays");
            return;
        }
    };
    for attempt in 1..=ATTEMPTS {
        let dropped = client
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                &[slot],
            )
            .await;
        match dropped {
            Ok(_) => {
                tracing::info!(%slot, "slot.drop.on.stop: dropped the replication slot");
                return;
            }
            // 55006 object_in_use: the walsender has not let go yet.
            Err(e) if e.code().is_some_and(|c| c.code() == "55006") && attempt < ATTEMPTS => {
                tokio::time::sleep(PAUSE).await;
            }
            Err(e) => {
                tracing::warn!(%slot, error = %crate::error::describe(&e), "slot.drop.on.stop: cannot drop the slot; it stays");
                return;
            }
        }
    }
}

/// The name of the temporary slot that exports a later snapshot: the slot's name and the process, cut to fit
/// PostgreSQL's 63 bytes (a slot name of that length is valid, the suffix must not make it invalid).
fn temporary_slot_name(slot: &str, pid: u32) -> String {
    const MAX_NAME_BYTES: usize = 63;
    let suffix = format!("_snapshot_{pid}");
    let base = slot.get(..MAX_NAME_BYTES.saturating_sub(suffix.len())).unwrap_or(slot);
    format!("{base}{suffix}")
}

enum Plan {
    All,
    Resume(SnapshotProgress),
}

/// Decides whether to snapshot. A missing slot with offsets that say streaming had begun means the changes in
/// between are gone: only `when_needed` or `slot.lost.policy=recreate` (`resnapshot_on_loss`) may paper over that
/// with a fresh snapshot; otherwise Sluice stops.
fn plan_snapshot(
    mode: SnapshotMode,
    offsets: Option<&Offsets>,
    slot_created: bool,
    resnapshot_on_loss: bool,
    slot_name: &str,
) -> Result<Option<Plan>, SourceError> {
    let progress = offsets.and_then(|o| o.snapshot.clone());
    let streamed_before =
        offsets.is_some_and(|o| o.acknowledged.is_some() || o.snapshot.as_ref().is_some_and(|s| s.completed));
    Ok(match mode {
        SnapshotMode::NoData => None,
        SnapshotMode::Always => Some(Plan::All),
        _ if resnapshot_on_loss && slot_created && streamed_before => {
            tracing::warn!(slot = %slot_name, "the slot was lost after streaming began: taking a new snapshot");
            Some(Plan::All)
        }
        SnapshotMode::Initial | SnapshotMode::InitialOnly | SnapshotMode::WhenNeeded => {
            if slot_created && streamed_before {
                return Err(SourceError::prerequisite(
                    format!(
                        "replication slot `{slot_name}` does not exist, but the offsets file says Sluice streamed \
                         from it before: the changes made while it was missing cannot be recovered"
                    ),
                    "to start over with a fresh snapshot, move the offsets file away (or set \
                     debezium.source.slot.lost.policy=recreate or snapshot.mode=when_needed)",
                ));
            }
            match progress {
                None => Some(Plan::All),
                Some(p) if !p.completed => Some(Plan::Resume(p)),
                Some(_) => None,
            }
        }
    })
}

/// The slot's confirmed position if it exists; checks it is usable.
async fn existing_slot(catalog: &Catalog, options: &SourceOptions) -> Result<Option<Lsn>, SourceError> {
    let row = catalog
        .client()
        .query_opt(
            "SELECT plugin::text, database::text, active, active_pid, confirmed_flush_lsn::text, wal_status
               FROM pg_replication_slots WHERE slot_name = $1",
            &[&options.slot_name],
        )
        .await
        .map_err(|e| SourceError::sql("look up the replication slot", e))?;
    let Some(row) = row else { return Ok(None) };
    let slot = &options.slot_name;
    let plugin: Option<String> = row.get(0);
    let database: Option<String> = row.get(1);
    let active: bool = row.get(2);
    let pid: Option<i32> = row.get(3);
    let confirmed: Option<String> = row.get(4);
    let wal_status: Option<String> = row.get(5);
    if database.as_deref() != Some(options.connect.dbname.as_str()) || plugin.as_deref() != Some("pgoutput") {
        return Err(SourceError::prerequisite(
            format!(
                "replication slot `{slot}` exists but is a {} slot of database {}",
                plugin.as_deref().unwrap_or("physical"),
                database.as_deref().unwrap_or("(none)")
            ),
            "set slot.name to a name of its own for this connector",
        ));
    }
    if active {
        return Err(SourceError::SlotInUse {
            slot: slot.clone(),
            detail: format!("active for PID {}", pid.unwrap_or(0)),
        });
    }
    if wal_status.as_deref() == Some("lost") {
        if options.lost_slot_policy == LostSlotPolicy::Fail && options.snapshot_mode != SnapshotMode::WhenNeeded {
            return Err(SourceError::SlotLost { slot: slot.clone(), invalidated: true, policy: LostSlotPolicy::Fail });
        }
        tracing::warn!(slot = %slot, "the replication slot was invalidated (wal_status = lost); dropping it to create it anew");
        catalog
            .client()
            .execute("SELECT pg_drop_replication_slot($1)", &[slot])
            .await
            .map_err(|e| SourceError::sql("drop the invalidated replication slot", e))?;
        return Ok(None);
    }
    let lsn = confirmed.as_deref().and_then(|s| s.parse().ok()).unwrap_or(Lsn::ZERO);
    Ok(Some(lsn))
}

/// Creates or checks the publication per the mode; returns the captured tables it publishes.
async fn ensure_publication(options: &SourceOptions, catalog: &Catalog) -> Result<Vec<CatalogTable>, SourceError> {
    let name = &options.publication_name;
    let client = catalog.client();
    let existing: Option<bool> = client
        .query_opt("SELECT pubviaroot FROM pg_publication WHERE pubname = $1", &[name])
        .await
        .map_err(|e| SourceError::sql("look up the publication", e))?
        .map(|row| row.get(0));
    let exists = existing.is_some();
    // Unset, the key follows a publication that exists (one made for the outbox with the option, say).
    let via_root = options.publish_via_partition_root.or(existing).unwrap_or(false);
    if let Some(published_via_root) = existing.filter(|v| *v != via_root) {
        if options.publication_mode != PublicationMode::Filtered {
            return Err(SourceError::prerequisite(
                format!(
                    "publication `{name}` has publish_via_partition_root = {published_via_root}, but \
                     publish.via.partition.root is {via_root}: partitions' changes would arrive under other names \
                     than the snapshot's"
                ),
                format!(
                    "ALTER PUBLICATION {} SET (publish_via_partition_root = {via_root}); or set \
                     publish.via.partition.root={published_via_root}",
                    quote_ident(name)
                ),
            ));
        }
    }
    let with = if via_root { " WITH (publish_via_partition_root = true)" } else { "" };
    let wanted = catalog.list_tables(options.filter.as_ref(), via_root).await?;
    let create_fix = "create it as a superuser or the database owner, or set publication.autocreate.mode=disabled \
                      and create it yourself (see docs/slots-and-wal.md)";
    let ddl = match (exists, options.publication_mode) {
        (false, PublicationMode::Disabled) => {
            return Err(SourceError::prerequisite(
                format!("publication `{name}` does not exist and publication.autocreate.mode is `disabled`"),
                format!("CREATE PUBLICATION {} FOR TABLE <the tables to capture>;", quote_ident(name)),
            ))
        }
        (false, PublicationMode::AllTables) => {
            Some(format!("CREATE PUBLICATION {} FOR ALL TABLES{with}", quote_ident(name)))
        }
        (false, PublicationMode::NoTables) => Some(format!("CREATE PUBLICATION {}{with}", quote_ident(name))),
        (exists, PublicationMode::Filtered) => {
            if wanted.is_empty() {
                return Err(SourceError::prerequisite(
                    "no table matches the include/exclude lists, so a filtered publication would be empty",
                    "check table.include.list / schema.include.list",
                ));
            }
            let list = wanted.iter().map(|t| quote_table(&t.id)).collect::<Vec<_>>().join(", ");
            Some(if exists {
                format!(
                    "ALTER PUBLICATION {0} SET TABLE {list}; ALTER PUBLICATION {0} SET (publish_via_partition_root = {via_root})",
                    quote_ident(name)
                )
            } else {
                format!("CREATE PUBLICATION {} FOR TABLE {list}{with}", quote_ident(name))
            })
        }
        (true, _) => None,
    };
    if let Some(ddl) = ddl {
        client.batch_execute(&ddl).await.map_err(|e| {
            let cause = crate::error::describe(&e);
            SourceError::prerequisite(format!("cannot create or alter publication `{name}`: {cause}"), create_fix)
        })?;
        tracing::info!(publication = %name, "{ddl}");
    }
    let published = catalog.publication_tables(name).await?;
    let captured: Vec<CatalogTable> = wanted.into_iter().filter(|t| published.contains(&t.id)).collect();
    if captured.is_empty() {
        tracing::warn!(publication = %name, "no captured table is in the publication yet: nothing will be captured until one is added");
    }
    Ok(captured)
}

/// `replica.identity.autoset.values`: each captured table gets the replica identity of the first rule whose regex
/// matches it, set with `ALTER TABLE … REPLICA IDENTITY …` (which overwrites what the table had, as in Debezium), before
/// the stream starts; an identity already in place is left alone. Altering needs the table's owner.
async fn set_replica_identities(
    options: &SourceOptions,
    catalog: &Catalog,
    tables: &mut [CatalogTable],
) -> Result<(), SourceError> {
    for table in tables.iter_mut() {
        let name = table.id.to_string();
        let Some(rule) = options.replica_identity_rules.iter().find(|r| r.tables.is_match(&name)) else { continue };
        let wanted = match rule.identity.as_str() {
            "DEFAULT" => Some(ReplicaIdentity::Default),
            "FULL" => Some(ReplicaIdentity::Full),
            "NOTHING" => Some(ReplicaIdentity::Nothing),
            _ => None,
        };
        if wanted.is_some_and(|w| w == table.replica_identity) {
            continue;
        }
        let ddl = format!("ALTER TABLE {} REPLICA IDENTITY {}", quote_table(&table.id), rule.identity);
        catalog.client().batch_execute(&ddl).await.map_err(|e| {
            SourceError::prerequisite(
                format!(
                    "replica.identity.autoset.values: cannot set the replica identity of {name}: {}",
                    crate::error::describe(&e)
                ),
                format!("run `{ddl}` as the table's owner, or grant Sluice's role ownership of it"),
            )
        })?;
        tracing::info!(table = %name, "{ddl}");
        table.replica_identity = wanted.unwrap_or(ReplicaIdentity::Index);
    }
    Ok(())
}

fn warn_about_replica_identity(tables: &[CatalogTable]) {
    for t in tables {
        let blind = match t.replica_identity {
            ReplicaIdentity::Nothing => true,
            ReplicaIdentity::Default => !t.has_primary_key,
            _ => false,
        };
        if blind {
            tracing::warn!(
                table = %t.id,
                "table {} has no primary key and no usable replica identity: PostgreSQL cannot publish its UPDATEs \
                 and DELETEs (they fail on the server while it is in the publication); its INSERTs are captured. \
                 Fix: add a primary key, or ALTER TABLE {} REPLICA IDENTITY FULL",
                t.id,
                quote_table(&t.id)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::Position;

    fn offsets(progress: Option<SnapshotProgress>, acked: bool) -> Offsets {
        Offsets {
            slot_name: "s".into(),
            acknowledged: acked.then(|| Position::new(Lsn(10), 0)),
            snapshot: progress,
            ..Offsets::default()
        }
    }

    fn progress(completed: bool) -> SnapshotProgress {
        SnapshotProgress { lsn: Lsn(5), tables: vec![], tables_done: vec![], completed }
    }

    #[test]
    fn initial_snapshots_once_then_never_again() {
        assert!(matches!(plan_snapshot(SnapshotMode::Initial, None, true, false, "s").unwrap(), Some(Plan::All)));
        let done = offsets(Some(progress(true)), true);
        assert!(plan_snapshot(SnapshotMode::Initial, Some(&done), false, false, "s").unwrap().is_none());
    }

    #[test]
    fn an_interrupted_snapshot_resumes() {
        let o = offsets(Some(progress(false)), false);
        assert!(matches!(
            plan_snapshot(SnapshotMode::Initial, Some(&o), false, false, "s").unwrap(),
            Some(Plan::Resume(_))
        ));
    }

    #[test]
    fn a_lost_slot_after_streaming_is_an_error_unless_a_new_snapshot_is_allowed() {
        let o = offsets(Some(progress(true)), true);
        let err = plan_snapshot(SnapshotMode::Initial, Some(&o), true, false, "s").err().unwrap();
        assert!(err.to_string().contains("cannot be recovered"), "{err}");
        assert!(err.to_string().contains("slot.lost.policy=recreate"), "{err}");
        // when_needed, or slot.lost.policy=recreate in any mode that snapshots at all.
        assert!(matches!(plan_snapshot(SnapshotMode::WhenNeeded, Some(&o), true, true, "s").unwrap(), Some(Plan::All)));
        assert!(matches!(plan_snapshot(SnapshotMode::Initial, Some(&o), true, true, "s").unwrap(), Some(Plan::All)));
        assert!(plan_snapshot(SnapshotMode::NoData, Some(&o), true, true, "s").unwrap().is_none());
    }

    #[test]
    fn always_snapshots_and_no_data_never_does() {
        let o = offsets(Some(progress(true)), true);
        assert!(matches!(plan_snapshot(SnapshotMode::Always, Some(&o), false, false, "s").unwrap(), Some(Plan::All)));
        assert!(plan_snapshot(SnapshotMode::NoData, None, true, false, "s").unwrap().is_none());
    }

    #[test]
    fn the_temporary_snapshot_slot_name_fits_postgresqls_limit_even_for_the_longest_slot_name() {
        assert_eq!(temporary_slot_name("debezium", 4_194_304), "debezium_snapshot_4194304");
        let longest = "s".repeat(63);
        let temp = temporary_slot_name(&longest, 4_194_304);
        assert_eq!(temp.len(), 63);
        assert!(temp.ends_with("_snapshot_4194304"), "{temp}");
    }
}
