//! The one error type of the crate: every problem found while loading, not just the first.
//!
//! Why a list: an operator who fixes one typo, restarts, and meets the next error has wasted
//! a deploy cycle per mistake. `Settings::load` therefore validates every layer completely
//! and returns all problems at once, each naming where the value came from (an environment
//! variable, a JSON field path or the file itself), what the value was and what was expected.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with the configuration.
///
/// `Display` is written by hand rather than derived with `thiserror`: thiserror treats any
/// field named `source` as the error's cause (which must itself be an `Error`), and here
/// `source` is just the name of the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A value that does not parse or is out of range.
    Invalid {
        /// Where the value came from: an environment variable (`MAX_DRAWDOWN`), a JSON field
        /// path (`trading_config.risk_per_trade`), or several of them joined by ` / ` for a
        /// check across fields (dates, weights).
        source: String,
        /// The offending value as given; secrets (API keys, NATS credentials) are masked.
        value: String,
        /// What would have been accepted, e.g. `a number in (0, 1]`.
        expected: String,
    },
    /// A field in the JSON file that this version does not know: a typo must not be ignored.
    UnknownField {
        /// Full JSON path of the field, e.g. `trading_config.captial`.
        path: String,
        /// The fields allowed at that place.
        known: Vec<String>,
        /// The closest known field, when one is close enough to be a likely typo.
        did_you_mean: Option<String>,
    },
    /// The configuration file does not exist.
    FileMissing {
        path: PathBuf,
        /// Who named the file: `TRADPAL_CONFIG` or `argument` (the caller of `load`).
        named_by: String,
    },
    /// The file exists but could not be read (permissions, not UTF-8, too large, a directory).
    FileUnreadable { path: PathBuf, named_by: String, reason: String },
    /// The file is not valid JSON (or repeats a key); line and column are 1-based.
    FileMalformed { path: PathBuf, line: usize, column: usize, reason: String },
}

impl Problem {
    /// The setting, JSON path or file this problem is about (for matching in tests and tools).
    pub fn subject(&self) -> String {
        match self {
            Problem::Invalid { source, .. } => source.clone(),
            Problem::UnknownField { path, .. } => path.clone(),
            Problem::FileMissing { path, .. } | Problem::FileUnreadable { path, .. } | Problem::FileMalformed { path, .. } => {
                path.display().to_string()
            }
        }
    }

    pub(crate) fn invalid(source: impl Into<String>, value: impl Into<String>, expected: impl Into<String>) -> Self {
        Problem::Invalid { source: source.into(), value: value.into(), expected: expected.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Invalid { source, value, expected } => {
                write!(f, "invalid value for {source}: {value:?} (expected {expected})")
            }
            Problem::UnknownField { path, known, did_you_mean } => {
                write!(f, "unknown field {path}")?;
                if let Some(guess) = did_you_mean {
                    write!(f, " (did you mean {guess}?)")?;
                }
                write!(f, "; known fields here: {}", known.join(", "))
            }
            Problem::FileMissing { path, named_by } => {
                write!(f, "config file {} (named by {named_by}) does not exist", path.display())
            }
            Problem::FileUnreadable { path, named_by, reason } => {
                write!(f, "cannot read config file {} (named by {named_by}): {reason}", path.display())
            }
            Problem::FileMalformed { path, line, column, reason } => {
                write!(f, "malformed JSON in {} at line {line}, column {column}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for Problem {}

/// Every problem found by one `Settings::load`; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// Whether any problem is about `subject` (a variable name, JSON path or file path),
    /// or, for file problems, was named by it (`TRADPAL_CONFIG`).
    pub fn mentions(&self, subject: &str) -> bool {
        self.problems.iter().any(|p| {
            p.subject().split(" / ").any(|s| s == subject)
                || matches!(p, Problem::FileMissing { named_by, .. }
                    | Problem::FileUnreadable { named_by, .. } if named_by == subject)
        })
    }
}

fn render(problems: &[Problem]) -> String {
    match problems {
        [one] => format!("invalid configuration: {one}"),
        many => {
            let mut out = format!("invalid configuration ({} problems):", many.len());
            for p in many {
                out.push_str("\n  - ");
                out.push_str(&p.to_string());
            }
            out
        }
    }
}

/// The closest of `known` to `typo` by edit distance, if within 2 edits (or a third of the
/// length): close enough to be a slip of the keyboard, far enough not to guess wildly.
pub(crate) fn closest<'a>(typo: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (typo.chars().count() / 3).max(2);
    known.iter().map(|k| (edit_distance(typo, k), *k)).filter(|(d, _)| *d <= limit).min_by_key(|(d, _)| *d).map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_the_documented_form() {
        let p = Problem::invalid("MAX_DRAWDOWN", "abc", "a number in (0, 1]");
        assert_eq!(p.to_string(), r#"invalid value for MAX_DRAWDOWN: "abc" (expected a number in (0, 1])"#);
    }

    #[test]
    fn several_problems_are_listed_one_per_line() {
        let e = ConfigError { problems: vec![Problem::invalid("A", "1", "x"), Problem::invalid("B", "2", "y")] };
        let text = e.to_string();
        assert!(text.starts_with("invalid configuration (2 problems):"));
        assert_eq!(text.lines().count(), 3);
        assert!(e.mentions("A") && e.mentions("B") && !e.mentions("C"));
    }

    #[test]
    fn typos_get_a_suggestion_and_nonsense_does_not() {
        let known = ["capital", "risk_per_trade", "max_positions"];
        assert_eq!(closest("captial", &known), Some("capital"));
        assert_eq!(closest("max_position", &known), Some("max_positions"));
        assert_eq!(closest("zzz", &known), None);
    }
}
