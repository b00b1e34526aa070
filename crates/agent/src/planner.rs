//! The offline planner: a [`ChatModel`] that needs no model at all, so `lakehouse agent run`
//! works on a machine with nothing installed. It is labelled as such everywhere it is used.
//!
//! It plans from the task, the tools and the playbook preamble, the way a careful newcomer
//! would. Cold (no playbook): search every corpus for the task, note which corpus answered
//! best, search that corpus again, answer from the best hits citing their ids — four tool
//! calls. Warm (a playbook in the preamble): replay the playbook's steps with `{task}` filled
//! in, then answer — usually two. Answers quote the hits' snippets, so every number and id in
//! them comes from a tool result.

use async_trait::async_trait;
use lakehouse_models::{
    ChatModel, ChatRequest, ChatResponse, Message, ModelError, Role, ToolCall, Usage,
};
use serde_json::{Value, json};

use crate::tools::{FINAL_ANSWER, SCRATCHPAD_WRITE, SEARCH};

/// The marker the loop puts before each playbook step in the preamble.
pub(crate) const STEP_MARKER: &str = "  step: ";

/// Its model id.
pub const OFFLINE_ID: &str = "offline-planner";

/// A rule-based stand-in for a model; see the module docs.
#[derive(Debug, Default, Clone)]
pub struct OfflinePlanner;

fn call(n: usize, name: &str, arguments: Value) -> Message {
    Message {
        tool_calls: vec![ToolCall {
            id: format!("planner_{n}"),
            name: name.to_string(),
            arguments,
        }],
        ..Message::assistant("")
    }
}

/// Steps of the first playbook in the system messages.
fn playbook_steps(request: &ChatRequest, task: &str) -> Vec<(String, Value)> {
    let Some(system) = request.messages.iter().find(|m| m.role == Role::System) else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    let mut playbooks = 0;
    for line in system.content.lines() {
        if line.starts_with("- playbook ") {
            playbooks += 1;
            if playbooks > 1 {
                break;
            }
        }
        if let Some(json) = line.strip_prefix(STEP_MARKER)
            && let Ok(step) = serde_json::from_str::<Value>(json)
            && let Some(tool) = step["tool"].as_str()
        {
            let args = fill(&step["args"], task);
            steps.push((tool.to_string(), args));
        }
    }
    steps
}

/// `args` with `{task}` replaced by the task.
fn fill(args: &Value, task: &str) -> Value {
    match args {
        Value::String(s) => Value::String(s.replace("{task}", task)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, task)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, task)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Hits of the most recent search result that had any.
fn latest_hits(request: &ChatRequest) -> Vec<Value> {
    request
        .messages
        .iter()
        .rev()
        .filter(|m| m.role == Role::Tool && m.tool_name.as_deref() == Some(SEARCH))
        .filter_map(|m| serde_json::from_str::<Value>(&m.content).ok())
        .find_map(|v| v["hits"].as_array().filter(|h| !h.is_empty()).cloned())
        .unwrap_or_default()
}

fn answer(task: &str, hits: &[Value]) -> (String, Vec<String>) {
    if hits.is_empty() {
        return (format!("No records match \"{task}\"."), Vec::new());
    }
    let mut text = format!("For \"{task}\", the best matching records are:");
    let mut citations = Vec::new();
    for (n, hit) in hits.iter().take(3).enumerate() {
        let id = hit["id"].as_str().unwrap_or_default();
        let snippet = hit["snippet"].as_str().unwrap_or_default();
        text.push_str(&format!("\n{}. {snippet} [{id}]", n + 1));
        citations.push(id.to_string());
    }
    (text, citations)
}

#[async_trait]
impl ChatModel for OfflinePlanner {
    fn id(&self) -> &str {
        OFFLINE_ID
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let task = request
            .messages
            .iter()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.trim().to_string())
            .unwrap_or_default();
        let made: Vec<&ToolCall> = request
            .messages
            .iter()
            .flat_map(|m| &m.tool_calls)
            .collect();
        let n = made.len();
        let hits = latest_hits(request);
        let final_answer = |n| {
            let (text, citations) = answer(&task, &hits);
            call(
                n,
                FINAL_ANSWER,
                json!({"answer": text, "citations": citations}),
            )
        };
        let message = if request.tools.is_empty() {
            // The last call of a run, without tools: answer in text.
            Message::assistant(answer(&task, &hits).0)
        } else if made.iter().any(|c| c.name == FINAL_ANSWER) {
            // The reviewer asked for changes: answer again from the evidence.
            final_answer(n)
        } else {
            let steps = playbook_steps(request, &task);
            if !steps.is_empty() {
                match steps.get(n) {
                    Some((tool, args)) => call(n, tool, args.clone()),
                    None => final_answer(n),
                }
            } else {
                let best_corpus = hits
                    .first()
                    .and_then(|h| h["corpus"].as_str())
                    .map(str::to_string);
                match (n, best_corpus) {
                    (0, _) => call(n, SEARCH, json!({"query": task, "k": 5})),
                    (1, Some(corpus)) => call(
                        n,
                        SCRATCHPAD_WRITE,
                        json!({"note": format!("The best hits for this task come from corpus {corpus}; search it alone.")}),
                    ),
                    (2, Some(corpus)) => call(
                        n,
                        SEARCH,
                        json!({"query": task, "corpora": [corpus], "k": 5}),
                    ),
                    _ => final_answer(n),
                }
            }
        };
        Ok(ChatResponse {
            message,
            usage: Usage::default(),
            finish_reason: Some("stop".into()),
        })
    }
}

/// The chat model a spec names: `offline` (this planner), `ollama:MODEL[@URL]` or
/// `openai:MODEL[@URL]`.
pub fn open_model(
    spec: &str,
) -> Result<std::sync::Arc<dyn lakehouse_models::ChatModel>, lakehouse_models::ModelError> {
    if spec == "offline" {
        return Ok(std::sync::Arc::new(OfflinePlanner));
    }
    lakehouse_models::open_chat(&spec.parse::<lakehouse_models::ChatSpec>()?)
}
