//! Public Debezium configurations for PostgreSQL, taken as users would bring them: Kafka Connect connector JSON
//! (as POSTed to `/connectors` or PUT to `/connectors/{name}/config`) and Debezium Server properties, each kept
//! unchanged in `crates/sluice/tests/corpus/`, its file named after the repository and path it comes from.
//!
//! Each must be accepted as it is, or refused only with "not supported yet" naming the key that asks for what Sluice
//! lacks: never "unknown", never a half-accepted configuration. The table below is the current state; a
//! configuration moves from `NotYet` to `Starts` as the features land. Host names and credentials play no part in
//! validation, which connects nowhere, so the files need no changes at all here. `tests/e2e/corpus.rs` runs every
//! configuration that starts against a real database and broker, and checks the event its example documents.

use std::collections::BTreeMap;

use serde_json::Value;

/// What a configuration does today.
#[derive(Debug)]
enum Expect {
    /// Accepted as it is.
    Starts,
    /// Refused with "not supported yet" for this key (or value).
    NotYet(&'static str),
    /// Names Java code of its own (a custom transform written for the example): refused, naming the class.
    OwnCode(&'static str),
}

use Expect::*;

/// Every file of the corpus, with its source (repository and path) and what it does today.
const CORPUS: &[(&str, &str, Expect)] = &[
    (
        "debezium-examples__tutorial__register-postgres.json",
        "debezium/debezium-examples tutorial/register-postgres.json",
        Starts,
    ),
    (
        "debezium-examples__outbox__register-postgres.json",
        "debezium/debezium-examples outbox/register-postgres.json",
        Starts,
    ),
    (
        "debezium-examples__auditlog__register-postgres.json",
        "debezium/debezium-examples auditlog/register-postgres.json",
        Starts,
    ),
    (
        "debezium-examples__distributed-caching__register-postgres.json",
        "debezium/debezium-examples distributed-caching/register-postgres.json",
        Starts,
    ),
    (
        "debezium-examples__kafka-ssl__register-postgres.json",
        "debezium/debezium-examples kafka-ssl/register-postgres.json",
        Starts,
    ),
    (
        "debezium-examples__kstreams-fk-join__register-postgres.json",
        "debezium/debezium-examples kstreams-fk-join/register-postgres.json",
        Starts,
    ),
    (
        "debezium-examples__kstreams-live-update__pgsql-source.json",
        "debezium/debezium-examples kstreams-live-update/pgsql-source.json",
        Starts,
    ),
    (
        "debezium-examples__podman__postgres-connector.json",
        "debezium/debezium-examples podman/postgres-connector.json",
        Starts,
    ),
    (
        "debezium-examples__postgres-toast__debezium-source.json",
        "debezium/debezium-examples postgres-toast/debezium-source.json",
        Starts,
    ),
    (
        "debezium-examples__saga__register-order-connector.json",
        "debezium/debezium-examples saga/register-order-connector.json",
        Starts,
    ),
    (
        "debezium-examples__saga__register-sagastate-connector.json",
        "debezium/debezium-examples saga/register-sagastate-connector.json",
        Starts,
    ),
    (
        "debezium-examples__db-activity-monitoring__postgres-activity-monitoring.json",
        "debezium/debezium-examples db-activity-monitoring/postgres-activity-monitoring.json",
        Starts,
    ),
    ("jianjustin-tutorial__demos__cdc__README.md.json", "jianjustin/tutorial demos/cdc/README.md", Starts),
    (
        "yaperos-app-java-codechallenge__init-debezium.sh.json",
        "yaperos/app-java-codechallenge init-debezium.sh",
        Starts,
    ),
    (
        "git-raka-docker_kafka_neo4j__postgres-to-kafka.sh.json",
        "git-raka/docker_kafka_neo4j postgres-to-kafka.sh",
        Starts,
    ),
    (
        "kadekchrisna-kafka-playground__create-connector-debezium-pgoutput.sh.json",
        "kadekchrisna/kafka-playground create-connector-debezium-pgoutput.sh",
        Starts,
    ),
    ("debezium-examples__cqrs__postgres-source.json", "debezium/debezium-examples cqrs/postgres-source.json", Starts),
    (
        "debezium-examples__topic-auto-create__connector.json",
        "debezium/debezium-examples topic-auto-create/connector.json",
        Starts,
    ),
    (
        "debezium-examples__postgres-failover-slots__inventory-source.json",
        "debezium/debezium-examples postgres-failover-slots/inventory-source.json",
        NotYet("slot.failover"),
    ),
    (
        "debezium-examples__machine-learning__tensorflow-mnist__register-postgres.json",
        "debezium/debezium-examples machine-learning/tensorflow-mnist/register-postgres.json",
        OwnCode("io.debezium.transforms.MnistToCsv"),
    ),
    (
        "debezium-examples__cloudevents__register-postgres-json-json.json",
        "debezium/debezium-examples cloudevents/register-postgres-json-json.json",
        NotYet("io.debezium.converters.CloudEventsConverter"),
    ),
    (
        "debezium-examples__postgres-kafka-signal__connector.json",
        "debezium/debezium-examples postgres-kafka-signal/connector.json",
        NotYet("signal."),
    ),
    (
        "debezium-examples__http-signaling-notification__register-postgres.json",
        "debezium/debezium-examples http-signaling-notification/register-postgres.json",
        NotYet("signal.enabled.channels"),
    ),
    (
        "debezium-examples__openlinage__debezium-server__config__application.properties",
        "debezium/debezium-examples openlinage/debezium-server/config/application.properties",
        NotYet("offset.storage"),
    ),
    (
        "debezium-examples__data-replication__debezium-server__application.properties",
        "debezium/debezium-examples data-replication/debezium-server/application.properties",
        NotYet("jdbc"),
    ),
];

fn corpus_file(name: &str) -> String {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Validates one file the way Sluice would meet it: properties as `sluice check` does, connector JSON as
/// `PUT /connectors/{name}/config` (or `POST /connectors` with a `config` object) does.
fn validate(name: &str, text: &str) -> Result<(), Vec<String>> {
    if name.ends_with(".properties") {
        return crate::config::parse_with_env(text, &|_| None).map(|_| ()).map_err(|e| e.problems());
    }
    let body: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let config = body.get("config").unwrap_or(&body);
    let config: BTreeMap<String, String> = super::connector_config(config).unwrap_or_else(|e| panic!("{name}: {e}"));
    let worker = super::tests::worker();
    let pairs = super::translate(&worker, "corpus", &config);
    super::validate(&worker, pairs).map(|_| ())
}

#[test]
fn public_debezium_configurations_start_as_they_are_or_name_what_is_not_supported_yet() {
    let mut starting = 0;
    for (file, source, expect) in CORPUS {
        let result = validate(file, &corpus_file(file));
        match (expect, result) {
            (Starts, Ok(())) => starting += 1,
            (Starts, Err(problems)) => panic!("{source} should start as it is, but: {problems:#?}"),
            (NotYet(what), Err(problems)) => assert!(
                problems.iter().any(
                    |p| p.contains(what) && (p.contains("not supported yet") || p.contains("does not support yet"))
                ),
                "{source}: expected \"not supported yet\" naming `{what}`, got {problems:#?}"
            ),
            (OwnCode(class), Err(problems)) => assert!(
                problems.iter().any(|p| p.contains(class) && p.contains("not a transform Sluice knows")),
                "{source}: expected the unknown class `{class}` to be named, got {problems:#?}"
            ),
            (NotYet(what) | OwnCode(what), Ok(())) => panic!("{source} starts, but was expected to stop at `{what}`"),
        }
    }
    assert!(starting >= 15, "only {starting} public configurations start unchanged");
}

#[test]
fn every_file_of_the_corpus_is_listed_with_its_source() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut files: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut listed: Vec<String> = CORPUS.iter().map(|(f, _, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}
