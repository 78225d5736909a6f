//! `tradpal`: the one binary. Subcommands live one per file in `cli/`.
//!
//! Exit codes: 0 success; 1 runtime failure (including a journal that fails
//! verification); 2 invalid configuration or usage.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse_from(cli::alias(std::env::args_os().collect()));
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
