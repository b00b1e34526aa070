//! The error type of this crate.
//!
//! Only setup fails with an error (an empty task, a store that cannot be written, memory that
//! cannot be opened). Everything that goes wrong during a run — a model server that fails or
//! hangs, malformed model output, unknown tools, bad arguments, tool errors, budgets — ends in
//! an archived [`Outcome`](crate::Outcome) instead.

use lakehouse_memory::MemoryError;
use lakehouse_store::journal::JournalError;

/// What can stop a run from starting or being archived.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The task is empty or too long.
    #[error("invalid task: {0}")]
    InvalidTask(String),
    /// The session journal could not be written.
    #[error("session journal: {0}")]
    Journal(#[from] JournalError),
    /// Playbook memory failed.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

impl AgentError {
    /// Who is at fault.
    pub fn fault(&self) -> lakehouse_store::Fault {
        match self {
            Self::InvalidTask(_) => lakehouse_store::Fault::BadInput,
            Self::Journal(e) => e.fault(),
            Self::Memory(e) => e.fault(),
        }
    }
}
