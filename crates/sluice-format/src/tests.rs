use std::sync::Arc;

use serde_json::{json, Value};
use sluice_core::{
    ColumnSchema, Datum, LogicalMessage, Lsn, Position, ReplicaIdentity, SnapshotMarker, SourceInfo, TableId,
};

use super::*;

/// The options most tests start from: JSON without schemas, Debezium's defaults.
pub(crate) fn opts() -> EncoderOptions {
    EncoderOptions {
        topic_prefix: "app".into(),
        database: "shop".into(),
        key: Converter::Json { schemas_enable: false },
        value: Converter::Json { schemas_enable: false },
        decimal_handling_mode: DecimalHandlingMode::Precise,
        time_precision_mode: TimePrecisionMode::Adaptive,
        interval_handling_mode: IntervalHandlingMode::Numeric,
        hstore_handling_mode: HStoreHandlingMode::Json,
        binary_handling_mode: BinaryHandlingMode::Bytes,
        unavailable_value_placeholder: "__debezium_unavailable_value".into(),
        include_unknown_datatypes: false,
        money_fraction_digits: 2,
        tombstones_on_delete: true,
        columns: ColumnOptions::default(),
        naming: naming::Naming::default(),
    }
}

/// Debezium's tutorial table `inventory.customers` (relation 7): an `int4` key `id` and a `text` column `email`, for
/// the transform tests.
pub(crate) fn customers() -> Arc<TableSchema> {
    let col = |name: &str, oid: u32, pk: bool| ColumnSchema {
        name: name.into(),
        type_oid: oid,
        type_modifier: -1,
        type_name: if oid == 23 { "int4".into() } else { "text".into() },
        base_type_oid: oid,
        enum_values: None,
        primary_key: pk,
        nullable: !pk,
        default_expression: None,
    };
    Arc::new(TableSchema {
        relation_oid: 7,
        id: TableId::new("inventory", "customers"),
        columns: vec![col("id", 23, true), col("email", 25, false)],
        replica_identity: ReplicaIdentity::Default,
    })
}

fn col(name: &str, oid: u32, typmod: i32, pk: bool) -> ColumnSchema {
    ColumnSchema {
        name: name.into(),
        type_oid: oid,
        type_modifier: typmod,
        type_name: format!("oid{oid}"),
        base_type_oid: oid,
        enum_values: None,
        primary_key: pk,
        nullable: !pk,
        default_expression: None,
    }
}

fn table(columns: Vec<ColumnSchema>) -> Arc<TableSchema> {
    Arc::new(TableSchema {
        relation_oid: 1,
        id: TableId::new("public", "t"),
        columns,
        replica_identity: ReplicaIdentity::Default,
    })
}

fn event(op: Op, table: &Arc<TableSchema>, before: Option<Vec<Datum>>, after: Option<Vec<Datum>>) -> ChangeEvent {
    ChangeEvent {
        op,
        table: Some(table.clone()),
        before,
        after,
        message: None,
        source: SourceInfo {
            position: Position::new(Lsn(1000), 3),
            lsn: Lsn(990),
            tx_id: Some(77),
            ts_us: 1_700_000_000_123_456,
            snapshot: SnapshotMarker::False,
        },
    }
}

fn payload_json(p: &Payload) -> Value {
    match p {
        json if json.is_json() => serde_json::from_slice(&json.bytes()).unwrap(),
        other => panic!("not json: {other:?}"),
    }
}

/// The JSON value one column of the given type gets for `text`.
fn value_of(oid: u32, typmod: i32, text: &str, o: EncoderOptions) -> Result<Value, EncodeError> {
    let t = table(vec![col("id", 23, -1, true), col("v", oid, typmod, false)]);
    let mut out = Vec::new();
    Encoder::new(o).encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text(text)])), &mut out)?;
    Ok(payload_json(out[0].value.as_ref().unwrap())["after"]["v"].clone())
}

fn v(oid: u32, typmod: i32, text: &str) -> Value {
    value_of(oid, typmod, text, opts()).unwrap()
}

fn numeric_typmod(p: i32, s: i32) -> i32 {
    ((p << 16) | s) + 4
}

#[test]
fn integers_floats_and_booleans() {
    assert_eq!(v(21, -1, "-5"), json!(-5));
    assert_eq!(v(23, -1, "2147483647"), json!(2147483647));
    assert_eq!(v(20, -1, "9223372036854775807"), json!(9223372036854775807_i64));
    assert_eq!(v(26, -1, "4000000000"), json!(4_000_000_000_i64));
    assert_eq!(v(700, -1, "1.5"), json!(1.5));
    assert_eq!(v(701, -1, "2.25e+20"), json!(2.25e20));
    assert_eq!(v(701, -1, "NaN"), json!("NaN"));
    assert_eq!(v(701, -1, "-Infinity"), json!("-Infinity"));
    assert_eq!(v(16, -1, "t"), json!(true));
    assert_eq!(v(16, -1, "f"), json!(false));
}

/// The JSON converter writes Connect floats through Jackson, i.e. as Java prints a double / float: `100.0`,
/// `1.0E7`, quoted `"NaN"`. Checked on the raw bytes, since a JSON parser would hide the difference.
#[test]
fn floats_and_doubles_are_printed_as_java_prints_them() {
    let raw = |oid: u32, text: &str, o: EncoderOptions| {
        let t = table(vec![col("v", oid, numeric_typmod(10, 2), false)]);
        let mut out = Vec::new();
        Encoder::new(o).encode(&event(Op::Create, &t, None, Some(vec![Datum::text(text)])), &mut out).unwrap();
        let s = String::from_utf8(out[0].value.as_ref().unwrap().bytes().to_vec()).unwrap();
        s[s.find("\"after\":{\"v\":").unwrap() + 13..s.find("},\"source\"").unwrap()].to_string()
    };
    assert_eq!(raw(701, "100", opts()), "100.0");
    assert_eq!(raw(701, "1e+07", opts()), "1.0E7");
    assert_eq!(raw(701, "0.0001", opts()), "1.0E-4");
    assert_eq!(raw(701, "Infinity", opts()), "\"Infinity\"");
    assert_eq!(raw(700, "3.14159", opts()), "3.14159");
    let double = EncoderOptions { decimal_handling_mode: DecimalHandlingMode::Double, ..opts() };
    assert_eq!(raw(1700, "12.00", double.clone()), "12.0");
    assert_eq!(raw(790, "$1,000.50", double), "1000.5");
}

#[test]
fn numeric_with_scale_is_a_connect_decimal_in_base64() {
    // 12.34 → unscaled 1234 = 0x04D2.
    assert_eq!(v(1700, numeric_typmod(10, 2), "12.34"), json!("BNI="));
    assert_eq!(v(1700, numeric_typmod(10, 2), "-1.00"), json!("nA=="));
}

#[test]
fn numeric_without_scale_is_a_variable_scale_decimal() {
    // 12.345 → scale 3, unscaled 12345 = 0x3039.
    assert_eq!(v(1700, -1, "12.345"), json!({"scale": 3, "value": "MDk="}));
    // Debezium strips trailing zeros (BigDecimal.stripTrailingZeros, never below scale 0).
    assert_eq!(v(1700, -1, "12.34500"), json!({"scale": 3, "value": "MDk="}));
    assert_eq!(v(1700, -1, "100"), json!({"scale": 0, "value": "ZA=="}));
    assert_eq!(v(1700, -1, "1.000"), json!({"scale": 0, "value": "AQ=="}));
}

#[test]
fn decimal_schemas_carry_scale_and_precision_parameters() {
    let schema_of = |oid: u32, typmod: i32, mode: DecimalHandlingMode| {
        let t = table(vec![col("v", oid, typmod, false)]);
        let o = EncoderOptions {
            value: Converter::Json { schemas_enable: true },
            decimal_handling_mode: mode,
            money_fraction_digits: 3,
            ..opts()
        };
        let mut out = Vec::new();
        Encoder::new(o).encode(&event(Op::Create, &t, None, Some(vec![Datum::Null])), &mut out).unwrap();
        payload_json(out[0].value.as_ref().unwrap())["schema"]["fields"][1]["fields"][0].clone()
    };
    assert_eq!(
        schema_of(1700, numeric_typmod(10, 2), DecimalHandlingMode::Precise),
        json!({"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
               "parameters": {"scale": "2", "connect.decimal.precision": "10"}, "field": "v"})
    );
    assert_eq!(
        schema_of(1700, -1, DecimalHandlingMode::Precise),
        json!({"type": "struct", "fields": [
            {"type": "int32", "optional": false, "field": "scale"},
            {"type": "bytes", "optional": false, "field": "value"}
        ], "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
           "doc": "Variable scaled decimal", "field": "v"})
    );
    // money: Decimal.builder(money.fraction.digits), no precision.
    assert_eq!(
        schema_of(790, -1, DecimalHandlingMode::Precise),
        json!({"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
               "parameters": {"scale": "3"}, "field": "v"})
    );
    assert_eq!(
        schema_of(1700, -1, DecimalHandlingMode::Double),
        json!({"type": "double", "optional": true, "field": "v"})
    );
    assert_eq!(
        schema_of(790, -1, DecimalHandlingMode::String),
        json!({"type": "string", "optional": true, "field": "v"})
    );
}

#[test]
fn decimal_handling_double_and_string() {
    let mut o = opts();
    o.decimal_handling_mode = DecimalHandlingMode::Double;
    assert_eq!(value_of(1700, numeric_typmod(10, 2), "12.34", o.clone()).unwrap(), json!(12.34));
    o.decimal_handling_mode = DecimalHandlingMode::String;
    assert_eq!(value_of(1700, -1, "12.345", o).unwrap(), json!("12.345"));
}

#[test]
fn money_uses_the_fraction_digits() {
    assert_eq!(v(790, -1, "$1,234.56"), json!("AeJA"));
    assert_eq!(v(790, -1, "-$1.00"), json!("nA=="));
    // setScale(money.fraction.digits, HALF_UP): 12.35 at one digit is 12.4 → unscaled 124 = 0x7C.
    let o = EncoderOptions { money_fraction_digits: 1, ..opts() };
    assert_eq!(value_of(790, -1, "$12.35", o).unwrap(), json!("fA=="));
    let o = EncoderOptions { decimal_handling_mode: DecimalHandlingMode::String, ..opts() };
    assert_eq!(value_of(790, -1, "-$1,234.50", o).unwrap(), json!("-1234.50"));
}

/// Debezium docs, "Basic types": BIT(1) → BOOLEAN; BIT(n > 1) and BIT VARYING → io.debezium.data.Bits with a
/// `length` parameter, bytes little-endian and sized to the content.
#[test]
fn bits_are_booleans_or_little_endian_bytes() {
    assert_eq!(v(1560, 1, "1"), json!(true));
    assert_eq!(v(1562, 1, "0"), json!(false));
    // b'101' → bits 0 and 2 → 0x05.
    assert_eq!(v(1560, 3, "101"), json!("BQ=="));
    // 0b1_0000_0001 → 0x01, 0x01.
    assert_eq!(v(1562, -1, "100000001"), json!("AQE="));
    assert_eq!(v(1560, 8, "00000000"), json!(""));
    let t = table(vec![col("v", 1562, -1, false)]);
    let o = EncoderOptions { value: Converter::Json { schemas_enable: true }, ..opts() };
    let mut out = Vec::new();
    Encoder::new(o).encode(&event(Op::Create, &t, None, Some(vec![Datum::Null])), &mut out).unwrap();
    assert_eq!(
        payload_json(out[0].value.as_ref().unwrap())["schema"]["fields"][1]["fields"][0],
        json!({"type": "bytes", "optional": true, "name": "io.debezium.data.Bits", "version": 1,
               "parameters": {"length": "2147483647"}, "field": "v"})
    );
    assert!(value_of(1560, 3, "102", opts()).is_err());
}

/// Debezium docs: POINT → io.debezium.data.geometry.Point {x, y, wkb, srid}.
#[test]
fn points_are_debeziums_point_struct_with_wkb() {
    assert_eq!(v(600, -1, "(1,2)"), json!({"x": 1.0, "y": 2.0, "wkb": "AQEAAAAAAAAAAADwPwAAAAAAAABA", "srid": null}));
    assert!(value_of(600, -1, "(1;2)", opts()).is_err());
}

/// Debezium docs: ranges, CITEXT and INET are plain strings; LTREE is io.debezium.data.Ltree, TSVECTOR
/// io.debezium.data.Tsvector.
#[test]
fn ranges_tsvector_and_extension_types_are_strings() {
    assert_eq!(v(3904, -1, "[1,5)"), json!("[1,5)"));
    assert_eq!(v(3910, -1, "[\"2024-01-01 00:00:00+00\",)"), json!("[\"2024-01-01 00:00:00+00\",)"));
    assert_eq!(v(3905, -1, "{\"[1,2)\",empty}"), json!(["[1,2)", "empty"]));
    assert_eq!(v(3614, -1, "'a' 'b'"), json!("'a' 'b'"));
    let mut citext = col("v", 50000, -1, false);
    citext.type_name = "citext".into();
    let mut ltree = col("w", 50001, -1, false);
    ltree.type_name = "ltree".into();
    let t = table(vec![citext, ltree]);
    let o = EncoderOptions { value: Converter::Json { schemas_enable: true }, ..opts() };
    let mut out = Vec::new();
    Encoder::new(o)
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("Hi"), Datum::text("a.b")])), &mut out)
        .unwrap();
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["payload"]["after"], json!({"v": "Hi", "w": "a.b"}));
    assert_eq!(value["schema"]["fields"][1]["fields"][1]["name"], "io.debezium.data.Ltree");
}

/// PostgresValueConverter has no converter for money[], name[], interval[], xml[], bit varying[] or point[]:
/// Debezium leaves such columns out, even with include.unknown.datatypes.
#[test]
fn arrays_debezium_cannot_convert_are_left_out() {
    for oid in [791, 1003, 1187, 143, 1563, 1017] {
        let t = table(vec![col("id", 23, -1, true), col("v", oid, -1, false)]);
        let o = EncoderOptions { include_unknown_datatypes: true, ..opts() };
        let mut out = Vec::new();
        Encoder::new(o)
            .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text("{}")])), &mut out)
            .unwrap();
        assert_eq!(payload_json(out[0].value.as_ref().unwrap())["after"], json!({"id": 1}), "{oid}");
    }
}

#[test]
fn strings_uuid_json_xml_and_network_types() {
    assert_eq!(v(25, -1, "héllo \"x\""), json!("héllo \"x\""));
    assert_eq!(v(1042, 7, "ab "), json!("ab "));
    assert_eq!(v(2950, -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
    assert_eq!(v(3802, -1, "{\"a\": 1}"), json!("{\"a\": 1}"));
    assert_eq!(v(142, -1, "<a/>"), json!("<a/>"));
    assert_eq!(v(869, -1, "192.168.0.1"), json!("192.168.0.1"));
    assert_eq!(v(650, -1, "10.0.0.0/8"), json!("10.0.0.0/8"));
    assert_eq!(v(829, -1, "08:00:2b:01:02:03"), json!("08:00:2b:01:02:03"));
}

#[test]
fn bytea_per_binary_handling_mode() {
    assert_eq!(v(17, -1, "\\x0102ff"), json!("AQL/"));
    let mut o = opts();
    o.binary_handling_mode = BinaryHandlingMode::Hex;
    assert_eq!(value_of(17, -1, "\\x0102ff", o.clone()).unwrap(), json!("0102ff"));
    o.binary_handling_mode = BinaryHandlingMode::Base64UrlSafe;
    assert_eq!(value_of(17, -1, "\\xfbff", o).unwrap(), json!("-_8="));
}

#[test]
fn dates_times_and_timestamps_in_adaptive_mode() {
    assert_eq!(v(1082, -1, "2024-01-02"), json!(19724));
    assert_eq!(v(1083, -1, "12:34:56.789"), json!(45_296_789_000_i64));
    assert_eq!(v(1083, 3, "12:34:56.789"), json!(45_296_789));
    assert_eq!(v(1266, -1, "12:34:56+02"), json!("10:34:56Z"));
    assert_eq!(v(1114, -1, "2018-06-20 15:13:16.945104"), json!(1_529_507_596_945_104_i64));
    assert_eq!(v(1114, 3, "2018-06-20 15:13:16.945"), json!(1_529_507_596_945_i64));
    assert_eq!(v(1184, -1, "2018-06-20 15:13:16.945104+00"), json!("2018-06-20T15:13:16.945104Z"));
    assert_eq!(v(1186, -1, "1 day 02:00:00"), json!(93_600_000_000_i64));
}

#[test]
fn connect_time_precision_uses_milliseconds() {
    let mut o = opts();
    o.time_precision_mode = TimePrecisionMode::Connect;
    assert_eq!(value_of(1083, -1, "00:00:01.5", o.clone()).unwrap(), json!(1500));
    assert_eq!(value_of(1114, -1, "1970-01-01 00:00:01.5", o).unwrap(), json!(1500));
    let mut o = opts();
    o.time_precision_mode = TimePrecisionMode::AdaptiveTimeMicroseconds;
    assert_eq!(value_of(1083, 3, "00:00:01.5", o).unwrap(), json!(1_500_000));
}

/// The schema (`type`, `name`) and value of each temporal column under `mode`, from one schemas-enabled event.
fn temporal_fields(mode: TimePrecisionMode) -> Vec<(String, Value, Value)> {
    let columns = [
        ("d", 1082, -1, "2024-01-02"),
        ("t", 1083, -1, "12:34:56.789"),
        ("t3", 1083, 3, "12:34:56.789"),
        ("ttz", 1266, -1, "12:34:56+02"),
        ("ts", 1114, -1, "2018-06-20 15:13:16.945104"),
        ("ts3", 1114, 3, "2018-06-20 15:13:16.945"),
        ("tstz", 1184, -1, "2018-06-20 15:13:16.945104+00"),
        ("ta", 1183, -1, "{00:00:01.5}"),
    ];
    let mut cols = vec![col("id", 23, -1, true)];
    cols.extend(columns.iter().map(|(name, oid, typmod, _)| col(name, *oid, *typmod, false)));
    let mut row = vec![Datum::text("1")];
    row.extend(columns.iter().map(|(.., text)| Datum::text(text)));
    let o = EncoderOptions { value: Converter::Json { schemas_enable: true }, time_precision_mode: mode, ..opts() };
    let mut out = Vec::new();
    Encoder::new(o).encode(&event(Op::Create, &table(cols), None, Some(row)), &mut out).unwrap();
    let value = payload_json(out[0].value.as_ref().unwrap());
    let fields = value["schema"]["fields"][1]["fields"].as_array().unwrap().clone();
    columns
        .iter()
        .zip(&fields[1..])
        .map(|((name, ..), field)| {
            let schema = if field["type"] == "array" { &field["items"] } else { field };
            let described = json!([schema["type"], schema["name"]]);
            (name.to_string(), described, value["payload"]["after"][name].clone())
        })
        .collect()
}

fn assert_temporal(mode: TimePrecisionMode, want: &[(&str, &str, &str, Value)]) {
    let got = temporal_fields(mode);
    for ((name, ty, schema_name, value), (got_name, got_schema, got_value)) in want.iter().zip(&got) {
        assert_eq!(name, got_name);
        assert_eq!(got_schema, &json!([ty, schema_name]), "{mode:?} schema of {name}");
        assert_eq!(got_value, value, "{mode:?} value of {name}");
    }
}

/// Debezium 3's TemporalPrecisionMode.ISOSTRING: IsoDate, IsoTime and IsoTimestamp (`ISO_OFFSET_*` formatters at
/// UTC) for every precision; timetz and timestamptz keep ZonedTime and ZonedTimestamp.
#[test]
fn isostring_time_precision_gives_iso_strings_for_date_time_and_timestamp() {
    assert_temporal(
        TimePrecisionMode::IsoString,
        &[
            ("d", "string", "io.debezium.time.IsoDate", json!("2024-01-02Z")),
            ("t", "string", "io.debezium.time.IsoTime", json!("12:34:56.789Z")),
            ("t3", "string", "io.debezium.time.IsoTime", json!("12:34:56.789Z")),
            ("ttz", "string", "io.debezium.time.ZonedTime", json!("10:34:56Z")),
            ("ts", "string", "io.debezium.time.IsoTimestamp", json!("2018-06-20T15:13:16.945104Z")),
            ("ts3", "string", "io.debezium.time.IsoTimestamp", json!("2018-06-20T15:13:16.945Z")),
            ("tstz", "string", "io.debezium.time.ZonedTimestamp", json!("2018-06-20T15:13:16.945104Z")),
            ("ta", "string", "io.debezium.time.IsoTime", json!(["00:00:01.5Z"])),
        ],
    );
}

/// TemporalPrecisionMode.MICROSECONDS: io.debezium.time.Date, and MicroTime / MicroTimestamp whatever the precision.
#[test]
fn microseconds_time_precision_gives_micro_time_and_micro_timestamp_for_every_precision() {
    assert_temporal(
        TimePrecisionMode::Microseconds,
        &[
            ("d", "int32", "io.debezium.time.Date", json!(19724)),
            ("t", "int64", "io.debezium.time.MicroTime", json!(45_296_789_000_i64)),
            ("t3", "int64", "io.debezium.time.MicroTime", json!(45_296_789_000_i64)),
            ("ttz", "string", "io.debezium.time.ZonedTime", json!("10:34:56Z")),
            ("ts", "int64", "io.debezium.time.MicroTimestamp", json!(1_529_507_596_945_104_i64)),
            ("ts3", "int64", "io.debezium.time.MicroTimestamp", json!(1_529_507_596_945_000_i64)),
            ("tstz", "string", "io.debezium.time.ZonedTimestamp", json!("2018-06-20T15:13:16.945104Z")),
            ("ta", "int64", "io.debezium.time.MicroTime", json!([1_500_000])),
        ],
    );
}

/// TemporalPrecisionMode.NANOSECONDS: io.debezium.time.Date, NanoTime and NanoTimestamp.
#[test]
fn nanoseconds_time_precision_gives_nano_time_and_nano_timestamp() {
    assert_temporal(
        TimePrecisionMode::Nanoseconds,
        &[
            ("d", "int32", "io.debezium.time.Date", json!(19724)),
            ("t", "int64", "io.debezium.time.NanoTime", json!(45_296_789_000_000_i64)),
            ("t3", "int64", "io.debezium.time.NanoTime", json!(45_296_789_000_000_i64)),
            ("ttz", "string", "io.debezium.time.ZonedTime", json!("10:34:56Z")),
            ("ts", "int64", "io.debezium.time.NanoTimestamp", json!(1_529_507_596_945_104_000_i64)),
            ("ts3", "int64", "io.debezium.time.NanoTimestamp", json!(1_529_507_596_945_000_000_i64)),
            ("tstz", "string", "io.debezium.time.ZonedTimestamp", json!("2018-06-20T15:13:16.945104Z")),
            ("ta", "int64", "io.debezium.time.NanoTime", json!([1_500_000_000])),
        ],
    );
}

#[test]
fn a_timestamp_beyond_int64_nanoseconds_cannot_be_encoded_under_nanoseconds_precision() {
    let o = EncoderOptions { time_precision_mode: TimePrecisionMode::Nanoseconds, ..opts() };
    let err = value_of(1114, -1, "2300-01-01 00:00:00", o).unwrap_err().to_string();
    assert!(err.contains("time.precision.mode=microseconds or isostring"), "{err}");
}

#[test]
fn arrays_of_scalars_with_nulls_quotes_and_nesting() {
    assert_eq!(v(1007, -1, "{1,2,NULL}"), json!([1, 2, null]));
    assert_eq!(v(1009, -1, "{a,\"b c\",\"q\\\"x\",NULL,\"NULL\"}"), json!(["a", "b c", "q\"x", null, "NULL"]));
    assert_eq!(v(1007, -1, "{{1,2},{3,4}}"), json!([[1, 2], [3, 4]]));
    assert_eq!(v(1007, -1, "{}"), json!([]));
    assert_eq!(v(1182, -1, "{1970-01-02}"), json!([1]));
}

#[test]
fn enums_and_enum_arrays() {
    let mut c = col("v", 16500, -1, false);
    c.enum_values = Some(vec!["sad".into(), "happy".into()]);
    let t = table(vec![col("id", 23, -1, true), c.clone()]);
    let o = EncoderOptions { value: Converter::Json { schemas_enable: true }, ..opts() };
    let mut out = Vec::new();
    Encoder::new(o.clone())
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text("happy")])), &mut out)
        .unwrap();
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["payload"]["after"]["v"], json!("happy"));
    let field = &value["schema"]["fields"][1]["fields"][1];
    assert_eq!(field["name"], "io.debezium.data.Enum");
    assert_eq!(field["parameters"]["allowed"], "sad,happy");
    c.base_type_oid = 1009;
    let t = table(vec![col("id", 23, -1, true), c]);
    let mut out = Vec::new();
    Encoder::new(opts())
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text("{sad,happy}")])), &mut out)
        .unwrap();
    assert_eq!(payload_json(out[0].value.as_ref().unwrap())["after"]["v"], json!(["sad", "happy"]));
    // Enum.builder is not made optional for array items, unlike every other element schema.
    let mut out = Vec::new();
    Encoder::new(o)
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text("{sad}")])), &mut out)
        .unwrap();
    assert_eq!(
        payload_json(out[0].value.as_ref().unwrap())["schema"]["fields"][1]["fields"][1]["items"],
        json!({"type": "string", "optional": false, "name": "io.debezium.data.Enum", "version": 1,
               "parameters": {"allowed": "sad,happy"}})
    );
}

#[test]
fn unknown_types_are_left_out_or_sent_as_bytes() {
    // `box` has no Debezium mapping.
    let t = table(vec![col("id", 23, -1, true), col("g", 603, -1, false)]);
    let e = event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text("(1,2)")]));
    let mut out = Vec::new();
    Encoder::new(opts()).encode(&e, &mut out).unwrap();
    assert_eq!(payload_json(out[0].value.as_ref().unwrap())["after"], json!({"id": 1}));
    let mut out = Vec::new();
    Encoder::new(EncoderOptions { include_unknown_datatypes: true, ..opts() }).encode(&e, &mut out).unwrap();
    assert_eq!(payload_json(out[0].value.as_ref().unwrap())["after"]["g"], json!("KDEsMik="));
    // …represented per binary.handling.mode, like bytea.
    let mut out = Vec::new();
    let o = EncoderOptions {
        include_unknown_datatypes: true,
        binary_handling_mode: BinaryHandlingMode::Hex,
        value: Converter::Json { schemas_enable: true },
        ..opts()
    };
    Encoder::new(o).encode(&e, &mut out).unwrap();
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["payload"]["after"]["g"], json!("28312c3229"));
    assert_eq!(value["schema"]["fields"][1]["fields"][1], json!({"type": "string", "optional": true, "field": "g"}));
}

#[test]
fn a_full_envelope_with_schema_matches_debeziums_shape() {
    let t = table(vec![col("id", 23, -1, true), col("name", 25, -1, false)]);
    let o = EncoderOptions {
        key: Converter::Json { schemas_enable: true },
        value: Converter::Json { schemas_enable: true },
        ..opts()
    };
    let mut out = Vec::new();
    Encoder::new(o)
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("7"), Datum::text("x")])), &mut out)
        .unwrap();
    let r = &out[0];
    assert_eq!(&*r.topic, "app.public.t");
    let key = payload_json(r.key.as_ref().unwrap());
    assert_eq!(key["payload"], json!({"id": 7}));
    assert_eq!(
        key["schema"],
        json!({"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"app.public.t.Key"})
    );
    let value = payload_json(r.value.as_ref().unwrap());
    let p = &value["payload"];
    assert_eq!(p["before"], Value::Null);
    assert_eq!(p["after"], json!({"id": 7, "name": "x"}));
    assert_eq!(p["op"], "c");
    assert_eq!(p["transaction"], Value::Null);
    let s = &p["source"];
    assert_eq!(s["connector"], "postgresql");
    assert_eq!(s["name"], "app");
    assert_eq!(s["db"], "shop");
    assert_eq!(s["schema"], "public");
    assert_eq!(s["table"], "t");
    assert_eq!(s["txId"], 77);
    assert_eq!(s["lsn"], 990);
    assert_eq!(s["sequence"], "[\"1000\",\"3\"]");
    assert_eq!(s["ts_ms"], 1_700_000_000_123_i64);
    assert_eq!(s["ts_us"], 1_700_000_000_123_456_i64);
    assert_eq!(s["snapshot"], "false");
    assert!(p["ts_ms"].as_i64().unwrap() > 1_700_000_000_000);
    let schema = &value["schema"];
    assert_eq!(schema["name"], "app.public.t.Envelope");
    let names: Vec<&str> = schema["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(names, ["before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"]);
    assert_eq!(schema["fields"][1]["name"], "app.public.t.Value");
    assert_eq!(schema["fields"][1]["fields"][1], json!({"type":"string","optional":true,"field":"name"}));
    assert_eq!(schema["fields"][2]["name"], "io.debezium.connector.postgresql.Source");
    // The payload field names match the schema's source fields.
    let source_fields: Vec<&str> =
        schema["fields"][2]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    let payload_fields: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(source_fields, payload_fields);
}

/// The whole value document of a create event with schemas, key for key and in order, as Debezium 3.6's
/// PostgreSQL connector and Kafka's JsonConverter produce it (the envelope's processing-time `ts_*` replaced).
#[test]
fn a_create_event_with_schema_is_exactly_debeziums_document() {
    let mut name = col("name", 25, -1, false);
    name.type_name = "text".into();
    let t = table(vec![col("id", 23, -1, true), name]);
    let o = EncoderOptions { value: Converter::Json { schemas_enable: true }, ..opts() };
    let mut out = Vec::new();
    Encoder::new(o)
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("7"), Datum::text("x")])), &mut out)
        .unwrap();
    let mut actual = payload_json(out[0].value.as_ref().unwrap());
    let ts_us = actual["payload"]["ts_us"].as_i64().unwrap();
    assert_eq!(actual["payload"]["ts_ms"].as_i64().unwrap(), ts_us / 1000);
    assert_eq!(actual["payload"]["ts_ns"].as_i64().unwrap(), ts_us * 1000);
    for (k, v) in [("ts_ms", 1), ("ts_us", 2), ("ts_ns", 3)] {
        actual["payload"][k] = json!(v);
    }
    let row = json!({"type": "struct", "fields": [
        {"type": "int32", "optional": false, "field": "id"},
        {"type": "string", "optional": true, "field": "name"}
    ], "optional": true, "name": "app.public.t.Value"});
    let with_field = |mut s: Value, f: &str| {
        s["field"] = json!(f);
        s
    };
    let expected = json!({
        "schema": {
            "type": "struct",
            "fields": [
                with_field(row.clone(), "before"),
                with_field(row, "after"),
                {"type": "struct", "fields": [
                    {"type": "string", "optional": false, "field": "version"},
                    {"type": "string", "optional": false, "field": "connector"},
                    {"type": "string", "optional": false, "field": "name"},
                    {"type": "int64", "optional": false, "field": "ts_ms"},
                    {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
                     "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
                     "default": "false", "field": "snapshot"},
                    {"type": "string", "optional": false, "field": "db"},
                    {"type": "string", "optional": true, "field": "sequence"},
                    {"type": "int64", "optional": true, "field": "ts_us"},
                    {"type": "int64", "optional": true, "field": "ts_ns"},
                    {"type": "string", "optional": false, "field": "schema"},
                    {"type": "string", "optional": false, "field": "table"},
                    {"type": "int64", "optional": true, "field": "txId"},
                    {"type": "int64", "optional": true, "field": "lsn"},
                    {"type": "int64", "optional": true, "field": "xmin"},
                    {"type": "string", "optional": true, "field": "origin"},
                    {"type": "int64", "optional": true, "field": "origin_lsn"}
                ], "optional": false, "name": "io.debezium.connector.postgresql.Source", "version": 1, "field": "source"},
                {"type": "struct", "fields": [
                    {"type": "string", "optional": false, "field": "id"},
                    {"type": "int64", "optional": false, "field": "total_order"},
                    {"type": "int64", "optional": false, "field": "data_collection_order"}
                ], "optional": true, "name": "event.block", "version": 1, "field": "transaction"},
                {"type": "string", "optional": false, "field": "op"},
                {"type": "int64", "optional": true, "field": "ts_ms"},
                {"type": "int64", "optional": true, "field": "ts_us"},
                {"type": "int64", "optional": true, "field": "ts_ns"}
            ],
            "optional": false,
            "name": "app.public.t.Envelope",
            "version": 2
        },
        "payload": {
            "before": null,
            "after": {"id": 7, "name": "x"},
            "source": {
                "version": env!("CARGO_PKG_VERSION"),
                "connector": "postgresql",
                "name": "app",
                "ts_ms": 1_700_000_000_123_i64,
                "snapshot": "false",
                "db": "shop",
                "sequence": "[\"1000\",\"3\"]",
                "ts_us": 1_700_000_000_123_456_i64,
                "ts_ns": 1_700_000_000_123_456_000_i64,
                "schema": "public",
                "table": "t",
                "txId": 77,
                "lsn": 990,
                "xmin": null,
                "origin": null,
                "origin_lsn": null
            },
            "transaction": null,
            "op": "c",
            "ts_ms": 1,
            "ts_us": 2,
            "ts_ns": 3
        }
    });
    // Compared as text so that key order counts too.
    assert_eq!(serde_json::to_string_pretty(&actual).unwrap(), serde_json::to_string_pretty(&expected).unwrap());
}

#[test]
fn schemas_disabled_gives_the_bare_payload_for_key_and_value() {
    let t = table(vec![col("id", 23, -1, true)]);
    let mut out = Vec::new();
    Encoder::new(opts()).encode(&event(Op::Read, &t, None, Some(vec![Datum::text("5")])), &mut out).unwrap();
    assert_eq!(payload_json(out[0].key.as_ref().unwrap()), json!({"id": 5}));
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert!(value.get("schema").is_none() && value.get("payload").is_none());
    assert_eq!(value["op"], "r");
}

#[test]
fn deletes_carry_before_and_are_followed_by_a_tombstone() {
    let t = table(vec![col("id", 23, -1, true), col("name", 25, -1, false)]);
    let mut out = Vec::new();
    Encoder::new(opts())
        .encode(&event(Op::Delete, &t, Some(vec![Datum::text("7"), Datum::Null]), None), &mut out)
        .unwrap();
    assert_eq!(out.len(), 2);
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["before"], json!({"id": 7, "name": null}));
    assert_eq!(value["after"], Value::Null);
    assert_eq!(value["op"], "d");
    assert_eq!(out[1].value, None);
    assert_eq!(payload_json(out[1].key.as_ref().unwrap()), json!({"id": 7}));
    let mut out = Vec::new();
    Encoder::new(EncoderOptions { tombstones_on_delete: false, ..opts() })
        .encode(&event(Op::Delete, &t, Some(vec![Datum::text("7"), Datum::Null]), None), &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);
}

#[test]
fn tables_without_primary_key_have_null_keys() {
    let t = table(vec![col("a", 23, -1, false)]);
    let mut out = Vec::new();
    Encoder::new(opts()).encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1")])), &mut out).unwrap();
    assert_eq!(out[0].key, None);
}

#[test]
fn truncate_has_no_key_and_no_images() {
    let t = table(vec![col("id", 23, -1, true)]);
    let mut out = Vec::new();
    Encoder::new(opts()).encode(&event(Op::Truncate, &t, None, None), &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].key, None);
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!((value["op"].as_str(), &value["before"], &value["after"]), (Some("t"), &Value::Null, &Value::Null));
}

#[test]
fn logical_messages_go_to_the_message_topic() {
    let mut e = event(Op::Message, &table(vec![]), None, None);
    e.table = None;
    e.message = Some(LogicalMessage {
        transactional: true,
        prefix: "outbox".into(),
        content: bytes::Bytes::from_static(b"hi"),
    });
    let mut out = Vec::new();
    Encoder::new(opts()).encode(&e, &mut out).unwrap();
    assert_eq!(&*out[0].topic, "app.message");
    assert_eq!(payload_json(out[0].key.as_ref().unwrap()), json!({"prefix": "outbox"}));
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["op"], "m");
    assert_eq!(value["message"], json!({"prefix": "outbox", "content": "aGk="}));
    assert_eq!(value["transaction"], Value::Null);
    assert_eq!(value["source"]["txId"], 77);
    assert_eq!((value["source"]["schema"].as_str(), value["source"]["table"].as_str()), (Some(""), Some("")));
}

/// Debezium's PostgresSchemaFactory: MessageKey / MessageValue / Message, each version 1, prefix optional.
#[test]
fn message_events_carry_debeziums_message_schemas_and_no_txid_when_not_transactional() {
    let mut e = event(Op::Message, &table(vec![]), None, None);
    e.table = None;
    e.message = Some(LogicalMessage { transactional: false, prefix: "p".into(), content: bytes::Bytes::new() });
    let o = EncoderOptions {
        key: Converter::Json { schemas_enable: true },
        value: Converter::Json { schemas_enable: true },
        ..opts()
    };
    let mut out = Vec::new();
    Encoder::new(o).encode(&e, &mut out).unwrap();
    let key = payload_json(out[0].key.as_ref().unwrap());
    assert_eq!(
        key["schema"],
        json!({"type": "struct", "fields": [{"type": "string", "optional": true, "field": "prefix"}],
               "optional": false, "name": "io.debezium.connector.postgresql.MessageKey", "version": 1})
    );
    let value = payload_json(out[0].value.as_ref().unwrap());
    let schema = &value["schema"];
    assert_eq!(
        (schema["name"].as_str(), schema["version"].as_i64()),
        (Some("io.debezium.connector.postgresql.MessageValue"), Some(1))
    );
    let names: Vec<&str> = schema["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(names, ["op", "ts_ms", "source", "transaction", "message"]);
    assert_eq!(
        schema["fields"][4],
        json!({"type": "struct", "fields": [
            {"type": "string", "optional": true, "field": "prefix"},
            {"type": "bytes", "optional": true, "field": "content"}
        ], "optional": false, "name": "io.debezium.connector.postgresql.Message", "version": 1, "field": "message"})
    );
    let payload_keys: Vec<&str> = value["payload"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(payload_keys, names);
    assert_eq!(value["payload"]["source"]["txId"], Value::Null);
}

#[test]
fn message_content_follows_the_binary_handling_mode() {
    let mut e = event(Op::Message, &table(vec![]), None, None);
    e.table = None;
    e.message = Some(LogicalMessage {
        transactional: false,
        prefix: "p".into(),
        content: bytes::Bytes::from_static(b"\xfb\xff"),
    });
    for (mode, content, ty) in [
        (BinaryHandlingMode::Bytes, "+/8=", "bytes"),
        (BinaryHandlingMode::Base64, "+/8=", "string"),
        (BinaryHandlingMode::Base64UrlSafe, "-_8=", "string"),
        (BinaryHandlingMode::Hex, "fbff", "string"),
    ] {
        let mut out = Vec::new();
        let o =
            EncoderOptions { binary_handling_mode: mode, value: Converter::Json { schemas_enable: true }, ..opts() };
        Encoder::new(o).encode(&e, &mut out).unwrap();
        let value = payload_json(out[0].value.as_ref().unwrap());
        assert_eq!(value["payload"]["message"]["content"], json!(content), "{mode:?}");
        let fields = value["schema"]["fields"].as_array().unwrap();
        let message = fields.iter().find(|f| f["field"] == "message").unwrap();
        assert_eq!(message["fields"][1]["type"], json!(ty), "{mode:?}");
    }
}

#[test]
fn unchanged_toast_values_carry_the_placeholder() {
    let t = table(vec![
        col("id", 23, -1, true),
        col("big", 25, -1, false),
        col("blob", 17, -1, false),
        col("n", 23, -1, false),
    ]);
    let mut out = Vec::new();
    let row = vec![Datum::text("1"), Datum::Unchanged, Datum::Unchanged, Datum::Unchanged];
    Encoder::new(opts()).encode(&event(Op::Update, &t, None, Some(row)), &mut out).unwrap();
    let after = &payload_json(out[0].value.as_ref().unwrap())["after"];
    assert_eq!(after["big"], "__debezium_unavailable_value");
    assert_eq!(after["blob"], "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==");
    assert_eq!(after["n"], Value::Null);
}

/// Debezium's UnchangedToastedPlaceholder: text/json arrays get `[placeholder]`, integer/date/bigint arrays the
/// placeholder's bytes as numbers, bytea arrays `[bytes]`, uuid arrays `[UUID.nameUUIDFromBytes(placeholder)]`.
#[test]
fn unchanged_toast_arrays_carry_debeziums_per_type_placeholders() {
    let t = table(vec![
        col("id", 23, -1, true),
        col("texts", 1009, -1, false),
        col("ints", 1007, -1, false),
        col("blobs", 1001, -1, false),
        col("uuids", 2951, -1, false),
        col("j", 3802, -1, false),
    ]);
    let o = EncoderOptions { unavailable_value_placeholder: "ab".into(), ..opts() };
    let mut row = vec![Datum::Unchanged; 6];
    row[0] = Datum::text("1");
    let mut out = Vec::new();
    Encoder::new(o).encode(&event(Op::Update, &t, None, Some(row)), &mut out).unwrap();
    let after = &payload_json(out[0].value.as_ref().unwrap())["after"];
    assert_eq!(after["texts"], json!(["ab"]));
    assert_eq!(after["ints"], json!([97, 98]));
    assert_eq!(after["blobs"], json!(["YWI="]));
    // java.util.UUID.nameUUIDFromBytes("ab".getBytes()): MD5 187ef4436122d1cc2f40dc2b92f0eba0 with version 3 and the IETF variant.
    assert_eq!(after["uuids"], json!(["187ef443-6122-31cc-af40-dc2b92f0eba0"]));
    assert_eq!(after["j"], json!("ab"));
}

#[test]
fn simplestring_keys_are_connect_struct_text() {
    let t = table(vec![col("id", 23, -1, true), col("k2", 25, -1, true)]);
    let mut out = Vec::new();
    Encoder::new(EncoderOptions { key: Converter::SimpleString, ..opts() })
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text("x")])), &mut out)
        .unwrap();
    assert_eq!(out[0].key, Some(Payload::String("Struct{id=1,k2=x}".into())));
}

#[test]
fn the_binary_converter_refuses_struct_values() {
    let t = table(vec![col("id", 23, -1, true)]);
    let err = Encoder::new(EncoderOptions { value: Converter::Binary, ..opts() })
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1")])), &mut Vec::new())
        .unwrap_err();
    assert!(err.to_string().contains("binary converter needs a byte-array value"), "{err}");
}

#[test]
fn malformed_values_are_errors_naming_table_column_and_type() {
    for (oid, text) in
        [(23, "12x"), (16, "yes"), (1082, "2024-99-01"), (1700, "1.2.3"), (17, "\\xZZ"), (1007, "{1,2"), (1184, "nope")]
    {
        let err = value_of(oid, -1, text, opts()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("public.t.v") && msg.contains(&format!("oid{oid}")), "{msg}");
    }
}

#[test]
fn out_of_range_integers_and_non_json_numbers_are_errors() {
    for (oid, text) in [(21, "40000"), (23, "2147483648"), (20, "9223372036854775808"), (23, "007"), (701, "inf")] {
        assert!(value_of(oid, -1, text, opts()).is_err(), "{oid} {text}");
    }
    for text in ["1.", ".5", "+1", "1e"] {
        assert!(value_of(701, -1, text, opts()).is_err(), "{text}");
    }
}

/// A required (NOT NULL or key) column of `oid` holding `text`: its value, or the error.
fn required_value_of(oid: u32, typmod: i32, text: &str) -> Result<Value, EncodeError> {
    let t = table(vec![col("id", 23, -1, true), ColumnSchema { nullable: false, ..col("v", oid, typmod, false) }]);
    let mut out = Vec::new();
    Encoder::new(opts())
        .encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text(text)])), &mut out)?;
    Ok(payload_json(out[0].value.as_ref().unwrap())["after"]["v"].clone())
}

/// Debezium docs ("Decimal types"): NaN is only representable with decimal.handling.mode string (the constant
/// `NAN`) or double (`Double.NaN`); in precise mode Debezium fails with a hint to switch modes. Sluice fails too
/// where the schema forbids null (a NOT NULL or key column), and otherwise falls back to null so the value does
/// not block the stream (docs/events.md).
#[test]
fn numeric_special_values_are_null_or_fail_in_precise_mode_and_are_named_in_string_and_double_modes() {
    for (text, as_string) in [("NaN", "NAN"), ("Infinity", "POSITIVE_INFINITY"), ("-Infinity", "NEGATIVE_INFINITY")] {
        for typmod in [numeric_typmod(10, 2), -1] {
            let err = required_value_of(1700, typmod, text).unwrap_err().to_string();
            assert!(err.contains("decimal.handling.mode to string"), "{err}");
            assert_eq!(value_of(1700, typmod, text, opts()).unwrap(), Value::Null, "a nullable column gets null");
        }
        assert_eq!(v(1231, -1, &format!("{{1.5,{text},NULL}}")), json!([{"scale": 1, "value": "Dw=="}, null, null]));
        let o = EncoderOptions { decimal_handling_mode: DecimalHandlingMode::Double, ..opts() };
        assert_eq!(value_of(1700, -1, text, o).unwrap(), json!(text));
        let o = EncoderOptions { decimal_handling_mode: DecimalHandlingMode::String, ..opts() };
        assert_eq!(value_of(1700, -1, text, o).unwrap(), json!(as_string));
    }
}

#[test]
fn zoned_timestamps_pad_the_fraction_to_the_column_precision() {
    assert_eq!(v(1184, -1, "2024-01-02 03:04:05+00"), json!("2024-01-02T03:04:05.000000Z"));
    assert_eq!(v(1184, 3, "2024-01-02 03:04:05.12+00"), json!("2024-01-02T03:04:05.120Z"));
    assert_eq!(v(1184, 0, "2024-01-02 03:04:05+00"), json!("2024-01-02T03:04:05Z"));
    assert_eq!(v(1184, -1, "2024-01-02 05:04:05.5+02"), json!("2024-01-02T03:04:05.500000Z"));
    assert_eq!(v(1184, -1, "0044-03-15 12:00:00+00 BC"), json!("-0043-03-15T12:00:00.000000Z"));
    assert_eq!(v(1184, -1, "infinity"), json!("infinity"));
    assert_eq!(v(1184, -1, "-infinity"), json!("-infinity"));
}

#[test]
fn timestamp_infinities_use_the_jdbc_driver_sentinels() {
    assert_eq!(v(1114, -1, "infinity"), json!(9_223_372_036_825_200_000_i64));
    assert_eq!(v(1114, 3, "-infinity"), json!(-9_223_372_036_832_400_000_i64));
    assert_eq!(v(1082, -1, "infinity"), json!(i32::MAX));
    assert_eq!(v(1082, -1, "0001-12-31 BC"), json!(-719_163));
}

/// Every type the encoder maps, for the never-panics property below.
const ALL_OIDS: [u32; 39] = [
    16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 142, 650, 700, 701, 774, 790, 829, 869, 1042, 1043, 1082, 1083, 1114,
    1184, 1186, 1266, 1700, 2950, 3802, 1000, 1001, 1007, 1009, 1115, 1182, 1185, 1187, 1231, 1270,
];

proptest::proptest! {
    #[test]
    fn any_text_for_any_type_is_valid_json_or_an_error(
        oid_index in 0..ALL_OIDS.len(),
        typmod in proptest::prop_oneof![proptest::strategy::Just(-1), 0..=0x7fff_i32],
        text in r#"[-+0-9a-zA-Z:. {},\\"$x]{0,40}|\PC{0,20}"#,
    ) {
        let t = table(vec![col("id", 23, -1, true), col("v", ALL_OIDS[oid_index], typmod, false)]);
        let mut out = Vec::new();
        let row = vec![Datum::text("1"), Datum::text(text.as_str())];
        let mode = if typmod % 2 == 0 { TimePrecisionMode::Connect } else { TimePrecisionMode::Adaptive };
        let mut enc = Encoder::new(EncoderOptions {
            value: Converter::Json { schemas_enable: true },
            time_precision_mode: mode,
            ..opts()
        });
        match enc.encode(&event(Op::Create, &t, None, Some(row)), &mut out) {
            Ok(()) => {
                let Some(value) = out[0].value.as_ref().filter(|v| v.is_json()) else { panic!("no JSON value") };
                let bytes = value.bytes();
                proptest::prop_assert!(serde_json::from_slice::<Value>(&bytes).is_ok(), "{}", String::from_utf8_lossy(&bytes));
            }
            Err(EncodeError::Value { column, .. }) => proptest::prop_assert_eq!(column, "v"),
            Err(other) => proptest::prop_assert!(false, "unexpected error {other}"),
        }
    }
}

#[test]
fn arrays_deeper_than_postgresqls_six_dimensions_are_errors() {
    assert_eq!(v(1007, -1, "{{{{{{1}}}}}}"), json!([[[[[[1]]]]]]));
    assert!(value_of(1007, -1, "{{{{{{{1}}}}}}}", opts()).is_err());
    let deep = format!("{}{}", "{".repeat(100_000), "}".repeat(100_000));
    assert!(value_of(1007, -1, &deep, opts()).is_err());
}

#[test]
fn a_new_schema_version_rebuilds_the_cache() {
    let t1 = table(vec![col("id", 23, -1, true)]);
    let t2 = table(vec![col("id", 23, -1, true), col("added", 25, -1, false)]);
    let mut enc = Encoder::new(opts());
    let mut out = Vec::new();
    enc.encode(&event(Op::Create, &t1, None, Some(vec![Datum::text("1")])), &mut out).unwrap();
    enc.encode(&event(Op::Create, &t2, None, Some(vec![Datum::text("2"), Datum::text("x")])), &mut out).unwrap();
    assert_eq!(payload_json(out[1].value.as_ref().unwrap())["after"], json!({"id": 2, "added": "x"}));
}

#[test]
#[ignore = "prints throughput; run with --ignored --nocapture"]
fn throughput_of_an_eight_column_row_with_schemas() {
    let t = table(vec![
        col("id", 20, -1, true),
        col("a", 23, -1, false),
        col("b", 25, -1, false),
        col("c", 1700, numeric_typmod(12, 2), false),
        col("d", 1184, -1, false),
        col("e", 16, -1, false),
        col("f", 701, -1, false),
        col("g", 3802, -1, false),
    ]);
    let row = vec![
        Datum::text("123456"),
        Datum::text("42"),
        Datum::text("some text of about forty characters long."),
        Datum::text("1234.56"),
        Datum::text("2024-01-02 03:04:05.123456+00"),
        Datum::text("t"),
        Datum::text("3.14159"),
        Datum::text("{\"k\": 1}"),
    ];
    let mut enc = Encoder::new(EncoderOptions {
        key: Converter::Json { schemas_enable: true },
        value: Converter::Json { schemas_enable: true },
        ..opts()
    });
    let e = event(Op::Create, &t, None, Some(row));
    let n = 200_000;
    let start = std::time::Instant::now();
    let mut out = Vec::with_capacity(1024);
    for _ in 0..n {
        out.clear();
        enc.encode(&e, &mut out).unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{:.0} events/s", n as f64 / secs);
}

/// Debezium docs, "Primary key updates": a delete of the old key carrying `__debezium.newkey`, its tombstone, and
/// a create of the new key carrying `__debezium.oldkey`, instead of an update.
#[test]
fn an_update_that_changes_the_primary_key_becomes_delete_tombstone_and_create() {
    let t = table(vec![col("id", 23, -1, true), col("name", 25, -1, false)]);
    let before = vec![Datum::text("1"), Datum::Null];
    let after = vec![Datum::text("2"), Datum::text("x")];
    let mut out = Vec::new();
    Encoder::new(opts()).encode(&event(Op::Update, &t, Some(before), Some(after)), &mut out).unwrap();
    assert_eq!(out.len(), 3);
    let delete = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(
        (delete["op"].as_str(), &delete["before"], &delete["after"]),
        (Some("d"), &json!({"id": 1, "name": null}), &Value::Null)
    );
    assert_eq!(payload_json(out[0].key.as_ref().unwrap()), json!({"id": 1}));
    assert_eq!(out[0].headers, vec![("__debezium.newkey".to_string(), b"{\"id\":2}".to_vec())]);
    assert_eq!((out[1].value.as_ref(), out[1].key.as_ref()), (None, out[0].key.as_ref()));
    let create = payload_json(out[2].value.as_ref().unwrap());
    assert_eq!(
        (create["op"].as_str(), &create["before"], &create["after"]),
        (Some("c"), &Value::Null, &json!({"id": 2, "name": "x"}))
    );
    assert_eq!(out[2].headers, vec![("__debezium.oldkey".to_string(), b"{\"id\":1}".to_vec())]);

    // Same key (REPLICA IDENTITY FULL sends the old row on every update): a plain update with `before`.
    let mut out = Vec::new();
    let e = event(
        Op::Update,
        &t,
        Some(vec![Datum::text("2"), Datum::text("x")]),
        Some(vec![Datum::text("2"), Datum::text("y")]),
    );
    Encoder::new(opts()).encode(&e, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    let update = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!((update["op"].as_str(), &update["before"]["name"]), (Some("u"), &json!("x")));
}

#[test]
fn heartbeats_are_debeziums_server_name_key_and_ts_ms_value() {
    let with_schemas = EncoderOptions {
        key: Converter::Json { schemas_enable: true },
        value: Converter::Json { schemas_enable: true },
        ..opts()
    };
    let record = Encoder::new(with_schemas).heartbeat("__debezium-heartbeat", Position::new(Lsn(7), 3));
    assert_eq!(&*record.topic, "__debezium-heartbeat.app");
    assert_eq!(record.position, Position::new(Lsn(7), 3));
    let key = payload_json(record.key.as_ref().unwrap());
    assert_eq!(key["schema"]["name"], "io.debezium.connector.common.ServerNameKey");
    assert_eq!(key["payload"], json!({"serverName": "app"}));
    let value = payload_json(record.value.as_ref().unwrap());
    assert_eq!(value["schema"]["name"], "io.debezium.connector.common.Heartbeat");
    assert!(value["payload"]["ts_ms"].as_i64().unwrap() > 1_700_000_000_000);

    let binary = EncoderOptions { value: Converter::Binary, key: Converter::SimpleString, ..opts() };
    let record = Encoder::new(binary).heartbeat("hb", Position::default());
    assert_eq!(record.key, Some(Payload::String("Struct{serverName=app}".into())));
    assert!(matches!(record.value, Some(Payload::Binary(ref b)) if b.starts_with(b"{\"ts_ms\":")));
}

#[test]
fn records_of_one_table_share_the_envelope_schema_instead_of_copying_it() {
    let t = table(vec![col("id", 23, -1, true), col("v", 25, -1, false)]);
    let o = EncoderOptions { value: Converter::Json { schemas_enable: true }, ..opts() };
    let mut enc = Encoder::new(o);
    let mut out = Vec::new();
    for id in ["1", "2"] {
        enc.encode(&event(Op::Create, &t, None, Some(vec![Datum::text(id), Datum::text("x")])), &mut out).unwrap();
    }
    let schema = |p: &Payload| match p {
        Payload::JsonWithSchema { schema, .. } => schema.clone(),
        other => panic!("not a shared-schema payload: {other:?}"),
    };
    let (first, second) = (schema(out[0].value.as_ref().unwrap()), schema(out[1].value.as_ref().unwrap()));
    assert!(Arc::ptr_eq(&first, &second));
    // However it is held, the record's bytes are one JSON document with the schema and the payload.
    let whole = out[1].value.as_ref().unwrap();
    assert_eq!(whole.bytes().len(), whole.len());
    let doc: Value = serde_json::from_slice(&whole.bytes()).unwrap();
    assert_eq!(doc["payload"]["after"]["id"], 2);
    assert_eq!(doc["schema"]["name"], "app.public.t.Envelope");
}

#[test]
fn json_strings_escape_quotes_controls_and_invalid_utf8_and_copy_plain_ascii_whole() {
    let enc = |b: &[u8]| {
        let mut out = Vec::new();
        crate::json::bytes_as_string(&mut out, b);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(enc(b"plain ascii 123"), "\"plain ascii 123\"");
    assert_eq!(enc(b"a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
    assert_eq!(enc("grüße \"x\"".as_bytes()), "\"grüße \\\"x\\\"\"");
    assert_eq!(enc(b"bad \xff end"), "\"bad \u{fffd} end\"");
}

fn named_table(oid: u32, name: &str) -> Arc<TableSchema> {
    Arc::new(TableSchema {
        relation_oid: oid,
        id: TableId::new("public", name),
        columns: vec![col("id", 23, -1, true)],
        replica_identity: ReplicaIdentity::Default,
    })
}

fn encode_row(encoder: &mut Encoder, t: &Arc<TableSchema>) -> Result<Vec<Record>, EncodeError> {
    let mut out = Vec::new();
    encoder.encode(&event(Op::Create, t, None, Some(vec![Datum::text("1")])), &mut out)?;
    Ok(out)
}

#[test]
fn table_topics_are_sanitized_for_kafka_and_schema_names_keep_the_table_name() {
    let o = EncoderOptions { key: Converter::Json { schemas_enable: true }, ..opts() };
    let mut encoder = Encoder::new(o);
    for (name, topic) in [("🚀", "app.public.__"), ("my table", "app.public.my_table"), ("a/b", "app.public.a_b")] {
        let out = encode_row(&mut encoder, &named_table(name.len() as u32 + 100, name)).unwrap();
        assert_eq!(&*out[0].topic, topic);
        let key: Value = serde_json::from_slice(&out[0].key.as_ref().unwrap().bytes()).unwrap();
        assert_eq!(key["schema"]["name"], format!("app.public.{name}.Key"), "schema names are not topic names");
    }
}

#[test]
fn two_tables_whose_names_sanitize_alike_are_an_error_naming_both() {
    let mut encoder = Encoder::new(opts());
    encode_row(&mut encoder, &named_table(1, "a/b")).unwrap();
    let err = encode_row(&mut encoder, &named_table(2, "a b")).unwrap_err().to_string();
    assert!(err.contains(r#""public"."a/b""#) && err.contains(r#""public"."a b""#), "{err}");
    assert!(err.contains("`app.public.a_b`"), "{err}");
    // The first table keeps its topic; the same name under a new relation (dropped and created again) is no
    // collision, and neither is a rename of the same relation.
    assert_eq!(&*encode_row(&mut encoder, &named_table(1, "a/b")).unwrap()[0].topic, "app.public.a_b");
    assert_eq!(&*encode_row(&mut encoder, &named_table(3, "a/b")).unwrap()[0].topic, "app.public.a_b");

    let tables = [TableId::new("public", "x"), TableId::new("public", "a.b"), TableId::new("public.a", "b")];
    assert!(encoder.check_topics(&tables[..2]).is_ok());
    let err = encoder.check_topics(&tables).unwrap_err().to_string();
    assert!(err.contains(r#""public"."a.b""#) && err.contains(r#""public.a"."b""#), "{err}");
    let tables = [TableId::new("public", "🚀"), TableId::new("public", "__")];
    assert!(encoder.check_topics(&tables).is_err(), "an emoji and two underscores meet");
}

#[test]
fn message_and_heartbeat_topics_are_sanitized_too() {
    let encoder = Encoder::new(EncoderOptions { topic_prefix: "my app".into(), ..opts() });
    assert_eq!(&*encoder.heartbeat("__debezium-heartbeat", Position::default()).topic, "__debezium-heartbeat.my_app");
    assert_eq!(&*encoder.message_topic, "my_app.message");
}

/// A column of the given type name (its OID chosen to match), with a DEFAULT expression as `pg_get_expr` prints it.
fn col_with_default(name: &str, oid: u32, type_name: &str, pk: bool, default: &str) -> ColumnSchema {
    ColumnSchema { type_name: type_name.into(), default_expression: Some(default.into()), ..col(name, oid, -1, pk) }
}

fn defaults_table() -> Arc<TableSchema> {
    table(vec![
        col_with_default("id", 23, "int4", true, "nextval('t_id_seq'::regclass)"),
        col_with_default("currency", 25, "text", false, "'USD'::text"),
        col_with_default("created", 1184, "timestamptz", false, "now()"),
    ])
}

#[test]
fn a_columns_default_is_in_its_field_schema_after_the_type_and_before_the_field_name() {
    let schemas = EncoderOptions {
        key: Converter::Json { schemas_enable: true },
        value: Converter::Json { schemas_enable: true },
        ..opts()
    };
    let mut out = Vec::new();
    let row = vec![Datum::text("1"), Datum::text("EUR"), Datum::text("2024-01-02 03:04:05+00")];
    Encoder::new(schemas).encode(&event(Op::Create, &defaults_table(), None, Some(row)), &mut out).unwrap();
    let key = String::from_utf8(out[0].key.as_ref().unwrap().bytes().to_vec()).unwrap();
    let value = String::from_utf8(out[0].value.as_ref().unwrap().bytes().to_vec()).unwrap();
    // Debezium gives a serial key the placeholder 0 (PostgresDefaultValueConverter) and the JsonConverter writes
    // `default` after the schema's own attributes.
    assert!(key.contains(r#"{"type":"int32","optional":false,"default":0,"field":"id"}"#), "{key}");
    assert!(value.contains(r#"{"type":"string","optional":true,"default":"USD","field":"currency"}"#), "{value}");
    // Timestamp defaults are among those Sluice leaves out.
    assert!(value.contains(r#"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"created"}"#), "{value}");
    assert_eq!(payload_json(out[0].value.as_ref().unwrap())["payload"]["after"]["currency"], "EUR");
}

#[test]
fn the_json_converter_writes_a_null_of_a_field_with_a_default_as_the_default() {
    let row = || Some(vec![Datum::text("1"), Datum::Null, Datum::Null]);
    let mut out = Vec::new();
    Encoder::new(opts()).encode(&event(Op::Create, &defaults_table(), None, row()), &mut out).unwrap();
    let after = &payload_json(out[0].value.as_ref().unwrap())["after"];
    // Kafka's JsonConverter, replace.null.with.default=true (its default).
    assert_eq!(after["currency"], "USD");
    assert_eq!(after["created"], Value::Null, "a column without a derived default stays null");

    // Connect's Struct.toString (the string converter) shows the value as it is: null, left out.
    let string = EncoderOptions { value: Converter::SimpleString, ..opts() };
    let mut out = Vec::new();
    Encoder::new(string).encode(&event(Op::Create, &defaults_table(), None, row()), &mut out).unwrap();
    let text = String::from_utf8(out[0].value.as_ref().unwrap().bytes().to_vec()).unwrap();
    assert!(text.contains("after=Struct{id=1}"), "{text}");
}

#[test]
fn hstore_columns_are_json_strings_named_io_debezium_data_json() {
    let hstore =
        |name: &str, type_name: &str| ColumnSchema { type_name: type_name.into(), ..col(name, 16_500, -1, false) };
    let t = table(vec![col("id", 23, -1, true), hstore("h", "hstore"), hstore("hs", "_hstore")]);
    let schemas = EncoderOptions { value: Converter::Json { schemas_enable: true }, ..opts() };
    let mut out = Vec::new();
    let row = vec![Datum::text("1"), Datum::text(r#""a"=>"1", "b"=>NULL"#), Datum::text(r#"{"\"x\"=>\"y\""}"#)];
    Encoder::new(schemas).encode(&event(Op::Create, &t, None, Some(row)), &mut out).unwrap();
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["payload"]["after"]["h"], r#"{"a":"1","b":null}"#);
    assert_eq!(value["payload"]["after"]["hs"], json!([r#"{"x":"y"}"#]));
    let fields = &value["schema"]["fields"][1]["fields"];
    assert_eq!(
        fields[1],
        json!({"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1, "field": "h"})
    );
    assert_eq!(fields[2]["items"]["name"], "io.debezium.data.Json");
}

#[test]
fn hstore_columns_under_map_mode_are_connect_maps_of_optional_strings() {
    let hstore =
        |name: &str, type_name: &str| ColumnSchema { type_name: type_name.into(), ..col(name, 16_500, -1, false) };
    let t = table(vec![col("id", 23, -1, true), hstore("h", "hstore"), hstore("hs", "_hstore")]);
    let schemas = EncoderOptions {
        value: Converter::Json { schemas_enable: true },
        hstore_handling_mode: HStoreHandlingMode::Map,
        ..opts()
    };
    let mut out = Vec::new();
    // Debezium's AbstractRecordsProducerTest.schemaAndValueFieldForMapEncodedHStoreTypeWithNullValues and
    // …WithMultipleValues: `"key1" => "val1","key2" => NULL` is {key1: val1, key2: null}, the array one map per element.
    let row = vec![
        Datum::text("1"),
        Datum::text(r#""key1"=>"val1", "key2"=>NULL"#),
        Datum::text(r#"{"\"key4\"=>\"val4\", \"key5\"=>NULL","\"key6\"=>\"val6\""}"#),
    ];
    Encoder::new(schemas).encode(&event(Op::Create, &t, None, Some(row)), &mut out).unwrap();
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["payload"]["after"]["h"], json!({"key1": "val1", "key2": null}));
    assert_eq!(value["payload"]["after"]["hs"], json!([{"key4": "val4", "key5": null}, {"key6": "val6"}]));
    let fields = &value["schema"]["fields"][1]["fields"];
    // Debezium's hstoreMapSchema: SchemaBuilder.map(STRING_SCHEMA, optional string), optional; no name.
    let map = json!({
        "type": "map",
        "keys": {"type": "string", "optional": false},
        "values": {"type": "string", "optional": true},
        "optional": true,
    });
    let mut field = map.clone();
    field["field"] = json!("h");
    assert_eq!(fields[1], field);
    assert_eq!(fields[2], json!({"type": "array", "items": map, "optional": true, "field": "hs"}));
    // The map keeps Java's HashMap order, as under json mode.
    let text = String::from_utf8(out[0].value.as_ref().unwrap().bytes().to_vec()).unwrap();
    assert!(text.contains(r#""h":{"key1":"val1","key2":null}"#), "{text}");
}

#[test]
fn an_unchanged_toasted_hstore_under_map_mode_is_the_placeholder_map() {
    let t = table(vec![
        col("id", 23, -1, true),
        ColumnSchema { type_name: "hstore".into(), ..col("h", 16_500, -1, false) },
    ]);
    let mut out = Vec::new();
    let row = vec![Datum::text("1"), Datum::Unchanged];
    let o = EncoderOptions { hstore_handling_mode: HStoreHandlingMode::Map, ..opts() };
    Encoder::new(o).encode(&event(Op::Update, &t, None, Some(row)), &mut out).unwrap();
    let after = &payload_json(out[0].value.as_ref().unwrap())["after"];
    assert_eq!(after["h"], json!({"__debezium_unavailable_value": "__debezium_unavailable_value"}));
}

#[test]
fn intervals_under_string_mode_are_iso_strings_named_io_debezium_time_interval() {
    let t = table(vec![col("id", 23, -1, true), col("it", 1186, -1, false)]);
    let o = EncoderOptions {
        value: Converter::Json { schemas_enable: true },
        interval_handling_mode: IntervalHandlingMode::String,
        ..opts()
    };
    let mut out = Vec::new();
    // Debezium's AbstractRecordsProducerTest.schemaAndValuesForIntervalAsString.
    let row = vec![Datum::text("1"), Datum::text("1 year 2 mons 3 days 04:05:06.78")];
    Encoder::new(o).encode(&event(Op::Create, &t, None, Some(row)), &mut out).unwrap();
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["payload"]["after"]["it"], "P1Y2M3DT4H5M6.78S");
    assert_eq!(
        value["schema"]["fields"][1]["fields"][1],
        json!({"type": "string", "optional": true, "name": "io.debezium.time.Interval", "version": 1, "field": "it"})
    );
}

#[test]
fn an_unchanged_toasted_hstore_is_debeziums_one_entry_placeholder_object() {
    let t = table(vec![
        col("id", 23, -1, true),
        ColumnSchema { type_name: "hstore".into(), ..col("h", 16_500, -1, false) },
    ]);
    let mut out = Vec::new();
    let row = vec![Datum::text("1"), Datum::Unchanged];
    Encoder::new(opts()).encode(&event(Op::Update, &t, None, Some(row)), &mut out).unwrap();
    let after = &payload_json(out[0].value.as_ref().unwrap())["after"];
    // Debezium's PostgresDefaultValueConverterIT, shouldSerializeHstoreDefaultAsJsonStringWhenUnavailable (DBZ-7582).
    assert_eq!(after["h"], r#"{"__debezium_unavailable_value":"__debezium_unavailable_value"}"#);
}

fn with_naming(naming: naming::Naming) -> EncoderOptions {
    let json = Converter::Json { schemas_enable: true };
    EncoderOptions { key: json.clone(), value: json, naming, ..opts() }
}

#[test]
fn the_delimiter_joins_table_topics_schema_names_and_the_heartbeat_topic_but_not_the_message_topic() {
    let naming = naming::Naming { delimiter: "_".into(), ..naming::Naming::default() };
    let mut encoder = Encoder::new(with_naming(naming));
    let out = encode_row(&mut encoder, &named_table(1, "orders")).unwrap();
    assert_eq!(&*out[0].topic, "app_public_orders");
    let key = payload_json(out[0].key.as_ref().unwrap());
    let value = payload_json(out[0].value.as_ref().unwrap());
    // Debezium names a table's schemas after its topic (TableSchemaBuilder).
    assert_eq!(key["schema"]["name"], "app_public_orders.Key");
    assert_eq!(value["schema"]["name"], "app_public_orders.Envelope");
    assert_eq!(value["schema"]["fields"][0]["name"], "app_public_orders.Value");
    assert_eq!(&*encoder.heartbeat("__debezium-heartbeat", Position::default()).topic, "__debezium-heartbeat_app");
    // LogicalDecodingMessageMonitor appends a literal `.message`.
    assert_eq!(&*encoder.message_topic, "app.message");
}

#[test]
fn the_default_strategy_puts_same_named_tables_of_two_schemas_on_one_topic_which_is_refused() {
    let naming = naming::Naming { strategy: naming::TopicNamingStrategy::Default, ..naming::Naming::default() };
    let mut encoder = Encoder::new(with_naming(naming));
    let out = encode_row(&mut encoder, &named_table(1, "orders")).unwrap();
    assert_eq!(&*out[0].topic, "app.orders");
    assert_eq!(payload_json(out[0].key.as_ref().unwrap())["schema"]["name"], "app.orders.Key");
    let other = Arc::new(TableSchema {
        relation_oid: 2,
        id: TableId::new("archive", "orders"),
        ..(*named_table(2, "x")).clone()
    });
    let err = encode_row(&mut encoder, &other).unwrap_err().to_string();
    assert!(err.contains("`app.orders`") && err.contains("topic.naming.strategy"), "{err}");
    let tables = [TableId::new("public", "orders"), TableId::new("archive", "orders")];
    assert!(encoder.check_topics(&tables).is_err());
}

#[test]
fn adjusted_schema_and_field_names_are_what_avro_allows_in_schemas_and_payloads() {
    let naming = naming::Naming {
        schema_names: naming::NameAdjustment::Avro,
        field_names: naming::NameAdjustment::Avro,
        ..naming::Naming::default()
    };
    let o = EncoderOptions { topic_prefix: "my-app".into(), ..with_naming(naming) };
    let mut encoder = Encoder::new(o);
    let t = Arc::new(TableSchema {
        relation_oid: 1,
        id: TableId::new("public", "order lines"),
        columns: vec![col("line.id", 23, -1, true), col("2nd note", 25, -1, false)],
        replica_identity: ReplicaIdentity::Default,
    });
    let mut out = Vec::new();
    encoder.encode(&event(Op::Create, &t, None, Some(vec![Datum::text("1"), Datum::text("x")])), &mut out).unwrap();
    // The topic is sanitized for Kafka, which keeps `-`; the schema names are adjusted for Avro, which does not.
    assert_eq!(&*out[0].topic, "my-app.public.order_lines");
    let key = payload_json(out[0].key.as_ref().unwrap());
    assert_eq!(key["schema"]["name"], "my_app.public.order_lines.Key");
    assert_eq!(key["schema"]["fields"][0]["field"], "line_id");
    assert_eq!(key["payload"], json!({"line_id": 1}));
    let value = payload_json(out[0].value.as_ref().unwrap());
    assert_eq!(value["schema"]["name"], "my_app.public.order_lines.Envelope");
    assert_eq!(value["schema"]["fields"][1]["name"], "my_app.public.order_lines.Value");
    assert_eq!(value["schema"]["fields"][1]["fields"][1]["field"], "_2nd_note");
    assert_eq!(value["payload"]["after"], json!({"line_id": 1, "_2nd_note": "x"}));
}
