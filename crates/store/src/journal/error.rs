//! The journal's error type.

/// What went wrong in a journal operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The handle was closed; nothing was appended.
    #[error("journal '{prefix}' is closed")]
    Closed {
        /// The journal's prefix.
        prefix: String,
    },
    /// The prefix is not a usable object path.
    #[error("invalid journal prefix '{prefix}': {reason}")]
    InvalidPrefix {
        /// The prefix as given.
        prefix: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The event could not be encoded.
    #[error("invalid event: {reason}")]
    InvalidEvent {
        /// What is wrong with it.
        reason: String,
    },
    /// A cursor string could not be parsed.
    #[error("invalid cursor '{cursor}': {reason}")]
    InvalidCursor {
        /// The cursor as given.
        cursor: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A store operation failed after retries. For a flush, the events are kept and retried.
    #[error("{op} of '{key}' failed: {source}")]
    Store {
        /// The operation (`put`, `get`, `list`, `delete`).
        op: &'static str,
        /// The object or prefix.
        key: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// Another writer already wrote an object under this handle's key (writer id collision).
    /// Nothing was overwritten; the events are kept.
    #[error("object '{key}' already exists with other content: another writer uses this writer id")]
    KeyCollision {
        /// The object key.
        key: String,
    },
    /// An object named as a journal object could not be parsed.
    #[error("malformed journal object '{key}', line {line}: {reason}")]
    Malformed {
        /// The object key.
        key: String,
        /// 1-based line number (0 for the object as a whole).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An object this compaction was merging was deleted by another compaction; nothing was
    /// deleted or written by this one. Running it again is safe.
    #[error(
        "compaction of '{prefix}' raced another compaction ('{key}' vanished); nothing changed"
    )]
    CompactionRaced {
        /// The journal's prefix.
        prefix: String,
        /// The object that vanished.
        key: String,
    },
    /// Objects kept vanishing under a read (compactions running back to back).
    #[error(
        "read of '{prefix}' gave up after {attempts} attempts: objects kept being compacted away"
    )]
    ReadRaced {
        /// The journal's prefix.
        prefix: String,
        /// How many listings were tried.
        attempts: u32,
    },
    /// The journal needs a Tokio runtime for its background flusher.
    #[error("the journal must be opened inside a Tokio runtime")]
    NoRuntime,
}

impl JournalError {
    /// Who is at fault.
    pub fn fault(&self) -> crate::Fault {
        use crate::Fault;
        match self {
            Self::InvalidPrefix { .. } | Self::InvalidEvent { .. } | Self::InvalidCursor { .. } => {
                Fault::BadInput
            }
            Self::Closed { .. } | Self::CompactionRaced { .. } | Self::ReadRaced { .. } => {
                Fault::Conflict
            }
            Self::Store { source, .. } => crate::object_store_fault(source),
            Self::KeyCollision { .. } | Self::Malformed { .. } | Self::NoRuntime => Fault::Internal,
        }
    }

    /// Whether trying the same operation again may succeed (a store or race error).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Store { .. } | Self::CompactionRaced { .. } | Self::ReadRaced { .. }
        )
    }
}
