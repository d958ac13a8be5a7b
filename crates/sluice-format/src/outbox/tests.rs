//! The router's options, one documented effect each.

use std::sync::Arc;

use serde_json::{json, Value};
use sluice_core::{
    ChangeEvent, ColumnSchema, Datum, LogicalMessage, Lsn, Op, Payload, Position, Record, ReplicaIdentity,
    SnapshotMarker, SourceInfo, TableId, TableSchema,
};

use super::*;
use crate::transform::records::{Condition, Predicate, PredicateKind};
use crate::transform::{Transform, TransformKind, Transforms};

const TEXT: u32 = 25;
const UUID: u32 = 2950;
const JSONB: u32 = 3802;
const BYTEA: u32 = 17;
const INT4: u32 = 23;
const TIMESTAMPTZ: u32 = 1184;

fn table(columns: &[(&str, u32)]) -> Arc<TableSchema> {
    Arc::new(TableSchema {
        relation_oid: 1,
        id: TableId::new("public", "outboxevent"),
        columns: columns
            .iter()
            .map(|(name, oid)| ColumnSchema {
                name: name.to_string(),
                type_oid: *oid,
                type_modifier: -1,
                type_name: String::new(),
                base_type_oid: 0,
                enum_values: None,
                primary_key: *name == "id",
                nullable: true,
                default_expression: None,
            })
            .collect(),
        replica_identity: ReplicaIdentity::Default,
    })
}

fn standard() -> Arc<TableSchema> {
    table(&[
        ("id", UUID),
        ("aggregatetype", TEXT),
        ("aggregateid", TEXT),
        ("type", TEXT),
        ("payload", JSONB),
        ("part", INT4),
        ("ts", TIMESTAMPTZ),
        ("tracingspancontext", TEXT),
        ("version", INT4),
    ])
}

fn row(values: &[Option<&str>]) -> Vec<Datum> {
    values.iter().map(|v| v.map_or(Datum::Null, Datum::text)).collect()
}

fn standard_row() -> Vec<Datum> {
    row(&[
        Some("6f1c0c9e-0000-0000-0000-000000000001"),
        Some("Order"),
        Some("order-1"),
        Some("OrderPlaced"),
        Some("{\"a\": 1, \"b\": null}"),
        Some("3"),
        Some("2024-01-02 03:04:05.5+00"),
        Some("traceparent=00-abc-def-01\ntracestate=x=1"),
        Some("7"),
    ])
}

fn event(op: Op, schema: &Arc<TableSchema>, after: Option<Vec<Datum>>) -> ChangeEvent {
    ChangeEvent {
        op,
        table: Some(schema.clone()),
        before: None,
        after,
        message: None,
        source: SourceInfo {
            position: Position::new(Lsn(100), 2),
            lsn: Lsn(90),
            tx_id: Some(7),
            ts_us: 1_700_000_000_000_000,
            snapshot: SnapshotMarker::False,
        },
    }
}

fn json_value(options: EventRouterOptions) -> EventRouter {
    EventRouter::new(options, Converter::Json { schemas_enable: false }, Converter::Json { schemas_enable: false })
        .unwrap()
}

fn route(router: &mut EventRouter, event: &ChangeEvent) -> Result<Vec<Record>, RouterError> {
    let mut out = Vec::new();
    let row = event.after.as_deref().map(|tuple| OutboxRow::Table { schema: event.table.as_ref().unwrap(), tuple });
    router.route(event, row.as_ref(), "app.public.outboxevent", &mut out)?;
    Ok(out)
}

fn one(router: &mut EventRouter) -> Record {
    let mut records = route(router, &event(Op::Create, &standard(), Some(standard_row()))).unwrap();
    assert_eq!(records.len(), 1);
    records.remove(0)
}

fn as_json(p: &Option<Payload>) -> Value {
    match p {
        Some(json) if json.is_json() => serde_json::from_slice(&json.bytes()).unwrap(),
        None => Value::Null,
        other => panic!("not JSON: {other:?}"),
    }
}

fn header<'a>(r: &'a Record, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| std::str::from_utf8(v).unwrap())
}

#[test]
fn defaults_route_by_aggregate_type_key_by_aggregate_id_and_keep_the_payload() {
    let r = one(&mut json_value(EventRouterOptions::default()));
    assert_eq!(&*r.topic, "outbox.event.Order");
    assert_eq!(as_json(&r.key), json!("order-1"));
    assert_eq!(as_json(&r.value), json!("{\"a\": 1, \"b\": null}"), "the payload as a JSON string, untouched");
    assert_eq!(header(&r, "id"), Some("6f1c0c9e-0000-0000-0000-000000000001"));
    assert_eq!(r.position, Position::new(Lsn(100), 2));
    assert_eq!(r.partition, None);
}

#[test]
fn route_topic_regex_and_replacement_use_the_capture() {
    let r = one(&mut json_value(EventRouterOptions {
        route_topic_regex: "(?<routedByValue>Ord)er".into(),
        route_topic_replacement: "events.${routedByValue}.v1".into(),
        ..Default::default()
    }));
    assert_eq!(&*r.topic, "events.Ord.v1");
    let r = one(&mut json_value(EventRouterOptions { route_topic_regex: "Customer".into(), ..Default::default() }));
    assert_eq!(&*r.topic, "app.public.outboxevent", "no match: the topic stays, as with Kafka's RegexRouter");
    let r = one(&mut json_value(EventRouterOptions { route_by: "type".into(), ..Default::default() }));
    assert_eq!(&*r.topic, "outbox.event.OrderPlaced");
}

#[test]
fn additional_fields_go_to_headers_envelope_and_partition_with_aliases() {
    let r = one(&mut json_value(EventRouterOptions {
        additional: vec![
            AdditionalField { column: "type".into(), placement: Placement::Header, alias: "eventType".into() },
            AdditionalField { column: "ts".into(), placement: Placement::Header, alias: "ts".into() },
            AdditionalField { column: "aggregatetype".into(), placement: Placement::Envelope, alias: "kind".into() },
            AdditionalField { column: "part".into(), placement: Placement::Partition, alias: "part".into() },
        ],
        ..Default::default()
    }));
    assert_eq!(header(&r, "eventType"), Some("OrderPlaced"));
    assert_eq!(header(&r, "ts"), Some("2024-01-02T03:04:05.500000Z"));
    assert_eq!(as_json(&r.value), json!({"payload": "{\"a\": 1, \"b\": null}", "kind": "Order"}));
    assert_eq!(r.partition, Some(3));
}

#[test]
fn a_missing_additional_field_stops_unless_error_on_missing_is_off() {
    let options = EventRouterOptions {
        additional: vec![AdditionalField { column: "nope".into(), placement: Placement::Header, alias: "x".into() }],
        ..Default::default()
    };
    let e = route(&mut json_value(options.clone()), &event(Op::Create, &standard(), Some(standard_row()))).unwrap_err();
    assert!(e.to_string().contains("`nope`") && e.to_string().contains("error.on.missing"), "{e}");
    let r = one(&mut json_value(EventRouterOptions { additional_error_on_missing: false, ..options }));
    assert_eq!(header(&r, "x"), None);
}

#[test]
fn the_timestamp_column_sets_the_message_timestamp() {
    let r = one(&mut json_value(EventRouterOptions { event_timestamp: Some("ts".into()), ..Default::default() }));
    assert_eq!(r.timestamp_ms, 1_704_164_645_500);
}

#[test]
fn expanded_json_payloads_become_json_with_an_inferred_schema() {
    let options = EventRouterOptions { expand_json_payload: true, ..Default::default() };
    let r = one(&mut json_value(options.clone()));
    assert_eq!(as_json(&r.value), json!({"a": 1}), "null fields ignored by default");
    let with_nulls =
        one(&mut json_value(EventRouterOptions { json_null: JsonNullBehavior::OptionalBytes, ..options.clone() }));
    assert_eq!(as_json(&with_nulls.value), json!({"a": 1, "b": null}));
    let mut schemas = EventRouter::new(
        EventRouterOptions { schema_version: Some("version".into()), ..options },
        Converter::Json { schemas_enable: false },
        Converter::Json { schemas_enable: true },
    )
    .unwrap();
    let r = one(&mut schemas);
    let value = as_json(&r.value);
    assert_eq!(value["payload"], json!({"a": 1}));
    assert_eq!(value["schema"]["type"], "struct");
    assert_eq!(value["schema"]["fields"][0], json!({"type": "int64", "optional": true, "field": "a"}));
    assert_eq!(value["schema"]["version"], 7, "table.field.event.schema.version");
}

#[test]
fn an_empty_payload_becomes_a_tombstone_when_asked() {
    let schema = standard();
    let mut row = standard_row();
    row[4] = Datum::Null;
    let mut router = json_value(EventRouterOptions { tombstone_on_empty_payload: true, ..Default::default() });
    let records = route(&mut router, &event(Op::Create, &schema, Some(row))).unwrap();
    assert_eq!(records[0].value, None);
    assert_eq!(as_json(&records[0].key), json!("order-1"), "a tombstone keeps its key, so compaction removes it");
}

#[test]
fn deletes_emit_nothing_and_updates_follow_the_invalid_op_behavior() {
    let schema = standard();
    let mut router = json_value(EventRouterOptions::default());
    assert!(route(&mut router, &event(Op::Delete, &schema, None)).unwrap().is_empty());
    assert!(route(&mut router, &event(Op::Update, &schema, Some(standard_row()))).unwrap().is_empty());
    let mut error = json_value(EventRouterOptions { invalid_op: InvalidOpBehavior::Error, ..Default::default() });
    assert!(route(&mut error, &event(Op::Update, &schema, Some(standard_row()))).unwrap().is_empty());
    let mut fatal = json_value(EventRouterOptions { invalid_op: InvalidOpBehavior::Fatal, ..Default::default() });
    let e = route(&mut fatal, &event(Op::Update, &schema, Some(standard_row()))).unwrap_err();
    assert!(e.to_string().contains("fatal"), "{e}");
}

#[test]
fn snapshot_reads_of_the_outbox_are_routed_like_inserts() {
    let mut router = json_value(EventRouterOptions::default());
    assert_eq!(route(&mut router, &event(Op::Read, &standard(), Some(standard_row()))).unwrap().len(), 1);
}

#[test]
fn the_tracing_context_column_becomes_headers() {
    let r = one(&mut json_value(EventRouterOptions::default()));
    assert_eq!(header(&r, "traceparent"), Some("00-abc-def-01"));
    assert_eq!(header(&r, "tracestate"), Some("x=1"));
}

#[test]
fn bytea_payloads_pass_byte_for_byte_through_the_binary_converter_and_keys_as_strings() {
    let schema = table(&[("id", UUID), ("aggregatetype", TEXT), ("aggregateid", TEXT), ("payload", BYTEA)]);
    let mut router =
        EventRouter::new(EventRouterOptions::default(), Converter::SimpleString, Converter::Binary).unwrap();
    let row = row(&[Some("6f1c0c9e-0000-0000-0000-000000000001"), Some("Invoice"), Some("inv-1"), Some("\\x00ff10")]);
    let records = route(&mut router, &event(Op::Create, &schema, Some(row))).unwrap();
    assert_eq!(records[0].value, Some(Payload::Binary(vec![0, 0xff, 0x10])));
    assert_eq!(records[0].key, Some(Payload::String("inv-1".into())));
}

#[test]
fn a_missing_key_column_names_the_column_and_the_option() {
    let mut router = json_value(EventRouterOptions { event_key: "aggregate_id".into(), ..Default::default() });
    let e = route(&mut router, &event(Op::Create, &standard(), Some(standard_row()))).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("`aggregate_id`") && text.contains("table.field.event.key"), "{text}");
}

fn message_event(content: &str) -> ChangeEvent {
    ChangeEvent {
        op: Op::Message,
        table: None,
        before: None,
        after: None,
        message: Some(LogicalMessage {
            transactional: true,
            prefix: "outbox".into(),
            content: bytes::Bytes::copy_from_slice(content.as_bytes()),
        }),
        source: SourceInfo {
            position: Position::new(Lsn(100), 0),
            lsn: Lsn(90),
            tx_id: Some(7),
            ts_us: 0,
            snapshot: SnapshotMarker::False,
        },
    }
}

fn topic_matches(pattern: &str, negate: bool) -> Option<Condition> {
    let predicate = Predicate::new(&PredicateKind::TopicNameMatches { pattern: pattern.into() }).unwrap();
    Some(Condition { predicate, negate })
}

fn plain() -> crate::Encoder {
    crate::Encoder::new(crate::tests::opts())
}

fn chain(predicate: Option<Condition>) -> Transforms {
    Transforms::new(
        vec![
            Transform { name: "decode".into(), kind: TransformKind::DecodeMessageContent, predicate: None },
            Transform {
                name: "outbox".into(),
                kind: TransformKind::EventRouter(Box::new(json_value(EventRouterOptions::default()))),
                predicate,
            },
        ],
        "app",
    )
}

#[test]
fn decoded_message_content_is_routed_like_an_outbox_row() {
    let mut out = Vec::new();
    let content = r#"{"id":"e-1","aggregatetype":"Order","aggregateid":"order-1","type":"OrderPlaced","payload":"{}"}"#;
    assert!(chain(None).apply(&message_event(content), &mut plain(), &mut out).unwrap());
    assert_eq!(&*out[0].topic, "outbox.event.Order");
    assert_eq!(header(&out[0], "id"), Some("e-1"));
    let mut out = Vec::new();
    assert!(!chain(None).apply(&message_event("not json"), &mut plain(), &mut out).unwrap());
    assert_eq!(&*out[0].topic, "app.message", "left to the encoder as an m event");
}

#[test]
fn a_predicate_limits_the_router_to_matching_topics() {
    let only_outbox = || topic_matches(r".*\.outboxevent", false);
    let mut out = Vec::new();
    let outbox_row = event(Op::Create, &standard(), Some(standard_row()));
    assert!(chain(only_outbox()).apply(&outbox_row, &mut plain(), &mut out).unwrap());
    let orders = Arc::new(TableSchema { id: TableId::new("public", "orders"), ..(*standard()).clone() });
    let orders_row = event(Op::Create, &orders, Some(standard_row()));
    assert!(!chain(only_outbox()).apply(&orders_row, &mut plain(), &mut out).unwrap());
    assert!(!chain(topic_matches(r".*\.outboxevent", true)).apply(&outbox_row, &mut plain(), &mut out).unwrap());
}

#[test]
fn record_transforms_before_the_router_leave_its_records_alone_and_those_after_it_act_on_them() {
    use crate::transform::records::{RecordTransform, RecordTransformConfig};
    // Kafka Connect: a router listed before EventRouter renames the table's record, whose topic EventRouter then
    // replaces; one listed after it renames EventRouter's record.
    let router = |name: &str| Transform {
        name: name.into(),
        kind: TransformKind::Record(
            RecordTransform::new(&RecordTransformConfig::RegexRouter {
                regex: "(.*)".into(),
                replacement: "x.$1".into(),
            })
            .unwrap(),
        ),
        predicate: None,
    };
    let outbox = || Transform {
        name: "outbox".into(),
        kind: TransformKind::EventRouter(Box::new(json_value(EventRouterOptions::default()))),
        predicate: None,
    };
    let row = event(Op::Create, &standard(), Some(standard_row()));
    let mut out = Vec::new();
    Transforms::new(vec![router("before"), outbox()], "app").apply(&row, &mut plain(), &mut out).unwrap();
    assert_eq!(&*out[0].topic, "outbox.event.Order");
    let mut out = Vec::new();
    Transforms::new(vec![outbox(), router("after")], "app").apply(&row, &mut plain(), &mut out).unwrap();
    assert_eq!(&*out[0].topic, "x.outbox.event.Order");
}

fn row_of_type(aggregate_type: &str) -> Vec<Datum> {
    let mut r = standard_row();
    r[1] = Datum::text(aggregate_type);
    r
}

#[test]
fn routed_topics_are_sanitized_once_per_route_and_routes_meeting_after_sanitizing_share_the_topic() {
    let mut router = json_value(EventRouterOptions::default());
    let topic = |router: &mut EventRouter, aggregate_type: &str| {
        let records = route(router, &event(Op::Create, &standard(), Some(row_of_type(aggregate_type)))).unwrap();
        records[0].topic.to_string()
    };
    assert_eq!(topic(&mut router, "Ord/er ✓"), "outbox.event.Ord_er__");
    assert_eq!(topic(&mut router, "Ord/er ✓"), "outbox.event.Ord_er__", "cached");
    assert_eq!(topic(&mut router, "Ord_er__"), "outbox.event.Ord_er__", "a warning, not an error");
    assert_eq!(topic(&mut router, "Order"), "outbox.event.Order");
    // The route cache is bounded: ever new aggregate types do not grow it without end.
    for i in 0..ROUTE_CACHE + 10 {
        topic(&mut router, &format!("type {i}"));
    }
    assert!(router.routes.len() <= ROUTE_CACHE);
    assert_eq!(topic(&mut router, "Ord/er ✓"), "outbox.event.Ord_er__");
}
