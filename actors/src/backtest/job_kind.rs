//! The kinds of backtest job: a plain run, an optimisation, a walk-forward. Typed in the
//! actor; on the wire (`"kind"` in answers and result files) and in the journal
//! (`BacktestJobStarted::kind`, a string: its rkyv layout is fixed) by [`JobKind::as_str`].

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Run,
    Optimize,
    WalkForward,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [JobKind::Run, JobKind::Optimize, JobKind::WalkForward];

    /// The wire and journal name: `run`, `optimize`, `walk_forward`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Run => "run",
            JobKind::Optimize => "optimize",
            JobKind::WalkForward => "walk_forward",
        }
    }

    /// The kind of a journaled name (`None` for a name this build does not know).
    pub fn from_name(name: &str) -> Option<JobKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether it takes the single search slot (optimisations and walk-forwards).
    pub const fn is_search(self) -> bool {
        matches!(self, JobKind::Optimize | JobKind::WalkForward)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::from_name(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert_eq!(JobKind::WalkForward.as_str(), "walk_forward");
        assert_eq!(JobKind::from_name("backtest"), None);
    }
}
