//! A throwaway PostgreSQL cluster for tests, the quick start and the benchmark.
//!
//! Integration tests need a real server with `wal_level=logical`, which the machine's own cluster usually does not
//! have, so the harness makes one: `initdb` into a temporary directory (as the `postgres` user when running as
//! root, because PostgreSQL refuses to run as root), a free loopback port, `pg_ctl start`. A watchdog process stops
//! the cluster and deletes its files once the process that started it is gone, so even a killed test run leaves
//! nothing behind.
//!
//! When `SLUICE_TEST_PG_PORT` is set (the test command starts one cluster for the whole run, because nextest runs
//! every test in its own process), [`cluster`] uses that server instead of starting one. Each test takes its own
//! database from [`PgCluster::fresh_database`], so tests never see each other's tables or slots.
//!
//! Roles made for authentication tests: `sluice_scram` (password `scram-secret`, SCRAM-SHA-256 over TCP) and
//! `sluice_md5` (password `md5-secret`, MD5), both with REPLICATION; `sluice_norepl` (trust, no REPLICATION). The
//! server also accepts TLS with a self-signed certificate when `openssl` is installed ([`PgCluster::tls`]).

pub mod kafka;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// A running PostgreSQL server reachable on loopback with trust authentication for `postgres`.
#[derive(Debug)]
pub struct PgCluster {
    pub host: String,
    pub port: u16,
    pub bin_dir: PathBuf,
    /// The data directory, when this process started the server.
    pub data_dir: Option<PathBuf>,
    tls: bool,
}

static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
static DB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The cluster shared by every test of this process.
pub fn cluster() -> &'static PgCluster {
    CLUSTER.get_or_init(|| match std::env::var("SLUICE_TEST_PG_PORT") {
        Ok(port) => PgCluster {
            host: "127.0.0.1".into(),
            port: port.parse().expect("SLUICE_TEST_PG_PORT is a port number"),
            bin_dir: bin_dir(),
            data_dir: std::env::var_os("SLUICE_TEST_PG_DATA").map(PathBuf::from),
            tls: std::env::var_os("SLUICE_TEST_PG_TLS").is_some(),
        },
        Err(_) => {
            let dir =
                tempfile::Builder::new().prefix("sluice-pg-").tempdir().expect("create a temporary directory").keep();
            PgCluster::start(&dir, Some(std::process::id())).unwrap_or_else(|e| panic!("{e}"))
        }
    })
}

/// The directory of PostgreSQL's server binaries: `pg_config --bindir`'s `initdb` if present, else the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SLUICE_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").exists().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().map(|(_, p)| p).unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// Runs a PostgreSQL tool, as `postgres` when we are root.
fn pg_command(bin: &Path, tool: &str) -> Command {
    let exe = bin.join(tool);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

impl PgCluster {
    /// Creates and starts a cluster in `dir` (which must be empty or missing). With `owner_pid`, a watchdog stops
    /// the server and removes `dir` once that process has exited.
    pub fn start(dir: &Path, owner_pid: Option<u32>) -> Result<PgCluster, String> {
        Self::start_with_settings(dir, owner_pid, "")
    }

    /// Like [`start`](Self::start), with extra `postgresql.conf` lines that override the harness's defaults (for
    /// tests of misconfigured servers: `wal_level = replica`, `max_replication_slots = 1`).
    pub fn start_with_settings(dir: &Path, owner_pid: Option<u32>, settings: &str) -> Result<PgCluster, String> {
        let bin = bin_dir();
        if !bin.join("initdb").exists() {
            return Err(format!(
                "PostgreSQL server binaries not found in {}: install Debian's `postgresql` package \
                 (or set SLUICE_PG_BINDIR)",
                bin.display()
            ));
        }
        let data = dir.join("data");
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:postgres"]).arg(dir);
                    c
                },
                "chown the cluster directory to postgres",
            )?;
        }
        let mut initdb = pg_command(&bin, "initdb");
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        run(initdb, "initdb")?;

        let port = free_port();
        let tls = generate_certificate(&data, is_root());
        // Every test keeps the slots it made (a database per test, never dropped during the run), so the suite's
        // slots add up: the limit leaves room for several hundred tests.
        let mut conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             wal_level = logical\nmax_replication_slots = 400\nmax_wal_senders = 100\nmax_connections = 300\n\
             fsync = off\nfull_page_writes = off\nshared_buffers = 128MB\nwal_sender_timeout = 60s\n\
             log_min_messages = warning\nmax_wal_size = 4GB\nlc_messages = 'C'\ntimezone = 'UTC'\n",
            dir.display()
        );
        if tls {
            conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        }
        conf.push_str(settings);
        conf.push('\n');
        append(&data.join("postgresql.conf"), &conf)?;
        let hba = "local all all trust\n\
                   host all sluice_scram 127.0.0.1/32 scram-sha-256\n\
                   host replication sluice_scram 127.0.0.1/32 scram-sha-256\n\
                   host all sluice_md5 127.0.0.1/32 md5\n\
                   host replication sluice_md5 127.0.0.1/32 md5\n\
                   host all all 127.0.0.1/32 trust\n\
                   host replication all 127.0.0.1/32 trust\n";
        std::fs::write(data.join("pg_hba.conf"), hba).map_err(|e| format!("write pg_hba.conf: {e}"))?;
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["postgres:postgres"]).arg(data.join("pg_hba.conf"));
                    c
                },
                "chown pg_hba.conf",
            )?;
        }
        let mut start = pg_command(&bin, "pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null());
        run(start, "pg_ctl start")?;
        if let Some(pid) = owner_pid {
            spawn_watchdog(&bin, dir, pid)?;
        }
        let cluster = PgCluster { host: "127.0.0.1".into(), port, bin_dir: bin, data_dir: Some(data), tls };
        cluster.psql("postgres", SETUP_SQL)?;
        Ok(cluster)
    }

    /// Stops the server immediately.
    pub fn stop(&self) -> Result<(), String> {
        let data = self.data_dir.as_ref().ok_or("this process did not start the cluster")?;
        stop_data_dir(&self.bin_dir, data)
    }

    /// Stops the cluster that [`start`](Self::start) made in `dir`, and removes `dir`.
    pub fn stop_dir(dir: &Path) -> Result<(), String> {
        stop_data_dir(&bin_dir(), &dir.join("data"))?;
        std::fs::remove_dir_all(dir).map_err(|e| format!("remove {}: {e}", dir.display()))
    }

    /// Whether the server accepts TLS connections.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// A libpq-style connection string for `dbname` as `postgres`.
    pub fn conn_string(&self, dbname: &str) -> String {
        format!("host={} port={} user=postgres dbname={dbname}", self.host, self.port)
    }

    /// Runs SQL through `psql` (for setup that must not depend on the code under test). The SQL is a script: each
    /// statement commits on its own unless it has BEGIN/COMMIT, as in an interactive session.
    pub fn psql(&self, dbname: &str, sql: &str) -> Result<String, String> {
        use std::io::Write;
        let mut child = Command::new(self.bin_dir.join("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", &self.host, "-U", "postgres"])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(dbname)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("run psql: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(sql.as_bytes())
            .and_then(|_| stdin.write_all(b"\n"))
            .map_err(|e| format!("write to psql: {e}"))?;
        drop(stdin);
        let out = child.wait_with_output().map_err(|e| format!("run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("psql failed: {}", String::from_utf8_lossy(&out.stderr)))
        }
    }

    /// A cluster of its own with extra settings, stopped and removed when this process exits. Leaked on purpose: a
    /// test's cluster lives as long as the test process.
    pub fn dedicated(settings: &str) -> &'static PgCluster {
        let dir = tempfile::Builder::new().prefix("sluice-pg-").tempdir().expect("create a temporary directory").keep();
        let cluster =
            PgCluster::start_with_settings(&dir, Some(std::process::id()), settings).unwrap_or_else(|e| panic!("{e}"));
        Box::leak(Box::new(cluster))
    }

    /// A new, empty database with a unique name starting with `prefix`.
    pub async fn fresh_database(&'static self, prefix: &str) -> TestDb {
        let n = DB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{}_{n}", std::process::id()).to_lowercase();
        let client = self.connect("postgres").await;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        TestDb { cluster: self, name }
    }

    /// A plain client connection as `postgres`.
    pub async fn connect(&self, dbname: &str) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.conn_string(dbname), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to {dbname} on port {}: {e}", self.port));
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }
}

const SETUP_SQL: &str = "\
    CREATE ROLE sluice_scram LOGIN REPLICATION SUPERUSER;\
    SET password_encryption = 'scram-sha-256'; ALTER ROLE sluice_scram PASSWORD 'scram-secret';\
    CREATE ROLE sluice_md5 LOGIN REPLICATION SUPERUSER;\
    SET password_encryption = 'md5'; ALTER ROLE sluice_md5 PASSWORD 'md5-secret';\
    CREATE ROLE sluice_norepl LOGIN;";

/// A database of its own for one test.
#[derive(Debug)]
pub struct TestDb {
    pub cluster: &'static PgCluster,
    pub name: String,
}

impl TestDb {
    pub async fn client(&self) -> tokio_postgres::Client {
        self.cluster.connect(&self.name).await
    }

    pub fn conn_string(&self) -> String {
        self.cluster.conn_string(&self.name)
    }

    /// Runs SQL through `psql`, panicking with the server's message on failure.
    pub fn psql(&self, sql: &str) -> String {
        self.cluster.psql(&self.name, sql).unwrap_or_else(|e| panic!("{e}\nSQL: {sql}"))
    }
}

fn stop_data_dir(bin: &Path, data: &Path) -> Result<(), String> {
    let mut stop = pg_command(bin, "pg_ctl");
    stop.arg("-D").arg(data).args(["-m", "immediate", "stop"]).stdout(Stdio::null());
    run(stop, "pg_ctl stop")
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("append to {}: {e}", path.display()))
}

/// Makes a self-signed server certificate when `openssl` is available; returns whether it did.
fn generate_certificate(data: &Path, root: bool) -> bool {
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(data.join("server.key"))
        .arg("-out")
        .arg(data.join("server.crt"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return false;
    }
    let _ = Command::new("chmod").arg("600").arg(data.join("server.key")).status();
    if root {
        let _ = Command::new("chown")
            .arg("postgres:postgres")
            .arg(data.join("server.key"))
            .arg(data.join("server.crt"))
            .status();
    }
    true
}

fn spawn_watchdog(bin: &Path, dir: &Path, pid: u32) -> Result<(), String> {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 0.5; done; \
         '{}' -D '{}' -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
        bin.join("pg_ctl").display(),
        dir.join("data").display(),
        dir.display()
    );
    let mut cmd = if is_root() {
        let mut c = Command::new("setsid");
        c.args(["runuser", "-u", "postgres", "--", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("setsid");
        c.args(["sh", "-c", &script]);
        c
    };
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    cmd.spawn().map(|_| ()).map_err(|e| format!("start the cluster watchdog: {e}"))
}
