//! Approximate nearest-neighbour indexes behind our own traits.
//!
//! [`VectorIndexRead`] is what search needs, [`VectorIndex`] adds writes. [`HnswIndex`] implements
//! both with `usearch` (HNSW over unit vectors, so the score is cosine similarity). Vectors are
//! stored as full `f32` unless a [`Quantization`] is chosen on purpose: `bf16`/`f16` halve the
//! memory each distance reads, `i8` quarters it, each at some cost in recall that parameter
//! trials measure. usearch indexes are safe to search from many threads; writes go
//! through `&mut self` so callers serialise them. [`exact_search`] is the brute-force ground truth
//! used by parameter trials and benchmarks.

use serde::{Deserialize, Serialize};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::VectordError;
use crate::error::ann_error;

/// The version of the ANN library (usearch), for benchmark reports.
pub fn library_version() -> &'static str {
    usearch::version()
}

/// How an index stores its vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// Full precision (the default).
    #[default]
    F32,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    Bf16,
    /// 8-bit integers (components scaled by 127; cosine metric).
    I8,
}

impl Quantization {
    /// Every kind, full precision first.
    pub const ALL: [Quantization; 4] = [Self::F32, Self::F16, Self::Bf16, Self::I8];

    fn scalar(self) -> ScalarKind {
        match self {
            Self::F32 => ScalarKind::F32,
            Self::F16 => ScalarKind::F16,
            Self::Bf16 => ScalarKind::BF16,
            Self::I8 => ScalarKind::I8,
        }
    }

    fn from_scalar(kind: ScalarKind) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.scalar() == kind)
    }

    /// Inner product on unit vectors is cosine; usearch's 8-bit kernels are cosine ones.
    fn metric(self) -> MetricKind {
        match self {
            Self::I8 => MetricKind::Cos,
            _ => MetricKind::IP,
        }
    }
}

impl std::fmt::Display for Quantization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Bf16 => "bf16",
            Self::I8 => "i8",
        })
    }
}

impl std::str::FromStr for Quantization {
    type Err = VectordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|q| q.to_string() == s)
            .ok_or_else(|| {
                VectordError::InvalidInput(format!(
                    "unknown quantization {s:?}: expected f32, f16, bf16 or i8"
                ))
            })
    }
}

/// HNSW parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnParams {
    /// Graph connectivity (HNSW `M`).
    pub m: usize,
    /// Candidate list size while building (`efConstruction`).
    pub ef_construction: usize,
    /// Candidate list size while searching (`ef`); raised to `k` when smaller.
    pub ef_search: usize,
    /// How vectors are stored (manifests written before this field existed mean `f32`).
    #[serde(default)]
    pub quantization: Quantization,
}

impl Default for AnnParams {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 128,
            ef_search: 64,
            quantization: Quantization::F32,
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
    ) -> Result<Vec<Neighbour>, VectordError>;
    /// The stored vector of `key`.
    fn get(&self, key: u64) -> Result<Option<Vec<f32>>, VectordError>;
    /// Change the search-time candidate list size.
    fn set_ef_search(&self, ef: usize);
}

/// Building and changing an index.
pub trait VectorIndex: VectorIndexRead {
    /// Add one vector under `key`.
    fn add(&mut self, key: u64, vector: &[f32]) -> Result<(), VectordError>;
    /// Remove `key`; true when it was present.
    fn remove(&mut self, key: u64) -> Result<bool, VectordError>;
    /// Serialise the whole index.
    fn to_bytes(&self) -> Result<Vec<u8>, VectordError>;
}

/// An HNSW index (usearch).
pub struct HnswIndex {
    index: Index,
    dim: usize,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("dim", &self.dim)
            .field("len", &self.index.size())
            .finish()
    }
}

fn options(dim: usize, params: &AnnParams) -> IndexOptions {
    IndexOptions {
        dimensions: dim,
        metric: params.quantization.metric(),
        // usearch defaults to BF16; ours is F32 unless chosen (DESIGN.md).
        quantization: params.quantization.scalar(),
        connectivity: params.m,
        expansion_add: params.ef_construction,
        expansion_search: params.ef_search,
        multi: false,
    }
}

impl HnswIndex {
    /// An empty index with room for `capacity` vectors, adding with up to `threads` threads.
    pub fn new(
        dim: usize,
        params: &AnnParams,
        capacity: usize,
        threads: usize,
    ) -> Result<Self, VectordError> {
        if dim == 0 {
            return Err(VectordError::InvalidInput("vector dimension 0".into()));
        }
        let index = Index::new(&options(dim, params)).map_err(|e| ann_error("create", e))?;
        index
            .reserve_capacity_and_threads(capacity.max(16), threads.max(1))
            .map_err(|e| ann_error("reserve", e))?;
        Ok(Self { index, dim })
    }

    /// Build an index from `(key, vector)` pairs, adding in parallel on `threads` threads.
    pub fn build(
        dim: usize,
        params: &AnnParams,
        items: &[(u64, &[f32])],
        threads: usize,
    ) -> Result<Self, VectordError> {
        let threads = threads.max(1);
        let this = Self::new(dim, params, items.len(), threads)?;
        if let Some((_, v)) = items.iter().find(|(_, v)| v.len() != dim) {
            return Err(VectordError::InvalidInput(format!(
                "vector of dimension {} in an index of dimension {dim}",
                v.len()
            )));
        }
        let chunk = items.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|part| {
                    let index = &this.index;
                    scope.spawn(move || {
                        for (key, vector) in part {
                            index.add(*key, vector).map_err(|e| ann_error("add", e))?;
                        }
                        Ok::<(), VectordError>(())
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| VectordError::Ann("an index builder thread panicked".into()))??;
            }
            Ok::<(), VectordError>(())
        })?;
        Ok(this)
    }

    /// Load an index serialised by [`VectorIndex::to_bytes`]; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, VectordError> {
        let corrupt = |message: String| VectordError::Corrupt {
            path: path.to_string(),
            message,
        };
        let meta = usearch::ffi::read_metadata_from_buffer(bytes)
            .map_err(|e| corrupt(format!("not a usearch index: {e}")))?;
        let dim = usize::try_from(meta.dimensions)
            .ok()
            .filter(|d| *d > 0 && *d <= 65_536)
            .ok_or_else(|| corrupt(format!("implausible dimension {}", meta.dimensions)))?;
        let quantization = Quantization::from_scalar(meta.quantization)
            .ok_or_else(|| corrupt(format!("unsupported vector kind {:?}", meta.quantization)))?;
        let params = AnnParams {
            quantization,
            ..AnnParams::default()
        };
        let index = Index::new(&options(dim, &params)).map_err(|e| ann_error("create", e))?;
        index
            .load_from_buffer(bytes)
            .map_err(|e| corrupt(e.to_string()))?;
        Ok(Self { index, dim })
    }
}

impl HnswIndex {
    /// How this index stores its vectors.
    pub fn quantization(&self) -> Quantization {
        Quantization::from_scalar(self.index.scalar_kind()).unwrap_or_default()
    }
}

impl VectorIndexRead for HnswIndex {
    fn dim(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.index.size()
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: Option<&(dyn Fn(u64) -> bool + Sync)>,
    ) -> Result<Vec<Neighbour>, VectordError> {
        if query.len() != self.dim {
            return Err(VectordError::InvalidInput(format!(
                "query vector of dimension {} for an index of dimension {}",
                query.len(),
                self.dim
            )));
        }
        if k == 0 || self.index.size() == 0 {
            return Ok(Vec::new());
        }
        let matches = match keep {
            None => self.index.search(query, k),
            Some(keep) => self.index.filtered_search(query, k, keep),
        }
        .map_err(|e| ann_error("search", e))?;
        Ok(matches
            .keys
            .iter()
            .zip(&matches.distances)
            .map(|(&key, &d)| Neighbour {
                key,
                score: 1.0 - d,
            })
            .collect())
    }

    fn get(&self, key: u64) -> Result<Option<Vec<f32>>, VectordError> {
        let mut buf = vec![0f32; self.dim];
        let found = self
            .index
            .get(key, &mut buf)
            .map_err(|e| ann_error("get", e))?;
        Ok((found > 0).then_some(buf))
    }

    fn set_ef_search(&self, ef: usize) {
        self.index.change_expansion_search(ef.max(1));
    }
}

impl VectorIndex for HnswIndex {
    fn add(&mut self, key: u64, vector: &[f32]) -> Result<(), VectordError> {
        if vector.len() != self.dim {
            return Err(VectordError::InvalidInput(format!(
                "vector of dimension {} in an index of dimension {}",
                vector.len(),
                self.dim
            )));
        }
        if self.index.size() >= self.index.capacity() {
            let grown = (self.index.capacity() * 2).max(16);
            self.index
                .reserve(grown)
                .map_err(|e| ann_error("reserve", e))?;
        }
        self.index.add(key, vector).map_err(|e| ann_error("add", e))
    }

    fn remove(&mut self, key: u64) -> Result<bool, VectordError> {
        let removed = self.index.remove(key).map_err(|e| ann_error("remove", e))?;
        Ok(removed > 0)
    }

    fn to_bytes(&self) -> Result<Vec<u8>, VectordError> {
        let mut buf = vec![0u8; self.index.serialized_length()];
        self.index
            .save_to_buffer(&mut buf)
            .map_err(|e| ann_error("save", e))?;
        Ok(buf)
    }
}

/// Exact top-`k` by inner product over `vectors` (row-major, `dim` per row); returns row indices
/// with scores, best first. The ground truth for recall measurements.
pub fn exact_search(vectors: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut scored: Vec<(usize, f32)> = vectors
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| (i, v.iter().zip(query).map(|(a, b)| a * b).sum()))
        .collect();
    let k = k.min(scored.len());
    if k == 0 {
        return Vec::new();
    }
    scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
    scored.truncate(k);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
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
            HnswIndex::from_bytes(b"definitely not an index", "seg/vectors.usearch").unwrap_err();
        assert!(err.to_string().contains("seg/vectors.usearch"), "{err}");
    }

    #[test]
    fn exact_search_ranks_by_inner_product() {
        let vectors = [1.0, 0.0, 0.0, 1.0, 0.7, 0.7];
        let top = exact_search(&vectors, 2, &[1.0, 0.1], 2);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![0, 2]);
    }
}
