//! Every type family, end to end: the value Debezium produces, in the snapshot and in the stream alike.
//! Plus the PostgreSQL quirks: unchanged TOAST values, REPLICA IDENTITY FULL, tables without a primary key,
//! TRUNCATE, logical messages, column filters.

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

const COLUMNS: &str = "
    id int PRIMARY KEY,
    c_smallint smallint, c_int int, c_bigint bigint, c_real real, c_double double precision,
    c_numeric numeric(10,2), c_numeric_free numeric, c_money money, c_bool boolean,
    c_text text, c_varchar varchar(10), c_char char(4), c_bytea bytea,
    c_date date, c_time time, c_time3 time(3), c_timetz timetz, c_timestamp timestamp, c_timestamptz timestamptz,
    c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb, c_xml xml, c_inet inet, c_cidr cidr,
    c_macaddr macaddr, c_int_array int[], c_text_array text[], c_enum mood, c_enum_array mood[], c_domain posint,
    c_point point, c_box box";

const VALUES: &str = "-5, 42, 9000000000, 1.5, 2.25, 12.34, 12.345, 12.34, true, 'héllo', 'abc', 'ab', '\\x0102ff',
    '2024-01-02', '12:34:56.789', '12:34:56.789', '12:34:56+02', '2018-06-20 15:13:16.945104',
    '2018-06-20 17:13:16.945104+02', '1 day 2 hours', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\":1}',
    '{\"a\": 1}', '<a/>', '192.168.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', '{1,2,NULL}', '{a,\"b c\"}', 'happy',
    '{sad,happy}', 7, '(1,2)', '((0,0),(1,1))'";

fn expected(id: i64) -> Value {
    json!({
        "id": id,
        "c_smallint": -5, "c_int": 42, "c_bigint": 9_000_000_000_i64, "c_real": 1.5, "c_double": 2.25,
        "c_numeric": "BNI=", "c_numeric_free": {"scale": 3, "value": "MDk="}, "c_money": "BNI=", "c_bool": true,
        "c_text": "héllo", "c_varchar": "abc", "c_char": "ab  ", "c_bytea": "AQL/",
        "c_date": 19724, "c_time": 45_296_789_000_i64, "c_time3": 45_296_789, "c_timetz": "10:34:56Z",
        "c_timestamp": 1_529_507_596_945_104_i64, "c_timestamptz": "2018-06-20T15:13:16.945104Z",
        "c_interval": 93_600_000_000_i64, "c_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "c_json": "{\"a\":1}", "c_jsonb": "{\"a\": 1}", "c_xml": "<a/>", "c_inet": "192.168.0.1",
        "c_cidr": "10.0.0.0/8", "c_macaddr": "08:00:2b:01:02:03", "c_int_array": [1, 2, null],
        "c_text_array": ["a", "b c"], "c_enum": "happy", "c_enum_array": ["sad", "happy"], "c_domain": 7,
        "c_point": {"x": 1.0, "y": 2.0, "wkb": "AQEAAAAAAAAAAADwPwAAAAAAAABA", "srid": null}
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_type_family_has_debeziums_value_in_snapshot_and_stream() {
    let setup = Setup::new("types").await;
    setup.db.psql(&format!(
        "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE DOMAIN posint AS int CHECK (VALUE > 0);
         CREATE TABLE types ({COLUMNS}); INSERT INTO types VALUES (1, {VALUES});"
    ));
    let sluice = setup.start();
    setup.wait_for_records("the snapshot row", WAIT, |r| !r.is_empty());
    setup.db.psql(&format!("INSERT INTO types VALUES (2, {VALUES});"));
    setup.wait_for_records("the streamed row", WAIT, |r| r.len() >= 2);
    sluice.stop();
    let envelopes = setup.envelopes("types");
    assert_eq!(envelopes[0]["op"], "r");
    assert_eq!(envelopes[1]["op"], "c");
    for (envelope, id) in envelopes.iter().zip([1, 2]) {
        let after = &envelope["after"];
        let want = expected(id);
        for (column, value) in want.as_object().unwrap() {
            assert_eq!(&after[column], value, "column {column} (row {id})");
        }
        assert!(after.get("c_box").is_none(), "an unsupported type is left out unless include.unknown.datatypes");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schemas_enabled_events_carry_connect_schemas_for_each_type() {
    let mut setup = Setup::new("types_schema").await;
    setup.set("debezium.format.value.schemas.enable", "true");
    setup.set("debezium.format.key.schemas.enable", "true");
    setup.db.psql(&format!(
        "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE DOMAIN posint AS int CHECK (VALUE > 0);
         CREATE TABLE types ({COLUMNS}); INSERT INTO types VALUES (1, {VALUES});"
    ));
    let sluice = setup.start();
    let records = setup.wait_for_records("the snapshot row", WAIT, |r| !r.is_empty());
    sluice.stop();
    let value = &records[0]["value"];
    assert_eq!(value["payload"]["after"]["c_numeric"], "BNI=");
    let fields = value["schema"]["fields"][1]["fields"].as_array().unwrap();
    let field =
        |name: &str| fields.iter().find(|f| f["field"] == name).unwrap_or_else(|| panic!("no field {name}")).clone();
    assert_eq!(field("id")["optional"], false);
    assert_eq!(field("c_numeric")["name"], "org.apache.kafka.connect.data.Decimal");
    assert_eq!(field("c_numeric")["parameters"], json!({"scale": "2", "connect.decimal.precision": "10"}));
    assert_eq!(field("c_numeric_free")["name"], "io.debezium.data.VariableScaleDecimal");
    assert_eq!(field("c_timestamptz")["name"], "io.debezium.time.ZonedTimestamp");
    assert_eq!(field("c_timestamp")["name"], "io.debezium.time.MicroTimestamp");
    assert_eq!(field("c_time3")["name"], "io.debezium.time.Time");
    assert_eq!(field("c_date")["name"], "io.debezium.time.Date");
    assert_eq!(field("c_interval")["name"], "io.debezium.time.MicroDuration");
    assert_eq!(field("c_uuid")["name"], "io.debezium.data.Uuid");
    assert_eq!(field("c_jsonb")["name"], "io.debezium.data.Json");
    assert_eq!(field("c_enum")["parameters"]["allowed"], "sad,happy");
    assert_eq!(field("c_int_array")["items"]["type"], "int32");
    assert_eq!(field("c_domain")["type"], "int32");
    assert_eq!(records[0]["key"]["schema"]["name"], "test.public.types.Key");
}

#[tokio::test(flavor = "multi_thread")]
async fn decimal_time_and_binary_modes_change_the_representation() {
    let mut setup = Setup::new("types_modes").await;
    setup.set("debezium.source.decimal.handling.mode", "string");
    setup.set("debezium.source.time.precision.mode", "connect");
    setup.set("debezium.source.binary.handling.mode", "hex");
    setup.db.psql(
        "CREATE TABLE m (id int PRIMARY KEY, n numeric(10,2), t time, ts timestamp, b bytea);
         INSERT INTO m VALUES (1, 12.34, '00:00:01.5', '1970-01-01 00:00:01.5', '\\x0aff');",
    );
    let sluice = setup.start();
    setup.wait_for_records("the row", WAIT, |r| !r.is_empty());
    sluice.stop();
    let after = &setup.envelopes("m")[0]["after"];
    assert_eq!(after, &json!({"id": 1, "n": "12.34", "t": 1500, "ts": 1500, "b": "0aff"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_toast_values_carry_the_placeholder_and_full_identity_gives_before_images() {
    let setup = Setup::new("toast").await;
    setup.db.psql(
        "CREATE TABLE docs (id int PRIMARY KEY, body text, n int);
         ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
         CREATE TABLE full_rows (id int PRIMARY KEY, v text); ALTER TABLE full_rows REPLICA IDENTITY FULL;",
    );
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql(
        "INSERT INTO docs VALUES (1, repeat('x', 10000), 1); UPDATE docs SET n = 2 WHERE id = 1;
         INSERT INTO full_rows VALUES (1, 'old'); UPDATE full_rows SET v = 'new'; DELETE FROM full_rows;",
    );
    setup.wait_for_records("the changes", WAIT, |r| r.len() >= 6);
    sluice.stop();
    let docs = setup.envelopes("docs");
    assert_eq!(docs[1]["op"], "u");
    assert_eq!(docs[1]["after"]["body"], "__debezium_unavailable_value");
    assert_eq!(docs[1]["after"]["n"], 2);
    let full = setup.envelopes("full_rows");
    assert_eq!(full[1]["before"], json!({"id": 1, "v": "old"}));
    assert_eq!(full[1]["after"], json!({"id": 1, "v": "new"}));
    assert_eq!(full[2]["before"], json!({"id": 1, "v": "new"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_without_primary_key_gets_a_warning_and_its_inserts_with_a_null_key() {
    let setup = Setup::new("nopk").await;
    setup.db.psql("CREATE TABLE nopk (a int, b text)");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let log = sluice.log();
    assert!(
        log.contains("public.nopk") && log.contains("no primary key") && log.contains("REPLICA IDENTITY FULL"),
        "{log}"
    );
    setup.db.psql("INSERT INTO nopk VALUES (1, 'x')");
    let records = setup.wait_for_records("the insert", WAIT, |r| !r.is_empty());
    sluice.stop();
    assert_eq!(records[0]["key"], Value::Null);
    assert_eq!(records[0]["value"]["after"], json!({"a": 1, "b": "x"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn truncate_follows_skipped_operations_and_messages_reach_the_message_topic() {
    let mut setup = Setup::new("truncate").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    setup.set("debezium.source.skipped.operations", "none");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO t VALUES (1); TRUNCATE t; SELECT pg_logical_emit_message(true, 'audit', 'hello');");
    let records = setup.wait_for_records("insert, truncate and message", WAIT, |r| r.len() >= 3);
    sluice.stop();
    assert_eq!(records[1]["value"]["op"], "t");
    assert_eq!(records[1]["key"], Value::Null);
    assert_eq!(records[2]["topic"], "test.message");
    assert_eq!(records[2]["value"]["message"], json!({"prefix": "audit", "content": "aGVsbG8="}));

    // The default skips truncates.
    let setup = Setup::new("truncate_default").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY)");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO t VALUES (1); TRUNCATE t; INSERT INTO t VALUES (2);");
    let records = setup.wait_for_records("both inserts", WAIT, |r| r.len() >= 2);
    sluice.stop();
    assert!(records.iter().all(|r| r["value"]["op"] == "c"), "{records:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn column_filters_leave_columns_out_of_snapshot_and_stream() {
    let mut setup = Setup::new("columns").await;
    setup.set("debezium.source.column.exclude.list", "public\\.users\\.password");
    setup.db.psql(
        "CREATE TABLE users (id int PRIMARY KEY, name text, password text); INSERT INTO users VALUES (1, 'a', 's1');",
    );
    let sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| !r.is_empty());
    setup.db.psql("INSERT INTO users VALUES (2, 'b', 's2')");
    setup.wait_for_records("the insert", WAIT, |r| r.len() >= 2);
    sluice.stop();
    let envelopes = setup.envelopes("users");
    assert_eq!(envelopes[0]["after"], json!({"id": 1, "name": "a"}));
    assert_eq!(envelopes[1]["after"], json!({"id": 2, "name": "b"}));
}

/// `interval.handling.mode=string` and `hstore.handling.mode=map`, compared with Debezium's
/// AbstractRecordsProducerTest (schemaAndValuesForIntervalAsString: 'P1Y2M3DT4H5M6.78S'::INTERVAL comes back as
/// `P1Y2M3DT4H5M6.78S`; schemaAndValueFieldForMapEncodedHStoreTypeWithNullValues: a map with a null value) and
/// PostgresValueConverter's schemas (io.debezium.time.Interval; a map of string to optional string).
#[tokio::test(flavor = "multi_thread")]
async fn string_intervals_and_map_hstores_match_debezium_in_snapshot_and_stream() {
    let mut setup = Setup::new("modes").await;
    setup.set("debezium.format.value.schemas.enable", "true");
    setup.set("debezium.source.interval.handling.mode", "string");
    setup.set("debezium.source.hstore.handling.mode", "map");
    setup.db.psql(
        r#"CREATE EXTENSION hstore;
           CREATE TABLE modes (id int PRIMARY KEY, i interval, h hstore, hs hstore[]);
           INSERT INTO modes VALUES (1, 'P1Y2M3DT4H5M6.78S', '"key1"=>"val1", "key2"=>NULL',
                                     ARRAY['"k"=>"v"'::hstore]);"#,
    );
    let sluice = setup.start();
    setup.wait_for_records("the snapshot row", WAIT, |r| !r.is_empty());
    setup.db.psql(
        r#"INSERT INTO modes VALUES (2, '-1 days +02:00:00.5', '"key_#1"=>"val 1", "key 2"=>" ##123 78"', NULL);"#,
    );
    setup.wait_for_records("the streamed row", WAIT, |r| r.len() >= 2);
    sluice.stop();
    let envelopes = setup.envelopes("modes");
    let after = |i: usize| envelopes[i]["payload"]["after"].clone();
    assert_eq!(envelopes[0]["payload"]["op"], "r");
    assert_eq!(after(0)["i"], "P1Y2M3DT4H5M6.78S");
    assert_eq!(after(0)["h"], json!({"key1": "val1", "key2": null}));
    assert_eq!(after(0)["hs"], json!([{"k": "v"}]));
    assert_eq!(envelopes[1]["payload"]["op"], "c");
    assert_eq!(after(1)["i"], "P0Y0M-1DT2H0M0.5S");
    // Debezium's schemaAndValueFieldForMapEncodedHStoreTypeWithSpecialCharacters.
    assert_eq!(after(1)["h"], json!({"key_#1": "val 1", "key 2": " ##123 78"}));
    let fields = &envelopes[0]["schema"]["fields"][1]["fields"];
    assert_eq!(
        fields[1],
        json!({"type": "string", "optional": true, "name": "io.debezium.time.Interval", "version": 1, "field": "i"})
    );
    assert_eq!(
        fields[2],
        json!({"type": "map", "keys": {"type": "string", "optional": false},
               "values": {"type": "string", "optional": true}, "optional": true, "field": "h"})
    );
    assert_eq!(fields[3]["items"]["type"], "map");
}

/// Debezium 3.1's `time.precision.mode` values `isostring`, `microseconds` and `nanoseconds` (DBZ-6387): date, time
/// and timestamp per TemporalPrecisionMode, timetz and timestamptz unchanged, in the snapshot and the stream.
#[tokio::test(flavor = "multi_thread")]
async fn debezium_3_1_time_precision_modes_in_snapshot_and_stream() {
    let values = "'2024-01-02', '12:34:56.789', '12:34:56.789', '12:34:56+02', '2018-06-20 15:13:16.945104',
                  '2018-06-20 15:13:16.945', '2018-06-20 17:13:16.945104+02'";
    let cases = [
        (
            "isostring",
            json!({"d": "2024-01-02Z", "t": "12:34:56.789Z", "t3": "12:34:56.789Z", "ttz": "10:34:56Z",
                   "ts": "2018-06-20T15:13:16.945104Z", "ts3": "2018-06-20T15:13:16.945Z",
                   "tstz": "2018-06-20T15:13:16.945104Z"}),
        ),
        (
            "microseconds",
            json!({"d": 19724, "t": 45_296_789_000_i64, "t3": 45_296_789_000_i64, "ttz": "10:34:56Z",
                   "ts": 1_529_507_596_945_104_i64, "ts3": 1_529_507_596_945_000_i64,
                   "tstz": "2018-06-20T15:13:16.945104Z"}),
        ),
        (
            "nanoseconds",
            json!({"d": 19724, "t": 45_296_789_000_000_i64, "t3": 45_296_789_000_000_i64, "ttz": "10:34:56Z",
                   "ts": 1_529_507_596_945_104_000_i64, "ts3": 1_529_507_596_945_000_000_i64,
                   "tstz": "2018-06-20T15:13:16.945104Z"}),
        ),
    ];
    for (mode, want) in cases {
        let mut setup = Setup::new(&format!("time_{mode}")).await;
        setup.set("debezium.source.time.precision.mode", mode);
        setup.db.psql(&format!(
            "CREATE TABLE times (id int PRIMARY KEY, d date, t time, t3 time(3), ttz timetz, ts timestamp,
                                 ts3 timestamp(3), tstz timestamptz);
             INSERT INTO times VALUES (1, {values});"
        ));
        let sluice = setup.start();
        setup.wait_for_records("the snapshot row", WAIT, |r| !r.is_empty());
        setup.db.psql(&format!("INSERT INTO times VALUES (2, {values});"));
        setup.wait_for_records("the streamed row", WAIT, |r| r.len() >= 2);
        sluice.stop();
        let envelopes = setup.envelopes("times");
        assert_eq!((&envelopes[0]["op"], &envelopes[1]["op"]), (&json!("r"), &json!("c")), "{mode}");
        for envelope in &envelopes[..2] {
            for (column, value) in want.as_object().unwrap() {
                assert_eq!(&envelope["after"][column], value, "{mode}: column {column}");
            }
        }
    }
}
