//! [`Corpora`]: the handle to every corpus in a store. Opens corpora lazily, caches loaded
//! segments (they are immutable) and the embedders queries need.
//!
//! Loaded segments are bounded by bytes (their files' sizes; [`DEFAULT_CACHE_BYTES`], see
//! [`Corpora::with_cache_bytes`]), least recently used out first. A view holding an evicted
//! segment is dropped with it, so memory follows the budget; a corpus bigger than the whole
//! budget is still served, the budget then exceeded by that one corpus.
//!
//! A loaded corpus version is trusted for a refresh interval ([`DEFAULT_REFRESH`]) before the
//! store is asked again for its newest manifest: asking costs a LIST, which on S3 is a round
//! trip per corpus per query. Commits made through the same handle are seen at once; commits
//! from other processes within the interval.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lakehouse_models::{CachedEmbedder, Embedder, EmbedderSpec, open_embedder};
use lakehouse_store::{Clock, SystemClock};
use object_store::{ObjectStore, ObjectStoreExt};

use crate::VectordError;
use crate::ann::{Neighbour, VectorIndexRead};
use crate::docs::Doc;
use crate::manifest::{self, Manifest};
use crate::segment::{self, Segment};

/// Query embeddings remembered per embedder.
const QUERY_CACHE: usize = 4096;

/// Bytes of loaded segments kept by default (the sum of their files' sizes).
pub const DEFAULT_CACHE_BYTES: u64 = 2 << 30;

/// Loaded segments, least recently used first out once their bytes pass the budget.
struct SegmentCache {
    lru: lru::LruCache<String, (Arc<Segment>, u64)>,
    bytes: u64,
    budget: u64,
}

impl SegmentCache {
    fn new(budget: u64) -> Self {
        Self {
            lru: lru::LruCache::unbounded(),
            bytes: 0,
            budget,
        }
    }

    fn get(&mut self, key: &str) -> Option<Arc<Segment>> {
        self.lru.get(key).map(|(seg, _)| Arc::clone(seg))
    }

    /// Keep `seg` (of `bytes`); the keys evicted to stay within the budget.
    fn insert(&mut self, key: String, seg: Arc<Segment>, bytes: u64) -> Vec<String> {
        if let Some((_, (_, old))) = self.lru.push(key, (seg, bytes)) {
            self.bytes -= old;
        }
        self.bytes += bytes;
        // the one just pushed is the newest, so it is never the one popped
        let mut evicted = Vec::new();
        while self.bytes > self.budget && self.lru.len() > 1 {
            let Some((gone, (_, size))) = self.lru.pop_lru() else {
                break;
            };
            self.bytes -= size;
            evicted.push(gone);
        }
        evicted
    }

    /// Forget every segment whose key starts with `prefix`.
    fn remove_prefix(&mut self, prefix: &str) {
        let keys: Vec<String> = self
            .lru
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            if let Some((_, size)) = self.lru.pop(&key) {
                self.bytes -= size;
            }
        }
    }
}

/// How long a loaded corpus version is served before the store is asked for a newer one.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(1);

/// A document key found in a corpus, with the segment holding it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    /// Index of the segment in the view.
    pub segment: usize,
    /// The document key.
    pub key: u64,
    /// The score (cosine for vectors, BM25 for text).
    pub score: f32,
}

/// One committed version of a corpus, loaded and ready to search.
#[derive(Debug)]
pub struct CorpusView {
    /// The manifest of this version.
    pub manifest: Manifest,
    segments: Vec<(Arc<Segment>, HashSet<u64>)>,
}

impl CorpusView {
    /// Live documents, with their segment index.
    pub fn live_docs(&self) -> impl Iterator<Item = (usize, &Doc)> + '_ {
        self.segments
            .iter()
            .enumerate()
            .flat_map(|(i, (seg, deleted))| {
                seg.docs
                    .iter()
                    .filter(move |d| !deleted.contains(&d.key))
                    .map(move |d| (i, d))
            })
    }

    /// The document `key` in segment `segment`.
    pub fn doc(&self, segment: usize, key: u64) -> Option<&Doc> {
        self.segments.get(segment)?.0.doc(key)
    }

    /// The stored vector of a document.
    pub fn vector(&self, segment: usize, key: u64) -> Result<Option<Vec<f32>>, VectordError> {
        match self.segments.get(segment) {
            Some((seg, _)) => Ok(seg.ann.get(key)?),
            None => Ok(None),
        }
    }

    /// The metadata columns of this corpus.
    pub fn meta_columns(&self) -> Vec<String> {
        self.manifest
            .source
            .as_ref()
            .map(|s| s.meta.clone())
            .unwrap_or_default()
    }

    fn keep<'a>(
        &'a self,
        segment: usize,
        filters: &'a [(String, String)],
    ) -> impl Fn(u64) -> bool + Sync + 'a {
        let (seg, deleted) = &self.segments[segment];
        move |key| {
            !deleted.contains(&key)
                && (filters.is_empty()
                    || seg.doc(key).is_some_and(|d| {
                        filters
                            .iter()
                            .all(|(c, v)| d.meta.get(c).is_some_and(|m| m == v))
                    }))
        }
    }

    /// Set the ANN search breadth on every segment.
    pub fn set_ef_search(&self, ef: usize) {
        for (seg, _) in &self.segments {
            seg.ann.set_ef_search(ef);
        }
    }

    /// The `k` nearest live documents to `query` that match `filters`, closest first.
    pub fn vector_search(
        &self,
        query: &[f32],
        k: usize,
        filters: &[(String, String)],
    ) -> Result<Vec<Found>, VectordError> {
        let mut all = Vec::new();
        for (i, (seg, deleted)) in self.segments.iter().enumerate() {
            let hits: Vec<Neighbour> = if deleted.is_empty() && filters.is_empty() {
                seg.ann.search(query, k, None)?
            } else {
                let keep = self.keep(i, filters);
                seg.ann.search(query, k, Some(&keep))?
            };
            all.extend(hits.into_iter().map(|n| Found {
                segment: i,
                key: n.key,
                score: n.score,
            }));
        }
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        all.truncate(k);
        Ok(all)
    }

    /// The `k` best live documents for `query` by BM25 that match `filters`.
    pub fn bm25_search(
        &self,
        query: &str,
        k: usize,
        filters: &[(String, String)],
    ) -> Result<Vec<Found>, VectordError> {
        let mut all = Vec::new();
        for (i, (seg, _)) in self.segments.iter().enumerate() {
            let keep = self.keep(i, &[]);
            for (key, score) in seg.bm25.search(query, k, filters, &keep)? {
                all.push(Found {
                    segment: i,
                    key,
                    score,
                });
            }
        }
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        all.truncate(k);
        Ok(all)
    }
}

/// Every corpus in one store.
pub struct Corpora {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) clock: Arc<dyn Clock>,
    segments: Mutex<SegmentCache>,
    views: Mutex<HashMap<String, (Arc<CorpusView>, Instant)>>,
    refresh: Duration,
    embedders: tokio::sync::Mutex<HashMap<String, Arc<dyn Embedder>>>,
}

impl std::fmt::Debug for Corpora {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Corpora").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The caches hold immutable values; a panic elsewhere cannot leave them half-updated.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Corpora {
    /// Corpora stored in `store` (under `corpora/`).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    /// Same, with an injected clock for commit times.
    pub fn with_clock(store: Arc<dyn ObjectStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            segments: Mutex::new(SegmentCache::new(DEFAULT_CACHE_BYTES)),
            views: Mutex::new(HashMap::new()),
            refresh: DEFAULT_REFRESH,
            embedders: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Serve a loaded corpus version for `interval` before asking the store for a newer one
    /// (default [`DEFAULT_REFRESH`]); zero asks on every search.
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh = interval;
        self
    }

    /// Keep at most `bytes` of loaded segments (their files' sizes), least recently used out
    /// first (default [`DEFAULT_CACHE_BYTES`]).
    pub fn with_cache_bytes(self, bytes: u64) -> Self {
        lock(&self.segments).budget = bytes;
        self
    }

    /// Bytes of loaded segments held now (the sum of their files' sizes).
    pub fn cached_bytes(&self) -> u64 {
        lock(&self.segments).bytes
    }

    /// Drop the loaded view of `name`, so the next search reads its newest manifest.
    pub(crate) fn forget(&self, name: &str) {
        lock(&self.views).remove(name);
    }

    /// Use `embedder` whenever a corpus or a build names `spec` (instead of opening it).
    pub async fn register_embedder(&self, spec: &EmbedderSpec, embedder: Arc<dyn Embedder>) {
        self.embedders
            .lock()
            .await
            .insert(spec.to_string(), embedder);
    }

    /// The embedder for `spec`, opened once and cached.
    pub async fn embedder(&self, spec: &EmbedderSpec) -> Result<Arc<dyn Embedder>, VectordError> {
        let mut embedders = self.embedders.lock().await;
        if let Some(e) = embedders.get(&spec.to_string()) {
            return Ok(Arc::clone(e));
        }
        let opened = open_embedder(spec).await?;
        let cached: Arc<dyn Embedder> = Arc::new(CachedEmbedder::new(opened, QUERY_CACHE));
        embedders.insert(spec.to_string(), Arc::clone(&cached));
        Ok(cached)
    }

    /// Names of all corpora, sorted.
    pub async fn names(&self) -> Result<Vec<String>, VectordError> {
        manifest::list_corpora(self.store.as_ref()).await
    }

    /// The current manifest of `name`.
    pub async fn manifest(&self, name: &str) -> Result<Manifest, VectordError> {
        self.try_manifest(name)
            .await?
            .ok_or(VectordError::UnknownCorpus {
                name: name.to_string(),
                known: self.names().await.unwrap_or_default(),
            })
    }

    pub(crate) async fn try_manifest(&self, name: &str) -> Result<Option<Manifest>, VectordError> {
        manifest::validate_name(name)?;
        match manifest::latest_version(self.store.as_ref(), name).await? {
            Some(v) => Ok(Some(
                manifest::read_manifest(self.store.as_ref(), name, v).await?,
            )),
            None => Ok(None),
        }
    }

    /// Every version's manifest still in the store (collection removes old ones: see
    /// [`Corpora::gc`]), oldest first.
    pub async fn history(&self, name: &str) -> Result<Vec<Manifest>, VectordError> {
        use futures::{StreamExt, TryStreamExt};
        manifest::validate_name(name)?;
        let versions = manifest::versions(self.store.as_ref(), name).await?;
        if versions.is_empty() {
            self.manifest(name).await?; // the unknown-corpus error
        }
        let store = self.store.as_ref();
        futures::stream::iter(versions)
            .map(|v| async move {
                match manifest::read_manifest(store, name, v).await {
                    // removed by a collection since the listing
                    Err(VectordError::Store(object_store::Error::NotFound { .. })) => Ok(None),
                    other => other.map(Some),
                }
            })
            .buffered(8)
            .try_filter_map(|m| async move { Ok(m) })
            .try_collect()
            .await
    }

    /// Load the current version of `name` (cached while it stays current; see the module
    /// documentation for how often that is checked).
    pub async fn open(&self, name: &str) -> Result<Arc<CorpusView>, VectordError> {
        manifest::validate_name(name)?;
        if let Some((view, checked)) = lock(&self.views).get(name)
            && checked.elapsed() < self.refresh
        {
            return Ok(Arc::clone(view));
        }
        let checked = Instant::now();
        let Some(version) = manifest::latest_version(self.store.as_ref(), name).await? else {
            return Err(VectordError::UnknownCorpus {
                name: name.to_string(),
                known: self.names().await.unwrap_or_default(),
            });
        };
        if let Some((view, at)) = lock(&self.views).get_mut(name)
            && view.manifest.version == version
        {
            *at = checked;
            return Ok(Arc::clone(view));
        }
        let manifest = manifest::read_manifest(self.store.as_ref(), name, version).await?;
        let view = Arc::new(self.load_view(manifest).await?);
        lock(&self.views).insert(name.to_string(), (Arc::clone(&view), checked));
        Ok(view)
    }

    pub(crate) async fn load_view(&self, manifest: Manifest) -> Result<CorpusView, VectordError> {
        let corpus = manifest.corpus.as_str();
        let loads = manifest.segments.iter().map(|entry| async move {
            let cache_key = format!("{corpus}/{}", entry.id);
            if let Some(seg) = lock(&self.segments).get(&cache_key) {
                return Ok::<_, VectordError>(seg);
            }
            let seg = Arc::new(segment::load(self.store.as_ref(), corpus, entry).await?);
            let bytes = entry.files.iter().map(|f| f.bytes).sum();
            let evicted = lock(&self.segments).insert(cache_key, Arc::clone(&seg), bytes);
            if !evicted.is_empty() {
                // a view holding an evicted segment would keep its memory: drop it too
                let evicted: HashSet<&str> = evicted.iter().map(String::as_str).collect();
                lock(&self.views).retain(|name, (view, _)| {
                    !view
                        .manifest
                        .segments
                        .iter()
                        .any(|e| evicted.contains(format!("{name}/{}", e.id).as_str()))
                });
            }
            Ok(seg)
        });
        let loaded = futures::future::try_join_all(loads).await?;
        let segments = loaded
            .into_iter()
            .zip(&manifest.segments)
            .map(|(seg, entry)| (seg, entry.deleted.iter().copied().collect()))
            .collect();
        let view = CorpusView { manifest, segments };
        view.set_ef_search(view.manifest.params.ef_search);
        Ok(view)
    }

    /// Delete a corpus: every manifest and segment file under `corpora/<name>/`.
    pub async fn drop_corpus(&self, name: &str) -> Result<u64, VectordError> {
        use futures::TryStreamExt;
        self.manifest(name).await?;
        let root = manifest::corpus_root(name);
        let objects: Vec<_> = self.store.list(Some(&root)).try_collect().await?;
        // Manifests first, so a half-finished drop leaves no readable corpus behind.
        let (manifests, rest): (Vec<_>, Vec<_>) = objects
            .into_iter()
            .partition(|o| o.location.as_ref().contains("/manifests/"));
        let mut deleted = 0;
        for o in manifests.into_iter().rev().chain(rest) {
            self.store.delete(&o.location).await?;
            deleted += 1;
        }
        self.forget(name);
        lock(&self.segments).remove_prefix(&format!("{name}/"));
        Ok(deleted)
    }
}
