//! `HeaderToValue` and `PartitionRouting` against Debezium's HeaderToValueTest and PartitionRoutingTest
//! (debezium-connect-plugins): the same records, the values and partitions those tests expect.

use serde_json::{json, Value};
use sluice_core::Position;

use super::*;

const VALUE_SCHEMA: &str = "server1.inventory.products.Value";

/// PartitionRoutingTest's record: an envelope of (id int64, price float32, product optional string).
fn envelope(op: &str, id: i64, product: Option<&str>, schemas: bool) -> Record {
    let row = json!({"id": id, "price": 1.0, "product": product});
    let (before, after) = if op == "d" { (row, Value::Null) } else { (Value::Null, row) };
    let payload = json!({"before": before, "after": after, "source": {"connector": "mysql", "db": "inventory", "table": "products"}, "op": op, "ts_ms": 0});
    let row_schema = json!({"type": "struct", "optional": true, "name": VALUE_SCHEMA, "fields": [
        {"type": "int64", "optional": false, "field": "id"},
        {"type": "float32", "optional": false, "field": "price"},
        {"type": "string", "optional": true, "field": "product"}]});
    let mut before_schema = row_schema.clone();
    before_schema["field"] = json!("before");
    let mut after_schema = row_schema;
    after_schema["field"] = json!("after");
    let schema = json!({"type": "struct", "optional": false, "name": "server1.inventory.product.Envelope", "fields": [
        before_schema, after_schema,
        {"type": "struct", "optional": false, "name": "source", "field": "source", "fields": [
            {"type": "string", "optional": false, "field": "connector"},
            {"type": "string", "optional": false, "field": "db"},
            {"type": "string", "optional": false, "field": "table"}]},
        {"type": "string", "optional": false, "field": "op"},
        {"type": "int64", "optional": true, "field": "ts_ms"}]});
    let value = if schemas {
        Payload::JsonWithSchema {
            schema: Arc::from(serde_json::to_vec(&schema).unwrap()),
            payload: serde_json::to_vec(&payload).unwrap(),
        }
    } else {
        Payload::Json(serde_json::to_vec(&payload).unwrap())
    };
    Record {
        topic: Arc::from("prefix.inventory.products"),
        partition: None,
        key: None,
        value: Some(value),
        headers: Vec::new(),
        timestamp_ms: 0,
        position: Position::default(),
    }
}

fn routing(fields: &str, partitions: i32, hash: HashFunction) -> PartitionRouting {
    let paths = fields.split(',').map(|f| f.split('.').map(|p| p.trim().to_string()).collect()).collect();
    PartitionRouting::new(paths, partitions, hash)
}

fn partition(fields: &str, partitions: i32, hash: HashFunction, mut record: Record) -> Option<i32> {
    routing(fields, partitions, hash).apply(&mut record).unwrap();
    record.partition
}

#[test]
fn java_and_murmur_hashes_give_debezium_s_partitions() {
    // PartitionRoutingTest.byDefaultJavaHashIsUsed (39) and murmurHashWillBeUsed (65): change.id, change.product
    // of (1, "orange") over 100 partitions; with and without a schema (1 hashes alike as Integer and Long).
    for schemas in [true, false] {
        let r = || envelope("c", 1, Some("orange"), schemas);
        assert_eq!(partition("change.id, change.product", 100, HashFunction::Java, r()), Some(39));
        assert_eq!(partition("change.id, change.product", 100, HashFunction::Murmur, r()), Some(65));
    }
}

#[test]
fn change_is_after_for_an_insert_and_before_for_a_delete() {
    // PartitionRoutingTest: …OnCreateAndUpdateEvents, …SpecialChangeNestedFieldOnCreateEvent, …OnCreateDelete,
    // spaceBetweenNestedFiledSeparatedWillBeCorrectManaged, onlyFieldThatExistForCurrentEventWillBeUsed….
    let java = HashFunction::Java;
    assert_eq!(partition("after.product", 2, java, envelope("c", 1, Some("APPLE"), true)), Some(0));
    assert_eq!(partition("change.product", 2, java, envelope("c", 1, Some("APPLE"), true)), Some(0));
    assert_eq!(partition("change.product", 2, java, envelope("d", 1, Some("APPLE"), true)), Some(0));
    assert_eq!(partition("change . product", 2, java, envelope("c", 1, Some("APPLE"), true)), Some(0));
    assert_eq!(
        partition("after.not_existing,change.product", 3, java, envelope("c", 1, Some("orange"), true)),
        Some(1)
    );
}

#[test]
fn records_without_the_fields_or_not_change_events_keep_their_partition() {
    // PartitionRoutingTest.whenASpecifiedFieldIsNotFoundOnPayloadItWillBeIgnored,
    // whenAnSpecifiedOptionalFieldIsNotFoundOnPayloadItWillBeIgnored, truncateOperationRecordWillBeSkipped.
    let java = HashFunction::Java;
    assert_eq!(partition("after.not_existing", 2, java, envelope("c", 1, Some("APPLE"), true)), None);
    assert_eq!(partition("change.product", 2, java, envelope("c", 1, None, true)), None, "null is skipped");
    assert_eq!(partition("op", 2, java, envelope("t", 1, None, true)), None, "truncate");
    let mut tombstone = envelope("c", 1, None, true);
    tombstone.value = None;
    assert_eq!(partition("op", 2, java, tombstone), None);
    let mut unwrapped = envelope("c", 1, None, false);
    unwrapped.value = Some(Payload::Json(br#"{"id":1,"product":"APPLE"}"#.to_vec()));
    assert_eq!(partition("id", 2, java, unwrapped), None, "not an envelope: Debezium passes it on");
}

#[test]
fn a_top_level_field_routes_equal_values_together() {
    // PartitionRoutingTest.correctComputeKafkaPartitionBasedOnNotNestedField: "op" of two creates agree.
    let java = HashFunction::Java;
    let a = partition("op", 2, java, envelope("c", 1, Some("APPLE"), true));
    assert_eq!(a, partition("op", 2, java, envelope("c", 1, Some("ORANGE"), true)));
    assert_eq!(a, Some((string_hash("c") & i32::MAX) % 2));
}

#[test]
fn a_path_through_a_null_struct_stops_as_debezium_s_does() {
    // Debezium: `before` of an insert is null, so `getStruct("before").get("id")` throws, and the SMT fails with
    // "Unprocessable message".
    let mut record = envelope("c", 1, Some("APPLE"), true);
    let error = routing("before.id", 2, HashFunction::Java).apply(&mut record).unwrap_err();
    assert!(error.starts_with("Unprocessable message: `before` is null"), "{error}");
}

#[test]
fn java_hash_codes_follow_each_connect_type() {
    let of = |kind: &str, raw: &str| {
        let t = FieldType { kind: kind.into(), logical: None, scale: None };
        java_hash(raw.as_bytes(), Some(&t)).unwrap()
    };
    // Long.hashCode(-5) is (int)(v ^ v >>> 32) = 4, Integer.hashCode(-5) is -5.
    assert_eq!(of("int64", "-5"), 4);
    assert_eq!(of("int32", "-5"), -5);
    assert_eq!(of("boolean", "true"), 1231);
    assert_eq!(of("float64", "1.0"), 1_072_693_248, "Double.hashCode(1.0)");
    assert_eq!(of("float32", "1.0"), 1_065_353_216, "Float.hashCode(1.0f)");
    assert_eq!(of("string", "\"orange\""), -1_008_851_410, "\"orange\".hashCode()");
    // new BigDecimal("1.23").hashCode() = 31 * 123 + 2.
    let decimal = FieldType { kind: "bytes".into(), logical: Some(DECIMAL.into()), scale: Some("2".into()) };
    assert_eq!(java_hash(b"\"ew==\"", Some(&decimal)).unwrap(), 31 * 123 + 2);
    assert!(java_hash(b"{}", None).is_err(), "a struct has no hash Sluice can match");
}

fn h2v(headers: &[&str], fields: &[&str], moving: bool) -> HeaderToValue {
    HeaderToValue::new(
        headers.iter().map(|h| h.to_string()).collect(),
        fields.iter().map(|f| f.split('.').map(String::from).collect()).collect(),
        moving,
    )
}

fn with_headers(mut record: Record, headers: &[(&str, &str)]) -> Record {
    record.headers = headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect();
    record
}

fn value_parts(record: &Record) -> (Value, Value) {
    match record.value.as_ref().unwrap() {
        Payload::JsonWithSchema { schema, payload } => {
            (serde_json::from_slice(payload).unwrap(), serde_json::from_slice(schema).unwrap())
        }
        other => (serde_json::from_slice(&other.bytes()).unwrap(), Value::Null),
    }
}

#[test]
fn copied_headers_become_value_fields_with_their_schema() {
    // HeaderToValueTest.whenARecordThatContainsADefinedHeaderItWillBeCopiedInTheDefinedField.
    let mut record = with_headers(
        envelope("c", 101, Some("a product"), true),
        &[("h1", "this is a value from h1 header"), ("h2", "this is a value from h2 header")],
    );
    h2v(&["h1", "h2"], &["f1", "f2"], false).apply(&mut record).unwrap();
    let (value, schema) = value_parts(&record);
    assert_eq!(value["f1"], "this is a value from h1 header");
    assert_eq!(value["f2"], "this is a value from h2 header");
    assert_eq!(value["after"]["id"], 101, "the rest as it was");
    let fields = schema["fields"].as_array().unwrap();
    assert_eq!(fields[fields.len() - 1], json!({"type": "string", "optional": true, "field": "f2"}));
    assert_eq!(record.headers.len(), 2, "copy keeps the headers");
}

#[test]
fn move_removes_the_headers_and_a_dotted_field_goes_into_the_nested_struct() {
    let mut record = with_headers(envelope("c", 101, Some("a product"), true), &[("h1", "v1"), ("other", "x")]);
    h2v(&["h1"], &["after.origin"], true).apply(&mut record).unwrap();
    let (value, schema) = value_parts(&record);
    assert_eq!(value["after"], json!({"id": 101, "price": 1.0, "product": "a product", "origin": "v1"}));
    assert_eq!(value["before"], Value::Null, "a null struct stays null");
    assert_eq!(schema["fields"][1]["fields"][3], json!({"type": "string", "optional": true, "field": "origin"}));
    assert_eq!(record.headers, vec![("other".to_string(), b"x".to_vec())]);
}

#[test]
fn without_the_headers_a_record_passes_unchanged_and_a_repeated_header_stops() {
    let mut record = with_headers(envelope("c", 1, None, false), &[("unrelated", "x")]);
    let before = record.clone();
    h2v(&["h1"], &["f1"], true).apply(&mut record).unwrap();
    assert_eq!(record, before);
    let mut twice = with_headers(envelope("c", 1, None, false), &[("h1", "a"), ("h1", "b")]);
    let error = h2v(&["h1"], &["f1"], false).apply(&mut twice).unwrap_err();
    assert!(error.starts_with("Duplicate key h1"), "{error}");
    let mut clash = with_headers(envelope("c", 1, None, true), &[("h1", "a")]);
    let error = h2v(&["h1"], &["op"], false).apply(&mut clash).unwrap_err();
    assert_eq!(error, "Cannot create field because of field name duplication op");
}
