//! [`DraftPatch`]: the fields a REVISE changes, everything else inherited from the tip.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::MemoryError;
use crate::record::{Draft, Kind, Step};

/// A change to a record's draft: each field that is `Some` replaces the tip's, each `None` keeps
/// it. As JSON, a field left out is kept; `"outcome": null` clears the outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftPatch {
    /// A new kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// New text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// New steps (the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Step>>,
    /// A new outcome (`Some(None)` clears it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub outcome: Option<Option<String>>,
    /// New playbook variables (the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<String>>,
    /// New metadata (the whole map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// New session links (the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Vec<String>>,
}

/// A field that is present deserialises to `Some`, even when it is `null`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl DraftPatch {
    /// Parse a patch from JSON, naming what is wrong.
    pub fn from_json(text: &str) -> Result<Self, MemoryError> {
        serde_json::from_str(text)
            .map_err(|e| MemoryError::InvalidInput(format!("not a record patch: {e}")))
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `base` with this patch's fields put in, validated.
    pub fn apply(&self, base: &Draft) -> Result<Draft, MemoryError> {
        if self.is_empty() {
            return Err(MemoryError::InvalidInput(
                "the revision changes nothing: give at least one field".into(),
            ));
        }
        let mut draft = base.clone();
        if let Some(kind) = self.kind {
            draft.kind = kind;
        }
        if let Some(content) = &self.content {
            draft.content.clone_from(content);
        }
        if let Some(steps) = &self.steps {
            draft.steps.clone_from(steps);
        }
        if let Some(outcome) = &self.outcome {
            draft.outcome.clone_from(outcome);
        }
        if let Some(variables) = &self.variables {
            draft.variables.clone_from(variables);
        }
        if let Some(metadata) = &self.metadata {
            draft.metadata.clone_from(metadata);
        }
        if let Some(sessions) = &self.sessions {
            draft.sessions.clone_from(sessions);
        }
        draft.validate()?;
        Ok(draft)
    }
}

impl From<Draft> for DraftPatch {
    /// A patch that replaces every field.
    fn from(draft: Draft) -> Self {
        Self {
            kind: Some(draft.kind),
            content: Some(draft.content),
            steps: Some(draft.steps),
            outcome: Some(draft.outcome),
            variables: Some(draft.variables),
            metadata: Some(draft.metadata),
            sessions: Some(draft.sessions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Draft {
        Draft::new(Kind::Playbook, "weekly roof report")
            .with_step("sql", serde_json::json!({"query": "SELECT 1"}))
            .with_meta("team", "ops")
            .with_outcome("sent")
            .with_session("s1")
    }

    #[test]
    fn fields_left_out_are_inherited() {
        let patch = DraftPatch::from_json(r#"{"content": "monthly roof report"}"#).unwrap();
        let got = patch.apply(&base()).unwrap();
        assert_eq!(got.content, "monthly roof report");
        assert_eq!(got.kind, Kind::Playbook);
        assert_eq!(got.steps, base().steps);
        assert_eq!(got.metadata, base().metadata);
        assert_eq!(got.outcome.as_deref(), Some("sent"));
        assert_eq!(got.sessions, ["s1"]);
    }

    #[test]
    fn null_outcome_clears_it_and_lists_replace_whole() {
        let patch =
            DraftPatch::from_json(r#"{"outcome": null, "metadata": {"a": "b"}, "steps": []}"#)
                .unwrap();
        let got = patch.apply(&base()).unwrap();
        assert_eq!(got.outcome, None);
        assert_eq!(got.metadata.len(), 1);
        assert_eq!(got.metadata["a"], "b");
        assert!(got.steps.is_empty());
        assert_eq!(got.content, "weekly roof report");
    }

    #[test]
    fn bad_patches_name_the_problem() {
        let empty = DraftPatch::default().apply(&base()).unwrap_err();
        assert!(empty.to_string().contains("changes nothing"), "{empty}");
        let blank = DraftPatch::from_json(r#"{"content": "  "}"#)
            .unwrap()
            .apply(&base())
            .unwrap_err();
        assert!(blank.to_string().contains("content is empty"), "{blank}");
        let unknown = DraftPatch::from_json(r#"{"contnet": "x"}"#).unwrap_err();
        assert!(unknown.to_string().contains("contnet"), "{unknown}");
        let kind = DraftPatch::from_json(r#"{"kind": "recipe"}"#).unwrap_err();
        assert!(kind.to_string().contains("recipe"), "{kind}");
    }

    #[test]
    fn a_whole_draft_is_a_patch_of_every_field() {
        let other = Draft::new(Kind::Pathway, "count permits");
        assert_eq!(
            DraftPatch::from(other.clone()).apply(&base()).unwrap(),
            other
        );
    }
}
