//! Replicated operation: several `tradpal serve` processes (nodes) on one NATS, one of
//! them the leader, the others hot standbys. Enabled by `TRADPAL_NODE` (with `NATS_URL`).
//!
//! Why leader + standbys and not every node trading at once: the account (orders,
//! portfolio, kill switch) and the market-data store are one state that every decision
//! reads; two writers would need a shared log with a total order anyway. So the shared
//! log is made explicit, and one node writes it:
//!
//! - **Lease.** The leader holds key `leader` in the KV bucket `TRADPAL_LEADER`, whose
//!   entries expire after [`LEASE_TTL_MS`]; it renews every [`LEASE_RENEW_MS`] with a
//!   compare-and-set on the revision. A standby takes the lease only with `create`, which
//!   succeeds only once the key has expired. The leader stops replicating
//!   [`LEASE_MARGIN_MS`] before its own deadline, so its last publish precedes any
//!   successor's first.
//! - **Log.** Every record the leader journals is published, in order, to the stream
//!   `TRADPAL_LOG`, packed into frames of consecutive records (`frame.rs`: one message,
//!   one nats-server fsync, per replication round), each published with
//!   `Nats-Expected-Last-Sequence` = the message before it, so a publish by a deposed
//!   leader is refused by the server (fencing that does not trust clocks). Records travel
//!   as their exact binary encoding: a standby's journal is byte- and hash-chain-identical.
//! - **Commit.** The leader turns on the journal's replication gate: an append is
//!   acknowledged (HTTP answer, NATS ack, command reply) only after it is durable locally
//!   *and* stored in `TRADPAL_LOG`. So anything a client heard of survives the leader's
//!   machine: the standby that takes over has it. NATS down means the leader cannot
//!   commit: writes wait (and time out with 503), reads keep working.
//! - **Standby.** Follows `TRADPAL_LOG` into its own journal (ordinary appends, sequences
//!   asserted equal), runs no actors, answers HTTP with 503 naming the leader. On taking
//!   the lease it catches up to the end of the log, then starts the actors, which fold its
//!   journal like after any restart, then the NATS ingest and command subscriptions. A
//!   batch the dead leader journaled but did not ack is redelivered by JetStream and
//!   absorbed by the journal's and the store's idempotence: one effect.
//! - **Rejoining.** A former leader's journal may end with records the log does not have
//!   (it died after its fsync and before its publish), possibly under sequences the new
//!   leader has used since. Those were never acknowledged to anyone, so on start the node
//!   finds the last record it shares with the log (binary search), saves its own tail to
//!   `<data_dir>/cut/<first>-<last>.jsonl`, cuts it (`tradpal_journal::truncate_after`)
//!   and follows the log from there; a tail longer than `UNREPLICATED_TAIL_CUT_MAX`, or
//!   no shared prefix at all, is refused for an operator.
//!
//! # Layout
//!
//! - `mod.rs`: this overview, limits, [`ClusterError`], [`ClusterState`] (status).
//! - `lease.rs`: the KV lease: acquire, renew, deadline.
//! - `frame.rs`: a log message: consecutive records, length-prefixed, first/last headers.
//! - `follow.rs`: standby: find a record in the log (binary search on frames), follow the
//!   log into the local journal; the agreement check.
//! - `replicate.rs`: leader: publish journal records to the log, advance the gate.
//! - `node.rs`: [`node::Node`]: connect, stand by until leader, then lead.

pub mod follow;
pub mod frame;
pub mod lease;
pub mod node;
pub mod replicate;

use serde::Serialize;
use std::sync::Mutex;

/// A lease entry lives this long after its last renewal.
pub const LEASE_TTL_MS: u64 = 3_000;
/// The leader renews this often.
pub const LEASE_RENEW_MS: u64 = 1_000;
/// The leader stops publishing this long before its lease could expire.
pub const LEASE_MARGIN_MS: u64 = 1_000;
/// A standby tries to take the lease this often.
pub const STANDBY_POLL_MS: u64 = 250;
/// Records read per replication round (packed into frames; acks awaited together).
pub const REPLICATE_BATCH_MAX: u64 = 1_000;
/// Records appended per standby append (one fsync).
pub const FOLLOW_BATCH_MAX: usize = 1_000;
/// How long a standby waits for the next log message it knows exists.
pub const FOLLOW_MESSAGE_WAIT_MS: u64 = 5_000;
/// Messages kept in the log. A standby further behind than this cannot catch up from
/// NATS and says so; copy a journal to it instead.
pub const LOG_MESSAGES_MAX: i64 = 100_000_000;
/// Most records a node cuts from its own journal on its own when it rejoins after leading
/// (its never-acknowledged tail; see `Node::cut_unreplicated_tail`). A longer tail is
/// refused for an operator to look at: it suggests the node ran outside the cluster.
pub const UNREPLICATED_TAIL_CUT_MAX: u64 = 100_000;
/// Longest pause between retries after a NATS error.
pub const RETRY_BACKOFF_MAX_MS: u64 = 2_000;
/// A standby's JetStream requests (log end, log consumer, lease) give up after this long
/// instead of async-nats's 5 s default: when the nats-server a standby talks to dies,
/// its in-flight request would otherwise hold the takeover for seconds past the lease's
/// expiry. Short is safe here: a standby only reads and retries (the leader keeps the
/// default, whose publishes must not fail on a slow ack).
pub const STANDBY_REQUEST_TIMEOUT_MS: u64 = 1_000;
/// A standby sets its log stream and lease bucket up again after this many NATS errors in
/// a row (before that it retries with the handles it has).
pub const STANDBY_RELINK_ERRORS: u32 = 4;
/// Longest pause between a standby's retries after a NATS error (a takeover waits on it).
pub const STANDBY_RETRY_MAX_MS: u64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// NATS unreachable or a request failed: retried with back-off.
    #[error("NATS: {0}")]
    Nats(String),
    /// This node's journal and the cluster log disagree: refuse, an operator decides.
    #[error("journal and cluster log {stream} diverge: {0}", stream = tradpal_messages::subjects::LOG_STREAM)]
    Diverged(String),
    /// This node's journal has records after `keep_through` that the log does not (see
    /// `follow::check_agreement`): the caller cuts them (`Node::cut_unreplicated_tail`).
    #[error("this node's journal holds records {}..={local} that the cluster log does not", keep_through + 1)]
    Ahead { keep_through: u64, local: u64 },
    /// The log no longer holds what this node needs (trimmed), or it cannot be followed.
    #[error("cannot follow the cluster log: {0}")]
    CannotFollow(String),
    /// The local journal refused an append.
    #[error("journal: {0}")]
    Journal(#[from] tradpal_journal::JournalError),
    /// Another node holds the lease now.
    #[error("leadership lost: {0}")]
    LeadershipLost(String),
}

impl ClusterError {
    /// Worth retrying (NATS hiccups) vs stop the process.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ClusterError::Nats(_))
    }
}

pub(crate) fn nats_err(context: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Nats(format!("{context}: {e}"))
}

/// What `/api/trading/status` and the standby's answers show.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ClusterStatus {
    pub node: String,
    /// `standby` or `leader`.
    pub role: String,
    /// The leader's node name, when known.
    pub leader: Option<String>,
    /// Highest journal sequence stored in the cluster log (leader: replicated; standby:
    /// followed into the local journal).
    pub log_through: u64,
    /// Leader: why it cannot commit right now (NATS unreachable, log publishes failing);
    /// writes are refused at the HTTP edge meanwhile. `None` when healthy.
    pub stalled: Option<String>,
}

/// Shared, updated by the node's tasks.
#[derive(Debug, Default)]
pub struct ClusterState(Mutex<ClusterStatus>);

impl ClusterState {
    pub fn new(node: &str) -> ClusterState {
        ClusterState(Mutex::new(ClusterStatus { node: node.to_string(), role: "standby".into(), ..Default::default() }))
    }

    pub fn get(&self) -> ClusterStatus {
        self.0.lock().expect("cluster state lock").clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut ClusterStatus)) {
        f(&mut self.0.lock().expect("cluster state lock"));
    }
}
