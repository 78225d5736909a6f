//! The environment variables: one table of names, defaults and descriptions, and the one
//! function that applies a variable's text to the settings.
//!
//! Why a table: the README's configuration section, `tradpal config show` and the loader
//! must agree on names and defaults. `ENV_VARS` is the single list; tests check that every
//! entry is read by `Settings::load` and that each documented default is what
//! `Settings::defaults()` holds.

use std::time::Duration;

use crate::parse;
use crate::secret::{mask_url_credentials, parse_api_keys, parse_nats_url, Reject, Secret};
use crate::settings::{Origin, Settings};

/// One environment variable the service reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    /// The default as the variable's text; `None` = unset by default (optional setting).
    pub default: Option<&'static str>,
    /// The JSON path at which the config file may set it too (`service.port`); `None` =
    /// environment only (secrets, and the path of the file itself).
    pub file_path: Option<&'static str>,
    /// Holds a secret: masked wherever it is shown.
    pub secret: bool,
    /// One line for the README table and `config show`.
    pub description: &'static str,
}

const fn var(name: &'static str, default: Option<&'static str>, file_path: Option<&'static str>, description: &'static str) -> EnvVar {
    EnvVar { name, default, file_path, secret: false, description }
}

/// Every environment variable, in README order. The file's `service` object accepts the
/// `file_path` keys listed here; `TRADPAL_API_KEYS` is environment-only so that keys stay
/// out of config files that tend to be committed, and `MAX_DRAWDOWN` is set in the file as
/// the spec's `trading_config.max_drawdown`.
pub const ENV_VARS: &[EnvVar] = &[
    var("TRADING_SERVICE_HOST", Some("127.0.0.1"), Some("service.host"),
        "Address the HTTP API binds to; loopback by default so a fresh install is not reachable from the network (containers use 0.0.0.0)."),
    var("TRADING_SERVICE_PORT", Some("8002"), Some("service.port"), "TCP port of the HTTP API (1-65535)."),
    var("TRADPAL_BODY_BYTES_MAX", Some("1048576"), Some("service.body_bytes_max"),
        "Largest accepted HTTP request body in bytes (1 to 67108864)."),
    var("TRADPAL_DATA_DIR", Some("./tradpal-data"), Some("service.data_dir"), "Directory of the journal and its indexes."),
    var("NATS_URL", None, Some("service.nats_url"),
        "NATS server URL(s), comma-separated; unset = one process with an in-process bus. Credentials are masked in output."),
    var("TRADPAL_NATS_REPLICAS", Some("1"), Some("service.nats_replicas"),
        "JetStream replicas of every stream and KV bucket the service creates (market data, events, the journal log, the leader lease): 1, or 3 on a 3+ node NATS cluster. Applies when a stream or bucket is created; an existing one keeps its count (change it with `nats stream edit --replicas`)."),
    var("TRADPAL_NODE", None, Some("service.node"),
        "This process's node name for replicated operation (needs NATS_URL): processes with a node name elect one leader over NATS, the others stand by and follow its journal. 1-32 of a-z 0-9 _ -."),
    EnvVar {
        name: "TRADPAL_API_KEYS",
        default: None,
        file_path: None,
        secret: true,
        description: "API keys as key:role pairs, comma-separated; role viewer, trader or admin; keys of 16+ characters.",
    },
    var("LOG_LEVEL", Some("info"), Some("service.log_level"),
        "trace, debug, info, warn/warning, error or critical (= error); any case."),
    var("LOG_FORMAT", Some("text"), Some("service.log_format"), "Log line format: text or json."),
    var("TRADPAL_CONFIG", None, None, "Path of the JSON config file (a path given by the caller wins)."),
    var("ENABLE_ML_TRAINING", Some("true"), Some("service.enable_ml_training"), "Run the ML training service."),
    var("ENABLE_REINFORCEMENT_LEARNING", Some("true"), Some("service.enable_reinforcement_learning"),
        "Run the reinforcement learning service."),
    var("ENABLE_MARKET_REGIME", Some("true"), Some("service.enable_market_regime"), "Run the market regime service."),
    var("MAX_DRAWDOWN", Some("0.1"), Some("trading_config.max_drawdown"),
        "Drawdown from peak equity at which trading halts, as a fraction in (0, 1]."),
    var("MAX_POSITION_SIZE", Some("0.05"), Some("service.max_position_size"),
        "Largest single position as a fraction of equity, in (0, 1]."),
    var("RISK_FREE_RATE", Some("0.02"), Some("service.risk_free_rate"),
        "Annual risk-free rate for Sharpe-style ratios, in (-1, 1)."),
    var("DEFAULT_EXCHANGE", Some("binance"), Some("service.default_exchange"), "Exchange id orders are routed to."),
    var("ENABLE_PAPER_TRADING", Some("true"), Some("service.enable_paper_trading"),
        "Simulate fills instead of sending real orders."),
    var("ORDER_TIMEOUT", Some("30"), Some("service.order_timeout"), "Seconds before an unfilled order is cancelled (1-3600)."),
    EnvVar {
        name: "BINANCE_API_KEY",
        default: None,
        file_path: None,
        secret: true,
        description: "Binance API key; required when ENABLE_PAPER_TRADING=false and DEFAULT_EXCHANGE=binance. Masked in output.",
    },
    EnvVar {
        name: "BINANCE_API_SECRET",
        default: None,
        file_path: None,
        secret: true,
        description: "Binance API secret (signs requests); required with BINANCE_API_KEY. Masked in output.",
    },
    var("BINANCE_BASE_URL", Some("https://api.binance.com"), Some("service.binance_base_url"),
        "Binance REST endpoint (https://testnet.binance.vision for the test network)."),
    var("BACKTEST_START_DATE", Some("2020-01-01"), Some("service.backtest_start_date"),
        "Default backtest start, YYYY-MM-DD (before the end date)."),
    var("BACKTEST_END_DATE", Some("2024-01-01"), Some("service.backtest_end_date"), "Default backtest end, YYYY-MM-DD."),
    var("BACKTEST_RESULTS_MAX", Some("1000"), Some("service.backtest_results_max"),
        "Most finished backtest result files kept (1-1000000); past it the oldest finished one is deleted."),
    var("TRANSACTION_COSTS", Some("0.001"), Some("service.transaction_costs"),
        "Backtest cost per trade as a fraction of notional, in [0, 1)."),
    var("ENABLE_PERFORMANCE_MONITORING", Some("true"), Some("service.enable_performance_monitoring"),
        "Collect metrics and serve them at /metrics (false: nothing is recorded and /metrics answers 503)."),
    var("METRICS_UPDATE_INTERVAL", Some("60"), Some("service.metrics_update_interval"),
        "Seconds between refreshes of the sampled /metrics gauges (sessions, per-session P&L, journal) (1-86400)."),
    var("TRADPAL_METRICS_PUBLIC", Some("false"), Some("service.metrics_public"),
        "Serve /metrics without an API key (for a scraper on a trusted network); false = a viewer key is required."),
    var("TRADPAL_RATE_LIMIT", Some("50"), Some("service.rate_limit"),
        "Requests per second per API key (token bucket, burst 2x); order routes get a fifth of it; failed authentications a tenth per client address; 0 = no limit (0-1000000)."),
    EnvVar {
        name: "TRADPAL_JWT_SECRET",
        default: None,
        file_path: None,
        secret: true,
        description: "HS256 secret signing the tokens of POST /api/auth/token (32-256 printable characters); unset = generated into <data dir>/jwt.secret (mode 0600).",
    },
    var("TRADPAL_JWT_TTL", Some("900"), Some("service.jwt_ttl"), "Seconds an issued token is valid (1-86400)."),
    var("TRADPAL_TLS_CERT", None, Some("service.tls_cert"),
        "PEM certificate chain; with TRADPAL_TLS_KEY the API is served over HTTPS (rustls)."),
    var("TRADPAL_TLS_KEY", None, Some("service.tls_key"), "PEM private key of TRADPAL_TLS_CERT."),
    var("NATS_TLS_CA", None, Some("service.nats_tls_ca"),
        "PEM CA certificate(s) trusted for tls:// NATS servers (besides the system roots)."),
    EnvVar {
        name: "TRADPAL_ALERT_WEBHOOK",
        default: None,
        file_path: None,
        secret: true,
        description: "http(s) URL alerts are POSTed to as JSON (retried, each alert once); unset = alerts are logged (and published on NATS) only. Masked in output.",
    },
];

/// Longest token lifetime `TRADPAL_JWT_TTL` accepts: a day. Tokens cannot be revoked
/// (short lifetimes are the revocation), so a longer one is a standing credential.
pub const JWT_TTL_MAX_SECS: u64 = 86_400;

/// Shortest `TRADPAL_JWT_SECRET`: 32 bytes, the HS256 digest size (RFC 7518 3.2).
pub const JWT_SECRET_MIN_LEN: usize = 32;

/// Largest `TRADPAL_RATE_LIMIT` accepted (requests per second).
pub const RATE_LIMIT_MAX: u64 = 1_000_000;

/// Largest `BACKTEST_RESULTS_MAX` accepted: a bound on the result index kept in memory.
pub const BACKTEST_RESULTS_MAX_LIMIT: u64 = 1_000_000;

/// The table entry for `name`.
pub fn env_var(name: &str) -> Option<&'static EnvVar> {
    ENV_VARS.iter().find(|v| v.name == name)
}

/// The README's configuration table (Markdown), generated from [`ENV_VARS`] so the docs
/// cannot drift from the code.
pub fn markdown_table() -> String {
    let mut out = String::from("| Variable | Default | In the file | Description |\n|---|---|---|---|\n");
    for v in ENV_VARS {
        let code = |t: Option<&str>| t.map_or("(unset)".to_string(), |t| format!("`{t}`"));
        let file = v.file_path.map_or("(env only)".to_string(), |p| format!("`{p}`"));
        out.push_str(&format!("| `{}` | {} | {file} | {} |\n", v.name, code(v.default), v.description));
    }
    out
}

/// Largest accepted `TRADPAL_BODY_BYTES_MAX`: 64 MiB.
pub const BODY_BYTES_MAX_LIMIT: u64 = 64 << 20;

/// Parses `raw` as variable `name` and stores it in `s`. On error nothing is stored and
/// the rejects say what was wrong, with secrets already masked.
pub(crate) fn apply(name: &str, raw: &str, s: &mut Settings) -> Result<(), Vec<Reject>> {
    let reject = |expected: String| vec![Reject { value: raw.to_string(), expected }];
    let one = |expected: parse::Expected| reject(expected.to_string());
    let secs = |lo, hi| parse::integer_in(raw, lo, hi, "seconds").map(Duration::from_secs);
    match name {
        "TRADING_SERVICE_HOST" => s.service.host = parse::host(raw).map_err(one)?,
        "TRADING_SERVICE_PORT" => s.service.port = parse::port(raw).map_err(one)?,
        "TRADPAL_BODY_BYTES_MAX" => {
            let n = parse::integer_in(raw, 1, BODY_BYTES_MAX_LIMIT, "bytes, at most 64 MiB").map_err(one)?;
            s.service.body_bytes_max = usize::try_from(n).map_err(|_| reject("a size this platform can address".into()))?;
        }
        "TRADPAL_DATA_DIR" => s.data_dir = parse::dir(raw).map_err(one)?,
        "NATS_URL" => {
            s.nats_url = parse_nats_url(raw).map_err(|e| vec![Reject { value: mask_url_credentials(raw), expected: e.to_string() }])?;
        }
        "TRADPAL_NODE" => s.node = parse::node_name(raw).map_err(one)?,
        "TRADPAL_NATS_REPLICAS" => s.nats_replicas = parse::nats_replicas(raw).map_err(one)?,
        "TRADPAL_API_KEYS" => s.api_keys = parse_api_keys(raw)?,
        "LOG_LEVEL" => s.log.level = parse::log_level(raw).map_err(one)?,
        "LOG_FORMAT" => s.log.format = parse::log_format(raw).map_err(one)?,
        // Read by `load` before any layer is applied: it decides which file is a layer.
        "TRADPAL_CONFIG" => {}
        "ENABLE_ML_TRAINING" => s.features.ml_training = parse::boolean(raw).map_err(one)?,
        "ENABLE_REINFORCEMENT_LEARNING" => s.features.reinforcement_learning = parse::boolean(raw).map_err(one)?,
        "ENABLE_MARKET_REGIME" => s.features.market_regime = parse::boolean(raw).map_err(one)?,
        "MAX_DRAWDOWN" => s.risk.max_drawdown = parse::number_in(raw, parse::POSITIVE_FRACTION).map_err(one)?,
        "MAX_POSITION_SIZE" => s.risk.max_position_size = parse::number_in(raw, parse::POSITIVE_FRACTION).map_err(one)?,
        "RISK_FREE_RATE" => s.risk.risk_free_rate = parse::number_in(raw, parse::RATE).map_err(one)?,
        "DEFAULT_EXCHANGE" => s.execution.default_exchange = parse::exchange(raw).map_err(one)?,
        "ENABLE_PAPER_TRADING" => s.execution.paper_trading = parse::boolean(raw).map_err(one)?,
        "ORDER_TIMEOUT" => s.execution.order_timeout = secs(1, 3_600).map_err(one)?,
        "BINANCE_API_KEY" => s.execution.binance_api_key = Some(Secret::parse(raw).map_err(|r| vec![r])?),
        "BINANCE_API_SECRET" => s.execution.binance_api_secret = Some(Secret::parse(raw).map_err(|r| vec![r])?),
        "BINANCE_BASE_URL" => s.execution.binance_base_url = parse::base_url(raw).map_err(one)?,
        "BACKTEST_START_DATE" => s.backtest.start_date = parse::date(raw).map_err(one)?,
        "BACKTEST_END_DATE" => s.backtest.end_date = parse::date(raw).map_err(one)?,
        "BACKTEST_RESULTS_MAX" => {
            let n = parse::integer_in(raw, 1, BACKTEST_RESULTS_MAX_LIMIT, "result files").map_err(one)?;
            s.backtest.results_max = usize::try_from(n).map_err(|_| reject("a count this platform can address".into()))?
        }
        "TRANSACTION_COSTS" => s.backtest.transaction_costs = parse::number_in(raw, parse::COST_FRACTION).map_err(one)?,
        "ENABLE_PERFORMANCE_MONITORING" => s.monitoring.performance_monitoring = parse::boolean(raw).map_err(one)?,
        "METRICS_UPDATE_INTERVAL" => s.monitoring.metrics_update_interval = secs(1, 86_400).map_err(one)?,
        "TRADPAL_METRICS_PUBLIC" => s.monitoring.metrics_public = parse::boolean(raw).map_err(one)?,
        "TRADPAL_RATE_LIMIT" => {
            let n = parse::integer_in(raw, 0, RATE_LIMIT_MAX, "requests per second (0 = no limit)").map_err(one)?;
            s.service.rate_limit_per_sec = u32::try_from(n).map_err(|_| reject("a smaller rate".into()))?;
        }
        "TRADPAL_JWT_SECRET" => s.ops.jwt_secret = Some(jwt_secret(raw)?),
        "TRADPAL_JWT_TTL" => s.ops.jwt_ttl = secs(1, JWT_TTL_MAX_SECS).map_err(one)?,
        "TRADPAL_TLS_CERT" => s.ops.tls_cert = Some(parse::dir(raw).map_err(one)?),
        "TRADPAL_TLS_KEY" => s.ops.tls_key = Some(parse::dir(raw).map_err(one)?),
        "NATS_TLS_CA" => s.ops.nats_tls_ca = Some(parse::dir(raw).map_err(one)?),
        "TRADPAL_ALERT_WEBHOOK" => s.ops.alert_webhook = Some(webhook(raw)?),
        _ => return Err(reject(format!("{name} to be a known setting"))),
    }
    Ok(())
}

fn jwt_secret(raw: &str) -> Result<Secret, Vec<Reject>> {
    let secret = Secret::parse(raw).map_err(|r| vec![r])?;
    if secret.expose().len() < JWT_SECRET_MIN_LEN {
        return Err(vec![Reject { value: secret.masked(), expected: format!("at least {JWT_SECRET_MIN_LEN} characters") }]);
    }
    Ok(secret)
}

/// An http(s) URL; shown masked, since webhook URLs often carry a token.
fn webhook(raw: &str) -> Result<Secret, Vec<Reject>> {
    let secret = Secret::parse(raw).map_err(|r| vec![r])?;
    let t = secret.expose();
    let host = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://")).unwrap_or("");
    if host.is_empty() || host.starts_with('/') {
        return Err(vec![Reject { value: secret.masked(), expected: "an http:// or https:// URL".to_string() }]);
    }
    Ok(secret)
}

impl Settings {
    /// The effective value of variable `name` as text in the variable's own syntax
    /// (`None` if unset or unknown), with secrets masked. Feeding a non-secret value back
    /// through the environment reproduces the setting.
    pub fn value_of(&self, name: &str) -> Option<String> {
        let flag = |b: bool| Some(b.to_string());
        match name {
            "TRADING_SERVICE_HOST" => Some(self.service.host.clone()),
            "TRADING_SERVICE_PORT" => Some(self.service.port.to_string()),
            "TRADPAL_BODY_BYTES_MAX" => Some(self.service.body_bytes_max.to_string()),
            "TRADPAL_DATA_DIR" => Some(self.data_dir.display().to_string()),
            "NATS_URL" => self.nats_url.as_ref().map(|u| u.to_string()),
            "TRADPAL_NODE" => self.node.clone(),
            "TRADPAL_NATS_REPLICAS" => Some(self.nats_replicas.to_string()),
            "TRADPAL_API_KEYS" => {
                (!self.api_keys.is_empty()).then(|| self.api_keys.iter().map(|k| k.masked()).collect::<Vec<_>>().join(", "))
            }
            "LOG_LEVEL" => Some(self.log.level.as_str().to_string()),
            "LOG_FORMAT" => Some(self.log.format.as_str().to_string()),
            "TRADPAL_CONFIG" => self.config_file.as_ref().map(|p| p.display().to_string()),
            "ENABLE_ML_TRAINING" => flag(self.features.ml_training),
            "ENABLE_REINFORCEMENT_LEARNING" => flag(self.features.reinforcement_learning),
            "ENABLE_MARKET_REGIME" => flag(self.features.market_regime),
            "MAX_DRAWDOWN" => Some(self.risk.max_drawdown.to_string()),
            "MAX_POSITION_SIZE" => Some(self.risk.max_position_size.to_string()),
            "RISK_FREE_RATE" => Some(self.risk.risk_free_rate.to_string()),
            "DEFAULT_EXCHANGE" => Some(self.execution.default_exchange.clone()),
            "ENABLE_PAPER_TRADING" => flag(self.execution.paper_trading),
            "ORDER_TIMEOUT" => Some(self.execution.order_timeout.as_secs().to_string()),
            "BINANCE_API_KEY" => self.execution.binance_api_key.as_ref().map(|k| k.masked()),
            "BINANCE_API_SECRET" => self.execution.binance_api_secret.as_ref().map(|k| k.masked()),
            "BINANCE_BASE_URL" => Some(self.execution.binance_base_url.clone()),
            "BACKTEST_START_DATE" => Some(self.backtest.start_date.to_string()),
            "BACKTEST_END_DATE" => Some(self.backtest.end_date.to_string()),
            "BACKTEST_RESULTS_MAX" => Some(self.backtest.results_max.to_string()),
            "TRANSACTION_COSTS" => Some(self.backtest.transaction_costs.to_string()),
            "ENABLE_PERFORMANCE_MONITORING" => flag(self.monitoring.performance_monitoring),
            "METRICS_UPDATE_INTERVAL" => Some(self.monitoring.metrics_update_interval.as_secs().to_string()),
            "TRADPAL_METRICS_PUBLIC" => flag(self.monitoring.metrics_public),
            "TRADPAL_RATE_LIMIT" => Some(self.service.rate_limit_per_sec.to_string()),
            "TRADPAL_JWT_SECRET" => self.ops.jwt_secret.as_ref().map(|k| k.masked()),
            "TRADPAL_JWT_TTL" => Some(self.ops.jwt_ttl.as_secs().to_string()),
            "TRADPAL_TLS_CERT" => self.ops.tls_cert.as_ref().map(|p| p.display().to_string()),
            "TRADPAL_TLS_KEY" => self.ops.tls_key.as_ref().map(|p| p.display().to_string()),
            "NATS_TLS_CA" => self.ops.nats_tls_ca.as_ref().map(|p| p.display().to_string()),
            "TRADPAL_ALERT_WEBHOOK" => self.ops.alert_webhook.as_ref().map(|k| k.masked()),
            _ => None,
        }
    }

    /// Applies one variable from `origin`, recording the origin on success and turning
    /// rejects into problems named `source` (the variable, or the file path that set it).
    pub(crate) fn apply_var(&mut self, var: &'static EnvVar, raw: &str, origin: Origin, problems: &mut Vec<crate::Problem>) {
        let source = match &origin {
            Origin::File(path) => path.clone(),
            _ => var.name.to_string(),
        };
        match apply(var.name, raw, self) {
            Ok(()) => {
                self.origins.insert(var.name, origin);
            }
            Err(rejects) => problems.extend(rejects.into_iter().map(|r| crate::Problem::invalid(source.clone(), r.value, r.expected))),
        }
    }
}
