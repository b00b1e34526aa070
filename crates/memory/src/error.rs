//! The error type of this crate.

use lakehouse_models::ModelError;
use lakehouse_vectord::VectordError;

/// What can go wrong reading or changing a memory namespace.
///
/// Variants up to [`Conflict`](MemoryError::Conflict) are the caller's to fix (bad input, an
/// operation the record's state does not allow, a concurrent writer); the rest are storage,
/// model or index failures. Every rejected operation writes nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// A namespace that is not allowed.
    #[error(
        "invalid namespace {name:?}: {reason} (use 1-8 `/`-separated parts of letters, digits, `_` or `-`, e.g. `project/agent/user`)"
    )]
    InvalidNamespace {
        /// The namespace as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Input that cannot become a record or an operation (empty content, bad JSON, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// No record with that id in the namespace.
    #[error("no record {id:?} in namespace {namespace:?}")]
    UnknownRecord {
        /// The namespace.
        namespace: String,
        /// The id asked for.
        id: String,
    },
    /// REVISE of a record that has a successor: only the tip of a chain can be revised.
    #[error("record {id:?} was superseded; revise the tip of its chain, {tip:?}")]
    NotTip {
        /// The record given.
        id: String,
        /// The current tip of its chain.
        tip: String,
    },
    /// The operation needs a live record and this one is retired.
    #[error("record {id:?} is retired ({reason}); it cannot be revised or retired again")]
    Retired {
        /// The record.
        id: String,
        /// Why it was retired.
        reason: String,
    },
    /// REVISE with `expected_version` found another version at the tip.
    #[error("record {id:?} is at version {actual}, not the expected version {expected}")]
    VersionMismatch {
        /// The record.
        id: String,
        /// The version the caller expected.
        expected: u32,
        /// The version it has.
        actual: u32,
    },
    /// Another writer committed to the namespace first and its change invalidates this
    /// operation; nothing was written. The source says what no longer holds.
    #[error(
        "conflict in namespace {namespace:?}: another writer committed event {seq} first, and then: {source}"
    )]
    Conflict {
        /// The namespace.
        namespace: String,
        /// The commit this writer lost the race for.
        seq: u64,
        /// Why the operation is no longer valid.
        source: Box<MemoryError>,
    },
    /// The namespace was written with another embedder than the one offered.
    #[error(
        "namespace {namespace:?} was written with embedder {recorded} (dimension {recorded_dim}); {given} (dimension {given_dim}) cannot search or extend it"
    )]
    EmbedderMismatch {
        /// The namespace.
        namespace: String,
        /// The embedder id recorded in the namespace.
        recorded: String,
        /// Its dimension.
        recorded_dim: usize,
        /// The embedder offered.
        given: String,
        /// Its dimension.
        given_dim: usize,
    },
    /// An operation that embeds text on a handle opened without an embedder.
    #[error("this memory handle has no embedder; open it with one to upsert, revise or search")]
    NoEmbedder,
    /// The stored chain of a record is damaged (a cycle, a missing parent, a fork); the walk
    /// stopped here.
    #[error("the version chain of {id:?} is corrupt: {detail}")]
    CorruptChain {
        /// The record the walk started from.
        id: String,
        /// What was found.
        detail: String,
    },
    /// A stored object cannot be decoded.
    #[error("corrupt memory object {path}: {message}")]
    Corrupt {
        /// The object's path in the store.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The object store failed.
    #[error("store: {0}")]
    Store(#[from] object_store::Error),
    /// The embedder failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The vector index failed.
    #[error(transparent)]
    Index(#[from] VectordError),
    /// The ANN index refused an operation (a wrong dimension, a duplicate key).
    #[error("vector index: {0}")]
    Ann(#[from] lakehouse_vectord::ann::AnnError),
    /// The lexical index failed.
    #[error("lexical index: {0}")]
    Lexical(#[from] tantivy::TantivyError),
}

impl MemoryError {
    /// True for errors that are the caller's to fix (input, record state, concurrent writer);
    /// false for storage, model and index failures.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self.fault(),
            lakehouse_store::Fault::BadInput
                | lakehouse_store::Fault::NotFound
                | lakehouse_store::Fault::Conflict
        )
    }
}

impl MemoryError {
    /// Who is at fault: see the variants' order; a record's state that forbids the operation
    /// (superseded, retired, another version, a writer that came first) is a conflict.
    pub fn fault(&self) -> lakehouse_store::Fault {
        use lakehouse_store::Fault;
        match self {
            Self::InvalidNamespace { .. }
            | Self::InvalidInput(_)
            | Self::EmbedderMismatch { .. }
            | Self::NoEmbedder => Fault::BadInput,
            Self::UnknownRecord { .. } => Fault::NotFound,
            Self::NotTip { .. }
            | Self::Retired { .. }
            | Self::VersionMismatch { .. }
            | Self::Conflict { .. } => Fault::Conflict,
            Self::Store(e) => lakehouse_store::object_store_fault(e),
            Self::Model(e) => e.fault(),
            Self::Index(e) => e.fault(),
            Self::CorruptChain { .. } | Self::Corrupt { .. } | Self::Ann(_) | Self::Lexical(_) => {
                Fault::Internal
            }
        }
    }
}
