//! The namespace's objects in the store: numbered commits and snapshots.
//!
//! ```text
//! memory/<namespace>/events/<seq:020>.json       one commit, created only if absent
//! memory/<namespace>/snapshots/<seq:020>.json    the state after commit <seq>
//! ```
//!
//! Why numbered commits rather than the store's [`StoreJournal`](lakehouse_store::journal):
//! a memory operation is valid or not depending on every earlier operation (revise only the
//! tip, retire only once), so its writers need one order decided when they write. Commit `n+1`
//! is created with a create-only put; of two writers racing for it exactly one wins, and the
//! other learns of it from `AlreadyExists`, reads the new commit and decides again — unless the
//! commit found carries its own operation id, which means an earlier attempt of its own put
//! landed and only the answer was lost ([`create_once`]). Commits
//! are never rewritten or deleted (they are the history `as_of` and audits read); snapshots
//! only make opening fast, and a damaged one is skipped in favour of an older one or the
//! commits.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use lakehouse_store::{Created, create_once};

use crate::MemoryError;
use crate::event::{Commit, FORMAT};
use crate::state::State;

/// Where a namespace lives.
#[derive(Debug, Clone)]
pub(crate) struct Log {
    store: Arc<dyn ObjectStore>,
    root: String,
}

/// The one field of a stored commit that says whose it is.
#[derive(serde::Deserialize)]
struct OpOnly {
    #[serde(default)]
    op: String,
}

/// A snapshot as stored.
#[derive(serde::Serialize, serde::Deserialize)]
struct Snapshot {
    v: u32,
    state: State,
}

impl Log {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, namespace: &str) -> Self {
        Self {
            store,
            root: format!("memory/{namespace}"),
        }
    }

    fn commit_path(&self, seq: u64) -> Path {
        Path::from(format!("{}/events/{seq:020}.json", self.root))
    }

    fn snapshot_path(&self, seq: u64) -> Path {
        Path::from(format!("{}/snapshots/{seq:020}.json", self.root))
    }

    /// Commit `seq`, or `None` when it does not exist (yet).
    pub(crate) async fn read(&self, seq: u64) -> Result<Option<Commit>, MemoryError> {
        let path = self.commit_path(seq);
        let bytes = match self.store.get(&path).await {
            Ok(got) => got.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let commit: Commit = serde_json::from_slice(&bytes).map_err(|e| MemoryError::Corrupt {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        if commit.v != FORMAT || commit.seq != seq {
            return Err(MemoryError::Corrupt {
                path: path.to_string(),
                message: format!(
                    "format {} / commit number {} where {FORMAT} / {seq} was expected",
                    commit.v, commit.seq
                ),
            });
        }
        Ok(Some(commit))
    }

    /// Create commit `commit.seq`; `false` when another writer created it first. A commit
    /// already there with this one's operation id is this one, stored by an attempt whose
    /// answer was lost: `true`.
    pub(crate) async fn create(&self, commit: &Commit) -> Result<bool, MemoryError> {
        let body = serde_json::to_vec(commit)
            .map_err(|e| MemoryError::InvalidInput(format!("cannot encode commit: {e}")))?;
        let is_ours = |found: &[u8]| {
            !commit.op.is_empty()
                && serde_json::from_slice::<OpOnly>(found).is_ok_and(|f| f.op == commit.op)
        };
        let created = create_once(
            self.store.as_ref(),
            &self.commit_path(commit.seq),
            Bytes::from(body),
            is_ours,
        )
        .await?;
        Ok(created == Created::Ours)
    }

    /// The newest snapshot that decodes, and the paths of newer ones that did not.
    pub(crate) async fn latest_snapshot(
        &self,
    ) -> Result<(Option<State>, Vec<String>), MemoryError> {
        let prefix = Path::from(format!("{}/snapshots", self.root));
        let mut paths: Vec<Path> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await?;
        paths.sort();
        let mut damaged = Vec::new();
        for path in paths.into_iter().rev() {
            let bytes = self.store.get(&path).await?.bytes().await?;
            match decode_snapshot(&bytes) {
                Ok(state) => return Ok((Some(state), damaged)),
                Err(message) => {
                    tracing::warn!(%path, "skipping damaged memory snapshot: {message}");
                    damaged.push(format!("{path}: {message}"));
                }
            }
        }
        Ok((None, damaged))
    }

    /// Write the snapshot of `state` (create-only: every snapshot of one commit holds the
    /// same state, so one already there is as good as this one).
    pub(crate) async fn write_snapshot(&self, state: &State) -> Result<(), MemoryError> {
        let body = serde_json::to_vec(&Snapshot {
            v: FORMAT,
            state: state.clone(),
        })
        .map_err(|e| MemoryError::InvalidInput(format!("cannot encode snapshot: {e}")))?;
        create_once(
            self.store.as_ref(),
            &self.snapshot_path(state.seq),
            Bytes::from(body),
            |_| true,
        )
        .await?;
        Ok(())
    }
}

/// Why a stored snapshot cannot be used (it is skipped; the commits after an older one, or
/// all of them, are read instead).
#[derive(Debug, thiserror::Error)]
enum SnapshotDamage {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("format {0} is not {FORMAT}")]
    Format(u32),
}

fn decode_snapshot(bytes: &[u8]) -> Result<State, SnapshotDamage> {
    let snapshot: Snapshot = serde_json::from_slice(bytes)?;
    if snapshot.v != FORMAT {
        return Err(SnapshotDamage::Format(snapshot.v));
    }
    let mut state = snapshot.state;
    state.reindex();
    Ok(state)
}
