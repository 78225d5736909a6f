//! `tradpal`: the one binary. Subcommands live one per file in `cli/`.
//!
//! Exit codes: 0 success (also when the reader of stdout went away, as with `| head`:
//! the output was not wanted any more); 1 runtime failure (including a journal that
//! fails verification); 2 invalid configuration or usage.

mod cli;
mod malloc;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    malloc::keep_freed_blocks();
    let args = cli::Cli::parse_from(cli::alias(std::env::args_os().collect()));
    match cli::run(args) {
        Ok(code) => code,
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Whether the error is a write to a closed pipe (`tradpal indicators f.csv | head`).
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
