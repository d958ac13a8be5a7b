//! `/connectors/{name}/offsets`: Kafka Connect's offsets API (KIP-875) over the connector's offset store — its
//! offsets file, or the worker's offsets topic (`offset.storage.topic`).
//!
//! A Sluice connector has one source partition, Debezium's `{"server": "<topic.prefix>"}`, and its offset is the map
//! the offsets topic holds ([`sluice_core::connect_format`]): Debezium's fields and Sluice's own. GET shows it,
//! DELETE forgets it (removes the file, or writes a tombstone), PATCH writes one: a map GET showed is stored as it
//! was, and a hand-written one gives the last delivered position as `lsn`, `lsn_commit` (the commit LSN of the last
//! transaction delivered, as a number) and `event_serial_no` (the event's index in it). The two that change it need
//! the connector STOPPED, so no pipeline writes the offsets at the same time, and take the worker's change lock, so
//! no resume starts one while they do.
//!
//! What an altered offset can do is bounded by the replication slot: streaming always starts at the slot's
//! `confirmed_flush_lsn`, and PostgreSQL sends nothing from before it, whatever the offsets say. They only make
//! the stream skip events at or before their position. So moving the offset *forward* skips the changes up to it
//! (they are never delivered, and the slot moves past them once the offsets are next stored); moving it
//! *back*, behind the slot, replays nothing: the slot's position wins. Replaying needs a new slot and snapshot.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sluice_core::{connect_format, Lsn, OffsetStore, Offsets, Position};

use super::supervisor::{Connector, Observed};
use super::{error, not_found, Body, Shared, TargetState};

/// Kafka Connect's answer to a PATCH without partitions.
const NO_ENTRIES: &str = "Partitions / offsets need to be provided for an alter offsets request";

/// The connector's offset store and slot, from its configuration as its pipeline would open them; an error is the
/// answer to give (a `500`: the configuration was valid when it was stored).
fn store(worker: &Shared, name: &str, c: &Connector) -> Result<(Box<dyn OffsetStore>, String), String> {
    let pairs = super::translate(&worker.config, name, &c.desired().config);
    let loaded = super::validate(&worker.config, pairs)
        .map_err(|problems| format!("the connector's configuration is not valid: {}", problems.join("; ")))?;
    let store = crate::app::offset_store(&loaded.config).map_err(|e| format!("cannot open the offsets: {e}"))?;
    Ok((store, loaded.config.source.slot_name.clone()))
}

fn failed(message: String) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, message)
}

fn prefix(c: &Connector) -> String {
    c.desired().config.get("topic.prefix").cloned().unwrap_or_default()
}

/// `GET /connectors/{name}/offsets`: the one partition and its offset, or none before anything was acknowledged.
pub async fn get(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let Some(c) = worker.get(&name) else { return not_found(&name) };
    let prefix = prefix(&c);
    let (mut store, _) = match store(&worker, &name, &c) {
        Ok(opened) => opened,
        Err(message) => return failed(message),
    };
    let offsets = match store.load().await {
        Ok(offsets) => offsets,
        Err(e) => return failed(format!("cannot read the offsets: {e}")),
    };
    let entries: Vec<Value> = offsets
        .filter(|o| o.acknowledged.is_some() || o.committed.is_some())
        .map(|o| json!({"partition": connect_format::partition(&prefix), "offset": connect_format::value(&o)}))
        .into_iter()
        .collect();
    Json(json!({"offsets": entries})).into_response()
}

/// Kafka Connect's answer when the offsets of a connector that is not STOPPED are to change.
fn not_stopped(c: &Connector, name: &str) -> Option<Response> {
    (c.desired().target != TargetState::Stopped || c.observed() != Observed::Stopped).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            format!("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"),
        )
    })
}

/// Forgets the offsets (none is fine); an error is the answer to give.
async fn remove(worker: &Shared, name: &str, c: &Connector) -> Option<Response> {
    let mut store = match store(worker, name, c) {
        Ok((store, _)) => store,
        Err(message) => return Some(failed(message)),
    };
    store.reset().await.err().map(|e| failed(format!("cannot remove the offsets: {e}")))
}

/// `DELETE /connectors/{name}/offsets`: forgets the position and the snapshot's progress.
pub async fn delete(State(worker): State<Shared>, Path(name): Path<String>) -> Response {
    let _change = worker.changes.lock().await;
    let Some(c) = worker.get(&name) else { return not_found(&name) };
    if let Some(refused) = not_stopped(&c, &name) {
        return refused;
    }
    if let Some(failed) = remove(&worker, &name, &c).await {
        return failed;
    }
    Json(json!({"message": "The offsets for this connector have been reset successfully"})).into_response()
}

/// What a PATCH asks for the one partition.
#[derive(Debug, PartialEq)]
enum Alteration {
    /// `"offset": null`: forget it, as DELETE does.
    Reset,
    /// The last acknowledged position.
    To(Position),
    /// A map GET showed (it has Sluice's own fields): stored as it was.
    Exact(Box<Offsets>),
}

/// Reads `{"offsets": [{"partition": {"server": <prefix>}, "offset": {...} | null}, ...]}`; the last entry wins,
/// as in Kafka Connect's map of partitions.
fn alteration(body: &Value, prefix: &str) -> Result<Alteration, String> {
    let entries = body.get("offsets").and_then(Value::as_array).filter(|e| !e.is_empty());
    let Some(entries) = entries else {
        return Err(NO_ENTRIES.into());
    };
    let mut last = None;
    for entry in entries {
        let partition =
            entry.get("partition").and_then(Value::as_object).ok_or("Every entry needs a `partition` object")?;
        let server = partition.get("server").and_then(Value::as_str);
        if partition.len() != 1 || server != Some(prefix) {
            return Err(format!(
                "This connector has one source partition, {{\"server\": \"{prefix}\"}} (its topic.prefix); got {}",
                Value::Object(partition.clone())
            ));
        }
        last = Some(match entry.get("offset") {
            None => return Err("Every entry needs an `offset`: an object with `lsn`, or null to reset it".into()),
            Some(Value::Null) => Alteration::Reset,
            Some(map @ Value::Object(offset)) if offset.contains_key("sluice_slot") => {
                Alteration::Exact(Box::new(connect_format::offsets_from(map, "")?))
            }
            Some(Value::Object(offset)) => {
                let number = |field: &str| -> Result<Option<u64>, String> {
                    match offset.get(field) {
                        None | Some(Value::Null) => Ok(None),
                        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                            format!("`{field}` must be a non-negative integer (an LSN as a number), got {v}")
                        }),
                    }
                };
                let lsn = number("lsn")?.ok_or("The offset needs `lsn`, the LSN as a number")?;
                let commit = number("lsn_commit")?.unwrap_or(lsn);
                // Without an event index, the whole transaction committed at `lsn_commit` counts as delivered.
                let ordinal = number("event_serial_no")?.unwrap_or(u64::MAX);
                Alteration::To(Position::new(Lsn(commit), ordinal))
            }
            Some(other) => return Err(format!("`offset` must be an object or null, got {other}")),
        });
    }
    last.ok_or_else(|| NO_ENTRIES.into())
}

/// `PATCH /connectors/{name}/offsets`: writes the position the connector resumes after (see the module's note on
/// what the slot allows), keeping the snapshot's progress.
pub async fn alter(State(worker): State<Shared>, Path(name): Path<String>, Body(body): Body) -> Response {
    // Kafka Connect's order: no entries, then an unknown connector, then one not STOPPED, then bad entries.
    if !matches!(body.get("offsets"), Some(Value::Array(entries)) if !entries.is_empty()) {
        return error(StatusCode::BAD_REQUEST, NO_ENTRIES);
    }
    let _change = worker.changes.lock().await;
    let Some(c) = worker.get(&name) else { return not_found(&name) };
    if let Some(refused) = not_stopped(&c, &name) {
        return refused;
    }
    let alteration = match alteration(&body, &prefix(&c)) {
        Ok(a) => a,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let position = match alteration {
        Alteration::Reset => return remove(&worker, &name, &c).await.unwrap_or_else(altered),
        Alteration::To(position) => position,
        Alteration::Exact(offsets) => return save(&worker, &name, &c, |_| *offsets).await,
    };
    save(&worker, &name, &c, |mut offsets| {
        offsets.acknowledged = Some(position);
        // Every transaction committed up to the position counts as delivered, as the slot may be confirmed.
        offsets.committed = Some(position.commit_lsn);
        offsets
    })
    .await
}

/// Loads the offsets (or starts from none), changes them and stores them.
async fn save(worker: &Shared, name: &str, c: &Connector, change: impl FnOnce(Offsets) -> Offsets) -> Response {
    let (mut store, slot_name) = match store(worker, name, c) {
        Ok(opened) => opened,
        Err(message) => return failed(message),
    };
    let current = match store.load().await {
        Ok(Some(o)) if o.slot_name == slot_name => o,
        Ok(_) => Offsets { slot_name, ..Offsets::default() },
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let offsets = change(current);
    if let Err(e) = store.save(&offsets).await {
        return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    tracing::info!(connector = %name, position = ?offsets.acknowledged, "offsets altered");
    altered()
}

fn altered() -> Response {
    Json(json!({"message": "The offsets for this connector have been altered successfully"})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_with_lsn_alone_covers_its_whole_transaction() {
        let body = json!({"offsets": [{"partition": {"server": "pg"}, "offset": {"lsn": 42, "txId": 7}}]});
        assert_eq!(alteration(&body, "pg"), Ok(Alteration::To(Position::new(Lsn(42), u64::MAX))));
    }

    #[test]
    fn an_offset_read_back_from_get_is_written_as_it_was() {
        let body = json!({"offsets": [{"partition": {"server": "pg"}, "offset": {"lsn": 42, "lsn_commit": 42, "event_serial_no": 3}}]});
        assert_eq!(alteration(&body, "pg"), Ok(Alteration::To(Position::new(Lsn(42), 3))));
    }

    #[test]
    fn a_map_get_showed_is_stored_exactly() {
        let offsets = Offsets {
            slot_name: "s".into(),
            acknowledged: Some(Position::new(Lsn(0x40), 2)),
            committed: Some(Lsn(0x30)),
            ..Offsets::default()
        };
        let body = json!({"offsets": [{"partition": {"server": "pg"}, "offset": connect_format::value(&offsets)}]});
        assert_eq!(alteration(&body, "pg"), Ok(Alteration::Exact(Box::new(offsets))));
    }

    #[test]
    fn a_null_offset_resets_and_the_last_entry_wins() {
        let body = json!({"offsets": [
            {"partition": {"server": "pg"}, "offset": {"lsn": 1}},
            {"partition": {"server": "pg"}, "offset": null},
        ]});
        assert_eq!(alteration(&body, "pg"), Ok(Alteration::Reset));
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        let cases = [
            (json!({}), "Partitions / offsets need to be provided"),
            (json!({"offsets": []}), "Partitions / offsets need to be provided"),
            (json!({"offsets": "x"}), "Partitions / offsets need to be provided"),
            (json!({"offsets": [{"offset": {"lsn": 1}}]}), "`partition` object"),
            (json!({"offsets": [{"partition": {"server": "other"}, "offset": {"lsn": 1}}]}), "one source partition"),
            (
                json!({"offsets": [{"partition": {"server": "pg", "x": 1}, "offset": {"lsn": 1}}]}),
                "one source partition",
            ),
            (json!({"offsets": [{"partition": {"server": "pg"}}]}), "needs an `offset`"),
            (json!({"offsets": [{"partition": {"server": "pg"}, "offset": {}}]}), "needs `lsn`"),
            (
                json!({"offsets": [{"partition": {"server": "pg"}, "offset": {"lsn": "0/16B3748"}}]}),
                "non-negative integer",
            ),
            (json!({"offsets": [{"partition": {"server": "pg"}, "offset": {"lsn": -1}}]}), "non-negative integer"),
            (json!({"offsets": [{"partition": {"server": "pg"}, "offset": {"lsn": 1.5}}]}), "non-negative integer"),
            (json!({"offsets": [{"partition": {"server": "pg"}, "offset": [1]}]}), "object or null"),
        ];
        for (body, expected) in cases {
            let problem = alteration(&body, "pg").unwrap_err();
            assert!(problem.contains(expected), "{body}: {problem}");
        }
    }
}
