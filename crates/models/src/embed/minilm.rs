//! The `minilm` embedder: sentence-transformers all-MiniLM-L6-v2 run in-process with candle.
//!
//! Loads `config.json`, `tokenizer.json` and `model.safetensors` from a local folder (put in
//! place by `scripts/fetch-model.sh`), and reproduces sentence-transformers' pipeline: truncate to
//! the model's `max_seq_length`, run BERT, mean-pool over real tokens, L2-normalise.
//!
//! Speed comes from not wasting work on padding: texts are tokenised, sorted by length and cut
//! into batches, and each batch's sequences are packed end to end (the shipped `tokenizer.json`
//! pads everything to 128 tokens, which we turn off). When there are several batches, each core
//! runs whole batches on its own single-thread pool; a single batch (a query) uses every core
//! inside each operation. The encoder itself is ours ([`super::bert`]), tuned for CPUs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokenizers::{Tokenizer, TruncationParams};

use super::bert::Bert;
use super::weights::{BertConfig, Weights};
use super::{Embedder, check_shape};
use crate::ModelError;

/// The folder the model is looked for in when none is given: `$LAKEHOUSE_MINILM_DIR`, else
/// `$XDG_CACHE_HOME/lakehouse/models/all-MiniLM-L6-v2`, else `~/.cache/lakehouse/models/…`.
/// `scripts/fetch-model.sh` fills the same folder.
pub fn default_minilm_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LAKEHOUSE_MINILM_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("lakehouse/models/all-MiniLM-L6-v2")
}

/// How to run MiniLM.
#[derive(Debug, Clone)]
pub struct MiniLmOptions {
    /// Texts per forward pass (after sorting by length). Default 32.
    pub batch_size: usize,
    /// Override the model's maximum sequence length (tokens, including `[CLS]`/`[SEP]`).
    pub max_seq_length: Option<usize>,
}

impl Default for MiniLmOptions {
    fn default() -> Self {
        Self {
            batch_size: 32,
            max_seq_length: None,
        }
    }
}

struct Inner {
    model: Bert,
    tokenizer: Tokenizer,
    dim: usize,
    batch_size: usize,
    max_seq_length: usize,
    /// One single-thread pool per core, for running several batches side by side.
    workers: Vec<rayon::ThreadPool>,
}

/// all-MiniLM-L6-v2 (or another BERT sentence-transformer with mean pooling) run in-process.
#[derive(Clone)]
pub struct MiniLm {
    inner: Arc<Inner>,
    id: String,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("id", &self.id)
            .field("dim", &self.inner.dim)
            .field("max_seq_length", &self.inner.max_seq_length)
            .finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ModelError::ModelMissing {
                path: path.to_path_buf(),
            }
        } else {
            ModelError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

fn json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    serde_json::from_slice(&read(path)?).map_err(|e| ModelError::InvalidModel {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[derive(serde::Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
}

#[derive(serde::Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
}

impl MiniLm {
    /// Load the model from `dir`.
    pub fn load(dir: &Path, options: &MiniLmOptions) -> Result<Self, ModelError> {
        let config_path = dir.join("config.json");
        let config: BertConfig = json(&config_path)?;
        let pooling_path = dir.join("1_Pooling/config.json");
        if pooling_path.exists() {
            let pooling: PoolingConfig = json(&pooling_path)?;
            if !pooling.pooling_mode_mean_tokens {
                return Err(ModelError::InvalidModel {
                    path: pooling_path,
                    message: "only mean pooling is supported".into(),
                });
            }
        }
        let st_config = dir.join("sentence_bert_config.json");
        let model_max = if st_config.exists() {
            json::<SentenceBertConfig>(&st_config)?.max_seq_length
        } else {
            256
        };
        let max_seq_length = options.max_seq_length.unwrap_or(model_max).max(2);

        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.exists() {
            return Err(ModelError::ModelMissing {
                path: tokenizer_path,
            });
        }
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| ModelError::InvalidModel {
                path: tokenizer_path.clone(),
                message: e.to_string(),
            })?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_length,
                ..TruncationParams::default()
            }))
            .map_err(ModelError::Tokenizer)?;

        let weights_path = dir.join("model.safetensors");
        let weights = read(&weights_path)?;
        let vb = Weights::from_safetensors(&weights).map_err(|e| ModelError::InvalidModel {
            path: weights_path.clone(),
            message: e.to_string(),
        })?;
        drop(weights);
        let model = Bert::load(&vb, &config).map_err(|e| ModelError::InvalidModel {
            path: weights_path,
            message: e.to_string(),
        })?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "all-MiniLM-L6-v2".into());
        Ok(Self {
            id: format!("minilm:{name}"),
            inner: Arc::new(Inner {
                model,
                tokenizer,
                dim: config.hidden_size,
                batch_size: options.batch_size.max(1),
                max_seq_length,
                workers: single_thread_pools(),
            }),
        })
    }

    /// The maximum number of tokens per text; longer texts are truncated.
    pub fn max_seq_length(&self) -> usize {
        self.inner.max_seq_length
    }

    /// Embed synchronously on the calling thread (the async [`Embedder::embed`] runs this on a
    /// blocking worker).
    pub fn embed_blocking(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.inner.embed(texts)
    }
}

/// One single-thread rayon pool per core (none if threads cannot be started: batches then run
/// one after another, each on every core).
fn single_thread_pools() -> Vec<rayon::ThreadPool> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (0..cores)
        .map(|i| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .thread_name(move |_| format!("minilm-{i}"))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_default()
}

impl Inner {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(ModelError::Tokenizer)?;
        // Longest first, so the longest batches start first and the last ones to finish are short.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));
        let batches: Vec<&[usize]> = order.chunks(self.batch_size).collect();
        let mut out = vec![Vec::new(); texts.len()];
        let workers = self.workers.len().min(batches.len());
        if workers <= 1 {
            // One batch (a query, say): every core works on it, inside each operation.
            for batch in batches {
                for (i, v) in self.batch(&encodings, batch)? {
                    out[i] = v;
                }
            }
            return Ok(out);
        }
        // Several batches: each core runs whole batches on its own single-thread pool, so the
        // operations between matrix multiplies (norms, softmax, GELU, copies) run in parallel
        // too and no operation waits for another thread. Longest batches go first.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = self.workers[..workers]
                .iter()
                .map(|pool| {
                    let (next, batches, encodings) = (&next, &batches, &encodings);
                    scope.spawn(move || {
                        pool.install(|| {
                            let mut done = Vec::new();
                            loop {
                                let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(batch) = batches.get(b) else {
                                    return Ok::<_, ModelError>(done);
                                };
                                done.extend(self.batch(encodings, batch)?);
                            }
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<Vec<_>>()
        });
        for result in results {
            for (i, v) in result? {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Run one batch (indices into `encodings`) through the model; returns `(index, vector)`
    /// pairs. Sequences are packed end to end, so their lengths need not match.
    fn batch(
        &self,
        encodings: &[tokenizers::Encoding],
        batch: &[usize],
    ) -> Result<Vec<(usize, Vec<f32>)>, ModelError> {
        let sequences: Vec<&[u32]> = batch.iter().map(|&i| encodings[i].get_ids()).collect();
        let vectors = self.model.embed(&sequences)?;
        Ok(batch.iter().copied().zip(vectors).collect())
    }
}

#[async_trait]
impl Embedder for MiniLm {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.inner.dim
    }

    async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let owned: Vec<String> = texts.iter().map(|t| (*t).to_string()).collect();
        let inner = Arc::clone(&self.inner);
        let vectors = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            inner.embed(&refs)
        })
        .await??;
        check_shape(&self.id, self.inner.dim, texts.len(), &vectors)?;
        Ok(vectors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_folder_names_the_file_and_the_fix() {
        let err =
            MiniLm::load(Path::new("/nonexistent/minilm"), &MiniLmOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/minilm/config.json"), "{msg}");
        assert!(msg.contains("scripts/fetch-model.sh"), "{msg}");
    }

    #[test]
    fn corrupt_config_is_an_invalid_model_error() {
        let dir = std::env::temp_dir().join(format!("minilm-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), b"{ not json").unwrap();
        let err = MiniLm::load(&dir, &MiniLmOptions::default()).unwrap_err();
        assert!(matches!(err, ModelError::InvalidModel { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
