//! Kafka Connect's offsets record, as Debezium's PostgreSQL connector writes it, so offsets move between Debezium
//! and Sluice in both directions.
//!
//! Kafka Connect keeps a source connector's offsets in a compacted topic, one record per source partition: the key
//! is the JSON array `["<connector name>",{"server":"<topic.prefix>"}]` (Debezium's one partition per connector),
//! the value the offset map as JSON without a schema, and a null value (a tombstone) means no offsets.
//!
//! Debezium's offset map (`PostgresOffsetContext`) says where streaming resumes: `lsn_commit`, the end of the last
//! transaction whose commit was processed; `lsn_proc`, the last change processed completely; `lsn`, the last event's
//! own LSN; `messageType`, what that event was; `txId` and `ts_usec`. During a snapshot it has `snapshot`
//! (`true` up to Debezium 2.4, then `"INITIAL"`/`"BLOCKING"`), `last_snapshot_record` and `snapshot_completed`.
//!
//! **Writing.** Sluice's flush position — the end of the last fully acknowledged transaction, or an idle position —
//! is exactly what Debezium calls `lsn_commit`, so Sluice writes it as `lsn`, `lsn_proc` and `lsn_commit` with
//! `messageType` `COMMIT`: Debezium resuming from it replays, at most, the transaction Sluice had delivered in part.
//! A snapshot in progress is written as Debezium writes its own (`snapshot: true`, which every Debezium version
//! reads), so Debezium takes the snapshot again. Sluice's own exact state goes in fields Debezium ignores:
//! `sluice_slot` (the slot the offsets belong to), `sluice_acknowledged` (the last acknowledged event's position,
//! `{"commit_lsn", "ordinal"}`) and `sluice_snapshot` (which tables the snapshot covers and which are done).
//!
//! **Reading.** A record with `sluice_slot` was written by Sluice and is read back exactly. Any other was written by
//! Debezium: everything committed up to `lsn_commit` (or, from older versions, `lsn_proc`) counts as delivered; a
//! completed snapshot (or none recorded, which Debezium takes to mean done) is not taken again; a snapshot still
//! running is taken again from the start, as Debezium would.

use serde_json::{json, Map, Value};

use crate::{Lsn, Offsets, Position, SnapshotProgress};

const LSN: &str = "lsn";
const LSN_PROC: &str = "lsn_proc";
const LSN_COMMIT: &str = "lsn_commit";
const MESSAGE_TYPE: &str = "messageType";
const TX_ID: &str = "txId";
const TS_USEC: &str = "ts_usec";
const SNAPSHOT: &str = "snapshot";
const LAST_SNAPSHOT_RECORD: &str = "last_snapshot_record";
const SNAPSHOT_COMPLETED: &str = "snapshot_completed";
/// Sluice's own fields: names no Debezium version reads (Debezium reads `transaction_*` and
/// `incremental_snapshot_*` besides the ones above).
const SLUICE_SLOT: &str = "sluice_slot";
const SLUICE_ACKNOWLEDGED: &str = "sluice_acknowledged";
const SLUICE_SNAPSHOT: &str = "sluice_snapshot";

/// Debezium's source partition: `{"server": "<topic.prefix>"}`.
pub fn partition(topic_prefix: &str) -> Value {
    json!({ "server": topic_prefix })
}

/// The record key, byte for byte as Kafka Connect's JSON converter writes it: `["<connector>",{"server":"<prefix>"}]`.
pub fn key(connector: &str, topic_prefix: &str) -> Vec<u8> {
    serde_json::to_vec(&json!([connector, partition(topic_prefix)])).expect("a JSON array always serializes")
}

/// Whether `bytes` is this connector's key, compared as JSON (as Kafka Connect compares keys once converted).
pub fn is_key(bytes: &[u8], connector: &str, topic_prefix: &str) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok_and(|k| k == json!([connector, partition(topic_prefix)]))
}

/// The offset map: Debezium's fields, then Sluice's (see the module's notes).
pub fn value(offsets: &Offsets) -> Map<String, Value> {
    let mut map = Map::new();
    let snapshot_running = offsets.snapshot.as_ref().is_some_and(|s| !s.completed);
    match (&offsets.snapshot, offsets.committed) {
        (Some(snapshot), _) if snapshot_running => {
            map.insert(LSN.into(), json!(snapshot.lsn.0));
            map.insert(SNAPSHOT.into(), json!(true));
            map.insert(LAST_SNAPSHOT_RECORD.into(), json!(false));
            map.insert(SNAPSHOT_COMPLETED.into(), json!(false));
        }
        (_, Some(committed)) => {
            for field in [LSN, LSN_PROC, LSN_COMMIT] {
                map.insert(field.into(), json!(committed.0));
            }
            map.insert(MESSAGE_TYPE.into(), json!("COMMIT"));
        }
        (snapshot, None) => {
            let lsn = snapshot.as_ref().map(|s| s.lsn).or(offsets.acknowledged.map(|p| p.commit_lsn));
            if let Some(lsn) = lsn {
                map.insert(LSN.into(), json!(lsn.0));
            }
        }
    }
    if let Some(tx_id) = offsets.tx_id {
        map.insert(TX_ID.into(), json!(tx_id));
    }
    map.insert(TS_USEC.into(), json!(offsets.ts_us.unwrap_or(0)));
    map.insert(SLUICE_SLOT.into(), json!(offsets.slot_name));
    if let Some(position) = offsets.acknowledged {
        map.insert(SLUICE_ACKNOWLEDGED.into(), serde_json::to_value(position).expect("a position serializes"));
    }
    if let Some(snapshot) = &offsets.snapshot {
        map.insert(SLUICE_SNAPSHOT.into(), serde_json::to_value(snapshot).expect("snapshot progress serializes"));
    }
    map
}

/// The record value's bytes.
pub fn value_bytes(offsets: &Offsets) -> Vec<u8> {
    serde_json::to_vec(&value(offsets)).expect("a JSON object always serializes")
}

/// Reads an offset map written by Sluice or by Debezium (see the module's notes); `slot_name` is the configured slot,
/// which Debezium's offsets belong to. An error says what is wrong with the map.
pub fn offsets_from(value: &Value, slot_name: &str) -> Result<Offsets, String> {
    let map = value.as_object().ok_or_else(|| format!("the offset is not a JSON object: {value}"))?;
    let number = |field: &str| -> Result<Option<u64>, String> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("`{field}` must be a non-negative integer (an LSN as a number), got {v}")),
        }
    };
    let committed = number(LSN_COMMIT)?.or(number(LSN_PROC)?).filter(|l| *l > 0).map(Lsn);
    let tx_id = number(TX_ID)?;
    let ts_us = map.get(TS_USEC).and_then(Value::as_i64).filter(|t| *t != 0);
    let lsn = number(LSN)?;
    if let Some(slot) = map.get(SLUICE_SLOT).and_then(Value::as_str) {
        let own = |field: &str| map.get(field).filter(|v| !v.is_null()).cloned();
        let acknowledged: Option<Position> = own(SLUICE_ACKNOWLEDGED)
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| format!("`{SLUICE_ACKNOWLEDGED}` is not a position: {e}"))?;
        let snapshot: Option<SnapshotProgress> = own(SLUICE_SNAPSHOT)
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| format!("`{SLUICE_SNAPSHOT}` is not a snapshot's progress: {e}"))?;
        return Ok(Offsets { slot_name: slot.to_string(), acknowledged, committed, tx_id, ts_us, snapshot });
    }
    let flag = |field: &str| match map.get(field) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let snapshot_kind = match map.get(SNAPSHOT) {
        Some(Value::Bool(true)) => Some("INITIAL".to_string()),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some("INITIAL".to_string()),
        Some(Value::String(s)) => Some(s.to_ascii_uppercase()),
        _ => None,
    };
    let completed = flag(SNAPSHOT_COMPLETED) || flag(LAST_SNAPSHOT_RECORD);
    let running = matches!(snapshot_kind.as_deref(), Some("INITIAL" | "BLOCKING")) && !completed;
    if running {
        return Ok(Offsets { slot_name: slot_name.to_string(), ..Offsets::default() });
    }
    Ok(Offsets {
        slot_name: slot_name.to_string(),
        // Every transaction whose commit record starts before `lsn_commit` ends at or before it.
        acknowledged: committed.map(|c| Position::new(Lsn(c.0 - 1), u64::MAX)),
        committed,
        tx_id,
        ts_us,
        snapshot: Some(SnapshotProgress {
            lsn: Lsn(lsn.or(committed.map(|c| c.0)).unwrap_or(0)),
            tables: Vec::new(),
            tables_done: Vec::new(),
            completed: true,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TableId;

    fn streaming() -> Offsets {
        Offsets {
            slot_name: "orders_slot".into(),
            acknowledged: Some(Position::new(Lsn(0x16B_3800), 4)),
            committed: Some(Lsn(0x16B_3748)),
            tx_id: Some(771),
            ts_us: Some(1_733_300_000_123_456),
            snapshot: Some(SnapshotProgress {
                lsn: Lsn(0x16A_0000),
                tables: vec![TableId::new("public", "orders")],
                tables_done: vec![TableId::new("public", "orders")],
                completed: true,
            }),
        }
    }

    #[test]
    fn the_key_is_kafka_connects_json_array_of_connector_and_partition() {
        assert_eq!(key("kafka", "tutorial"), br#"["kafka",{"server":"tutorial"}]"#.to_vec());
        assert!(is_key(br#"[ "kafka", { "server" : "tutorial" } ]"#, "kafka", "tutorial"), "compared as JSON");
        assert!(!is_key(br#"["kafka",{"server":"other"}]"#, "kafka", "tutorial"));
        assert!(!is_key(b"not json", "kafka", "tutorial"));
    }

    #[test]
    fn streaming_offsets_are_written_as_debezium_writes_them_after_a_commit() {
        let value = Value::Object(value(&streaming()));
        let committed = 0x16B_3748u64;
        assert_eq!(value["lsn"], json!(committed));
        assert_eq!(value["lsn_proc"], json!(committed));
        assert_eq!(value["lsn_commit"], json!(committed));
        assert_eq!(value["messageType"], "COMMIT");
        assert_eq!(value["txId"], json!(771));
        assert_eq!(value["ts_usec"], json!(1_733_300_000_123_456i64));
        for absent in ["snapshot", "last_snapshot_record", "snapshot_completed"] {
            assert!(value.get(absent).is_none(), "a completed snapshot leaves no {absent}: {value}");
        }
        assert_eq!(value["sluice_slot"], "orders_slot");
        assert_eq!(value["sluice_acknowledged"], json!({"commit_lsn": "0/16B3800", "ordinal": 4}));
    }

    #[test]
    fn a_snapshot_in_progress_is_written_as_debeziums_running_snapshot() {
        let offsets = Offsets {
            slot_name: "s".into(),
            snapshot: Some(SnapshotProgress {
                lsn: Lsn(0x200),
                tables: vec![TableId::new("public", "a"), TableId::new("public", "b")],
                tables_done: vec![TableId::new("public", "a")],
                completed: false,
            }),
            ..Offsets::default()
        };
        let value = Value::Object(value(&offsets));
        assert_eq!(value["snapshot"], json!(true));
        assert_eq!(value["last_snapshot_record"], json!(false));
        assert_eq!(value["snapshot_completed"], json!(false));
        assert_eq!(value["lsn"], json!(0x200));
        assert!(value.get("lsn_commit").is_none());
        assert_eq!(value["sluice_snapshot"]["tables_done"], json!([{"schema": "public", "table": "a"}]));
    }

    #[test]
    fn what_sluice_writes_it_reads_back_exactly() {
        let offsets = streaming();
        let bytes = value_bytes(&offsets);
        let read = offsets_from(&serde_json::from_slice(&bytes).unwrap(), "another_slot").unwrap();
        assert_eq!(read, offsets, "the slot it was written for is kept, so another slot's offsets are not used");
    }

    #[test]
    fn debeziums_streaming_offsets_resume_after_their_last_commit() {
        // As Debezium 2.x/3.x's PostgresOffsetContext writes it mid-transaction: the last change at `lsn`, the last
        // commit processed at `lsn_commit`.
        let debezium = json!({
            "transaction_id": null,
            "lsn_proc": 23_866_624u64,
            "messageType": "UPDATE",
            "lsn_commit": 23_866_480u64,
            "lsn": 23_866_624u64,
            "txId": 768,
            "ts_usec": 1_700_000_000_123_456i64
        });
        let offsets = offsets_from(&debezium, "debezium").unwrap();
        assert_eq!(offsets.slot_name, "debezium");
        assert_eq!(offsets.committed, Some(Lsn(23_866_480)));
        assert_eq!(offsets.acknowledged, Some(Position::new(Lsn(23_866_479), u64::MAX)));
        assert_eq!(offsets.tx_id, Some(768));
        assert!(offsets.snapshot.is_some_and(|s| s.completed), "offsets without a running snapshot mean it is done");
    }

    #[test]
    fn debeziums_older_offsets_without_lsn_commit_resume_after_lsn_proc() {
        // Debezium 1.x after its snapshot's last record: `snapshot` a boolean, no `lsn_commit`.
        let debezium =
            json!({"last_snapshot_record": true, "lsn": 24_023_128u64, "txId": 555, "ts_usec": 1, "snapshot": true});
        let offsets = offsets_from(&debezium, "debezium").unwrap();
        assert!(offsets.snapshot.as_ref().is_some_and(|s| s.completed && s.lsn == Lsn(24_023_128)));
        assert_eq!(offsets.acknowledged, None, "nothing streamed yet");
        let older = json!({"lsn_proc": 500u64, "lsn": 520u64, "txId": 9, "ts_usec": 1});
        assert_eq!(offsets_from(&older, "debezium").unwrap().committed, Some(Lsn(500)));
    }

    #[test]
    fn a_snapshot_debezium_left_running_is_taken_again() {
        for snapshot in [json!("INITIAL"), json!(true), json!("true")] {
            let debezium = json!({"lsn": 100u64, "txId": 5, "ts_usec": 1, "snapshot": snapshot,
                "last_snapshot_record": false, "snapshot_completed": false});
            let offsets = offsets_from(&debezium, "debezium").unwrap();
            assert_eq!(offsets, Offsets { slot_name: "debezium".into(), ..Offsets::default() }, "{debezium}");
        }
        let done =
            json!({"lsn": 100u64, "snapshot": "INITIAL", "last_snapshot_record": true, "snapshot_completed": true});
        assert!(offsets_from(&done, "debezium").unwrap().snapshot.is_some_and(|s| s.completed));
    }

    #[test]
    fn a_malformed_offset_is_an_error_naming_the_field() {
        assert!(offsets_from(&json!([1]), "s").unwrap_err().contains("not a JSON object"));
        assert!(offsets_from(&json!({"lsn_commit": "0/16"}), "s").unwrap_err().contains("`lsn_commit`"));
        let bad = json!({"sluice_slot": "s", "sluice_acknowledged": 3});
        assert!(offsets_from(&bad, "s").unwrap_err().contains("sluice_acknowledged"));
    }
}
