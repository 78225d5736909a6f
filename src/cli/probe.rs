//! `tradpal probe [--ready] [--url U]`: a health check from inside the container or the
//! pod, so the runtime image needs no curl. `GET /health` (liveness: the process
//! answers) or, with `--ready`, `GET /ready` (journal open, actors up, this node leads).
//! Exit 0 on 200, 1 on any other answer or no answer; the body goes to stdout.

use super::{load_settings, SettingsArgs};
use std::process::ExitCode;
use std::time::Duration;

/// How long the probe waits for an answer (Docker and Kubernetes give it a few seconds).
pub const PROBE_TIMEOUT_MS: u64 = 3_000;

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// Ask `/ready` (readiness) instead of `/health` (liveness).
    #[arg(long)]
    pub ready: bool,
    /// Base URL (default: http://127.0.0.1:TRADING_SERVICE_PORT, the local service).
    #[arg(long)]
    pub url: Option<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let base = match args.url {
        Some(u) => u,
        None => match load_settings(&args.settings) {
            // The probe runs beside the service: loopback, whatever address it binds.
            Ok(s) => format!("http://127.0.0.1:{}", s.service.port),
            Err(code) => return Ok(code),
        },
    };
    let url = format!("{}/{}", base.trim_end_matches('/'), if args.ready { "ready" } else { "health" });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_millis(PROBE_TIMEOUT_MS)).build()?;
        match client.get(&url).send().await {
            Ok(resp) => {
                let ok = resp.status() == reqwest::StatusCode::OK;
                let status = resp.status();
                println!("{}", resp.text().await.unwrap_or_default());
                if !ok {
                    eprintln!("error: {url} answered {status}");
                }
                Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
            }
            Err(e) => {
                eprintln!("error: no answer from {url}: {e}");
                Ok(ExitCode::from(1))
            }
        }
    })
}
