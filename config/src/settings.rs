//! The settings types and their built-in defaults.
//!
//! Every field here is already validated: code holding a `Settings` never re-checks a
//! range. The defaults are the spec's values except where the spec's value is unsafe for an
//! embedded default (the bind address, see [`ServiceSettings::host`]); `tests/env_vars.rs`
//! checks that they agree with the defaults documented in [`crate::ENV_VARS`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::date::Date;
use crate::secret::{ApiKey, NatsUrl, Role, Secret};
use crate::trading::TradingConfig;

/// Binance's production spot REST endpoint (`BINANCE_BASE_URL`'s default).
pub const BINANCE_BASE_URL_DEFAULT: &str = "https://api.binance.com";

/// The effective configuration of one `tradpal` process.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub service: ServiceSettings,
    pub features: FeatureFlags,
    pub risk: RiskSettings,
    pub execution: ExecutionSettings,
    pub backtest: BacktestSettings,
    pub monitoring: MonitoringSettings,
    /// Tokens, TLS and alerts (issue 19).
    pub ops: OpsSettings,
    /// The spec's `trading_config` (capital, symbols, strategies ...). Its `max_drawdown`
    /// field lives in [`RiskSettings::max_drawdown`], so the limit has one home.
    pub trading: TradingConfig,
    /// Keys accepted by the HTTP API, with their roles. Empty = none configured.
    pub api_keys: Vec<ApiKey>,
    /// NATS server(s); `None` = single process with the in-process bus.
    pub nats_url: Option<NatsUrl>,
    /// Node name for replicated operation (`TRADPAL_NODE`); `None` = not replicated.
    pub node: Option<String>,
    /// JetStream replicas of every stream and KV bucket created (`TRADPAL_NATS_REPLICAS`).
    pub nats_replicas: usize,
    /// Directory holding the journal and its indexes.
    pub data_dir: PathBuf,
    pub log: LogSettings,
    /// The JSON file that was layered in, if any.
    pub config_file: Option<PathBuf>,
    /// Where each environment-backed setting got its value, keyed by variable name;
    /// absent = the default. See [`Settings::origin`].
    pub origins: BTreeMap<&'static str, Origin>,
}

/// The HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSettings {
    /// IP address or host name to bind. Defaults to `127.0.0.1`, not the spec's `0.0.0.0`:
    /// the API places orders, so a fresh install must not be reachable from the network
    /// until someone decides it should be (containers set `TRADING_SERVICE_HOST=0.0.0.0`).
    pub host: String,
    pub port: u16,
    /// Largest accepted request body, in bytes (1 ..= 64 MiB).
    pub body_bytes_max: usize,
    /// Requests per second per API key (`TRADPAL_RATE_LIMIT`), burst twice that; order
    /// routes a fifth, failed authentications a tenth per client address. 0 = no limit.
    pub rate_limit_per_sec: u32,
}

impl ServiceSettings {
    /// `host:port` for binding, with IPv6 literals bracketed (`[::1]:8002`).
    pub fn bind_addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether the listener is reachable from this machine only.
    pub fn is_loopback(&self) -> bool {
        match self.host.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => self.host.eq_ignore_ascii_case("localhost"),
        }
    }
}

/// Which AI services run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureFlags {
    pub ml_training: bool,
    pub reinforcement_learning: bool,
    pub market_regime: bool,
}

/// Portfolio-level risk limits, as fractions (0.1 = 10%).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskSettings {
    /// Drawdown from peak equity at which trading halts, in (0, 1].
    pub max_drawdown: f64,
    /// Largest single position as a fraction of equity, in (0, 1].
    pub max_position_size: f64,
    /// Annual risk-free rate for Sharpe-style ratios, in (-1, 1): negative rates did happen.
    pub risk_free_rate: f64,
}

/// Order routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSettings {
    /// Exchange id, lower case (`binance`).
    pub default_exchange: String,
    /// Simulated fills instead of real orders. On by default: going live is a decision.
    pub paper_trading: bool,
    pub order_timeout: Duration,
    /// Binance credentials, used when paper trading is off and the exchange is binance.
    pub binance_api_key: Option<Secret>,
    pub binance_api_secret: Option<Secret>,
    /// Binance REST endpoint: scheme and host, no trailing `/`.
    pub binance_base_url: String,
}

/// Defaults for backtests; `start_date < end_date` always holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestSettings {
    pub start_date: Date,
    pub end_date: Date,
    /// Cost per trade as a fraction of notional, in [0, 1).
    pub transaction_costs: f64,
    /// Most finished result files kept (`BACKTEST_RESULTS_MAX`): past it the oldest
    /// finished one is deleted, so `<data_dir>/backtests/` cannot grow without bound.
    pub results_max: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitoringSettings {
    /// `ENABLE_PERFORMANCE_MONITORING`: record metrics and serve `/metrics`.
    pub performance_monitoring: bool,
    /// How often the sampled gauges (sessions, P&L, journal) are refreshed.
    pub metrics_update_interval: Duration,
    /// `TRADPAL_METRICS_PUBLIC`: `/metrics` without an API key.
    pub metrics_public: bool,
}

/// Tokens, TLS and alerts: what an operator sets to run the service unattended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsSettings {
    /// `TRADPAL_JWT_SECRET`: the HS256 signing secret; `None` = generated into
    /// `<data_dir>/jwt.secret` (0600) on first start.
    pub jwt_secret: Option<Secret>,
    /// `TRADPAL_JWT_TTL`: lifetime of an issued token (1 s ..= `JWT_TTL_MAX_SECS`).
    pub jwt_ttl: Duration,
    /// `TRADPAL_TLS_CERT` / `TRADPAL_TLS_KEY`: PEM files; both set = HTTPS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `NATS_TLS_CA`: PEM file of the CA that signed the NATS server's certificate, for
    /// `tls://` URLs to a server with a private CA (the system roots are used otherwise).
    pub nats_tls_ca: Option<PathBuf>,
    /// `TRADPAL_ALERT_WEBHOOK`: alerts are POSTed here as JSON (a secret: such URLs
    /// often carry a token).
    pub alert_webhook: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    pub level: LogLevel,
    pub format: LogFormat,
}

/// Log verbosity. The spec's `WARNING` and `CRITICAL` map to `Warn` and `Error`, since
/// `tracing` has no separate critical level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The level as a `tracing` filter directive (`info`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log aggregation.
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// Where a setting's effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// The JSON file, at this field path (`service.port`).
    File(String),
    /// The environment variable of the same name.
    Env,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "file ({path})"),
            Origin::Env => f.write_str("env"),
        }
    }
}

impl Settings {
    /// The built-in defaults: what `load` starts from before the file and the environment.
    pub fn defaults() -> Settings {
        Settings {
            service: ServiceSettings { host: "127.0.0.1".to_string(), port: 8002, body_bytes_max: 1 << 20, rate_limit_per_sec: 50 },
            features: FeatureFlags { ml_training: true, reinforcement_learning: true, market_regime: true },
            risk: RiskSettings { max_drawdown: 0.1, max_position_size: 0.05, risk_free_rate: 0.02 },
            execution: ExecutionSettings {
                default_exchange: "binance".to_string(),
                paper_trading: true,
                order_timeout: Duration::from_secs(30),
                binance_api_key: None,
                binance_api_secret: None,
                binance_base_url: BINANCE_BASE_URL_DEFAULT.to_string(),
            },
            backtest: BacktestSettings {
                start_date: Date::known_valid(2020, 1, 1),
                end_date: Date::known_valid(2024, 1, 1),
                transaction_costs: 0.001,
                results_max: 1_000,
            },
            monitoring: MonitoringSettings {
                performance_monitoring: true,
                metrics_update_interval: Duration::from_secs(60),
                metrics_public: false,
            },
            ops: OpsSettings {
                jwt_secret: None,
                jwt_ttl: Duration::from_secs(900),
                tls_cert: None,
                tls_key: None,
                nats_tls_ca: None,
                alert_webhook: None,
            },
            trading: TradingConfig::default(),
            api_keys: Vec::new(),
            nats_url: None,
            node: None,
            nats_replicas: 1,
            data_dir: PathBuf::from("./tradpal-data"),
            log: LogSettings { level: LogLevel::Info, format: LogFormat::Text },
            config_file: None,
            origins: BTreeMap::new(),
        }
    }

    /// Where the setting of environment variable `name` came from.
    pub fn origin(&self, name: &str) -> Origin {
        self.origins.get(name).cloned().unwrap_or(Origin::Default)
    }

    /// The role of the API key `presented`, if it is one of ours. Compares against every
    /// key in constant time per key, so response timing does not reveal near-misses.
    pub fn role_for_key(&self, presented: &str) -> Option<Role> {
        let mut found = None;
        for key in &self.api_keys {
            if key.verify(presented) {
                found = Some(key.role);
            }
        }
        found
    }

    /// Legal but risky combinations, for the binary to log at start-up.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.service.is_loopback() && self.api_keys.is_empty() {
            out.push(format!("the API listens on {} (not loopback) and TRADPAL_API_KEYS is empty", self.service.bind_addr()));
        }
        if !self.execution.paper_trading {
            out.push(format!("ENABLE_PAPER_TRADING is off: orders go to {} for real", self.execution.default_exchange));
        }
        out
    }
}
