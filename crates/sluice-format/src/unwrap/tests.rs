//! The unwrap transform's output, compared with the documents Debezium's `ExtractNewRecordState` produces for the
//! same changes (shapes from Debezium's "New Record State Extraction" page).

use bytes::Bytes;
use serde_json::{json, Value};
use sluice_core::{ChangeEvent, Datum, LogicalMessage, Lsn, Op, Payload, Position, Record, SnapshotMarker, SourceInfo};

use super::{DeleteMode, UnwrapOptions};
use crate::tests::customers;
use crate::transform::records::{Condition, Predicate, PredicateKind};
use crate::transform::{Transform, TransformKind, Transforms};
use crate::{Converter, Encoder, EncoderOptions};

fn encoder_options(schemas: bool) -> EncoderOptions {
    let json = Converter::Json { schemas_enable: schemas };
    EncoderOptions { key: json.clone(), value: json, ..crate::tests::opts() }
}

fn row(id: &str, email: &str) -> Option<Vec<Datum>> {
    Some(vec![Datum::text(id), Datum::text(email)])
}

fn event(op: Op, before: Option<Vec<Datum>>, after: Option<Vec<Datum>>) -> ChangeEvent {
    ChangeEvent {
        op,
        table: Some(customers()),
        before,
        after,
        message: None,
        source: SourceInfo {
            position: Position::new(Lsn(1000), 3),
            lsn: Lsn(24023128),
            tx_id: Some(555),
            ts_us: 1_559_033_904_863_123,
            snapshot: SnapshotMarker::False,
        },
    }
}

fn unwrap_all(options: UnwrapOptions, schemas: bool, events: &[ChangeEvent]) -> Vec<Record> {
    let mut encoder = Encoder::new(encoder_options(schemas)).with_unwrap(&options);
    let mut out = Vec::new();
    for e in events {
        encoder.encode(e, &mut out).unwrap();
    }
    out
}

fn json_of(p: &Option<Payload>) -> Value {
    match p {
        Some(p) => serde_json::from_slice(&p.bytes()).unwrap(),
        None => Value::Null,
    }
}

/// The records as (key, value) JSON pairs; a missing value (a tombstone) is `"tombstone"`.
fn pairs(records: &[Record]) -> Vec<(Value, Value)> {
    records
        .iter()
        .map(|r| (json_of(&r.key), if r.value.is_none() { json!("tombstone") } else { json_of(&r.value) }))
        .collect()
}

fn insert() -> ChangeEvent {
    event(Op::Create, None, row("1004", "annek@noanswer.org"))
}

fn delete() -> ChangeEvent {
    event(Op::Delete, row("1004", "annek@noanswer.org"), None)
}

const ROW_FIELDS: &str =
    r#"[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"email"}]"#;

#[test]
fn creates_updates_and_reads_become_the_after_row_with_the_key_unchanged() {
    let events = [
        insert(),
        event(Op::Update, row("1004", "annek@noanswer.org"), row("1004", "anne@example.com")),
        event(Op::Read, None, row("1005", "b@example.com")),
    ];
    assert_eq!(
        pairs(&unwrap_all(UnwrapOptions::default(), false, &events)),
        vec![
            (json!({"id": 1004}), json!({"id": 1004, "email": "annek@noanswer.org"})),
            (json!({"id": 1004}), json!({"id": 1004, "email": "anne@example.com"})),
            (json!({"id": 1005}), json!({"id": 1005, "email": "b@example.com"})),
        ]
    );
}

#[test]
fn with_schemas_the_value_schema_is_the_rows_value_schema() {
    let records = unwrap_all(UnwrapOptions::default(), true, &[insert()]);
    let schema: Value = serde_json::from_str(&format!(
        r#"{{"type":"struct","fields":{ROW_FIELDS},"optional":true,"name":"app.inventory.customers.Value"}}"#
    ))
    .unwrap();
    assert_eq!(
        json_of(&records[0].value),
        json!({"schema": schema, "payload": {"id": 1004, "email": "annek@noanswer.org"}})
    );
    assert_eq!(
        json_of(&records[0].key),
        json!({"schema": {"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"app.inventory.customers.Key"}, "payload": {"id": 1004}})
    );
}

#[test]
fn by_default_a_delete_becomes_a_tombstone_and_debeziums_tombstone_is_kept() {
    assert_eq!(
        pairs(&unwrap_all(UnwrapOptions::default(), false, &[delete()])),
        vec![(json!({"id": 1004}), json!("tombstone")), (json!({"id": 1004}), json!("tombstone"))]
    );
}

#[test]
fn drop_mode_leaves_out_deletes_and_tombstones() {
    let options = UnwrapOptions { deletes: DeleteMode::Drop, keep_tombstones: false, ..Default::default() };
    assert!(unwrap_all(options, false, &[delete()]).is_empty());
}

#[test]
fn rewrite_marks_rows_with_deleted_and_a_delete_carries_the_before_row() {
    let options = UnwrapOptions { deletes: DeleteMode::Rewrite, keep_tombstones: false, ..Default::default() };
    assert_eq!(
        pairs(&unwrap_all(options.clone(), false, &[insert(), delete()])),
        vec![
            (json!({"id": 1004}), json!({"id": 1004, "email": "annek@noanswer.org", "__deleted": "false"})),
            (json!({"id": 1004}), json!({"id": 1004, "email": "annek@noanswer.org", "__deleted": "true"})),
        ]
    );
    let with_tombstone = UnwrapOptions { keep_tombstones: true, ..options };
    let records = unwrap_all(with_tombstone, false, &[delete()]);
    assert_eq!(records.len(), 2);
    assert!(records[1].value.is_none(), "rewrite-with-tombstone keeps the tombstone");
}

#[test]
fn rewrite_with_schemas_adds_an_optional_string_deleted_to_a_required_struct() {
    let options = UnwrapOptions { deletes: DeleteMode::Rewrite, ..Default::default() };
    let records = unwrap_all(options, true, &[insert()]);
    let fields: Value = serde_json::from_str(ROW_FIELDS).unwrap();
    let mut fields = fields.as_array().unwrap().clone();
    fields.push(json!({"type":"string","optional":true,"field":"__deleted"}));
    assert_eq!(
        json_of(&records[0].value)["schema"],
        json!({"type":"struct","fields":fields,"optional":false,"name":"app.inventory.customers.Value"})
    );
}

#[test]
fn the_older_none_mode_sends_a_null_value_with_the_rows_schema() {
    let options = UnwrapOptions { deletes: DeleteMode::NullValue, keep_tombstones: false, ..Default::default() };
    let records = unwrap_all(options.clone(), false, &[delete()]);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].value.as_ref().unwrap().bytes().as_ref(), b"null");
    // Debezium adds no fields to the null value: its schema is the row's, even with `add.fields`.
    let with_fields = UnwrapOptions { add_fields: vec!["op".into()], ..options };
    let records = unwrap_all(with_fields, true, &[delete()]);
    let value = json_of(&records[0].value);
    assert_eq!(value["payload"], Value::Null);
    let schema: Value = serde_json::from_str(&format!(
        r#"{{"type":"struct","fields":{ROW_FIELDS},"optional":true,"name":"app.inventory.customers.Value"}}"#
    ))
    .unwrap();
    assert_eq!(value["schema"], schema);
}

#[test]
fn add_fields_copies_envelope_and_source_fields_after_deleted() {
    let options = UnwrapOptions {
        deletes: DeleteMode::Rewrite,
        add_fields: vec!["op".into(), "table".into(), "lsn".into(), "source.ts_ms".into()],
        ..Default::default()
    };
    assert_eq!(
        pairs(&unwrap_all(options.clone(), false, &[insert(), delete()]))[..2],
        [
            (
                json!({"id": 1004}),
                json!({"id": 1004, "email": "annek@noanswer.org", "__deleted": "false", "__op": "c",
                       "__table": "customers", "__lsn": 24023128, "__source_ts_ms": 1559033904863_i64})
            ),
            (
                json!({"id": 1004}),
                json!({"id": 1004, "email": "annek@noanswer.org", "__deleted": "true", "__op": "d",
                       "__table": "customers", "__lsn": 24023128, "__source_ts_ms": 1559033904863_i64})
            ),
        ]
    );
    // Field order is part of the document: the row, `__deleted`, then the added fields in their configured order.
    let raw = unwrap_all(options, false, &[insert()])[0].value.as_ref().unwrap().bytes().to_vec();
    assert_eq!(
        String::from_utf8(raw).unwrap(),
        r#"{"id":1004,"email":"annek@noanswer.org","__deleted":"false","__op":"c","__table":"customers","__lsn":24023128,"__source_ts_ms":1559033904863}"#
    );
}

#[test]
fn add_fields_with_schemas_adds_each_fields_optional_schema_under_its_prefix() {
    let options = UnwrapOptions {
        add_fields: vec!["op".into(), "source.snapshot".into(), "ts_ms".into()],
        add_fields_prefix: "meta_".into(),
        ..Default::default()
    };
    let value = json_of(&unwrap_all(options, true, &[insert()])[0].value);
    let fields: Value = serde_json::from_str(ROW_FIELDS).unwrap();
    let mut fields = fields.as_array().unwrap().clone();
    fields.push(json!({"type":"string","optional":true,"field":"meta_op"}));
    fields.push(json!({"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,
        "parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
        "field":"meta_source_snapshot"}));
    fields.push(json!({"type":"int64","optional":true,"field":"meta_ts_ms"}));
    assert_eq!(
        value["schema"],
        json!({"type":"struct","fields":fields,"optional":false,"name":"app.inventory.customers.Value"})
    );
    assert_eq!(value["payload"]["meta_op"], json!("c"));
    assert_eq!(value["payload"]["meta_source_snapshot"], json!("false"));
    assert!(value["payload"]["meta_ts_ms"].is_i64());
}

#[test]
fn add_headers_puts_the_fields_text_into_prefixed_headers() {
    let options = UnwrapOptions {
        add_headers: vec!["op".into(), "table".into(), "lsn".into(), "source.xmin".into()],
        ..Default::default()
    };
    let records = unwrap_all(options, false, &[insert(), delete()]);
    let headers = |r: &Record| {
        r.headers.iter().map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap())).collect::<Vec<_>>()
    };
    let expected = |op: &str| {
        vec![
            ("__op".to_string(), op.to_string()),
            ("__table".to_string(), "customers".to_string()),
            ("__lsn".to_string(), "24023128".to_string()),
        ]
    };
    assert_eq!(headers(&records[0]), expected("c"));
    // The tombstone a delete becomes carries the delete's headers; Debezium's own tombstone has no envelope.
    assert_eq!(headers(&records[1]), expected("d"));
    assert!(headers(&records[2]).is_empty());
}

#[test]
fn truncates_are_dropped() {
    let truncate = event(Op::Truncate, None, None);
    assert!(unwrap_all(UnwrapOptions::default(), false, &[truncate]).is_empty());
}

#[test]
fn a_primary_key_change_unwraps_its_delete_and_create_with_their_key_headers() {
    let options = UnwrapOptions { deletes: DeleteMode::Rewrite, keep_tombstones: false, ..Default::default() };
    let change = event(Op::Update, row("1", "a@example.com"), row("2", "a@example.com"));
    let records = unwrap_all(options, false, &[change]);
    assert_eq!(
        pairs(&records),
        vec![
            (json!({"id": 1}), json!({"id": 1, "email": "a@example.com", "__deleted": "true"})),
            (json!({"id": 2}), json!({"id": 2, "email": "a@example.com", "__deleted": "false"})),
        ]
    );
    assert_eq!(records[0].headers[0].0, "__debezium.newkey");
    assert_eq!(records[1].headers[0].0, "__debezium.oldkey");
}

fn topic_matches(pattern: &str, negate: bool) -> Option<Condition> {
    let predicate = Predicate::new(&PredicateKind::TopicNameMatches { pattern: pattern.into() }).unwrap();
    Some(Condition { predicate, negate })
}

fn chain(predicate: Option<Condition>) -> Transforms {
    let unwrap = Encoder::new(encoder_options(false)).with_unwrap(&UnwrapOptions::default());
    Transforms::new(
        vec![Transform { name: "unwrap".into(), kind: TransformKind::Unwrap(Box::new(unwrap)), predicate }],
        "app",
    )
}

#[test]
fn in_the_chain_message_events_pass_unchanged_and_predicates_select_tables() {
    let mut transforms = chain(None);
    let mut out = Vec::new();
    let message = ChangeEvent {
        op: Op::Message,
        table: None,
        message: Some(LogicalMessage { transactional: true, prefix: "p".into(), content: Bytes::from_static(b"x") }),
        ..insert()
    };
    let mut plain = Encoder::new(encoder_options(false));
    assert!(!transforms.apply(&message, &mut plain, &mut out).unwrap(), "a message is left to the encoder");
    out.clear();
    assert!(transforms.apply(&insert(), &mut plain, &mut out).unwrap());
    assert_eq!(json_of(&out[0].value), json!({"id": 1004, "email": "annek@noanswer.org"}));

    let mut others_only = chain(topic_matches("app\\.inventory\\.orders", false));
    let mut out = Vec::new();
    assert!(
        !others_only.apply(&insert(), &mut plain, &mut out).unwrap(),
        "a table the predicate rejects stays an envelope"
    );
    assert_eq!(json_of(&out[0].value)["op"], "c");
    let mut negated = chain(topic_matches("app\\.inventory\\.orders", true));
    assert!(negated.apply(&insert(), &mut plain, &mut Vec::new()).unwrap());
}
