//! The observer: every candidate answer is reviewed before it is accepted.
//!
//! The heuristic reviewer checks what can be checked mechanically: the answer is not empty;
//! every cited id was shown by a tool in this session; when tools showed records, the answer
//! cites at least one; every number of two or more digits in the answer appears in some tool
//! result. The LLM reviewer (its own model, e.g. a cloud one) returns a structured verdict; when
//! it fails or returns something that is not a verdict, the heuristic one decides and the
//! verdict says so.

use std::collections::BTreeSet;
use std::sync::Arc;

use lakehouse_models::{ChatModel, ChatRequest, Message};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::tools::numbers_in;

/// What the reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Good: the run ends with this answer.
    Accept,
    /// Fixable: the agent continues with the feedback.
    Revise,
    /// Wrong: the agent continues with the feedback.
    Reject,
}

/// A review of one candidate answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Accept, revise or reject.
    pub decision: Decision,
    /// Who decided: `heuristic`, or the LLM reviewer's model id.
    pub reviewer: String,
    /// Claims the evidence does not support.
    #[serde(default)]
    pub unsupported_claims: Vec<String>,
    /// Citations that are missing or were never seen.
    #[serde(default)]
    pub missing_citations: Vec<String>,
    /// What to fix.
    #[serde(default)]
    pub feedback: String,
}

/// A candidate answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The answer text.
    pub answer: String,
    /// The record ids it cites.
    pub citations: Vec<String>,
}

/// What the session's tools showed, for checking an answer against.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Every record id a tool showed.
    pub seen_ids: BTreeSet<String>,
    /// Every tool result, in order.
    pub results: Vec<String>,
}

/// Who reviews candidates.
#[derive(Debug, Clone)]
pub enum Observer {
    /// Mechanical checks only.
    Heuristic,
    /// A model returning a structured verdict, with the heuristic one as its fallback.
    Llm(Arc<dyn ChatModel>),
}

impl Observer {
    /// The reviewer a spec names: `heuristic`, or a chat model spec (see
    /// [`open_model`](crate::planner::open_model)) for the LLM reviewer.
    pub fn from_spec(spec: &str) -> Result<Observer, lakehouse_models::ModelError> {
        Ok(match spec {
            "heuristic" => Observer::Heuristic,
            spec => Observer::Llm(crate::planner::open_model(spec)?),
        })
    }

    /// The reviewer's name for reports.
    pub fn name(&self) -> String {
        match self {
            Observer::Heuristic => "heuristic".into(),
            Observer::Llm(model) => model.id().to_string(),
        }
    }

    /// Review `candidate` for `task` against `evidence`.
    pub async fn review(&self, task: &str, candidate: &Candidate, evidence: &Evidence) -> Verdict {
        match self {
            Observer::Heuristic => heuristic(candidate, evidence),
            Observer::Llm(model) => match llm(model.as_ref(), task, candidate, evidence).await {
                Ok(verdict) => verdict,
                Err(why) => {
                    let mut verdict = heuristic(candidate, evidence);
                    verdict.reviewer =
                        format!("heuristic (LLM reviewer {} failed: {why})", model.id());
                    verdict
                }
            },
        }
    }
}

/// The mechanical review.
pub fn heuristic(candidate: &Candidate, evidence: &Evidence) -> Verdict {
    let mut verdict = Verdict {
        decision: Decision::Accept,
        reviewer: "heuristic".into(),
        unsupported_claims: Vec::new(),
        missing_citations: Vec::new(),
        feedback: String::new(),
    };
    if candidate.answer.trim().is_empty() {
        verdict.decision = Decision::Reject;
        verdict.feedback = "The answer is empty.".into();
        return verdict;
    }
    let unseen: Vec<String> = candidate
        .citations
        .iter()
        .filter(|c| !evidence.seen_ids.contains(c.trim()))
        .cloned()
        .collect();
    if !unseen.is_empty() {
        verdict.missing_citations.clone_from(&unseen);
        verdict.feedback.push_str(&format!(
            "These citations were never shown by a tool in this session: {}. Cite only ids from tool results. ",
            unseen.join(", ")
        ));
    }
    if candidate.citations.is_empty() && !evidence.seen_ids.is_empty() {
        verdict.missing_citations.push("(none given)".into());
        verdict
            .feedback
            .push_str("Cite the ids (`corpus:id`) of the records the answer rests on. ");
    }
    let known: BTreeSet<String> = evidence
        .results
        .iter()
        .flat_map(|r| numbers_in(r))
        .collect();
    let untraced: Vec<String> = numbers_in(&candidate.answer)
        .into_iter()
        .filter(|n| n.chars().filter(char::is_ascii_digit).count() >= 2 && !known.contains(n))
        .collect();
    if !untraced.is_empty() {
        verdict.unsupported_claims = untraced
            .iter()
            .map(|n| format!("the number {n} appears in no tool result"))
            .collect();
        verdict.feedback.push_str(&format!(
            "These numbers appear in no tool result: {}. Use only numbers the tools returned. ",
            untraced.join(", ")
        ));
    }
    if !verdict.feedback.is_empty() {
        verdict.decision = Decision::Revise;
        verdict.feedback = verdict.feedback.trim().to_string();
    }
    verdict
}

const REVIEW_PROMPT: &str = "You review an AI agent's answer before it is accepted. Check that every \
claim is supported by the evidence (tool results), every cited id appears in the evidence, and \
numbers match the evidence. Reply with one JSON object: {\"decision\": \"accept\" | \"revise\" | \
\"reject\", \"unsupported_claims\": [strings], \"missing_citations\": [strings], \"feedback\": \
\"what to fix\"}.";

/// Why the LLM reviewer gave no verdict (the heuristic review stands in, naming this).
#[derive(Debug, thiserror::Error)]
enum ReviewError {
    #[error(transparent)]
    Model(#[from] lakehouse_models::ModelError),
    #[error("not a verdict ({error}): {start}")]
    NotAVerdict {
        error: serde_json::Error,
        start: String,
    },
}

async fn llm(
    model: &dyn ChatModel,
    task: &str,
    candidate: &Candidate,
    evidence: &Evidence,
) -> Result<Verdict, ReviewError> {
    let mut shown = String::new();
    for result in &evidence.results {
        if shown.len() > 12_000 {
            shown.push_str("\n…");
            break;
        }
        shown.push_str(result);
        shown.push('\n');
    }
    let request = ChatRequest {
        messages: vec![
            Message::system(REVIEW_PROMPT),
            Message::user(
                json!({"task": task, "answer": candidate.answer, "citations": candidate.citations,
                    "ids_seen": evidence.seen_ids, "evidence": shown})
                .to_string(),
            ),
        ],
        json: true,
        temperature: Some(0.0),
        ..ChatRequest::default()
    };
    let response = model.chat(&request).await?;
    let text = response.message.content.trim();
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .map_or(text, |t| t.trim_end_matches("```").trim());
    #[derive(Deserialize)]
    struct Raw {
        decision: Decision,
        #[serde(default)]
        unsupported_claims: Vec<String>,
        #[serde(default)]
        missing_citations: Vec<String>,
        #[serde(default)]
        feedback: String,
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| ReviewError::NotAVerdict {
        error: e,
        start: text.chars().take(120).collect(),
    })?;
    Ok(Verdict {
        decision: raw.decision,
        reviewer: model.id().to_string(),
        unsupported_claims: raw.unsupported_claims,
        missing_citations: raw.missing_citations,
        feedback: raw.feedback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence() -> Evidence {
        Evidence {
            seen_ids: ["permits:P1".to_string(), "permits:P2".to_string()].into(),
            results: vec![r#"{"hits":[{"id":"permits:P1","snippet":"roof, cost 12,500"}]}"#.into()],
        }
    }

    fn candidate(answer: &str, citations: &[&str]) -> Candidate {
        Candidate {
            answer: answer.into(),
            citations: citations.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn heuristic_checks_citations_and_numbers() {
        let ok = heuristic(
            &candidate("Permit P1 re-roofs for 12500 dollars.", &["permits:P1"]),
            &evidence(),
        );
        assert_eq!(ok.decision, Decision::Accept, "{ok:?}");
        let unseen = heuristic(&candidate("See P9.", &["permits:P9"]), &evidence());
        assert_eq!(unseen.decision, Decision::Revise);
        assert_eq!(unseen.missing_citations, vec!["permits:P9"]);
        let uncited = heuristic(&candidate("Roofs.", &[]), &evidence());
        assert_eq!(uncited.decision, Decision::Revise);
        let invented = heuristic(&candidate("It cost 99,000.", &["permits:P1"]), &evidence());
        assert_eq!(invented.decision, Decision::Revise);
        assert!(
            invented.unsupported_claims[0].contains("99000"),
            "{invented:?}"
        );
        let empty = heuristic(&candidate("  ", &[]), &evidence());
        assert_eq!(empty.decision, Decision::Reject);
    }
}
