//! Fault injection: how tests (and chaos drills) make an actor fail on purpose.

/// What an actor does when it receives a fault message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `panic!` inside the handler (ractor catches it and reports `ActorFailed`).
    Panic,
    /// Return an error from the handler (also `ActorFailed`).
    Error,
}

impl Fault {
    /// Carries out the fault. Returns the error for `Fault::Error`; panics for `Panic`.
    pub fn trigger(self, actor: &str) -> ractor::ActorProcessingErr {
        match self {
            Fault::Panic => panic!("injected panic in actor {actor}"),
            Fault::Error => format!("injected error in actor {actor}").into(),
        }
    }
}
