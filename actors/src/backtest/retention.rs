//! The backtest actor's index of jobs, and result-file retention.
//!
//! Result files would otherwise accumulate in `<data_dir>/backtests/` forever. At most
//! `BACKTEST_RESULTS_MAX` finished results are kept: when a job completes and the count
//! passes the limit, the oldest finished ones (by completion order: ids are random, not
//! ordered) are removed. A running job is never touched (it has no file yet). Each
//! removal is journaled first (`BacktestResultRemoved`, naming the limit) and the file
//! deleted after: a crash in between leaves an orphan file, never an index entry that
//! points at a missing file. `results/{id}` of a removed one answers 410 with the reason.

use super::files;
use super::job_kind::JobKind;
use super::jobs::{BacktestActor, Entry};
use crate::context::RequestMeta;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use tradpal_messages::{BacktestId, BacktestResultRemoved, Event};

/// Every known job, and the finished ones in completion order (oldest first).
#[derive(Debug, Default)]
pub struct Index {
    pub entries: BTreeMap<BacktestId, Entry>,
    /// Completed jobs, oldest first. May hold ids no longer completed while the journal
    /// is folded; [`Index::prune`] drops them.
    order: VecDeque<BacktestId>,
}

impl Index {
    /// A job of `kind` started with `total` steps to go; the counter its thread advances.
    pub fn running(&mut self, id: BacktestId, kind: JobKind, total: usize) -> Arc<AtomicUsize> {
        let done = Arc::new(AtomicUsize::new(0));
        self.entries.insert(id, Entry::Running { done: done.clone(), total, kind });
        done
    }

    /// A job completed, its result in `file`.
    pub fn completed(&mut self, id: BacktestId, file: String) {
        self.entries.insert(id, Entry::Completed { file });
        self.order.push_back(id);
    }

    /// Drops ids from the completion order that are no longer completed (after a fold).
    pub fn prune(&mut self) {
        let entries = &self.entries;
        self.order.retain(|id| matches!(entries.get(id), Some(Entry::Completed { .. })));
    }

    /// The oldest completed jobs past `max` kept, taken out of the completion order
    /// (their entries are left for the caller to mark removed). Pure.
    pub fn over_limit(&mut self, max: usize) -> Vec<(BacktestId, String)> {
        self.prune();
        let mut out = Vec::new();
        while self.order.len() > max {
            let Some(id) = self.order.pop_front() else { break };
            if let Some(Entry::Completed { file }) = self.entries.get(&id) {
                out.push((id, file.clone()));
            }
        }
        out
    }
}

/// The reason a removed result reports.
pub fn removed_reason(max: usize) -> String {
    format!("removed by retention: at most BACKTEST_RESULTS_MAX = {max} finished results are kept and newer ones completed")
}

impl BacktestActor {
    /// Removes the oldest finished results past the limit: journals each removal, then
    /// deletes its file; logged. A failed journal write leaves the result in place.
    pub(super) async fn apply_retention(&self, index: &mut Index, meta: &RequestMeta) {
        for (id, file) in index.over_limit(self.results_max) {
            let reason = removed_reason(self.results_max);
            let event = Event::BacktestResultRemoved(BacktestResultRemoved { backtest_id: id, reason: reason.clone() });
            if let Err(e) = self.services.record(self.services.draft(meta, event)).await {
                tracing::warn!(%id, error = %e.to_reply().message, "retention: could not journal the removal; result kept");
                continue;
            }
            index.entries.insert(id, Entry::Removed { reason });
            let dir = self.data_dir.clone();
            let deleted = tokio::task::spawn_blocking(move || files::remove(&dir, &file)).await;
            match deleted {
                Ok(Ok(())) => tracing::info!(%id, limit = self.results_max, "retention: removed the oldest finished backtest result"),
                Ok(Err(e)) => tracing::warn!(%id, error = %e, "retention: removal journaled, the file could not be deleted"),
                Err(e) => tracing::warn!(%id, error = %e, "retention: removal journaled, the delete task failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_completed_go_first_running_and_failed_stay() {
        let mut ix = Index::default();
        let ids: Vec<BacktestId> = [9u128, 3, 7, 1].into_iter().map(BacktestId).collect();
        for id in &ids {
            ix.completed(*id, format!("backtests/{id}.json"));
        }
        ix.entries.insert(BacktestId(5), Entry::Failed { reason: "x".into(), kind: None });
        assert!(ix.over_limit(4).is_empty());
        let gone: Vec<BacktestId> = ix.over_limit(2).into_iter().map(|(id, _)| id).collect();
        assert_eq!(gone, vec![BacktestId(9), BacktestId(3)], "completion order, not id order");
        assert!(ix.over_limit(2).is_empty(), "taken out of the order");
        // An id marked removed elsewhere (the journal fold) is not counted again.
        ix.entries.insert(BacktestId(7), Entry::Removed { reason: "r".into() });
        assert!(ix.over_limit(1).is_empty(), "only 1 is still completed");
    }
}
