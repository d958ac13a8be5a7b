//! Nothing blocks the stream forever: PostgreSQL's extreme values encode (or take the documented fallback) in the
//! snapshot and in the stream; an event that truly cannot be encoded stops Sluice with a clear error, or is skipped
//! and counted under `event.processing.failure.handling.mode=skip`; table names Kafka rejects get sanitized topics,
//! and two tables meeting on one topic are an error naming both.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::support::{http, Setup, WAIT};

const EXTREMES_TABLE: &str = "CREATE TABLE x (
    id int PRIMARY KEY, ts timestamp, ts3 timestamp(3), tstz timestamptz, d date, t time, t3 time(3), ttz timetz,
    iv interval, n numeric, n_p numeric(10,2), m money, f float8, r real)";

/// Every extreme row, and what Debezium (or, where Debezium has no answer, Sluice's documented fallback) makes of it.
fn extremes() -> Vec<(&'static str, Value)> {
    vec![
        (
            "'294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999', '294276-12-31 23:59:59.999999+00',
             '5874897-12-31', '24:00:00', '24:00:00', '24:00:00-15:59', '178000000 years', 'Infinity', 'NaN',
             '92233720368547758.07', 'Infinity', 'NaN'",
            json!({
                // Beyond an int64 of microseconds: saturated (the documented fallback); milliseconds fit.
                "ts": i64::MAX, "ts3": 9_224_318_015_999_999_i64, "tstz": "+294276-12-31T23:59:59.999999Z",
                "d": 2_145_042_905, "t": 86_400_000_000_i64, "t3": 86_400_000, "ttz": "15:59:00Z",
                // Debezium's double sum, saturated by Java's (long) cast.
                "iv": i64::MAX,
                // No Decimal holds NaN or infinities: null in a nullable column (Debezium fails).
                "n": null, "n_p": null,
                "m": "f/////////8=", "f": "Infinity", "r": "NaN",
            }),
        ),
        (
            "'4714-11-24 00:00:00 BC', '4714-11-24 00:00:00 BC', '4714-11-24 00:00:00+00 BC', '4714-11-24 BC',
             '00:00:00', '00:00:00', '00:00:00+15:59', '-178000000 years', '-Infinity', 'NaN',
             '-92233720368547758.08', '-Infinity', '-Infinity'",
            json!({
                "ts": -210_866_803_200_000_000_i64, "ts3": -210_866_803_200_000_i64,
                "tstz": "-4713-11-24T00:00:00.000000Z", "d": -2_440_588, "t": 0, "t3": 0, "ttz": "08:01:00Z",
                "iv": i64::MIN, "n": null, "n_p": null, "m": "gAAAAAAAAAA=", "f": "-Infinity", "r": "-Infinity",
            }),
        ),
        (
            "'infinity', 'infinity', 'infinity', 'infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL",
            json!({"ts": 9_223_372_036_825_200_000_i64, "ts3": 9_223_372_036_825_200_000_i64, "tstz": "infinity",
                   "d": i32::MAX}),
        ),
        (
            "'-infinity', '-infinity', '-infinity', '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL",
            json!({"ts": -9_223_372_036_832_400_000_i64, "ts3": -9_223_372_036_832_400_000_i64, "tstz": "-infinity",
                   "d": i32::MIN}),
        ),
        (
            "'0001-01-01 00:00:00 BC', NULL, '4713-01-01 12:00:00+00 BC', '4713-01-01 BC', NULL, NULL, NULL,
             '-178956970 years -8 mons -2147483647 days -2562047788:00:54.775807', 1e-1000, NULL, NULL, NULL, NULL",
            json!({"ts": -62_167_219_200_000_000_i64, "tstz": "-4712-01-01T12:00:00.000000Z", "d": -2_440_550,
                   "iv": i64::MIN}),
        ),
    ]
}

fn insert_extremes(first_id: usize) -> String {
    extremes()
        .iter()
        .enumerate()
        .map(|(i, (values, _))| format!("INSERT INTO x VALUES ({}, {values});", first_id + i))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn extreme_values_round_trip_or_take_the_documented_fallback_in_snapshot_and_stream() {
    let setup = Setup::new("extremes").await;
    setup.db.psql(&format!("{EXTREMES_TABLE}; {}", insert_extremes(1)));
    // A numeric of a thousand digits, in both paths too.
    setup.db.psql("INSERT INTO x (id, n) VALUES (100, repeat('9', 1000)::numeric)");
    let n = extremes().len();
    let sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() > n);
    setup.db.psql(&insert_extremes(101));
    setup.db.psql("INSERT INTO x (id, n) VALUES (200, repeat('9', 1000)::numeric)");
    setup.wait_for_records("the streamed rows", WAIT, |r| r.len() >= 2 * (n + 1));
    // Still running: `stop` wants the clean exit of a running process.
    sluice.stop();

    let envelopes = setup.envelopes("x");
    for (op, first_id) in [("r", 1), ("c", 101)] {
        for (i, (_, want)) in extremes().iter().enumerate() {
            let id = first_id + i;
            let envelope = envelopes
                .iter()
                .find(|e| e["after"]["id"] == id && e["op"] == op)
                .unwrap_or_else(|| panic!("no {op} event for row {id}"));
            for (column, value) in want.as_object().unwrap() {
                assert_eq!(&envelope["after"][column], value, "column {column} of row {id} (op {op})");
            }
        }
        let huge = envelopes.iter().find(|e| e["after"]["id"] == first_id + 99).unwrap();
        assert_eq!(huge["after"]["n"]["scale"], 0);
        assert!(huge["after"]["n"]["value"].as_str().unwrap().len() > 400, "{}", huge["after"]["n"]);
    }
}

/// A NOT NULL numeric holding NaN under decimal.handling.mode=precise: Connect's Decimal cannot hold it and the
/// schema forbids null, so neither Debezium nor Sluice can encode the event.
const UNENCODABLE: &str =
    "CREATE TABLE p (id int PRIMARY KEY, n numeric NOT NULL); CREATE TABLE q (id int PRIMARY KEY)";

fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn with_skip_an_unencodable_event_is_skipped_counted_and_the_stream_continues() {
    let mut setup = Setup::new("poison_skip").await;
    setup.db.psql(&format!("{UNENCODABLE}; INSERT INTO p VALUES (1, 1), (2, 'NaN'), (3, 3);"));
    let port = sluice_testkit::free_port();
    setup
        .set("debezium.source.event.processing.failure.handling.mode", "skip")
        .set("quarkus.http.host", "127.0.0.1")
        .set("quarkus.http.port", &port.to_string());
    let sluice = setup.start();
    setup.wait_for_records("the snapshot around the bad row", WAIT, |r| r.len() >= 2);
    setup.db.psql("INSERT INTO p VALUES (4, 'NaN'); INSERT INTO p VALUES (5, 5); INSERT INTO q VALUES (1);");
    let records = setup
        .wait_for_records("the stream behind the bad row", WAIT, |r| r.iter().any(|r| r["topic"] == "test.public.q"));
    let ids: Vec<i64> = records
        .iter()
        .filter(|r| r["topic"] == "test.public.p")
        .map(|r| r["value"]["after"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 3, 5], "the two NaN rows are left out, everything around them delivered");

    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + WAIT;
    loop {
        let metrics = http(&addr, "GET", "/metrics", None).1;
        if sample(&metrics, "sluice_events_skipped_total") == Some(2.0) {
            break;
        }
        assert!(Instant::now() < deadline, "the skips were never counted:\n{metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status =
        std::process::Command::new(env!("CARGO_BIN_EXE_sluice")).args(["status", "--url", &addr]).output().unwrap();
    let report = String::from_utf8_lossy(&status.stdout);
    assert!(report.contains("skipped:    2 events"), "{report}");
    let log = sluice.log();
    assert!(log.contains("skipped an event that cannot be encoded"), "{log}");
    sluice.stop();

    // The skipped events' positions were acknowledged: a restart does not meet them again.
    let before = setup.records().len();
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO q VALUES (2);");
    let records = setup.wait_for_records("the next row", WAIT, |r| r.len() > before);
    assert_eq!(records.len(), before + 1, "nothing replayed");
    assert!(!sluice.log().contains("skipped an event"), "{}", sluice.log());
    sluice.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_warn_an_unencodable_event_is_skipped_with_a_warning_naming_its_position() {
    let mut setup = Setup::new("poison_warn").await;
    setup.db.psql(UNENCODABLE);
    setup.set("debezium.source.event.processing.failure.handling.mode", "warn");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO p VALUES (1, 'NaN'); INSERT INTO p VALUES (2, 2);");
    setup.wait_for_records("the row behind the bad one", WAIT, |r| !r.is_empty());
    sluice.wait_for_log("skipping an event that cannot be encoded", WAIT);
    let log = sluice.log();
    let line = log.lines().find(|l| l.contains("skipping an event")).unwrap();
    assert!(line.contains("WARN") && line.contains("position") && line.contains("public.p"), "{line}");
    assert!(line.contains("decimal.handling.mode"), "the error says why: {line}");
    sluice.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_an_unencodable_event_stops_sluice_naming_table_position_and_column() {
    let setup = Setup::new("poison_fail").await;
    setup.db.psql(&format!("{UNENCODABLE}; INSERT INTO p VALUES (1, 'NaN');"));
    let (code, log) = setup.run_to_exit(WAIT);
    assert_ne!(code, 0, "{log}");
    let line = log.lines().find(|l| l.contains("cannot encode the event")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("public.p.n (numeric)"), "names the column: {line}");
    assert!(line.contains("event.processing.failure.handling.mode"), "names the way out: {line}");
    assert!(line.contains("cannot encode the event at ") && line.contains(" of public.p"), "{line}");
    assert!(setup.records().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_kafka_cannot_name_get_sanitized_topics_and_two_meeting_on_one_stop_sluice_naming_both() {
    let setup = Setup::new("topics").await;
    setup.db.psql(
        r#"CREATE TABLE "🚀" (id int PRIMARY KEY); CREATE TABLE "my table" (id int PRIMARY KEY);
                     INSERT INTO "🚀" VALUES (1); INSERT INTO "my table" VALUES (1);"#,
    );
    let sluice = setup.start();
    setup.wait_for_records("the snapshot", WAIT, |r| r.len() >= 2);
    setup.db.psql(r#"INSERT INTO "🚀" VALUES (2);"#);
    let records = setup.wait_for_records("the streamed row", WAIT, |r| r.len() >= 3);
    let topics: Vec<&str> = records.iter().map(|r| r["topic"].as_str().unwrap()).collect();
    assert!(topics.contains(&"test.public.__") && topics.contains(&"test.public.my_table"), "{topics:?}");
    assert_eq!(topics.iter().filter(|t| **t == "test.public.__").count(), 2);
    let log = sluice.log();
    assert_eq!(log.matches("is not a valid Kafka topic name").count(), 2, "warned once per table:\n{log}");
    sluice.stop();

    // `my_table` meets `my table`: known with the snapshot's table list, before any row is written.
    let setup = Setup::new("topics_meet").await;
    setup.db.psql(
        r#"CREATE TABLE "my table" (id int PRIMARY KEY); CREATE TABLE my_table (id int PRIMARY KEY);
                     INSERT INTO "my table" VALUES (1); INSERT INTO my_table VALUES (1);"#,
    );
    let (code, log) = setup.run_to_exit(WAIT);
    assert_ne!(code, 0, "{log}");
    assert!(log.contains(r#""public"."my table""#) && log.contains(r#""public"."my_table""#), "{log}");
    assert!(log.contains("`test.public.my_table`"), "{log}");
    assert!(setup.records().is_empty(), "nothing written");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_created_while_streaming_that_meets_another_on_one_topic_stops_sluice_naming_both() {
    let setup = Setup::new("topics_meet_live").await;
    setup.db.psql("CREATE TABLE a_b (id int PRIMARY KEY);");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO a_b VALUES (1);");
    setup.wait_for_records("the first table's row", WAIT, |r| !r.is_empty());
    setup.db.psql(r#"CREATE TABLE "a/b" (id int PRIMARY KEY); INSERT INTO "a/b" VALUES (1);"#);
    let code = sluice.wait_exit(WAIT);
    let log = sluice.log();
    assert_ne!(code, 0, "{log}");
    assert!(log.contains(r#""public"."a_b""#) && log.contains(r#""public"."a/b""#), "{log}");
    assert_eq!(setup.records().len(), 1, "the first table's row was delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_skip_an_event_the_unwrap_transform_cannot_encode_is_skipped_and_the_stream_continues() {
    let mut setup = Setup::new("poison_unwrap").await;
    setup.db.psql(UNENCODABLE);
    setup
        .set("debezium.source.event.processing.failure.handling.mode", "skip")
        .set("debezium.transforms", "unwrap")
        .set("debezium.transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    setup.db.psql("INSERT INTO p VALUES (1, 1); INSERT INTO p VALUES (2, 'NaN'); INSERT INTO p VALUES (3, 3);");
    setup.db.psql("INSERT INTO q VALUES (1)");
    let records = setup
        .wait_for_records("the stream behind the bad row", WAIT, |r| r.iter().any(|r| r["topic"] == "test.public.q"));
    let ids: Vec<i64> =
        records.iter().filter(|r| r["topic"] == "test.public.p").map(|r| r["value"]["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 3], "the NaN row is left out, the flattened rows around it delivered");
    assert!(sluice.log().contains("skipped an event that cannot be encoded"), "{}", sluice.log());
    sluice.stop();
}
