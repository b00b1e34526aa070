//! Lakehouse's approximate nearest-neighbour index, behind our own traits.
//!
//! [`VectorIndexRead`] is what search needs, [`VectorIndex`] adds writes. [`HnswIndex`] is our
//! HNSW implementation over unit vectors (the score is cosine similarity): a graph built on
//! several threads, searched lock-free on 8-bit codes of the vectors with exact re-scoring
//! ([`Quantization::Sq8`], the default) or on the full vectors ([`Quantization::F32`]).
//! [`exact_search`] is the brute-force ground truth used by parameter trials and benchmarks.
//!
//! Why our own rather than a crate: usearch (the crate this started on) measured 0.43-0.71x
//! hnswlib's queries per second at recall@10 0.95 on 100k MiniLM vectors here, whichever way
//! it stored vectors, and the other Rust HNSW crates are slower still (DESIGN.md). The index is
//! the core of matrix search, so it is ours: `graph` (the HNSW algorithms), `sq8` (8-bit codes),
//! `kernels` (AVX2 dot products, chosen at run time), `visited`, and `format` (the file).

mod format;
mod graph;
mod hnsw;
mod kernels;
mod sq8;
mod visited;

pub use hnsw::HnswIndex;

use serde::{Deserialize, Serialize};

/// What can go wrong building, searching or loading an index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnnError {
    /// Bad input: a vector of the wrong dimension, a duplicate key, bad parameters.
    #[error("{0}")]
    InvalidInput(String),
    /// A saved index that cannot be read back.
    #[error("corrupt vector index {path}: {message}")]
    Corrupt {
        /// What the bytes were read from.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// How an index walks its graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// On the full `f32` vectors.
    F32,
    /// On 8-bit codes of the vectors (a quarter of the memory per visit), with the final
    /// candidates re-scored on the full vectors (the default).
    #[default]
    Sq8,
}

impl Quantization {
    /// Every kind.
    pub const ALL: [Quantization; 2] = [Self::F32, Self::Sq8];
}

impl std::fmt::Display for Quantization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Sq8 => "sq8",
        })
    }
}

impl std::str::FromStr for Quantization {
    type Err = AnnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|q| q.to_string() == s)
            .ok_or_else(|| {
                AnnError::InvalidInput(format!("unknown quantization {s:?}: expected sq8 or f32"))
            })
    }
}

/// The largest search or build breadth (`ef`) an index accepts.
pub const MAX_EF: usize = 65_536;

/// HNSW parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnParams {
    /// Graph connectivity (HNSW `M`).
    pub m: usize,
    /// Candidate list size while building (`efConstruction`).
    pub ef_construction: usize,
    /// Candidate list size while searching (`ef`); raised to `k` when smaller.
    pub ef_search: usize,
    /// How searches walk the graph (manifests written before this field existed get the
    /// default; each index file records its own kind).
    #[serde(default)]
    pub quantization: Quantization,
}

impl Default for AnnParams {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 128,
            ef_search: 64,
            quantization: Quantization::Sq8,
        }
    }
}

/// A nearest-neighbour hit: the document key and its similarity (higher is closer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// The document key.
    pub key: u64,
    /// Cosine similarity to the query.
    pub score: f32,
}

/// Searching an index.
pub trait VectorIndexRead: Send + Sync {
    /// Vector length.
    fn dim(&self) -> usize;
    /// Number of vectors.
    fn len(&self) -> usize;
    /// True when the index holds no vectors.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The `k` nearest vectors to `query` for which `keep` (if given) returns true, closest first.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: Option<&(dyn Fn(u64) -> bool + Sync)>,
    ) -> Result<Vec<Neighbour>, AnnError>;
    /// The stored vector of `key`.
    fn get(&self, key: u64) -> Result<Option<Vec<f32>>, AnnError>;
    /// Change the search-time candidate list size.
    fn set_ef_search(&self, ef: usize);
}

/// Building and changing an index.
pub trait VectorIndex: VectorIndexRead {
    /// Add one vector under `key`.
    fn add(&mut self, key: u64, vector: &[f32]) -> Result<(), AnnError>;
    /// Remove `key`; true when it was present.
    fn remove(&mut self, key: u64) -> Result<bool, AnnError>;
    /// Serialise the whole index.
    fn to_bytes(&self) -> Result<Vec<u8>, AnnError>;
}

/// Exact top-`k` by inner product over `vectors` (row-major, `dim` per row); returns row indices
/// with scores, best first. The ground truth for recall measurements.
pub fn exact_search(
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    k: usize,
) -> Result<Vec<(usize, f32)>, AnnError> {
    if dim == 0 || query.len() != dim || !vectors.len().is_multiple_of(dim) {
        return Err(AnnError::InvalidInput(format!(
            "exact search of a {}-value query over {} values in rows of {dim}",
            query.len(),
            vectors.len()
        )));
    }
    let mut scored: Vec<(usize, f32)> = vectors
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| (i, v.iter().zip(query).map(|(a, b)| a * b).sum()))
        .collect();
    let k = k.min(scored.len());
    if k == 0 {
        return Ok(Vec::new());
    }
    scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
    scored.truncate(k);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn points() -> Vec<(u64, Vec<f32>)> {
        (0..200u64)
            .map(|i| {
                let a = i as f32 * 0.07;
                (
                    i + 1000,
                    unit(&[a.cos(), a.sin(), 0.3, (i % 7) as f32 * 0.1]),
                )
            })
            .collect()
    }

    #[test]
    fn build_search_round_trip_and_remove() {
        let pts = points();
        let items: Vec<(u64, &[f32])> = pts.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        let mut index = HnswIndex::build(4, &AnnParams::default(), &items, 2).unwrap();
        assert_eq!(index.len(), 200);
        let hits = index.search(&pts[10].1, 3, None).unwrap();
        assert_eq!(hits[0].key, 1010);
        assert!((hits[0].score - 1.0).abs() < 1e-4);

        let bytes = index.to_bytes().unwrap();
        let loaded = HnswIndex::from_bytes(&bytes, "x").unwrap();
        assert_eq!(loaded.search(&pts[10].1, 3, None).unwrap(), hits);
        assert_eq!(loaded.get(1010).unwrap().unwrap(), pts[10].1);
        assert_eq!(loaded.get(5).unwrap(), None);

        assert!(index.remove(1010).unwrap());
        assert_ne!(index.search(&pts[10].1, 1, None).unwrap()[0].key, 1010);
        let odd_only = |k: u64| k % 2 == 1;
        let hits = index.search(&pts[10].1, 5, Some(&odd_only)).unwrap();
        assert!(!hits.is_empty() && hits.iter().all(|h| h.key % 2 == 1));
    }

    #[test]
    fn quantized_indexes_round_trip_their_kind() {
        let pts = points();
        let items: Vec<(u64, &[f32])> = pts.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        for quantization in Quantization::ALL {
            let params = AnnParams {
                quantization,
                ..AnnParams::default()
            };
            let index = HnswIndex::build(4, &params, &items, 2).unwrap();
            let loaded = HnswIndex::from_bytes(&index.to_bytes().unwrap(), "x").unwrap();
            assert_eq!(loaded.quantization(), quantization);
            let hits = loaded.search(&pts[10].1, 1, None).unwrap();
            assert_eq!(hits[0].key, 1010, "{quantization}");
            assert!(
                (hits[0].score - 1.0).abs() < 0.02,
                "{quantization}: {hits:?}"
            );
            assert_eq!(
                quantization.to_string().parse::<Quantization>().unwrap(),
                quantization
            );
        }
        assert!("f64".parse::<Quantization>().is_err());
    }

    #[test]
    fn wrong_dimension_and_garbage_bytes_are_errors() {
        let index = HnswIndex::new(4, &AnnParams::default(), 10, 1).unwrap();
        assert!(index.search(&[1.0, 0.0], 1, None).is_err());
        let err =
            HnswIndex::from_bytes(b"definitely not an index", "seg/vectors.hnsw").unwrap_err();
        assert!(err.to_string().contains("seg/vectors.hnsw"), "{err}");
    }

    #[test]
    fn exact_search_ranks_by_inner_product() {
        let vectors = [1.0, 0.0, 0.0, 1.0, 0.7, 0.7];
        let top = exact_search(&vectors, 2, &[1.0, 0.1], 2).unwrap();
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![0, 2]);
        assert!(exact_search(&vectors, 0, &[], 2).is_err());
        assert!(exact_search(&vectors, 2, &[1.0], 2).is_err());
    }
}
