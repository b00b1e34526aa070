//! Any OpenAI-compatible chat endpoint, `POST {base}/chat/completions`, streamed as server-sent
//! events with the usage in the last chunk (`stream_options.include_usage`).
//!
//! Tool call arguments arrive as a JSON *string*, in fragments spread over many chunks (joined
//! by the call's `index`); they are parsed once the stream ends. Arguments that are not valid
//! JSON are kept as a string so the loop can tell the model what was wrong.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::http::{DEFAULT_TIMEOUT, Lines, bad, client, post};
use super::{ChatModel, ChatRequest, ChatResponse, Message, Role, ToolCall, Usage, tools_json};
use crate::ModelError;

/// A model behind an OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    client: reqwest::Client,
    url: String,
    api_key: Option<String>,
    model: String,
    id: String,
}

impl OpenAiChat {
    /// `model` at `base_url` (e.g. `https://api.openai.com/v1`), with an API key if it needs one.
    pub fn new(base_url: &str, model: &str, api_key: Option<String>) -> Result<Self, ModelError> {
        Ok(Self {
            client: client(DEFAULT_TIMEOUT)?,
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key,
            model: model.to_string(),
            id: format!("openai:{model}"),
        })
    }

    /// Give up on a request after `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, ModelError> {
        self.client = client(timeout)?;
        Ok(self)
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let mut out = json!({ "role": m.role, "content": m.content });
                if !m.tool_calls.is_empty() {
                    out["tool_calls"] = m
                        .tool_calls
                        .iter()
                        .map(|c| {
                            json!({"id": c.id, "type": "function", "function": {
                                "name": c.name, "arguments": c.arguments.to_string()}})
                        })
                        .collect();
                }
                if let Some(id) = &m.tool_call_id {
                    out["tool_call_id"] = json!(id);
                }
                out
            })
            .collect();
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        if request.tools.is_empty() {
            if request.json {
                body["response_format"] = json!({"type": "json_object"});
            }
        } else {
            body["tools"] = tools_json(&request.tools);
        }
        body
    }
}

#[derive(Default)]
struct PartialCall {
    id: Option<String>,
    name: String,
    arguments: String,
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn id(&self) -> &str {
        &self.id
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let response = post(
            &self.client,
            &self.url,
            self.api_key.as_deref(),
            &self.body(request),
        )
        .await?;
        let mut lines = Lines::new(response, &self.url);
        let mut content = String::new();
        let mut calls: BTreeMap<u64, PartialCall> = BTreeMap::new();
        let mut usage = Usage::default();
        let mut finish = None;
        let mut done = false;
        while let Some(line) = lines.next().await? {
            let Some(data) = line.strip_prefix("data:").map(str::trim) else {
                continue; // comments, `event:` lines, blank separators
            };
            if data == "[DONE]" {
                done = true;
                break;
            }
            let chunk: Value = serde_json::from_str(data).map_err(|e| {
                bad(
                    &self.url,
                    format!("an event is not JSON ({e}): {data:.200}"),
                )
            })?;
            if let Some(error) = chunk.get("error") {
                return Err(bad(&self.url, format!("the server reported: {error}")));
            }
            if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
                usage.prompt_tokens = u["prompt_tokens"].as_u64().unwrap_or(0);
                usage.completion_tokens = u["completion_tokens"].as_u64().unwrap_or(0);
            }
            for choice in chunk["choices"].as_array().into_iter().flatten() {
                let delta = &choice["delta"];
                if let Some(text) = delta["content"].as_str() {
                    content.push_str(text);
                }
                for part in delta["tool_calls"].as_array().into_iter().flatten() {
                    let index = part["index"].as_u64().unwrap_or(calls.len() as u64);
                    let call = calls.entry(index).or_default();
                    if let Some(id) = part["id"].as_str() {
                        call.id = Some(id.to_string());
                    }
                    if let Some(name) = part["function"]["name"].as_str() {
                        call.name.push_str(name);
                    }
                    if let Some(args) = part["function"]["arguments"].as_str() {
                        call.arguments.push_str(args);
                    }
                }
                if let Some(reason) = choice["finish_reason"].as_str() {
                    finish = Some(reason.to_string());
                }
            }
        }
        if !done {
            return Err(bad(&self.url, "the stream ended without `data: [DONE]`"));
        }
        let tool_calls = calls
            .into_iter()
            .map(|(index, c)| {
                if c.name.is_empty() {
                    return Err(bad(&self.url, format!("tool call {index} has no name")));
                }
                let arguments = if c.arguments.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(&c.arguments).unwrap_or(Value::String(c.arguments))
                };
                Ok(ToolCall {
                    id: c.id.unwrap_or_else(|| format!("call_{index}")),
                    name: c.name,
                    arguments,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChatResponse {
            message: Message {
                tool_calls,
                ..Message::new(Role::Assistant, content)
            },
            usage,
            finish_reason: finish,
        })
    }
}
