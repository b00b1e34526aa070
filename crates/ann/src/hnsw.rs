//! [`HnswIndex`]: our HNSW index over unit vectors, scored by inner product (cosine).
//!
//! It keeps every vector in full (`f32`) and, with [`Quantization::Sq8`] (the default), an
//! 8-bit code of each ([`crate::sq8`]). Searches walk the graph on the codes — a quarter of the
//! memory per visit, so a 100k-vector corpus's codes stay in the CPU cache where full vectors
//! would not — and re-score the `ef` candidates they end with on the full vectors, so the
//! scores returned are exact and the order nearly so. With [`Quantization::F32`] the walk
//! itself uses the full vectors.
//!
//! Removal marks a node deleted (a tombstone): it still carries searches through the graph but
//! is never returned, and its key can be added again as a new node. Compaction (rebuilding a
//! segment) is what finally drops it.
//!
//! The graph is built on several threads at once; searches are lock-free and run on any number
//! of threads; [`VectorIndex::add`] and [`VectorIndex::remove`] take `&mut self`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::AnnError;
use crate::format;
use crate::graph::{F32Space, Graph, Locks, MAX_M, Space, Sq8Space, draw_level};
use crate::kernels::{KernelOp, Kernels, dispatch};
use crate::sq8::Sq8;
use crate::visited::{Visited, with_visited};
use crate::{AnnParams, MAX_EF, Neighbour, Quantization, VectorIndex, VectorIndexRead};

/// Below this many vectors an index searches on full vectors; the 8-bit scale is fitted once
/// it is reached, and fitted again each time the index doubles.
const FIT_AT: usize = 256;

/// An HNSW index (ours).
pub struct HnswIndex {
    pub(crate) dim: usize,
    pub(crate) params: AnnParams,
    pub(crate) ef_search: AtomicUsize,
    pub(crate) keys: Vec<u64>,
    pub(crate) deleted: Vec<bool>,
    pub(crate) vectors: Vec<f32>,
    pub(crate) graph: Graph,
    /// The 8-bit scale and codes, when the index quantizes and has been fitted.
    pub(crate) sq8: Option<(Sq8, Vec<u8>)>,
    /// How many nodes the scale was fitted on.
    pub(crate) fitted_on: usize,
    /// Live keys → node.
    pub(crate) nodes: HashMap<u64, u32>,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("dim", &self.dim)
            .field("len", &self.nodes.len())
            .field("nodes", &self.keys.len())
            .field("params", &self.params)
            .finish()
    }
}

fn check_params(dim: usize, params: &AnnParams) -> Result<(), AnnError> {
    if dim == 0 {
        return Err(AnnError::InvalidInput("vector dimension 0".into()));
    }
    if !(2..=MAX_M).contains(&params.m) {
        return Err(AnnError::InvalidInput(format!(
            "HNSW m must be between 2 and {MAX_M}, got {}",
            params.m
        )));
    }
    if !(1..=MAX_EF).contains(&params.ef_construction) {
        return Err(AnnError::InvalidInput(format!(
            "HNSW ef_construction must be between 1 and {MAX_EF}, got {}",
            params.ef_construction
        )));
    }
    if !(1..=MAX_EF).contains(&params.ef_search) {
        return Err(AnnError::InvalidInput(format!(
            "HNSW ef_search must be between 1 and {MAX_EF}, got {}",
            params.ef_search
        )));
    }
    Ok(())
}

fn check_dim(dim: usize, got: usize, what: &str) -> Result<(), AnnError> {
    if got == dim {
        Ok(())
    } else {
        Err(AnnError::InvalidInput(format!(
            "{what} of dimension {got} for an index of dimension {dim}"
        )))
    }
}

impl HnswIndex {
    /// An empty index. `capacity` reserves room; `threads` is unused (adds are sequential).
    pub fn new(
        dim: usize,
        params: &AnnParams,
        capacity: usize,
        _threads: usize,
    ) -> Result<Self, AnnError> {
        check_params(dim, params)?;
        Ok(Self {
            dim,
            params: *params,
            ef_search: AtomicUsize::new(params.ef_search.max(1)),
            keys: Vec::with_capacity(capacity),
            deleted: Vec::with_capacity(capacity),
            vectors: Vec::with_capacity(capacity.saturating_mul(dim)),
            graph: Graph::new(params.m),
            sq8: None,
            fitted_on: 0,
            nodes: HashMap::with_capacity(capacity),
        })
    }

    /// Build an index from `(key, vector)` pairs on `threads` threads. Keys must be distinct.
    pub fn build(
        dim: usize,
        params: &AnnParams,
        items: &[(u64, &[f32])],
        threads: usize,
    ) -> Result<Self, AnnError> {
        if u32::try_from(items.len()).is_err() {
            return Err(AnnError::InvalidInput(format!(
                "{} vectors in one index (at most 2^32)",
                items.len()
            )));
        }
        let mut index = Self::new(dim, params, items.len(), threads)?;
        for (key, vector) in items {
            check_dim(dim, vector.len(), "vector")?;
            let node = index.keys.len() as u32;
            if index.nodes.insert(*key, node).is_some() {
                return Err(AnnError::InvalidInput(format!(
                    "key {key} appears twice in one index"
                )));
            }
            index.keys.push(*key);
            index.deleted.push(false);
            index.vectors.extend_from_slice(vector);
            index.graph.push(draw_level(node, params.m));
        }
        index.fit();
        let n = index.keys.len();
        let threads = threads.clamp(1, n.max(1));
        let this = &index;
        if threads == 1 {
            with_visited(n, |visited| {
                dispatch(Inserts {
                    index: this,
                    next: &AtomicUsize::new(0),
                    locks: &Locks::new(1),
                    visited,
                });
            });
        } else {
            // The first node alone, so every thread starts from a graph with an entry point.
            with_visited(n, |visited| {
                dispatch(Insert {
                    index: this,
                    node: 0,
                    visited,
                });
            });
            let next = AtomicUsize::new(1);
            let locks = Locks::new(threads);
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        with_visited(n, |visited| {
                            dispatch(Inserts {
                                index: this,
                                next: &next,
                                locks: &locks,
                                visited,
                            });
                        });
                    });
                }
            });
        }
        Ok(index)
    }

    /// How this index stores its vectors.
    pub fn quantization(&self) -> Quantization {
        self.params.quantization
    }

    /// Its parameters (with the current search breadth).
    pub fn params(&self) -> AnnParams {
        AnnParams {
            ef_search: self.ef_search.load(Ordering::Relaxed),
            ..self.params
        }
    }

    /// Fit the 8-bit scale to every vector and encode them all (quantizing indexes only).
    fn fit(&mut self) {
        let n = self.keys.len();
        // Too few vectors for a scale that later ones fit: walk on the full vectors until then.
        if self.params.quantization != Quantization::Sq8 || n < FIT_AT {
            return;
        }
        let sq8 = Sq8::fit(&self.vectors, self.dim);
        let codes = sq8.encode_all(&self.vectors);
        self.sq8 = Some((sq8, codes));
        self.fitted_on = n;
    }

    /// Load an index saved by [`VectorIndex::to_bytes`]; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, AnnError> {
        format::decode(bytes).map_err(|e| AnnError::Corrupt {
            path: path.to_string(),
            message: e.to_string(),
        })
    }
}

// Each operation below runs inside `dispatch`, in a function compiled for the CPU's vector
// instructions. Everything it calls that touches a kernel is `#[inline(always)]` and written
// without closures (a closure is compiled on its own, without those instructions), and the
// thread's visited set is fetched before dispatching for the same reason.

/// Inserts nodes `next, next+1, …` (claimed from a shared counter) until none are left.
struct Inserts<'a> {
    index: &'a HnswIndex,
    next: &'a AtomicUsize,
    locks: &'a Locks,
    visited: &'a mut Visited,
}

impl KernelOp for Inserts<'_> {
    type Output = ();

    #[inline(always)]
    fn run<K: Kernels>(self, kernels: K) {
        let index = self.index;
        let n = index.keys.len();
        loop {
            let node = self.next.fetch_add(1, Ordering::Relaxed);
            if node >= n {
                return;
            }
            insert_node(index, kernels, node as u32, self.locks, self.visited);
        }
    }
}

/// One search, run with the CPU's kernels.
struct Search<'a, F> {
    index: &'a HnswIndex,
    query: &'a [f32],
    k: usize,
    ef: usize,
    admit: F,
    visited: &'a mut Visited,
}

impl<F: Fn(u32) -> bool> KernelOp for Search<'_, F> {
    type Output = Vec<Neighbour>;

    #[inline(always)]
    fn run<K: Kernels>(self, kernels: K) -> Vec<Neighbour> {
        let index = self.index;
        let exact = F32Space {
            kernels,
            vectors: &index.vectors,
            dim: index.dim,
            query: self.query,
        };
        let mut scored: Vec<(f32, u32)> = Vec::with_capacity(self.ef.min(index.keys.len()));
        match &index.sq8 {
            Some((sq8, codes)) => {
                let weights = sq8.weights(self.query);
                let space = Sq8Space {
                    kernels,
                    codes,
                    stride: sq8.stride(),
                    weights: &weights,
                };
                let found = index
                    .graph
                    .search(&space, self.ef, &self.admit, self.visited);
                // Exact scores for the candidates the codes found.
                for &(_, n) in &found {
                    exact.prefetch(n);
                }
                for (_, n) in found {
                    scored.push((exact.score(n).0, n));
                }
            }
            None => {
                let found = index
                    .graph
                    .search(&exact, self.ef, &self.admit, self.visited);
                for (s, n) in found {
                    scored.push((s.0, n));
                }
            }
        }
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(self.k);
        let mut hits = Vec::with_capacity(scored.len());
        for (score, n) in scored {
            hits.push(Neighbour {
                key: index.keys[n as usize],
                score,
            });
        }
        hits
    }
}

/// One insertion into an index held exclusively.
struct Insert<'a> {
    index: &'a HnswIndex,
    node: u32,
    visited: &'a mut Visited,
}

impl KernelOp for Insert<'_> {
    type Output = ();

    #[inline(always)]
    fn run<K: Kernels>(self, kernels: K) {
        insert_node(self.index, kernels, self.node, &Locks::new(1), self.visited);
    }
}

/// Link the already-pushed `node` into the graph, scoring with full vectors.
#[inline(always)]
fn insert_node<K: Kernels>(
    index: &HnswIndex,
    kernels: K,
    node: u32,
    locks: &Locks,
    visited: &mut Visited,
) {
    let at = node as usize * index.dim;
    let space = F32Space {
        kernels,
        vectors: &index.vectors,
        dim: index.dim,
        query: &index.vectors[at..at + index.dim],
    };
    index
        .graph
        .insert(&space, node, index.params.ef_construction, locks, visited);
}

impl VectorIndexRead for HnswIndex {
    fn dim(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: Option<&(dyn Fn(u64) -> bool + Sync)>,
    ) -> Result<Vec<Neighbour>, AnnError> {
        check_dim(self.dim, query.len(), "query vector")?;
        if k == 0 || self.nodes.is_empty() {
            return Ok(Vec::new());
        }
        let ef = self.ef_search.load(Ordering::Relaxed).max(k);
        let deleted = &self.deleted;
        let keys = &self.keys;
        Ok(with_visited(self.keys.len(), |visited| match keep {
            None if self.nodes.len() == self.keys.len() => dispatch(Search {
                index: self,
                query,
                k,
                ef,
                admit: |_: u32| true,
                visited,
            }),
            _ => dispatch(Search {
                index: self,
                query,
                k,
                ef,
                admit: |n: u32| {
                    !deleted[n as usize] && keep.is_none_or(|keep| keep(keys[n as usize]))
                },
                visited,
            }),
        }))
    }

    fn get(&self, key: u64) -> Result<Option<Vec<f32>>, AnnError> {
        Ok(self.nodes.get(&key).map(|&n| {
            let at = n as usize * self.dim;
            self.vectors[at..at + self.dim].to_vec()
        }))
    }

    fn set_ef_search(&self, ef: usize) {
        self.ef_search.store(ef.clamp(1, MAX_EF), Ordering::Relaxed);
    }
}

impl VectorIndex for HnswIndex {
    fn add(&mut self, key: u64, vector: &[f32]) -> Result<(), AnnError> {
        check_dim(self.dim, vector.len(), "vector")?;
        if self.nodes.contains_key(&key) {
            return Err(AnnError::InvalidInput(format!(
                "key {key} is already in the index"
            )));
        }
        let node = u32::try_from(self.keys.len())
            .map_err(|_| AnnError::InvalidInput("an index holds at most 2^32 vectors".into()))?;
        self.keys.push(key);
        self.deleted.push(false);
        self.vectors.extend_from_slice(vector);
        self.graph.push(draw_level(node, self.params.m));
        self.nodes.insert(key, node);
        let n = self.keys.len();
        if n >= FIT_AT && (self.sq8.is_none() || n >= 2 * self.fitted_on) {
            self.fit();
        } else if let Some((sq8, codes)) = &mut self.sq8 {
            sq8.encode_into(vector, codes);
        }
        let index = &*self;
        with_visited(index.keys.len(), |visited| {
            dispatch(Insert {
                index,
                node,
                visited,
            });
        });
        Ok(())
    }

    fn remove(&mut self, key: u64) -> Result<bool, AnnError> {
        Ok(match self.nodes.remove(&key) {
            Some(node) => {
                self.deleted[node as usize] = true;
                true
            }
            None => false,
        })
    }

    fn to_bytes(&self) -> Result<Vec<u8>, AnnError> {
        Ok(format::encode(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact_search;

    /// `n` unit vectors of dimension `dim` in loose clusters (like sentence embeddings, unlike
    /// uniform noise), from a fixed seed.
    pub(crate) fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let mut random = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..20)
            .map(|_| (0..dim).map(|_| random()).collect())
            .collect();
        let mut out = Vec::with_capacity(n * dim);
        for i in 0..n {
            let c = &centres[i % centres.len()];
            let v: Vec<f32> = c.iter().map(|x| x + random() * 0.8).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            out.extend(v.iter().map(|x| x / norm));
        }
        out
    }

    fn recall(index: &HnswIndex, data: &[f32], queries: &[f32], dim: usize, k: usize) -> f64 {
        let mut hits = 0;
        let mut total = 0;
        for q in queries.chunks_exact(dim) {
            let truth: Vec<u64> = exact_search(data, dim, q, k)
                .unwrap()
                .into_iter()
                .map(|(i, _)| i as u64)
                .collect();
            let found = index.search(q, k, None).unwrap();
            hits += found.iter().filter(|h| truth.contains(&h.key)).count();
            total += truth.len();
        }
        hits as f64 / total as f64
    }

    fn items(data: &[f32], dim: usize) -> Vec<(u64, &[f32])> {
        data.chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| (i as u64, v))
            .collect()
    }

    #[test]
    fn both_kinds_reach_high_recall_with_exact_scores() {
        let dim = 48;
        let data = clustered(3000, dim, 1);
        let queries = clustered(100, dim, 2);
        for quantization in Quantization::ALL {
            let params = AnnParams {
                quantization,
                ..AnnParams::default()
            };
            let index = HnswIndex::build(dim, &params, &items(&data, dim), 2).unwrap();
            assert_eq!(index.len(), 3000);
            // hnswlib reaches 0.983 on the same data and parameters at ef 128 (0.943 at 64).
            index.set_ef_search(128);
            let r = recall(&index, &data, &queries, dim, 10);
            assert!(r >= 0.96, "{quantization}: recall {r}");
            // Scores are exact inner products whichever way the graph was walked.
            let q = &queries[..dim];
            for hit in index.search(q, 5, None).unwrap() {
                let at = hit.key as usize * dim;
                let exact: f32 = data[at..at + dim].iter().zip(q).map(|(a, b)| a * b).sum();
                assert!((hit.score - exact).abs() < 1e-5, "{quantization}");
            }
        }
    }

    #[test]
    fn an_index_grown_one_vector_at_a_time_fits_its_codes_and_finds_everything() {
        let dim = 24;
        let data = clustered(1200, dim, 3);
        // Built from one vector (too few to fit codes on), then grown.
        let mut index =
            HnswIndex::build(dim, &AnnParams::default(), &[(7, &data[..dim])], 1).unwrap();
        for (i, v) in data.chunks_exact(dim).enumerate() {
            if i > 0 {
                index.add(i as u64 + 7, v).unwrap();
            }
            match i + 1 {
                n if n < FIT_AT => assert!(index.sq8.is_none()),
                n => assert!(index.fitted_on * 2 > n && index.sq8.is_some()),
            }
        }
        let (_, codes) = index.sq8.as_ref().unwrap();
        assert_eq!(codes.len(), 1200 * 32, "one padded code row per vector");
        let mut found = 0;
        for (i, v) in data.chunks_exact(dim).enumerate() {
            if index.search(v, 1, None).unwrap()[0].key == i as u64 + 7 {
                found += 1;
            }
        }
        assert!(found >= 1190, "{found}/1200 found themselves");
    }

    #[test]
    fn removed_keys_are_never_returned_and_can_come_back() {
        let dim = 16;
        let data = clustered(500, dim, 4);
        let mut index =
            HnswIndex::build(dim, &AnnParams::default(), &items(&data, dim), 2).unwrap();
        let q = &data[10 * dim..11 * dim];
        assert_eq!(index.search(q, 1, None).unwrap()[0].key, 10);
        assert!(index.remove(10).unwrap());
        assert!(!index.remove(10).unwrap());
        assert_eq!(index.len(), 499);
        assert_eq!(index.get(10).unwrap(), None);
        let hits = index.search(q, 50, None).unwrap();
        assert_eq!(hits.len(), 50);
        assert!(hits.iter().all(|h| h.key != 10));
        // Back under the same key, as a new node.
        index.add(10, q).unwrap();
        assert_eq!(index.search(q, 1, None).unwrap()[0].key, 10);
        assert_eq!(index.len(), 500);
        let again = HnswIndex::from_bytes(&index.to_bytes().unwrap(), "x").unwrap();
        assert_eq!(again.len(), 500);
        assert_eq!(again.search(q, 1, None).unwrap()[0].key, 10);
    }

    #[test]
    fn filtered_search_returns_the_best_admitted_keys() {
        let dim = 16;
        let data = clustered(2000, dim, 5);
        let index = HnswIndex::build(dim, &AnnParams::default(), &items(&data, dim), 2).unwrap();
        index.set_ef_search(200);
        let q = &data[..dim];
        let rare = |key: u64| key % 50 == 3;
        let hits = index.search(q, 5, Some(&rare)).unwrap();
        let mut truth: Vec<(u64, f32)> = data
            .chunks_exact(dim)
            .enumerate()
            .filter(|(i, _)| rare(*i as u64))
            .map(|(i, v)| (i as u64, v.iter().zip(q).map(|(a, b)| a * b).sum()))
            .collect();
        truth.sort_by(|a, b| b.1.total_cmp(&a.1));
        let want: Vec<u64> = truth[..5].iter().map(|t| t.0).collect();
        assert_eq!(hits.iter().map(|h| h.key).collect::<Vec<_>>(), want);
        let none = |_: u64| false;
        assert!(index.search(q, 5, Some(&none)).unwrap().is_empty());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let dim = 4;
        let v = [0.5f32; 4];
        assert!(HnswIndex::new(0, &AnnParams::default(), 0, 1).is_err());
        let bad_m = AnnParams {
            m: 1,
            ..AnnParams::default()
        };
        assert!(HnswIndex::new(dim, &bad_m, 0, 1).is_err());
        let err = HnswIndex::build(dim, &AnnParams::default(), &[(1, &v), (1, &v)], 1).unwrap_err();
        assert!(err.to_string().contains("key 1"), "{err}");
        assert!(HnswIndex::build(dim, &AnnParams::default(), &[(1, &v[..3])], 1).is_err());
        let mut index = HnswIndex::new(dim, &AnnParams::default(), 0, 1).unwrap();
        assert!(index.search(&v, 3, None).unwrap().is_empty(), "empty index");
        index.add(1, &v).unwrap();
        assert!(index.add(1, &v).is_err(), "duplicate key");
        assert!(index.add(2, &v[..2]).is_err(), "wrong dimension");
        assert!(index.search(&v[..2], 1, None).is_err());
        assert!(index.search(&v, 0, None).unwrap().is_empty());
        // Breadths beyond the limit are refused or capped, never a giant allocation.
        let wide = AnnParams {
            ef_search: MAX_EF + 1,
            ..AnnParams::default()
        };
        assert!(HnswIndex::new(dim, &wide, 0, 1).is_err());
        index.set_ef_search(usize::MAX);
        assert_eq!(index.params().ef_search, MAX_EF);
        assert_eq!(index.search(&v, usize::MAX, None).unwrap().len(), 1);
    }

    #[test]
    fn identical_vectors_keep_their_links() {
        // Real corpora repeat texts. A twin scores exactly the same against every other node as
        // its sibling does, so a selection that dropped ties would leave twins linked only to
        // each other.
        let dim = 16;
        let data = clustered(1000, dim, 8);
        let items: Vec<(u64, &[f32])> = data
            .chunks_exact(dim)
            .flat_map(|v| [v, v])
            .enumerate()
            .map(|(i, v)| (i as u64, v))
            .collect();
        let index = HnswIndex::build(dim, &AnnParams::default(), &items, 2).unwrap();
        let mut row = [0u32; 2 * MAX_M];
        let lonely = (0..index.graph.len() as u32)
            .filter(|&node| index.graph.neighbours(node, 0, &mut row) < 2)
            .count();
        // Dropping ties left ~120 of these 2000 nodes so; building on two threads without
        // keeping links other threads added, ~45; now a handful at most.
        assert!(
            lonely * 100 <= items.len(),
            "{lonely} nodes with fewer than two links on level 0"
        );
    }

    #[test]
    fn damaged_files_are_errors_never_panics() {
        let dim = 8;
        let data = clustered(300, dim, 6);
        for quantization in Quantization::ALL {
            let params = AnnParams {
                quantization,
                ..AnnParams::default()
            };
            let bytes = HnswIndex::build(dim, &params, &items(&data, dim), 2)
                .unwrap()
                .to_bytes()
                .unwrap();
            for cut in (0..bytes.len()).step_by(37) {
                let err = HnswIndex::from_bytes(&bytes[..cut], "seg/v").unwrap_err();
                assert!(err.to_string().contains("seg/v"), "{err}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(HnswIndex::from_bytes(&longer, "seg/v").is_err());
            // Flipped bytes: either rejected or loaded into something that still searches.
            for at in (0..bytes.len()).step_by(13) {
                let mut bad = bytes.clone();
                bad[at] ^= 0xA5;
                if let Ok(index) = HnswIndex::from_bytes(&bad, "seg/v") {
                    index.search(&data[..dim], 5, None).unwrap();
                }
            }
        }
    }
}
