//! Event details compared with Debezium's for the same input: `source.txId` on snapshot rows, column defaults in
//! the Connect schema, and hstore columns.

use serde_json::{json, Value};

use super::support::{Setup, WAIT};

/// The field schemas of a schemas-enabled envelope's `after`.
fn after_fields(envelope: &Value) -> Vec<Value> {
    envelope["schema"]["fields"][1]["fields"].as_array().expect("the after struct's fields").clone()
}

fn field(fields: &[Value], name: &str) -> Value {
    fields.iter().find(|f| f["field"] == name).unwrap_or_else(|| panic!("no field {name} in {fields:?}")).clone()
}

/// Compared with Debezium's AbstractRecordsProducerTest.assertRecordOffsetAndSnapshotSource (snapshot records carry
/// `txId` and `lsn`) and PostgresSnapshotChangeEventSource, which reads the id of the snapshot's own transaction.
#[tokio::test(flavor = "multi_thread")]
async fn snapshot_events_carry_the_snapshot_transactions_id_and_lsn() {
    let mut setup = Setup::new("snapshot_txid").await;
    setup.set("debezium.source.snapshot.max.threads", "2");
    let written: u64 = setup
        .db
        .psql(
            "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);
             BEGIN; INSERT INTO a VALUES (1), (2); INSERT INTO b VALUES (1), (2); SELECT txid_current(); COMMIT;",
        )
        .trim()
        .parse()
        .expect("the writing transaction's id");
    let sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= 4);
    setup.db.psql("INSERT INTO a VALUES (3);");
    setup.wait_for_records("the streamed row", WAIT, |r| r.len() >= 5);
    sluice.stop();
    let envelopes: Vec<Value> = setup.envelopes("a").into_iter().chain(setup.envelopes("b")).collect();
    let snapshot: Vec<&Value> = envelopes.iter().filter(|e| e["op"] == "r").collect();
    assert_eq!(snapshot.len(), 4);
    let tx_id = snapshot[0]["source"]["txId"].as_u64().expect("a snapshot row has a txId");
    assert!(tx_id > written, "the snapshot's transaction ({tx_id}) began after the rows were written ({written})");
    let lsn = &snapshot[0]["source"]["lsn"];
    assert!(lsn.is_u64(), "a snapshot row has the snapshot's LSN");
    for e in &snapshot {
        assert_eq!(e["source"]["txId"], tx_id, "every snapshot row, whichever reader read it, has the same txId");
        assert_eq!(&e["source"]["lsn"], lsn);
    }
    let streamed = envelopes.iter().find(|e| e["op"] == "c").expect("the streamed insert");
    assert!(streamed["source"]["txId"].as_u64().unwrap() > tx_id);
}

/// Compared with Debezium's PostgresDefaultValueConverterIT (`createTableAndInsertData`, DBZ-4736/DBZ-5384; the
/// numeric rescale of DBZ-7562; the enum default of dbz#1334) and PostgresDefaultValueConverter's rules for the
/// other literals.
#[tokio::test(flavor = "multi_thread")]
async fn column_defaults_are_in_the_schema_as_debezium_derives_them() {
    let mut setup = Setup::new("defaults").await;
    setup.set("debezium.format.value.schemas.enable", "true");
    setup.set("debezium.format.key.schemas.enable", "true");
    let table = "CREATE TYPE mood AS ENUM ('sad', 'happy');
        CREATE TABLE d (pk serial PRIMARY KEY, dint integer DEFAULT NULL::integer,
          dvc1 varchar(64) DEFAULT NULL::character varying, dvc2 varchar(64) DEFAULT 'NULL',
          dvc3 varchar(64) DEFAULT 'MYVALUE', dvc4 varchar(64) DEFAULT 'NULL'::character varying,
          dvc5 varchar(64) DEFAULT 'NULL::character varying', dvc6 varchar(64) DEFAULT NULL,
          dt1 timestamp DEFAULT CURRENT_TIMESTAMP, cost numeric(12,0) NOT NULL DEFAULT 0.0,
          price numeric(10,2) DEFAULT 9.5, currency char(3) DEFAULT 'USD', note text DEFAULT 'it''s',
          active boolean DEFAULT true, qty smallint DEFAULT 1, big bigint DEFAULT 9223372036854775807,
          ratio double precision DEFAULT 0.25, status mood NOT NULL DEFAULT 'happy', sum int DEFAULT (1 + 2));
        INSERT INTO d (pk) VALUES (1);";
    setup.db.psql(table);
    let sluice = setup.start();
    setup.wait_for_records("the snapshot row", WAIT, |r| !r.is_empty());
    setup.db.psql("INSERT INTO d (pk, dvc3, currency) VALUES (2, NULL, 'EUR');");
    let records = setup.wait_for_records("the streamed row", WAIT, |r| r.len() >= 2);
    sluice.stop();

    let want = json!({
        "dvc2": "NULL", "dvc3": "MYVALUE", "dvc4": "NULL", "dvc5": "NULL::character varying",
        "cost": "AA==", "price": "A7Y=", "currency": "USD", "note": "it's", "active": true, "qty": 1,
        "big": 9_223_372_036_854_775_807_i64, "ratio": 0.25, "status": "happy",
    });
    for record in &records {
        let fields = after_fields(&record["value"]);
        for (name, value) in want.as_object().unwrap() {
            assert_eq!(field(&fields, name)["default"], *value, "default of {name}");
        }
        // No default: typed and untyped NULLs, and an expression Debezium does not evaluate.
        for name in ["dint", "dvc1", "dvc6", "sum"] {
            assert!(field(&fields, name).get("default").is_none(), "{name} has no default");
        }
        // Debezium gives CURRENT_TIMESTAMP the placeholder 0; Sluice leaves time defaults out (docs/events.md).
        assert!(field(&fields, "dt1").get("default").is_none());
        // A serial key: nextval(…) stands for the placeholder 0, in the key's schema as in the value's.
        assert_eq!(field(&fields, "pk")["default"], 0);
        assert_eq!(record["key"]["schema"]["fields"][0]["default"], 0);
    }
    let streamed = &records[1]["value"]["payload"]["after"];
    // The JSON converter writes a null of a field with a default as the default (replace.null.with.default).
    assert_eq!(streamed["dvc3"], "MYVALUE");
    assert_eq!(streamed["currency"], "EUR");
    assert_eq!(streamed["dint"], Value::Null);
}

/// Compared with Debezium's PostgresDefaultValueConverterIT.shouldSerializeHstoreDefaultAsJsonStringWhenUnavailable
/// (DBZ-7582: `{"key":"<data>"}`, and the one-entry placeholder object for an unchanged TOASTed value) and
/// PostgresValueConverter's hstore schema (io.debezium.data.Json) under the default hstore.handling.mode=json.
#[tokio::test(flavor = "multi_thread")]
async fn hstore_columns_are_json_strings_as_in_debeziums_default_json_mode() {
    let mut setup = Setup::new("hstore").await;
    setup.set("debezium.format.value.schemas.enable", "true");
    let available = setup.db.psql("SELECT count(*) FROM pg_available_extensions WHERE name = 'hstore'");
    assert_eq!(
        available.trim(),
        "1",
        "the hstore extension is not installed in the test PostgreSQL, so hstore capture cannot be tested: install \
         the server's contrib modules (on Debian they come with postgresql-15; elsewhere postgresql-contrib)"
    );
    setup.db.psql(
        r#"CREATE EXTENSION hstore;
           CREATE TABLE h (pk serial PRIMARY KEY, data hstore NOT NULL DEFAULT ''::hstore, b boolean,
                           tags hstore[]);
           INSERT INTO h (data, b, tags) VALUES ('"id"=>"1", "name"=>"x", "gone"=>NULL', true,
                                                 ARRAY['"k"=>"v"'::hstore]);
           INSERT INTO h (data, b) VALUES (hstore('key', (SELECT string_agg(md5(i::text), '')
                                                          FROM generate_series(1, 600) i)), true);"#,
    );
    let sluice = setup.start();
    setup.wait_for_records("the snapshot rows", WAIT, |r| r.len() >= 2);
    setup.db.psql("INSERT INTO h (data) VALUES ('');  UPDATE h SET b = false WHERE pk = 2;");
    setup.wait_for_records("the streamed rows", WAIT, |r| r.len() >= 4);
    sluice.stop();
    let envelopes = setup.envelopes("h");
    let after = |i: usize| envelopes[i]["payload"]["after"].clone();

    // Keys in the order of Java's HashMap, as Debezium's converter writes them.
    // Buckets of 16: "name" 8, "id" 11, "gone" 15 — PostgreSQL printed them gone, name, id.
    assert_eq!(after(0)["data"], r#"{"name":"x","id":"1","gone":null}"#);
    assert_eq!(after(0)["tags"], json!([r#"{"k":"v"}"#]));
    let big = after(1)["data"].as_str().unwrap().to_string();
    assert!(big.starts_with(r#"{"key":""#) && big.len() == 600 * 32 + 10, "{}", &big[..40]);
    assert_eq!(after(2)["data"], "{}");
    assert_eq!(envelopes[3]["payload"]["op"], "u");
    assert_eq!(after(3)["data"], r#"{"__debezium_unavailable_value":"__debezium_unavailable_value"}"#);

    let fields = after_fields(&envelopes[0]);
    assert_eq!(
        field(&fields, "data"),
        json!({"type": "string", "optional": false, "name": "io.debezium.data.Json", "version": 1, "field": "data"}),
        "hstore has no default parser in Debezium, so ''::hstore is no default"
    );
    assert_eq!(field(&fields, "tags")["items"]["name"], "io.debezium.data.Json");
}
