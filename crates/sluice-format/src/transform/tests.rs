//! The chain: event transforms and record transforms together, each under its predicate, compared with what Kafka
//! Connect's chain gives for the same records.

use serde_json::{json, Value};
use sluice_core::{ChangeEvent, Datum, Lsn, Op, Payload, Position, Record, SnapshotMarker, SourceInfo};

use super::records::{Condition, Predicate, PredicateKind, RecordTransform, RecordTransformConfig};
use super::script::{NullHandling, ScriptKind};
use super::{Transform, TransformKind, Transforms};
use crate::tests::customers;
use crate::unwrap::UnwrapOptions;
use crate::{Converter, Encoder, EncoderOptions};

fn options() -> EncoderOptions {
    let json = Converter::Json { schemas_enable: false };
    EncoderOptions { key: json.clone(), value: json, ..crate::tests::opts() }
}

fn row(id: &str) -> Option<Vec<Datum>> {
    Some(vec![Datum::text(id), Datum::text("a@example.com")])
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
            lsn: Lsn(1000),
            tx_id: Some(555),
            ts_us: 1_559_033_904_863_123,
            snapshot: SnapshotMarker::False,
        },
    }
}

fn step(name: &str, kind: TransformKind, predicate: Option<(PredicateKind, bool)>) -> Transform {
    let predicate = predicate.map(|(kind, negate)| Condition { predicate: Predicate::new(&kind).unwrap(), negate });
    Transform { name: name.into(), kind, predicate }
}

fn record_step(name: &str, config: RecordTransformConfig, predicate: Option<(PredicateKind, bool)>) -> Transform {
    step(name, TransformKind::Record(RecordTransform::new(&config).unwrap()), predicate)
}

fn unwrap_step(predicate: Option<(PredicateKind, bool)>) -> Transform {
    let unwrap = Encoder::new(options()).with_unwrap(&UnwrapOptions::default());
    step("unwrap", TransformKind::Unwrap(Box::new(unwrap)), predicate)
}

fn route(regex: &str, replacement: &str) -> RecordTransformConfig {
    RecordTransformConfig::RegexRouter { regex: regex.into(), replacement: replacement.into() }
}

fn tombstones() -> Option<(PredicateKind, bool)> {
    Some((PredicateKind::RecordIsTombstone, false))
}

fn run(steps: Vec<Transform>, events: &[ChangeEvent]) -> Vec<Record> {
    let mut chain = Transforms::new(steps, "app");
    let mut encoder = Encoder::new(options());
    let mut out = Vec::new();
    for e in events {
        chain.apply(e, &mut encoder, &mut out).unwrap();
    }
    out
}

/// Each record as (topic, value), a tombstone's value `"tombstone"`.
fn summary(records: &[Record]) -> Vec<(String, Value)> {
    let value = |p: &Option<Payload>| match p {
        Some(p) => serde_json::from_slice(&p.bytes()).unwrap(),
        None => json!("tombstone"),
    };
    records.iter().map(|r| (r.topic.to_string(), value(&r.value))).collect()
}

#[test]
fn without_unwrap_a_tombstone_filter_drops_only_the_tombstone_after_a_delete() {
    // Kafka Connect: the delete envelope and its tombstone are two records; RecordIsTombstone is true for the
    // second only.
    let records = run(
        vec![record_step("dropTombstones", RecordTransformConfig::Filter, tombstones())],
        &[event(Op::Delete, row("1"), None)],
    );
    assert_eq!(records.len(), 1);
    assert_eq!(serde_json::from_slice::<Value>(&records[0].value.as_ref().unwrap().bytes()).unwrap()["op"], "d");
}

#[test]
fn a_router_after_unwrap_renames_its_records_and_a_tombstone_filter_drops_deletes() {
    let records = run(
        vec![
            unwrap_step(None),
            record_step("route", route("app\\.inventory\\.(.*)", "cdc.$1"), None),
            record_step("dropTombstones", RecordTransformConfig::Filter, tombstones()),
        ],
        &[event(Op::Create, None, row("1")), event(Op::Delete, row("1"), None)],
    );
    assert_eq!(summary(&records), [("cdc.customers".to_string(), json!({"id": 1, "email": "a@example.com"}))]);
}

#[test]
fn an_event_transform_s_predicate_sees_the_topic_a_router_before_it_made() {
    let renamed = Some((PredicateKind::TopicNameMatches { pattern: "renamed\\..*".into() }, false));
    let records = run(
        vec![record_step("route", route("app\\.inventory\\.(.*)", "renamed.$1"), None), unwrap_step(renamed)],
        &[event(Op::Create, None, row("1"))],
    );
    assert_eq!(summary(&records), [("renamed.customers".to_string(), json!({"id": 1, "email": "a@example.com"}))]);
}

#[test]
fn a_negated_predicate_applies_a_router_to_every_other_topic() {
    let customers = Some((PredicateKind::TopicNameMatches { pattern: ".*customers".into() }, true));
    let steps = || vec![record_step("route", route("(.*)", "$1.v2"), customers.clone())];
    assert_eq!(&*run(steps(), &[event(Op::Create, None, row("1"))])[0].topic, "app.inventory.customers");
}

#[test]
fn has_header_key_picks_out_the_delete_of_a_key_change_and_headers_are_added_in_order() {
    // A primary-key change is a delete (header __debezium.newkey), its tombstone and a create
    // (header __debezium.oldkey), as in Debezium.
    let newkey = Some((PredicateKind::HasHeaderKey { name: "__debezium.newkey".into() }, false));
    let records = run(
        vec![
            record_step("dropOldKeyDelete", RecordTransformConfig::Filter, newkey),
            record_step(
                "tag",
                RecordTransformConfig::InsertHeader { header: "origin".into(), value_literal: "sluice".into() },
                None,
            ),
            record_step(
                "untag",
                RecordTransformConfig::DropHeaders { headers: vec!["__debezium.oldkey".into()] },
                None,
            ),
        ],
        &[event(Op::Update, row("1"), row("2"))],
    );
    assert_eq!(records.len(), 2, "the tombstone and the create: {records:#?}");
    assert!(records[0].value.is_none());
    let names = |r: &Record| r.headers.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&records[0]), ["origin"]);
    assert_eq!(names(&records[1]), ["origin"]);
    assert_eq!(records[1].headers[0].1, b"sluice");
}

#[test]
fn a_timestamp_router_names_topics_by_the_record_s_own_time() {
    let config = RecordTransformConfig::TimestampRouter {
        topic_format: "${topic}-${timestamp}".into(),
        timestamp_format: "yyyyMMdd".into(),
    };
    let records = run(vec![record_step("daily", config, None)], &[event(Op::Create, None, row("1"))]);
    let day = super::java::DateFormat::parse("yyyyMMdd").unwrap().format(records[0].timestamp_ms);
    assert_eq!(&*records[0].topic, format!("app.inventory.customers-{day}"));
}

#[test]
fn a_filter_without_a_predicate_drops_every_record_and_positions_are_left_to_the_pipeline() {
    let records = run(
        vec![record_step("all", RecordTransformConfig::Filter, None)],
        &[event(Op::Create, None, row("1")), event(Op::Delete, row("1"), None)],
    );
    assert!(records.is_empty());
}

#[test]
fn field_transforms_work_on_the_envelope_without_unwrap_schema_included() {
    // Kafka's ReplaceField$Value on a Debezium envelope acts on its top-level fields (before, after, source, …).
    let mut chain = Transforms::new(
        vec![record_step(
            "slim",
            RecordTransformConfig::ReplaceField {
                side: super::fields::Side::Value,
                selection: super::fields::FieldSelection {
                    include: vec![],
                    exclude: vec!["source".into(), "transaction".into(), "ts_us".into(), "ts_ns".into()],
                    renames: vec![("op".into(), "operation".into())],
                },
            },
            None,
        )],
        "app",
    );
    let json = Converter::Json { schemas_enable: true };
    let mut encoder = Encoder::new(EncoderOptions { key: json.clone(), value: json, ..crate::tests::opts() });
    let mut out = Vec::new();
    chain.apply(&event(Op::Create, None, row("1")), &mut encoder, &mut out).unwrap();
    let value: Value = serde_json::from_slice(&out[0].value.as_ref().unwrap().bytes()).unwrap();
    let payload = &value["payload"];
    assert_eq!(payload["after"], json!({"id": 1, "email": "a@example.com"}));
    assert_eq!(payload["operation"], "c");
    assert!(payload.get("source").is_none() && payload.get("op").is_none(), "{payload}");
    let names: Vec<&str> =
        value["schema"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(names, ["before", "after", "operation", "ts_ms"]);
    assert_eq!(value["schema"]["name"], "app.inventory.customers.Envelope");
    assert_eq!(value["schema"]["optional"], false);
}

#[test]
fn partition_routing_under_a_predicate_sets_the_partition_of_the_envelopes_it_applies_to() {
    // PartitionRouting is documented for use under TopicNameMatches (its partition.topic.num is one topic's).
    let config = RecordTransformConfig::PartitionRouting {
        fields: vec!["change.id".into()],
        partitions: 4,
        hash: super::envelope::HashFunction::Java,
    };
    let customers = Some((PredicateKind::TopicNameMatches { pattern: ".*customers".into() }, false));
    let records = run(
        vec![record_step("partition", config.clone(), customers)],
        &[event(Op::Create, None, row("7")), event(Op::Delete, row("6"), None)],
    );
    // Integer.hashCode(7) % 4 and, for the delete, `before.id` 6; its tombstone has no value and keeps none.
    let partitions: Vec<Option<i32>> = records.iter().map(|r| r.partition).collect();
    assert_eq!(partitions, [Some(3), Some(2), None]);
    let elsewhere = Some((PredicateKind::TopicNameMatches { pattern: ".*orders".into() }, false));
    let records = run(vec![record_step("partition", config, elsewhere)], &[event(Op::Create, None, row("7"))]);
    assert_eq!(records[0].partition, None);
}

#[test]
fn cast_after_extract_field_turns_the_key_into_a_string() {
    // A usual pair: the key's one field extracted, then cast whole (Kafka's Cast$Key with spec=string).
    let records = run(
        vec![
            record_step(
                "extract",
                RecordTransformConfig::ExtractField { side: super::fields::Side::Key, field: "id".into() },
                None,
            ),
            record_step(
                "cast",
                RecordTransformConfig::Cast { side: super::fields::Side::Key, spec: vec!["string".into()] },
                None,
            ),
        ],
        &[event(Op::Create, None, row("7"))],
    );
    assert_eq!(records[0].key.as_ref().unwrap().bytes().as_ref(), br#""7""#);
}

fn scripted(kind: ScriptKind, expression: &str, nulls: NullHandling) -> RecordTransformConfig {
    RecordTransformConfig::Scripted { kind, expression: expression.into(), topic_regex: None, nulls }
}

fn update_of(id: &str) -> ChangeEvent {
    event(Op::Update, row(id), row(id))
}

#[test]
fn a_scripted_filter_before_unwrap_reads_the_envelope_as_in_kafka_connect() {
    // Kafka Connect runs `filter` on the envelope, then unwrap on what it kept: `value.op` is the envelope's.
    let steps = vec![
        record_step("filter", scripted(ScriptKind::Filter, "value.op != 'd'", NullHandling::Keep), None),
        unwrap_step(None),
    ];
    let records = run(steps, &[event(Op::Create, None, row("1")), event(Op::Delete, row("1"), None), update_of("2")]);
    assert_eq!(
        summary(&records),
        [
            ("app.inventory.customers".to_string(), json!({"id": 1, "email": "a@example.com"})),
            ("app.inventory.customers".to_string(), json!({"id": 2, "email": "a@example.com"})),
        ],
        "the delete is gone, its tombstone with it"
    );
}

#[test]
fn a_content_based_router_before_unwrap_routes_by_the_envelope_and_unwrap_s_records_keep_its_topic() {
    let steps = vec![
        record_step(
            "route",
            scripted(ScriptKind::Router, "value.op == 'u' ? 'updates' : null", NullHandling::Keep),
            None,
        ),
        unwrap_step(None),
        record_step("suffix", route("(.*)", "$1.v1"), None),
    ];
    let records = run(steps, &[update_of("1"), event(Op::Create, None, row("2"))]);
    assert_eq!(
        summary(&records),
        [
            ("updates.v1".to_string(), json!({"id": 1, "email": "a@example.com"})),
            ("app.inventory.customers.v1".to_string(), json!({"id": 2, "email": "a@example.com"})),
        ]
    );
}

#[test]
fn an_event_transform_s_predicate_sees_the_topic_a_content_based_router_before_it_chose() {
    let updates = Some((PredicateKind::TopicNameMatches { pattern: "updates".into() }, false));
    let steps = vec![
        record_step(
            "route",
            scripted(ScriptKind::Router, "value.op == 'u' ? 'updates' : null", NullHandling::Keep),
            None,
        ),
        unwrap_step(updates),
    ];
    let records = run(steps, &[update_of("1"), event(Op::Create, None, row("2"))]);
    assert_eq!(records[0].topic.as_ref(), "updates");
    assert_eq!(summary(&records[..1])[0].1, json!({"id": 1, "email": "a@example.com"}), "unwrapped");
    assert_eq!(summary(&records[1..])[0].1["op"], "c", "not routed, so unwrap's predicate did not hold");
}

#[test]
fn scripted_transforms_after_unwrap_read_the_row_under_their_predicates() {
    let customers = Some((PredicateKind::TopicNameMatches { pattern: ".*customers".into() }, false));
    let steps = vec![
        unwrap_step(None),
        record_step("keepOne", scripted(ScriptKind::Filter, "value.id == 1", NullHandling::Keep), customers.clone()),
        record_step(
            "route",
            scripted(ScriptKind::Router, "'customer-' + key.id", NullHandling::Evaluate),
            Some((PredicateKind::RecordIsTombstone, true)),
        ),
    ];
    let records = run(
        steps,
        &[event(Op::Create, None, row("1")), event(Op::Create, None, row("2")), event(Op::Delete, row("1"), None)],
    );
    assert_eq!(
        summary(&records),
        [
            ("customer-1".to_string(), json!({"id": 1, "email": "a@example.com"})),
            ("app.inventory.customers".to_string(), json!("tombstone")),
            ("app.inventory.customers".to_string(), json!("tombstone")),
        ],
        "row 2 filtered; unwrap's two tombstones of the delete kept by null.handling.mode=keep and left alone by the \
         negated predicate"
    );
}

#[test]
fn a_scripted_transform_s_error_names_it_and_leaves_no_records() {
    let mut chain = Transforms::new(
        vec![record_step("strict", scripted(ScriptKind::Filter, "value.before.id == 1", NullHandling::Keep), None)],
        "app",
    );
    let mut out = Vec::new();
    let error = chain.apply(&event(Op::Create, None, row("1")), &mut Encoder::new(options()), &mut out).unwrap_err();
    assert!(error.to_string().starts_with("transform `strict`: `condition`: Cannot get property 'id' on null object"));
    assert!(out.is_empty());
}
