//! Ollama's native chat endpoint, `POST {base}/api/chat`, streamed as NDJSON.
//!
//! Every request carries `options.num_ctx` (Ollama's default context is small and silently
//! truncates long conversations) and `keep_alive`; `format` is sent only for JSON answers
//! without tools (Ollama must never get both). Tool call arguments arrive as JSON objects.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::http::{DEFAULT_TIMEOUT, Lines, bad, client, post};
use super::{ChatModel, ChatRequest, ChatResponse, Message, Role, ToolCall, Usage, tools_json};
use crate::ModelError;

/// Context window sent with every request unless set otherwise.
pub const DEFAULT_NUM_CTX: u32 = 16_384;

/// A model served by Ollama.
#[derive(Debug, Clone)]
pub struct OllamaChat {
    client: reqwest::Client,
    url: String,
    model: String,
    id: String,
    num_ctx: u32,
    keep_alive: String,
}

impl OllamaChat {
    /// `model` on the Ollama server at `base_url` (e.g. `http://127.0.0.1:11434`).
    pub fn new(base_url: &str, model: &str) -> Result<Self, ModelError> {
        Ok(Self {
            client: client(DEFAULT_TIMEOUT)?,
            url: format!("{}/api/chat", base_url.trim_end_matches('/')),
            model: model.to_string(),
            id: format!("ollama:{model}"),
            num_ctx: DEFAULT_NUM_CTX,
            keep_alive: "30m".into(),
        })
    }

    /// Use a context window of `num_ctx` tokens.
    pub fn with_num_ctx(mut self, num_ctx: u32) -> Self {
        self.num_ctx = num_ctx;
        self
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
                            // Ollama reads arguments as an object; a call whose arguments were
                            // not one (already answered with an error) is echoed with none.
                            let arguments = if c.arguments.is_object() {
                                c.arguments.clone()
                            } else {
                                json!({})
                            };
                            json!({"function": {"name": c.name, "arguments": arguments}})
                        })
                        .collect();
                }
                if let Some(name) = &m.tool_name {
                    out["tool_name"] = json!(name);
                }
                out
            })
            .collect();
        let mut options = json!({ "num_ctx": self.num_ctx });
        if let Some(t) = request.temperature {
            options["temperature"] = json!(t);
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "options": options,
            "keep_alive": self.keep_alive,
        });
        if request.tools.is_empty() {
            if request.json {
                body["format"] = json!("json");
            }
        } else {
            body["tools"] = tools_json(&request.tools);
        }
        body
    }
}

#[async_trait]
impl ChatModel for OllamaChat {
    fn id(&self) -> &str {
        &self.id
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let response = post(&self.client, &self.url, None, &self.body(request)).await?;
        let mut lines = Lines::new(response, &self.url);
        let mut content = String::new();
        let mut calls = Vec::new();
        let mut usage = Usage::default();
        let mut finish = None;
        let mut done = false;
        while let Some(line) = lines.next().await? {
            if line.trim().is_empty() {
                continue;
            }
            let chunk: Value = serde_json::from_str(&line).map_err(|e| {
                bad(
                    &self.url,
                    format!("a streamed line is not JSON ({e}): {line:.200}"),
                )
            })?;
            if let Some(error) = chunk.get("error") {
                return Err(bad(&self.url, format!("the server reported: {error}")));
            }
            if let Some(text) = chunk["message"]["content"].as_str() {
                content.push_str(text);
            }
            for call in chunk["message"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let name = call["function"]["name"]
                    .as_str()
                    .ok_or_else(|| bad(&self.url, format!("a tool call without a name: {call}")))?;
                let arguments = match &call["function"]["arguments"] {
                    // Some versions send the arguments as a JSON string, like OpenAI.
                    Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
                    Value::Null => json!({}),
                    other => other.clone(),
                };
                calls.push(ToolCall {
                    id: call["id"]
                        .as_str()
                        .map_or_else(|| format!("call_{}", calls.len()), str::to_string),
                    name: name.to_string(),
                    arguments,
                });
            }
            if chunk["done"].as_bool() == Some(true) {
                usage.prompt_tokens = chunk["prompt_eval_count"].as_u64().unwrap_or(0);
                usage.completion_tokens = chunk["eval_count"].as_u64().unwrap_or(0);
                finish = chunk["done_reason"].as_str().map(str::to_string);
                done = true;
                break;
            }
        }
        if !done {
            return Err(bad(
                &self.url,
                "the stream ended without a final `done` message",
            ));
        }
        Ok(ChatResponse {
            message: Message {
                tool_calls: calls,
                ..Message::new(Role::Assistant, content)
            },
            usage,
            finish_reason: finish,
        })
    }
}
