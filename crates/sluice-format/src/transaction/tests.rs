//! Transaction metadata compared with Debezium's: the PostgreSQL connector's documentation ("Transaction metadata",
//! debezium/documentation/modules/ROOT/pages/connectors/postgresql.adoc: BEGIN `571:53195829` and END
//! `571:53195832` of a transaction writing `s1.a` and `s2.a`), its schemas (`SchemaFactory`:
//! `TransactionMetadataKey`, `TransactionMetadataValue`, `event.collection`, `event.block`) and its
//! `TransactionMetadataIT` (an id's LSN is that of the record's own message; counters start at 1).

use std::sync::Arc;

use serde_json::{json, Value};
use sluice_core::{
    ChangeEvent, Datum, LogicalMessage, Lsn, Op, Position, Record, SnapshotMarker, SourceInfo, TableId, TableSchema,
    TransactionBoundary,
};

use crate::tests::{customers, opts};
use crate::transform::{Transform, TransformKind, Transforms};
use crate::unwrap::UnwrapOptions;
use crate::{Converter, Encoder, EncoderOptions};

/// The documented transaction: xid 571, committed at 53195900, BEGIN at 53195829 and END at 53195832.
const COMMIT_LSN: Lsn = Lsn(53_195_900);
const TS_US: i64 = 1_486_500_577_125_000;

fn boundary(lsn: u64) -> TransactionBoundary {
    TransactionBoundary { tx_id: 571, commit_lsn: COMMIT_LSN, lsn: Lsn(lsn), ts_us: TS_US }
}

fn table(schema: &str, relation_oid: u32) -> Arc<TableSchema> {
    let mut t = (*customers()).clone();
    t.id = TableId::new(schema, "a");
    t.relation_oid = relation_oid;
    Arc::new(t)
}

fn change(
    op: Op,
    table: &Arc<TableSchema>,
    ordinal: u64,
    lsn: u64,
    before: Option<&str>,
    after: Option<&str>,
) -> ChangeEvent {
    let row = |id: &str| vec![Datum::text(id), Datum::text("a@example.com")];
    ChangeEvent {
        op,
        table: Some(table.clone()),
        before: before.map(row),
        after: after.map(row),
        message: None,
        source: SourceInfo {
            position: Position::new(COMMIT_LSN, ordinal),
            lsn: Lsn(lsn),
            tx_id: Some(571),
            ts_us: TS_US,
            snapshot: SnapshotMarker::False,
        },
    }
}

fn message(transactional: bool, ordinal: u64, lsn: u64) -> ChangeEvent {
    ChangeEvent {
        op: Op::Message,
        table: None,
        before: None,
        after: None,
        message: Some(LogicalMessage { transactional, prefix: "p".into(), content: b"x".to_vec().into() }),
        source: SourceInfo {
            position: if transactional { Position::new(COMMIT_LSN, ordinal) } else { Position::new(Lsn(lsn), 0) },
            lsn: Lsn(lsn),
            tx_id: transactional.then_some(571),
            ts_us: TS_US,
            snapshot: SnapshotMarker::False,
        },
    }
}

fn with_schemas(enable: bool) -> EncoderOptions {
    let json = Converter::Json { schemas_enable: enable };
    EncoderOptions { key: json.clone(), value: json, ..opts() }
}

fn encoder() -> Encoder {
    Encoder::new(with_schemas(false)).with_transaction_metadata("app.transaction")
}

fn parse(p: &Option<sluice_core::Payload>) -> Value {
    serde_json::from_slice(&p.as_ref().unwrap().bytes()).unwrap()
}

/// The whole documented transaction through `encoder`: BEGIN, an insert into `s1.a`, one into `s2.a`, END.
fn documented_transaction(encoder: &mut Encoder) -> Vec<Record> {
    let mut out = Vec::new();
    encoder.begin_transaction(&boundary(53_195_829), true, &mut out);
    encoder.encode(&change(Op::Create, &table("s1", 1), 0, 53_195_830, None, Some("1")), &mut out).unwrap();
    encoder.encode(&change(Op::Create, &table("s2", 2), 1, 53_195_831, None, Some("1")), &mut out).unwrap();
    encoder.end_transaction(&boundary(53_195_832), true, &mut out);
    out
}

#[test]
fn begin_and_end_are_debeziums_documented_records_on_the_transaction_topic() {
    let out = documented_transaction(&mut encoder());
    assert_eq!(out.len(), 4);
    let (begin, end) = (&out[0], &out[3]);
    assert_eq!(&*begin.topic, "app.transaction");
    assert_eq!(&*end.topic, "app.transaction");
    assert_eq!(parse(&begin.key), json!({"id": "571:53195829"}));
    assert_eq!(
        parse(&begin.value),
        json!({"status": "BEGIN", "id": "571:53195829", "event_count": null, "data_collections": null, "ts_ms": 1486500577125_i64})
    );
    assert_eq!(parse(&end.key), json!({"id": "571:53195832"}), "END's key carries its own LSN, as Debezium's");
    assert_eq!(
        parse(&end.value),
        json!({"status": "END", "id": "571:53195832", "event_count": 2,
               "data_collections": [{"data_collection": "s1.a", "event_count": 1}, {"data_collection": "s2.a", "event_count": 1}],
               "ts_ms": 1486500577125_i64})
    );
    // Field order as Debezium's schema lists them (status, id, event_count, data_collections, ts_ms).
    let raw = String::from_utf8(begin.value.as_ref().unwrap().bytes().to_vec()).unwrap();
    assert_eq!(
        raw,
        r#"{"status":"BEGIN","id":"571:53195829","event_count":null,"data_collections":null,"ts_ms":1486500577125}"#
    );
}

#[test]
fn every_event_of_the_transaction_carries_its_id_and_its_order_in_the_transaction_and_its_table() {
    let out = documented_transaction(&mut encoder());
    assert_eq!(&*out[1].topic, "app.s1.a");
    assert_eq!(
        parse(&out[1].value)["transaction"],
        json!({"id": "571:53195830", "total_order": 1, "data_collection_order": 1})
    );
    assert_eq!(
        parse(&out[2].value)["transaction"],
        json!({"id": "571:53195831", "total_order": 2, "data_collection_order": 1})
    );
}

#[test]
fn with_schemas_the_records_carry_debeziums_transaction_metadata_schemas() {
    let mut encoder = Encoder::new(with_schemas(true)).with_transaction_metadata("app.transaction");
    let out = documented_transaction(&mut encoder);
    let key: Value = parse(&out[0].key);
    assert_eq!(
        key["schema"],
        json!({"type": "struct", "fields": [{"type": "string", "optional": false, "field": "id"}], "optional": false,
               "name": "io.debezium.connector.common.TransactionMetadataKey", "version": 1})
    );
    let end: Value = parse(&out[3].value);
    assert_eq!(
        end["schema"],
        json!({"type": "struct", "fields": [
            {"type": "string", "optional": false, "field": "status"},
            {"type": "string", "optional": false, "field": "id"},
            {"type": "int64", "optional": true, "field": "event_count"},
            {"type": "array", "items": {"type": "struct", "fields": [
                {"type": "string", "optional": false, "field": "data_collection"},
                {"type": "int64", "optional": false, "field": "event_count"}],
                "optional": true, "name": "event.collection", "version": 1},
             "optional": true, "field": "data_collections"},
            {"type": "int64", "optional": false, "field": "ts_ms"}],
            "optional": false, "name": "io.debezium.connector.common.TransactionMetadataValue", "version": 1})
    );
    assert_eq!(end["payload"]["event_count"], json!(2));
    let event: Value = parse(&out[1].value);
    let block = event["schema"]["fields"].as_array().unwrap().iter().find(|f| f["field"] == "transaction").unwrap();
    assert_eq!(block["name"], json!("event.block"));
    assert_eq!(event["payload"]["transaction"]["total_order"], json!(1));
}

#[test]
fn a_primary_key_change_counts_twice_and_its_tombstone_not_at_all() {
    let mut encoder = encoder();
    let mut out = Vec::new();
    let t = table("s1", 1);
    encoder.begin_transaction(&boundary(10), true, &mut out);
    encoder.encode(&change(Op::Update, &t, 0, 11, Some("1"), Some("2")), &mut out).unwrap();
    encoder.encode(&change(Op::Delete, &t, 1, 12, Some("2"), None), &mut out).unwrap();
    encoder.end_transaction(&boundary(13), true, &mut out);
    let blocks: Vec<Value> = out[1..out.len() - 1]
        .iter()
        .map(|r| r.value.as_ref().map_or(Value::Null, |_| parse(&r.value)["transaction"].clone()))
        .collect();
    let order = |total: u64, id: &str| json!({"id": id, "total_order": total, "data_collection_order": total});
    // The key change: delete, tombstone, create; then the delete and its tombstone.
    assert_eq!(blocks, [order(1, "571:11"), Value::Null, order(2, "571:11"), order(3, "571:12"), Value::Null]);
    assert_eq!(parse(&out.last().unwrap().value)["event_count"], json!(3));
}

#[test]
fn snapshot_rows_and_messages_outside_the_transaction_have_no_block_and_transactional_messages_count() {
    let mut encoder = encoder();
    let mut out = Vec::new();
    let mut row = change(Op::Read, &table("s1", 1), 0, 5, None, Some("1"));
    row.source.snapshot = SnapshotMarker::First;
    encoder.encode(&row, &mut out).unwrap();
    encoder.encode(&message(false, 0, 7), &mut out).unwrap();
    encoder.begin_transaction(&boundary(10), true, &mut out);
    encoder.encode(&message(true, 0, 11), &mut out).unwrap();
    encoder.encode(&message(true, 1, 12), &mut out).unwrap();
    encoder.end_transaction(&boundary(13), true, &mut out);
    assert_eq!(parse(&out[0].value)["transaction"], Value::Null, "a snapshot row");
    assert_eq!(parse(&out[1].value)["transaction"], Value::Null, "a non-transactional message");
    assert_eq!(
        parse(&out[4].value)["transaction"],
        json!({"id": "571:12", "total_order": 2, "data_collection_order": 2})
    );
    assert_eq!(
        parse(&out[5].value)["data_collections"],
        json!([{"data_collection": "LOGICAL_DECODING_MESSAGE", "event_count": 2}])
    );
}

#[test]
fn a_transaction_without_captured_events_ends_with_no_events_and_an_unwritten_boundary_is_still_tracked() {
    let mut encoder = encoder();
    let mut out = Vec::new();
    encoder.begin_transaction(&boundary(10), true, &mut out);
    encoder.end_transaction(&boundary(13), true, &mut out);
    assert_eq!(parse(&out[1].value)["event_count"], json!(0));
    assert_eq!(parse(&out[1].value)["data_collections"], json!([]));
    // A BEGIN an earlier run delivered: not written, but the counts start.
    out.clear();
    encoder.begin_transaction(&boundary(10), false, &mut out);
    encoder.encode(&change(Op::Create, &table("s1", 1), 0, 11, None, Some("1")), &mut out).unwrap();
    encoder.end_transaction(&boundary(13), true, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(parse(&out[1].value)["event_count"], json!(1));
}

#[test]
fn without_transaction_metadata_events_have_a_null_block_and_boundaries_make_no_records() {
    let mut encoder = Encoder::new(with_schemas(false));
    let out = documented_transaction(&mut encoder);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|r| parse(&r.value)["transaction"] == Value::Null));
}

#[test]
fn events_unwrap_takes_are_counted_and_boundaries_pass_the_chain_unchanged_but_for_record_transforms() {
    let unwrap = Encoder::new(with_schemas(false)).with_unwrap(&UnwrapOptions::default());
    let steps =
        vec![Transform { name: "unwrap".into(), kind: TransformKind::Unwrap(Box::new(unwrap)), predicate: None }];
    let mut chain = Transforms::new(steps, "app");
    let mut encoder = encoder();
    let mut out = Vec::new();
    encoder.begin_transaction(&boundary(10), true, &mut out);
    chain.apply_to_records(0, &mut out).unwrap();
    chain.apply(&change(Op::Create, &table("s1", 1), 0, 11, None, Some("1")), &mut encoder, &mut out).unwrap();
    chain.apply(&change(Op::Update, &table("s1", 1), 1, 12, Some("1"), Some("2")), &mut encoder, &mut out).unwrap();
    let first = out.len();
    encoder.end_transaction(&boundary(13), true, &mut out);
    chain.apply_to_records(first, &mut out).unwrap();
    assert_eq!(parse(&out[0].value)["status"], json!("BEGIN"), "unwrap passes non-envelope records on unchanged");
    assert_eq!(parse(&out[1].value), json!({"id": 1, "email": "a@example.com"}));
    let end = parse(&out.last().unwrap().value);
    assert_eq!(end["status"], json!("END"));
    assert_eq!(
        end["event_count"],
        json!(3),
        "an insert and a key change (two change records), as Debezium counts before its transforms"
    );
}
