//! Events: every change to a namespace, and the commits that carry them.
//!
//! A commit is one object `memory/<namespace>/events/<seq:020>.json`, created only if absent,
//! holding one or more events that take effect together at the commit's time. Commit numbers
//! start at 1 and have no gaps; the state of a namespace is the fold of its commits in order.

use lakehouse_store::Timestamp;
use serde::{Deserialize, Serialize};

use crate::record::Record;

/// The format version written in every commit and snapshot.
pub(crate) const FORMAT: u32 = 1;

/// The embedder a namespace is written with; recorded by its first commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedderInfo {
    /// The spec to open it again (e.g. `minilm`).
    pub spec: String,
    /// The embedder's id.
    pub id: String,
    /// Its dimension.
    pub dim: usize,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Event {
    /// The namespace's first event: the embedder its records are embedded with.
    Created {
        /// The embedder.
        embedder: EmbedderInfo,
    },
    /// UPSERT that found no live record with the fingerprint: a new chain (version 1).
    Added {
        /// The new record.
        record: Box<Record>,
    },
    /// UPSERT that found a live record with the fingerprint: its `replay_count` goes up.
    Replayed {
        /// The record.
        id: String,
        /// The session that produced the same workflow again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    /// REVISE: a new version of the tip `parent`.
    Revised {
        /// The tip it replaces.
        parent: String,
        /// The new record (version = parent's + 1, same root).
        record: Box<Record>,
    },
    /// RETIRE: records taken out of retrieval, with the reason.
    Retired {
        /// The records (one, or a whole chain).
        ids: Vec<String>,
        /// Why.
        reason: String,
        /// Who.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
    },
    /// A replay's outcome.
    Outcome {
        /// The record replayed.
        id: String,
        /// Whether it worked.
        success: bool,
        /// The session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
}

/// Events that take effect together, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    /// Format version (1).
    pub v: u32,
    /// Its number: 1 for the first, then one more each.
    pub seq: u64,
    /// When it was committed; every event in it happened then.
    #[serde(with = "crate::time")]
    pub at: Timestamp,
    /// The writer (a random id per handle), for diagnosing conflicts.
    pub writer: String,
    /// The operation's id, random per commit: a writer that meets commit `seq` already
    /// stored after a put whose answer was lost knows by it that the commit is its own.
    /// Empty in commits written before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The events.
    pub events: Vec<Event>,
}
