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
