//! `sluice connect` attacked the way anyone who reaches its port would (issue 12's adversarial review): each test is
//! one attack, refused, with no side effect — no library loaded, no file written or removed outside the worker's
//! folder, no resolved value or secret in a response or a log line.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::support::{connector, http, http_raw, wait_for_status, with, Setup, Worker, WAIT};

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_library_in_a_submitted_config_or_a_checked_file_is_refused_and_never_loaded() {
    let setup = Setup::new("sec_plugin").await;
    let marker = setup.dir.path().join("constructor-ran");
    let source = setup.dir.path().join("evil.c");
    let library = setup.dir.path().join("evil.so");
    std::fs::write(
        &source,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {{ FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f); }}\n",
            marker.display()
        ),
    )
    .unwrap();
    let built = std::process::Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&library).arg(&source).status();
    assert!(built.unwrap().success(), "cc builds the marker library");

    let worker = Worker::start(&setup, "");
    let library = library.display().to_string();
    let evil = with(connector(&setup, "sec_plugin_slot"), "producer.override.plugin.library.paths", &library);
    let (code, body) = worker.put("evil", &evil);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("plugin.library.paths"), "{body}");
    let engine = with(connector(&setup, "sec_plugin_slot"), "producer.override.ssl.engine.location", &library);
    assert_eq!(worker.put("evil", &engine).0, 400);
    assert_eq!(http(&worker.addr, "GET", "/connectors", None).1, "[]");

    // `sluice check` on a file naming the library: a configuration error, nothing loaded either.
    let mut check = setup.beside();
    check
        .set("debezium.sink.type", "kafka")
        .set("debezium.sink.kafka.producer.bootstrap.servers", "127.0.0.1:9")
        .set("debezium.sink.kafka.producer.plugin.library.paths", &library);
    check.properties.remove("debezium.sink.file.path");
    let (code, stderr) = check.check();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("plugin.library.paths"), "{stderr}");
    assert!(!marker.exists(), "the library's constructor ran: validation loaded it");
}

#[tokio::test(flavor = "multi_thread")]
async fn sluice_check_validates_kafka_settings_without_dialing_the_brokers() {
    let mut check = Setup::new("sec_check_dial").await;
    let broker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    broker.set_nonblocking(true).unwrap();
    check
        .set("debezium.sink.type", "kafka")
        .set("debezium.sink.kafka.producer.bootstrap.servers", &broker.local_addr().unwrap().to_string());
    check.properties.remove("debezium.sink.file.path");
    let (code, stderr) = check.check();
    assert_eq!(code, 0, "{stderr}");
    assert!(broker.accept().is_err(), "`sluice check` connected to the bootstrap server");
}

#[tokio::test(flavor = "multi_thread")]
async fn connector_names_that_look_like_paths_touch_nothing_outside_the_worker_folder() {
    let setup = Setup::new("sec_names").await;
    let victim = setup.dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let worker = Worker::start(&setup, "");
    let outside_before = entries(setup.dir.path());

    // The name the earlier worker turned into `<dir>/connect.offsets./../../victim`, then deleted as "offsets".
    let name = "%2F..%2F..%2Fvictim";
    assert_eq!(worker.put("keep", &connector(&setup, "sec_names_keep")).0, 201);
    assert_eq!(worker.put(name, &connector(&setup, "sec_names_escape")).0, 201);
    assert_eq!(worker.put("connectors.json", &connector(&setup, "sec_names_store")).0, 201);
    for n in [name, "connectors.json"] {
        assert_eq!(http(&worker.addr, "PUT", &format!("/connectors/{n}/stop"), None).0, 204);
        wait_for_status(&worker.addr, n, "STOPPED");
        let (code, body) = http(&worker.addr, "DELETE", &format!("/connectors/{n}/offsets"), None);
        assert_eq!(code, 200, "{body}");
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(entries(setup.dir.path()), outside_before, "nothing was created beside the worker's folder");
    let (_, list) = http(&worker.addr, "GET", "/connectors", None);
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list, json!(["/../../victim", "connectors.json", "keep"]), "the store survived");
    let store = std::fs::read_to_string(worker.dir.join("connect.offsets.connectors.json")).unwrap();
    assert!(store.contains("sec_names_keep"), "{store}");
}

/// The names in a folder, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn blank_forged_and_overlong_names_are_refused() {
    let setup = Setup::new("sec_badnames").await;
    let worker = Worker::start(&setup, "");
    let config = connector(&setup, "sec_badnames_slot");
    let (code, body) = worker.put("", &config);
    assert!(code == 400 || code == 404, "{code} {body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error_code"], code);
    let (code, body) = worker.put("pg%0AERROR%20forged%20line", &config);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("control characters"), "{body}");
    assert_eq!(worker.put(&"x".repeat(250), &config).0, 400);
    let (code, _, _) =
        http_raw(&worker.addr, "POST", "/connectors", &[], &json!({"name": " ", "config": config}).to_string());
    assert_eq!(code, 400);
    assert_eq!(http(&worker.addr, "GET", "/connectors", None).1, "[]");
    assert!(!worker.log().lines().any(|l| l.starts_with("ERROR forged")), "{}", worker.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn placeholders_in_submitted_configs_read_no_file_or_variable_and_echo_nothing() {
    let setup = Setup::new("sec_placeholders").await;
    let allowed = setup.dir.path().join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    std::fs::write(allowed.join("mode.properties"), "mode=never-shown-value\n").unwrap();
    let operator = setup.dir.path().join("operator-secrets.properties");
    std::fs::write(&operator, "password=operator-password\n").unwrap();
    let worker = Worker::start(&setup, &format!("config.providers.file.param.allowed.paths={}\n", allowed.display()));
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let base = connector(&setup, "sec_placeholders_slot");
    for (key, value) in [
        ("database.password", "${file:/etc/passwd:root}".to_string()),
        ("database.user", "${env:HOME}".to_string()),
        ("database.password", format!("${{file:{}:password}}", operator.display())),
        ("database.password", format!("${{file:{}/../operator-secrets.properties:password}}", allowed.display())),
    ] {
        let attack = with(with(base.clone(), "heartbeat.action.query", "SELECT 1"), key, &value);
        let (code, body) = worker.put("reader", &attack);
        assert_eq!(code, 400, "{value}: {body}");
        assert!(body.contains("does not allow"), "{value}: {body}");
        for leaked in ["root:x:0:0", home.as_str(), "operator-password"] {
            assert!(!body.contains(leaked), "{value} leaked {leaked}: {body}");
        }
    }
    // A file the worker allows is read, but a value that fails validation is not shown.
    let mode = with(base, "snapshot.mode", &format!("${{file:{}/mode.properties:mode}}", allowed.display()));
    let (code, body) = worker.put("reader", &mode);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("snapshot.mode") && !body.contains("never-shown-value"), "{body}");
    let log = worker.log();
    for leaked in ["root:x:0:0", "operator-password", "never-shown-value"] {
        assert!(!log.contains(leaked), "the log leaked {leaked}: {log}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_hidden_in_every_response_and_log_whatever_their_key_case() {
    let setup = Setup::new("sec_secrets").await;
    let worker = Worker::start(&setup, "");
    let config = with(
        with(
            with(
                with(
                    with(connector(&setup, "sec_secrets_slot"), "database.password", "db-pw-7781"),
                    "producer.override.sasl.password",
                    "sasl-pw-7781",
                ),
                "producer.override.sasl.username",
                "sluice",
            ),
            "producer.override.sasl.mechanism",
            "PLAIN",
        ),
        "producer.override.security.protocol",
        "SASL_PLAINTEXT",
    );
    let mut config = config;
    config["producer.override.ssl.key.pem"] =
        json!("-----BEGIN PRIVATE KEY-----\nMIIEkeyMaterial7781\n-----END PRIVATE KEY-----\n");
    let (code, body) = worker.put("secretive", &config);
    assert_eq!(code, 201, "{body}");
    let mut shown = body;
    for path in ["/connectors/secretive", "/connectors/secretive/config", "/connectors/secretive/tasks"] {
        shown.push_str(&http(&worker.addr, "GET", path, None).1);
    }
    // What a GET shows, PUT back as it is (a Helm hook's read-modify-write), keeps the stored secrets.
    let (_, read_back) = http(&worker.addr, "GET", "/connectors/secretive/config", None);
    let read_back: Value = serde_json::from_str(&read_back).unwrap();
    assert_eq!(read_back["database.password"], "[hidden]");
    let (code, body) = worker.put("secretive", &read_back);
    assert_eq!(code, 200, "{body}");
    let store = std::fs::read_to_string(worker.dir.join("connect.offsets.connectors.json")).unwrap();
    assert!(store.contains("db-pw-7781") && !store.contains("[hidden]"), "{store}");
    let (code, body) = worker.put("upper", &with(config.clone(), "producer.override.SASL.PASSWORD", "upper-pw-7781"));
    assert_eq!(code, 400, "{body}");
    shown.push_str(&body);
    assert!(shown.contains("[hidden]"), "{shown}");
    let log = worker.log();
    for secret in ["db-pw-7781", "sasl-pw-7781", "upper-pw-7781", "MIIEkeyMaterial7781"] {
        assert!(!shown.contains(secret), "a response showed {secret}: {shown}");
        assert!(!log.contains(secret), "the log showed {secret}: {log}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_is_private_and_a_failed_write_fails_the_request_and_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let setup = Setup::new("sec_store").await;
    let worker = Worker::start(&setup, "");
    assert_eq!(worker.put("first", &connector(&setup, "sec_store_first")).0, 201);
    let store = worker.dir.join("connect.offsets.connectors.json");
    assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o600);
    // A folder where the temporary store file must go makes every write fail.
    std::fs::create_dir(worker.dir.join("connect.offsets.connectors.json.tmp")).unwrap();
    let (code, body) = worker.put("second", &connector(&setup, "sec_store_second"));
    assert_eq!(code, 500, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error_code"], 500);
    assert_eq!(http(&worker.addr, "GET", "/connectors", None).1, "[\"first\"]");
    assert_eq!(http(&worker.addr, "GET", "/connectors/second/status", None).0, 404);
    assert_eq!(http(&worker.addr, "DELETE", "/connectors/first", None).0, 500, "a delete that cannot be saved fails");
    assert_eq!(http(&worker.addr, "GET", "/connectors", None).1, "[\"first\"]");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_that_are_not_json_get_kafka_connects_error_shape() {
    let setup = Setup::new("sec_json").await;
    let worker = Worker::start(&setup, "");
    for (method, path, body) in [
        ("PUT", "/connectors/pg/config", "{not json"),
        ("POST", "/connectors", "[1,"),
        ("PUT", "/connectors/pg/config", ""),
    ] {
        let (code, _, body) = http_raw(&worker.addr, method, path, &[], body);
        let error: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"));
        assert_eq!(error["error_code"], code, "{body}");
        assert!((400..500).contains(&code), "{code} {body}");
    }
    let (code, body) = http(&worker.addr, "GET", "/no/such/endpoint", None);
    assert_eq!((code, serde_json::from_str::<Value>(&body).unwrap()["error_code"].clone()), (404, json!(404)));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_basic_auth_configured_the_api_answers_401_and_the_probes_stay_open() {
    use base64::Engine;
    let setup = Setup::new("sec_auth").await;
    let credentials = setup.dir.path().join("credentials.properties");
    std::fs::write(&credentials, "admin=correct-horse\n").unwrap();
    let jaas = setup.dir.path().join("connect.jaas");
    std::fs::write(
        &jaas,
        format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            credentials.display()
        ),
    )
    .unwrap();
    let worker = Worker::start(
        &setup,
        &format!(
            "rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n\
             java.security.auth.login.config={}\n",
            jaas.display()
        ),
    );
    let basic = |user: &str, password: &str| {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    };
    let (code, head, _) = http_raw(&worker.addr, "GET", "/connectors", &[], "");
    assert_eq!(code, 401);
    assert!(head.to_ascii_lowercase().contains("www-authenticate: basic"), "{head}");
    let wrong = basic("admin", "wrong");
    assert_eq!(http_raw(&worker.addr, "GET", "/connectors", &[("Authorization", &wrong)], "").0, 401);
    let config = connector(&setup, "sec_auth_slot").to_string();
    assert_eq!(http_raw(&worker.addr, "PUT", "/connectors/sneaky/config", &[], &config).0, 401);
    let right = basic("admin", "correct-horse");
    let (code, _, body) = http_raw(&worker.addr, "GET", "/connectors", &[("Authorization", &right)], "");
    assert_eq!((code, body.as_str()), (200, "[]"), "nothing was created without credentials");
    for probe in ["/health/live", "/q/health/live", "/metrics"] {
        assert_eq!(http(&worker.addr, "GET", probe, None).0, 200, "{probe}");
    }
    assert!(!worker.log().contains("correct-horse"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_listener_serves_tls_with_a_pem_key_store() {
    let setup = Setup::new("sec_tls").await;
    let dir = setup.dir.path();
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let store = dir.join("store.pem");
    std::fs::write(&store, [std::fs::read(&key).unwrap(), std::fs::read(&cert).unwrap()].concat()).unwrap();
    let port = sluice_testkit::free_port();
    let worker = Worker::start(
        &setup,
        &format!(
            "listeners=https://127.0.0.1:{port}\nlisteners.https.ssl.keystore.type=PEM\nlisteners.https.ssl.keystore.location={}\n",
            store.display()
        ),
    );
    let response = tls_get(&worker.addr, &cert, "/connector-plugins").await;
    assert!(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("PostgresConnector"), "{response}");
}

/// GET over TLS, trusting only `ca`.
async fn tls_get(addr: &str, ca: &Path, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp)).await.unwrap().unwrap();
    tls.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    let mut response = String::new();
    let _ = tokio::time::timeout(WAIT, tls.read_to_string(&mut response)).await;
    response
}
