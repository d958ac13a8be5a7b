//! The file sink against the conformance suite. The reader reads the file from disk. The failure is the file system
//! refusing bytes partway through a batch, as a full disk or a quota does: this test process gets a file-size limit
//! (`RLIMIT_FSIZE`, set with `prlimit`, a little above the file's current size) so the kernel cuts the write short and
//! then fails it with `EFBIG`. nextest runs each test in its own process, so the limit touches no other test.

use std::path::PathBuf;
use std::process::Command;

use tokio::signal::unix::{signal, Signal, SignalKind};

use super::FileSink;
use crate::conformance::{read_json_lines, suite, Destination, Seen};

/// `SIGXFSZ` on Linux: sent with `EFBIG`, and fatal unless handled.
const SIGXFSZ: i32 = 25;

struct FileDestination {
    dir: tempfile::TempDir,
    /// The handler that keeps `SIGXFSZ` from killing the test process while the limit is on.
    xfsz: Option<Signal>,
}

impl FileDestination {
    fn new() -> Self {
        FileDestination { dir: tempfile::tempdir().expect("a temporary directory"), xfsz: None }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("out/events.jsonl")
    }
}

/// Sets this process's soft file-size limit (the hard one is left as it is, so it can be lifted again).
fn limit_file_size(soft: &str) {
    let status = Command::new("prlimit")
        .args(["--pid", &std::process::id().to_string(), &format!("--fsize={soft}:")])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit --fsize={soft}: {status}");
}

impl Destination for FileDestination {
    type Sink = FileSink;

    async fn open(&mut self) -> FileSink {
        FileSink::open(self.path()).expect("open the file sink")
    }

    async fn read(&mut self) -> Vec<Seen> {
        read_json_lines(&std::fs::read(self.path()).unwrap_or_default())
    }

    async fn fail(&mut self) {
        self.xfsz = Some(signal(SignalKind::from_raw(SIGXFSZ)).expect("handle SIGXFSZ"));
        let len = std::fs::metadata(self.path()).expect("the file").len();
        limit_file_size(&(len + 4096).to_string());
    }

    async fn recover(&mut self) {
        limit_file_size("unlimited");
    }
}

suite!(FileDestination::new();
    keeps_per_key_order_across_batches,
    acknowledges_only_what_an_independent_reader_can_read,
    a_failed_batch_written_again_leaves_repeats_never_gaps,
    a_write_cancelled_halfway_then_retried_leaves_everything_in_order,
    an_empty_batch_is_acknowledged_and_writes_nothing,
    records_up_to_the_size_limit_arrive_whole_and_larger_ones_fail_naming_the_topic,
    close_settles_a_cancelled_write_and_flushes,
    health_is_ok_while_the_destination_is_reachable,
);
