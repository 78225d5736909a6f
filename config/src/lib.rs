//! Layered, validated settings for `tradpal`: built-in defaults, then an optional JSON
//! file, then environment variables (the names of the spec's "Configuration" section plus
//! a few of our own), each later layer overriding the earlier.
//!
//! Validation happens once, in [`Settings::load`]: every value is parsed and range-checked
//! there, cross-field rules run on the merged result, and every problem found is returned
//! together in one [`ConfigError`], each naming the variable or JSON field, the offending
//! value and what was expected. The rest of the program can then trust a `Settings`.
//!
//! The core never reads the process environment: `load` takes the variables as a map, so
//! tests can try any combination in parallel. [`env_snapshot`] is the one place that reads
//! `std::env`, for the binary to call once.
//!
//! ```
//! use std::collections::BTreeMap;
//! let env = BTreeMap::from([("TRADING_SERVICE_PORT".to_string(), "9000".to_string())]);
//! let settings = tradpal_config::Settings::load(&env, None).unwrap();
//! assert_eq!(settings.service.bind_addr(), "127.0.0.1:9000");
//! ```
//!
//! # Layout
//!
//! - `lib.rs`: this overview, the public re-exports and [`env_snapshot`].
//! - `settings.rs`: the [`Settings`] types and their defaults; kept free of parsing so the
//!   shape of the configuration can be read in one place.
//! - `vars.rs`: [`ENV_VARS`], the one table of variable names, defaults and descriptions
//!   (the README and `config show` are generated from it), and the function that applies
//!   one variable's text; file values in `service` go through the same function.
//! - `parse.rs`: parsers for single values (numbers in ranges, booleans, hosts, dates ...),
//!   each returning what it expected, so every message has the same shape.
//! - `secret.rs`: API keys and their [`Role`], exchange credentials and NATS credentials
//!   ([`NatsUrl`]): parsing, constant-time comparison and masking, in one place so there
//!   is one thing to audit for leaks.
//! - `trading.rs`: the spec's `trading_config` object (symbols, timeframes, ensemble).
//! - `file.rs`: reading the JSON file strictly (unknown fields and duplicate keys are
//!   errors) and applying it as a layer; documents the file's shape.
//! - `json.rs`: the hand walk of a JSON tree both `file.rs` and `trading.rs` use: an
//!   object's fields with unknown keys reported, a value as messages show it.
//! - `load.rs`: [`Settings::load`]: the layering and the cross-field checks.
//! - `show.rs`: [`Settings::show`], the effective settings as JSON with secrets masked.
//! - `date.rs`: a small hand-written [`Date`] (no chrono for two dates).
//! - `error.rs`: [`ConfigError`] and [`Problem`].
//! - `tests/`: precedence of the layers, every invalid-value message, masking, the
//!   `ENV_VARS` table against the loader, and property tests for number parsing.

mod date;
mod error;
mod file;
mod json;
mod load;
mod parse;
mod secret;
mod settings;
mod show;
mod trading;
mod vars;

use std::collections::BTreeMap;

pub use date::Date;
pub use error::{ConfigError, Problem};
pub use secret::{key_id, ApiKey, InvalidSecret, NatsUrl, Role, Secret, API_KEY_MIN_LEN};
pub use settings::{
    BacktestSettings, ExecutionSettings, FeatureFlags, LogFormat, LogLevel, LogSettings, MonitoringSettings, OpsSettings, Origin,
    RiskSettings, ServiceSettings, Settings,
};
pub use trading::{is_symbol, AiEnsemble, Strategies, Timeframe, TradingConfig, WEIGHT_SUM_TOLERANCE};
pub use vars::{
    env_var, markdown_table, EnvVar, BACKTEST_RESULTS_MAX_LIMIT, BODY_BYTES_MAX_LIMIT, ENV_VARS, JWT_SECRET_MIN_LEN, JWT_TTL_MAX_SECS,
    RATE_LIMIT_MAX,
};

/// The process environment as a map, for [`Settings::load`]: the only environment read in
/// this crate. Text that is not valid Unicode is converted lossily (U+FFFD) rather than
/// skipped, so a mangled value of one of our variables fails validation instead of silently
/// leaving the default in place (`std::env::vars` would panic on it instead).
pub fn env_snapshot() -> BTreeMap<String, String> {
    std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())).collect()
}
