//! [`EmbedderSpec`]: the string that names an embedder (`--embedder` on the command line), and
//! [`open_embedder`] that turns it into a running one.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use super::Embedder;
use super::hash::{DEFAULT_HASH_DIM, HashEmbedder};
use super::http::{OllamaEmbedder, OpenAiEmbedder};
use super::minilm::{MiniLm, MiniLmOptions, default_minilm_dir};
use crate::ModelError;

/// Which embedder to use, parsed from `hash[:DIM]`, `minilm[:DIR]`, `ollama:MODEL[@URL]` or
/// `openai:MODEL[@URL]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbedderSpec {
    /// The built-in hash embedder.
    Hash {
        /// Vector length.
        dim: usize,
    },
    /// In-process MiniLM from a folder (default: [`default_minilm_dir`]).
    MiniLm {
        /// The model folder, when not the default.
        dir: Option<PathBuf>,
    },
    /// An Ollama model.
    Ollama {
        /// Model name, e.g. `nomic-embed-text`.
        model: String,
        /// Server base URL, when not from `OLLAMA_HOST`.
        url: Option<String>,
    },
    /// A model on an OpenAI-compatible server.
    OpenAi {
        /// Model name, e.g. `text-embedding-3-small`.
        model: String,
        /// Base URL ending in `/v1`, when not from `OPENAI_BASE_URL`.
        url: Option<String>,
    },
}

impl Default for EmbedderSpec {
    fn default() -> Self {
        EmbedderSpec::MiniLm { dir: None }
    }
}

fn model_and_url(rest: &str) -> (String, Option<String>) {
    match rest.split_once('@') {
        Some((model, url)) => (model.to_string(), Some(url.to_string())),
        None => (rest.to_string(), None),
    }
}

impl FromStr for EmbedderSpec {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || ModelError::UnknownEmbedder {
            spec: s.to_string(),
        };
        let (kind, rest) = match s.split_once(':') {
            Some((k, r)) => (k, Some(r)),
            None => (s, None),
        };
        match (kind, rest) {
            ("hash", None) => Ok(EmbedderSpec::Hash {
                dim: DEFAULT_HASH_DIM,
            }),
            ("hash", Some(dim)) => Ok(EmbedderSpec::Hash {
                dim: dim.parse().map_err(|_| unknown())?,
            }),
            ("minilm", None) => Ok(EmbedderSpec::MiniLm { dir: None }),
            ("minilm", Some(dir)) if !dir.is_empty() => Ok(EmbedderSpec::MiniLm {
                dir: Some(PathBuf::from(dir)),
            }),
            ("ollama", Some(rest)) if !rest.is_empty() && !rest.starts_with('@') => {
                let (model, url) = model_and_url(rest);
                Ok(EmbedderSpec::Ollama { model, url })
            }
            ("openai", Some(rest)) if !rest.is_empty() && !rest.starts_with('@') => {
                let (model, url) = model_and_url(rest);
                Ok(EmbedderSpec::OpenAi { model, url })
            }
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for EmbedderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbedderSpec::Hash { dim } => write!(f, "hash:{dim}"),
            EmbedderSpec::MiniLm { dir: None } => write!(f, "minilm"),
            EmbedderSpec::MiniLm { dir: Some(d) } => write!(f, "minilm:{}", d.display()),
            EmbedderSpec::Ollama { model, url: None } => write!(f, "ollama:{model}"),
            EmbedderSpec::Ollama {
                model,
                url: Some(u),
            } => write!(f, "ollama:{model}@{u}"),
            EmbedderSpec::OpenAi { model, url: None } => write!(f, "openai:{model}"),
            EmbedderSpec::OpenAi {
                model,
                url: Some(u),
            } => write!(f, "openai:{model}@{u}"),
        }
    }
}

/// Open the embedder `spec` names. MiniLM loads its weights (about a second); HTTP embedders ask
/// their server for the dimension. No fallback happens here: a missing model is an error.
pub async fn open_embedder(spec: &EmbedderSpec) -> Result<Arc<dyn Embedder>, ModelError> {
    Ok(match spec {
        EmbedderSpec::Hash { dim } => Arc::new(HashEmbedder::new(*dim)?),
        EmbedderSpec::MiniLm { dir } => {
            let dir = dir.clone().unwrap_or_else(default_minilm_dir);
            let model =
                tokio::task::spawn_blocking(move || MiniLm::load(&dir, &MiniLmOptions::default()))
                    .await??;
            Arc::new(model)
        }
        EmbedderSpec::Ollama { model, url } => {
            let url = url.clone().unwrap_or_else(OllamaEmbedder::default_base_url);
            Arc::new(OllamaEmbedder::connect(&url, model, None).await?)
        }
        EmbedderSpec::OpenAi { model, url } => {
            let url = url.clone().unwrap_or_else(OpenAiEmbedder::default_base_url);
            let key = std::env::var("OPENAI_API_KEY")
                .ok()
                .filter(|k| !k.is_empty());
            Arc::new(OpenAiEmbedder::connect(&url, model, key, None).await?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for s in [
            "hash:64",
            "minilm",
            "minilm:/models/x",
            "ollama:nomic-embed-text",
            "ollama:nomic-embed-text@http://127.0.0.1:1",
            "openai:text-embedding-3-small",
        ] {
            let spec: EmbedderSpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
        }
        assert_eq!(
            "hash".parse::<EmbedderSpec>().unwrap(),
            EmbedderSpec::Hash { dim: 256 }
        );
    }

    #[test]
    fn bad_specs_are_rejected_with_the_accepted_forms() {
        for s in [
            "",
            "bert",
            "hash:x",
            "ollama",
            "ollama:",
            "openai:@http://x",
            "minilm:",
        ] {
            let err = s.parse::<EmbedderSpec>().unwrap_err();
            assert!(err.to_string().contains("expected hash"), "{s}: {err}");
        }
    }
}
