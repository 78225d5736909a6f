//! `tradpal trading-state [active|reducing|halted]` and `tradpal flatten`: the kill
//! switch from a shell, for the moment the HTTP client is not at hand.
//!
//! They talk to the running service over HTTP (the service owns the journal; a second
//! writer is refused by design). The URL defaults to the configured host and port; the
//! key is `--key`, else `TRADPAL_ADMIN_KEY`, else the generated `<data dir>/admin.key`.

use super::{load_settings, SettingsArgs};
use anyhow::Context;
use std::process::ExitCode;
use std::time::Duration;

/// How long the CLI waits for the service's answer.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

#[derive(clap::Args, Debug)]
pub struct Target {
    /// Base URL of the running service (default: http://TRADING_SERVICE_HOST:TRADING_SERVICE_PORT).
    #[arg(long)]
    pub url: Option<String>,
    /// Admin API key (default: TRADPAL_ADMIN_KEY, else <data dir>/admin.key).
    #[arg(long, env = "TRADPAL_ADMIN_KEY", hide_env_values = true)]
    pub key: Option<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(clap::Args, Debug)]
pub struct TradingStateArgs {
    /// The state to set; without it, prints the current state.
    #[arg(value_parser = ["active", "reducing", "halted"])]
    pub state: Option<String>,
    /// Why (journaled with the change).
    #[arg(long)]
    pub reason: Option<String>,
    /// With `halted`: cancel every working order in the same journal batch as the halt
    /// (without it, resting orders stay and may fill).
    #[arg(long)]
    pub cancel_working: bool,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug)]
pub struct FlattenArgs {
    /// Why (journaled with the cancels and closing orders).
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

/// Base URL and key from the flags, the settings and the data directory.
pub(super) fn resolve(t: &Target) -> anyhow::Result<Result<(String, String), ExitCode>> {
    let settings = match load_settings(&t.settings) {
        Ok(s) => s,
        Err(code) => return Ok(Err(code)),
    };
    let host = if settings.service.host == "0.0.0.0" || settings.service.host == "::" {
        "127.0.0.1".to_string()
    } else {
        settings.service.bind_addr()
    };
    let url = t.url.clone().unwrap_or_else(|| {
        if host == "127.0.0.1" {
            format!("http://127.0.0.1:{}", settings.service.port)
        } else {
            format!("http://{host}")
        }
    });
    let key = match &t.key {
        Some(k) => k.clone(),
        None => {
            let path = settings.data_dir.join(tradpal_runtime::keys::GENERATED_KEY_FILE);
            std::fs::read_to_string(&path)
                .with_context(|| format!("no --key or TRADPAL_ADMIN_KEY, and cannot read {}", path.display()))?
                .trim()
                .to_string()
        }
    };
    Ok(Ok((url.trim_end_matches('/').to_string(), key)))
}

pub(super) fn call(method: reqwest::Method, url: &str, key: &str, body: Option<serde_json::Value>) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_millis(REQUEST_TIMEOUT_MS)).build()?;
        let mut req = client.request(method, url).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("cannot reach the service at {url}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        let pretty =
            serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| serde_json::to_string_pretty(&v).ok()).unwrap_or(text);
        if status.is_success() {
            println!("{pretty}");
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("error: {status}\n{pretty}");
            Ok(ExitCode::from(1))
        }
    })
}

pub fn trading_state(args: TradingStateArgs) -> anyhow::Result<ExitCode> {
    let (base, key) = match resolve(&args.target)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let url = format!("{base}/api/execution/trading-state");
    match args.state {
        None => call(reqwest::Method::GET, &url, &key, None),
        Some(state) => {
            let reason = args.reason.unwrap_or_else(|| "set from the command line".into());
            let body = serde_json::json!({"state": state, "reason": reason, "cancel_working": args.cancel_working});
            call(reqwest::Method::POST, &url, &key, Some(body))
        }
    }
}

pub fn flatten(args: FlattenArgs) -> anyhow::Result<ExitCode> {
    let (base, key) = match resolve(&args.target)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let reason = args.reason.unwrap_or_else(|| "flatten from the command line".into());
    call(reqwest::Method::POST, &format!("{base}/api/execution/flatten"), &key, Some(serde_json::json!({"reason": reason})))
}
