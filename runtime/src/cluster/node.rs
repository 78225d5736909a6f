//! [`Node`]: one process of a replicated deployment. `stand_by` follows the log until
//! this node takes the lease; `lead` turns the journal's replication gate on and runs the
//! replicator and the lease keeper until shutdown or loss.

use super::lease::{self, Lease};
use super::{
    follow, replicate, ClusterError, ClusterState, LEASE_RENEW_MS, STANDBY_POLL_MS, STANDBY_RELINK_ERRORS, STANDBY_REQUEST_TIMEOUT_MS,
    STANDBY_RETRY_MAX_MS,
};
use async_nats::jetstream;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tradpal_actors::FatalSignal;
use tradpal_journal::Journal;

pub struct Node {
    pub name: String,
    js: jetstream::Context,
    /// The same connection with short request timeouts, for standing by.
    standby_js: jetstream::Context,
    pub state: Arc<ClusterState>,
    replicas: usize,
}

impl Node {
    /// Connects (retrying in the background while NATS is away).
    /// `replicas`: of the log stream and the lease bucket, when this node creates them.
    pub async fn connect(url: &str, name: &str, tls_ca: Option<&std::path::Path>, replicas: usize) -> Result<Node, ClusterError> {
        let client = crate::nats::connect_options(format!("tradpal-node-{name}"), tls_ca)
            .connect(crate::nats::server_list(url))
            .await
            .map_err(|e| super::nats_err("connect", e))?;
        let standby_js = jetstream::ContextBuilder::new().timeout(Duration::from_millis(STANDBY_REQUEST_TIMEOUT_MS)).build(client.clone());
        Ok(Node { name: name.to_string(), js: jetstream::new(client), standby_js, state: Arc::new(ClusterState::new(name)), replicas })
    }

    /// Follows the log into `journal` until this node holds the lease; returns it with the
    /// journal caught up to the end of the log. `None` when `stop` fired first. A fatal
    /// error (divergence) is returned; NATS errors are retried with back-off.
    pub async fn stand_by(&self, journal: &Journal, stop: &mut watch::Receiver<bool>) -> Result<Option<Arc<Lease>>, ClusterError> {
        let mut backoff_ms = STANDBY_POLL_MS;
        let mut link = None;
        let mut errors_in_row = 0;
        loop {
            if *stop.borrow() {
                return Ok(None);
            }
            match self.try_take_over(journal, &mut link).await {
                Ok(Some(lease)) => return Ok(Some(Arc::new(lease))),
                Ok(None) => (backoff_ms, errors_in_row) = (STANDBY_POLL_MS, 0),
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    // Keep the stream and bucket handles through a few errors: setting
                    // them up again needs JetStream's meta leader, which is being
                    // re-elected when a nats-server died, while the log's and the lease's
                    // own leaders may already answer. Set up again if errors persist.
                    errors_in_row += 1;
                    if errors_in_row >= STANDBY_RELINK_ERRORS {
                        link = None;
                    }
                    tracing::warn!(error = %e, retry_ms = backoff_ms, "standby: NATS error; retrying");
                    backoff_ms = (backoff_ms * 2).min(STANDBY_RETRY_MAX_MS);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(backoff_ms)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One standby round: catch up, try the lease; on success check and catch up again
    /// (the old leader may have published until its lease ran out). The log stream and
    /// the lease bucket are set up once per `link`, and the journal is checked against
    /// the log once: after that it grows only by copying the log.
    async fn try_take_over(&self, journal: &Journal, link: &mut Option<Link>) -> Result<Option<Lease>, ClusterError> {
        let l = match link {
            Some(l) => l,
            None => {
                let mut stream = follow::log_stream(&self.standby_js, self.replicas).await?;
                let store = lease::bucket(&self.standby_js, self.replicas).await?;
                follow::check_agreement(&mut stream, journal).await?;
                link.insert(Link { stream, store })
            }
        };
        let (stream, store) = (&mut l.stream, &l.store);
        let end = follow::log_end(stream).await?;
        follow::catch_up(stream, &end, journal, end.last_record, &self.state).await?;
        let Some(lease) = Lease::acquire(store, &self.name).await? else {
            let leader = lease::holder(store).await?;
            self.state.update(|s| s.leader = leader);
            return Ok(None);
        };
        let end = follow::check_agreement(stream, journal).await?;
        let through = follow::catch_up(stream, &end, journal, end.last_record, &self.state).await?;
        tracing::info!(node = %self.name, log_through = through, "took the leader lease");
        self.state.update(|s| {
            s.role = "leader".into();
            s.leader = Some(self.name.clone());
            s.log_through = through;
        });
        Ok(Some(lease))
    }

    /// Leads: from now on the journal acknowledges an append only once the log holds it.
    /// Leadership ends on `Leadership::shutdown` or on loss, which fails the journal's
    /// waiting acknowledgements and raises `fatal` (the process must stop).
    pub async fn lead(&self, journal: &Journal, lease: Arc<Lease>, fatal: FatalSignal) -> Result<Leadership, ClusterError> {
        let mut stream = follow::log_stream(&self.js, self.replicas).await?;
        let end = follow::log_end(&mut stream).await?;
        let local = journal.last_sequence();
        if end.last_record > local {
            return Err(ClusterError::LeadershipLost(format!(
                "the log reached record {} past this node's journal ({local}) before it could lead",
                end.last_record
            )));
        }
        let gate = journal.require_replication(end.last_record);
        let store = lease::bucket(&self.js, self.replicas).await?;
        let (stop_tx, stop) = watch::channel(false);
        let fail = {
            let (journal, fatal) = (journal.clone(), fatal.clone());
            move |e: ClusterError| {
                let why = format!("node {}: {e}", journal.journal_dir().display());
                journal.fail_replication(e.to_string());
                fatal.raise(why);
            }
        };
        let replicator = {
            let (js, journal, lease, state, fail) = (self.js.clone(), journal.clone(), lease.clone(), self.state.clone(), fail.clone());
            let stop = stop.clone();
            tokio::spawn(async move {
                if let Some(e) = replicate::replicate(js, stream, journal, gate, end.last_message, lease, state, stop).await {
                    fail(e);
                }
            })
        };
        let keeper = {
            let (store, lease, mut stop) = (store.clone(), lease.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(LEASE_RENEW_MS)) => {}
                        _ = stop.changed() => return,
                    }
                    match lease.renew(&store).await {
                        Ok(()) => {}
                        Err(e) if e.is_fatal() => return fail(e),
                        Err(e) => tracing::warn!(error = %e, "cannot renew the leader lease; retrying"),
                    }
                }
            })
        };
        Ok(Leadership { stop: stop_tx, replicator, keeper, lease, store })
    }
}

impl Node {
    /// Cuts this node's never-acknowledged tail (see `follow::check_agreement` and the
    /// module docs) from the journal in `data_dir`, which must be closed. Refuses a tail
    /// longer than `UNREPLICATED_TAIL_CUT_MAX`.
    pub async fn cut_unreplicated_tail(
        data_dir: &std::path::Path,
        keep_through: u64,
        local: u64,
    ) -> Result<tradpal_journal::TruncateReport, ClusterError> {
        let tail = local.saturating_sub(keep_through);
        if tail > super::UNREPLICATED_TAIL_CUT_MAX {
            return Err(ClusterError::Diverged(format!(
                "this node's journal has {tail} records after {keep_through} that the log does not (more than {} a leader can leave \
                 unpublished): did it run outside the cluster? Move the data directory aside and start the node with an empty one.",
                super::UNREPLICATED_TAIL_CUT_MAX
            )));
        }
        let dir = data_dir.to_path_buf();
        let report = tokio::task::spawn_blocking(move || tradpal_journal::truncate_after(&dir, keep_through, Default::default()))
            .await
            .map_err(|e| ClusterError::Journal(tradpal_journal::JournalError::Poisoned(e.to_string())))??;
        tracing::warn!(?report, "cut this node's unreplicated journal tail (never acknowledged; saved for audit) to rejoin the cluster");
        Ok(report)
    }
}

/// A standby's set-up, kept across its rounds.
struct Link {
    stream: async_nats::jetstream::stream::Stream,
    store: async_nats::jetstream::kv::Store,
}

/// A running leadership (see [`Node::lead`]).
pub struct Leadership {
    stop: watch::Sender<bool>,
    replicator: tokio::task::JoinHandle<()>,
    keeper: tokio::task::JoinHandle<()>,
    lease: Arc<Lease>,
    store: async_nats::jetstream::kv::Store,
}

impl Leadership {
    /// After the runtime has shut down: replicate what is left, then release the lease so
    /// a standby takes over at once.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.replicator.await;
        let _ = self.keeper.await;
        self.lease.release(&self.store).await;
    }
}
