//! `Settings::load`: the layering (defaults < file < environment) and the checks that span
//! several fields, run once on the merged result.
//!
//! Every layer is validated in full even when a later layer overrides a value: a bad value
//! in the file is a bad file, and it would surface the day the override is removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Problem};
use crate::file;
use crate::settings::{Origin, Settings};
use crate::trading;
use crate::vars::ENV_VARS;

/// Who named the file, as shown in file problems.
const BY_ARGUMENT: &str = "argument";
const BY_ENV: &str = "TRADPAL_CONFIG";

impl Settings {
    /// Loads the settings: defaults, then the JSON file, then the variables in `env`.
    ///
    /// The file is `file` if given, else `TRADPAL_CONFIG` from `env` if set and non-empty,
    /// else none. `env` is a snapshot (see [`crate::env_snapshot`]) rather than the process
    /// environment, so tests and tools can load any combination without touching globals.
    /// Returns every problem found, not just the first.
    pub fn load(env: &BTreeMap<String, String>, file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut s = Settings::defaults();
        let mut problems = Vec::new();
        if let Some((path, named_by)) = choose_file(env, file) {
            match file::read(&path, named_by) {
                Ok(root) => file::apply(&root, &path, &mut s, &mut problems),
                Err(problem) => problems.push(problem),
            }
            if named_by == BY_ENV {
                s.origins.insert(BY_ENV, Origin::Env);
            }
            s.config_file = Some(path);
        }
        for var in ENV_VARS.iter().filter(|v| v.name != BY_ENV) {
            if let Some(raw) = env.get(var.name) {
                s.apply_var(var, raw, Origin::Env, &mut problems);
            }
        }
        s.check_across_fields(&mut problems);
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(ConfigError { problems })
        }
    }

    /// Rules that involve several fields. Each is skipped when one of its inputs already
    /// failed, since it would then judge a stale value and add a confusing second message.
    fn check_across_fields(&self, problems: &mut Vec<Problem>) {
        let failed = |about: &dyn Fn(&str) -> bool| problems.iter().any(|p| about(&p.subject()));
        let dates = ["BACKTEST_START_DATE", "BACKTEST_END_DATE", "service.backtest_start_date", "service.backtest_end_date"];
        let dates_failed = failed(&|subject| dates.contains(&subject));
        let weights_failed = failed(&|subject| subject == "trading_config" || subject.starts_with("trading_config.strategies"));

        let (start, end) = (self.backtest.start_date, self.backtest.end_date);
        if start >= end && !dates_failed {
            let label = |name: &str| match self.origin(name) {
                Origin::File(path) => path,
                _ => name.to_string(),
            };
            problems.push(Problem::invalid(
                format!("{} / {}", label("BACKTEST_START_DATE"), label("BACKTEST_END_DATE")),
                format!("{start} / {end}"),
                "the start date strictly before the end date",
            ));
        }
        if !weights_failed {
            trading::check(&self.trading, problems);
        }
    }
}

fn choose_file(env: &BTreeMap<String, String>, file: Option<&Path>) -> Option<(PathBuf, &'static str)> {
    match file {
        Some(path) => Some((path.to_path_buf(), BY_ARGUMENT)),
        None => env.get(BY_ENV).map(|p| p.trim()).filter(|p| !p.is_empty()).map(|p| (PathBuf::from(p), BY_ENV)),
    }
}
