//! The metrics and health endpoint of `sluice run` (`quarkus.http.port`): probes answer, metrics move with traffic.

use std::time::{Duration, Instant};

use super::support::{Setup, WAIT};

fn http_get(addr: &str, path: &str) -> (u16, String) {
    super::support::http(addr, "GET", path, None)
}

/// The value of one sample line (`name{labels} value`) in Prometheus text, if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The address Sluice logged it serves on.
fn served_address(log: &str) -> String {
    let line = log.lines().find(|l| l.contains("serving /metrics")).expect("the serving line");
    let plain = strip_ansi(line);
    plain.split("address=").nth(1).unwrap().split_whitespace().next().unwrap().to_string()
}

/// The log line without terminal colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_move_with_traffic_and_the_health_probes_answer() {
    let mut setup = Setup::new("observe").await;
    setup.db.psql("CREATE TABLE t (id int PRIMARY KEY, v text)");
    setup
        .set("quarkus.http.host", "127.0.0.1")
        .set("quarkus.http.port", &sluice_testkit::free_port().to_string())
        .set("debezium.source.slot.guard.interval.ms", "200");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let addr = served_address(&sluice.log());
    assert_eq!(http_get(&addr, "/q/health/live").0, 200);
    assert_eq!(http_get(&addr, "/q/health/ready").0, 200, "ready while streaming");

    setup.db.psql("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g; UPDATE t SET v = 'y' WHERE id <= 3;");
    setup.wait_for_records("the changes", WAIT, |r| r.len() >= 13);
    let deadline = Instant::now() + WAIT;
    let metrics = loop {
        let (status, body) = http_get(&addr, "/metrics");
        assert_eq!(status, 200);
        if sample(&body, "sluice_events_total{op=\"c\"}") == Some(10.0)
            && body.contains("sluice_slot_retained_wal_bytes")
        {
            break body;
        }
        assert!(Instant::now() < deadline, "metrics never showed the traffic:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(sample(&metrics, "sluice_events_total{op=\"u\"}"), Some(3.0), "{metrics}");
    assert_eq!(sample(&metrics, "sluice_connected"), Some(1.0));
    assert_eq!(sample(&metrics, "sluice_slot_status{status=\"reserved\"}"), Some(1.0), "{metrics}");
    assert!(sample(&metrics, "sluice_sink_write_seconds_count").unwrap() >= 1.0, "{metrics}");
    assert!(sample(&metrics, "sluice_commit_to_acknowledged_seconds_count").unwrap() >= 1.0, "{metrics}");
    assert!(sample(&metrics, "sluice_last_event_age_seconds").is_some(), "{metrics}");
    assert!(metrics.contains("# HELP sluice_events_total"), "{metrics}");
    assert_eq!(http_get(&addr, "/q/metrics").0, 200);

    // `sluice status` reads the same figures from the running instance, by its configuration.
    let status =
        std::process::Command::new(env!("CARGO_BIN_EXE_sluice")).args(["status", "--url", &addr]).output().unwrap();
    let report = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{report}");
    assert!(report.contains("RUNNING") && report.contains("wal_status reserved"), "{report}");
    assert!(report.contains("c=10 u=3") && report.contains("s ago"), "{report}");

    let by_config = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["status", "--config"])
        .arg(setup.config_path())
        .output()
        .unwrap();
    assert!(by_config.status.success(), "{}", String::from_utf8_lossy(&by_config.stderr));

    setup.db.psql("DELETE FROM t WHERE id = 1");
    setup.wait_for_records("the delete", WAIT, |r| r.iter().any(|r| r["value"]["op"] == "d"));
    let deadline = Instant::now() + WAIT;
    while sample(&http_get(&addr, "/metrics").1, "sluice_events_total{op=\"d\"}") != Some(1.0) {
        assert!(Instant::now() < deadline, "the delete was never counted");
        std::thread::sleep(Duration::from_millis(100));
    }
    sluice.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_the_snapshot_draws_a_progress_bar_per_table() {
    let mut setup = Setup::new("progress_tty").await;
    setup.db.psql(
        "CREATE TABLE big (id int PRIMARY KEY, pad text); INSERT INTO big SELECT g, 'x' FROM generate_series(1, 200000) g;
         CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small VALUES (1), (2); ANALYZE big, small;",
    );
    setup.set("debezium.source.snapshot.mode", "initial_only");
    let config = setup.config_path();
    let text: String = setup.properties.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&config, text).unwrap();
    // `script` runs Sluice on a pseudo-terminal, as a person at a terminal would.
    let typescript = setup.dir.path().join("typescript");
    let command = format!("{} run --config {}", env!("CARGO_BIN_EXE_sluice"), config.display());
    let status = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command])
        .arg(&typescript)
        .env("SLUICE_LOG", "warn")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let screen = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
    assert!(screen.contains("public.big") && screen.contains("200000/200000 rows"), "{screen}");
    assert!(screen.contains("public.small") && screen.contains("2/2 rows"), "{screen}");
}
