//! Segments: an immutable set of documents with its ANN index, BM25 index and docs file.
//!
//! Writing puts the three files create-only and returns their [`SegmentEntry`] (sizes and
//! SHA-256) for the manifest. Loading fetches them, checks sizes and hashes before handing any
//! byte to a decoder (a damaged file is a [`VectordError::Corrupt`] naming it), and decodes.

use std::collections::HashMap;

use bytes::Bytes;
use lakehouse_store::{Created, create_once};
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use crate::VectordError;
use crate::ann::{AnnParams, HnswIndex, VectorIndex};
use crate::bm25::{self, Bm25Doc, Bm25Index};
use crate::docs::{self, Doc};
use crate::manifest::{FileEntry, SegmentEntry, segment_file};

const VECTORS: &str = "vectors.hnsw";
/// The vector file of segments written before the index was ours (usearch); not readable now.
const OLD_VECTORS: &str = "vectors.usearch";
const BM25: &str = "bm25.pack";
const DOCS: &str = "docs.parquet";

/// A loaded segment.
#[derive(Debug)]
pub struct Segment {
    /// Its id.
    pub id: String,
    /// The ANN index over its vectors.
    pub ann: HnswIndex,
    /// The BM25 index over its texts.
    pub bm25: Bm25Index,
    /// Its documents.
    pub docs: Vec<Doc>,
    by_key: HashMap<u64, usize>,
}

impl Segment {
    /// The document with `key`, if it is in this segment.
    pub fn doc(&self, key: u64) -> Option<&Doc> {
        self.by_key.get(&key).map(|&i| &self.docs[i])
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Encode a segment's three files (CPU work; run it on a blocking thread).
pub(crate) fn encode(
    docs: &[Doc],
    vectors: &[Vec<f32>],
    dim: usize,
    params: &AnnParams,
) -> Result<Vec<(&'static str, Vec<u8>)>, VectordError> {
    let items: Vec<(u64, &[f32])> = docs
        .iter()
        .zip(vectors)
        .map(|(d, v)| (d.key, v.as_slice()))
        .collect();
    let ann = HnswIndex::build(dim, params, &items, threads())?;
    let bm25_docs: Vec<Bm25Doc<'_>> = docs
        .iter()
        .map(|d| Bm25Doc {
            key: d.key,
            text: &d.text,
            meta: &d.meta,
        })
        .collect();
    Ok(vec![
        (VECTORS, ann.to_bytes()?),
        (BM25, bm25::build(&bm25_docs)?),
        (DOCS, docs::to_parquet(docs)?),
    ])
}

/// Put encoded files under `corpora/<corpus>/segments/<id>/` and describe them.
pub(crate) async fn put(
    store: &dyn ObjectStore,
    corpus: &str,
    id: &str,
    docs: u64,
    files: Vec<(&'static str, Vec<u8>)>,
) -> Result<SegmentEntry, VectordError> {
    let mut entries = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        entries.push(FileEntry {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
        // A lost answer to an earlier attempt leaves our own bytes there; anything else at a
        // fresh segment's key is refused as the store refused it.
        let path = segment_file(corpus, id, name);
        let body = Bytes::from(bytes);
        match create_once(store, &path, body.clone(), |found| found == body.as_ref()).await? {
            Created::Ours => {}
            Created::Theirs(_) => {
                return Err(VectordError::Store(object_store::Error::AlreadyExists {
                    path: path.to_string(),
                    source: "another object already has this new segment's key".into(),
                }));
            }
        }
    }
    Ok(SegmentEntry {
        id: id.to_string(),
        docs,
        deleted: Vec::new(),
        files: entries,
    })
}

/// Fetch, verify and decode a segment.
pub(crate) async fn load(
    store: &dyn ObjectStore,
    corpus: &str,
    entry: &SegmentEntry,
) -> Result<Segment, VectordError> {
    if entry.files.iter().any(|f| f.name == OLD_VECTORS) {
        return Err(VectordError::OldFormat {
            corpus: corpus.to_string(),
            path: segment_file(corpus, &entry.id, OLD_VECTORS).to_string(),
        });
    }
    let fetch =
        |name: &'static str| async move {
            let file = entry.files.iter().find(|f| f.name == name).ok_or_else(|| {
                VectordError::Corrupt {
                    path: segment_file(corpus, &entry.id, name).to_string(),
                    message: "not listed in the manifest".into(),
                }
            })?;
            let path = segment_file(corpus, &entry.id, name);
            let bytes = store.get(&path).await?.bytes().await?;
            if bytes.len() as u64 != file.bytes {
                return Err(VectordError::Corrupt {
                    path: path.to_string(),
                    message: format!("{} bytes, the manifest says {}", bytes.len(), file.bytes),
                });
            }
            if sha256_hex(&bytes) != file.sha256 {
                return Err(VectordError::Corrupt {
                    path: path.to_string(),
                    message: "checksum does not match the manifest".into(),
                });
            }
            Ok::<(String, Bytes), VectordError>((path.to_string(), bytes))
        };
    let (vectors, bm25, docs) = futures::try_join!(fetch(VECTORS), fetch(BM25), fetch(DOCS))?;
    let id = entry.id.clone();
    tokio::task::spawn_blocking(move || {
        let ann = HnswIndex::from_bytes(&vectors.1, &vectors.0)?;
        let bm25 = Bm25Index::from_verified_bytes(&bm25.1, &bm25.0)?;
        let docs = docs::from_parquet(docs.1, &docs.0)?;
        let by_key = docs.iter().enumerate().map(|(i, d)| (d.key, i)).collect();
        Ok(Segment {
            id,
            ann,
            bm25,
            docs,
            by_key,
        })
    })
    .await?
}
