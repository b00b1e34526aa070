//! Sealing: an accepted session distilled into a playbook and UPSERTed into memory.
//!
//! Distilling keeps the steps the answer rests on: searches whose results held a cited id,
//! narrowed to the corpora those ids came from; record fetches of cited ids; SQL queries that
//! succeeded. Scratchpad and memory look-ups are dropped. A query equal to the task becomes
//! `{task}`, so the playbook fits the next similar task. The same task solved the same way
//! again is the same workflow, so its UPSERT bumps `replay_count` instead of adding a record.

use std::collections::BTreeSet;

use lakehouse_memory::{Draft, Kind, Step};
use lakehouse_models::ToolCall;
use serde_json::{Value, json};

use crate::tools::{GET_RECORD, SEARCH, SQL, ToolResult};

/// The playbook for a session that answered `task` with `answer` citing `citations`, or
/// `None` when no step contributed to the answer.
pub fn distill(
    task: &str,
    calls: &[(ToolCall, ToolResult)],
    answer: &str,
    citations: &[String],
    session: &str,
    model: &str,
) -> Option<Draft> {
    let cited: BTreeSet<&str> = citations.iter().map(String::as_str).collect();
    let mut steps: Vec<Step> = Vec::new();
    let mut corpora_used = BTreeSet::new();
    let mut uses_task = false;
    for (call, result) in calls {
        if !result.ok {
            continue;
        }
        let args = match call.name.as_str() {
            SEARCH => {
                let corpora: BTreeSet<&str> = result
                    .seen
                    .iter()
                    .filter(|id| cited.contains(id.as_str()))
                    .filter_map(|id| id.split_once(':').map(|(c, _)| c))
                    .collect();
                if corpora.is_empty() {
                    continue;
                }
                corpora_used.extend(corpora.iter().map(|c| c.to_string()));
                let query = call.arguments["query"].as_str().unwrap_or_default();
                let query = if query.trim() == task.trim() {
                    uses_task = true;
                    "{task}".to_string()
                } else {
                    query.to_string()
                };
                let mut args = json!({"query": query, "corpora": corpora});
                if let Some(k) = call.arguments.get("k") {
                    args["k"] = k.clone();
                }
                args
            }
            GET_RECORD if cited.contains(call.arguments["id"].as_str().unwrap_or_default()) => {
                call.arguments.clone()
            }
            SQL => call.arguments.clone(),
            _ => continue,
        };
        let step = Step {
            tool: call.name.clone(),
            args,
            note: None,
        };
        if !steps.contains(&step) {
            steps.push(step);
        }
    }
    if steps.is_empty() {
        return None;
    }
    let mut draft = Draft::new(
        Kind::Playbook,
        task.split_whitespace().collect::<Vec<_>>().join(" "),
    );
    draft.steps = steps;
    draft.outcome = Some(answer.chars().take(500).collect());
    if uses_task {
        draft.variables.push("task".into());
    }
    if !corpora_used.is_empty() {
        draft.metadata.insert(
            "corpora".into(),
            corpora_used.into_iter().collect::<Vec<_>>().join(","),
        );
    }
    draft.metadata.insert("model".into(), model.to_string());
    draft.sessions.push(session.to_string());
    Some(draft)
}

/// The preamble for the matching playbooks: what each was for, how often it worked, and its
/// steps as JSON (one `  step: {…}` line each).
pub(crate) fn preamble(playbooks: &[lakehouse_memory::Record]) -> String {
    let mut text = String::from(
        "Playbooks that worked for similar tasks (follow the best fitting one; `{task}` stands for the task):\n",
    );
    for p in playbooks {
        text.push_str(&format!(
            "- playbook {} (used {} times, {} successes, {} failures): {}\n",
            p.id, p.replay_count, p.success_count, p.failure_count, p.draft.content
        ));
        for step in &p.draft.steps {
            let line: Value = json!({"tool": step.tool, "args": step.args});
            text.push_str(crate::planner::STEP_MARKER);
            text.push_str(&line.to_string());
            text.push('\n');
        }
    }
    text
}
