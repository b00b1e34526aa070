//! The error type of this crate.

use std::path::PathBuf;

/// What can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// An embedder spec string could not be understood.
    #[error(
        "unknown embedder {spec:?}: expected hash[:DIM], minilm[:DIR], ollama:MODEL or openai:MODEL"
    )]
    UnknownEmbedder {
        /// The spec as given.
        spec: String,
    },
    /// A chat model spec string could not be understood.
    #[error("unknown chat model {spec:?}: expected ollama:MODEL[@URL] or openai:MODEL[@URL]")]
    UnknownChatModel {
        /// The spec as given.
        spec: String,
    },
    /// The model folder is missing or lacks a file.
    #[error(
        "model file {path} is missing; fetch the model with scripts/fetch-model.sh (or set LAKEHOUSE_MINILM_DIR)"
    )]
    ModelMissing {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A model file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A model file was read but its content is not what the model needs.
    #[error("invalid model file {path}: {message}")]
    InvalidModel {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The tensor runtime failed.
    #[error("model runtime: {0}")]
    Runtime(#[from] candle_core::Error),
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The HTTP request to a model server failed (connection, timeout).
    #[error("request to {url} failed: {source}")]
    Http {
        /// The endpoint.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The model server answered with an error status.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The model server answered 200 with a body we cannot use.
    #[error("unexpected response from {url}: {message}")]
    BadResponse {
        /// The endpoint.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// A vector of the wrong size.
    #[error("embedder {embedder} returned vectors of dimension {got}, expected {expected}")]
    Dimension {
        /// The embedder's id.
        embedder: String,
        /// The dimension it declared.
        expected: usize,
        /// The dimension it returned.
        got: usize,
    },
    /// A configuration value (environment variable, option) is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A blocking worker was cancelled or panicked.
    #[error("embedding worker stopped: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

impl ModelError {
    /// Who is at fault: a spec or option that cannot be understood is the caller's; a model
    /// server that fails or a model that is not installed is unavailable; the rest is ours.
    pub fn fault(&self) -> lakehouse_store::Fault {
        use lakehouse_store::Fault;
        match self {
            Self::UnknownEmbedder { .. } | Self::UnknownChatModel { .. } | Self::Config(_) => {
                Fault::BadInput
            }
            Self::ModelMissing { .. }
            | Self::Http { .. }
            | Self::Status { .. }
            | Self::BadResponse { .. } => Fault::Unavailable,
            Self::Io { .. }
            | Self::InvalidModel { .. }
            | Self::Runtime(_)
            | Self::Tokenizer(_)
            | Self::Dimension { .. }
            | Self::Worker(_) => Fault::Internal,
        }
    }
}
