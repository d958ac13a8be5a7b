//! `sluice connect` answers as Kafka Connect's REST API does: held to Kafka's published specification by
//! schemathesis (tests/contract), and where tools and tutorials rely on more than the specification says: the
//! trailing slash of Debezium's own tutorial, `initial_state`, the `Location` of a created connector, and a `name`
//! that must match the URL.

use serde_json::{json, Value};

use super::support::{connector, http, http_raw, wait_for_status, Setup, Worker};

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_of_kafka_connects_published_rest_specification_answers_as_it_says() {
    let python = std::env::var("SLUICE_TEST_PYTHON")
        .expect("SLUICE_TEST_PYTHON names the Python that has schemathesis; scripts/test installs it and sets it");
    let setup = Setup::new("rest_contract").await;
    let worker = Worker::start(&setup, "");
    for name in ["orders", "doomed"] {
        let (code, body) = worker.put(name, &connector(&setup, &format!("rest_contract_{name}")));
        assert_eq!(code, 201, "{body}");
    }
    let workdir = setup.dir.path().join("contract");
    std::fs::create_dir_all(&workdir).unwrap();
    let run = std::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract/connect_rest.py"))
        .arg(format!("http://{}", worker.addr))
        .arg(&workdir)
        .args(["--connector", "orders", "--doomed", "doomed"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{report}{}", String::from_utf8_lossy(&run.stderr));
    assert!(report.contains("29 operations exercised"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_boolean_query_parameter_that_is_neither_true_nor_false_is_refused() {
    let setup = Setup::new("rest_flags").await;
    let worker = Worker::start(&setup, "");
    assert_eq!(worker.put("flags", &connector(&setup, "rest_flags_slot")).0, 201);
    let (code, body) = http(&worker.addr, "GET", "/connector-plugins?connectorsOnly=null", None);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("connectorsOnly must be true or false"), "{body}");
    let (code, all) = http(&worker.addr, "GET", "/connector-plugins?connectorsOnly=FALSE", None);
    assert!(code == 200 && all.contains("ExtractNewRecordState"), "any case: {all}");
    let (code, body) = http(&worker.addr, "POST", "/connectors/flags/restart?includeTasks=yes", None);
    assert_eq!(code, 400, "{body}");
    assert_eq!(http(&worker.addr, "POST", "/connectors/flags/restart?onlyFailed=true", None).0, 202);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_to_connectors_with_a_trailing_slash_creates_the_connector_with_its_location() {
    let setup = Setup::new("rest_post").await;
    let worker = Worker::start(&setup, "");
    let body = json!({"name": "orders db", "config": connector(&setup, "rest_post_slot")}).to_string();
    let (code, head, created) = http_raw(&worker.addr, "POST", "/connectors/", &[], &body);
    assert_eq!(code, 201, "{created}");
    assert!(head.to_ascii_lowercase().contains("location: /connectors/orders%20db"), "{head}");
    assert_eq!(serde_json::from_str::<Value>(&created).unwrap()["name"], "orders db");
    assert_eq!(http(&worker.addr, "GET", "/connectors/", None).1, "[\"orders db\"]");
    assert_eq!(http(&worker.addr, "GET", "/connectors/orders%20db/status", None).0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_created_with_an_initial_state_starts_in_it() {
    let setup = Setup::new("rest_initial").await;
    let worker = Worker::start(&setup, "");
    for (name, state) in [("paused", "PAUSED"), ("stopped", "STOPPED")] {
        let body =
            json!({"name": name, "config": connector(&setup, &format!("rest_initial_{name}")), "initial_state": state});
        let (code, _, created) = http_raw(&worker.addr, "POST", "/connectors", &[], &body.to_string());
        assert_eq!(code, 201, "{created}");
        wait_for_status(&worker.addr, name, state);
    }
    let body = json!({"name": "odd", "config": connector(&setup, "rest_initial_odd"), "initial_state": "SLEEPING"});
    assert_eq!(http_raw(&worker.addr, "POST", "/connectors", &[], &body.to_string()).0, 400);
    let store = std::fs::read_to_string(worker.dir.join("connect.offsets.connectors.json")).unwrap();
    assert!(store.contains("\"PAUSED\"") && store.contains("\"STOPPED\""), "the initial state is stored: {store}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_in_the_configuration_that_differs_from_the_url_is_refused() {
    let setup = Setup::new("rest_name").await;
    let worker = Worker::start(&setup, "");
    let mut config = connector(&setup, "rest_name_slot");
    config["name"] = json!("other");
    let (code, body) = worker.put("mine", &config);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("doesn't match connector name in the URL"), "{body}");
    config["name"] = json!("mine");
    assert_eq!(worker.put("mine", &config).0, 201, "the same name is fine");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_validate_endpoint_every_error_points_to_answers_with_config_infos_and_creates_nothing() {
    let setup = Setup::new("rest_validate").await;
    let worker = Worker::start(&setup, "");
    let path = "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate";
    let good = connector(&setup, "rest_validate_slot");
    let (code, body) = http(&worker.addr, "PUT", path, Some(&good));
    let infos: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((code, infos["error_count"].clone()), (200, json!(0)), "{body}");
    let mut bad = good.clone();
    bad["snapshot.mode"] = json!("sometimes");
    let (code, body) = http(&worker.addr, "PUT", path, Some(&bad));
    let infos: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((code, infos["error_count"].clone()), (200, json!(1)), "{body}");
    let mode = infos["configs"].as_array().unwrap().iter().find(|c| c["value"]["name"] == "snapshot.mode").unwrap();
    assert!(mode["value"]["errors"][0].as_str().unwrap().contains("sometimes"), "{mode}");
    assert_eq!(http(&worker.addr, "PUT", "/connector-plugins/com.example.Other/config/validate", Some(&good)).0, 404);
    assert_eq!(http(&worker.addr, "GET", "/connectors", None).1, "[]", "validating creates nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_patch_task_endpoints_expand_and_restart_with_tasks_answer_as_kafka_connect() {
    let setup = Setup::new("rest_more").await;
    let worker = Worker::start(&setup, "");
    let addr = worker.addr.as_str();
    let (code, health) = http(addr, "GET", "/health", None);
    assert!(code == 200 && health.contains("healthy"), "{health}");
    let mut config = connector(&setup, "rest_more_slot");
    config["heartbeat.interval.ms"] = json!("10000");
    assert_eq!(worker.put("pg", &config).0, 201);
    wait_for_status(addr, "pg", "RUNNING");

    let patch = json!({"topic.prefix": "renamed", "heartbeat.interval.ms": null});
    let (code, body) = http(addr, "PATCH", "/connectors/pg/config", Some(&patch));
    assert_eq!(code, 200, "{body}");
    let (_, stored) = http(addr, "GET", "/connectors/pg/config", None);
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["topic.prefix"], "renamed");
    assert!(stored.get("heartbeat.interval.ms").is_none(), "null removes a key: {stored}");

    let (code, task) = http(addr, "GET", "/connectors/pg/tasks/0/status", None);
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<Value>(&task).unwrap()["id"], 0);
    assert_eq!(http(addr, "GET", "/connectors/pg/tasks/1/status", None).0, 404);
    assert_eq!(http(addr, "POST", "/connectors/pg/tasks/0/restart", None).0, 204);

    let (code, expanded) = http(addr, "GET", "/connectors?expand=status&expand=info", None);
    let expanded: Value = serde_json::from_str(&expanded).unwrap();
    assert_eq!(code, 200);
    assert!(expanded["pg"]["status"]["connector"]["state"].is_string(), "{expanded}");
    assert_eq!(expanded["pg"]["info"]["config"]["topic.prefix"], "renamed");

    let (code, status) = http(addr, "POST", "/connectors/pg/restart?includeTasks=true", None);
    assert_eq!(code, 202);
    assert_eq!(serde_json::from_str::<Value>(&status).unwrap()["name"], "pg");
    wait_for_status(addr, "pg", "RUNNING");
}

/// The body of an answer, as JSON.
fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Kafka Connect's error shape, with this code and a message containing `needle`.
fn assert_error(answer: (u16, String), code: u16, needle: &str) {
    let (got, body) = answer;
    let error = json_of(&body);
    assert_eq!((got, error["error_code"].as_u64()), (code, Some(u64::from(code))), "{body}");
    assert!(error["message"].as_str().unwrap_or_default().contains(needle), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_loggers_change_the_live_log_filter_and_answer_as_kafka_connect() {
    let setup = Setup::new("rest_loggers").await;
    let worker = Worker::start(&setup, "");
    let addr = worker.addr.as_str();
    let (code, all) = http(addr, "GET", "/admin/loggers", None);
    assert_eq!((code, json_of(&all)), (200, json!({"root": {"level": "INFO", "last_modified": null}})));
    let (code, one) = http(addr, "GET", "/admin/loggers/io.debezium.connector.postgresql", None);
    assert_eq!((code, json_of(&one)["level"].clone()), (200, json!("INFO")));
    assert_error(http(addr, "GET", "/admin/loggers/com.example.Nope", None), 404, "Logger com.example.Nope not found.");

    // WARN for Kafka Connect's runtime covers Sluice's REST API: the change's own INFO line is filtered out.
    let (code, changed) = http(addr, "PUT", "/admin/loggers/org.apache.kafka.connect", Some(&json!({"level": "WARN"})));
    assert_eq!(code, 200, "{changed}");
    assert_eq!(json_of(&changed), json!(["org.apache.kafka.connect", "org.apache.kafka.connect.runtime.rest"]));
    assert!(!worker.log().contains("log level changed"), "the new filter applies at once:\n{}", worker.log());
    let (_, one) = http(addr, "GET", "/admin/loggers/org.apache.kafka.connect.runtime.rest", None);
    let one = json_of(&one);
    assert!(one["level"] == "WARN" && one["last_modified"].as_i64().unwrap() > 0, "{one}");
    let (code, changed) = http(addr, "PUT", "/admin/loggers/sluice::connect", Some(&json!({"level": "debug"})));
    assert_eq!((code, json_of(&changed)), (200, json!(["sluice::connect"])));
    assert!(
        worker.log().contains("log level changed"),
        "a Rust target wins over its Java namespace:\n{}",
        worker.log()
    );
    let (_, all) = http(addr, "GET", "/admin/loggers", None);
    let all = json_of(&all);
    assert_eq!(all["sluice::connect"]["level"], "DEBUG");
    assert_eq!(all["root"]["level"], "INFO");

    let cluster = http(addr, "PUT", "/admin/loggers/io.debezium?scope=cluster", Some(&json!({"level": "INFO"})));
    assert_eq!(cluster, (204, String::new()));
    assert_error(
        http(addr, "PUT", "/admin/loggers/io.debezium", Some(&json!({"level": "LOUD"}))),
        404,
        "invalid log level 'LOUD'.",
    );
    assert_error(http(addr, "PUT", "/admin/loggers/io.debezium", Some(&json!({}))), 400, "'level' parameter");
    assert_error(http(addr, "PUT", "/admin/loggers/a%3Dtrace,b", Some(&json!({"level": "TRACE"}))), 400, "logger name");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connector_plugins_config_definitions_list_every_key_and_other_plugins_are_listed_on_request() {
    let setup = Setup::new("rest_plugin_config").await;
    let worker = Worker::start(&setup, "");
    let addr = worker.addr.as_str();
    for plugin in ["io.debezium.connector.postgresql.PostgresConnector", "PostgresConnector"] {
        let (code, body) = http(addr, "GET", &format!("/connector-plugins/{plugin}/config"), None);
        assert_eq!(code, 200, "{body}");
        let definitions = json_of(&body);
        let key = |name: &str| {
            definitions
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let host = key("database.hostname");
        assert_eq!((host["required"].clone(), host["type"].clone()), (json!(true), json!("STRING")));
        assert_eq!(key("database.password")["type"], "PASSWORD");
        assert_eq!(key("snapshot.mode")["default_value"], "initial");
    }
    assert_error(
        http(addr, "GET", "/connector-plugins/com.example.Other/config", None),
        404,
        "Unknown plugin com.example.Other",
    );
    let (_, connectors) = http(addr, "GET", "/connector-plugins", None);
    assert_eq!(json_of(&connectors).as_array().unwrap().len(), 1);
    let (_, all) = http(addr, "GET", "/connector-plugins?connectorsOnly=false", None);
    let all = json_of(&all);
    let unwrap = all.as_array().unwrap().iter().find(|p| p["class"] == "io.debezium.transforms.ExtractNewRecordState");
    assert_eq!(unwrap.map(|p| p["type"].clone()), Some(json!("transformation")), "{all}");
    let kind_of = |class: &str| all.as_array().unwrap().iter().find(|p| p["class"] == class).map(|p| p["type"].clone());
    assert_eq!(kind_of("org.apache.kafka.connect.transforms.RegexRouter"), Some(json!("transformation")));
    assert_eq!(kind_of("io.debezium.transforms.ByLogicalTableRouter"), Some(json!("transformation")));
    assert_eq!(kind_of("org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"), Some(json!("predicate")));
    let unwrap_config = "/connector-plugins/io.debezium.transforms.ExtractNewRecordState/config";
    assert_error(http(addr, "GET", unwrap_config, None), 404, "docs/configuration.md");
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_config_shows_the_one_tasks_configuration_with_secrets_hidden() {
    let setup = Setup::new("rest_tasks_config").await;
    let worker = Worker::start(&setup, "");
    let config = super::support::with(connector(&setup, "rest_tasks_config_slot"), "database.password", "hunter2");
    let body = json!({"name": "pg", "config": config, "initial_state": "STOPPED"}).to_string();
    assert_eq!(http_raw(&worker.addr, "POST", "/connectors", &[], &body).0, 201);
    let (code, tasks) = http(&worker.addr, "GET", "/connectors/pg/tasks-config", None);
    let tasks = json_of(&tasks);
    assert_eq!(code, 200, "{tasks}");
    assert_eq!(tasks.as_object().unwrap().keys().collect::<Vec<_>>(), ["pg-0"]);
    assert_eq!(tasks["pg-0"]["topic.prefix"], "pg");
    assert_eq!(tasks["pg-0"]["database.password"], "[hidden]");
    assert_error(http(&worker.addr, "GET", "/connectors/nope/tasks-config", None), 404, "Connector nope not found");
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_are_altered_only_on_a_stopped_connector_and_only_with_a_well_formed_body() {
    let setup = Setup::new("rest_alter_offsets").await;
    let worker = Worker::start(&setup, "");
    let addr = worker.addr.as_str();
    assert_eq!(worker.put("pg", &connector(&setup, "rest_alter_offsets_slot")).0, 201);
    wait_for_status(addr, "pg", "RUNNING");
    let to = |lsn: Value| json!({"offsets": [{"partition": {"server": "pg"}, "offset": {"lsn": lsn}}]});
    assert_error(
        http(addr, "PATCH", "/connectors/pg/offsets", Some(&to(json!(100)))),
        400,
        "must be in the STOPPED state",
    );
    assert_error(
        http(addr, "PATCH", "/connectors/nope/offsets", Some(&to(json!(100)))),
        404,
        "Connector nope not found",
    );

    assert_eq!(http(addr, "PUT", "/connectors/pg/stop", None).0, 204);
    wait_for_status(addr, "pg", "STOPPED");
    assert_error(
        http(addr, "PATCH", "/connectors/pg/offsets", Some(&json!({"offsets": []}))),
        400,
        "need to be provided",
    );
    assert_error(
        http(addr, "PATCH", "/connectors/pg/offsets", Some(&to(json!("0/16B3748")))),
        400,
        "non-negative integer",
    );
    let other = json!({"offsets": [{"partition": {"server": "other"}, "offset": {"lsn": 1}}]});
    assert_error(http(addr, "PATCH", "/connectors/pg/offsets", Some(&other)), 400, "one source partition");
    let (code, _, body) = http_raw(addr, "PATCH", "/connectors/pg/offsets", &[], "{");
    assert_eq!((code, json_of(&body)["error_code"].clone()), (400, json!(400)), "{body}");

    let (code, body) = http(addr, "PATCH", "/connectors/pg/offsets", Some(&to(json!(123456))));
    assert_eq!(
        (code, json_of(&body)["message"].clone()),
        (200, json!("The offsets for this connector have been altered successfully"))
    );
    let (_, offsets) = http(addr, "GET", "/connectors/pg/offsets", None);
    let offsets = json_of(&offsets);
    assert_eq!(offsets["offsets"][0]["partition"], json!({"server": "pg"}));
    assert_eq!(offsets["offsets"][0]["offset"]["lsn"], 123456);
    let read_back = offsets.clone();
    let (code, _) = http(addr, "PATCH", "/connectors/pg/offsets", Some(&read_back));
    assert_eq!(code, 200, "GET's answer is a valid PATCH body");
    assert_eq!(json_of(&http(addr, "GET", "/connectors/pg/offsets", None).1), read_back);

    let reset = json!({"offsets": [{"partition": {"server": "pg"}, "offset": null}]});
    assert_eq!(http(addr, "PATCH", "/connectors/pg/offsets", Some(&reset)).0, 200);
    assert_eq!(json_of(&http(addr, "GET", "/connectors/pg/offsets", None).1), json!({"offsets": []}));
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_connects_errors_keys_are_checked_as_kafka_connect_checks_them() {
    let setup = Setup::new("rest_errors_keys").await;
    let worker = Worker::start(&setup, "");
    let mut config = connector(&setup, "rest_errors_slot");
    config["errors.tolerance"] = json!("some");
    let (code, body) = worker.put("tolerant", &config);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Invalid value some for configuration errors.tolerance"), "{body}");
    config["errors.tolerance"] = json!("all");
    config["errors.log.enable"] = json!(true);
    config["errors.retry.timeout"] = json!(-1);
    assert_eq!(worker.put("tolerant", &config).0, 201, "Kafka Connect's valid values are accepted");
}
