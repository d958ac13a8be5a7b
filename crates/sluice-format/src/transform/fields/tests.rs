//! `ReplaceField` and `InsertField` on encoded JSON, case by case against Kafka's ReplaceFieldTest and
//! InsertFieldTest (connect/transforms in apache/kafka).

use serde_json::{json, Value};
use sluice_core::Position;

use super::*;

/// A record of `key` and `value` on topic `test` (shared with the other transforms' tests).
pub(in crate::transform) fn record(key: Option<Payload>, value: Option<Payload>) -> Record {
    Record {
        topic: Arc::from("test"),
        partition: None,
        key,
        value,
        headers: Vec::new(),
        timestamp_ms: 1_483_425_001_864,
        position: Position::default(),
    }
}

pub(in crate::transform) fn json_payload(v: Value) -> Option<Payload> {
    Some(Payload::Json(serde_json::to_vec(&v).unwrap()))
}

pub(in crate::transform) fn with_schema(schema: Value, v: Value) -> Option<Payload> {
    let schema: Arc<[u8]> = Arc::from(serde_json::to_vec(&schema).unwrap());
    Some(Payload::JsonWithSchema { schema, payload: serde_json::to_vec(&v).unwrap() })
}

fn parsed(p: &Option<Payload>) -> Value {
    match p {
        Some(Payload::JsonWithSchema { schema, payload }) => json!({
            "schema": serde_json::from_slice::<Value>(schema).unwrap(),
            "payload": serde_json::from_slice::<Value>(payload).unwrap(),
        }),
        Some(p) => serde_json::from_slice(&p.bytes()).unwrap(),
        None => Value::Null,
    }
}

fn replace(side: Side, include: &[&str], exclude: &[&str], renames: &[(&str, &str)]) -> ReplaceField {
    let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    ReplaceField {
        side,
        selection: FieldSelection {
            include: strings(include),
            exclude: strings(exclude),
            renames: renames.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
        },
        schemas: SchemaCache::default(),
    }
}

const FOUR_FIELDS: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"dont"},{"type":"int32","optional":false,"field":"abc"},{"type":"boolean","optional":false,"field":"foo"},{"type":"string","optional":false,"field":"etc"}],"optional":true,"name":"x.Value"}"#;

#[test]
fn members_are_found_with_their_exact_bytes() {
    let text = br#" { "a" : 1.0E10 , "b\"c":{"d":[1,"}"]},"e":null,"f":"x\\"} "#;
    let found = members(text).unwrap();
    let pairs: Vec<(String, &str)> = found
        .iter()
        .map(|m| (name(text, m).into_owned(), std::str::from_utf8(&text[m.value.clone()]).unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("a".to_string(), "1.0E10"),
            ("b\"c".to_string(), r#"{"d":[1,"}"]}"#),
            ("e".to_string(), "null"),
            ("f".to_string(), r#""x\\""#)
        ]
    );
    assert!(members(b"{}").unwrap().is_empty());
    let broken: [&[u8]; 6] = [b"[1]", b"{\"a\":1", b"{\"a\" 1}", b"\"s\"", b"{\"a\":1}x", b"{\"a\":}"];
    for broken in broken {
        assert!(members(broken).is_none(), "{}", String::from_utf8_lossy(broken));
    }
}

#[test]
fn replace_field_schemaless_excludes_and_renames() {
    // Kafka's ReplaceFieldTest.schemaless.
    let mut r = record(None, json_payload(json!({"dont": "whatever", "abc": 42, "foo": true, "etc": "etc"})));
    replace(Side::Value, &[], &["dont"], &[("abc", "xyz"), ("foo", "bar")]).apply(&mut r).unwrap();
    assert_eq!(parsed(&r.value), json!({"xyz": 42, "bar": true, "etc": "etc"}));
}

#[test]
fn replace_field_with_schema_includes_renames_and_rebuilds_the_schema() {
    // Kafka's ReplaceFieldTest.withSchema: include abc,foo; renames abc:xyz,foo:bar.
    let schema: Value = serde_json::from_str(FOUR_FIELDS).unwrap();
    let mut r = record(None, with_schema(schema, json!({"dont": "whatever", "abc": 42, "foo": true, "etc": "etc"})));
    let mut t = replace(Side::Value, &["abc", "foo"], &[], &[("abc", "xyz"), ("foo", "bar")]);
    t.apply(&mut r).unwrap();
    assert_eq!(
        parsed(&r.value),
        json!({
            "schema": {"type": "struct", "fields": [
                {"type": "int32", "optional": false, "field": "xyz"},
                {"type": "boolean", "optional": false, "field": "bar"}
            ], "optional": false, "name": "x.Value"},
            "payload": {"xyz": 42, "bar": true}
        })
    );
}

#[test]
fn records_of_one_schema_share_the_rewritten_schema() {
    let schema: Arc<[u8]> = Arc::from(FOUR_FIELDS.as_bytes());
    let row = |abc: i32| {
        let payload = serde_json::to_vec(&json!({"dont": "x", "abc": abc, "foo": true, "etc": "e"})).unwrap();
        record(None, Some(Payload::JsonWithSchema { schema: schema.clone(), payload }))
    };
    let mut t = replace(Side::Value, &[], &["dont"], &[]);
    let (mut first, mut second) = (row(1), row(2));
    t.apply(&mut first).unwrap();
    t.apply(&mut second).unwrap();
    let schema_of = |r: &Record| match &r.value {
        Some(Payload::JsonWithSchema { schema, .. }) => schema.clone(),
        other => panic!("{other:?}"),
    };
    assert!(Arc::ptr_eq(&schema_of(&first), &schema_of(&second)));
}

#[test]
fn replace_field_exclusion_wins_over_inclusion_and_tombstones_pass() {
    let mut r = record(None, json_payload(json!({"a": 1, "b": 2})));
    replace(Side::Value, &["a", "b"], &["a"], &[]).apply(&mut r).unwrap();
    assert_eq!(parsed(&r.value), json!({"b": 2}));
    // Kafka's tombstoneSchemaless / tombstoneWithSchema: a null value is left as it is.
    let mut tombstone = record(None, None);
    replace(Side::Value, &["abc"], &[], &[]).apply(&mut tombstone).unwrap();
    assert!(tombstone.value.is_none());
}

#[test]
fn replace_field_key_changes_the_key_only() {
    let mut r = record(json_payload(json!({"id": 1, "tenant": "t"})), json_payload(json!({"id": 1})));
    replace(Side::Key, &[], &["tenant"], &[("id", "customer_id")]).apply(&mut r).unwrap();
    assert_eq!(parsed(&r.key), json!({"customer_id": 1}));
    assert_eq!(parsed(&r.value), json!({"id": 1}));
}

#[test]
fn replace_field_copies_values_byte_for_byte() {
    let mut r = record(None, Some(Payload::Json(br#"{"d":1.0E10,"s":"\u00e9"}"#.to_vec())));
    replace(Side::Value, &[], &[], &[("d", "double")]).apply(&mut r).unwrap();
    assert_eq!(r.value.unwrap().bytes().as_ref(), br#"{"double":1.0E10,"s":"\u00e9"}"#);
}

#[test]
fn a_field_transform_on_a_string_payload_is_an_error() {
    let mut r = record(None, Some(Payload::String("Struct{a=1}".into())));
    let e = replace(Side::Value, &[], &["a"], &[]).apply(&mut r).unwrap_err();
    assert!(e.contains("not a struct"), "{e}");
}

fn insert(
    topic: Option<&str>,
    partition: Option<&str>,
    timestamp: Option<&str>,
    fixed: Option<(&str, &str)>,
) -> InsertField {
    InsertField {
        side: Side::Value,
        topic: topic.map(Insertion::parse),
        partition: partition.map(Insertion::parse),
        timestamp: timestamp.map(Insertion::parse),
        static_field: fixed.map(|(f, v)| (Insertion::parse(f), v.to_string())),
        schemas: SchemaCache::default(),
    }
}

#[test]
fn insertion_specs_read_the_optionality_suffix() {
    assert_eq!(Insertion::parse("topic_field!"), Insertion { name: "topic_field".into(), optional: false });
    assert_eq!(Insertion::parse("f?"), Insertion { name: "f".into(), optional: true });
    assert_eq!(Insertion::parse("f"), Insertion { name: "f".into(), optional: true });
}

#[test]
fn insert_field_schemaless_adds_what_the_record_has() {
    // Kafka's InsertFieldTest.schemalessInsertConfiguredFields: topic, partition, timestamp, static; a source
    // record without a partition gets no partition field.
    let mut r = record(None, json_payload(json!({"magic": 42})));
    insert(
        Some("topic_field!"),
        Some("partition_field"),
        Some("timestamp_field?"),
        Some(("instance_id", "my-instance-id")),
    )
    .apply(&mut r)
    .unwrap();
    assert_eq!(
        parsed(&r.value),
        json!({"magic": 42, "topic_field": "test", "timestamp_field": 1_483_425_001_864_i64, "instance_id": "my-instance-id"})
    );
    let mut again = record(None, json_payload(json!({"magic": 42})));
    again.partition = Some(3);
    insert(None, Some("p"), None, None).apply(&mut again).unwrap();
    assert_eq!(parsed(&again.value), json!({"magic": 42, "p": 3}));
}

#[test]
fn insert_field_with_schema_appends_the_fields_kafka_s_schemas() {
    // Kafka's InsertFieldTest.schemaNameAndVersionCopiedWithOptionalAndRequiredFields (shapes of the added fields).
    let schema = json!({"type": "struct", "fields": [{"type": "int64", "optional": false, "field": "magic"}],
        "optional": true, "name": "name", "version": 1});
    let mut r = record(None, with_schema(schema, json!({"magic": 42})));
    insert(
        Some("topic_field!"),
        Some("partition_field"),
        Some("timestamp_field?"),
        Some(("instance_id", "my-instance-id")),
    )
    .apply(&mut r)
    .unwrap();
    assert_eq!(
        parsed(&r.value),
        json!({
            "schema": {"type": "struct", "fields": [
                {"type": "int64", "optional": false, "field": "magic"},
                {"type": "string", "optional": false, "field": "topic_field"},
                {"type": "int32", "optional": true, "field": "partition_field"},
                {"type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,
                 "field": "timestamp_field"},
                {"type": "string", "optional": true, "field": "instance_id"}
            ], "optional": false, "name": "name", "version": 1},
            "payload": {"magic": 42, "topic_field": "test", "partition_field": null,
                "timestamp_field": 1_483_425_001_864_i64, "instance_id": "my-instance-id"}
        })
    );
}

#[test]
fn insert_field_replaces_a_field_of_the_same_name_and_passes_tombstones() {
    let mut r = record(None, json_payload(json!({"source": "old", "a": 1})));
    insert(None, None, None, Some(("source", "sluice"))).apply(&mut r).unwrap();
    assert_eq!(parsed(&r.value), json!({"source": "sluice", "a": 1}));
    // Kafka's InsertFieldTest.tombstoneSchemaless: a null value stays null.
    let mut tombstone = record(None, None);
    insert(Some("t"), None, None, None).apply(&mut tombstone).unwrap();
    assert!(tombstone.value.is_none());
}

fn mask(fields: &[&str], replacement: Option<&str>) -> MaskField {
    MaskField {
        side: Side::Value,
        fields: fields.iter().map(|f| f.to_string()).collect(),
        replacement: replacement.map(String::from),
        types: FieldTypes::default(),
    }
}

#[test]
fn mask_field_schemaless_empties_each_value_by_its_json_type() {
    // Kafka's MaskFieldTest.schemaless: JsonConverter reads whole numbers as Long, fractions as Double.
    let value = json!({"magic": 42, "bool": true, "long": 42, "double": 42.5, "string": "55.121.20.20",
        "list": [42], "map": {"key": "value"}, "nothing": null});
    let mut r = record(None, json_payload(value));
    mask(&["bool", "long", "double", "string", "list", "map", "nothing", "absent"], None).apply(&mut r).unwrap();
    assert_eq!(
        r.value.unwrap().bytes().as_ref(),
        br#"{"magic":42,"bool":false,"long":0,"double":0.0,"string":"","list":[],"map":{},"nothing":null,"absent":null}"#
    );
}

#[test]
fn mask_field_replacements_are_converted_to_the_field_s_type() {
    // Kafka's MaskFieldTest.testSchemalessWithReplacement / testWithSchemaAndReplacement.
    let mut r = record(None, json_payload(json!({"int": 42, "double": 42.5, "string": "hmm"})));
    mask(&["int", "double", "string"], Some("123")).apply(&mut r).unwrap();
    assert_eq!(r.value.unwrap().bytes().as_ref(), br#"{"int":123,"double":123.0,"string":"123"}"#);
    let mut bad = record(None, json_payload(json!({"int": 42})));
    assert!(mask(&["int"], Some("abc")).apply(&mut bad).unwrap_err().contains("unable to convert"));
    let mut boolean = record(None, json_payload(json!({"b": true})));
    assert!(mask(&["b"], Some("x")).apply(&mut boolean).is_err(), "Kafka: Cannot mask value of type Boolean");
}

#[test]
fn mask_field_with_a_schema_masks_by_the_schema_s_type_and_keeps_the_schema() {
    let schema = json!({"type": "struct", "fields": [
        {"type": "int32", "optional": false, "field": "id"},
        {"type": "int32", "optional": true, "name": "io.debezium.time.Date", "version": 1, "field": "born"},
        {"type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,
         "field": "seen"},
        {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
         "parameters": {"scale": "0"}, "field": "total"},
        {"type": "bytes", "optional": true, "field": "blob"}
    ], "optional": true, "name": "x.Value"});
    let value = json!({"id": 7, "born": 19000, "seen": 1_700_000_000_000_i64, "total": "Ag==", "blob": "AQI="});
    let mut r = record(None, with_schema(schema.clone(), value.clone()));
    mask(&["born", "seen", "total"], None).apply(&mut r).unwrap();
    assert_eq!(
        parsed(&r.value),
        json!({"schema": schema, "payload": {"id": 7, "born": 0, "seen": 0, "total": "AA==", "blob": "AQI="}})
    );
    let mut blob = record(None, with_schema(schema, value));
    assert!(mask(&["blob"], None).apply(&mut blob).is_err(), "Kafka: Cannot mask value of type [B");
}

fn extract(side: Side, field: &str) -> ExtractField {
    ExtractField { side, field: field.into(), schemas: SchemaCache::default() }
}

#[test]
fn extract_field_replaces_the_struct_by_one_field() {
    // Kafka's ExtractFieldTest: schemaless, withSchema, testNullSchemaless, nonExistentFieldSchemaless,
    // nonExistentFieldWithSchema.
    let mut r = record(json_payload(json!({"magic": 42})), None);
    extract(Side::Key, "magic").apply(&mut r).unwrap();
    assert_eq!(r.key.as_ref().unwrap().bytes().as_ref(), b"42");
    let schema = json!({"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "magic"}],
        "optional": false, "name": "k"});
    let mut r = record(with_schema(schema.clone(), json!({"magic": 42})), None);
    extract(Side::Key, "magic").apply(&mut r).unwrap();
    assert_eq!(parsed(&r.key), json!({"schema": {"type": "int32", "optional": false}, "payload": 42}));
    let mut tombstone = record(None, None);
    extract(Side::Value, "magic").apply(&mut tombstone).unwrap();
    assert!(tombstone.value.is_none());
    let mut r = record(json_payload(json!({"magic": 42})), None);
    extract(Side::Key, "nonexistent").apply(&mut r).unwrap();
    assert_eq!(r.key.unwrap().bytes().as_ref(), b"null");
    let mut r = record(with_schema(schema, json!({"magic": 42})), None);
    assert_eq!(extract(Side::Key, "nonexistent").apply(&mut r).unwrap_err(), "Unknown field: nonexistent");
}

fn value_to_key(fields: &[&str]) -> ValueToKey {
    ValueToKey { fields: fields.iter().map(|f| f.to_string()).collect(), schemas: SchemaCache::default() }
}

#[test]
fn value_to_key_builds_the_key_from_value_fields_in_the_order_given() {
    // Kafka's ValueToKeyTest: schemaless, withSchema, nonExistingField.
    let mut r = record(json_payload(json!({"id": 1})), json_payload(json!({"a": 1, "b": 2, "c": 3})));
    value_to_key(&["b", "a"]).apply(&mut r).unwrap();
    assert_eq!(r.key.as_ref().unwrap().bytes().as_ref(), br#"{"b":2,"a":1}"#);
    let schema = json!({"type": "struct", "fields": [
        {"type": "int32", "optional": false, "field": "a"},
        {"type": "int32", "optional": false, "field": "b"},
        {"type": "int32", "optional": false, "field": "c"}], "optional": false, "name": "v"});
    let key = with_schema(json!({"type": "struct", "fields": [], "optional": false}), json!({}));
    let mut r = record(key.clone(), with_schema(schema.clone(), json!({"a": 1, "b": 2, "c": 3})));
    value_to_key(&["a", "b"]).apply(&mut r).unwrap();
    assert_eq!(
        parsed(&r.key),
        json!({"schema": {"type": "struct", "fields": [
            {"type": "int32", "optional": false, "field": "a"},
            {"type": "int32", "optional": false, "field": "b"}], "optional": false},
            "payload": {"a": 1, "b": 2}})
    );
    let mut r = record(key, with_schema(schema, json!({"a": 1, "b": 2, "c": 3})));
    assert_eq!(value_to_key(&["not_exist"]).apply(&mut r).unwrap_err(), "Field does not exist: not_exist");
}

fn header_from(fields: &[&str], headers: &[&str], moving: bool) -> HeaderFrom {
    let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    HeaderFrom {
        side: Side::Value,
        fields: strings(fields),
        headers: strings(headers),
        moving,
        schemas: SchemaCache::default(),
    }
}

#[test]
fn header_from_copies_or_moves_fields_into_headers() {
    // Kafka's HeaderFromTest: copy keeps the fields, move removes them (and from the schema); headers are added
    // after the record's own.
    let value = json!({"field1": "field1-value", "field2": 42, "field3": null});
    let mut r = record(None, json_payload(value.clone()));
    r.headers.push(("existing".into(), b"v".to_vec()));
    header_from(&["field1", "field2", "field3"], &["h1", "h2", "h3"], false).apply(&mut r).unwrap();
    assert_eq!(parsed(&r.value), value);
    let headers: Vec<(&str, &[u8])> = r.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    assert_eq!(headers, [("existing", &b"v"[..]), ("h1", b"field1-value"), ("h2", b"42")]);

    let schema = json!({"type": "struct", "fields": [
        {"type": "string", "optional": false, "field": "field1"},
        {"type": "int32", "optional": false, "field": "field2"}], "optional": true, "name": "v"});
    let mut r = record(None, with_schema(schema, json!({"field1": "x", "field2": 42})));
    header_from(&["field1"], &["h1"], true).apply(&mut r).unwrap();
    assert_eq!(
        parsed(&r.value),
        json!({"schema": {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "field2"}],
            "optional": false, "name": "v"}, "payload": {"field2": 42}})
    );
    assert_eq!(r.headers, [("h1".to_string(), b"x".to_vec())]);
}

fn logical_router(
    adjustment: SchemaNameAdjustment,
    key_regex: Option<&str>,
) -> crate::transform::records::RecordTransform {
    use crate::transform::records::{RecordTransform, RecordTransformConfig};
    RecordTransform::new(&RecordTransformConfig::LogicalTableRouter {
        topic_regex: "(.*)customers_shard(.*)".into(),
        topic_replacement: "$1customers_all_shards".into(),
        enforce_uniqueness: true,
        key_field_name: "shard_id".into(),
        key_field_regex: key_regex.map(String::from),
        key_field_replacement: "$2".into(),
        adjustment,
    })
    .unwrap()
}

#[test]
fn logical_table_router_merges_shards_and_tells_their_keys_apart() {
    // Debezium's ByLogicalTableRouterTest.testKeyReplacementWorkingConfiguration (none and avro).
    for (adjustment, key_name) in [
        (SchemaNameAdjustment::None, "mysql-server-1.inventory.customers_all_shards.Key"),
        (SchemaNameAdjustment::Avro, "mysql_server_1.inventory.customers_all_shards.Key"),
    ] {
        let mut router = logical_router(adjustment, Some("(.*)customers_shard_(.*)"));
        let key_schema = json!({"type": "struct", "fields": [{"type": "int64", "optional": false, "field": "id"}],
            "optional": false, "name": "mysql-server-1.inventory.customers_shard_1.Key"});
        for (shard, id) in [("1", 123), ("2", 123), ("2", 456)] {
            let mut r = record(with_schema(key_schema.clone(), json!({"id": id})), None);
            r.topic = Arc::from(format!("mysql-server-1.inventory.customers_shard_{shard}"));
            assert!(router.apply(&mut r).unwrap());
            assert_eq!(&*r.topic, "mysql-server-1.inventory.customers_all_shards");
            assert_eq!(
                parsed(&r.key),
                json!({"schema": {"type": "struct", "fields": [
                    {"type": "int64", "optional": false, "field": "id"},
                    {"type": "string", "optional": false, "field": "shard_id"}], "optional": false, "name": key_name},
                    "payload": {"id": id, "shard_id": shard}})
            );
        }
    }
}

#[test]
fn logical_table_router_renames_envelope_schemas_and_defaults_the_identifier_to_the_topic() {
    let envelope = json!({"type": "struct", "fields": [
        {"type": "struct", "fields": [], "optional": true, "name": "a.public.customers_shard1.Value", "field": "before"},
        {"type": "struct", "fields": [], "optional": true, "name": "a.public.customers_shard1.Value", "field": "after"},
        {"type": "string", "optional": false, "field": "op"}], "optional": false,
        "name": "a.public.customers_shard1.Envelope", "version": 2});
    let mut r =
        record(json_payload(json!({"id": 1})), with_schema(envelope, json!({"before": null, "after": {}, "op": "c"})));
    r.topic = Arc::from("a.public.customers_shard1");
    logical_router(SchemaNameAdjustment::None, None).apply(&mut r).unwrap();
    assert_eq!(parsed(&r.key), json!({"id": 1, "shard_id": "a.public.customers_shard1"}));
    let value = parsed(&r.value);
    assert_eq!(value["schema"]["name"], "a.public.customers_all_shards.Envelope");
    assert_eq!(value["schema"]["fields"][0]["name"], "a.public.customers_all_shards.Value");
    assert_eq!(value["schema"]["fields"][1]["name"], "a.public.customers_all_shards.Value");
    assert_eq!(value["payload"], json!({"before": null, "after": {}, "op": "c"}));
    // A topic the regex does not match is left alone; a tombstone is routed with its key.
    let mut other = record(json_payload(json!({"id": 1})), None);
    other.topic = Arc::from("a.public.orders");
    logical_router(SchemaNameAdjustment::None, None).apply(&mut other).unwrap();
    assert_eq!((&*other.topic, parsed(&other.key)), ("a.public.orders", json!({"id": 1})));
}

#[test]
fn logical_table_router_needs_a_key_field_replacement_with_a_key_field_regex() {
    // Debezium's ByLogicalTableRouterTest.testKeyNullValue / testKeyFieldReplacementEmpty: refused when configured.
    use crate::transform::records::{RecordTransform, RecordTransformConfig};
    let config = RecordTransformConfig::LogicalTableRouter {
        topic_regex: "someValidRegex(.*)".into(),
        topic_replacement: "$1".into(),
        enforce_uniqueness: true,
        key_field_name: "__dbz__physicalTableIdentifier".into(),
        key_field_regex: Some("If this is set, key.field.replacement must be non-empty".into()),
        key_field_replacement: String::new(),
        adjustment: SchemaNameAdjustment::None,
    };
    assert_eq!(RecordTransform::new(&config).unwrap_err().0, "key.field.replacement");
}

#[test]
fn logical_table_router_without_uniqueness_keeps_the_key_fields_and_renames_its_schema() {
    use crate::transform::records::{RecordTransform, RecordTransformConfig};
    let mut router = RecordTransform::new(&RecordTransformConfig::LogicalTableRouter {
        topic_regex: "(.*)_shard\\d+".into(),
        topic_replacement: "$1".into(),
        enforce_uniqueness: false,
        key_field_name: "__dbz__physicalTableIdentifier".into(),
        key_field_regex: None,
        key_field_replacement: String::new(),
        adjustment: SchemaNameAdjustment::None,
    })
    .unwrap();
    let key_schema = json!({"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}],
        "optional": false, "name": "a.public.t_shard1.Key"});
    let mut r = record(with_schema(key_schema, json!({"id": 5})), None);
    r.topic = Arc::from("a.public.t_shard1");
    router.apply(&mut r).unwrap();
    assert_eq!(&*r.topic, "a.public.t");
    assert_eq!(
        parsed(&r.key),
        json!({"schema": {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}],
            "optional": false, "name": "a.public.t.Key"}, "payload": {"id": 5}})
    );
}

#[test]
fn hoist_field_wraps_the_key_or_value_in_a_struct_of_one_field() {
    // Kafka's HoistFieldTest.schemaless and withSchema.
    let mut r = record(Some(Payload::Json(b"42".to_vec())), None);
    HoistField { side: Side::Key, field: "magic".into(), schemas: SchemaCache::default() }.apply(&mut r).unwrap();
    assert_eq!(r.key.as_ref().unwrap().bytes().as_ref(), br#"{"magic":42}"#);
    let mut r = record(with_schema(json!({"type": "int32", "optional": false}), json!(42)), None);
    HoistField { side: Side::Key, field: "magic".into(), schemas: SchemaCache::default() }.apply(&mut r).unwrap();
    assert_eq!(
        parsed(&r.key),
        json!({"schema": {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "magic"}],
            "optional": false}, "payload": {"magic": 42}})
    );
}

#[test]
fn set_schema_metadata_sets_name_and_version_and_needs_a_schema() {
    // Kafka's SetSchemaMetadataTest.schemaNameUpdate, schemaVersionUpdate, schemaNameAndVersionUpdate.
    let set = |name: Option<&str>, version: Option<i32>| SetSchemaMetadata {
        side: Side::Value,
        name: name.map(String::from),
        version,
        schemas: SchemaCache::default(),
    };
    let schema = json!({"type": "struct", "fields": [], "optional": false, "name": "old"});
    let mut r = record(None, with_schema(schema.clone(), json!({})));
    set(Some("foo"), Some(42)).apply(&mut r).unwrap();
    assert_eq!(
        parsed(&r.value)["schema"],
        json!({"type": "struct", "fields": [], "optional": false, "name": "foo", "version": 42})
    );
    let mut r = record(None, with_schema(schema, json!({})));
    set(None, Some(3)).apply(&mut r).unwrap();
    assert_eq!(parsed(&r.value)["schema"]["name"], "old");
    let mut schemaless = record(None, json_payload(json!({})));
    assert_eq!(
        set(Some("foo"), None).apply(&mut schemaless).unwrap_err(),
        "Schema required for [updating schema metadata]"
    );
    let mut tombstone = record(None, None);
    set(Some("foo"), None).apply(&mut tombstone).unwrap();
    assert!(tombstone.value.is_none());
}

#[test]
fn flatten_schemaless_joins_nested_names_with_the_delimiter() {
    // Kafka's FlattenTest.testNestedMapWithDelimiter: delimiter `#`; arrays are kept, nulls stay.
    let value = json!({"A": {"B": {"int64": 64, "string": "stringy", "list": [1, {"x": 2}], "none": null}}, "top": 1});
    let mut r = record(None, json_payload(value));
    Flatten::new(Side::Value, "#".into()).apply(&mut r).unwrap();
    assert_eq!(
        r.value.unwrap().bytes().as_ref(),
        br#"{"A#B#int64":64,"A#B#string":"stringy","A#B#list":[1,{"x":2}],"A#B#none":null,"top":1}"#
    );
}

#[test]
fn flatten_with_a_schema_flattens_the_envelope_and_makes_fields_under_optional_structs_optional() {
    // Kafka's FlattenTest.testOptionalFieldStruct / testOptionalStruct: a field under an optional struct becomes
    // optional; a null struct gives null for each field under it.
    let schema = json!({"type": "struct", "fields": [
        {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}], "optional": true,
         "name": "t.Value", "field": "before"},
        {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}], "optional": true,
         "name": "t.Value", "field": "after"},
        {"type": "string", "optional": false, "field": "op"}], "optional": false, "name": "t.Envelope", "version": 2});
    let mut r = record(None, with_schema(schema, json!({"before": null, "after": {"id": 1}, "op": "c"})));
    Flatten::new(Side::Value, ".".into()).apply(&mut r).unwrap();
    assert_eq!(
        parsed(&r.value),
        json!({"schema": {"type": "struct", "fields": [
            {"type": "int32", "optional": true, "field": "before.id"},
            {"type": "int32", "optional": true, "field": "after.id"},
            {"type": "string", "optional": false, "field": "op"}], "optional": false, "name": "t.Envelope", "version": 2},
            "payload": {"before.id": null, "after.id": 1, "op": "c"}})
    );
    let map_schema = json!({"type": "struct", "fields": [{"type": "map", "keys": {"type": "string", "optional": false},
        "values": {"type": "string", "optional": false}, "optional": true, "field": "m"}], "optional": false});
    let mut r = record(None, with_schema(map_schema, json!({"m": {}})));
    assert!(Flatten::new(Side::Value, ".".into()).apply(&mut r).unwrap_err().contains("does not support MAP"));
}
