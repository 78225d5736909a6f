//! `tradpal config show`: the effective settings, secrets masked, with each value's
//! origin (default, file, env), as JSON.

use super::{load_settings, SettingsArgs};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective settings as JSON (API keys and NATS credentials masked).
    Show {
        #[command(flatten)]
        settings: SettingsArgs,
    },
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Show { settings } => {
            let s = match load_settings(&settings) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            println!("{}", serde_json::to_string_pretty(&s.show())?);
            for w in s.warnings() {
                eprintln!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
