//! The supervision tree: one supervisor, one child per concern.
//!
//! ractor has no restart policy of its own (its default supervisor stops on any child
//! exit), so this one handles `ActorFailed` / `ActorTerminated` itself: the failed
//! child is marked `restarting`, the failure is journaled (`ActorRestarted`), and the
//! child is re-spawned under its registered name after an exponential back-off. A child
//! that fails more than `restarts_max` times within `restart_window_ms` is left down
//! (`failed`): a crash loop must not spin. A re-spawned child runs its `pre_start`,
//! which rebuilds its state from the journal.

use futures_like::BoxFuture;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SpawnErr, SupervisionEvent};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::time::Instant;
use tradpal_actors::{RequestMeta, Services};
use tradpal_messages::{ActorRestarted, ActorState, ActorStatus, CorrelationId, Event};

/// Boxed future without pulling in the `futures` crate.
pub mod futures_like {
    pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;
}

/// Spawns one incarnation of a child, linked to the given supervisor.
pub type SpawnFn = Arc<dyn Fn(ActorCell) -> BoxFuture<Result<ActorCell, SpawnErr>> + Send + Sync>;

/// A child the supervisor keeps alive.
#[derive(Clone)]
pub struct ChildSpec {
    pub name: &'static str,
    pub spawn: SpawnFn,
}

impl ChildSpec {
    /// A child running `actor` under `name`, spawned afresh (same handler) each time.
    pub fn of<A>(name: &'static str, actor: A) -> Self
    where
        A: Actor<Arguments = ()> + Clone + Sync,
    {
        let spawn: SpawnFn = Arc::new(move |sup: ActorCell| {
            let actor = actor.clone();
            Box::pin(async move {
                let (r, _join) = Actor::spawn_linked(Some(name.to_string()), actor, (), sup).await?;
                Ok(r.get_cell())
            })
        });
        Self { name, spawn }
    }
}

/// When and how often to restart.
#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// Restarts allowed per child within `restart_window_ms`; one more and it stays down.
    pub restarts_max: u32,
    pub restart_window_ms: u64,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self { backoff_initial_ms: 50, backoff_max_ms: 5_000, restarts_max: 5, restart_window_ms: 60_000 }
    }
}

impl RestartPolicy {
    /// Back-off before the `n`th restart within the window (n from 1): doubles, capped.
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u64 << n.saturating_sub(1).min(20);
        Duration::from_millis(self.backoff_initial_ms.saturating_mul(factor).min(self.backoff_max_ms))
    }
}

/// Every child's supervision state, shared with the HTTP adapter (read-only there).
pub type StatusRegistry = Arc<RwLock<BTreeMap<String, ActorStatus>>>;

pub enum SupervisorMsg {
    /// Time to re-spawn this child (sent to itself after the back-off).
    Restart(&'static str),
}

pub struct SupervisorArgs {
    pub children: Vec<ChildSpec>,
    pub policy: RestartPolicy,
    pub statuses: StatusRegistry,
    pub services: Services,
}

pub struct Child {
    spec: ChildSpec,
    cell: Option<ActorCell>,
    recent_failures: VecDeque<Instant>,
    restart_count: u32,
}

pub struct SupervisorState {
    children: BTreeMap<&'static str, Child>,
    policy: RestartPolicy,
    statuses: StatusRegistry,
    services: Services,
}

pub struct Supervisor;

/// Longest failure reason kept in status and in the journal, in bytes.
const REASON_BYTES_MAX: usize = 512;

fn truncate(mut s: String) -> String {
    if s.len() > REASON_BYTES_MAX {
        let mut cut = REASON_BYTES_MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

impl SupervisorState {
    fn set_status(&self, name: &str, state: ActorState, child: &Child, last_error: Option<String>) {
        let mut map = self.statuses.write().expect("status registry poisoned");
        let entry = map.entry(name.to_string()).or_insert_with(|| ActorStatus {
            name: name.to_string(),
            state,
            restart_count: 0,
            last_error: None,
        });
        entry.state = state;
        entry.restart_count = child.restart_count;
        if last_error.is_some() {
            entry.last_error = last_error;
        }
    }

    fn name_of(&self, cell: &ActorCell) -> Option<&'static str> {
        self.children.iter().find(|(_, c)| c.cell.as_ref().map(|x| x.get_id()) == Some(cell.get_id())).map(|(n, _)| *n)
    }

    /// Journals the failure off the supervisor's mailbox (the append waits for an fsync).
    fn journal_failure(&self, actor: &str, restart_count: u32, reason: &str, restarted: bool) {
        let services = self.services.clone();
        let meta = RequestMeta { request_id: None, correlation_id: CorrelationId(0) };
        let event =
            Event::ActorRestarted(ActorRestarted { actor: actor.to_string(), restart_count, reason: reason.to_string(), restarted });
        let draft = services.draft(&meta, event);
        tokio::spawn(async move {
            if let Err(e) = services.record(draft).await {
                tracing::error!(error = %e, "could not journal an actor failure");
            }
        });
    }

    /// A child died: count it, and either schedule a restart or give up on it.
    fn on_child_down(&mut self, myself: &ActorRef<SupervisorMsg>, name: &'static str, reason: String) {
        let policy = self.policy;
        // Restart windows are real time (the runtime supervises live actors).
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let window = Duration::from_millis(policy.restart_window_ms);
        let Some(child) = self.children.get_mut(name) else { return };
        child.cell = None;
        child.restart_count += 1;
        child.recent_failures.push_back(now);
        while child.recent_failures.front().is_some_and(|t| now.duration_since(*t) > window) {
            child.recent_failures.pop_front();
        }
        let in_window = child.recent_failures.len() as u32;
        let give_up = in_window > policy.restarts_max;
        let (count, reason) = (child.restart_count, truncate(reason));
        let child = &self.children[name];
        if give_up {
            tracing::error!(actor = name, restarts = count, %reason, "restart budget exhausted; actor stays down");
            self.set_status(name, ActorState::Failed, child, Some(reason.clone()));
        } else {
            let delay = policy.backoff(in_window);
            tracing::warn!(actor = name, restarts = count, delay_ms = delay.as_millis() as u64, %reason, "actor failed; restarting");
            self.set_status(name, ActorState::Restarting, child, Some(reason.clone()));
            myself.send_after(delay, move || SupervisorMsg::Restart(name));
        }
        self.journal_failure(name, count, &reason, !give_up);
    }

    async fn spawn_child(&mut self, myself: &ActorRef<SupervisorMsg>, name: &'static str) {
        let Some(spec) = self.children.get(name).map(|c| c.spec.clone()) else { return };
        match (spec.spawn)(myself.get_cell()).await {
            Ok(cell) => {
                let child = self.children.get_mut(name).expect("child exists");
                child.cell = Some(cell);
                let child = &self.children[name];
                self.set_status(name, ActorState::Running, child, None);
                tracing::info!(actor = name, "actor running");
            }
            Err(e) => self.on_child_down(myself, name, format!("spawn failed: {e}")),
        }
    }
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(&self, _myself: ActorRef<SupervisorMsg>, args: SupervisorArgs) -> Result<SupervisorState, ActorProcessingErr> {
        let mut children = BTreeMap::new();
        for spec in args.children {
            let name = spec.name;
            children.insert(name, Child { spec, cell: None, recent_failures: VecDeque::new(), restart_count: 0 });
        }
        let state = SupervisorState { children, policy: args.policy, statuses: args.statuses, services: args.services };
        for (name, child) in &state.children {
            state.set_status(name, ActorState::Starting, child, None);
        }
        Ok(state)
    }

    async fn post_start(&self, myself: ActorRef<SupervisorMsg>, state: &mut SupervisorState) -> Result<(), ActorProcessingErr> {
        let names: Vec<&'static str> = state.children.keys().copied().collect();
        for name in tradpal_actors::names::ALL
            .iter()
            .filter(|n| names.contains(n))
            .chain(names.iter().filter(|n| !tradpal_actors::names::ALL.contains(n)))
        {
            state.spawn_child(&myself, name).await;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Restart(name) => state.spawn_child(&myself, name).await,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                if let Some(name) = state.name_of(&cell) {
                    state.on_child_down(&myself, name, err.to_string());
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                if let Some(name) = state.name_of(&cell) {
                    let reason = reason.unwrap_or_else(|| "stopped unexpectedly".into());
                    state.on_child_down(&myself, name, format!("terminated: {reason}"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn post_stop(&self, myself: ActorRef<SupervisorMsg>, state: &mut SupervisorState) -> Result<(), ActorProcessingErr> {
        // Forget the children first so their exits are not taken for failures.
        let children: Vec<&'static str> = state.children.keys().copied().collect();
        for name in children {
            if let Some(c) = state.children.get_mut(name) {
                c.cell = None;
            }
            let child = &state.children[name];
            state.set_status(name, ActorState::Stopped, child, None);
        }
        myself.stop_children_and_wait(Some("service shutting down".into()), Some(Duration::from_secs(10))).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RestartPolicy { backoff_initial_ms: 100, backoff_max_ms: 1000, restarts_max: 5, restart_window_ms: 1 };
        let ms: Vec<u128> = (1..=6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
    }
}
