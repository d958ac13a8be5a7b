//! Running the `sluice` binary in tests: a config file per test, the file sink read back as JSON, kill -9 and
//! graceful stops, and waiting on conditions (never fixed sleeps).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_testkit::TestDb;

/// A test's working directory and configuration.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
    pub properties: BTreeMap<String, String>,
    pub env: Vec<(String, String)>,
}

impl Setup {
    /// A database with a file sink, JSON without schemas, topic prefix `test`.
    pub async fn new(prefix: &str) -> Setup {
        Self::on(sluice_testkit::cluster(), prefix).await
    }

    /// The same on a given cluster.
    pub async fn on(cluster: &'static sluice_testkit::PgCluster, prefix: &str) -> Setup {
        let db = cluster.fresh_database(prefix).await;
        let dir = tempfile::tempdir().unwrap();
        let mut properties = BTreeMap::new();
        let c = db.cluster;
        for (k, v) in [
            ("debezium.source.connector.class", "io.debezium.connector.postgresql.PostgresConnector".to_string()),
            ("debezium.source.database.hostname", c.host.clone()),
            ("debezium.source.database.port", c.port.to_string()),
            ("debezium.source.database.user", "postgres".into()),
            ("debezium.source.database.dbname", db.name.clone()),
            ("debezium.source.database.sslmode", "disable".into()),
            ("debezium.source.topic.prefix", "test".into()),
            ("debezium.source.slot.name", format!("slot_{}", db.name)),
            ("debezium.source.publication.name", "sluice_pub".into()),
            ("debezium.source.offset.storage.file.filename", dir.path().join("offsets.dat").display().to_string()),
            ("debezium.source.offset.flush.interval.ms", "0".into()),
            ("debezium.sink.type", "file".into()),
            ("debezium.sink.file.path", dir.path().join("events.jsonl").display().to_string()),
            ("debezium.format.value.schemas.enable", "false".into()),
            ("debezium.format.key.schemas.enable", "false".into()),
        ] {
            properties.insert(k.to_string(), v);
        }
        Setup { dir, db, properties, env: Vec::new() }
    }

    /// A second instance's set-up on the same database: the same configuration with a folder, offsets file and
    /// sink file of its own.
    pub fn beside(&self) -> Setup {
        let mut other = Setup {
            dir: tempfile::tempdir().unwrap(),
            db: TestDb { cluster: self.db.cluster, name: self.db.name.clone() },
            properties: self.properties.clone(),
            env: vec![],
        };
        let offsets = other.dir.path().join("offsets.dat").display().to_string();
        let events = other.events_path().display().to_string();
        other.set("debezium.source.offset.storage.file.filename", &offsets);
        other.set("debezium.sink.file.path", &events);
        other
    }

    /// The slot's confirmed flush LSN, as PostgreSQL sees it.
    pub async fn confirmed_flush_lsn(&self) -> u64 {
        let slot = &self.properties["debezium.source.slot.name"];
        let sql = "SELECT (confirmed_flush_lsn - '0/0')::bigint FROM pg_replication_slots WHERE slot_name = $1";
        let row = self.db.client().await.query_one(sql, &[slot]).await.unwrap();
        row.get::<_, i64>(0) as u64
    }

    /// The server's current WAL position.
    pub async fn current_wal_lsn(&self) -> u64 {
        let sql = "SELECT (pg_current_wal_lsn() - '0/0')::bigint";
        let row = self.db.client().await.query_one(sql, &[]).await.unwrap();
        row.get::<_, i64>(0) as u64
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.properties.insert(key.to_string(), value.to_string());
        self
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("application.properties")
    }

    pub fn events_path(&self) -> PathBuf {
        self.dir.path().join("events.jsonl")
    }

    fn write_config(&self) {
        let text: String = self.properties.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// Runs `sluice check` on this configuration: (exit code, stderr).
    pub fn check(&self) -> (i32, String) {
        self.write_config();
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["check", "--config"])
            .arg(self.config_path())
            .output()
            .expect("run sluice check");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Starts `sluice run` in the background.
    pub fn start(&self) -> Sluice {
        self.start_with_env(&[])
    }

    pub fn start_with_env(&self, extra_env: &[(&str, &str)]) -> Sluice {
        self.spawn(extra_env, Stdio::null())
    }

    /// Starts `sluice run` with its stdout on a pipe the test reads (or, to apply back-pressure, does not read).
    pub fn start_piped(&self) -> Sluice {
        self.spawn(&[], Stdio::piped())
    }

    fn spawn(&self, extra_env: &[(&str, &str)], stdout: Stdio) -> Sluice {
        self.write_config();
        let log = self.dir.path().join(format!("sluice-{}.log", unique()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.arg("run").arg("--config").arg(self.config_path());
        cmd.env("SLUICE_LOG", "info");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(std::fs::File::create(&log).unwrap());
        Sluice { child: cmd.spawn().expect("start sluice"), log }
    }

    /// Runs `sluice run` to completion (for commands expected to exit by themselves) and returns (code, stderr).
    pub fn run_to_exit(&self, timeout: Duration) -> (i32, String) {
        let mut s = self.start();
        let code = s.wait_exit(timeout);
        (code, s.log())
    }

    /// Every record in the file sink so far.
    pub fn records(&self) -> Vec<Value> {
        read_records(&self.events_path())
    }

    /// The value payloads (envelopes) of all non-tombstone records of one table.
    pub fn envelopes(&self, table: &str) -> Vec<Value> {
        let topic = format!("test.public.{table}");
        self.records()
            .into_iter()
            .filter(|r| r["topic"] == topic.as_str() && !r["value"].is_null())
            .map(|r| r["value"].clone())
            .collect()
    }

    /// Waits until `pred` holds on the records, or panics with what was seen.
    pub fn wait_for_records(&self, what: &str, timeout: Duration, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let records = self.records();
            if pred(&records) {
                return records;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; {} records so far", records.len());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub fn read_records(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    // The last line may be torn while Sluice is writing: only complete lines count.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    complete.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}"))).collect()
}

/// A running `sluice` process.
pub struct Sluice {
    child: Child,
    log: PathBuf,
}

impl Sluice {
    /// The process's stdout, when started with [`Setup::start_piped`].
    pub fn take_stdout(&mut self) -> std::process::ChildStdout {
        self.child.stdout.take().expect("started with start_piped")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process's peak resident memory so far (`VmHWM` in /proc/<pid>/status), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("read /proc status");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc status");
        let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM in kB");
        kib * 1024
    }

    /// SIGKILL: no chance to drain or acknowledge.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for a clean exit (code 0).
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let code = self.wait_exit(Duration::from_secs(30));
        assert_eq!(code, 0, "sluice did not stop cleanly:\n{}", self.log());
    }

    /// Waits for the process to exit by itself; returns its exit code (-1 for a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("sluice did not exit within {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(needle) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("sluice exited ({status}) before logging {needle:?}:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "timed out waiting for log {needle:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const WAIT: Duration = Duration::from_secs(60);

/// A plain HTTP/1.0 request: (status code, body).
pub fn http(addr: &str, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, String) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, _, body) = http_raw(addr, method, path, &[], &body);
    (status, body)
}

/// A plain HTTP/1.0 request with extra headers and a body sent as it is: (status code, response head, body).
pub fn http_raw(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_string(), body.to_string())
}

/// `sluice connect` with a worker file; its log goes to `log`.
pub fn start_connect(worker: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["connect", "--config"])
        .arg(worker)
        .env("SLUICE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until something listens on `addr`.
pub fn wait_for_listener(addr: &str) {
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing ever listened on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until a connector's status shows `state`; FAILED on the way to another state fails the test.
pub fn wait_for_status(addr: &str, name: &str, state: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (code, body) = http(addr, "GET", &format!("/connectors/{name}/status"), None);
        if code == 200 {
            let status: Value = serde_json::from_str(&body).unwrap();
            if status["connector"]["state"] == state {
                return status;
            }
            assert!(status["connector"]["state"] != "FAILED" || state == "FAILED", "{status}");
        }
        assert!(Instant::now() < deadline, "connector {name} never reached {state}: {code} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A worker on a free loopback port, its files under `<test dir>/worker`, its Kafka nowhere (these connectors are
/// refused, or stopped before they would deliver).
pub struct Worker {
    pub addr: String,
    pub dir: PathBuf,
    log: PathBuf,
    process: Child,
}

impl Worker {
    pub fn start(setup: &Setup, extra: &str) -> Worker {
        let dir = setup.dir.path().join("worker");
        std::fs::create_dir_all(&dir).unwrap();
        let addr = format!("127.0.0.1:{}", sluice_testkit::free_port());
        let worker = dir.join("worker.properties");
        std::fs::write(
            &worker,
            format!(
                "bootstrap.servers=127.0.0.1:{}\nlisteners=http://{addr}\noffset.storage.file.filename={}\n\
                 task.shutdown.graceful.timeout.ms=500\n{extra}",
                sluice_testkit::free_port(),
                dir.join("connect.offsets").display()
            ),
        )
        .unwrap();
        let log = setup.dir.path().join("connect.log");
        let process = start_connect(&worker, &log);
        // A listener in `extra` wins over the default one, as the later line of a properties file does.
        let addr = match extra.lines().find_map(|l| l.strip_prefix("listeners=")) {
            Some(listener) => listener.split_once("://").map_or(listener, |(_, a)| a).to_string(),
            None => addr,
        };
        wait_for_listener(&addr);
        Worker { addr, dir, log, process }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn put(&self, name: &str, config: &Value) -> (u16, String) {
        http(&self.addr, "PUT", &format!("/connectors/{name}/config"), Some(config))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A valid connector for the test's database, on a slot of its own.
pub fn connector(setup: &Setup, slot: &str) -> Value {
    let db = &setup.db;
    json!({
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": db.cluster.host,
        "database.port": db.cluster.port.to_string(),
        "database.user": "postgres",
        "database.dbname": db.name,
        "database.sslmode": "disable",
        "topic.prefix": "pg",
        "slot.name": slot,
        "snapshot.mode": "no_data",
    })
}

pub fn with(mut config: Value, key: &str, value: &str) -> Value {
    config[key] = json!(value);
    config
}
