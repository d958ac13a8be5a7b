//! Snapshot progress bars on a terminal: one bar per table (rows, rate, ETA), drawn on stderr from the board the
//! snapshot readers keep (the pipeline's `PipelineStatus`). Without a terminal nothing is drawn: the
//! readers log the same figures every few seconds instead.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_core::PipelineStatus;

/// The bars on stderr.
#[derive(Clone)]
pub struct Bars {
    inner: Arc<Mutex<Drawn>>,
    status: PipelineStatus,
}

struct Drawn {
    multi: MultiProgress,
    style: ProgressStyle,
    bars: HashMap<String, ProgressBar>,
}

/// Starts drawing when stderr is a terminal; `None` otherwise.
pub fn spawn_bars(status: PipelineStatus) -> Option<Bars> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let style = ProgressStyle::with_template("{prefix:>30} [{bar:30}] {pos}/{len} rows  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let drawn =
        Drawn { multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()), style, bars: HashMap::new() };
    let bars = Bars { inner: Arc::new(Mutex::new(drawn)), status };
    let ticking = bars.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            ticking.refresh();
        }
    });
    Some(bars)
}

impl Bars {
    /// Brings every bar up to date with the board (also called once more when Sluice stops).
    pub fn refresh(&self) {
        let mut drawn = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Drawn { multi, style, bars } = &mut *drawn;
        for table in self.status.snapshot_progress() {
            // A new snapshot of a table drawn before (snapshot.mode=always) gets a new bar.
            if bars.get(&table.table).is_some_and(|b| b.is_finished() && !table.done) {
                bars.remove(&table.table);
            }
            let bar = bars.entry(table.table.clone()).or_insert_with(|| {
                let bar = multi.add(ProgressBar::new(table.estimated_rows.max(1)));
                bar.set_style(style.clone());
                bar.set_prefix(table.table.clone());
                bar
            });
            if bar.is_finished() {
                continue;
            }
            bar.set_length(table.estimated_rows.max(table.rows).max(1));
            bar.set_position(table.rows);
            let eta = table.eta().map_or_else(String::new, |d| format!("  ETA {}s", d.as_secs()));
            bar.set_message(format!("{:.0} rows/s{eta}", table.rows_per_second()));
            if table.done {
                bar.finish();
            }
        }
    }
}
