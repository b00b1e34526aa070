//! Building and updating a corpus from source rows: resumable and incremental.
//!
//! A build compares the rows with the corpus's live documents by id and content hash: unchanged
//! rows cost nothing, new and changed rows are embedded (a vector already stored for the same
//! text is reused instead), and rows no longer in the source are deleted. New documents are
//! committed in chunks, each chunk a new segment plus a new manifest version, so an interrupted
//! build keeps what it committed and the next run continues from there. A changed document's old
//! version is deleted in the same commit that adds the new one. When segments pile up or many
//! documents are deleted, the live documents are compacted into one segment (vectors reused).

use std::collections::HashMap;
use std::time::Instant;

use lakehouse_models::{Embedder, EmbedderSpec, content_hash};
use serde::Serialize;

use crate::VectordError;
use crate::ann::AnnParams;
use crate::corpus::{Corpora, CorpusView};
use crate::docs::Doc;
use crate::manifest::{self, EmbedderInfo, Manifest, SegmentEntry, SourceInfo};
use crate::rows::SourceRow;
use crate::segment;

/// Receives progress of a long build (the CLI draws a bar).
pub trait Progress: Send + Sync {
    /// A phase starts with `total` units of work.
    fn start(&self, _phase: &str, _total: u64) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// The phase is over.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The embedder; `None` keeps the corpus's own, or MiniLM for a new corpus.
    pub embedder: Option<EmbedderSpec>,
    /// ANN parameters for a new corpus (an existing one keeps its own).
    pub params: Option<AnnParams>,
    /// Documents per committed segment. Default 8192.
    pub chunk_rows: usize,
    /// Texts per embedding call. Default 256.
    pub embed_batch: usize,
    /// Delete documents whose id is no longer in the rows. Default true.
    pub delete_missing: bool,
    /// Compact when there are more segments than this. Default 8.
    pub max_segments: usize,
    /// Where the rows came from, recorded in the manifest.
    pub source: Option<SourceInfo>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            embedder: None,
            params: None,
            chunk_rows: 8192,
            embed_batch: 256,
            delete_missing: true,
            max_segments: 8,
            source: None,
        }
    }
}

/// What a build did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BuildReport {
    /// The corpus.
    pub corpus: String,
    /// Version before the build (0 for a new corpus).
    pub from_version: u64,
    /// Version after it.
    pub version: u64,
    /// Rows new to the corpus.
    pub added: u64,
    /// Rows whose text changed.
    pub updated: u64,
    /// Documents deleted because their rows are gone.
    pub deleted: u64,
    /// Rows already indexed with the same text.
    pub unchanged: u64,
    /// Texts sent to the embedder.
    pub embedded: u64,
    /// Vectors reused from stored documents with the same text.
    pub reused_vectors: u64,
    /// Segments after the build.
    pub segments: usize,
    /// Whether the build compacted the corpus into one segment.
    pub compacted: bool,
    /// Live documents after the build.
    pub docs: u64,
    /// Wall time.
    pub seconds: f64,
}

struct Pending<'a> {
    row: &'a SourceRow,
    hash: String,
    /// The live document (segment index, key) this row replaces.
    replaces: Option<(usize, u64)>,
}

impl Corpora {
    /// Build `name` from `rows` or bring it up to date with them.
    pub async fn build(
        &self,
        name: &str,
        rows: &[SourceRow],
        options: &BuildOptions,
        progress: &dyn Progress,
    ) -> Result<BuildReport, VectordError> {
        let started = Instant::now();
        manifest::validate_name(name)?;
        let current = self.try_manifest(name).await?;
        let spec = match (&options.embedder, &current) {
            (Some(spec), _) => spec.clone(),
            (None, Some(m)) => m.embedder.spec.parse()?,
            (None, None) => EmbedderSpec::default(),
        };
        let embedder = self.embedder(&spec).await?;
        if let Some(m) = &current {
            check_embedder(m, embedder.as_ref())?;
        }
        let view = match &current {
            Some(m) => Some(self.load_view(m.clone()).await?),
            None => None,
        };
        let mut report = BuildReport {
            corpus: name.to_string(),
            from_version: current.as_ref().map_or(0, |m| m.version),
            ..BuildReport::default()
        };

        // Diff the rows against the live documents.
        let mut live: HashMap<&str, (usize, u64, &str)> = HashMap::new();
        let mut by_hash: HashMap<&str, (usize, u64)> = HashMap::new();
        if let Some(view) = &view {
            for (seg, doc) in view.live_docs() {
                live.insert(doc.id.as_str(), (seg, doc.key, doc.hash.as_str()));
                by_hash.insert(doc.hash.as_str(), (seg, doc.key));
            }
        }
        let mut pending = Vec::new();
        let mut present: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for row in rows {
            if row.id.trim().is_empty() || row.text.trim().is_empty() {
                return Err(VectordError::InvalidInput(format!(
                    "row {:?}: ids and texts must not be empty",
                    row.id
                )));
            }
            if !present.insert(row.id.as_str()) {
                return Err(VectordError::InvalidInput(format!(
                    "duplicate id {:?}; every row needs its own id",
                    row.id
                )));
            }
            let hash = content_hash(&row.text);
            match live.get(row.id.as_str()) {
                Some((_, _, old)) if *old == hash => report.unchanged += 1,
                Some((seg, key, _)) => {
                    report.updated += 1;
                    pending.push(Pending {
                        row,
                        hash,
                        replaces: Some((*seg, *key)),
                    });
                }
                None => {
                    report.added += 1;
                    pending.push(Pending {
                        row,
                        hash,
                        replaces: None,
                    });
                }
            }
        }
        if rows.is_empty() && current.is_none() {
            return Err(VectordError::InvalidInput(
                "no rows with text to index; a new corpus needs at least one".into(),
            ));
        }
        let deletions: Vec<(usize, u64)> = if options.delete_missing {
            live.iter()
                .filter(|(id, _)| !present.contains(*id))
                .map(|(_, (seg, key, _))| (*seg, *key))
                .collect()
        } else {
            Vec::new()
        };
        report.deleted = deletions.len() as u64;

        let mut manifest = current.clone().unwrap_or_else(|| Manifest {
            format: manifest::FORMAT,
            corpus: name.to_string(),
            version: 0,
            embedder: EmbedderInfo {
                spec: spec.to_string(),
                id: embedder.id().to_string(),
                dim: embedder.dim(),
            },
            params: options.params.unwrap_or_default(),
            source: None,
            segments: Vec::new(),
            next_key: 1,
            docs: 0,
            updated_at_micros: 0,
            tuned: None,
        });
        if options.source.is_some() {
            manifest.source.clone_from(&options.source);
        }

        progress.start("embedding", pending.len() as u64);
        let chunk_rows = options.chunk_rows.max(1);
        let chunks: Vec<&[Pending<'_>]> = pending.chunks(chunk_rows).collect();
        let last = chunks.len().saturating_sub(1);
        for (n, chunk) in chunks.iter().enumerate() {
            let vectors = self
                .vectors_for(
                    chunk,
                    embedder.as_ref(),
                    view.as_ref(),
                    &by_hash,
                    options,
                    progress,
                    &mut report,
                )
                .await?;
            let mut docs = Vec::with_capacity(chunk.len());
            for p in *chunk {
                docs.push(Doc {
                    key: manifest.next_key,
                    id: p.row.id.clone(),
                    text: p.row.text.clone(),
                    hash: p.hash.clone(),
                    meta: p.row.meta.clone(),
                });
                manifest.next_key += 1;
            }
            let replaced: Vec<(usize, u64)> = chunk.iter().filter_map(|p| p.replaces).collect();
            let entry = self.write_segment(&manifest, docs, vectors).await?;
            manifest.segments.push(entry);
            let dead = if n == last {
                [replaced, deletions.clone()].concat()
            } else {
                replaced
            };
            self.commit(&mut manifest, &dead).await?;
        }
        progress.finish();
        if pending.is_empty() && !deletions.is_empty() {
            self.commit(&mut manifest, &deletions).await?;
        }

        let written: u64 = manifest.segments.iter().map(|s| s.docs).sum();
        let dead: u64 = manifest
            .segments
            .iter()
            .map(|s| s.deleted.len() as u64)
            .sum();
        if manifest.segments.len() > options.max_segments.max(1)
            || (written > 0 && dead * 10 > written * 3)
        {
            self.compact_manifest(&mut manifest, progress).await?;
            report.compacted = true;
        }
        report.version = manifest.version;
        report.segments = manifest.segments.len();
        report.docs = manifest.docs;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Merge the live documents of `name` into one segment, reusing their vectors.
    pub async fn compact(
        &self,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<Manifest, VectordError> {
        let mut manifest = self.manifest(name).await?;
        self.compact_manifest(&mut manifest, progress).await?;
        Ok(manifest)
    }

    async fn compact_manifest(
        &self,
        manifest: &mut Manifest,
        progress: &dyn Progress,
    ) -> Result<(), VectordError> {
        let view = self.load_view(manifest.clone()).await?;
        let live: Vec<(usize, &Doc)> = view.live_docs().collect();
        progress.start("compacting", live.len() as u64);
        let mut docs = Vec::with_capacity(live.len());
        let mut vectors = Vec::with_capacity(live.len());
        for (seg, doc) in live {
            let v = view
                .vector(seg, doc.key)?
                .ok_or_else(|| VectordError::Corrupt {
                    path: format!(
                        "corpora/{}/segments/{}",
                        manifest.corpus, view.manifest.segments[seg].id
                    ),
                    message: format!("no vector for document key {}", doc.key),
                })?;
            vectors.push(v);
            docs.push(doc.clone());
            progress.advance(1);
        }
        let entry = self.write_segment(manifest, docs, vectors).await?;
        manifest.segments = vec![entry];
        self.commit(manifest, &[]).await?;
        progress.finish();
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn vectors_for(
        &self,
        chunk: &[Pending<'_>],
        embedder: &dyn Embedder,
        view: Option<&CorpusView>,
        by_hash: &HashMap<&str, (usize, u64)>,
        options: &BuildOptions,
        progress: &dyn Progress,
        report: &mut BuildReport,
    ) -> Result<Vec<Vec<f32>>, VectordError> {
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; chunk.len()];
        let mut to_embed = Vec::new();
        for (i, p) in chunk.iter().enumerate() {
            let reused = match (view, by_hash.get(p.hash.as_str())) {
                (Some(view), Some((seg, key))) => view.vector(*seg, *key)?,
                _ => None,
            };
            match reused {
                Some(v) => {
                    vectors[i] = Some(v);
                    report.reused_vectors += 1;
                    progress.advance(1);
                }
                None => to_embed.push(i),
            }
        }
        for batch in to_embed.chunks(options.embed_batch.max(1)) {
            let texts: Vec<&str> = batch.iter().map(|&i| chunk[i].row.text.as_str()).collect();
            let embedded = embedder.embed(&texts).await?;
            for (&i, v) in batch.iter().zip(embedded) {
                vectors[i] = Some(v);
            }
            report.embedded += batch.len() as u64;
            progress.advance(batch.len() as u64);
        }
        Ok(vectors.into_iter().map(Option::unwrap_or_default).collect())
    }

    async fn write_segment(
        &self,
        manifest: &Manifest,
        docs: Vec<Doc>,
        vectors: Vec<Vec<f32>>,
    ) -> Result<SegmentEntry, VectordError> {
        let dim = manifest.embedder.dim;
        let params = manifest.params;
        let count = docs.len() as u64;
        let files =
            tokio::task::spawn_blocking(move || segment::encode(&docs, &vectors, dim, &params))
                .await??;
        let id = format!(
            "{:08}-{:x}",
            manifest.version + 1,
            self.clock.now().as_micros() ^ i64::from(std::process::id())
        );
        segment::put(self.store.as_ref(), &manifest.corpus, &id, count, files).await
    }

    /// Write `manifest` as the next version, with the `dead` (segment index, key) documents
    /// deleted.
    pub(crate) async fn commit(
        &self,
        manifest: &mut Manifest,
        dead: &[(usize, u64)],
    ) -> Result<(), VectordError> {
        for &(seg, key) in dead {
            if let Some(entry) = manifest.segments.get_mut(seg) {
                entry.deleted.push(key);
            }
        }
        let written: u64 = manifest.segments.iter().map(|s| s.docs).sum();
        let deleted: u64 = manifest
            .segments
            .iter()
            .map(|s| s.deleted.len() as u64)
            .sum();
        manifest.docs = written - deleted;
        manifest.version += 1;
        manifest.updated_at_micros = self.clock.now().as_micros();
        let written = manifest::write_manifest(self.store.as_ref(), manifest).await;
        // Whether or not the write landed, the next search asks the store.
        self.forget(&manifest.corpus);
        written
    }

    /// Record new ANN search parameters (from tuning) as a new version.
    pub(crate) async fn commit_params(
        &self,
        mut manifest: Manifest,
    ) -> Result<Manifest, VectordError> {
        self.commit(&mut manifest, &[]).await?;
        Ok(manifest)
    }
}

pub(crate) fn check_embedder(m: &Manifest, embedder: &dyn Embedder) -> Result<(), VectordError> {
    if m.embedder.id != embedder.id() || m.embedder.dim != embedder.dim() {
        return Err(VectordError::EmbedderMismatch {
            corpus: m.corpus.clone(),
            built_with: m.embedder.id.clone(),
            built_dim: m.embedder.dim,
            given: embedder.id().to_string(),
            given_dim: embedder.dim(),
        });
    }
    Ok(())
}
