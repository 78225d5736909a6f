//! A one-line progress bar on stderr (`\r`-rewritten), for `backtest`, `optimize` and
//! `walk-forward`: shown when stderr is a terminal or with `--progress`, never with
//! `--quiet`. The work counts into an atomic; a second thread draws it every
//! [`DRAW_EVERY_MS`], so the engine's loop pays one relaxed store per bar.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// How often the bar is redrawn.
pub const DRAW_EVERY_MS: u64 = 200;

/// Whether to draw: `--progress` forces it, `--quiet` forbids it, else a terminal.
pub fn wanted(progress: bool, quiet: bool) -> bool {
    !quiet && (progress || std::io::stderr().is_terminal())
}

/// Runs `work` with a counter it advances towards `total`; draws `label` and the count
/// while it runs (when `show`), and a final line at the end.
pub fn with_bar<T>(label: &str, unit: &str, total: usize, show: bool, work: impl FnOnce(&AtomicUsize) -> T) -> T {
    let done = AtomicUsize::new(0);
    if !show {
        return work(&done);
    }
    let finished = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            while !finished.load(Ordering::Relaxed) {
                draw(label, unit, done.load(Ordering::Relaxed), total);
                std::thread::sleep(Duration::from_millis(DRAW_EVERY_MS));
            }
        });
        let out = work(&done);
        finished.store(true, Ordering::Relaxed);
        out
    });
    draw(label, unit, done.load(Ordering::Relaxed), total);
    eprintln!();
    out
}

fn draw(label: &str, unit: &str, done: usize, total: usize) {
    const WIDTH: usize = 30;
    let frac = if total == 0 { 1.0 } else { (done as f64 / total as f64).min(1.0) };
    let filled = (frac * WIDTH as f64).round() as usize;
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r{label} [{}{}] {:5.1}% ({done}/{total} {unit})", "#".repeat(filled), " ".repeat(WIDTH - filled), frac * 100.0);
    let _ = err.flush();
}
