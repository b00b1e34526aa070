//! Corpus manifests and where a corpus lives in the store.
//!
//! ```text
//! corpora/<corpus>/manifests/<version:020>.json   one per committed version, written create-only
//! corpora/<corpus>/segments/<segment>/vectors.hnsw, bm25.pack, docs.parquet   immutable
//! ```
//! A build writes its segment files first, then the next manifest version with a create-only
//! put: the manifest is the commit point, two builders cannot both commit the same version, and
//! a crash leaves at most unreferenced segment files behind. The current version is the highest
//! manifest present.

use bytes::Bytes;
use futures::TryStreamExt;
use lakehouse_store::{Created, create_once};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use crate::VectordError;
use crate::ann::AnnParams;

/// The manifest format this code writes and reads.
pub const FORMAT: u32 = 1;

/// The embedder a corpus was built with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedderInfo {
    /// The spec to open it again (e.g. `minilm`).
    pub spec: String,
    /// Its id (e.g. `minilm:all-MiniLM-L6-v2`); queries must come from the same id.
    pub id: String,
    /// Vector length.
    pub dim: usize,
}

/// Where a corpus's documents came from, so a rebuild can repeat it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SourceInfo {
    /// The dataset read.
    pub dataset: String,
    /// The text column or template.
    pub text: String,
    /// The id column.
    pub id: String,
    /// Metadata columns.
    pub meta: Vec<String>,
}

/// One file of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// File name inside the segment folder.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the content, hex; checked on load.
    pub sha256: String,
}

/// One immutable segment and the keys deleted from it since it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Folder name under `segments/`.
    pub id: String,
    /// Documents written into the segment.
    pub docs: u64,
    /// Keys deleted (or replaced) since; excluded from every search.
    #[serde(default)]
    pub deleted: Vec<u64>,
    /// Its files.
    pub files: Vec<FileEntry>,
}

/// The result of the last parameter trial run, recorded with the parameters it chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneRecord {
    /// Recall@k asked for.
    pub target_recall: f64,
    /// Recall@k measured with the chosen parameters.
    pub recall: f64,
    /// k used.
    pub k: usize,
    /// Median query latency in milliseconds with the chosen parameters.
    pub p50_ms: f64,
    /// Trials run.
    pub trials: usize,
    /// When, in microseconds since the Unix epoch.
    pub at_micros: i64,
}

/// A committed version of a corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format number ([`FORMAT`]).
    pub format: u32,
    /// The corpus name.
    pub corpus: String,
    /// Version, from 1, one more per commit.
    pub version: u64,
    /// The embedder every vector came from.
    pub embedder: EmbedderInfo,
    /// ANN parameters (`ef_search` is what search uses).
    pub params: AnnParams,
    /// Where the documents came from.
    #[serde(default)]
    pub source: Option<SourceInfo>,
    /// Segments, oldest first.
    pub segments: Vec<SegmentEntry>,
    /// The next unused document key.
    pub next_key: u64,
    /// Live documents (written minus deleted).
    pub docs: u64,
    /// Commit time, microseconds since the Unix epoch.
    pub updated_at_micros: i64,
    /// The last tuning result, if any.
    #[serde(default)]
    pub tuned: Option<TuneRecord>,
}

pub(crate) fn corpus_root(name: &str) -> Path {
    Path::from(format!("corpora/{name}"))
}

pub(crate) fn manifests_dir(name: &str) -> Path {
    Path::from(format!("corpora/{name}/manifests"))
}

pub(crate) fn manifest_path(name: &str, version: u64) -> Path {
    Path::from(format!("corpora/{name}/manifests/{version:020}.json"))
}

pub(crate) fn segment_file(name: &str, segment: &str, file: &str) -> Path {
    Path::from(format!("corpora/{name}/segments/{segment}/{file}"))
}

/// Check a corpus name: 1-64 of `[a-z0-9_]`, starting with a letter or digit (the same rule
/// as dataset names, so a corpus can share its dataset's name).
pub fn validate_name(name: &str) -> Result<(), VectordError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(VectordError::InvalidName {
            name: name.to_string(),
        })
    }
}

/// The names of every corpus with at least one manifest, sorted.
pub(crate) async fn list_corpora(store: &dyn ObjectStore) -> Result<Vec<String>, VectordError> {
    let listing = store
        .list_with_delimiter(Some(&Path::from("corpora")))
        .await?;
    let mut names: Vec<String> = Vec::new();
    for prefix in listing.common_prefixes {
        if let Some(name) = prefix.filename()
            && latest_version(store, name).await?.is_some()
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// The highest committed version of `name`, if any.
pub(crate) async fn latest_version(
    store: &dyn ObjectStore,
    name: &str,
) -> Result<Option<u64>, VectordError> {
    Ok(versions(store, name).await?.pop())
}

/// The versions of `name` whose manifests are in the store, in order.
pub(crate) async fn versions(
    store: &dyn ObjectStore,
    name: &str,
) -> Result<Vec<u64>, VectordError> {
    let objects: Vec<_> = store.list(Some(&manifests_dir(name))).try_collect().await?;
    let mut versions: Vec<u64> = objects
        .iter()
        .filter_map(|o| o.location.filename()?.strip_suffix(".json")?.parse().ok())
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

/// Read version `version` of `name`.
pub(crate) async fn read_manifest(
    store: &dyn ObjectStore,
    name: &str,
    version: u64,
) -> Result<Manifest, VectordError> {
    let path = manifest_path(name, version);
    let bytes = store.get(&path).await?.bytes().await?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| VectordError::Corrupt {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    if manifest.format != FORMAT || manifest.version != version || manifest.corpus != name {
        return Err(VectordError::Corrupt {
            path: path.to_string(),
            message: format!(
                "format {} version {} corpus {:?} (expected format {FORMAT}, version {version}, corpus {name:?})",
                manifest.format, manifest.version, manifest.corpus
            ),
        });
    }
    Ok(manifest)
}

/// Commit `manifest` as its version; fails with [`VectordError::Conflict`] if that version exists.
pub(crate) async fn write_manifest(
    store: &dyn ObjectStore,
    manifest: &Manifest,
) -> Result<(), VectordError> {
    let bytes = serde_json::to_vec_pretty(manifest).map_err(|e| VectordError::Corrupt {
        path: manifest_path(&manifest.corpus, manifest.version).to_string(),
        message: e.to_string(),
    })?;
    // Equal bytes are this writer's manifest, stored by an attempt whose answer was lost (were
    // another writer's ever byte for byte the same, it would say exactly what ours says).
    let path = manifest_path(&manifest.corpus, manifest.version);
    let body = Bytes::from(bytes);
    match create_once(store, &path, body.clone(), |found| found == body.as_ref()).await? {
        Created::Ours => Ok(()),
        Created::Theirs(_) => Err(VectordError::Conflict {
            corpus: manifest.corpus.clone(),
            version: manifest.version,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["permits", "sec_tickers", "a", "x_1", "2024"] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "Permits",
            "../x",
            "a/b",
            "sf-permits",
            "_x",
            &"a".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
