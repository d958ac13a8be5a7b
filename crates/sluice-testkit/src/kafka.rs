//! A throwaway Kafka-protocol broker for tests: `nisshi` (formerly tansu), a Kafka-compatible broker that installs
//! from crates.io, since no Apache Kafka can be installed here. `scripts/test` installs it once
//! (`cargo install nisshi`); tests find it through `SLUICE_TEST_NISSHI`, `PATH` or `~/.cargo/bin`.
//!
//! Each test starts its own broker on a free loopback port (it is ready in milliseconds), so tests never share
//! topics. [`Broker::persistent`] keeps its data in SQLite, so a test can kill the broker and start it again on the
//! same port with everything it had acknowledged — the "broker down, then back" case. A watchdog kills the broker
//! when the test process is gone, even after a kill -9 or a timeout.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A running (or deliberately stopped) broker.
pub struct Broker {
    pub port: u16,
    storage: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    starts: u32,
}

/// The `nisshi` binary, or a message saying how to get it.
pub fn nisshi_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("SLUICE_TEST_NISSHI") {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("nisshi")).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    on_path.into_iter().chain(cargo_home.map(|c| c.join("bin/nisshi"))).find(|p| p.is_file()).ok_or_else(|| {
        "the Kafka-protocol test broker `nisshi` is not installed: run scripts/test (it installs it), or \
         `cargo install nisshi@0.7.0-pre.2 --locked --features dynostore,libsql`"
            .to_string()
    })
}

impl Broker {
    /// A broker keeping everything in memory.
    pub fn memory() -> Broker {
        Self::start_with("memory://nisshi/".into(), tempfile::tempdir().expect("temporary directory"))
    }

    /// A broker keeping its data in a SQLite file, so it survives [`Broker::kill`] and [`Broker::restart`].
    pub fn persistent() -> Broker {
        let dir = tempfile::tempdir().expect("temporary directory");
        // nisshi resolves the SQLite path against its working directory, which is `dir`.
        let storage = "sqlite://broker.db".to_string();
        Self::start_with(storage, dir)
    }

    fn start_with(storage: String, dir: tempfile::TempDir) -> Broker {
        let mut broker = Broker { port: free_port(), storage, dir, child: None, starts: 0 };
        broker.restart();
        broker
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's log so far (all of its runs).
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|n| std::fs::read_to_string(self.log_path(n)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n--- restart ---\n")
    }

    fn log_path(&self, n: u32) -> PathBuf {
        self.dir.path().join(format!("broker-{n}.log"))
    }

    /// SIGKILL: the broker vanishes mid-conversation, as a crashed or partitioned broker does.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker (again) on the same port and storage, and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let binary = nisshi_binary().unwrap_or_else(|e| panic!("{e}"));
        self.starts += 1;
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.log_path(self.starts)).expect("broker log");
        let child = Command::new(binary)
            .arg("broker")
            .args(["--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", &self.storage])
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("CLUSTER_ID")
            .env("RUST_LOG", "warn")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("broker log"))
            .stderr(log)
            .spawn()
            .expect("start nisshi");
        spawn_watchdog(child.id());
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("nisshi exited ({status}) before listening:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "nisshi did not listen on {} within 30 s:\n{}", self.port, self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills the broker once this test process is gone.
fn spawn_watchdog(broker_pid: u32) {
    let owner = std::process::id();
    let script = format!(
        "while [ -d /proc/{owner} ] && [ -d /proc/{broker_pid} ]; do sleep 0.5; done; kill -9 {broker_pid} 2>/dev/null"
    );
    let _ = Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
