//! The BM25 text index of a segment (tantivy), and its single-object serialisation.
//!
//! Each document is indexed with its key (a fast field), its text (English stemming) and its
//! metadata as exact `column=value` terms, so metadata filters run inside the index. The index is
//! built in memory and its files are packed into one object for the store; loading unpacks them
//! into a RAM directory. Queries are parsed leniently: stray quotes or `AND`/`:` in user text
//! never make a query fail.
//!
//! The pack (version 2) ends with the SHA-256 of everything before it, checked before tantivy
//! sees a byte: tantivy trusts its own files, and a damaged one can make it allocate without
//! bound (an abort, not a panic; found by fuzzing). Version-1 packs, without the digest, still
//! load from a corpus, whose manifest records every file's SHA-256.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::directory::{Directory, RamDirectory};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::VectordError;

/// The pack's first bytes; the last one is the format version.
const MAGIC_PREFIX: &[u8; 7] = b"LHBM25\0";
/// Version 1: files only. Version 2: files, then the SHA-256 of everything before it.
const VERSION_1: u8 = 1;
const VERSION_2: u8 = 2;
const DIGEST_LEN: usize = 32;
/// Indexing memory budget (tantivy's minimum is 15 MB per thread).
const WRITER_HEAP: usize = 50_000_000;

struct Fields {
    key: Field,
    text: Field,
    meta: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let key = b.add_u64_field("key", INDEXED | FAST);
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let text = b.add_text_field("text", text_options);
    let meta = b.add_text_field("meta", STRING);
    (b.build(), Fields { key, text, meta })
}

/// One document to index.
#[derive(Debug)]
pub struct Bm25Doc<'a> {
    /// Its key (shared with the ANN index and the docs file).
    pub key: u64,
    /// The text.
    pub text: &'a str,
    /// Metadata for exact-match filters.
    pub meta: &'a BTreeMap<String, String>,
}

fn meta_term(column: &str, value: &str) -> String {
    format!("{column}={value}")
}

/// Build an index over `docs` and return it packed into one buffer.
pub fn build(docs: &[Bm25Doc<'_>]) -> Result<Vec<u8>, VectordError> {
    let (schema, f) = schema();
    let dir = RamDirectory::create();
    let index = Index::create(dir.clone(), schema, tantivy::IndexSettings::default())?;
    let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, WRITER_HEAP)?;
    for d in docs {
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.key, d.key);
        doc.add_text(f.text, d.text);
        for (c, v) in d.meta {
            doc.add_text(f.meta, meta_term(c, v));
        }
        writer.add_document(doc)?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let mut files: Vec<PathBuf> = index.directory().list_managed_files().into_iter().collect();
    for extra in ["meta.json", ".managed.json"] {
        let p = PathBuf::from(extra);
        if !files.contains(&p) && dir.exists(&p).unwrap_or(false) {
            files.push(p);
        }
    }
    files.sort();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC_PREFIX);
    out.push(VERSION_2);
    out.extend_from_slice(&u32::try_from(files.len()).unwrap_or(u32::MAX).to_le_bytes());
    for path in files {
        let data = dir
            .atomic_read(&path)
            .map_err(|e| VectordError::Bm25(tantivy::TantivyError::from(e)))?;
        let name = path.to_string_lossy();
        out.extend_from_slice(&u32::try_from(name.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&data);
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// A loaded BM25 index.
pub struct Bm25Index {
    /// The one searcher (the index never changes once loaded) and its `key` columns, one per
    /// tantivy segment, opened once instead of per hit.
    searcher: tantivy::Searcher,
    keys: Vec<Column<u64>>,
    parser: QueryParser,
    fields: Fields,
}

impl std::fmt::Debug for Bm25Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Index")
            .field("docs", &self.searcher.num_docs())
            .finish()
    }
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if buf.len() < n {
        return None;
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Some(head)
}

/// What is wrong with a pack.
#[derive(Debug, thiserror::Error)]
enum PackError {
    #[error("not a packed BM25 index")]
    NotAPack,
    #[error("truncated (no checksum)")]
    NoChecksum,
    #[error("checksum mismatch (a damaged pack)")]
    Checksum,
    #[error(
        "a version-1 pack has no checksum of its own; load it through its corpus manifest, or \
         rebuild the corpus"
    )]
    Unverifiable,
    #[error("unknown pack version {0}")]
    Version(u8),
    #[error("truncated or damaged file table")]
    FileTable,
    #[error("a file name is not UTF-8")]
    FileName,
    #[error("trailing bytes after the file table")]
    Trailing,
}

/// The files of a pack. `verified` says the caller checked the bytes against a digest recorded
/// when they were written (a corpus manifest); otherwise only a version-2 pack whose own digest
/// matches is accepted.
fn unpack(bytes: &[u8], verified: bool) -> Result<Vec<(String, &[u8])>, PackError> {
    let mut buf = bytes;
    if take(&mut buf, MAGIC_PREFIX.len()) != Some(MAGIC_PREFIX.as_slice()) {
        return Err(PackError::NotAPack);
    }
    match take(&mut buf, 1).map(|v| v[0]) {
        Some(VERSION_2) => {
            let Some(body_len) = bytes.len().checked_sub(DIGEST_LEN) else {
                return Err(PackError::NoChecksum);
            };
            let (body, stored) = bytes.split_at(body_len);
            if !verified && !digest_matches(body, stored) {
                return Err(PackError::Checksum);
            }
            buf = &buf[..buf.len().saturating_sub(DIGEST_LEN)];
        }
        Some(VERSION_1) if verified => {}
        Some(VERSION_1) => return Err(PackError::Unverifiable),
        Some(other) => return Err(PackError::Version(other)),
        None => return Err(PackError::NotAPack),
    }
    let table = |_| PackError::FileTable;
    let count = u32::from_le_bytes(read_array(&mut buf).ok_or(PackError::FileTable)?);
    let mut files = Vec::new();
    for _ in 0..count {
        let name_len = u32::from_le_bytes(read_array(&mut buf).ok_or(PackError::FileTable)?);
        let name = take(&mut buf, usize::try_from(name_len).map_err(table)?)
            .ok_or(PackError::FileTable)?;
        let name = std::str::from_utf8(name).map_err(|_| PackError::FileName)?;
        let len = u64::from_le_bytes(read_array(&mut buf).ok_or(PackError::FileTable)?);
        let data =
            take(&mut buf, usize::try_from(len).map_err(table)?).ok_or(PackError::FileTable)?;
        files.push((name.to_string(), data));
    }
    if !buf.is_empty() {
        return Err(PackError::Trailing);
    }
    Ok(files)
}

fn read_array<const N: usize>(buf: &mut &[u8]) -> Option<[u8; N]> {
    take(buf, N)?.try_into().ok()
}

/// Whether `stored` is the SHA-256 of `body`. The bytes are compared by folding their
/// differences, not with `==`: a coverage-guided fuzzer lifts the operands of an equality
/// (memcmp) into its inputs and so forges a digest stored next to the data, which would feed
/// tantivy damaged files again.
fn digest_matches(body: &[u8], stored: &[u8]) -> bool {
    let digest = Sha256::digest(body);
    stored.len() == DIGEST_LEN
        && digest
            .iter()
            .zip(stored)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

impl Bm25Index {
    /// Load an index packed by [`build`]; `path` names it in errors. The pack's own checksum
    /// is verified first, so a damaged pack is reported as corrupt before tantivy reads it; a
    /// version-1 pack (no checksum) is refused.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, VectordError> {
        Self::load(bytes, path, false)
    }

    /// [`Bm25Index::from_bytes`] for bytes the caller has already checked against the SHA-256
    /// recorded when they were written (a corpus manifest): the pack's own checksum is not
    /// computed again, and version-1 packs load.
    pub(crate) fn from_verified_bytes(bytes: &[u8], path: &str) -> Result<Self, VectordError> {
        Self::load(bytes, path, true)
    }

    /// tantivy also panics on some damaged files (an overflow reading a file's footer, found by
    /// fuzzing); such a panic is caught and reported as a corrupt file.
    fn load(bytes: &[u8], path: &str, verified: bool) -> Result<Self, VectordError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::open_packed(bytes, path, verified)
        }))
        .unwrap_or_else(|_| {
            Err(VectordError::Corrupt {
                path: path.to_string(),
                message: "the BM25 index failed to open (a damaged pack)".into(),
            })
        })
    }

    fn open_packed(bytes: &[u8], path: &str, verified: bool) -> Result<Self, VectordError> {
        let corrupt = |message: String| VectordError::Corrupt {
            path: path.to_string(),
            message,
        };
        let files = unpack(bytes, verified).map_err(|e| corrupt(e.to_string()))?;
        let dir = RamDirectory::create();
        for (name, data) in files {
            dir.atomic_write(Path::new(&name), data)
                .map_err(|e| corrupt(e.to_string()))?;
        }
        let index = Index::open(dir).map_err(|e| corrupt(e.to_string()))?;
        let (_, fields) = schema();
        let schema = index.schema();
        for name in ["key", "text", "meta"] {
            schema
                .get_field(name)
                .map_err(|_| corrupt(format!("no field {name}")))?;
        }
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e: tantivy::TantivyError| corrupt(e.to_string()))?;
        let searcher = reader.searcher();
        let keys = key_columns(&searcher).map_err(|e| corrupt(e.to_string()))?;
        // Terms are OR-ed (the default): BM25 ranks partial matches instead of dropping them.
        let parser = QueryParser::for_index(&index, vec![fields.text]);
        Ok(Self {
            searcher,
            keys,
            parser,
            fields,
        })
    }

    /// Number of indexed documents.
    pub fn len(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// True when no document is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k` best documents for `query` by BM25 whose metadata matches every `filters` pair
    /// and whose key passes `keep`; best first, with their BM25 scores.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        filters: &[(String, String)],
        keep: &dyn Fn(u64) -> bool,
    ) -> Result<Vec<(u64, f32)>, VectordError> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let (text_query, _errors) = self.parser.parse_query_lenient(query);
        let query: Box<dyn Query> = if filters.is_empty() {
            text_query
        } else {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query)];
            for (c, v) in filters {
                let term = Term::from_field_text(self.fields.meta, &meta_term(c, v));
                clauses.push((
                    Occur::Must,
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                ));
            }
            Box::new(BooleanQuery::new(clauses))
        };
        Ok(top_keys_in(
            &self.searcher,
            &self.keys,
            query.as_ref(),
            k,
            keep,
        )?)
    }
}

/// The `n` best documents for `query` by BM25 whose `key` fast field passes `keep`, best first.
/// Keys `keep` refuses (deleted, superseded, filtered out) are dropped after the fact: the
/// search asks for more until `n` survive or the matches run out.
pub fn top_keys(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    n: usize,
    keep: &dyn Fn(u64) -> bool,
) -> tantivy::Result<Vec<(u64, f32)>> {
    top_keys_in(searcher, &key_columns(searcher)?, query, n, keep)
}

/// The `key` fast field of every segment of `searcher`, by segment ordinal.
fn key_columns(searcher: &tantivy::Searcher) -> tantivy::Result<Vec<Column<u64>>> {
    searcher
        .segment_readers()
        .iter()
        .map(|segment| segment.fast_fields().u64("key"))
        .collect()
}

/// [`top_keys`] with the key columns already open.
fn top_keys_in(
    searcher: &tantivy::Searcher,
    keys: &[Column<u64>],
    query: &dyn Query,
    n: usize,
    keep: &dyn Fn(u64) -> bool,
) -> tantivy::Result<Vec<(u64, f32)>> {
    let n = n.max(1);
    let mut limit = n;
    loop {
        let top = searcher.search(query, &TopDocs::with_limit(limit).order_by_score())?;
        let exhausted = top.len() < limit;
        let mut out = Vec::with_capacity(n);
        for (score, addr) in top {
            if let Some(key) = keys
                .get(addr.segment_ord as usize)
                .and_then(|column| column.first(addr.doc_id))
                && keep(key)
            {
                out.push((key, score));
                if out.len() == n {
                    break;
                }
            }
        }
        if out.len() == n || exhausted {
            return Ok(out);
        }
        limit *= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn build_load_search_with_filters_and_stemming() {
        let m1 = meta(&[("type", "ROOF")]);
        let m2 = meta(&[("type", "PORCH")]);
        let docs = [
            Bm25Doc {
                key: 1,
                text: "replace roofing shingles on garage",
                meta: &m1,
            },
            Bm25Doc {
                key: 2,
                text: "repair rotted porch stairs",
                meta: &m2,
            },
            Bm25Doc {
                key: 3,
                text: "new roof over porch",
                meta: &m2,
            },
        ];
        let bytes = build(&docs).unwrap();
        let index = Bm25Index::from_bytes(&bytes, "b").unwrap();
        assert_eq!(index.len(), 3);
        let all = |_: u64| true;
        let hits = index.search("roofs", 10, &[], &all).unwrap();
        let keys: Vec<u64> = hits.iter().map(|h| h.0).collect();
        assert!(keys.contains(&1) && keys.contains(&3), "{keys:?}");
        let filtered = index
            .search("roof", 10, &[("type".into(), "PORCH".into())], &all)
            .unwrap();
        assert_eq!(filtered.iter().map(|h| h.0).collect::<Vec<_>>(), vec![3]);
        let not_three = |k: u64| k != 3;
        assert!(
            index
                .search("porch", 10, &[], &not_three)
                .unwrap()
                .iter()
                .all(|h| h.0 == 2)
        );
        // Query syntax in user text is not an error.
        assert!(
            index
                .search("porch AND \"unclosed: (", 5, &[], &all)
                .is_ok()
        );
    }

    #[test]
    fn garbage_and_truncated_packs_are_corrupt() {
        assert!(matches!(
            Bm25Index::from_bytes(b"nope", "p"),
            Err(VectordError::Corrupt { .. })
        ));
        let m = meta(&[]);
        let bytes = build(&[Bm25Doc {
            key: 1,
            text: "a b c",
            meta: &m,
        }])
        .unwrap();
        assert!(matches!(
            Bm25Index::from_bytes(&bytes[..bytes.len() - 3], "p"),
            Err(VectordError::Corrupt { .. })
        ));
    }

    fn one_doc_pack() -> Vec<u8> {
        let m = meta(&[("ward", "1")]);
        build(&[Bm25Doc {
            key: 7,
            text: "replace roofing shingles",
            meta: &m,
        }])
        .unwrap()
    }

    fn corrupt_message(result: Result<Bm25Index, VectordError>) -> String {
        match result {
            Err(VectordError::Corrupt { message, .. }) => message,
            other => panic!("expected a corrupt pack, got {other:?}"),
        }
    }

    /// A flipped byte anywhere in a tantivy file is caught by the pack's checksum before
    /// tantivy reads it (fuzzing found damaged doc-store files that made tantivy abort on a
    /// huge allocation).
    #[test]
    fn every_damaged_byte_is_caught_by_the_checksum() {
        let bytes = one_doc_pack();
        assert_eq!(&bytes[..8], b"LHBM25\0\x02");
        for at in (8..bytes.len()).step_by(7) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x5a;
            let message = corrupt_message(Bm25Index::from_bytes(&damaged, "p"));
            assert!(message.contains("checksum"), "byte {at}: {message}");
        }
    }

    /// Packs written before the checksum (version 1) load through a corpus, whose manifest
    /// holds their SHA-256, and are refused on their own.
    #[test]
    fn version_one_packs_load_only_when_verified_by_the_caller() {
        let mut v1 = one_doc_pack();
        v1.truncate(v1.len() - DIGEST_LEN);
        v1[7] = VERSION_1;
        let message = corrupt_message(Bm25Index::from_bytes(&v1, "p"));
        assert!(message.contains("version-1"), "{message}");
        let index = Bm25Index::from_verified_bytes(&v1, "p").unwrap();
        let hits = index.search("roof", 5, &[], &|_| true).unwrap();
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![7]);
        let mut unknown = one_doc_pack();
        unknown[7] = 9;
        let message = corrupt_message(Bm25Index::from_bytes(&unknown, "p"));
        assert!(message.contains("unknown pack version"), "{message}");
    }
}
