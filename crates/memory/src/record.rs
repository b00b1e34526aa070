//! Records: what a memory holds (facts, pathways and playbooks), the draft a caller writes, and
//! the fingerprint that makes identical records one record.

use std::collections::BTreeMap;

use lakehouse_store::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::MemoryError;

/// The three kinds of record, in one model.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A fact about a user, an agent or the world ("prefers metric units"): what Mem0 calls a
    /// memory. The default kind.
    #[default]
    Fact,
    /// A recorded workflow: the task, the steps taken (tool calls), the outcome.
    Pathway,
    /// A procedure distilled from successful sessions, with variables; a preamble for similar
    /// tasks.
    Playbook,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Fact => "fact",
            Kind::Pathway => "pathway",
            Kind::Playbook => "playbook",
        })
    }
}

impl std::str::FromStr for Kind {
    type Err = MemoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fact" => Ok(Kind::Fact),
            "pathway" => Ok(Kind::Pathway),
            "playbook" => Ok(Kind::Playbook),
            other => Err(MemoryError::InvalidInput(format!(
                "unknown kind {other:?}: expected fact, pathway or playbook"
            ))),
        }
    }
}

/// One step of a workflow: a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The tool called.
    pub tool: String,
    /// Its arguments (any JSON; `{var}` placeholders in playbooks).
    #[serde(default)]
    pub args: serde_json::Value,
    /// What came of it, in a few words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a caller writes: the content of a record, without its identity or history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// Fact, pathway or playbook; fact when not given.
    #[serde(default)]
    pub kind: Kind,
    /// The text: the task (pathway) or the procedure (playbook). Searched; must not be empty.
    pub content: String,
    /// The steps (tool calls), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// How it ended (pathway) or what it achieves (playbook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Playbook variables (the `{name}` placeholders in its steps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<String>,
    /// Metadata for filters (`key=value`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The sessions it came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
}

impl Draft {
    /// A draft of `kind` with `content` and nothing else.
    pub fn new(kind: Kind, content: impl Into<String>) -> Self {
        Self {
            kind,
            content: content.into(),
            steps: Vec::new(),
            outcome: None,
            variables: Vec::new(),
            metadata: BTreeMap::new(),
            sessions: Vec::new(),
        }
    }

    /// This draft with one more step.
    pub fn with_step(mut self, tool: impl Into<String>, args: serde_json::Value) -> Self {
        self.steps.push(Step {
            tool: tool.into(),
            args,
            note: None,
        });
        self
    }

    /// This draft with a metadata pair.
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// This draft with an outcome.
    pub fn with_outcome(mut self, outcome: impl Into<String>) -> Self {
        self.outcome = Some(outcome.into());
        self
    }

    /// This draft linked to a session.
    pub fn with_session(mut self, session: impl Into<String>) -> Self {
        self.sessions.push(session.into());
        self
    }

    /// Parse a draft from JSON, naming what is wrong.
    pub fn from_json(text: &str) -> Result<Self, MemoryError> {
        let draft: Draft = serde_json::from_str(text)
            .map_err(|e| MemoryError::InvalidInput(format!("not a record draft: {e}")))?;
        draft.validate()?;
        Ok(draft)
    }

    /// Reject drafts that cannot become records.
    pub fn validate(&self) -> Result<(), MemoryError> {
        let bad = |m: String| Err(MemoryError::InvalidInput(m));
        if self.content.trim().is_empty() {
            return bad("content is empty".into());
        }
        if self.content.len() > 64 * 1024 {
            return bad(format!(
                "content is {} bytes; the limit is 64 KiB",
                self.content.len()
            ));
        }
        for (i, step) in self.steps.iter().enumerate() {
            if step.tool.trim().is_empty() {
                return bad(format!("step {} has an empty tool name", i + 1));
            }
        }
        if let Some(k) = self
            .metadata
            .keys()
            .find(|k| k.is_empty() || k.contains('='))
        {
            return bad(format!("metadata key {k:?} is empty or contains `=`"));
        }
        Ok(())
    }

    /// The fingerprint of the workflow: kind, content with whitespace collapsed, and steps as
    /// canonical JSON (object keys sorted). Re-ordering keys or re-spacing text gives the same
    /// fingerprint; metadata, outcome and sessions are not part of it.
    pub fn fingerprint(&self) -> String {
        let mut canonical = String::new();
        canonical.push_str(&self.kind.to_string());
        canonical.push('\n');
        canonical.push_str(&collapse_whitespace(&self.content));
        for step in &self.steps {
            canonical.push('\n');
            canonical.push_str(&collapse_whitespace(&step.tool));
            canonical.push(' ');
            write_canonical(&mut canonical, &step.args);
        }
        let digest = Sha256::digest(canonical.as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The text embedded for vector search: the content alone — what the record is *for* —
    /// so a task matches the playbook for it however long the playbook's outcome is.
    pub(crate) fn embed_text(&self) -> &str {
        &self.content
    }

    /// The text indexed for BM25: content, outcome, then the step tools.
    pub(crate) fn search_text(&self) -> String {
        let mut text = self.content.clone();
        if let Some(outcome) = &self.outcome {
            text.push('\n');
            text.push_str(outcome);
        }
        for step in &self.steps {
            text.push('\n');
            text.push_str(&step.tool);
        }
        text
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// JSON with object keys sorted and strings' whitespace collapsed.
fn write_canonical(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(out, &map[key]);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::String(s) => out.push_str(&Value::String(collapse_whitespace(s)).to_string()),
        other => out.push_str(&other.to_string()),
    }
}

/// A success or failure recorded against a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// When it was recorded.
    #[serde(with = "crate::time")]
    pub at: Timestamp,
    /// Whether the replay worked.
    pub success: bool,
    /// The session it happened in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// A record: one version of a fact, pathway or playbook, with its place in its version chain.
///
/// Content is immutable: REVISE makes a new record. What changes in place is the bookkeeping
/// (superseded, retired, replays, outcomes), each change an event with its time, so a record
/// can be seen as of any past time ([`Record::as_of`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its id, unique in the namespace (`m<commit>` or `m<commit>.<n>`).
    pub id: String,
    /// Its namespace.
    pub namespace: String,
    /// Its content.
    #[serde(flatten)]
    pub draft: Draft,
    /// The fingerprint of its workflow ([`Draft::fingerprint`]).
    pub fingerprint: String,
    /// 1 for the root of a chain, one more per revision.
    pub version: u32,
    /// The first record of its chain.
    pub root_id: String,
    /// The record it revised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// When it was written.
    #[serde(with = "crate::time")]
    pub created_at: Timestamp,
    /// When a revision replaced it.
    #[serde(
        default,
        with = "crate::time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub superseded_at: Option<Timestamp>,
    /// The revision that replaced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// When it was retired.
    #[serde(
        default,
        with = "crate::time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub retired_at: Option<Timestamp>,
    /// Why it was retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_reason: Option<String>,
    /// Who retired it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_by: Option<String>,
    /// How many times this workflow was upserted (1 when added).
    pub replay_count: u64,
    /// Successful replays recorded.
    pub success_count: u64,
    /// Failed replays recorded.
    pub failure_count: u64,
    /// When each replay after the first happened.
    #[serde(
        default,
        with = "crate::time::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub replays: Vec<Timestamp>,
    /// Every outcome recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
    /// The embedding of its search text.
    #[serde(default, with = "crate::vector", skip_serializing_if = "Vec::is_empty")]
    pub embedding: Vec<f32>,
}

impl Record {
    /// Neither superseded nor retired: the record search returns.
    pub fn is_live(&self) -> bool {
        self.superseded_at.is_none() && self.retired_at.is_none()
    }

    /// Its state in one word: live, superseded or retired.
    pub fn state(&self) -> &'static str {
        if self.retired_at.is_some() {
            "retired"
        } else if self.superseded_at.is_some() {
            "superseded"
        } else {
            "live"
        }
    }

    /// The record as it was at `t`, or `None` if it did not exist yet: later supersession,
    /// retirement, replays and outcomes are taken away.
    pub fn as_of(&self, t: Timestamp) -> Option<Record> {
        if self.created_at > t {
            return None;
        }
        let mut r = self.clone();
        if r.superseded_at.is_some_and(|s| s > t) {
            r.superseded_at = None;
            r.superseded_by = None;
        }
        if r.retired_at.is_some_and(|s| s > t) {
            r.retired_at = None;
            r.retire_reason = None;
            r.retired_by = None;
        }
        r.replays.retain(|at| *at <= t);
        r.replay_count = 1 + r.replays.len() as u64;
        r.outcomes.retain(|o| o.at <= t);
        r.success_count = r.outcomes.iter().filter(|o| o.success).count() as u64;
        r.failure_count = r.outcomes.len() as u64 - r.success_count;
        Some(r)
    }

    /// What search's tie-breaking boost rewards, as of `t` (now when `None`): replays after the
    /// first and successes, less failures. `None` if the record did not exist yet at `t`.
    pub(crate) fn merit_at(&self, t: Option<Timestamp>) -> Option<f32> {
        let (replays, successes, failures) = match t {
            None => (self.replay_count, self.success_count, self.failure_count),
            Some(t) if self.created_at > t => return None,
            Some(t) => {
                let replays = 1 + self.replays.iter().filter(|at| **at <= t).count() as u64;
                let seen = self.outcomes.iter().filter(|o| o.at <= t);
                let good = seen.clone().filter(|o| o.success).count() as u64;
                let bad = seen.count() as u64 - good;
                (replays, good, bad)
            }
        };
        Some((replays as f32 - 1.0) + successes as f32 - failures as f32)
    }

    pub(crate) fn live_at(&self, t: Option<Timestamp>) -> bool {
        match t {
            None => self.is_live(),
            Some(t) => {
                self.created_at <= t
                    && self.superseded_at.is_none_or(|s| s > t)
                    && self.retired_at.is_none_or(|r| r > t)
            }
        }
    }

    /// The record without its embedding (for display).
    pub fn without_embedding(mut self) -> Record {
        self.embedding = Vec::new();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merit_at_counts_what_as_of_keeps() {
        let at = |micros: i64| crate::time::format(Timestamp(1_700_000_000_000_000 + micros));
        let record: Record = serde_json::from_value(json!({
            "id": "m1", "namespace": "ns", "kind": "pathway", "content": "count permits",
            "fingerprint": "f", "version": 1, "root_id": "m1", "created_at": at(0),
            "replay_count": 3, "success_count": 2, "failure_count": 1,
            "replays": [at(10), at(30)],
            "outcomes": [
                {"at": at(20), "success": true}, {"at": at(40), "success": false},
                {"at": at(50), "success": true},
            ],
        }))
        .unwrap();
        assert_eq!(record.merit_at(None), Some(2.0 + 2.0 - 1.0));
        assert_eq!(
            record.merit_at(Some(Timestamp(1_700_000_000_000_000 - 1))),
            None
        );
        for micros in [0, 10, 20, 30, 40, 50] {
            let t = Timestamp(1_700_000_000_000_000 + micros);
            let then = record.as_of(t).unwrap();
            let want = (then.replay_count as f32 - 1.0) + then.success_count as f32
                - then.failure_count as f32;
            assert_eq!(record.merit_at(Some(t)), Some(want), "as of +{micros}");
        }
    }

    #[test]
    fn fingerprint_ignores_key_order_and_whitespace_only() {
        let a = Draft::new(Kind::Pathway, "count  permits\n by ward")
            .with_step("sql", json!({"query": "select 1", "limit": 10}));
        let b = Draft::new(Kind::Pathway, " count permits by ward ")
            .with_step("sql", json!({"limit": 10, "query": "select   1"}))
            .with_meta("team", "x")
            .with_outcome("ok");
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = Draft::new(Kind::Playbook, "count permits by ward")
            .with_step("sql", json!({"query": "select 1", "limit": 10}));
        assert_ne!(a.fingerprint(), c.fingerprint(), "kind is part of it");
        let d = Draft::new(Kind::Pathway, "count permits by ward")
            .with_step("sql", json!({"query": "select 2", "limit": 10}));
        assert_ne!(a.fingerprint(), d.fingerprint(), "arguments are part of it");
        let e = Draft::new(Kind::Pathway, "Count permits by ward")
            .with_step("sql", json!({"query": "select 1", "limit": 10}));
        assert_ne!(a.fingerprint(), e.fingerprint(), "case is kept");
    }

    #[test]
    fn drafts_are_validated() {
        assert!(Draft::from_json(r#"{"kind":"pathway","content":"  "}"#).is_err());
        assert!(Draft::from_json(r#"{"kind":"memo","content":"x"}"#).is_err());
        assert!(Draft::from_json(r#"{"kind":"pathway","content":"x","extra":1}"#).is_err());
        assert!(Draft::from_json("{not json").is_err());
        assert!(
            Draft::from_json(r#"{"kind":"pathway","content":"x","steps":[{"tool":" "}]}"#).is_err()
        );
        let ok = Draft::from_json(
            r#"{"kind":"playbook","content":"x","variables":["ward"],"metadata":{"a":"b"}}"#,
        )
        .unwrap();
        assert_eq!(ok.variables, vec!["ward"]);
    }

    #[test]
    fn kind_defaults_to_fact_and_is_part_of_the_fingerprint() {
        let fact = Draft::from_json(r#"{"content":"alice prefers metric units"}"#).unwrap();
        assert_eq!(fact.kind, Kind::Fact);
        assert_eq!("fact".parse::<Kind>().unwrap(), Kind::Fact);
        let pathway = Draft::new(Kind::Pathway, "alice prefers metric units");
        assert_ne!(fact.fingerprint(), pathway.fingerprint());
        let err = "memo".parse::<Kind>().unwrap_err().to_string();
        assert!(err.contains("fact, pathway or playbook"), "{err}");
    }
}
