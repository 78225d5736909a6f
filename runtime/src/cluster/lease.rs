//! The leader lease: key `leader` in the KV bucket `TRADPAL_LEADER`, value the node name.
//! The bucket's `max_age` is the lease TTL, so an entry not renewed disappears and `create`
//! (which only succeeds on a missing key) hands the lease to the next node.

// A lease is a real-time deadline on the monotonic clock: the runtime's cluster edge, not a core.
#![allow(clippy::disallowed_methods)]

use super::{nats_err, ClusterError, LEASE_MARGIN_MS, LEASE_TTL_MS};
use async_nats::jetstream::{self, kv};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tradpal_messages::subjects;

/// The bucket (created or reused; idempotent).
pub async fn bucket(js: &jetstream::Context, replicas: usize) -> Result<kv::Store, ClusterError> {
    let config = kv::Config {
        num_replicas: replicas,
        bucket: subjects::LEADER_BUCKET.to_string(),
        description: "TradPal leader lease".to_string(),
        history: 1,
        max_age: Duration::from_millis(LEASE_TTL_MS),
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    };
    match js.get_key_value(subjects::LEADER_BUCKET).await {
        Ok(store) => Ok(store),
        Err(_) => js.create_key_value(config).await.map_err(|e| nats_err("create the lease bucket", e)),
    }
}

/// The current leader's name, if any holds the lease.
pub async fn holder(store: &kv::Store) -> Result<Option<String>, ClusterError> {
    let value = store.get(subjects::LEADER_KEY).await.map_err(|e| nats_err("read the lease", e))?;
    Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

/// A held lease: the revision to renew from, and the local deadline after which this
/// node must assume it may have lost it.
#[derive(Debug)]
pub struct Lease {
    node: String,
    revision: Mutex<u64>,
    /// Until when this node may act as leader (monotonic clock).
    valid_until: Mutex<Instant>,
}

impl Lease {
    /// Tries to take the lease; `None` when another node holds it.
    pub async fn acquire(store: &kv::Store, node: &str) -> Result<Option<Lease>, ClusterError> {
        let sent = Instant::now();
        match store.create(subjects::LEADER_KEY, node.as_bytes().to_vec().into()).await {
            Ok(revision) => {
                Ok(Some(Lease { node: node.to_string(), revision: Mutex::new(revision), valid_until: Mutex::new(deadline(sent)) }))
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(nats_err("take the lease", e)),
        }
    }

    /// True while this node may publish to the log.
    pub fn valid(&self) -> bool {
        Instant::now() < *self.valid_until.lock().expect("lease lock")
    }

    /// Renews by compare-and-set. Lost (another node took it, or it expired and another
    /// revision exists): `LeadershipLost`. Expired with nobody else holding it: taken
    /// again with `create` (no other node can have written the log in between without
    /// holding the lease, and the log's expected-sequence check catches it if one did).
    pub async fn renew(&self, store: &kv::Store) -> Result<(), ClusterError> {
        let sent = Instant::now();
        let revision = *self.revision.lock().expect("lease lock");
        match store.update(subjects::LEADER_KEY, self.node.as_bytes().to_vec().into(), revision).await {
            Ok(next) => {
                *self.revision.lock().expect("lease lock") = next;
                *self.valid_until.lock().expect("lease lock") = deadline(sent);
                Ok(())
            }
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => match Lease::acquire(store, &self.node).await? {
                Some(again) => {
                    tracing::warn!(node = %self.node, "lease had expired with no successor; taken again");
                    *self.revision.lock().expect("lease lock") = *again.revision.lock().expect("lease lock");
                    *self.valid_until.lock().expect("lease lock") = deadline(sent);
                    Ok(())
                }
                None => {
                    let by = holder(store).await.ok().flatten().unwrap_or_else(|| "another node".into());
                    Err(ClusterError::LeadershipLost(format!("the lease is held by {by}")))
                }
            },
            Err(e) => Err(nats_err("renew the lease", e)),
        }
    }

    /// Gives the lease up (clean shutdown): a standby takes over at once, not after the TTL.
    pub async fn release(&self, store: &kv::Store) {
        let revision = *self.revision.lock().expect("lease lock");
        *self.valid_until.lock().expect("lease lock") = Instant::now();
        if let Err(e) = store.delete_expect_revision(subjects::LEADER_KEY, Some(revision)).await {
            tracing::warn!(error = %e, "could not release the lease; it expires on its own");
        }
    }
}

/// The local deadline of a renewal sent at `sent`: the server keeps the entry for the TTL
/// after it *stored* it (later than `sent`), so stopping `LEASE_MARGIN_MS` before
/// `sent + TTL` keeps this node's last publish ahead of any successor's first, with that
/// margin for clock-rate differences.
fn deadline(sent: Instant) -> Instant {
    sent + Duration::from_millis(LEASE_TTL_MS - LEASE_MARGIN_MS)
}
