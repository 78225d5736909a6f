//! `Settings::show`: the effective settings as JSON, secrets masked, for
//! `tradpal config show` and for logging the configuration at start-up.

use serde_json::{json, Map, Value};

use crate::settings::Settings;
use crate::trading;
use crate::vars::ENV_VARS;

impl Settings {
    /// The effective settings as JSON, grouped like [`Settings`]; the trading part uses the
    /// spec's `trading_config` shape. API keys appear as `key-6fd4a0ed (masked) : role` (the key id, nothing of the key) and NATS
    /// credentials as `(masked)@`. `origins` maps each variable not at its default to where
    /// it was set (`env`, `file (service.port)`).
    pub fn show(&self) -> Value {
        let origins: Map<String, Value> = ENV_VARS
            .iter()
            .filter(|v| self.origins.contains_key(v.name))
            .map(|v| (v.name.to_string(), Value::String(self.origin(v.name).to_string())))
            .collect();
        json!({
            "config_file": self.config_file.as_ref().map(|p| p.display().to_string()),
            "service": {
                "host": self.service.host,
                "port": self.service.port,
                "body_bytes_max": self.service.body_bytes_max,
                "rate_limit_per_sec": self.service.rate_limit_per_sec,
            },
            "data_dir": self.data_dir.display().to_string(),
            "nats_url": self.nats_url.as_ref().map(|u| u.to_string()),
            "node": self.node,
            "nats_replicas": self.nats_replicas,
            "api_keys": self.api_keys.iter().map(|k| k.masked()).collect::<Vec<_>>(),
            "log": { "level": self.log.level.as_str(), "format": self.log.format.as_str() },
            "features": {
                "ml_training": self.features.ml_training,
                "reinforcement_learning": self.features.reinforcement_learning,
                "market_regime": self.features.market_regime,
            },
            "risk": {
                "max_drawdown": self.risk.max_drawdown,
                "max_position_size": self.risk.max_position_size,
                "risk_free_rate": self.risk.risk_free_rate,
            },
            "execution": {
                "default_exchange": self.execution.default_exchange,
                "paper_trading": self.execution.paper_trading,
                "order_timeout_secs": self.execution.order_timeout.as_secs(),
                "binance_api_key": self.execution.binance_api_key.as_ref().map(|k| k.masked()),
                "binance_api_secret": self.execution.binance_api_secret.as_ref().map(|k| k.masked()),
                "binance_base_url": self.execution.binance_base_url,
            },
            "backtest": {
                "start_date": self.backtest.start_date.to_string(),
                "end_date": self.backtest.end_date.to_string(),
                "transaction_costs": self.backtest.transaction_costs,
            },
            "monitoring": {
                "performance_monitoring": self.monitoring.performance_monitoring,
                "metrics_update_interval_secs": self.monitoring.metrics_update_interval.as_secs(),
                "metrics_public": self.monitoring.metrics_public,
            },
            "ops": {
                "jwt_secret": self.ops.jwt_secret.as_ref().map(|k| k.masked()),
                "jwt_ttl_secs": self.ops.jwt_ttl.as_secs(),
                "tls_cert": self.ops.tls_cert.as_ref().map(|p| p.display().to_string()),
                "tls_key": self.ops.tls_key.as_ref().map(|p| p.display().to_string()),
                "nats_tls_ca": self.ops.nats_tls_ca.as_ref().map(|p| p.display().to_string()),
                "alert_webhook": self.ops.alert_webhook.as_ref().map(|k| k.masked()),
            },
            "trading_config": trading::to_json(&self.trading, self.risk.max_drawdown),
            "origins": origins,
        })
    }
}
