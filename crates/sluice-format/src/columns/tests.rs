use std::sync::Arc;

use serde_json::{json, Value};
use sluice_core::{
    ChangeEvent, Datum, Lsn, Op, Position, Record, ReplicaIdentity, SnapshotMarker, SourceInfo, TableId, TableSchema,
};

use super::*;
use crate::{Converter, Encoder, EncoderOptions};

fn column(name: &str, oid: u32, typmod: i32, pk: bool) -> ColumnSchema {
    let type_name = match oid {
        23 => "int4",
        25 => "text",
        1043 => "varchar",
        1700 => "numeric",
        _ => "other",
    };
    ColumnSchema {
        name: name.into(),
        type_oid: oid,
        type_modifier: typmod,
        type_name: type_name.into(),
        base_type_oid: oid,
        enum_values: None,
        primary_key: pk,
        nullable: !pk,
        default_expression: None,
    }
}

/// Debezium's `PostgresConnectorIT` table `s2.a (pk SERIAL, aa integer, bb varchar(20), PRIMARY KEY(pk))`.
fn s2_a(identity: ReplicaIdentity) -> Arc<TableSchema> {
    Arc::new(TableSchema {
        relation_oid: 42,
        id: TableId::new("s2", "a"),
        columns: vec![column("pk", 23, -1, true), column("aa", 23, -1, false), column("bb", 1043, 24, false)],
        replica_identity: identity,
    })
}

fn options(config: &[(&str, &str)]) -> ColumnOptions {
    let mut rules = Vec::new();
    let mut key_columns = Vec::new();
    for (key, value) in config {
        let patterns = || value.split(',').map(|p| Pattern::new(p.trim()).unwrap()).collect::<Vec<_>>();
        match *key {
            "message.key.columns" => key_columns = parse_key_columns(value).unwrap(),
            "column.propagate.source.type" => rules.push((
                Family::PropagateColumn,
                key.to_string(),
                MapperRule { patterns: patterns(), by_data_type: false, mapper: Mapper::PropagateSourceType },
            )),
            "datatype.propagate.source.type" => rules.push((
                Family::PropagateDataType,
                key.to_string(),
                MapperRule { patterns: patterns(), by_data_type: true, mapper: Mapper::PropagateSourceType },
            )),
            name => {
                let (family, mapper) = mapper_for_key(name).unwrap();
                rules.push((
                    family,
                    name.to_string(),
                    MapperRule { patterns: patterns(), by_data_type: false, mapper },
                ));
            }
        }
    }
    ColumnOptions { key_columns, mappers: ordered(rules) }
}

fn encoder(config: &[(&str, &str)], schemas: bool) -> Encoder {
    let json = Converter::Json { schemas_enable: schemas };
    Encoder::new(EncoderOptions { key: json.clone(), value: json, columns: options(config), ..crate::tests::opts() })
}

fn row(values: &[Option<&str>]) -> Option<Vec<Datum>> {
    Some(values.iter().map(|v| v.map_or(Datum::Null, Datum::text)).collect())
}

fn encode(
    encoder: &mut Encoder,
    table: &Arc<TableSchema>,
    op: Op,
    before: &[Option<&str>],
    after: &[Option<&str>],
) -> Vec<Record> {
    let event = ChangeEvent {
        op,
        table: Some(table.clone()),
        before: (!before.is_empty()).then(|| row(before)).flatten(),
        after: (!after.is_empty()).then(|| row(after)).flatten(),
        message: None,
        source: SourceInfo {
            position: Position::new(Lsn(1000), 1),
            lsn: Lsn(990),
            tx_id: Some(7),
            ts_us: 1_700_000_000_000_000,
            snapshot: SnapshotMarker::False,
        },
    };
    let mut out = Vec::new();
    encoder.encode(&event, &mut out).unwrap();
    out
}

fn json_of(p: Option<&sluice_core::Payload>) -> Value {
    p.map_or(Value::Null, |p| serde_json::from_slice(&p.bytes()).unwrap())
}

/// The field schema named `field` in the envelope's `after` struct.
fn after_field(record: &Record, field: &str) -> Value {
    let value = json_of(record.value.as_ref());
    let after = value["schema"]["fields"].as_array().unwrap().iter().find(|f| f["field"] == "after").unwrap().clone();
    after["fields"].as_array().unwrap().iter().find(|f| f["field"] == field).unwrap().clone()
}

#[test]
fn key_columns_parse_debeziums_example_into_one_expression_per_column() {
    let patterns = parse_key_columns("inventory.customers:pk1,pk2;(.*).purchaseorders:pk3,pk4").unwrap();
    let sources: Vec<&str> = patterns.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        sources,
        [
            "^(?:inventory.customers.pk1)$",
            "^(?:inventory.customers.pk2)$",
            "^(?:(.*).purchaseorders.pk3)$",
            "^(?:(.*).purchaseorders.pk4)$"
        ]
    );
    assert_eq!(parse_key_columns(" s1.a : pk , aa ;").unwrap().len(), 2, "spaces and a trailing `;` are allowed");
}

#[test]
fn malformed_key_column_entries_are_refused_naming_the_entry() {
    assert_eq!(parse_key_columns("").unwrap_err(), "must not be empty");
    for bad in ["s1.a", "s1.a:", ":pk", "s1.a:pk,", "s1.a:pk;;s1.b:id", "s1.a:pk:x", ";s1.a:pk"] {
        let e = parse_key_columns(bad).unwrap_err();
        assert!(e.contains("is not `<fully-qualified table regex>:<column>,<column>`"), "{bad}: {e}");
    }
    assert!(parse_key_columns("s1.(:pk").unwrap_err().contains("not a valid regular expression"));
}

#[test]
fn key_columns_follow_the_expressions_order_with_regex_tables_and_ignore_case() {
    let t = s2_a(ReplicaIdentity::Default);
    assert_eq!(options(&[("message.key.columns", "(.*)2.A:BB,pk")]).key_columns(&t), Some(vec![2, 0]));
    assert_eq!(options(&[("message.key.columns", "s1.a:bb")]).key_columns(&t), None, "another table");
    assert_eq!(options(&[("message.key.columns", "s2.a:nope")]).key_columns(&t), None, "a column that is not there");
    assert_eq!(options(&[("message.key.columns", "s2.a:bb,nope,bb")]).key_columns(&t), Some(vec![2]));
}

#[test]
fn the_key_and_its_schema_use_the_listed_columns_and_the_tombstone_keeps_them() {
    // Debezium's PostgresConnectorIT.shouldRewriteIdentityKey: `(.*)1.a:pk,aa` makes `{pk, aa}` the key.
    let t = s2_a(ReplicaIdentity::Full);
    let mut e = encoder(&[("message.key.columns", "s2.a:aa,pk")], true);
    let out = encode(&mut e, &t, Op::Delete, &[Some("1"), Some("5"), Some("x")], &[]);
    assert_eq!(out.len(), 2);
    let key = json_of(out[0].key.as_ref());
    assert_eq!(key["payload"], json!({"aa": 5, "pk": 1}));
    assert_eq!(
        key["schema"],
        json!({"type":"struct","fields":[
            {"type":"int32","optional":true,"field":"aa"},
            {"type":"int32","optional":false,"field":"pk"}],
            "optional":false,"name":"app.s2.a.Key"})
    );
    assert_eq!(out[1].value, None);
    assert_eq!(json_of(out[1].key.as_ref()), key, "the tombstone has the same key");
}

#[test]
fn a_table_without_a_primary_key_gets_the_listed_key() {
    let mut t = (*s2_a(ReplicaIdentity::Full)).clone();
    t.columns[0].primary_key = false;
    let t = Arc::new(t);
    assert!(encode(&mut encoder(&[], false), &t, Op::Create, &[], &[Some("1"), Some("2"), None])[0].key.is_none());
    let out = encode(
        &mut encoder(&[("message.key.columns", "s2.a:pk")], false),
        &t,
        Op::Create,
        &[],
        &[Some("1"), Some("2"), None],
    );
    assert_eq!(json_of(out[0].key.as_ref()), json!({"pk": 1}));
}

#[test]
fn an_update_that_changes_a_listed_column_is_a_delete_tombstone_and_create() {
    // As RelationalChangeRecordEmitter does when the old and new keys differ.
    let t = s2_a(ReplicaIdentity::Full);
    let mut e = encoder(&[("message.key.columns", "s2.a:bb")], false);
    let out =
        encode(&mut e, &t, Op::Update, &[Some("1"), Some("2"), Some("old")], &[Some("1"), Some("2"), Some("new")]);
    let ops: Vec<Value> = out.iter().map(|r| json_of(r.value.as_ref())["op"].clone()).collect();
    assert_eq!(ops, [json!("d"), Value::Null, json!("c")]);
    assert_eq!(json_of(out[0].key.as_ref()), json!({"bb": "old"}));
    assert_eq!(json_of(out[2].key.as_ref()), json!({"bb": "new"}));
    assert_eq!(out[0].headers[0].0, "__debezium.newkey");
    // An update leaving the listed column alone is an update, whatever happens to the primary key's columns.
    let out = encode(&mut e, &t, Op::Update, &[Some("1"), Some("2"), Some("x")], &[Some("1"), Some("3"), Some("x")]);
    assert_eq!(out.len(), 1);
}

#[test]
fn under_the_default_replica_identity_a_delete_key_lacks_the_unlogged_columns() {
    // PostgreSQL logs only the primary key's old values: Debezium's documented caveat.
    let t = s2_a(ReplicaIdentity::Default);
    let mut e = encoder(&[("message.key.columns", "s2.a:pk,bb")], false);
    let out = encode(&mut e, &t, Op::Delete, &[Some("1"), None, None], &[]);
    assert_eq!(json_of(out[0].key.as_ref()), json!({"pk": 1, "bb": null}));
    assert_eq!(json_of(out[1].key.as_ref()), json!({"pk": 1, "bb": null}));
}

#[test]
fn masking_replaces_strings_and_nulls_in_before_and_after_and_marks_the_schema() {
    // PostgresConnectorIT.shouldConsumeEventsWithMaskedColumns: `column.mask.with.5.chars=s2.a.bb` gives `*****`,
    // also for the snapshot row whose bb is null (MaskStringsTest: "null values are masked, too").
    let t = s2_a(ReplicaIdentity::Full);
    let mut e = encoder(&[("column.mask.with.5.chars", "s2.a.bb,s2.a.aa")], true);
    let out = encode(&mut e, &t, Op::Update, &[Some("2"), Some("1"), None], &[Some("2"), Some("2"), Some("hello")]);
    let value = json_of(out[0].value.as_ref());
    assert_eq!(value["payload"]["before"], json!({"pk": 2, "aa": 1, "bb": "*****"}));
    assert_eq!(value["payload"]["after"], json!({"pk": 2, "aa": 2, "bb": "*****"}));
    assert_eq!(
        after_field(&out[0], "bb"),
        json!({"type":"string","optional":true,"parameters":{"masked":"true"},"field":"bb"})
    );
    // An integer column is not masked, but Debezium still marks its schema.
    assert_eq!(after_field(&out[0], "aa")["parameters"], json!({"masked":"true"}));
    assert_eq!(json_of(out[0].key.as_ref())["payload"], json!({"pk": 2}), "keys are never masked");
}

#[test]
fn hashing_matches_debeziums_values_and_is_cut_to_the_column_length() {
    // PostgresConnectorIT.shouldConsumeEventsWithMaskedHashedColumns: bb varchar(20) and varchar(255).
    let mut t = (*s2_a(ReplicaIdentity::Full)).clone();
    let mut e = encoder(&[("column.mask.hash.SHA-256.with.salt.CzQMA0cB5K", "s2.a.bb")], false);
    let after = |out: &[Record]| json_of(out[0].value.as_ref())["after"]["bb"].clone();
    let arc = Arc::new(t.clone());
    assert_eq!(
        after(&encode(&mut e, &arc, Op::Create, &[], &[Some("2"), Some("1"), Some("test")])),
        "8e68c68edbbac316dfe2"
    );
    assert_eq!(
        after(&encode(&mut e, &arc, Op::Create, &[], &[Some("2"), Some("1"), Some("hello")])),
        "b4d39ab0d198fb4cac8b"
    );
    assert_eq!(
        after(&encode(&mut e, &arc, Op::Create, &[], &[Some("2"), Some("1"), None])),
        Value::Null,
        "null stays null"
    );
    t.columns[2].type_modifier = 259;
    let arc = Arc::new(t);
    assert_eq!(
        after(&encode(&mut e, &arc, Op::Create, &[], &[Some("1"), Some("1"), Some("hello")])),
        "b4d39ab0d198fb4cac8b2f023da74f670bcaf192dcc79b5d6361b7ae6b2fafdf"
    );
}

#[test]
fn hashes_v1_and_v2_match_debeziums_mask_strings_test() {
    let hash = |algorithm: &str, v2: bool, value: &str| {
        let mapping = ValueMapping::Hash {
            algorithm: HashAlgorithm::from_java_name(algorithm).unwrap(),
            salt: b"salt".to_vec(),
            v2,
            max_chars: None,
        };
        let mut out = Vec::new();
        json::string(&mut out, value);
        mapping.rewrite(&mut out, 0, false);
        serde_json::from_slice::<String>(&out).unwrap()
    };
    assert_eq!(hash("SHA-256", false, "hello"), "af5843a0f0e728ab0332c8888b6e1190bfb79e584f0d40538de8f10df6ef29c6");
    assert_eq!(hash("SHA-256", false, "world"), "4588e1f2dcdc7fefc1515d3acd5acb9033478eace68286f383c337b9ff4464a3");
    assert_eq!(hash("MD5", false, "hello"), "46f48a7a5ea32efba87cbff49d46d35a");
    assert_eq!(hash("md5", false, "world"), "030f632140d9c9591b0d8c21098024b8");
    assert_eq!(hash("SHA-256", true, "hello"), "cd31b3b98ece60cb739c0bf770b2de892ae0ad133f645513c3d83f08757a843a");
    assert_eq!(hash("SHA-256", true, "world"), "e84ac3142870113ddc6710c06f76421befc8e8ca6de64e98d2993ed8d41f4085");
    assert_eq!(hash("MD5", true, "hello"), "06decc8b095724f80103712c235586be");
    assert_eq!(hash("MD5", true, "world"), "172c8e95398cc72ab5358ead6981e7e5");
}

#[test]
fn java_serialization_uses_modified_utf8_and_long_strings_switch_tag() {
    assert_eq!(java_serialized("a\0é"), [0xAC, 0xED, 0, 5, 0x74, 0, 5, b'a', 0xC0, 0x80, 0xC3, 0xA9]);
    // U+1F600 as two surrogates of three bytes each.
    assert_eq!(&java_serialized("😀")[7..], [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]);
    let long = java_serialized(&"x".repeat(70_000));
    assert_eq!(&long[4..13], [0x7C, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
}

#[test]
fn truncation_cuts_strings_to_utf16_units_and_adds_truncate_length() {
    // PostgresConnectorIT.shouldConsumeEventsWithTruncatedColumns: `column.truncate.to.3.chars=s2.a.bb`.
    let t = s2_a(ReplicaIdentity::Full);
    let mut e = encoder(&[("column.truncate.to.3.chars", "s2.a.bb")], true);
    let out =
        encode(&mut e, &t, Op::Update, &[Some("2"), Some("1"), Some("test")], &[Some("2"), Some("2"), Some("hello")]);
    let value = json_of(out[0].value.as_ref());
    assert_eq!(value["payload"]["before"]["bb"], "tes");
    assert_eq!(value["payload"]["after"]["bb"], "hel");
    assert_eq!(after_field(&out[0], "bb")["parameters"], json!({"truncateLength":"3"}));
    assert_eq!(truncate_utf16("a😀b", 2), "a", "a surrogate pair is not split");
    assert_eq!(truncate_utf16("a😀b", 3), "a😀");
    // varchar(20) cannot exceed 20 characters: nothing to truncate, no parameter.
    let mut e = encoder(&[("column.truncate.to.20.chars", "s2.a.bb")], true);
    let out = encode(&mut e, &t, Op::Create, &[], &[Some("2"), Some("2"), Some("hello")]);
    assert!(after_field(&out[0], "bb").get("parameters").is_none());
}

#[test]
fn propagated_source_types_give_debeziums_four_parameters() {
    // RecordsStreamProducerIT.shouldPropagateSourceTypeByDatatype and AbstractRecordsProducerTest's
    // `…WithSourceColumnTypeInfo` schemas: VARCHAR(2) → length 2, scale 0; NUMERIC(3,2) → 3, 2; FLOAT4 → 8, 8.
    let mut money = column("m", 790, -1, false);
    money.type_name = "money".into();
    let mut float = column("f", 700, -1, false);
    float.type_name = "float4".into();
    let t = Arc::new(TableSchema {
        relation_oid: 9,
        id: TableId::new("public", "t"),
        columns: vec![
            column("id", 23, -1, true),
            column("vc", 1043, 6, false),
            column("d", 1700, (3 << 16 | 2) + 4, false),
            column("txt", 25, -1, false),
            money,
            float,
        ],
        replica_identity: ReplicaIdentity::Default,
    });
    let mut serial = (*t).clone();
    serial.columns[0].default_expression = Some("nextval('t_id_seq'::regclass)".into());
    let serial = Arc::new(serial);
    let mut e = encoder(&[("column.propagate.source.type", "public.t.*")], true);
    let out = encode(
        &mut e,
        &serial,
        Op::Create,
        &[],
        &[Some("1"), Some("ab"), Some("1.10"), Some("x"), Some("$1.00"), Some("1.5")],
    );
    let params = |f: &str| after_field(&out[0], f)["parameters"].clone();
    let p = |t: &str, l: &str, s: &str, n: &str| {
        json!({"__debezium.source.column.type":t,"__debezium.source.column.length":l,
               "__debezium.source.column.scale":s,"__debezium.source.column.name":n})
    };
    assert_eq!(params("id"), p("SERIAL", "10", "0", "id"));
    assert_eq!(params("vc"), p("VARCHAR", "2", "0", "vc"));
    let after_own = |own: Value, theirs: Value| {
        let mut all = own;
        all.as_object_mut().unwrap().extend(theirs.as_object().unwrap().clone());
        all
    };
    let decimal = json!({"scale":"2","connect.decimal.precision":"3"});
    assert_eq!(params("d"), after_own(decimal, p("NUMERIC", "3", "2", "d")));
    let raw = String::from_utf8(out[0].value.as_ref().unwrap().bytes().to_vec()).unwrap();
    assert!(
        raw.contains(
            r#""parameters":{"scale":"2","connect.decimal.precision":"3","__debezium.source.column.type":"NUMERIC","#
        ),
        "the Decimal's own parameters first, as SchemaBuilder keeps them: {raw}"
    );
    assert_eq!(params("txt"), p("TEXT", "2147483647", "0", "txt"));
    assert_eq!(params("m"), after_own(json!({"scale":"2"}), p("MONEY", "2147483647", "0", "m")));
    assert_eq!(params("f"), p("FLOAT4", "8", "8", "f"));
    // By data type: `<schema>.<table>.<type>`, case-insensitive.
    let mut e = encoder(&[("datatype.propagate.source.type", ".+\\.NUMERIC,.+\\.VARCHAR")], true);
    let out = encode(
        &mut e,
        &t,
        Op::Create,
        &[],
        &[Some("1"), Some("ab"), Some("1.10"), Some("x"), Some("$1.00"), Some("1.5")],
    );
    assert!(after_field(&out[0], "vc")["parameters"].is_object());
    assert!(after_field(&out[0], "txt").get("parameters").is_none());
    assert!(json_of(out[0].key.as_ref())["schema"]["fields"][0].get("parameters").is_none(), "not in the key");
}

#[test]
fn a_column_takes_only_the_first_matching_mapper_in_debeziums_order() {
    // ColumnMappers.mapperFor: truncation before masking before propagation before hashing.
    let t = s2_a(ReplicaIdentity::Full);
    let config = [
        ("column.mask.hash.SHA-256.with.salt.x", "s2.a.bb"),
        ("column.propagate.source.type", "s2.a.bb"),
        ("column.mask.with.2.chars", "s2.a.bb"),
    ];
    let out = encode(&mut encoder(&config, true), &t, Op::Create, &[], &[Some("1"), Some("1"), Some("hello")]);
    assert_eq!(json_of(out[0].value.as_ref())["payload"]["after"]["bb"], "**");
    assert_eq!(after_field(&out[0], "bb")["parameters"], json!({"masked":"true"}));
}

#[test]
fn pgjdbc_lengths_and_scales() {
    let c = |oid, typmod| column("c", oid, typmod, false);
    assert_eq!(column_length(&c(1043, 259)), 255);
    assert_eq!(column_length(&c(1700, (10 << 16 | 2) + 4)), 10);
    assert_eq!(scale(1700, (10 << 16 | 2) + 4), 2);
    assert_eq!(column_length(&c(1700, -1)), 131_089, "numeric without precision: the display size");
    assert_eq!(column_length(&c(1184, -1)), 35);
    assert_eq!(scale(1184, 3), 3);
    assert_eq!(column_length(&c(1015, 14)), 10, "an array is measured by its element");
}

#[test]
fn mapper_key_names_are_parsed_as_debezium_reads_them() {
    assert_eq!(mapper_for_key("column.mask.with.0.chars").unwrap().1, Mapper::Mask(0));
    assert_eq!(mapper_for_key("column.truncate.to.20.chars").unwrap().1, Mapper::Truncate(20));
    let (family, mapper) = mapper_for_key("column.mask.hash.v2.SHA-512.with.salt.a.b.c").unwrap();
    assert_eq!(family, Family::HashV2);
    assert_eq!(mapper, Mapper::Hash { algorithm: HashAlgorithm::Sha512, salt: b"a.b.c".to_vec(), v2: true });
    assert_eq!(mapper_for_key("column.mask.hash.SHA-256.with.salt.x").unwrap().0, Family::Hash);
    for bad in [
        "column.mask.with.x.chars",
        "column.mask.with.-1.chars",
        "column.truncate.to.99999999999.chars",
        "column.mask.hash.SHA-256",
        "column.mask.hash.SHA-256.with.salt.",
        "column.mask.something",
        "column.truncate.20",
    ] {
        assert!(mapper_for_key(bad).is_err(), "{bad}");
    }
    assert!(mapper_for_key("column.mask.hash.MD2.with.salt.x").unwrap_err().contains("not a hash algorithm"));
}
