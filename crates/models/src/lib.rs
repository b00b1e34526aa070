//! Models for Lakehouse: the [`Embedder`] trait and its implementations.
//!
//! An embedder turns text into fixed-size vectors for the corpora's ANN indexes. Four kinds exist,
//! chosen by a spec string ([`EmbedderSpec`]): `hash` (built in, hashed word and character
//! n-grams; for tests and as an explicit last resort), `minilm` (sentence-transformers
//! all-MiniLM-L6-v2 run in-process with candle from a local folder that
//! `scripts/fetch-model.sh` puts in place), `ollama` (`/api/embed`) and `openai`
//! (`/v1/embeddings`, any OpenAI-compatible server). [`CachedEmbedder`] wraps any of them with a
//! content-hash cache so the same text is never embedded twice.
//!
//! The agent loop's chat models are in [`chat`]: the [`ChatModel`] trait, Ollama's `/api/chat`
//! and OpenAI-compatible `/v1/chat/completions` (both streamed, with tools), a scripted model,
//! the text tool-call fallback and argument validation.

pub mod chat;
mod embed;
mod error;
mod http;

pub use chat::{
    ChatModel, ChatRequest, ChatResponse, ChatSpec, Message, Role, ToolCall, ToolSpec, Usage,
    open_chat,
};
pub use embed::cache::{CacheStats, CachedEmbedder};
pub use embed::hash::{DEFAULT_HASH_DIM, HashEmbedder};
pub use embed::http::{OllamaEmbedder, OpenAiEmbedder};
pub use embed::minilm::{MiniLm, MiniLmOptions, default_minilm_dir};
pub use embed::spec::{EmbedderSpec, open_embedder};
pub use embed::{Embedder, content_hash, cosine};
pub use error::ModelError;
