//! Corpora for Lakehouse: ANN + BM25 indexes persisted in the store, and matrix search — one
//! query over many corpora, fused.
//!
//! A corpus is a set of documents (id, text, metadata) built from Arrow record batches
//! ([`rows_from_batches`]) with an embedder from `lakehouse-models`. It is stored as immutable
//! segments (our HNSW index, a BM25 index from `tantivy`, a Parquet docs file)
//! plus one manifest per version ([`manifest`] has the layout). [`Corpora`] opens corpora
//! lazily and caches them; [`Corpora::build`] is resumable and incremental;
//! [`Corpora::search`] runs a [`SearchRequest`] over many corpora in parallel and fuses the
//! results (RRF by default); [`Corpora::tune`] runs parameter trials against exact search.
//!
//! This crate never reads datasets itself: the `lakehouse` facade reads a table and hands the
//! batches over, which keeps the SQL engine out of retrieval.

pub mod bm25;
mod build;
mod corpus;
pub mod docs;
mod error;
mod fanout;
pub mod fusion;
mod gc;
pub mod manifest;
mod rows;
mod search;
mod segment;
mod tune;

pub use build::{BuildOptions, BuildReport, NoProgress, Progress};
pub use corpus::{Corpora, CorpusView, DEFAULT_CACHE_BYTES, DEFAULT_REFRESH, Found};
pub use error::VectordError;
pub use fusion::Fusion;
pub use gc::{CorpusGc, DEFAULT_RETAIN, ORPHAN_MIN_AGE};
/// The ANN index (`lakehouse-ann`), re-exported.
pub use lakehouse_ann as ann;
pub use lakehouse_ann::{
    AnnParams, HnswIndex, Neighbour, Quantization, VectorIndex, VectorIndexRead, exact_search,
};
pub use manifest::{Manifest, validate_name};
pub use rows::{RowSpec, SourceRow, rows_from_batches};
pub use search::{CorpusStatus, Hit, Mode, SearchRequest, SearchResponse};
pub use segment::Segment;
pub use tune::{TRIALS_JOURNAL, Trial, TuneOptions, TuneReport};
