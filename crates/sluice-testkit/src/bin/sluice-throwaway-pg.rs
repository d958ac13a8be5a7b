//! Starts a throwaway PostgreSQL cluster for scripts (the test command, the quick start, the benchmark).
//!
//! `sluice-throwaway-pg DIR [OWNER_PID]` creates the cluster in DIR, prints `PORT` on stdout and exits; with
//! OWNER_PID a watchdog removes the cluster once that process is gone. `sluice-throwaway-pg --stop DIR` stops it.

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, dir] if flag == "--stop" => sluice_testkit::PgCluster::stop_dir(&PathBuf::from(dir)),
        [dir] => sluice_testkit::PgCluster::start(&PathBuf::from(dir), None).map(|c| println!("{}", c.port)),
        [dir, pid] => match pid.parse() {
            Ok(pid) => sluice_testkit::PgCluster::start(&PathBuf::from(dir), Some(pid)).map(|c| println!("{}", c.port)),
            Err(_) => Err(format!("`{pid}` is not a process id")),
        },
        _ => Err("usage: sluice-throwaway-pg DIR [OWNER_PID] | --stop DIR".into()),
    };
    if let Err(e) = result {
        eprintln!("sluice-throwaway-pg: {e}");
        std::process::exit(1);
    }
}
