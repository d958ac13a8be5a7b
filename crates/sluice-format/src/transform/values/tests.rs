//! `Cast` and `TimestampConverter` on encoded JSON, against Kafka's CastTest and TimestampConverterTest
//! (connect/transforms in apache/kafka): the same inputs, the outputs Kafka's tests expect, as the JSON converter
//! writes them.

use serde_json::{json, Value};

use super::*;
use crate::transform::fields::tests::{json_payload as schemaless, record, with_schema};

fn parts(p: &Option<Payload>) -> (Value, Value) {
    match p {
        Some(Payload::JsonWithSchema { schema, payload }) => {
            (serde_json::from_slice(payload).unwrap(), serde_json::from_slice(schema).unwrap())
        }
        Some(p) => (serde_json::from_slice(&p.bytes()).unwrap(), Value::Null),
        None => (Value::Null, Value::Null),
    }
}

fn cast(side: Side, spec: &str) -> Cast {
    let entries: Vec<String> = spec.split(',').map(|e| e.trim().to_string()).collect();
    Cast::new(side, CastSpec::parse(&entries).unwrap())
}

fn cast_value(spec: &str, value: Option<Payload>) -> Result<(Value, Value), String> {
    let mut r = record(None, value);
    cast(Side::Value, spec).apply(&mut r)?;
    Ok(parts(&r.value))
}

fn primitive(kind: &str) -> Value {
    json!({"type": kind, "optional": false})
}

#[test]
fn cast_spec_mistakes_are_kafka_s_configuration_errors() {
    // CastTest: testConfigEmpty, testConfigInvalidSchemaType, testConfigInvalidTargetType, testConfigInvalidMap,
    // testConfigMixWholeAndFieldTransformation, testUnsupportedTargetType.
    let parse = |spec: &[&str]| CastSpec::parse(&spec.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(parse(&[]).unwrap_err(), "Must specify at least one field to cast.");
    assert_eq!(parse(&["foo:faketype"]).unwrap_err(), "Invalid type found in casting spec: faketype");
    assert!(parse(&["foo:array"]).unwrap_err().contains("does not support casting to ARRAY"));
    assert!(parse(&["foo:bytes"]).unwrap_err().contains("does not support casting to BYTES"));
    assert_eq!(parse(&["foo:int8:extra"]).unwrap_err(), "Invalid rename mapping: foo:int8:extra");
    assert!(parse(&["foo:int8", "int32"]).unwrap_err().contains("may ony specify a single cast"));
    assert_eq!(parse(&["INT64"]).unwrap(), CastSpec::Whole(CastType::Int64), "type names ignore case");
    assert_eq!(
        parse(&["a:int8", "a:string"]).unwrap(),
        CastSpec::Fields(vec![("a".into(), CastType::String)]),
        "a later entry for a field replaces an earlier one (Kafka's HashMap)"
    );
}

#[test]
fn a_whole_key_or_value_with_a_schema_casts_to_each_type() {
    // CastTest.castWholeRecordKeyWithSchema and castWholeRecordValueWithSchema{Int8,…,String}: int32 42.
    let cases = [
        ("int8", json!(42)),
        ("int16", json!(42)),
        ("int32", json!(42)),
        ("int64", json!(42)),
        ("float32", json!(42.0)),
        ("float64", json!(42.0)),
        ("boolean", json!(true)),
        ("string", json!("42")),
    ];
    for (target, expected) in cases {
        let mut r = record(with_schema(primitive("int32"), json!(42)), None);
        cast(Side::Key, target).apply(&mut r).unwrap();
        let (value, schema) = parts(&r.key);
        assert_eq!(value, expected, "{target}");
        assert_eq!(schema, json!({"type": target, "optional": false}), "{target}");
    }
    // castWholeRecordValueWithSchemaBooleanFalse: 0 → false.
    assert_eq!(cast_value("boolean", with_schema(primitive("int32"), json!(0))).unwrap().0, json!(false));
}

#[test]
fn a_whole_value_cast_keeps_the_schema_s_name_and_casts_its_default() {
    // CastTest.castWholeRecordDefaultValue: int32 with default 42, cast to int8, keeps a default of 42.
    let schema = json!({"type": "int32", "optional": true, "name": "my.Id", "version": 2, "default": 42});
    let (value, schema) = cast_value("string", with_schema(schema, json!(7))).unwrap();
    assert_eq!(value, json!("7"));
    assert_eq!(
        schema,
        json!({"type": "string", "optional": true, "name": "my.Id", "version": 2, "default": "42"}),
        "copySchemaBasics keeps name and version; optional and the default follow"
    );
}

#[test]
fn schemaless_values_are_read_as_the_json_converter_reads_them() {
    // CastTest.castWholeRecordValueSchemalessString / …Int8 …: a whole number is a Long, a fraction a Double.
    assert_eq!(cast_value("string", schemaless(json!(42))).unwrap().0, json!("42"));
    assert_eq!(cast_value("int8", schemaless(json!(42))).unwrap().0, json!(42));
    assert_eq!(cast_value("string", schemaless(json!(42.5))).unwrap().0, json!("42.5"));
    assert_eq!(cast_value("string", schemaless(json!(1e10))).unwrap().0, json!("1.0E10"), "Double.toString");
    assert_eq!(cast_value("int32", schemaless(json!(-2.7))).unwrap().0, json!(-2), "towards zero");
    assert_eq!(cast_value("boolean", schemaless(json!(0.5))).unwrap().0, json!(false), "longValue() != 0");
}

#[test]
fn fields_with_a_schema_cast_as_kafka_s_test_expects() {
    // CastTest.castFieldsWithSchema, with the fields a JSON payload can carry.
    let schema = json!({"type": "struct", "name": "x.Value", "optional": true, "fields": [
        {"type": "int8", "optional": false, "field": "int8"},
        {"type": "int16", "optional": false, "field": "int16"},
        {"type": "int32", "optional": false, "field": "int32"},
        {"type": "int64", "optional": false, "field": "int64"},
        {"type": "float32", "optional": false, "field": "float32"},
        {"type": "float64", "optional": false, "field": "float64"},
        {"type": "boolean", "optional": false, "field": "boolean"},
        {"type": "string", "optional": false, "field": "string"},
        {"type": "bytes", "optional": false, "name": DECIMAL, "version": 1, "parameters": {"scale": "0"}, "field": "bigdecimal"},
        {"type": "int64", "optional": false, "name": TIMESTAMP, "version": 1, "field": "timestamp"},
        {"type": "int32", "optional": true, "field": "optional"},
        {"type": "string", "optional": false, "field": "untouched"},
    ]});
    let value = json!({"int8": 8, "int16": 16, "int32": 32, "int64": 64, "float32": 32.0, "float64": -64.0,
        "boolean": true, "string": "42", "bigdecimal": "Kg==", "timestamp": 0, "optional": null, "untouched": "x"});
    let spec = "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,\
                string:int32,bigdecimal:string,timestamp:string,optional:int32";
    let (value, schema) = cast_value(spec, with_schema(schema, value)).unwrap();
    assert_eq!(
        value,
        json!({"int8": 8, "int16": 16, "int32": 32, "int64": true, "float32": 32.0, "float64": true, "boolean": 1,
            "string": 42, "bigdecimal": "42", "timestamp": "00:00:00.000Z", "optional": null, "untouched": "x"})
    );
    let fields = schema["fields"].as_array().unwrap();
    assert_eq!(fields[0], json!({"type": "int16", "optional": false, "field": "int8"}));
    assert_eq!(fields[8], json!({"type": "string", "optional": false, "field": "bigdecimal"}));
    assert_eq!(fields[10], json!({"type": "int32", "optional": true, "field": "optional"}));
    assert_eq!(fields[11], json!({"type": "string", "optional": false, "field": "untouched"}));
    assert_eq!((schema["name"].clone(), schema["optional"].clone()), (json!("x.Value"), json!(true)));
}

#[test]
fn schemaless_fields_cast_and_a_missing_one_appears_as_null() {
    // CastTest.castFieldsSchemaless.
    let value = json!({"int8": 8, "int16": 16, "int32": 32, "int64": 64, "float32": 32.0, "float64": -64.0,
        "boolean": true, "string": "42"});
    let spec = "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,\
                string:int32,absent:string";
    let (value, _) = cast_value(spec, schemaless(value)).unwrap();
    assert_eq!(
        value,
        json!({"int8": 8, "int16": 16, "int32": 32, "int64": true, "float32": 32.0, "float64": true,
            "boolean": 1, "string": 42, "absent": null})
    );
}

#[test]
fn numbers_narrow_as_java_narrows_them() {
    // Number.byteValue() wraps; a double goes to int first, saturating.
    assert_eq!(cast_value("int8", with_schema(primitive("int32"), json!(300))).unwrap().0, json!(44));
    assert_eq!(cast_value("int16", with_schema(primitive("int64"), json!(70000))).unwrap().0, json!(4464));
    assert_eq!(cast_value("int32", with_schema(primitive("float64"), json!(1e20))).unwrap().0, json!(i32::MAX));
    assert_eq!(cast_value("float32", with_schema(primitive("float64"), json!(0.1))).unwrap().0, json!(0.1));
    assert_eq!(
        cast_value("float64", with_schema(primitive("float32"), json!(0.1))).unwrap().0,
        json!(0.10000000149011612)
    );
}

#[test]
fn strings_parse_as_java_parses_them_and_a_bad_one_stops_with_kafka_s_message() {
    assert_eq!(cast_value("int8", schemaless(json!("-12"))).unwrap().0, json!(-12));
    assert_eq!(cast_value("float64", schemaless(json!(" 2.5d "))).unwrap().0, json!(2.5), "Double.parseDouble");
    assert_eq!(cast_value("boolean", schemaless(json!("TRUE"))).unwrap().0, json!(true));
    assert_eq!(cast_value("boolean", schemaless(json!("yes"))).unwrap().0, json!(false), "Boolean.parseBoolean");
    let error = cast_value("int8", schemaless(json!("300"))).unwrap_err();
    assert_eq!(error, "Value (300) was out of range for requested data type");
    let error = cast_value("int32", schemaless(json!(" 1"))).unwrap_err();
    assert!(error.contains("out of range"), "Integer.parseInt takes no spaces: {error}");
    assert!(cast_value("float32", schemaless(json!("inf"))).is_err(), "Java has no `inf`");
}

#[test]
fn unsupported_inputs_stop_with_kafka_s_message() {
    // CastTest.castWholeRecordValueSchemalessUnsupportedType / castFieldsWithSchemaUnsupportedType: a map, an
    // array, a struct; bytes cast only to string (base64, which is what the JSON already holds).
    let error = cast_value("int8", schemaless(json!({"a": 1}))).unwrap_err();
    assert!(error.starts_with("Cast transformation does not support casting from MAP"), "{error}");
    let bytes = json!({"type": "bytes", "optional": false});
    assert_eq!(cast_value("string", with_schema(bytes.clone(), json!("AQI="))).unwrap().0, json!("AQI="));
    let error = cast_value("int32", with_schema(bytes, json!("AQI="))).unwrap_err();
    assert_eq!(error, "Unexpected type in Cast transformation: class [B");
    let nested = json!({"type": "struct", "optional": false, "fields": [
        {"type": "struct", "optional": true, "fields": [], "field": "after"}]});
    let error = cast_value("after:string", with_schema(nested, json!({"after": {}}))).unwrap_err();
    assert!(error.contains("field `after`: Cast transformation does not support casting from STRUCT"), "{error}");
}

#[test]
fn connect_dates_cast_to_their_numbers_and_debezium_s_times_are_plain_numbers() {
    // Kafka encodes Connect's Date/Time/Timestamp to their integers for numeric targets (CastTest
    // castLogicalToPrimitive), and formats them with Values.dateFormatFor for string (castLogicalToString).
    let date = json!({"type": "int32", "optional": false, "name": DATE, "version": 1});
    assert_eq!(cast_value("int64", with_schema(date.clone(), json!(17_000))).unwrap().0, json!(17_000));
    assert_eq!(cast_value("string", with_schema(date, json!(17_000))).unwrap().0, json!("2016-07-18"));
    let time = json!({"type": "int32", "optional": false, "name": TIME, "version": 1});
    assert_eq!(cast_value("string", with_schema(time, json!(3_723_004))).unwrap().0, json!("01:02:03.004Z"));
    let ts = json!({"type": "int64", "optional": false, "name": TIMESTAMP, "version": 1});
    assert_eq!(
        cast_value("string", with_schema(ts, json!(1_483_425_001_864_i64))).unwrap().0,
        json!("2017-01-03T06:30:01.864Z")
    );
    let micro = json!({"type": "int64", "optional": false, "name": "io.debezium.time.MicroTimestamp", "version": 1});
    assert_eq!(
        cast_value("string", with_schema(micro, json!(1_483_425_001_864_123_i64))).unwrap().0,
        json!("1483425001864123")
    );
}

#[test]
fn decimals_print_and_convert_as_big_decimal_does() {
    // java.math.BigDecimal.toString's documented examples: [unscaled, scale] → text.
    for (unscaled, scale, text) in [
        (123, 0, "123"),
        (-123, 0, "-123"),
        (123, -1, "1.23E+3"),
        (123, -3, "1.23E+5"),
        (123, 1, "12.3"),
        (123, 5, "0.00123"),
        (123, 10, "1.23E-8"),
        (-123, 12, "-1.23E-10"),
    ] {
        assert_eq!(decimal_string(unscaled, scale), text);
    }
    assert_eq!(decimal_long(-12_345, 2), -123, "toBigInteger() truncates");
    let decimal = json!({"type": "bytes", "optional": false, "name": DECIMAL, "parameters": {"scale": "2"}});
    // -12345 as two's complement bytes cf c7 → "z8c=".
    assert_eq!(cast_value("float64", with_schema(decimal.clone(), json!("z8c="))).unwrap().0, json!(-123.45));
    assert_eq!(cast_value("int32", with_schema(decimal, json!("z8c="))).unwrap().0, json!(-123));
}

#[test]
fn a_null_value_or_field_passes_and_a_tombstone_is_untouched() {
    assert_eq!(cast_value("int8", None).unwrap(), (Value::Null, Value::Null));
    let (value, _) = cast_value("a:int8", schemaless(json!({"a": null}))).unwrap();
    assert_eq!(value, json!({"a": null}));
}

const DATE_PLUS_TIME: i64 = 86_401_000;

fn converter(field: &str, target: TimeType, format: &str, precision: UnixPrecision) -> TimestampConverter {
    let format = (!format.is_empty()).then(|| (DateFormat::parse(format).unwrap(), format.to_string()));
    TimestampConverter::new(Side::Value, field.into(), target, format, precision)
}

fn convert(t: &mut TimestampConverter, value: Option<Payload>) -> Result<(Value, Value), String> {
    let mut r = record(None, value);
    t.apply(&mut r)?;
    Ok(parts(&r.value))
}

const STRING_DATE_FMT: &str = "yyyy MM dd HH mm ss SSS z";

#[test]
fn timestamp_converter_converts_schemaless_values_as_kafka_s_test_expects() {
    // TimestampConverterTest: DATE_PLUS_TIME is 1970-01-02 00:00:01 UTC, its string
    // "1970 01 02 00 00 01 000 UTC" in "yyyy MM dd HH mm ss SSS z".
    let ms = UnixPrecision::Milliseconds;
    let mut to_string = converter("", TimeType::String, STRING_DATE_FMT, ms);
    assert_eq!(
        convert(&mut to_string, schemaless(json!(DATE_PLUS_TIME))).unwrap().0,
        json!("1970 01 02 00 00 01 000 UTC")
    );
    let mut to_timestamp = converter("", TimeType::Timestamp, STRING_DATE_FMT, ms);
    let parsed = convert(&mut to_timestamp, schemaless(json!("1970 01 02 00 00 01 000 UTC"))).unwrap().0;
    assert_eq!(parsed, json!(DATE_PLUS_TIME), "testSchemalessStringToTimestamp");
    let mut to_date = converter("", TimeType::Date, "", ms);
    assert_eq!(convert(&mut to_date, schemaless(json!(DATE_PLUS_TIME))).unwrap().0, json!(1), "one day");
    let mut to_time = converter("", TimeType::Time, "", ms);
    assert_eq!(convert(&mut to_time, schemaless(json!(DATE_PLUS_TIME))).unwrap().0, json!(1000));
    let error = convert(&mut to_time, schemaless(json!(1.5))).unwrap_err();
    assert_eq!(error, "TimestampConverter does not support class java.lang.Double objects as timestamps");
}

#[test]
fn unix_precision_reads_and_writes_each_unit() {
    // TimestampConverterTest.testSchemalessUnixToTimestamp{Seconds,Micros,Nanos} and the reverse.
    for (precision, unix) in [
        (UnixPrecision::Seconds, 86_401_i64),
        (UnixPrecision::Milliseconds, DATE_PLUS_TIME),
        (UnixPrecision::Microseconds, 86_401_000_000),
        (UnixPrecision::Nanoseconds, 86_401_000_000_000),
    ] {
        let mut to_timestamp = converter("", TimeType::Timestamp, "", precision);
        assert_eq!(convert(&mut to_timestamp, schemaless(json!(unix))).unwrap().0, json!(DATE_PLUS_TIME));
        let mut to_unix = converter("", TimeType::Unix, "", precision);
        let timestamp = json!({"type": "int64", "optional": false, "name": TIMESTAMP, "version": 1});
        assert_eq!(convert(&mut to_unix, with_schema(timestamp, json!(DATE_PLUS_TIME))).unwrap().0, json!(unix));
    }
    // Sub-millisecond parts are lost, towards zero (TimeUnit.toMillis).
    let mut micros = converter("", TimeType::Timestamp, "", UnixPrecision::Microseconds);
    assert_eq!(convert(&mut micros, schemaless(json!(1_999))).unwrap().0, json!(1));
}

#[test]
fn a_field_with_a_schema_gets_the_target_type_s_schema() {
    // TimestampConverterTest.testWithSchemaFieldConversion: a Timestamp field to unix, the other field untouched.
    let schema = json!({"type": "struct", "optional": true, "name": "x.Value", "fields": [
        {"type": "int64", "optional": false, "name": TIMESTAMP, "version": 1, "field": "ts"},
        {"type": "string", "optional": true, "field": "other"}]});
    let mut t = converter("ts", TimeType::Date, "", UnixPrecision::Milliseconds);
    let (value, schema) = convert(&mut t, with_schema(schema, json!({"ts": DATE_PLUS_TIME, "other": "test"}))).unwrap();
    assert_eq!(value, json!({"ts": 1, "other": "test"}));
    assert_eq!(
        schema["fields"][0],
        json!({"type": "int32", "optional": false, "name": DATE, "version": 1, "field": "ts"})
    );
    assert_eq!((schema["optional"].clone(), schema["name"].clone()), (json!(true), json!("x.Value")));
    let (value, _) = convert(&mut t, schemaless(json!({"other": "test"}))).unwrap();
    assert_eq!(value, json!({"other": "test", "ts": null}), "schemaless, Kafka puts the field");
}

#[test]
fn debezium_time_types_are_read_as_kafka_connect_reads_their_schema() {
    // io.debezium.time.MicroTimestamp is an int64: a Unix time in unix.precision; io.debezium.time.Date is an
    // int32, which TimestampConverter refuses.
    let micro = json!({"type": "int64", "optional": true, "name": "io.debezium.time.MicroTimestamp", "version": 1});
    let mut t = converter("", TimeType::String, "yyyy-MM-dd'T'HH:mm:ss.SSS", UnixPrecision::Microseconds);
    let (value, schema) = convert(&mut t, with_schema(micro, json!(1_483_425_001_864_123_i64))).unwrap();
    assert_eq!(value, json!("2017-01-03T06:30:01.864"));
    assert_eq!(schema, json!({"type": "string", "optional": true}), "the whole value's schema is the target's");
    let date = json!({"type": "int32", "optional": false, "name": "io.debezium.time.Date", "version": 1});
    let error = convert(&mut t, with_schema(date, json!(17_000))).unwrap_err();
    assert_eq!(
        error,
        "Schema Schema{io.debezium.time.Date:INT32} does not correspond to a known timestamp type format"
    );
}

#[test]
fn a_string_that_does_not_match_the_format_stops_with_kafka_s_message() {
    let mut t = converter("", TimeType::Unix, "yyyy-MM-dd", UnixPrecision::Milliseconds);
    assert_eq!(convert(&mut t, schemaless(json!("2017-01-03"))).unwrap().0, json!(1_483_401_600_000_i64));
    let error = convert(&mut t, schemaless(json!("03/01/2017"))).unwrap_err();
    assert_eq!(error, "Could not parse timestamp: value (03/01/2017) does not match pattern (yyyy-MM-dd)");
    let mut no_format = converter("", TimeType::Unix, "", UnixPrecision::Milliseconds);
    assert!(convert(&mut no_format, schemaless(json!("2017-01-03"))).unwrap_err().contains("`format`"));
}

#[test]
fn null_values_stay_null_with_the_target_schema() {
    // TimestampConverterTest.testWithSchemaNullValueToTimestamp / testSchemalessNullValueToTimestamp.
    let optional = json!({"type": "int64", "optional": true, "name": TIMESTAMP, "version": 1});
    let mut t = converter("", TimeType::String, STRING_DATE_FMT, UnixPrecision::Milliseconds);
    assert_eq!(
        convert(&mut t, with_schema(optional, json!(null))).unwrap(),
        (json!(null), json!({"type": "string", "optional": true}))
    );
    assert_eq!(convert(&mut t, None).unwrap(), (Value::Null, Value::Null));
}
