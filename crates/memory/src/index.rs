//! The search indexes of a namespace, built in memory from its records on first search and
//! kept up to date as records are written: an HNSW index of the embeddings of the records'
//! content (`lakehouse-ann`'s HNSW, through [`VectorIndex`]) and a BM25 index of their content,
//! outcome and step tools (tantivy, in RAM).
//!
//! Both hold every record ever written — records are immutable, so nothing is ever removed —
//! and every search passes a predicate that admits only what should be seen (live tips now, or
//! as of a past time, matching the filters). That is what makes `as_of` exact.

use lakehouse_vectord::{AnnParams, HnswIndex, VectorIndex, VectorIndexRead};
use tantivy::query::QueryParser;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument};

use crate::MemoryError;

/// Heap for the lexical index writer (tantivy's minimum is 15 MB).
const WRITER_HEAP: usize = 20_000_000;

/// Vector and lexical indexes over a namespace's records.
pub(crate) struct Indexes {
    vectors: HnswIndex,
    lexical: Lexical,
}

impl std::fmt::Debug for Indexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexes")
            .field("vectors", &self.vectors.len())
            .finish_non_exhaustive()
    }
}

impl Indexes {
    /// Indexes over `docs` (key, embedding, search text), built on `threads` threads.
    pub(crate) fn build(
        dim: usize,
        docs: &[(u64, &[f32], String)],
        threads: usize,
    ) -> Result<Self, MemoryError> {
        let points: Vec<(u64, &[f32])> = docs.iter().map(|(k, v, _)| (*k, *v)).collect();
        let params = AnnParams::default();
        let vectors = if points.is_empty() {
            HnswIndex::new(dim, &params, 1024, threads)?
        } else {
            HnswIndex::build(dim, &params, &points, threads)?
        };
        let mut lexical = Lexical::new()?;
        for (key, _, text) in docs {
            lexical.add(*key, text)?;
        }
        Ok(Self { vectors, lexical })
    }

    /// Add one record.
    pub(crate) fn add(
        &mut self,
        key: u64,
        embedding: &[f32],
        text: &str,
    ) -> Result<(), MemoryError> {
        self.vectors.add(key, embedding)?;
        self.lexical.add(key, text)
    }

    /// The `n` nearest records by embedding among those `keep` admits.
    pub(crate) fn vector_search(
        &self,
        query: &[f32],
        n: usize,
        keep: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Vec<(u64, f32)>, MemoryError> {
        Ok(self
            .vectors
            .search(query, n, Some(keep))?
            .into_iter()
            .map(|hit| (hit.key, hit.score))
            .collect())
    }

    /// Whether every record added is searchable (BM25 additions wait for [`make_current`]).
    ///
    /// [`make_current`]: Indexes::make_current
    pub(crate) fn is_current(&self) -> bool {
        self.lexical.pending == 0
    }

    /// Make every record added searchable.
    pub(crate) fn make_current(&mut self) -> Result<(), MemoryError> {
        self.lexical.commit()
    }

    /// The `n` best records by BM25 among those `keep` admits (of those added before the last
    /// [`make_current`](Indexes::make_current)).
    pub(crate) fn lexical_search(
        &self,
        query: &str,
        n: usize,
        keep: &dyn Fn(u64) -> bool,
    ) -> Result<Vec<(u64, f32)>, MemoryError> {
        self.lexical.search(query, n, keep)
    }
}

/// BM25 over the search text, in RAM; additions become searchable when committed.
struct Lexical {
    writer: IndexWriter,
    reader: IndexReader,
    parser: QueryParser,
    key: Field,
    text: Field,
    pending: usize,
}

impl Lexical {
    fn new() -> Result<Self, MemoryError> {
        let mut schema = Schema::builder();
        let key = schema.add_u64_field("key", INDEXED | FAST);
        let text = schema.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("en_stem")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        );
        let index = Index::create_in_ram(schema.build());
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let parser = QueryParser::for_index(&index, vec![text]);
        Ok(Self {
            writer,
            reader,
            parser,
            key,
            text,
            pending: 0,
        })
    }

    fn add(&mut self, key: u64, text: &str) -> Result<(), MemoryError> {
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.key, key);
        doc.add_text(self.text, text);
        self.writer.add_document(doc)?;
        self.pending += 1;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), MemoryError> {
        if self.pending > 0 {
            self.writer.commit()?;
            self.reader.reload()?;
            self.pending = 0;
        }
        Ok(())
    }

    fn search(
        &self,
        query: &str,
        n: usize,
        keep: &dyn Fn(u64) -> bool,
    ) -> Result<Vec<(u64, f32)>, MemoryError> {
        let (parsed, _errors) = self.parser.parse_query_lenient(query);
        Ok(lakehouse_vectord::bm25::top_keys(
            &self.reader.searcher(),
            parsed.as_ref(),
            n,
            keep,
        )?)
    }
}
