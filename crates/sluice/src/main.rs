//! The `sluice` command: CLI, logging, signals and exit codes around [`sluice::app::run`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

/// Change data capture for PostgreSQL: a consistent snapshot, then every committed change, as Debezium events.
#[derive(Parser)]
#[command(name = "sluice", version, about, long_about = None)]
struct Cli {
    /// Log format on stderr (stdout belongs to the stdout sink).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the pipeline described by a Debezium Server–style properties file until SIGINT or SIGTERM.
    ///
    /// Exit codes: 0 after a clean stop, 1 on a runtime failure, 2 on a configuration error.
    Run {
        /// The configuration file (Debezium Server keys: debezium.source.*, debezium.sink.*, debezium.format.*).
        #[arg(long, short, default_value = "conf/application.properties")]
        config: PathBuf,
    },
    /// Checks a configuration file and exits: 0 when valid, 2 with every problem listed when not.
    Check {
        #[arg(long, short, default_value = "conf/application.properties")]
        config: PathBuf,
    },
    /// Prints the state of a running `sluice run`: stream, slot lag, last event age, event counts.
    ///
    /// Reads the instance's metrics endpoint: `--url HOST:PORT`, or `quarkus.http.port` of its configuration.
    Status {
        #[arg(long, short, default_value = "conf/application.properties")]
        config: PathBuf,
        /// The instance's metrics address (`HOST:PORT`), instead of the configuration's quarkus.http.port.
        #[arg(long)]
        url: Option<String>,
    },
    /// Prints every key this binary reads, with its default and meaning, and the Debezium keys, sinks and transforms
    /// it does not support yet (Markdown; docs/migrating-from-debezium.md holds the same).
    Keys,
    /// Runs a Kafka Connect–compatible worker: connectors are created, changed and watched through Kafka Connect's
    /// REST API (PUT /connectors/NAME/config, GET /connectors/NAME/status, …) and run into the worker's Kafka.
    ///
    /// Exit codes: 0 after a clean stop, 1 on a runtime failure, 2 on a worker configuration error.
    Connect {
        /// The worker configuration (Kafka Connect's keys: bootstrap.servers, listeners, offset.storage.file.filename).
        #[arg(long, short, default_value = "conf/worker.properties")]
        config: PathBuf,
    },
}

/// Events allocate and free payload buffers of a few KiB at a high rate; glibc's allocator keeps returning that
/// memory to the kernel and faulting it back in (a fifth of the CPU in profiles). mimalloc reuses it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXIT_RUNTIME: u8 = 1;
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loggers = init_logging(cli.log_format);
    let config = match &cli.command {
        Command::Connect { config } => return connect(config, loggers),
        Command::Status { config, url } => return status(config, url.as_deref()),
        Command::Keys => {
            print!("{}", sluice::config::reference::markdown());
            return ExitCode::SUCCESS;
        }
        Command::Run { config } | Command::Check { config } => config,
    };
    let loaded = match sluice::config::load(config) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("sluice: invalid configuration in {}:\n{e}", config.display());
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match loaded.config.sink.check() {
        Ok(notes) => notes.iter().for_each(|note| tracing::info!("{note}")),
        Err(problems) => {
            eprintln!("sluice: invalid configuration in {}:\n{}", config.display(), problems.join("\n"));
            return ExitCode::from(EXIT_CONFIG);
        }
    }
    for key in &loaded.ignored_keys {
        tracing::info!(key = %key, "ignoring a Debezium Server runtime key that has no meaning for Sluice");
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    if matches!(cli.command, Command::Check { .. }) {
        eprintln!("sluice: {} is valid", config.display());
        return ExitCode::SUCCESS;
    }
    run_until_signalled("draining in-flight events", |stop| async move {
        let status = sluice_core::PipelineStatus::new();
        let bars = sluice::progress::spawn_bars(status.clone());
        let result = sluice::app::run(loaded.config, status, stop).await;
        if let Some(bars) = bars {
            bars.refresh();
        }
        result
    })
}

/// Runs `work` on a multi-threaded runtime; the first SIGINT/SIGTERM asks it to stop (it drains), a second exits at
/// once with 130. Maps its outcome to the exit code.
fn run_until_signalled<F, Fut>(what: &'static str, work: F) -> ExitCode
where
    F: FnOnce(tokio::sync::watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = Result<(), sluice::app::RunError>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sluice: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let result = runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping: {what} (signal again to exit at once)");
            let _ = stop_tx.send(true);
            wait_for_signal().await;
            tracing::warn!("second signal: exiting without draining");
            std::process::exit(130);
        });
        work(stop_rx).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let explained = sluice_engine::Failure::explained(&e);
            tracing::error!("{explained}");
            eprintln!("sluice: {explained}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn status(config: &std::path::Path, url: Option<&str>) -> ExitCode {
    let addr = match url {
        Some(url) => url.trim_start_matches("http://").trim_end_matches('/').to_string(),
        None => {
            match sluice::config::load(config) {
                Ok(loaded) => match loaded.config.http {
                    Some(addr) if addr.ip().is_unspecified() => format!("127.0.0.1:{}", addr.port()),
                    Some(addr) => addr.to_string(),
                    None => {
                        eprintln!("sluice: {} sets no quarkus.http.port, so the instance serves no status; set it, or pass --url", config.display());
                        return ExitCode::from(EXIT_CONFIG);
                    }
                },
                Err(e) => {
                    eprintln!("sluice: invalid configuration in {}:\n{e}", config.display());
                    return ExitCode::from(EXIT_CONFIG);
                }
            }
        }
    };
    match sluice::observe::status_report(&addr) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sluice: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn connect(path: &std::path::Path, loggers: Arc<sluice::connect::Loggers>) -> ExitCode {
    let worker = match sluice::connect::load_worker(path) {
        Ok(worker) => worker,
        Err(problems) => {
            eprintln!("sluice: invalid worker configuration in {}:\n{}", path.display(), problems.join("\n"));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    run_until_signalled("draining every connector", |stop| sluice::connect::serve(worker, loggers, stop))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Installs the log subscriber: `SLUICE_LOG`'s filter (or `info`), behind a reload handle so that `sluice connect`'s
/// `/admin/loggers` can change it while the process runs.
fn init_logging(format: LogFormat) -> Arc<sluice::connect::Loggers> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, reload, EnvFilter};
    let base = std::env::var("SLUICE_LOG").ok().filter(|b| EnvFilter::try_new(b).is_ok());
    let base = base.unwrap_or_else(|| "info".to_string());
    let (filter, handle) = reload::Layer::new(EnvFilter::new(&base));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry.with(fmt::layer().with_writer(std::io::stderr)).init(),
        LogFormat::Json => registry.with(fmt::layer().json().with_writer(std::io::stderr)).init(),
    }
    let apply: sluice::connect::ApplyFilter = Box::new(move |directives| {
        let filter = EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    });
    Arc::new(sluice::connect::Loggers::new(base, apply))
}
