//! Embedders that call a model server over HTTP: Ollama (`POST /api/embed`) and any
//! OpenAI-compatible server (`POST /v1/embeddings`).
//!
//! Both send texts in batches, retry with exponential backoff on 429, 5xx and connection
//! errors (`crate::http`), time out, and learn their dimension from the server with one probe
//! request when it is not given. Servers do not all return unit vectors (the `Embedder`
//! contract), so every vector is normalised here; a non-finite value is an error.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Embedder, check_shape, normalise};
use crate::ModelError;
use crate::http::{bad, client};

/// Texts per request.
const BATCH: usize = 64;
/// Per-request timeout.
const TIMEOUT: Duration = Duration::from_secs(120);

/// POST `body` as JSON to `url` and parse the JSON answer, retrying transient failures.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
    body: &Value,
) -> Result<Value, ModelError> {
    let response = crate::http::post(client, url, bearer, body).await?;
    let text = response.text().await.map_err(|source| ModelError::Http {
        url: url.to_string(),
        source,
    })?;
    serde_json::from_str::<Value>(&text).map_err(|e| bad(url, format!("not JSON: {e}")))
}

/// Ollama's embedding endpoint, `POST {base}/api/embed`.
#[derive(Debug, Clone)]
pub struct OllamaEmbedder {
    client: reqwest::Client,
    url: String,
    model: String,
    id: String,
    dim: usize,
}

impl OllamaEmbedder {
    /// The Ollama base URL from `OLLAMA_HOST` (default `http://127.0.0.1:11434`).
    pub fn default_base_url() -> String {
        match std::env::var("OLLAMA_HOST") {
            Ok(host) if !host.is_empty() => {
                if host.contains("://") {
                    host
                } else {
                    format!("http://{host}")
                }
            }
            _ => "http://127.0.0.1:11434".into(),
        }
    }

    /// Connect to `model` on the server at `base_url`; asks the server once for the dimension
    /// when `dim` is `None`.
    pub async fn connect(
        base_url: &str,
        model: &str,
        dim: Option<usize>,
    ) -> Result<Self, ModelError> {
        let mut this = Self {
            client: client(TIMEOUT)?,
            url: format!("{}/api/embed", base_url.trim_end_matches('/')),
            model: model.to_string(),
            id: format!("ollama:{model}"),
            dim: 0,
        };
        this.dim = match dim {
            Some(d) => d,
            None => probe_dim(&this.request(&["dimension probe"]).await?, &this.url)?,
        };
        Ok(this)
    }

    async fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        #[derive(Deserialize)]
        struct Answer {
            embeddings: Vec<Vec<f32>>,
        }
        let body = json!({ "model": self.model, "input": texts, "truncate": true });
        let value = post_json(&self.client, &self.url, None, &body).await?;
        let answer: Answer =
            serde_json::from_value(value).map_err(|e| bad(&self.url, e.to_string()))?;
        Ok(answer.embeddings)
    }
}

/// Send `texts` in requests of at most [`BATCH`] and check the shape of the answer.
async fn in_batches<'a, F, Fut>(
    id: &str,
    dim: usize,
    texts: &'a [&'a str],
    request: F,
) -> Result<Vec<Vec<f32>>, ModelError>
where
    F: Fn(&'a [&'a str]) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Vec<f32>>, ModelError>>,
{
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(BATCH) {
        out.extend(request(chunk).await?);
    }
    check_shape(id, dim, texts.len(), &out)?;
    for (i, v) in out.iter_mut().enumerate() {
        if v.iter().any(|x| !x.is_finite()) {
            return Err(ModelError::Config(format!(
                "embedder {id} returned a vector with a non-finite value for text {i}"
            )));
        }
        normalise(v);
    }
    Ok(out)
}

fn probe_dim(vectors: &[Vec<f32>], url: &str) -> Result<usize, ModelError> {
    match vectors.first() {
        Some(v) if !v.is_empty() => Ok(v.len()),
        _ => Err(bad(url, "the server returned no vector for the probe text")),
    }
}

#[async_trait]
impl Embedder for OllamaEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        in_batches(&self.id, self.dim, texts, |chunk| self.request(chunk)).await
    }
}

/// An OpenAI-compatible embeddings endpoint, `POST {base}/embeddings` (base usually ends in
/// `/v1`).
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    url: String,
    api_key: Option<String>,
    model: String,
    id: String,
    dim: usize,
}

impl OpenAiEmbedder {
    /// The base URL from `OPENAI_BASE_URL` (default `https://api.openai.com/v1`).
    pub fn default_base_url() -> String {
        std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.openai.com/v1".into())
    }

    /// Connect to `model` at `base_url` with an optional API key (sent as a bearer token); asks
    /// the server once for the dimension when `dim` is `None`.
    pub async fn connect(
        base_url: &str,
        model: &str,
        api_key: Option<String>,
        dim: Option<usize>,
    ) -> Result<Self, ModelError> {
        let mut this = Self {
            client: client(TIMEOUT)?,
            url: format!("{}/embeddings", base_url.trim_end_matches('/')),
            api_key,
            model: model.to_string(),
            id: format!("openai:{model}"),
            dim: 0,
        };
        this.dim = match dim {
            Some(d) => d,
            None => probe_dim(&this.request(&["dimension probe"]).await?, &this.url)?,
        };
        Ok(this)
    }

    async fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        #[derive(Deserialize)]
        struct Item {
            index: usize,
            embedding: Vec<f32>,
        }
        #[derive(Deserialize)]
        struct Answer {
            data: Vec<Item>,
        }
        let body = json!({ "model": self.model, "input": texts, "encoding_format": "float" });
        let value = post_json(&self.client, &self.url, self.api_key.as_deref(), &body).await?;
        let answer: Answer =
            serde_json::from_value(value).map_err(|e| bad(&self.url, e.to_string()))?;
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for item in answer.data {
            let slot = slots
                .get_mut(item.index)
                .ok_or_else(|| bad(&self.url, format!("index {} out of range", item.index)))?;
            *slot = Some(item.embedding);
        }
        slots
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| bad(&self.url, format!("no embedding for input {i}"))))
            .collect()
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        in_batches(&self.id, self.dim, texts, |chunk| self.request(chunk)).await
    }
}
