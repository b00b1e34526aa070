//! [`CachedEmbedder`]: a content-hash cache in front of any embedder.
//!
//! Texts are keyed by their SHA-256 ([`content_hash`]); a text seen before (in this batch or an
//! earlier one) is not sent to the model again. The cache is bounded and forgets the oldest
//! entries first. Corpora add a persistent layer on top: a rebuild reuses the stored vectors of
//! documents whose content hash did not change.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Embedder, content_hash};
use crate::ModelError;

/// Hit and miss counts of a [`CachedEmbedder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Texts answered from the cache.
    pub hits: u64,
    /// Texts sent to the model.
    pub misses: u64,
}

#[derive(Default)]
struct State {
    vectors: HashMap<String, Arc<[f32]>>,
    order: VecDeque<String>,
    stats: CacheStats,
}

/// Wraps an embedder with a bounded content-hash cache.
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    capacity: usize,
    state: Mutex<State>,
}

impl std::fmt::Debug for CachedEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedEmbedder")
            .field("inner", &self.inner)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl CachedEmbedder {
    /// Cache up to `capacity` vectors in front of `inner`.
    pub fn new(inner: Arc<dyn Embedder>, capacity: usize) -> Self {
        Self {
            inner,
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        self.lock().stats
    }

    /// Put a known vector into the cache (e.g. one read back from a stored corpus).
    pub fn insert(&self, hash: String, vector: Arc<[f32]>) {
        let mut state = self.lock();
        Self::insert_locked(&mut state, self.capacity, hash, vector);
    }

    fn insert_locked(state: &mut State, capacity: usize, hash: String, vector: Arc<[f32]>) {
        if state.vectors.insert(hash.clone(), vector).is_none() {
            state.order.push_back(hash);
            while state.order.len() > capacity {
                if let Some(old) = state.order.pop_front() {
                    state.vectors.remove(&old);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Embedder for CachedEmbedder {
    fn id(&self) -> &str {
        self.inner.id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let hashes: Vec<String> = texts.iter().map(|t| content_hash(t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        // Texts to send, each once, with the positions that want its vector.
        let mut wanted: Vec<(&str, Vec<usize>)> = Vec::new();
        {
            let mut state = self.lock();
            let mut pending: HashMap<&str, usize> = HashMap::new();
            for (i, hash) in hashes.iter().enumerate() {
                if let Some(v) = state.vectors.get(hash) {
                    out[i] = Some(v.to_vec());
                    state.stats.hits += 1;
                } else if let Some(&slot) = pending.get(hash.as_str()) {
                    wanted[slot].1.push(i);
                    state.stats.hits += 1;
                } else {
                    pending.insert(hash.as_str(), wanted.len());
                    wanted.push((texts[i], vec![i]));
                    state.stats.misses += 1;
                }
            }
        }
        if !wanted.is_empty() {
            let batch: Vec<&str> = wanted.iter().map(|(t, _)| *t).collect();
            let vectors = self.inner.embed(&batch).await?;
            super::check_shape(self.inner.id(), self.inner.dim(), batch.len(), &vectors)?;
            let mut state = self.lock();
            for ((_, positions), vector) in wanted.iter().zip(vectors) {
                let shared: Arc<[f32]> = vector.into();
                for &p in positions {
                    out[p] = Some(shared.to_vec());
                }
                Self::insert_locked(
                    &mut state,
                    self.capacity,
                    hashes[positions[0]].clone(),
                    shared,
                );
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashEmbedder;

    #[tokio::test]
    async fn repeated_texts_are_embedded_once() {
        let cached = CachedEmbedder::new(Arc::new(HashEmbedder::new(32).unwrap()), 10);
        let first = cached.embed(&["a b", "c d", "a b"]).await.unwrap();
        assert_eq!(first[0], first[2]);
        assert_eq!(cached.stats(), CacheStats { hits: 1, misses: 2 });
        let second = cached.embed(&["c d"]).await.unwrap();
        assert_eq!(second[0], first[1]);
        assert_eq!(cached.stats(), CacheStats { hits: 2, misses: 2 });
    }

    #[tokio::test]
    async fn oldest_entries_are_forgotten_past_capacity() {
        let cached = CachedEmbedder::new(Arc::new(HashEmbedder::new(32).unwrap()), 2);
        cached.embed(&["one", "two", "three"]).await.unwrap();
        cached.embed(&["one"]).await.unwrap();
        assert_eq!(
            cached.stats().misses,
            4,
            "`one` was evicted and embedded again"
        );
        cached.embed(&["three"]).await.unwrap();
        assert_eq!(cached.stats().hits, 1);
    }
}
