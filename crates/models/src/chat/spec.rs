//! Chat model specs: `ollama:MODEL[@URL]` and `openai:MODEL[@URL]`, like the embedder specs.

use std::sync::Arc;

use super::{ChatModel, OllamaChat, OpenAiChat};
use crate::ModelError;
use crate::embed::http::{OllamaEmbedder, OpenAiEmbedder};

/// Which chat model to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatSpec {
    /// A model on an Ollama server (default `OLLAMA_HOST` or `http://127.0.0.1:11434`).
    Ollama {
        /// The model, e.g. `qwen3:8b`.
        model: String,
        /// The server's base URL.
        url: Option<String>,
    },
    /// A model on an OpenAI-compatible server (default `OPENAI_BASE_URL` or OpenAI), key from
    /// `OPENAI_API_KEY`.
    OpenAi {
        /// The model, e.g. `gpt-4o-mini`.
        model: String,
        /// The server's base URL (ending in `/v1`).
        url: Option<String>,
    },
}

impl std::fmt::Display for ChatSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, model, url) = match self {
            ChatSpec::Ollama { model, url } => ("ollama", model, url),
            ChatSpec::OpenAi { model, url } => ("openai", model, url),
        };
        write!(f, "{kind}:{model}")?;
        if let Some(url) = url {
            write!(f, "@{url}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ChatSpec {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || ModelError::UnknownChatModel {
            spec: s.to_string(),
        };
        let (kind, rest) = s.split_once(':').ok_or_else(unknown)?;
        let (model, url) = match rest.split_once('@') {
            Some((m, u)) => (m.to_string(), Some(u.to_string())),
            None => (rest.to_string(), None),
        };
        if model.is_empty() {
            return Err(unknown());
        }
        match kind {
            "ollama" => Ok(ChatSpec::Ollama { model, url }),
            "openai" => Ok(ChatSpec::OpenAi { model, url }),
            _ => Err(unknown()),
        }
    }
}

/// Open the chat model `spec` names (no request is made yet).
pub fn open_chat(spec: &ChatSpec) -> Result<Arc<dyn ChatModel>, ModelError> {
    Ok(match spec {
        ChatSpec::Ollama { model, url } => Arc::new(OllamaChat::new(
            url.as_deref()
                .map_or_else(OllamaEmbedder::default_base_url, str::to_string)
                .as_str(),
            model,
        )?),
        ChatSpec::OpenAi { model, url } => Arc::new(OpenAiChat::new(
            url.as_deref()
                .map_or_else(OpenAiEmbedder::default_base_url, str::to_string)
                .as_str(),
            model,
            std::env::var("OPENAI_API_KEY")
                .ok()
                .filter(|k| !k.is_empty()),
        )?),
    })
}
