//! Versioned agent memory for Lakehouse: pathways (recorded workflows) and playbooks
//! (procedures distilled from successful sessions) in one record model, with Mem0-style
//! operations that never lose history.
//!
//! - **UPSERT** adds a record, or — when a live record has the same workflow fingerprint —
//!   bumps its `replay_count` ([`Memory::upsert`]).
//! - **REVISE** makes a new version of a chain's tip and stamps the old one `superseded_at` /
//!   `superseded_by`; revising anything else is an error naming the tip ([`Memory::revise`]).
//! - **RETIRE** takes a record (or a chain) out of retrieval with a reason and an actor
//!   ([`Memory::retire`]); it stays in history.
//! - **HISTORY** walks a chain root→tip from any member, cycle-safe ([`Memory::history`]).
//! - **SEARCH** ranks live tips by vector + BM25 fusion, with replays and successes as a small
//!   boost, optionally as of a past time ([`Memory::search`]).
//!
//! A namespace is event-sourced: every operation is a numbered, create-only commit under
//! `memory/<namespace>/events/` in the store, the state is the fold of the commits, snapshots
//! make opening fast, and two writers racing for a commit are detected (see [`Memory`]). This
//! crate embeds text through a [`lakehouse_models::Embedder`] but never calls an LLM.

mod error;
mod event;
mod index;
mod log;
mod memory;
mod namespace;
mod patch;
mod record;
mod search;
mod state;
pub mod time;
mod vector;

pub use error::MemoryError;
pub use event::{Commit, EmbedderInfo, Event};
pub use memory::{Action, MAX_BATCH, Memory, MemoryOptions, Upserted};
pub use namespace::{NamespaceInfo, namespaces, validate_namespace};
pub use patch::DraftPatch;
pub use record::{Draft, Kind, Outcome, Record, Step};
pub use search::{ListFilter, MAX_K, MemoryHit, MemoryQuery, StateFilter, parse_filter};
pub use state::{Anomaly, State};
