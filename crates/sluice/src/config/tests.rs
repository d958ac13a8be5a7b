use std::path::PathBuf;
use std::time::Duration;

use super::*;
use sluice_engine::settings::OffsetStorage;
use sluice_engine::settings::DEFAULT_MAX_QUEUE_BYTES;
use sluice_format::settings::{PredicateConfig, TransformType};
use sluice_format::transform::records::PredicateKind;
use sluice_format::unwrap::{DeleteMode, UnwrapOptions};
use sluice_format::{
    BinaryHandlingMode, Converter, DecimalHandlingMode, FailureHandlingMode, HStoreHandlingMode, IntervalHandlingMode,
    TimePrecisionMode,
};
use sluice_postgres::replication::ReceiveBuffer;
use sluice_postgres::settings::{HeartbeatConfig, SlotRetries, CONNECTOR_CLASS};
use sluice_postgres::source::{LostSlotPolicy, PublicationMode, SkippedOperations, SlotGuardOptions, SnapshotMode};
use sluice_postgres::tls::SslMode;

const BASE: &str = "\
debezium.source.connector.class=io.debezium.connector.postgresql.PostgresConnector
debezium.source.database.hostname=localhost
debezium.source.database.user=sluice
debezium.source.database.dbname=shop
debezium.source.topic.prefix=shop
debezium.sink.type=stdout
";

fn no_env(_: &str) -> Option<String> {
    None
}

fn ok(extra: &str) -> LoadedConfig {
    parse_with_env(&format!("{BASE}{extra}"), &no_env).unwrap_or_else(|e| panic!("{e}"))
}

fn problems(text: &str) -> Vec<String> {
    match parse_with_env(text, &no_env) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.problems(),
    }
}

/// The sink's configuration as its `Debug` shows it: sinks keep their settings' types to themselves.
fn sink(config: &Config) -> String {
    format!("{:?}", config.sink)
}

fn one_problem(extra: &str) -> String {
    let p = problems(&format!("{BASE}{extra}"));
    assert_eq!(p.len(), 1, "{p:?}");
    p[0].clone()
}

#[test]
fn defaults_follow_debezium() {
    let c = ok("").config;
    let s = &c.source;
    assert_eq!((s.port, s.slot_name.as_str(), s.publication_name.as_str()), (5432, "debezium", "dbz_publication"));
    assert_eq!(s.sslmode, SslMode::Prefer);
    assert_eq!(s.publication_autocreate_mode, PublicationMode::AllTables);
    assert_eq!(s.snapshot_mode, SnapshotMode::Initial);
    assert_eq!(s.skipped_operations, SkippedOperations { truncate: true, ..Default::default() });
    assert_eq!(s.status_update_interval, Duration::from_secs(10));
    assert_eq!(s.receive_buffer, ReceiveBuffer::FromRoundTrip);
    let e = &c.events;
    assert_eq!(e.decimal_handling_mode, DecimalHandlingMode::Precise);
    assert_eq!(e.time_precision_mode, TimePrecisionMode::Adaptive);
    assert_eq!(e.binary_handling_mode, BinaryHandlingMode::Bytes);
    assert_eq!(e.failure_handling_mode, FailureHandlingMode::Fail);
    assert_eq!(e.unavailable_value_placeholder, "__debezium_unavailable_value");
    assert!(e.tombstones_on_delete && !e.include_unknown_datatypes);
    assert_eq!(e.value, Converter::Json { schemas_enable: true });
    assert_eq!(c.offsets().storage, OffsetStorage::File(PathBuf::from("data/offsets.dat")));
    assert_eq!(sink(&c), "StdoutConfig");
}

#[test]
fn max_queue_size_in_bytes_defaults_to_a_bound_and_zero_means_no_byte_limit() {
    assert_eq!(ok("").config.engine.max_queue_bytes, Some(DEFAULT_MAX_QUEUE_BYTES));
    let key = "debezium.source.max.queue.size.in.bytes";
    assert_eq!(ok(&format!("{key}=1048576\n")).config.engine.max_queue_bytes, Some(1 << 20));
    assert_eq!(ok(&format!("{key}=0\n")).config.engine.max_queue_bytes, None);
}

#[test]
fn a_max_queue_size_in_bytes_that_is_not_a_byte_count_is_named() {
    for value in ["-1", "32MB", "", "1.5"] {
        let p = one_problem(&format!("debezium.source.max.queue.size.in.bytes={value}\n"));
        assert!(p.contains("`debezium.source.max.queue.size.in.bytes`") && p.contains("not a number of bytes"), "{p}");
    }
}

#[test]
fn event_processing_failure_handling_mode_takes_debeziums_three_values() {
    let key = "debezium.source.event.processing.failure.handling.mode";
    for (value, mode) in
        [("fail", FailureHandlingMode::Fail), ("warn", FailureHandlingMode::Warn), ("SKIP", FailureHandlingMode::Skip)]
    {
        assert_eq!(ok(&format!("{key}={value}\n")).config.events.failure_handling_mode, mode);
    }
    let p = one_problem(&format!("{key}=retry\n"));
    assert!(p.contains("fail, warn, skip"), "{p}");
}

#[test]
fn the_driver_receive_buffer_size_is_pgjdbcs_bytes_or_minus_one() {
    let key = "debezium.source.driver.receiveBufferSize";
    assert_eq!(ok(&format!("{key}=-1\n")).config.source.receive_buffer, ReceiveBuffer::System);
    assert_eq!(ok(&format!("{key}= 65536\n")).config.source.receive_buffer, ReceiveBuffer::Bytes(65536));
    for bad in ["0", "-2", "64k", "4294967296"] {
        let p = one_problem(&format!("{key}={bad}\n"));
        assert!(
            p.contains(&format!("`{key}` = `{bad}` is not a number of bytes"))
                && p.contains("-1 (the operating system"),
            "{p}"
        );
    }
}

#[test]
fn an_unknown_key_names_the_closest_valid_one() {
    let p = one_problem("debezium.source.tabel.include.list=public.t\n");
    assert!(
        p.contains("unknown key `debezium.source.tabel.include.list`")
            && p.contains("did you mean `debezium.source.table.include.list`"),
        "{p}"
    );
    assert!(p.starts_with("line 7:"), "{p}");
}

#[test]
fn a_far_off_unknown_key_points_to_the_docs() {
    let p = one_problem("something.else=1\n");
    assert!(p.contains("docs/configuration.md"), "{p}");
}

#[test]
fn debezium_keys_not_implemented_yet_say_so() {
    for key in [
        "debezium.source.heartbeat.topics.prefix",
        "debezium.source.signal.data.collection",
        "debezium.source.lsn.flush.mode",
    ] {
        let p = one_problem(&format!("{key}=1\n"));
        assert!(p.contains("does not support yet"), "{p}");
    }
    let loaded = ok("debezium.source.topic.creation.groups=big\n");
    assert!(
        loaded.warnings.iter().any(|w| w.contains("topic.creation") && w.contains("not kafka")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn the_kafka_sink_takes_every_producer_key_and_topic_creation() {
    let text = BASE.replace(
        "debezium.sink.type=stdout",
        "debezium.sink.type=kafka\n\
         debezium.sink.kafka.producer.bootstrap.servers=127.0.0.1:9092\n\
         debezium.sink.kafka.producer.compression.type=zstd\n\
         debezium.sink.kafka.producer.key.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
         debezium.source.topic.creation.default.partitions=4\n\
         debezium.source.topic.creation.default.replication.factor=-1\n\
         debezium.source.topic.creation.default.cleanup.policy=compact\n",
    );
    let c = parse_with_env(&text, &no_env).unwrap().config;
    assert_eq!(
        sink(&c),
        "KafkaConfig { producer: [(\"bootstrap.servers\", \"127.0.0.1:9092\"), (\"compression.type\", \"zstd\"), \
         (\"key.serializer\", \"org.apache.kafka.common.serialization.StringSerializer\")], topic_creation: \
         Some(TopicCreation { partitions: 4, replication_factor: -1, configs: [(\"cleanup.policy\", \"compact\")], groups: [] }) }"
    );
}

#[test]
fn topic_creation_needs_both_partitions_and_replication_factor() {
    let text = BASE.replace(
        "debezium.sink.type=stdout",
        "debezium.sink.type=kafka\ndebezium.sink.kafka.producer.bootstrap.servers=b:9092\n\
         debezium.source.topic.creation.default.partitions=4\n",
    );
    let p = problems(&text);
    assert!(p.iter().any(|p| p.contains("needs `debezium.source.topic.creation.default.replication.factor`")), "{p:?}");
    let text = BASE.replace(
        "debezium.sink.type=stdout",
        "debezium.sink.type=kafka\ndebezium.sink.kafka.producer.bootstrap.servers=b:9092\n\
         debezium.source.topic.creation.default.partitions=0\n\
         debezium.source.topic.creation.default.replication.factor=1\n",
    );
    let p = problems(&text);
    assert!(p.iter().any(|p| p.contains("must be at least 1, or -1")), "{p:?}");
}

#[test]
fn kafka_keys_without_the_kafka_sink_are_a_warning() {
    let text = format!("{BASE}debezium.sink.kafka.producer.bootstrap.servers=b:9092\n");
    let loaded = parse_with_env(&text, &no_env).unwrap();
    assert!(loaded.warnings.iter().any(|w| w.contains("not kafka")), "{:?}", loaded.warnings);
}

#[test]
fn a_bad_enum_value_lists_the_allowed_ones() {
    let p = one_problem("debezium.source.snapshot.mode=sometimes\n");
    assert!(p.contains("allowed values: initial, always, initial_only, no_data, never, when_needed"), "{p}");
    let p = one_problem("debezium.source.publication.autocreate.mode=yes\n");
    assert!(p.contains("all_tables, disabled, filtered, no_tables"), "{p}");
}

#[test]
fn bad_numbers_and_booleans_are_named() {
    assert!(one_problem("debezium.source.database.port=abc\n").contains("not a port number"));
    assert!(one_problem("debezium.source.tombstones.on.delete=maybe\n").contains("not a boolean"));
    assert!(one_problem("debezium.source.snapshot.max.threads=0\n").contains("at least 1"));
}

#[test]
fn missing_required_keys_are_all_named() {
    let p = problems("debezium.sink.type=stdout\n");
    for key in ["connector.class", "database.hostname", "database.user", "database.dbname", "topic.prefix"] {
        assert!(p.iter().any(|p| p.contains(&format!("`debezium.source.{key}`"))), "{key} not named in {p:?}");
    }
    let p = problems(&BASE.replace("debezium.sink.type=stdout", "debezium.sink.type=file"));
    assert!(p.iter().any(|p| p.contains("debezium.sink.file.path")), "{p:?}");
}

#[test]
fn include_and_exclude_of_one_kind_conflict() {
    let p = one_problem("debezium.source.table.include.list=a\\.b\ndebezium.source.table.exclude.list=a\\.c\n");
    assert!(p.contains("cannot both be set"), "{p}");
}

#[test]
fn an_invalid_regex_names_the_key() {
    let p = one_problem("debezium.source.table.include.list=public.(broken\n");
    assert!(p.contains("table.include.list") && p.contains("not a valid regular expression"), "{p}");
}

#[test]
fn server_name_is_read_as_the_topic_prefix_unless_that_is_set_too() {
    let base_without_prefix: String =
        BASE.lines().filter(|l| !l.contains("topic.prefix")).map(|l| format!("{l}\n")).collect();
    let loaded =
        parse_with_env(&format!("{base_without_prefix}debezium.source.database.server.name=dbserver1\n"), &no_env)
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.source.topic_prefix, "dbserver1");
    assert!(loaded.warnings.iter().any(|w| w.contains("database.server.name") && w.contains("topic.prefix")));
    let loaded = ok("debezium.source.database.server.name=old\n");
    assert_ne!(loaded.config.source.topic_prefix, "old", "topic.prefix wins");
    assert!(loaded.warnings.iter().any(|w| w.contains("wins")), "{:?}", loaded.warnings);
}

#[test]
fn wrong_connector_and_plugin_are_rejected_with_the_fix() {
    let p = problems(&BASE.replace("PostgresConnector", "MySqlConnector"));
    assert!(p[0].contains(CONNECTOR_CLASS), "{p:?}");
    let p = one_problem("debezium.source.plugin.name=decoderbufs\n");
    assert!(p.contains("pgoutput"), "{p}");
    let p = one_problem("debezium.source.offset.storage=org.apache.kafka.connect.storage.MemoryOffsetBackingStore\n");
    assert!(p.contains("not supported yet"), "{p}");
}

const KAFKA_STORE: &str = "debezium.source.offset.storage=org.apache.kafka.connect.storage.KafkaOffsetBackingStore\n";

#[test]
fn the_kafka_offset_store_takes_debezium_servers_keys() {
    let loaded = ok(&format!(
        "{KAFKA_STORE}debezium.source.offset.storage.topic=connect-offsets\n\
         debezium.source.offset.storage.partitions=1\n\
         debezium.source.offset.storage.replication.factor=-1\n\
         debezium.source.offset.flush.timeout.ms=2000\n\
         debezium.source.bootstrap.servers=kafka:9092\n\
         debezium.source.security.protocol=SASL_SSL\n\
         debezium.source.sasl.mechanism=PLAIN\n\
         debezium.source.sasl.username=cdc\n\
         debezium.source.sasl.password=hunter2\n"
    ));
    let OffsetStorage::Kafka(kafka) = &loaded.config.offsets().storage else { panic!("the Kafka store") };
    assert_eq!((kafka.topic.as_str(), kafka.partitions, kafka.replication_factor), ("connect-offsets", 1, -1));
    assert_eq!(kafka.flush_timeout, std::time::Duration::from_secs(2));
    assert!(kafka.client.contains(&("bootstrap.servers".to_string(), "kafka:9092".to_string())));
    assert!(kafka.client.iter().any(|(k, _)| k == "sasl.password"), "{:?}", kafka.client);
}

#[test]
fn the_kafka_offset_store_needs_its_topic_partitions_replication_and_brokers_as_in_debezium() {
    let p = problems(&format!("{BASE}{KAFKA_STORE}"));
    for key in
        ["offset.storage.topic", "offset.storage.partitions", "offset.storage.replication.factor", "bootstrap.servers"]
    {
        assert!(p.iter().any(|p| p.contains(&format!("debezium.source.{key}"))), "{key}: {p:?}");
    }
}

#[test]
fn a_bad_offset_store_client_key_is_named_without_its_secret() {
    let p = problems(&format!(
        "{BASE}{KAFKA_STORE}debezium.source.offset.storage.topic=o\ndebezium.source.offset.storage.partitions=1\n\
         debezium.source.offset.storage.replication.factor=1\ndebezium.source.bootstrap.servers=k:9092\n\
         debezium.source.sasl.passwrd=hunter2\n"
    ));
    assert!(p.iter().any(|p| p.contains("debezium.source.sasl.passwrd")), "{p:?}");
    assert!(!p.concat().contains("hunter2"), "{p:?}");
}

#[test]
fn quarkus_keys_are_ignored_and_reported() {
    let loaded = ok("quarkus.log.console.json=false\n");
    assert_eq!(loaded.ignored_keys, ["quarkus.log.console.json"]);
}

#[test]
fn never_is_an_alias_of_no_data_with_a_warning() {
    let loaded = ok("debezium.source.snapshot.mode=never\n");
    assert_eq!(loaded.config.source.snapshot_mode, SnapshotMode::NoData);
    assert!(loaded.warnings[0].contains("deprecated"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = problems(&format!("{BASE}debezium.source.database.port=x\ndebezium.source.snapshot.mode=y\ndebezium.source.tabel.include.list=z\n"));
    assert_eq!(p.len(), 3, "{p:?}");
}

#[test]
fn filters_are_anchored_regexes_over_qualified_names() {
    let f = ok("debezium.source.table.include.list=public\\.orders.*, inventory\\..*\ndebezium.source.column.exclude.list=public\\.orders\\.secret\n")
        .config
        .source
        .filters;
    assert!(f.includes_table("public", "orders"));
    assert!(f.includes_table("public", "orders_2024"));
    assert!(f.includes_table("inventory", "items"));
    assert!(!f.includes_table("public", "customers"));
    assert!(!f.includes_table("xpublic", "orders"), "anchored at the start");
    assert!(f.includes_column("public", "orders", "id"));
    assert!(!f.includes_column("public", "orders", "secret"));
    assert!(f.includes_column("public", "orders", "secret_not"), "anchored at the end");
    let f = ok("debezium.source.schema.exclude.list=audit\n").config.source.filters;
    assert!(!f.includes_table("audit", "log") && f.includes_table("public", "t"));
    assert!(!f.includes_table("pg_catalog", "pg_class"), "system schemas are never captured");
}

#[test]
fn skipped_operations_parse_and_none_clears_them() {
    let s = ok("debezium.source.skipped.operations=c,d\n").config.source.skipped_operations;
    assert_eq!(s, SkippedOperations { create: true, delete: true, ..Default::default() });
    assert_eq!(
        ok("debezium.source.skipped.operations=none\n").config.source.skipped_operations,
        SkippedOperations::default()
    );
    assert!(one_problem("debezium.source.skipped.operations=x\n").contains("allowed: c, u, d, t"));
}

#[test]
fn placeholders_resolve_from_the_environment_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.properties");
    std::fs::write(&secrets, "password=from-file\n").unwrap();
    let text = format!(
        "{BASE}debezium.source.database.password=${{file:{}:password}}\ndebezium.source.slot.name=${{SLOT}}\n",
        secrets.display()
    );
    let env = |n: &str| (n == "SLOT").then(|| "from_env".to_string());
    let c = parse_with_env(&text, &env).unwrap().config;
    assert_eq!(c.source.password.as_deref(), Some("from-file"));
    assert_eq!(c.source.slot_name, "from_env");
    let p = problems(&format!("{BASE}debezium.source.database.password=${{env:PGPASS}}\n"));
    assert!(p[0].contains("PGPASS") && p[0].starts_with("line 7"), "{p:?}");
}

#[test]
fn formats_and_schemas_enable() {
    let f = ok("debezium.format.key=simplestring\ndebezium.format.value.schemas.enable=false\n").config.events;
    assert_eq!(f.key, Converter::SimpleString);
    assert_eq!(f.value, Converter::Json { schemas_enable: false });
    assert!(one_problem("debezium.format.value=xml\n").contains("json, simplestring, binary"));
}

#[test]
fn load_reads_a_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("application.properties");
    std::fs::write(&path, BASE).unwrap();
    assert!(load(&path).is_ok());
    let err = load(&dir.path().join("missing.properties")).unwrap_err();
    assert!(err.to_string().contains("missing.properties"));
}

#[test]
fn filters_match_case_insensitively_as_debezium_does() {
    let f = ok("debezium.source.table.include.list=Public\\\\.Orders\n").config.source.filters;
    assert!(f.includes_table("public", "orders"));
}

#[test]
fn an_escaped_comma_stays_inside_one_regex() {
    let f = ok("debezium.source.table.include.list=public\\\\.t_[0-9]{1\\\\,2}, audit\\\\.log\n").config.source.filters;
    assert!(f.includes_table("public", "t_7") && f.includes_table("public", "t_42"));
    assert!(!f.includes_table("public", "t_123"));
    assert!(f.includes_table("audit", "log"));
}

#[test]
fn an_empty_list_is_the_same_as_no_list() {
    let f = ok("debezium.source.table.include.list=\ndebezium.source.table.exclude.list=public\\\\.secret\n")
        .config
        .source
        .filters;
    assert!(f.includes_table("public", "orders") && !f.includes_table("public", "secret"));
}

#[test]
fn column_filters_qualify_with_schema_and_table() {
    let f = ok("debezium.source.column.include.list=public\\\\.users\\\\.(id|email)\n").config.source.filters;
    assert!(f.includes_column("public", "users", "id") && f.includes_column("public", "users", "email"));
    assert!(!f.includes_column("public", "users", "password"));
    assert!(!f.includes_column("other", "users", "id"), "the schema is part of the name");
    assert!(!f.includes_column("public", "users", "email_verified"), "anchored at the end");
}

#[test]
fn system_schemas_are_never_captured() {
    let f = ok("debezium.source.schema.include.list=.*\n").config.source.filters;
    for schema in ["pg_catalog", "information_schema", "pg_toast", "pg_toast_temp_1"] {
        assert!(!f.includes_table(schema, "t"), "{schema}");
    }
    assert!(f.includes_table("public", "t"));
}

#[test]
fn debezium_1_list_names_are_read_as_their_successors() {
    let loaded = ok("debezium.source.table.whitelist=public\\\\.orders\ndebezium.source.column.blacklist=public\\\\.orders\\\\.secret\n");
    let f = &loaded.config.source.filters;
    assert!(f.includes_table("public", "orders") && !f.includes_table("public", "customers"));
    assert!(!f.includes_column("public", "orders", "secret") && f.includes_column("public", "orders", "id"));
    assert_eq!(
        loaded.warnings.iter().filter(|w| w.contains("Debezium 1.x's name")).count(),
        2,
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn snapshot_mode_schema_only_is_read_as_no_data_with_a_note() {
    let loaded = ok("debezium.source.snapshot.mode=schema_only\n");
    assert_eq!(loaded.config.source.snapshot_mode, SnapshotMode::NoData);
    assert!(loaded.warnings.iter().any(|w| w.contains("schema_only")), "{:?}", loaded.warnings);
}

#[test]
fn max_batch_size_bounds_sink_writes_and_max_queue_size_must_exceed_it_as_in_debezium() {
    assert_eq!(ok("").config.engine.max_batch_records, None, "unset: the pipeline's own bound");
    let loaded = ok("debezium.source.max.batch.size=2048\ndebezium.source.max.queue.size=8192\n");
    assert_eq!(loaded.config.engine.max_batch_records, Some(2048));
    assert_eq!(ok("debezium.source.max.batch.size=100\n").config.engine.max_batch_records, Some(100));
    let p = one_problem("debezium.source.max.batch.size=4096\ndebezium.source.max.queue.size=4096\n");
    assert!(p.contains("must be larger than `debezium.source.max.batch.size` (4096)"), "{p}");
    let p = one_problem("debezium.source.max.queue.size=1000\n");
    assert!(p.contains("(2048)"), "Debezium's default batch counts: {p}");
    assert!(one_problem("debezium.source.max.batch.size=0\n").contains("at least 1"));
    assert!(one_problem("debezium.source.max.batch.size=many\n").contains("max.batch.size"));
}

#[test]
fn replica_identity_autoset_values_are_read_as_debezium_writes_them_and_bad_entries_are_named() {
    let key = "debezium.source.replica.identity.autoset.values";
    let loaded = ok(&format!("{key}=public.orders:FULL, inventory\\..*:index items_pkey ,public.log:nothing\n"));
    let rules = &loaded.config.source.replica_identity_rules;
    let identities: Vec<&str> = rules.iter().map(|r| r.identity.as_str()).collect();
    assert_eq!(identities, ["FULL", "USING INDEX \"items_pkey\"", "NOTHING"]);
    assert!(rules[1].tables.is_match("INVENTORY.items") && !rules[1].tables.is_match("xinventory.items"));
    assert!(one_problem(&format!("{key}=public.orders\n")).contains("is not `<schema.table regex>:<replica identity>`"));
    assert!(one_problem(&format!("{key}=public.orders:SOME\n")).contains("use DEFAULT, FULL, NOTHING or INDEX"));
    assert!(one_problem(&format!("{key}=public.(:FULL\n")).contains("not a regular expression"));
}

#[test]
fn slot_stream_params_pass_options_to_pgoutput_but_not_the_ones_sluice_sets_or_cannot_decode() {
    let key = "debezium.source.slot.stream.params";
    let loaded = ok(&format!("{key}=origin=none; x-custom = 1\n"));
    let params = &loaded.config.source.slot_stream_params;
    assert_eq!(params, &[("origin".to_string(), "none".to_string()), ("x-custom".to_string(), "1".to_string())]);
    for owned in ["proto_version=2", "publication_names=x", "Binary=true", "streaming=on", "two_phase=on"] {
        assert!(one_problem(&format!("{key}={owned}\n")).contains("set by Sluice or changes the stream"), "{owned}");
    }
    assert!(one_problem(&format!("{key}=origin\n")).contains("is not `name=value`"));
}

#[test]
fn the_generous_list_of_debezium_keys_is_not_supported_yet() {
    for key in [
        "heartbeat.topics.prefix",
        "incremental.snapshot.chunk.size",
        "snapshot.lock.timeout.ms",
        "converters",
        "xmin.fetch.interval.ms",
        "truncate.handling.mode",
        "include.schema.changes",
        "errors.max.retries",
        "retriable.restart.connector.wait.ms",
        "custom.metric.tags",
        "notification.enabled.channels",
        "driver.tcpKeepAlive",
    ] {
        let p = one_problem(&format!("debezium.source.{key}=1\n"));
        assert!(
            p.contains(&format!("`debezium.source.{key}` is a Debezium key that Sluice does not support yet")),
            "{p}"
        );
    }
    for key in ["debezium.format.header=json", "debezium.api.enabled=true"] {
        assert!(one_problem(&format!("{key}\n")).contains("does not support yet"), "{key}");
    }
}

#[test]
fn any_other_sinks_keys_are_not_supported_yet() {
    for key in ["debezium.sink.http.url", "debezium.sink.pubsub.project.id", "debezium.sink.mysink.endpoint"] {
        let p = one_problem(&format!("{key}=x\n"));
        assert!(p.contains("sink, which Sluice does not support yet"), "{p}");
    }
    let p = one_problem("debezium.sink.file.pth=x\n");
    assert!(p.contains("did you mean `debezium.sink.file.path`"), "{p}");
}

#[test]
fn every_not_yet_sink_type_says_so_and_an_unknown_one_lists_the_choices() {
    for sink in ["kinesis", "pubsub", "pulsar", "redis", "nats-jetstream", "nats-streaming", "http", "rabbitmq"] {
        let p = problems(&BASE.replace("debezium.sink.type=stdout", &format!("debezium.sink.type={sink}")));
        assert!(p.len() == 1 && p[0].contains("not supported yet") && !p[0].contains("coming next"), "{p:?}");
    }
    for sink in ["eventhubs", "pravega", "infinispan", "rocketmq"] {
        let p = problems(&BASE.replace("debezium.sink.type=stdout", &format!("debezium.sink.type={sink}")));
        assert!(p.len() == 1 && p[0].contains("not supported yet"), "{p:?}");
    }
    let p = problems(&BASE.replace("debezium.sink.type=stdout", "debezium.sink.type=fiel"));
    assert!(p[0].contains("allowed values: kafka, file, stdout, null"), "{p:?}");
}

#[test]
fn the_file_sink_needs_a_path_and_yields_it() {
    let text = BASE.replace("debezium.sink.type=stdout", "debezium.sink.type=file\ndebezium.sink.file.path=out.jsonl");
    let c = parse_with_env(&text, &no_env).unwrap().config;
    assert_eq!(sink(&c), "FileConfig { path: \"out.jsonl\" }");
}

#[test]
fn debezium_values_not_implemented_yet_say_so() {
    let p = one_problem("debezium.source.snapshot.mode=configuration_based\n");
    assert!(p.contains("does not support yet"), "{p}");
    let p = one_problem("debezium.format.value=avro\n");
    assert!(p.contains("`debezium.format.value` = `avro` is a Debezium value that Sluice does not support yet"), "{p}");
}

#[test]
fn a_port_of_zero_is_rejected() {
    assert!(one_problem("debezium.source.database.port=0\n").contains("not a port number"));
    assert!(one_problem("debezium.source.database.port=70000\n").contains("not a port number"));
}

#[test]
fn never_in_any_case_warns_and_names_the_replacement() {
    let loaded = ok("debezium.source.snapshot.mode=NEVER\n");
    assert_eq!(loaded.config.source.snapshot_mode, SnapshotMode::NoData);
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("set `no_data` instead"), "{:?}", loaded.warnings);
}

#[test]
fn schemas_enable_on_a_non_json_format_warns() {
    let loaded = ok("debezium.format.key=simplestring\ndebezium.format.key.schemas.enable=false\n");
    assert!(loaded.warnings.iter().any(|w| w.contains("only applies to the json format")), "{:?}", loaded.warnings);
}

#[test]
fn quarkus_keys_under_a_profile_are_ignored_too_and_never_resolved() {
    let loaded = ok("%dev.quarkus.log.level=DEBUG\nquarkus.log.file.path=${env:UNSET_PATH}\n");
    assert_eq!(loaded.ignored_keys, ["%dev.quarkus.log.level", "quarkus.log.file.path"]);
    let p = one_problem("%prod.debezium.source.slot.name=x\n");
    assert!(p.contains("profile-specific keys are not supported yet"), "{p}");
}

#[test]
fn the_last_duplicate_wins_before_placeholders_are_resolved() {
    let loaded = ok("debezium.source.slot.name=${env:UNSET}\ndebezium.source.slot.name=second\n");
    assert_eq!(loaded.config.source.slot_name, "second");
}

#[test]
fn declared_file_and_env_config_providers_are_accepted() {
    ok("debezium.source.config.providers=file, env\n\
        debezium.source.config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
        debezium.source.config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\n");
    let p = one_problem("debezium.source.config.providers=vault\n");
    assert!(p.contains("vault") && p.contains("not supported yet"), "{p}");
    let p = one_problem("debezium.source.config.providers.file.class=com.example.Other\n");
    assert!(p.contains("FileConfigProvider"), "{p}");
}

#[test]
fn an_unset_env_placeholder_names_the_key_and_the_variable() {
    let p = one_problem("debezium.source.database.password=${env:PGPASS}\n");
    assert!(p.contains("`debezium.source.database.password`") && p.contains("PGPASS"), "{p}");
}

#[test]
fn a_missing_file_or_file_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.properties");
    std::fs::write(&secrets, "password=x\n").unwrap();
    let p = one_problem(&format!("debezium.source.database.password=${{file:{}:pw}}\n", secrets.display()));
    assert!(p.contains("`pw`") && p.contains(&secrets.display().to_string()), "{p}");
    let p = one_problem("debezium.source.database.password=${file:/no/such/secrets.properties:pw}\n");
    assert!(p.contains("/no/such/secrets.properties"), "{p}");
}

#[test]
fn debezium_placeholders_and_defaults_in_values() {
    let c = ok("debezium.source.slot.name=${SLOT_NAME:sluice_slot}\n\
                debezium.source.unavailable.value.placeholder=outbox.event.${routedByValue}\n")
    .config;
    assert_eq!(c.source.slot_name, "sluice_slot");
    assert_eq!(c.events.unavailable_value_placeholder, "outbox.event.${routedByValue}");
}

#[test]
fn errors_display_one_problem_per_line() {
    let err = parse_with_env("debezium.sink.type=stdout\n", &no_env).unwrap_err();
    let text = err.to_string();
    assert_eq!(text.lines().count(), err.problems().len());
    assert!(text.lines().count() >= 5, "{text}");
}

#[test]
fn the_shipped_example_is_valid() {
    let text = include_str!("../../../../conf/application.properties.example");
    let env = |n: &str| (n == "SLUICE_DB_PASSWORD").then(|| "secret".to_string());
    let loaded = parse_with_env(text, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.source.hostname, "localhost");
    assert_eq!(sink(&loaded.config), "FileConfig { path: \"data/events.jsonl\" }");
    assert!(loaded.config.source.filters.includes_table("public", "orders"));
    assert!(!loaded.config.source.filters.includes_table("public", "orders2"));
    assert_eq!(loaded.ignored_keys, ["quarkus.log.console.json"]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn the_slot_guard_and_lost_slot_policy_are_configurable() {
    let c = parse_with_env(BASE, &no_env).unwrap().config;
    assert_eq!(c.source.lost_slot_policy, LostSlotPolicy::Fail);
    assert_eq!(c.source.slot_guard, SlotGuardOptions::default());
    let text = format!(
        "{BASE}debezium.source.slot.lost.policy=recreate\n\
         debezium.source.slot.guard.interval.ms=0\n\
         debezium.source.slot.guard.retained.wal.warn.bytes=5000\n"
    );
    let c = parse_with_env(&text, &no_env).unwrap().config;
    assert_eq!(c.source.lost_slot_policy, LostSlotPolicy::Recreate);
    assert!(c.source.slot_guard.interval.is_zero());
    assert_eq!(c.source.slot_guard.retained_wal_warn_bytes, 5000);
    let p = one_problem("debezium.source.slot.lost.policy=ignore\n");
    assert!(p.contains("allowed values: fail, recreate"), "{p}");
}

#[test]
fn heartbeats_take_debeziums_keys() {
    let c = parse_with_env(BASE, &no_env).unwrap().config;
    assert_eq!(c.source.heartbeat, HeartbeatConfig::default());
    assert!(c.source.heartbeat.interval.is_zero());
    assert_eq!(c.source.heartbeat.topic_prefix, "__debezium-heartbeat");
    let text = format!(
        "{BASE}debezium.source.heartbeat.interval.ms=5000\n\
         debezium.source.heartbeat.action.query=UPDATE heartbeat SET ts = now()\n\
         debezium.source.topic.heartbeat.prefix=hb\n\
         debezium.source.heartbeat.emit.message=true\n"
    );
    let c = parse_with_env(&text, &no_env).unwrap().config;
    assert_eq!(
        c.source.heartbeat,
        HeartbeatConfig {
            interval: Duration::from_secs(5),
            action_query: Some("UPDATE heartbeat SET ts = now()".into()),
            topic_prefix: "hb".into(),
            emit_message: true,
        }
    );
}

#[test]
fn quarkus_http_port_and_host_choose_the_metrics_listener() {
    let c = parse_with_env(BASE, &no_env).unwrap().config;
    assert_eq!(c.http, None);
    let text = format!("{BASE}quarkus.http.port=${{PORT:8080}}\nquarkus.log.level=INFO\n");
    let loaded = parse_with_env(&text, &no_env).unwrap();
    assert_eq!(loaded.config.http, Some("0.0.0.0:8080".parse().unwrap()));
    assert_eq!(loaded.ignored_keys, ["quarkus.log.level"]);
    let text = format!("{BASE}quarkus.http.port=9000\nquarkus.http.host=localhost\n");
    assert_eq!(parse_with_env(&text, &no_env).unwrap().config.http, Some("127.0.0.1:9000".parse().unwrap()));
    let p = one_problem("quarkus.http.port=http\n");
    assert!(p.contains("quarkus.http.port"), "{p}");
}

const ROUTER: &str = "debezium.transforms=outbox\n\
    debezium.transforms.outbox.type=io.debezium.transforms.outbox.EventRouter\n";

#[test]
fn the_outbox_router_takes_debeziums_options() {
    let text = format!(
        "{BASE}{ROUTER}\
         debezium.transforms.outbox.route.by.field=aggregate_type\n\
         debezium.transforms.outbox.route.topic.replacement=outbox.event.${{routedByValue}}\n\
         debezium.transforms.outbox.table.field.event.key=aggregate_id\n\
         debezium.transforms.outbox.table.fields.additional.placement=type:header:eventType,part:PARTITION,ts:envelope:at\n\
         debezium.transforms.outbox.table.op.invalid.behavior=fatal\n\
         debezium.transforms.outbox.table.expand.json.payload=true\n\
         debezium.transforms.outbox.tracing.with.context.field.only=true\n"
    );
    let c = parse_with_env(&text, &no_env).unwrap().config;
    let [TransformConfig { kind: TransformType::EventRouter(o), predicate: None, .. }] = c.transforms.as_slice() else {
        panic!("{:?}", c.transforms)
    };
    assert_eq!(o.route_by, "aggregate_type");
    assert_eq!(o.route_topic_replacement, "outbox.event.${routedByValue}", "Debezium's placeholder is kept");
    assert_eq!(o.event_key, "aggregate_id");
    assert_eq!(o.payload, "payload");
    assert_eq!(o.invalid_op, sluice_format::outbox::InvalidOpBehavior::Fatal);
    assert!(o.expand_json_payload);
    use sluice_format::outbox::{AdditionalField, Placement};
    assert_eq!(
        o.additional,
        [
            AdditionalField { column: "type".into(), placement: Placement::Header, alias: "eventType".into() },
            AdditionalField { column: "part".into(), placement: Placement::Partition, alias: "part".into() },
            AdditionalField { column: "ts".into(), placement: Placement::Envelope, alias: "at".into() },
        ]
    );
}

#[test]
fn transform_mistakes_are_named() {
    let p =
        problems(&format!("{BASE}{ROUTER}debezium.transforms.outbox.table.fields.additional.placement=type:body\n"));
    assert!(p.iter().any(|p| p.contains("`type:body` is not `column:placement[:alias]`")), "{p:?}");
    let p = problems(&format!("{BASE}{ROUTER}debezium.transforms.outbox.table.op.invalid.behavior=ignore\n"));
    assert!(p.iter().any(|p| p.contains("allowed values: warn, error, fatal")), "{p:?}");
    let p = problems(&format!("{BASE}{ROUTER}debezium.transforms.outbox.route.topic.regex=(unclosed\n"));
    assert!(p.iter().any(|p| p.contains("not a valid regular expression")), "{p:?}");
    let p = problems(&format!("{BASE}debezium.transforms=route\ndebezium.transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\n"));
    assert!(p.iter().any(|p| p.contains("missing required key `debezium.transforms.route.regex`")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("missing required key `debezium.transforms.route.replacement`")), "{p:?}");
    let p = problems(&format!(
        "{BASE}debezium.transforms=tz\ndebezium.transforms.tz.type=io.debezium.transforms.TimezoneConverter\n"
    ));
    assert!(p.iter().any(|p| p.contains("does not support yet")), "{p:?}");
    let p = problems(&format!("{BASE}debezium.transforms=x\n"));
    assert!(p.iter().any(|p| p.contains("missing required key `debezium.transforms.x.type`")), "{p:?}");
    let p =
        problems(&format!("{BASE}{ROUTER}debezium.transforms.other.type=io.debezium.transforms.outbox.EventRouter\n"));
    assert!(p.iter().any(|p| p.contains("not listed in `debezium.transforms`")), "{p:?}");
    let p = problems(&format!("{BASE}{ROUTER}debezium.transforms.outbox.predicate=isOutbox\n"));
    assert!(p.iter().any(|p| p.contains("not listed in `debezium.predicates`")), "{p:?}");
    let p = problems(&format!(
        "{BASE}{ROUTER}debezium.transforms.outbox.predicate=p\ndebezium.predicates=p\n\
         debezium.predicates.p.type=org.apache.kafka.connect.transforms.predicates.HasHeaderKey\n"
    ));
    assert!(p.iter().any(|p| p.contains("missing required key `debezium.predicates.p.name`")), "{p:?}");
    let p = problems(&format!(
        "{BASE}{ROUTER}debezium.transforms.outbox.predicate=p\ndebezium.predicates=p\n\
         debezium.predicates.p.type=com.example.MyPredicate\n"
    ));
    assert!(p.iter().any(|p| p.contains("is not a predicate Sluice has")), "{p:?}");
}

const UNWRAP: &str = "debezium.transforms=unwrap\n\
    debezium.transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState\n";

fn unwrap_options(extra: &str) -> (UnwrapOptions, Vec<String>) {
    let loaded = parse_with_env(&format!("{BASE}{UNWRAP}{extra}"), &no_env).unwrap();
    let [TransformConfig { kind: TransformType::Unwrap(o), .. }] = loaded.config.transforms.as_slice() else {
        panic!("{:?}", loaded.config.transforms)
    };
    ((**o).clone(), loaded.warnings)
}

#[test]
fn unwrap_defaults_to_debeziums_tombstone_mode_and_double_underscore_prefixes() {
    let (o, _) = unwrap_options("");
    assert_eq!(o, UnwrapOptions::default());
    assert_eq!((o.deletes, o.keep_tombstones), (DeleteMode::Tombstone, true));
    assert_eq!((o.add_fields_prefix.as_str(), o.add_headers_prefix.as_str()), ("__", "__"));
}

#[test]
fn unwrap_delete_tombstone_handling_modes() {
    let mode = |m: &str| {
        let (o, _) = unwrap_options(&format!("debezium.transforms.unwrap.delete.tombstone.handling.mode={m}\n"));
        (o.deletes, o.keep_tombstones)
    };
    assert_eq!(mode("drop"), (DeleteMode::Drop, false));
    assert_eq!(mode("tombstone"), (DeleteMode::Tombstone, true));
    assert_eq!(mode("rewrite"), (DeleteMode::Rewrite, false));
    assert_eq!(mode("rewrite-with-tombstone"), (DeleteMode::Rewrite, true));
}

#[test]
fn unwrap_reads_the_older_delete_handling_mode_and_drop_tombstones_with_their_defaults() {
    let legacy = |extra: &str| {
        let (o, _) = unwrap_options(extra);
        (o.deletes, o.keep_tombstones)
    };
    let key = "debezium.transforms.unwrap.";
    assert_eq!(legacy(&format!("{key}delete.handling.mode=rewrite\n")), (DeleteMode::Rewrite, false));
    assert_eq!(legacy(&format!("{key}delete.handling.mode=none\n")), (DeleteMode::NullValue, false));
    assert_eq!(legacy(&format!("{key}drop.tombstones=false\n")), (DeleteMode::Drop, true));
    assert_eq!(
        legacy(&format!("{key}delete.handling.mode=drop\n{key}drop.tombstones=false\n")),
        (DeleteMode::Drop, true)
    );
    // The newer key wins, and the older one is reported as unread.
    let (o, warnings) =
        unwrap_options(&format!("{key}delete.handling.mode=rewrite\n{key}delete.tombstone.handling.mode=drop\n"));
    assert_eq!((o.deletes, o.keep_tombstones), (DeleteMode::Drop, false));
    assert!(warnings.iter().any(|w| w.contains("delete.handling.mode` is not read")), "{warnings:?}");
}

#[test]
fn unwrap_add_fields_and_headers_with_prefixes() {
    let key = "debezium.transforms.unwrap.";
    let (o, _) = unwrap_options(&format!(
        "{key}add.fields=op, table,lsn,source.ts_ms\n{key}add.fields.prefix=meta_\n{key}add.headers=op,db\n{key}add.headers.prefix=h_\n"
    ));
    assert_eq!(o.add_fields, ["op", "table", "lsn", "source.ts_ms"]);
    assert_eq!(o.add_fields_prefix, "meta_");
    assert_eq!(o.add_headers, ["op", "db"]);
    assert_eq!(o.add_headers_prefix, "h_");
}

#[test]
fn unwrap_mistakes_and_options_not_supported_yet_are_named() {
    let key = "debezium.transforms.unwrap.";
    let p = problems(&format!("{BASE}{UNWRAP}{key}delete.handling.mode=keep\n"));
    assert!(p.iter().any(|p| p.contains("allowed values: drop, rewrite, none")), "{p:?}");
    let p = problems(&format!("{BASE}{UNWRAP}{key}delete.tombstone.handling.mode=none\n"));
    assert!(p.iter().any(|p| p.contains("allowed values: drop, tombstone, rewrite, rewrite-with-tombstone")), "{p:?}");
    let p = problems(&format!("{BASE}{UNWRAP}{key}drop.tombstones=maybe\n"));
    assert!(p.iter().any(|p| p.contains("not a boolean")), "{p:?}");
    let p = problems(&format!("{BASE}{UNWRAP}{key}add.fields=op,colour\n"));
    assert!(p.iter().any(|p| p.contains("`colour` is not a field")), "{p:?}");
    let p = problems(&format!("{BASE}{UNWRAP}{key}add.feilds=op\n"));
    assert!(p.iter().any(|p| p.contains("did you mean `debezium.transforms.unwrap.add.fields`")), "{p:?}");
    for option in ["route.by.field=name", "drop.fields.header.name=__dropped", "replace.null.with.default=false"] {
        let p = problems(&format!("{BASE}{UNWRAP}{key}{option}\n"));
        let name = option.split('=').next().unwrap();
        assert!(
            p.iter().any(|p| p.contains(&format!("`{key}{name}`")) && p.contains("not supported yet")),
            "{option}: {p:?}"
        );
    }
    // The values that ask for nothing are accepted.
    unwrap_options(&format!("{key}replace.null.with.default=true\n{key}drop.fields.from.key=false\n"));
}

#[test]
fn unwrap_runs_under_a_predicate() {
    let text = format!(
        "{BASE}{UNWRAP}debezium.transforms.unwrap.predicate=isOrders\ndebezium.transforms.unwrap.negate=true\n\
         debezium.predicates=isOrders\n\
         debezium.predicates.isOrders.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches\n\
         debezium.predicates.isOrders.pattern=.*orders\n"
    );
    let c = parse_with_env(&text, &no_env).unwrap().config;
    assert_eq!(
        c.transforms[0].predicate,
        Some(PredicateConfig {
            name: "isOrders".into(),
            kind: PredicateKind::TopicNameMatches { pattern: ".*orders".into() },
            negate: true
        })
    );
}

#[test]
fn a_topic_name_predicate_with_negate_is_read() {
    let text = format!(
        "{BASE}{ROUTER}debezium.transforms.outbox.predicate=isOutbox\ndebezium.transforms.outbox.negate=true\n\
         debezium.predicates=isOutbox\n\
         debezium.predicates.isOutbox.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches\n\
         debezium.predicates.isOutbox.pattern=.*outbox.*\n"
    );
    let c = parse_with_env(&text, &no_env).unwrap().config;
    assert_eq!(
        c.transforms[0].predicate,
        Some(PredicateConfig {
            name: "isOutbox".into(),
            kind: PredicateKind::TopicNameMatches { pattern: ".*outbox.*".into() },
            negate: true
        })
    );
}

#[test]
fn environment_variables_override_keys_as_in_debezium_server() {
    let env = |name: &str| match name {
        "DEBEZIUM_SOURCE_DATABASE_HOSTNAME" => Some("db.internal".to_string()),
        "DEBEZIUM_SOURCE_SLOT_NAME" => Some("from_env".to_string()),
        "DEBEZIUM_SINK_TYPE" => Some("null".to_string()),
        _ => None,
    };
    let text = format!("{BASE}debezium.source.slot.name=from_file\n");
    let c = parse_with_env(&text, &env).unwrap().config;
    assert_eq!(c.source.hostname, "db.internal", "a key the file has");
    assert_eq!(c.source.slot_name, "from_env", "the variable wins over the file");
    assert_eq!(sink(&c), "NullConfig", "a known key the file lacks");
}

#[test]
fn a_problem_never_shows_what_a_placeholder_resolved_to() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("s.properties");
    std::fs::write(&secrets, "mode=root:x:0:0:secret-line\n").unwrap();
    let text = format!("{BASE}debezium.source.snapshot.mode=${{file:{}:mode}}\n", secrets.display());
    let problems = parse_with_env(&text, &no_env).unwrap_err().problems();
    let all = problems.join("\n");
    assert!(all.contains("snapshot.mode") && !all.contains("secret-line"), "{all}");
}

#[test]
fn slot_retries_default_to_debeziums_and_can_be_set() {
    let c = ok("").config;
    assert_eq!(c.source.slot_retries, SlotRetries { max_retries: 6, delay: Duration::from_secs(10) });
    let c = ok("debezium.source.slot.max.retries=0\ndebezium.source.slot.retry.delay.ms=250\n").config;
    assert_eq!(c.source.slot_retries, SlotRetries { max_retries: 0, delay: Duration::from_millis(250) });
    assert!(one_problem("debezium.source.slot.max.retries=-1\n").contains("slot.max.retries"));
}

#[test]
fn a_slot_name_postgresql_would_reject_is_a_configuration_error_naming_the_key_and_the_rule() {
    for bad in ["Sluice", "my-slot", "slot.1", "s p", &"s".repeat(64)] {
        let p = one_problem(&format!("debezium.source.slot.name={bad}\n"));
        assert!(p.contains("`debezium.source.slot.name`") && p.contains(bad), "{p}");
        assert!(p.contains("63 lower-case letters, digits and underscores"), "{p}");
    }
    assert!(one_problem("debezium.source.slot.name=\n").contains("not a valid replication slot name"));
    let longest = "s".repeat(63);
    assert_eq!(ok(&format!("debezium.source.slot.name={longest}\n")).config.source.slot_name, longest);
    assert_eq!(ok("debezium.source.slot.name=sluice_orders_2\n").config.source.slot_name, "sluice_orders_2");
}

#[test]
fn a_publication_name_postgresql_would_cut_or_reject_is_a_configuration_error() {
    let p = one_problem(&format!("debezium.source.publication.name={}\n", "p".repeat(64)));
    assert!(p.contains("`debezium.source.publication.name`") && p.contains("1 to 63 bytes"), "{p}");
    assert!(one_problem("debezium.source.publication.name=\n").contains("not a valid publication name"));
    let c = ok("debezium.source.publication.name=Orders \"Pub\"\n").config;
    assert_eq!(c.source.publication_name, "Orders \"Pub\"", "any other identifier is quoted, as Debezium allows");
}

#[test]
fn an_outbox_article_configuration_with_kafka_connect_keys_starts_as_it_is() {
    // An outbox connector as a popular article writes it, converted to Debezium Server keys.
    let loaded = ok("\
debezium.source.tasks.max=1
debezium.source.include.schema.changes=false
debezium.source.tombstones.on.delete=false
debezium.source.poll.interval.ms=100
debezium.transforms=outbox
debezium.transforms.outbox.type=io.debezium.transforms.outbox.EventRouter
debezium.transforms.outbox.route.topic.replacement=${routedByValue}.events
");
    assert!(loaded.ignored_keys.contains(&"debezium.source.tasks.max".to_string()), "{:?}", loaded.ignored_keys);
    assert!(loaded.ignored_keys.contains(&"debezium.source.include.schema.changes".to_string()));
}

#[test]
fn debezium_keys_at_their_default_or_off_value_are_accepted_and_others_are_not_supported_yet() {
    for accepted in [
        "include.schema.comments=false",
        "provide.transaction.metadata=FALSE",
        "slot.drop.on.stop=false",
        "max.batch.size=2048",
        "max.queue.size=8192",
        "message.key.columns=",
        "tasks.max=3",
    ] {
        ok(&format!("debezium.source.{accepted}\n"));
    }
    let p = one_problem("debezium.source.include.schema.comments=true\n");
    assert!(p.contains("does not support yet"), "{p}");
}

#[test]
fn transaction_metadata_goes_to_the_prefixed_transaction_topic_when_provided() {
    assert_eq!(ok("").config.source.transaction_topic, None, "off by default, as in Debezium");
    let on = ok("debezium.source.provide.transaction.metadata=true\n");
    assert_eq!(on.config.source.transaction_topic.as_deref(), Some("shop.transaction"));
    let renamed = ok("debezium.source.provide.transaction.metadata=true\ndebezium.source.topic.transaction=tx\n");
    assert_eq!(renamed.config.source.transaction_topic.as_deref(), Some("shop.tx"));
    assert!(one_problem("debezium.source.provide.transaction.metadata=yes\n").contains("not a boolean"));
}

#[test]
fn topic_naming_keys_are_read_with_debeziums_defaults() {
    use sluice_format::naming::{NameAdjustment, Naming, TopicNamingStrategy};
    assert_eq!(ok("").config.events.naming, Naming::default());
    let set = ok("debezium.source.topic.naming.strategy=io.debezium.schema.DefaultTopicNamingStrategy\n\
         debezium.source.topic.delimiter=_\ndebezium.source.topic.cache.size=500\n\
         debezium.source.schema.name.adjustment.mode=avro\ndebezium.source.field.name.adjustment.mode=avro_unicode\n\
         debezium.source.provide.transaction.metadata=true\n");
    let naming = &set.config.events.naming;
    assert_eq!(naming.strategy, TopicNamingStrategy::Default);
    assert_eq!(naming.delimiter, "_");
    assert_eq!((naming.schema_names, naming.field_names), (NameAdjustment::Avro, NameAdjustment::AvroUnicode));
    assert_eq!(set.config.source.transaction_topic.as_deref(), Some("shop_transaction"), "joined with the delimiter");
}

#[test]
fn bad_topic_naming_values_are_named() {
    for (line, expected) in [
        (
            "topic.naming.strategy=io.debezium.schema.SchemaUnicodeTopicNamingStrategy",
            "`debezium.source.topic.naming.strategy` = `io.debezium.schema.SchemaUnicodeTopicNamingStrategy` is not supported yet",
        ),
        ("topic.delimiter=/", "`debezium.source.topic.delimiter` = `/` has invalid format"),
        ("topic.cache.size=0", "`debezium.source.topic.cache.size` must be a positive"),
        ("topic.cache.size=-5", "`debezium.source.topic.cache.size` = `-5` is not a positive whole number"),
        ("schema.name.adjustment.mode=avro-unicode", "`debezium.source.schema.name.adjustment.mode` = `avro-unicode` is not valid"),
        ("field.name.adjustment.mode=strict", "`debezium.source.field.name.adjustment.mode` = `strict` is not valid"),
    ] {
        let p = one_problem(&format!("debezium.source.{line}\n"));
        assert!(p.contains(expected), "{line}: {p}");
    }
}

const KAFKA_TRANSFORMS: &str = "org.apache.kafka.connect.transforms";

#[test]
fn kafka_connect_record_transforms_are_read_with_kafka_s_defaults() {
    use sluice_format::transform::records::RecordTransformConfig;
    let text = format!(
        "{BASE}debezium.transforms=daily,route,tag,untag,drop\n\
         debezium.transforms.daily.type={KAFKA_TRANSFORMS}.TimestampRouter\n\
         debezium.transforms.route.type={KAFKA_TRANSFORMS}.RegexRouter\n\
         debezium.transforms.route.regex=(.*)customers_shard(.*)\n\
         debezium.transforms.route.replacement=$1customers_all_shards\n\
         debezium.transforms.tag.type={KAFKA_TRANSFORMS}.InsertHeader\n\
         debezium.transforms.tag.header=origin\n\
         debezium.transforms.tag.value.literal=\n\
         debezium.transforms.untag.type={KAFKA_TRANSFORMS}.DropHeaders\n\
         debezium.transforms.untag.headers=a, b\n\
         debezium.transforms.drop.type={KAFKA_TRANSFORMS}.Filter\n\
         debezium.transforms.drop.predicate=hasKey\n\
         debezium.predicates=hasKey\n\
         debezium.predicates.hasKey.type={KAFKA_TRANSFORMS}.predicates.HasHeaderKey\n\
         debezium.predicates.hasKey.name=__debezium.oldkey\n"
    );
    let c = parse_with_env(&text, &no_env).unwrap().config;
    let kinds: Vec<TransformType> = c.transforms.iter().map(|t| t.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            TransformType::Record(RecordTransformConfig::TimestampRouter {
                topic_format: "${topic}-${timestamp}".into(),
                timestamp_format: "yyyyMMdd".into()
            }),
            TransformType::Record(RecordTransformConfig::RegexRouter {
                regex: "(.*)customers_shard(.*)".into(),
                replacement: "$1customers_all_shards".into()
            }),
            TransformType::Record(RecordTransformConfig::InsertHeader {
                header: "origin".into(),
                value_literal: String::new()
            }),
            TransformType::Record(RecordTransformConfig::DropHeaders { headers: vec!["a".into(), "b".into()] }),
            TransformType::Record(RecordTransformConfig::Filter),
        ]
    );
    assert_eq!(
        c.transforms[4].predicate,
        Some(PredicateConfig {
            name: "hasKey".into(),
            kind: PredicateKind::HasHeaderKey { name: "__debezium.oldkey".into() },
            negate: false
        })
    );
}

#[test]
fn every_mistake_in_record_transforms_and_predicates_is_named_at_once() {
    let p = problems(&format!(
        "{BASE}debezium.transforms=route,daily,untag,drop,tag\n\
         debezium.transforms.route.type={KAFKA_TRANSFORMS}.RegexRouter\n\
         debezium.transforms.route.regex=(a\n\
         debezium.transforms.route.replacment=x\n\
         debezium.transforms.daily.type={KAFKA_TRANSFORMS}.TimestampRouter\n\
         debezium.transforms.daily.timestamp.format=yyyy-ww\n\
         debezium.transforms.untag.type={KAFKA_TRANSFORMS}.DropHeaders\n\
         debezium.transforms.untag.headers=\n\
         debezium.transforms.drop.type={KAFKA_TRANSFORMS}.Filter\n\
         debezium.transforms.drop.negate=true\n\
         debezium.transforms.drop.what=x\n\
         debezium.transforms.tag.type={KAFKA_TRANSFORMS}.InsertHeader\n\
         debezium.transforms.tag.predicate=empty\n\
         debezium.predicates=empty\n\
         debezium.predicates.empty.type={KAFKA_TRANSFORMS}.predicates.HasHeaderKey\n\
         debezium.predicates.empty.name=\n"
    ));
    let has = |needle: &str| assert!(p.iter().any(|p| p.contains(needle)), "`{needle}` in {p:#?}");
    has("unknown option `debezium.transforms.route.replacment` of org.apache.kafka.connect.transforms.RegexRouter; did you mean `debezium.transforms.route.replacement`?");
    has("missing required key `debezium.transforms.route.replacement`");
    has("`debezium.transforms.route.regex`: `(a` is not a regular expression Sluice can use");
    has("`debezium.transforms.daily.timestamp.format`: `yyyy-ww` is not a SimpleDateFormat pattern");
    has("`debezium.transforms.untag.headers`: the list of headers to drop is empty");
    has("`debezium.transforms.drop.negate` is set but there is no `debezium.transforms.drop.predicate`");
    has("unknown option `debezium.transforms.drop.what`: org.apache.kafka.connect.transforms.Filter takes no options");
    has("missing required key `debezium.transforms.tag.header`");
    has("missing required key `debezium.transforms.tag.value.literal`");
    has("`debezium.predicates.empty.name` is empty");
}

#[test]
fn a_hostile_regex_is_refused_with_its_key() {
    let p = problems(&format!(
        "{BASE}debezium.transforms=route\n\
         debezium.transforms.route.type={KAFKA_TRANSFORMS}.RegexRouter\n\
         debezium.transforms.route.regex=((a{{1000}}){{1000}}){{1000}}\n\
         debezium.transforms.route.replacement=x\n"
    ));
    assert!(p.iter().any(|p| p.contains("`debezium.transforms.route.regex`")), "{p:?}");
}

#[test]
fn field_transform_options_are_read_with_kafka_s_rules_and_old_names() {
    use sluice_format::transform::fields::{FieldSelection, Insertion, SchemaNameAdjustment, Side};
    use sluice_format::transform::records::RecordTransformConfig;
    let loaded = parse_with_env(
        &format!(
            "{BASE}debezium.format.value.schemas.enable=true\n\
             debezium.transforms=fields,origin,mask,reroute\n\
             debezium.transforms.fields.type={KAFKA_TRANSFORMS}.ReplaceField$Value\n\
             debezium.transforms.fields.blacklist=secret\n\
             debezium.transforms.fields.renames=id:customer_id,:empty_name\n\
             debezium.transforms.origin.type={KAFKA_TRANSFORMS}.InsertField$Value\n\
             debezium.transforms.origin.topic.field=topic!\n\
             debezium.transforms.mask.type={KAFKA_TRANSFORMS}.MaskField$Key\n\
             debezium.transforms.mask.fields=ssn\n\
             debezium.transforms.reroute.type=io.debezium.transforms.ByLogicalTableRouter\n\
             debezium.transforms.reroute.topic.regex=(.*)_shard(.*)\n\
             debezium.transforms.reroute.topic.replacement=$1_all\n"
        ),
        &no_env,
    )
    .unwrap();
    assert!(loaded.warnings.iter().any(|w| w.contains("`debezium.transforms.fields.blacklist` is deprecated")));
    let kinds: Vec<TransformType> = loaded.config.transforms.iter().map(|t| t.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            TransformType::Record(RecordTransformConfig::ReplaceField {
                side: Side::Value,
                selection: FieldSelection {
                    include: vec![],
                    exclude: vec!["secret".into()],
                    renames: vec![("id".into(), "customer_id".into()), (String::new(), "empty_name".into())],
                },
            }),
            TransformType::Record(RecordTransformConfig::InsertField {
                side: Side::Value,
                topic: Some(Insertion { name: "topic".into(), optional: false }),
                partition: None,
                timestamp: None,
                static_field: None,
            }),
            TransformType::Record(RecordTransformConfig::MaskField {
                side: Side::Key,
                fields: vec!["ssn".into()],
                replacement: None,
            }),
            TransformType::Record(RecordTransformConfig::LogicalTableRouter {
                topic_regex: "(.*)_shard(.*)".into(),
                topic_replacement: "$1_all".into(),
                enforce_uniqueness: true,
                key_field_name: "__dbz__physicalTableIdentifier".into(),
                key_field_regex: None,
                key_field_replacement: String::new(),
                adjustment: SchemaNameAdjustment::None,
            }),
        ]
    );
}

#[test]
fn every_field_transform_mistake_is_named_at_once() {
    let p = problems(&format!(
        "{BASE}debezium.format.value=simplestring\n\
         debezium.transforms=a,b,c,d,e,f,g,h\n\
         debezium.transforms.a.type={KAFKA_TRANSFORMS}.ReplaceField$Value\n\
         debezium.transforms.a.exclude=x\n\
         debezium.transforms.a.blacklist=y\n\
         debezium.transforms.a.renames=a:b:c\n\
         debezium.transforms.b.type={KAFKA_TRANSFORMS}.InsertField$Value\n\
         debezium.transforms.b.offset.field=offset\n\
         debezium.transforms.b.static.field=s\n\
         debezium.transforms.c.type={KAFKA_TRANSFORMS}.MaskField$Value\n\
         debezium.transforms.c.fields=x\n\
         debezium.transforms.c.replacement=\n\
         debezium.transforms.d.type={KAFKA_TRANSFORMS}.HeaderFrom$Value\n\
         debezium.transforms.d.fields=a,b\n\
         debezium.transforms.d.headers=h\n\
         debezium.transforms.d.operation=copy\n\
         debezium.transforms.e.type={KAFKA_TRANSFORMS}.ExtractField$Key\n\
         debezium.transforms.e.field=id\n\
         debezium.transforms.e.field.syntax.version=V2\n\
         debezium.transforms.f.type={KAFKA_TRANSFORMS}.ValueToKey\n\
         debezium.transforms.f.fields=id\n\
         debezium.transforms.g.type=io.debezium.transforms.ByLogicalTableRouter\n\
         debezium.transforms.g.topic.regex=(.*)\n\
         debezium.transforms.g.topic.replacement=$1\n\
         debezium.transforms.g.key.field.regex=(.*)\n\
         debezium.transforms.h.type={KAFKA_TRANSFORMS}.InsertField$Key\n\
         debezium.transforms.h.replace.null.with.default=false\n"
    ));
    let has = |needle: &str| assert!(p.iter().any(|p| p.contains(needle)), "`{needle}` in {p:#?}");
    has("`debezium.transforms.a.blacklist` and `debezium.transforms.a.exclude` are both set");
    has("`debezium.transforms.a.renames`: invalid rename mapping `a:b:c`");
    has("`debezium.transforms.b.offset.field`: the Kafka offset is only known to sink connectors");
    has("missing required key `debezium.transforms.b.static.value`");
    has("`debezium.transforms.c.replacement`: String must be non-empty");
    has("'fields' config must have the same number of elements as 'headers' config");
    has("`debezium.transforms.e.field.syntax.version` = `V2` (nested field paths) is not supported yet");
    has("`debezium.transforms.f.type`: ValueToKey reads the value's fields and writes a struct key, which needs `debezium.format.value=json`");
    has("`debezium.transforms.g.key.field.replacement`: key.field.replacement must be non-empty if key.field.regex is set");
    has("`debezium.transforms.h.replace.null.with.default` = `false` is not supported yet");
    has("`debezium.transforms.h.topic.field`: no field insertion configured");
}

#[test]
fn set_schema_metadata_needs_schemas_and_a_name_or_version() {
    let p = problems(&format!(
        "{BASE}debezium.format.key.schemas.enable=false\n\
         debezium.transforms=meta,none,key\n\
         debezium.transforms.meta.type={KAFKA_TRANSFORMS}.SetSchemaMetadata$Value\n\
         debezium.transforms.meta.schema.name=com.example.Customer\n\
         debezium.transforms.meta.schema.version=v2\n\
         debezium.transforms.none.type={KAFKA_TRANSFORMS}.SetSchemaMetadata$Value\n\
         debezium.transforms.key.type={KAFKA_TRANSFORMS}.SetSchemaMetadata$Key\n\
         debezium.transforms.key.schema.name=com.example.Key\n"
    ));
    let has = |needle: &str| assert!(p.iter().any(|p| p.contains(needle)), "`{needle}` in {p:#?}");
    has("`debezium.transforms.meta.schema.version` = `v2` is not a schema version");
    has("`debezium.transforms.none.schema.name`: neither schema name nor version configured");
    has("`debezium.transforms.key.type`: SetSchemaMetadata changes the key schema, which needs `debezium.format.key=json` with `debezium.format.key.schemas.enable=true`");
}

#[test]
fn cast_timestamp_converter_header_to_value_and_partition_routing_are_read_with_their_options() {
    let loaded = ok(&format!(
        "debezium.transforms=cast,ts,h2v,part\n\
         debezium.transforms.cast.type={KAFKA_TRANSFORMS}.Cast$Value\n\
         debezium.transforms.cast.spec=id:string, score:float64\n\
         debezium.transforms.ts.type={KAFKA_TRANSFORMS}.TimestampConverter$Key\n\
         debezium.transforms.ts.field=created\n\
         debezium.transforms.ts.target.type=string\n\
         debezium.transforms.ts.format=yyyy-MM-dd\n\
         debezium.transforms.ts.unix.precision=microseconds\n\
         debezium.transforms.h2v.type=io.debezium.transforms.HeaderToValue\n\
         debezium.transforms.h2v.headers= h1 , h2\n\
         debezium.transforms.h2v.fields=f1,after.f2\n\
         debezium.transforms.h2v.operation=move\n\
         debezium.transforms.part.type=io.debezium.transforms.partitions.PartitionRouting\n\
         debezium.transforms.part.partition.payload.fields=change . id,source.table\n\
         debezium.transforms.part.partition.topic.num=4\n\
         debezium.transforms.part.partition.hash.function=Murmur\n\
         debezium.transforms.part.predicate=orders\n\
         debezium.predicates=orders\n\
         debezium.predicates.orders.type={KAFKA_TRANSFORMS}.predicates.TopicNameMatches\n\
         debezium.predicates.orders.pattern=.*orders\n"
    ));
    let kinds: Vec<String> = loaded.config.transforms.iter().map(|t| format!("{:?}", t.kind)).collect();
    assert!(kinds[0].contains(r#"Cast { side: Value, spec: ["id:string", "score:float64"] }"#), "{kinds:?}");
    assert!(kinds[1]
        .contains("side: Key, field: \"created\", target: String, format: \"yyyy-MM-dd\", precision: Microseconds"));
    assert!(kinds[2].contains(r#"HeaderToValue { headers: ["h1", "h2"], fields: ["f1", "after.f2"], moving: true }"#));
    assert!(kinds[3]
        .contains(r#"PartitionRouting { fields: ["change . id", "source.table"], partitions: 4, hash: Murmur }"#));
    assert!(loaded.config.transforms[3].predicate.is_some(), "chainable with a predicate");
}

#[test]
fn debezium_s_scripted_filter_and_content_based_router_are_read_with_their_options() {
    // Debezium's documented configurations ("Message filtering", "Content-based routing").
    let loaded = ok("debezium.transforms=filter,route\n\
         debezium.transforms.filter.type=io.debezium.transforms.Filter\n\
         debezium.transforms.filter.language=jsr223.groovy\n\
         debezium.transforms.filter.condition=value.op == 'u' && value.before.id == 2\n\
         debezium.transforms.route.type=io.debezium.transforms.ContentBasedRouter\n\
         debezium.transforms.route.language=jsr223.graal.js\n\
         debezium.transforms.route.topic.expression=value.op == 'u' ? 'updates' : null\n\
         debezium.transforms.route.topic.regex=shop[.].*\n\
         debezium.transforms.route.null.handling.mode=Evaluate\n\
         debezium.transforms.route.predicate=orders\n\
         debezium.predicates=orders\n\
         debezium.predicates.orders.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches\n\
         debezium.predicates.orders.pattern=.*orders\n");
    let kinds: Vec<String> = loaded.config.transforms.iter().map(|t| format!("{:?}", t.kind)).collect();
    assert!(
        kinds[0].contains(
            r#"Scripted { kind: Filter, expression: "value.op == 'u' && value.before.id == 2", topic_regex: None, nulls: Keep }"#
        ),
        "{kinds:?}"
    );
    assert!(kinds[1].contains(r#"kind: Router, expression: "value.op == 'u' ? 'updates' : null", topic_regex: Some("shop[.].*"), nulls: Evaluate"#), "{kinds:?}");
    assert!(loaded.config.transforms[1].predicate.is_some(), "chainable with a predicate");
}

#[test]
fn scripted_transforms_refuse_what_is_outside_the_subset_naming_the_key_and_the_place() {
    let p = problems(&format!(
        "{BASE}debezium.transforms=a,b,c,d,e,f\n\
         debezium.transforms.a.type=io.debezium.transforms.Filter\n\
         debezium.transforms.a.language=jsr223.graal.js\n\
         debezium.transforms.a.condition=headers.idh.value == 1 && topic.startsWith('dummy')\n\
         debezium.transforms.b.type=io.debezium.transforms.ContentBasedRouter\n\
         debezium.transforms.b.language=jsr223.groovy\n\
         debezium.transforms.b.topic.expression=(new groovy.json.JsonSlurper()).parseText(value.after).last_name\n\
         debezium.transforms.c.type=io.debezium.transforms.Filter\n\
         debezium.transforms.c.language=jsr223.jython\n\
         debezium.transforms.c.condition=true\n\
         debezium.transforms.d.type=io.debezium.transforms.Filter\n\
         debezium.transforms.d.language=jsr223.groovy\n\
         debezium.transforms.d.condition=true\n\
         debezium.transforms.d.null.handling.mode=ignore\n\
         debezium.transforms.d.topic.regex=(unclosed\n\
         debezium.transforms.e.type=io.debezium.transforms.ContentBasedRouter\n\
         debezium.transforms.e.language=jsr223.groovy\n\
         debezium.transforms.e.expression=value.op\n\
         debezium.transforms.f.type=io.debezium.transforms.Filter\n\
         debezium.transforms.f.condition=true\n"
    ));
    let has = |needle: &str| assert!(p.iter().any(|p| p.contains(needle)), "`{needle}` in {p:#?}");
    has("`debezium.transforms.a.condition`: `headers.idh.value == 1 && topic.startsWith('dummy')` stops at character 32 (`.startsWith('dummy')`): `topic` is a string");
    has("Sluice evaluates a subset: the variables value, key, topic and headers");
    has("`debezium.transforms.b.topic.expression`: `(new groovy.json.JsonSlurper()).parseText(value.after).last_name` stops at character 2 (`new groovy");
    has("`debezium.transforms.c.language` = `jsr223.jython`: Sluice evaluates a documented subset of Groovy and JavaScript expressions, for `language` jsr223.groovy or jsr223.graal.js");
    has("`debezium.transforms.d.null.handling.mode` = `ignore` is not valid; allowed values: keep, drop, evaluate");
    has("`debezium.transforms.d.topic.regex`: `(unclosed` is not a regular expression Sluice can use");
    has("unknown option `debezium.transforms.e.expression` of io.debezium.transforms.ContentBasedRouter; did you mean `debezium.transforms.e.topic.expression`?");
    has("missing required key `debezium.transforms.e.topic.expression`");
    has("missing required key `debezium.transforms.f.language`");
}

#[test]
fn a_scripted_transform_that_reads_the_value_needs_the_json_converter() {
    let p = problems(&format!(
        "{BASE}debezium.format.value=simplestring\n\
         debezium.transforms=f,g\n\
         debezium.transforms.f.type=io.debezium.transforms.Filter\n\
         debezium.transforms.f.language=jsr223.groovy\n\
         debezium.transforms.f.condition=value.op != 'd'\n\
         debezium.transforms.g.type=io.debezium.transforms.ContentBasedRouter\n\
         debezium.transforms.g.language=jsr223.groovy\n\
         debezium.transforms.g.topic.expression=topic + '.all'\n"
    ));
    assert_eq!(
        p,
        ["`debezium.transforms.f.type`: the expression reads the record's value, which needs `debezium.format.value=json`"],
        "the router reads only the topic"
    );
}

#[test]
fn cast_timestamp_converter_header_to_value_and_partition_routing_name_the_bad_option() {
    let p = problems(&format!(
        "{BASE}debezium.transforms=a,b,c,d,e,f,g,h,i,j,k\n\
         debezium.transforms.a.type={KAFKA_TRANSFORMS}.Cast$Value\n\
         debezium.transforms.a.spec=id:bytes\n\
         debezium.transforms.b.type={KAFKA_TRANSFORMS}.Cast$Key\n\
         debezium.transforms.b.spec=int8,id:int16\n\
         debezium.transforms.c.type={KAFKA_TRANSFORMS}.Cast$Value\n\
         debezium.transforms.c.spec=id:faketype\n\
         debezium.transforms.d.type={KAFKA_TRANSFORMS}.TimestampConverter$Value\n\
         debezium.transforms.d.target.type=string\n\
         debezium.transforms.e.type={KAFKA_TRANSFORMS}.TimestampConverter$Value\n\
         debezium.transforms.e.target.type=timestamp\n\
         debezium.transforms.e.unix.precision=hours\n\
         debezium.transforms.f.type={KAFKA_TRANSFORMS}.TimestampConverter$Value\n\
         debezium.transforms.f.target.type=Timestamp\n\
         debezium.transforms.f.format=bad-format\n\
         debezium.transforms.g.type=io.debezium.transforms.HeaderToValue\n\
         debezium.transforms.g.headers=h1,h2\n\
         debezium.transforms.g.fields=f1\n\
         debezium.transforms.g.operation=invalidOp\n\
         debezium.transforms.h.type=io.debezium.transforms.HeaderToValue\n\
         debezium.transforms.h.headers=header one\n\
         debezium.transforms.h.fields=,f2\n\
         debezium.transforms.h.operation=copy\n\
         debezium.transforms.i.type=io.debezium.transforms.partitions.PartitionRouting\n\
         debezium.transforms.i.partition.payload.fields=,source.table\n\
         debezium.transforms.i.partition.topic.num=0\n\
         debezium.transforms.j.type=io.debezium.transforms.partitions.PartitionRouting\n\
         debezium.transforms.j.partition.topic.num=2\n\
         debezium.transforms.j.partition.hash.function=murmur3\n\
         debezium.transforms.k.type=io.debezium.transforms.HeaderToValue\n\
         debezium.transforms.k.headers=h1,h2\n\
         debezium.transforms.k.fields=f1\n\
         debezium.transforms.k.operation=copy\n"
    ));
    let has = |needle: &str| assert!(p.iter().any(|p| p.contains(needle)), "`{needle}` in {p:#?}");
    // The messages are Kafka's (CastTest, TimestampConverterTest) and Debezium's (HeaderToValueTest,
    // PartitionRoutingTest) for the same configurations.
    has("`debezium.transforms.a.spec`: Cast transformation does not support casting to BYTES");
    has("`debezium.transforms.b.spec`: Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec");
    has("`debezium.transforms.c.spec`: Invalid type found in casting spec: faketype");
    has("`debezium.transforms.d.format`: TimestampConverter requires format option to be specified when using string timestamps");
    has("`debezium.transforms.e.target.type` = `timestamp` is not valid; allowed values: string, unix, Date, Time, Timestamp");
    has("`debezium.transforms.e.unix.precision` = `hours` is not valid; allowed values: nanoseconds, microseconds, milliseconds, seconds");
    has("`debezium.transforms.f.format`: TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: bad-format");
    has("`debezium.transforms.g.operation` = `invalidOp` is not valid; allowed values: move, copy");
    has("`debezium.transforms.h.headers` = `header one`: Element(s) containing space not permitted");
    has("`debezium.transforms.h.fields` = `,f2`: Empty string element(s) not permitted");
    has("`debezium.transforms.i.partition.payload.fields` = `,source.table`: Empty string element(s) not permitted");
    has("`debezium.transforms.i.partition.topic.num` = `0`: A positive integer is expected");
    has("missing required key `debezium.transforms.j.partition.payload.fields`");
    has("`debezium.transforms.j.partition.hash.function` = `murmur3` is not valid; allowed values: java, murmur");
    has("`debezium.transforms.k.fields`: 'fields' config must have the same number of elements as 'headers' config.");
}

#[test]
fn cast_and_timestamp_converter_need_the_json_converter_on_their_side() {
    let p = problems(&format!(
        "{BASE}debezium.format.key=simplestring\n\
         debezium.transforms=cast\n\
         debezium.transforms.cast.type={KAFKA_TRANSFORMS}.Cast$Key\n\
         debezium.transforms.cast.spec=string\n"
    ));
    assert!(p.iter().any(|p| p.contains("`debezium.transforms.cast.type`: this transform changes the fields of the record's key, which needs `debezium.format.key=json`")), "{p:?}");
}

#[test]
fn keys_of_other_debezium_connectors_are_a_warning_not_an_error() {
    let loaded = ok("debezium.source.database.server.id=184054\n\
         debezium.source.schema.history.internal.kafka.topic=schema-changes.inventory\n\
         debezium.source.internal.advanced.metrics.enable=true\n");
    for key in ["database.server.id", "schema.history.internal.kafka.topic", "internal.advanced.metrics.enable"] {
        assert!(
            loaded.warnings.iter().any(|w| w.contains(key) && w.contains("another Debezium connector")),
            "{key}: {:?}",
            loaded.warnings
        );
    }
    assert!(one_problem("debezium.source.slot.failover=true\n").contains("does not support yet"));
    assert!(ok("debezium.source.slot.failover=false\n").ignored_keys.contains(&"debezium.source.slot.failover".into()));
}

#[test]
fn hstore_and_interval_modes_take_debeziums_values_and_refuse_others() {
    let defaults = ok("");
    assert_eq!(defaults.config.events.hstore_handling_mode, HStoreHandlingMode::Json);
    assert_eq!(defaults.config.events.interval_handling_mode, IntervalHandlingMode::Numeric);
    let loaded = ok("debezium.source.hstore.handling.mode=map\ndebezium.source.interval.handling.mode=string\n");
    assert!(loaded.ignored_keys.is_empty());
    assert_eq!(loaded.config.events.hstore_handling_mode, HStoreHandlingMode::Map);
    assert_eq!(loaded.config.events.interval_handling_mode, IntervalHandlingMode::String);
    assert!(one_problem("debezium.source.hstore.handling.mode=array\n").contains("allowed values: json, map"));
    assert!(one_problem("debezium.source.interval.handling.mode=iso\n").contains("allowed values: numeric, string"));
}

#[test]
fn debezium_3_1_time_precision_modes_are_read() {
    for (value, mode) in [
        ("isostring", TimePrecisionMode::IsoString),
        ("microseconds", TimePrecisionMode::Microseconds),
        ("nanoseconds", TimePrecisionMode::Nanoseconds),
    ] {
        let loaded = ok(&format!("debezium.source.time.precision.mode={value}\n"));
        assert_eq!(loaded.config.events.time_precision_mode, mode, "{value}");
    }
}

#[test]
fn message_key_columns_and_column_mappers_are_read() {
    let loaded = ok("debezium.source.message.key.columns=inventory.customers:id,email;(.*).orders:pk\n\
                     debezium.source.column.mask.with.5.chars=inventory.customers.email\n\
                     debezium.source.column.mask.hash.SHA-256.with.salt.CzQMA0cB5K=.*\\.ssn\n\
                     debezium.source.column.mask.hash.v2.MD5.with.salt.s=.*\\.name\n\
                     debezium.source.column.truncate.to.20.chars=.*\\.notes\n\
                     debezium.source.column.propagate.source.type=.*\\.price\n\
                     debezium.source.datatype.propagate.source.type=.+\\.NUMERIC\n");
    let columns = &loaded.config.events.columns;
    assert_eq!(columns.key_columns.len(), 3);
    assert_eq!(columns.mappers.len(), 6);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(ok("debezium.source.message.key.columns=\n").config.events.columns.key_columns.is_empty());
}

#[test]
fn bad_key_columns_and_column_mapper_keys_are_named() {
    for (line, expected) in [
        (
            "message.key.columns=inventory.customers",
            "`debezium.source.message.key.columns`: `inventory.customers` is not",
        ),
        (
            "message.key.columns=a.b:(x",
            "`debezium.source.message.key.columns`: `a.b.(x` is not a valid regular expression",
        ),
        ("column.mask.with.five.chars=a.b.c", "`debezium.source.column.mask.with.five.chars`: `five` is not a number"),
        ("column.truncate.to.3=a.b.c", "`debezium.source.column.truncate.to.3`: the name is not one of"),
        (
            "column.mask.hash.MD2.with.salt.x=a.b.c",
            "`debezium.source.column.mask.hash.MD2.with.salt.x`: `MD2` is not a hash",
        ),
        ("column.mask.with.3.chars=a.(b", "`debezium.source.column.mask.with.3.chars`: `a.(b` is not a valid regular"),
        ("column.propagate.source.type=a.(b", "`debezium.source.column.propagate.source.type`: `a.(b` is not a valid"),
    ] {
        let p = one_problem(&format!("debezium.source.{line}\n"));
        assert!(p.contains(expected), "{line}: {p}");
    }
}
