//! Chat models: the [`ChatModel`] trait the agent loop calls, its message and tool types, and
//! the implementations — Ollama's native `/api/chat` ([`OllamaChat`]), any OpenAI-compatible
//! `/v1/chat/completions` ([`OpenAiChat`]), and a [`ScriptedModel`] that replays a queue of
//! answers for tests and archived sessions.
//!
//! Tool calls arrive natively from both servers (arguments as an object from Ollama, as a JSON
//! string from OpenAI; both become a JSON value here). Models that print tool calls as text
//! instead are handled by [`extract_text_tool_calls`], and arguments are checked against the
//! tool's JSON schema with [`validate_arguments`].

mod http;
mod ollama;
mod openai;
mod schema;
mod scripted;
mod spec;
mod text_calls;

pub use scripted::Scripted;
pub use text_calls::TextCalls;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ModelError;

pub use ollama::{DEFAULT_NUM_CTX, OllamaChat};
pub use openai::OpenAiChat;
pub use schema::validate_arguments;
pub use scripted::ScriptedModel;
pub use spec::{ChatSpec, open_chat};
pub use text_calls::extract_text_tool_calls;

/// Who said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The task, or anything from the user.
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Its id (from the server, or made up when the server gives none).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// Its arguments (a JSON value; not yet validated).
    pub arguments: Value,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// The text.
    pub content: String,
    /// Tool calls (assistant messages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call this answers (tool messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The tool that answered (tool messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

impl Message {
    /// A message with text only.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// The result of `call`.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(call.id.clone()),
            tool_name: Some(call.name.clone()),
            ..Self::new(Role::Tool, content)
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Its name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// Its arguments as a JSON schema (an object schema).
    pub parameters: Value,
}

/// `tools` as both servers take them: `[{"type": "function", "function": {name, description,
/// parameters}}]`.
pub(crate) fn tools_json(tools: &[ToolSpec]) -> Value {
    tools
        .iter()
        .map(|t| {
            serde_json::json!({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}})
        })
        .collect()
}

/// One request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools offered (none: the model must answer in text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Ask for a JSON object as the answer (ignored when tools are offered: Ollama must never
    /// get `format` together with `tools`).
    #[serde(default)]
    pub json: bool,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

/// Tokens spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Generated tokens.
    pub completion_tokens: u64,
}

impl Usage {
    /// Both together.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// Add `other` to this.
    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The assistant's message (text and/or tool calls).
    pub message: Message,
    /// Tokens spent (zero when the server does not say).
    pub usage: Usage,
    /// Why generation stopped, as the server put it (`stop`, `length`, `tool_calls`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// A chat model.
///
/// `chat` sends the whole conversation and returns the assistant's next message. Transient
/// server failures (connection errors, 429, 5xx) are retried with backoff before the answer
/// starts; a server that does not answer within the timeout is a [`ModelError::Http`] error.
#[async_trait]
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// Its id, e.g. `ollama:qwen3` or `openai:gpt-4o-mini`.
    fn id(&self) -> &str;

    /// The next assistant message for `request`.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;
}
