//! `sluice connect` answers as Kafka Connect's REST API does where tools and tutorials rely on it: the trailing
//! slash of Debezium's own tutorial, `initial_state`, the `Location` of a created connector, and a `name` that must
//! match the URL.

use serde_json::{json, Value};

use super::support::{connector, http, http_raw, wait_for_status, Setup, Worker};

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
