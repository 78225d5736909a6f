//! The CLI's progress bars on stderr (indicatif): the bar of `backtest`, `optimize` and
//! `ml train` (shown when stderr is a terminal or with `--progress`, never with
//! `--quiet`), and the file-parsing bar of `data import` (terminal only, big files).
//!
//! The work counts into an atomic; a second thread copies it into the bar every
//! [`DRAW_EVERY_MS`], so the engine's loop pays one relaxed store per bar, not a clock
//! read per step (indicatif's own rate limit reads the clock on each `inc`).
//!
//! Why a draw target of our own ([`StderrLine`]): indicatif draws nothing when stderr is
//! not a terminal, but `--progress` is there to ask for the bar in a pipe or a log (the
//! tests read it), so a forced bar writes plain `\r`-rewritten lines to stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// How often the bar is redrawn.
pub const DRAW_EVERY_MS: u64 = 200;
/// Redraws a second at most on a terminal (1000 / [`DRAW_EVERY_MS`]).
const DRAWS_PER_SEC_MAX: u8 = 5;
/// The line width [`StderrLine`] reports: longer than any bar line here.
const LINE_WIDTH: u16 = 100;
/// The bar's width in characters.
const BAR_WIDTH: usize = 30;

/// Whether to draw: `--progress` forces it, `--quiet` forbids it, else a terminal.
pub fn wanted(progress: bool, quiet: bool) -> bool {
    !quiet && (progress || std::io::stderr().is_terminal())
}

/// A bar of `total` `unit`s labelled `label`: on the terminal when stderr is one, else
/// as plain lines (only asked for with `--progress`).
pub fn bar(label: &str, unit: &str, total: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr_with_hz(DRAWS_PER_SEC_MAX)
    } else {
        ProgressDrawTarget::term_like_with_hz(Box::new(StderrLine), DRAWS_PER_SEC_MAX)
    };
    let template = format!("{label} [{{bar:{BAR_WIDTH}}}] {{pct}}% ({{pos}}/{{len}} {unit})");
    let style = ProgressStyle::with_template(&template)
        .expect("the template's keys are indicatif's and ours")
        .progress_chars("# ")
        .with_key("pct", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let total = s.len().unwrap_or(0);
            let pct = if total == 0 { 100.0 } else { (s.pos() as f64 * 100.0 / total as f64).min(100.0) };
            let _ = write!(w, "{pct:5.1}");
        });
    ProgressBar::with_draw_target(Some(total), target).with_style(style)
}

/// Runs `work` with a counter it advances towards `total`; draws `label` and the count
/// while it runs (when `show`), and the final count at the end.
pub fn with_bar<T>(label: &str, unit: &str, total: usize, show: bool, work: impl FnOnce(&AtomicUsize) -> T) -> T {
    let done = AtomicUsize::new(0);
    if !show {
        return work(&done);
    }
    let bar = bar(label, unit, total as u64);
    let finished = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            while !finished.load(Ordering::Relaxed) {
                bar.set_position(done.load(Ordering::Relaxed) as u64);
                std::thread::sleep(Duration::from_millis(DRAW_EVERY_MS));
            }
        });
        let out = work(&done);
        finished.store(true, Ordering::Relaxed);
        out
    });
    bar.set_position(done.load(Ordering::Relaxed) as u64);
    bar.finish();
    if !std::io::stderr().is_terminal() {
        // A terminal's cursor wraps after indicatif's padded line; a pipe needs the newline.
        eprintln!();
    }
    out
}

/// stderr as indicatif's terminal when it is not one: `\r` rewrites the line, no cursor
/// movement or colour (a forced bar has one line).
#[derive(Debug)]
pub struct StderrLine;

impl TermLike for StderrLine {
    fn width(&self) -> u16 {
        // Wider than the longest bar line (indicatif pads each line to this with spaces).
        LINE_WIDTH
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        writeln!(std::io::stderr().lock(), "{s}")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        write!(std::io::stderr().lock(), "{s}")
    }
    fn clear_line(&self) -> std::io::Result<()> {
        write!(std::io::stderr().lock(), "\r")
    }
    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
