//! The Lakehouse agent: a chat model with tools over the datasets, corpora and playbook
//! memory, an observer that reviews every candidate answer, and playbooks sealed from accepted
//! sessions and offered to the next similar task as its preamble.
//!
//! [`Agent::run`] drives one task: the system prompt with matching playbooks, then model calls
//! and tool calls ([`tools`]) under budgets on steps, wall time and tokens, each candidate
//! answer reviewed by the [`Observer`] (an LLM reviewer or the heuristic one). Every event is
//! archived in the session's journal (`sessions/<id>`, secrets redacted) and each session is a
//! row of the `agent_sessions` dataset (for `lakehouse sql`). An accepted session is
//! distilled into a playbook ([`seal::distill`]) and UPSERTed, so solving the same task the same
//! way again bumps its `replay_count`; injected playbooks get their replay's outcome recorded,
//! and one that keeps failing is retired. [`OfflinePlanner`] stands in for a model when none is
//! installed. [`analyze`] runs a model over every row of a dataset into a new one. [`eval`] is
//! the harness: a task file × iterations with deterministic checks,
//! warm next to cold, reported as JSON and markdown. The agent reaches data only through the
//! table, vectord and memory APIs.

mod agent;
pub mod analyze;
mod error;
pub mod eval;
pub mod observer;
pub mod planner;
pub mod seal;
pub mod session;
pub mod tools;

pub use agent::{Agent, AgentOptions, CallTrace, Check, CheckFailed, Outcome, RunReport, Sealed};
pub use error::AgentError;
pub use observer::{Candidate, Decision, Evidence, Observer, Verdict};
pub use planner::{OFFLINE_ID, OfflinePlanner, open_model};
pub use session::{Replay, SESSIONS_TABLE, replay};
pub use tools::{Workspace, tool_specs};
