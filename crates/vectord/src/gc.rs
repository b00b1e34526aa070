//! Garbage collection of a corpus: the manifests superseded longer ago than a retention window,
//! and the segment files that only they name.
//!
//! Every build or compaction commits a new manifest and leaves the old one, and the segments only
//! the old one named, in the store. A version is kept while it is current or was superseded less
//! than `retain` ago (a reader that opened it may still be loading it); every segment a kept
//! version names is kept. Segment folders no manifest names at all (a build killed between
//! writing a segment and committing it, or an earlier collection stopped half-way) are removed
//! once they are older than `retain` and at least [`ORPHAN_MIN_AGE`], so a build in flight never
//! loses the segment it is about to commit. Manifests go first, oldest first, so no remaining
//! manifest ever names a removed file.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Serialize;

use crate::VectordError;
use crate::corpus::Corpora;
use crate::manifest::{self, Manifest};

/// How long a superseded version stays readable by default (7 days, Delta's default for removed
/// files).
pub const DEFAULT_RETAIN: Duration = Duration::from_secs(7 * 24 * 3600);

/// Segment files no manifest names are kept at least this long (1 hour): a build commits each
/// segment right after writing it, within one chunk's work.
pub const ORPHAN_MIN_AGE: Duration = Duration::from_secs(3600);

/// What a collection removed (or, in a dry run, would remove) from one corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorpusGc {
    /// The corpus.
    pub corpus: String,
    /// Whether nothing was deleted (a dry run).
    pub dry_run: bool,
    /// The current version.
    pub version: u64,
    /// The oldest version still readable afterwards.
    pub oldest_kept: u64,
    /// Manifests removed.
    pub manifests_removed: u64,
    /// Segment folders removed (superseded or never committed).
    pub segments_removed: u64,
    /// Of those, segments no manifest named.
    pub orphans_removed: u64,
    /// Objects removed (manifests and segment files).
    pub files_removed: u64,
    /// Their bytes.
    pub bytes_removed: u64,
    /// Bytes left under the corpus.
    pub bytes_kept: u64,
}

struct Listed {
    path: Path,
    bytes: u64,
    modified_micros: i64,
}

impl Corpora {
    /// Remove the versions of corpus `name` superseded more than `retain` ago and the segment
    /// files no remaining version names (see the module documentation); with `dry_run`, only
    /// report what would go.
    pub async fn gc(
        &self,
        name: &str,
        retain: Duration,
        dry_run: bool,
    ) -> Result<CorpusGc, VectordError> {
        manifest::validate_name(name)?;
        let store = self.store.as_ref();
        let listing: Vec<_> = store
            .list(Some(&manifest::corpus_root(name)))
            .try_collect()
            .await?;
        let mut manifest_paths: BTreeMap<u64, Listed> = BTreeMap::new();
        let mut segment_files: BTreeMap<String, Vec<Listed>> = BTreeMap::new();
        let mut other_bytes = 0;
        for meta in listing {
            let listed = Listed {
                bytes: meta.size,
                modified_micros: meta.last_modified.timestamp_micros(),
                path: meta.location,
            };
            let parts: Vec<_> = listed.path.parts().collect();
            match parts.as_slice() {
                [_, _, dir, file] if dir.as_ref() == "manifests" => {
                    match file.as_ref().strip_suffix(".json").map(str::parse::<u64>) {
                        Some(Ok(version)) => {
                            manifest_paths.insert(version, listed);
                        }
                        _ => other_bytes += listed.bytes,
                    }
                }
                [_, _, dir, segment, _] if dir.as_ref() == "segments" => segment_files
                    .entry(segment.as_ref().to_string())
                    .or_default()
                    .push(listed),
                _ => other_bytes += listed.bytes,
            }
        }
        let Some(&version) = manifest_paths.keys().next_back() else {
            return Err(VectordError::UnknownCorpus {
                name: name.to_string(),
                known: self.names().await.unwrap_or_default(),
            });
        };
        let manifests: Vec<Manifest> = futures::stream::iter(manifest_paths.keys().copied())
            .map(|v| manifest::read_manifest(store, name, v))
            .buffered(8)
            .try_collect()
            .await?;

        let now = self.clock.now().as_micros();
        let retain_micros = i64::try_from(retain.as_micros()).unwrap_or(i64::MAX);
        let cutoff = now.saturating_sub(retain_micros);
        // A version is kept while current or superseded (its successor committed) after the cutoff.
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for (i, m) in manifests.iter().enumerate() {
            match manifests.get(i + 1) {
                Some(next) if next.updated_at_micros <= cutoff => dropped.push(m),
                _ => kept.push(m),
            }
        }
        let live: HashSet<&str> = kept
            .iter()
            .flat_map(|m| m.segments.iter().map(|s| s.id.as_str()))
            .collect();
        let named: HashSet<&str> = manifests
            .iter()
            .flat_map(|m| m.segments.iter().map(|s| s.id.as_str()))
            .collect();
        let orphan_age = i64::try_from(retain.max(ORPHAN_MIN_AGE).as_micros()).unwrap_or(i64::MAX);
        let orphan_cutoff = now.saturating_sub(orphan_age);

        let mut report = CorpusGc {
            corpus: name.to_string(),
            dry_run,
            version,
            oldest_kept: kept.first().map_or(version, |m| m.version),
            manifests_removed: dropped.len() as u64,
            segments_removed: 0,
            orphans_removed: 0,
            files_removed: 0,
            bytes_removed: 0,
            bytes_kept: other_bytes,
        };
        let mut doomed: Vec<Path> = Vec::new(); // the dropped manifests, oldest first
        for m in &dropped {
            if let Some(listed) = manifest_paths.get(&m.version) {
                report.bytes_removed += listed.bytes;
                doomed.push(listed.path.clone());
            }
        }
        for m in &kept {
            report.bytes_kept += manifest_paths.get(&m.version).map_or(0, |l| l.bytes);
        }
        let mut segment_paths = Vec::new();
        let mut removed_segments = BTreeSet::new();
        for (segment, files) in &segment_files {
            let superseded = !live.contains(segment.as_str()) && named.contains(segment.as_str());
            let old_orphan = !named.contains(segment.as_str())
                && files.iter().all(|f| f.modified_micros <= orphan_cutoff);
            if superseded || old_orphan {
                removed_segments.insert(segment);
                report.orphans_removed += u64::from(old_orphan);
                for f in files {
                    report.bytes_removed += f.bytes;
                    segment_paths.push(f.path.clone());
                }
            } else {
                report.bytes_kept += files.iter().map(|f| f.bytes).sum::<u64>();
            }
        }
        report.segments_removed = removed_segments.len() as u64;
        report.files_removed = (doomed.len() + segment_paths.len()) as u64;
        if !dry_run {
            delete_all(store, doomed).await?;
            delete_all(store, segment_paths).await?;
        }
        Ok(report)
    }
}

/// Delete `paths` in order, a few at a time; an object already gone (a collection running
/// at the same time) is not an error.
async fn delete_all(store: &dyn ObjectStore, paths: Vec<Path>) -> Result<(), VectordError> {
    let mut deletes = futures::stream::iter(paths)
        .map(|path| async move {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(VectordError::from(e)),
            }
        })
        .buffered(8);
    while let Some(result) = deletes.next().await {
        result?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lakehouse_models::EmbedderSpec;
    use lakehouse_store::{ManualClock, Timestamp};
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    use super::*;
    use crate::{BuildOptions, NoProgress, SearchRequest, SourceRow};

    const HOUR: i64 = 3600 * 1_000_000;

    fn rows(round: usize) -> Vec<SourceRow> {
        (0..30)
            .map(|i| SourceRow {
                id: format!("doc-{i}"),
                text: format!("permit {i} round {round}: repairs to the roof and porch"),
                meta: Default::default(),
            })
            .collect()
    }

    async fn corpora_at(now_micros: i64) -> (Corpora, ManualClock, Arc<InMemory>) {
        let store = Arc::new(InMemory::new());
        let clock = ManualClock::new(Timestamp(now_micros));
        let corpora = Corpora::with_clock(store.clone(), Arc::new(clock.clone()));
        (corpora, clock, store)
    }

    /// Build round `round` (every text changes); the version it left current.
    async fn build(corpora: &Corpora, round: usize) -> u64 {
        let options = BuildOptions {
            embedder: Some("hash:32".parse::<EmbedderSpec>().unwrap()),
            ..BuildOptions::default()
        };
        corpora
            .build("docs", &rows(round), &options, &NoProgress)
            .await
            .unwrap()
            .version
    }

    async fn keys(store: &InMemory) -> Vec<String> {
        let all: Vec<_> = store.list(None).try_collect().await.unwrap();
        all.into_iter().map(|o| o.location.to_string()).collect()
    }

    fn now_micros() -> i64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        i64::try_from(since.as_micros()).unwrap()
    }

    async fn hits(corpora: &Corpora) -> Vec<(String, String, u32)> {
        let found = corpora
            .search(&SearchRequest::new("roof porch round", vec!["docs".into()]))
            .await
            .unwrap();
        assert!(!found.hits.is_empty());
        found
            .hits
            .into_iter()
            .map(|h| (h.id, h.snippet, h.score.to_bits()))
            .collect()
    }

    #[tokio::test]
    async fn versions_superseded_within_the_window_and_their_segments_stay() {
        let now = now_micros();
        let (corpora, clock, store) = corpora_at(now - 10 * HOUR).await;
        // A build commits one version or more (a changed text: new segment, then compaction).
        build(&corpora, 0).await; // at -10 h
        clock.advance_micros(4 * HOUR);
        let second = build(&corpora, 1).await; // at -6 h: the first build's versions superseded
        clock.advance_micros(4 * HOUR);
        let third = build(&corpora, 2).await; // at -2 h: `second` superseded 2 h ago
        clock.set(Timestamp(now));
        let before_hits = hits(&corpora).await;
        let before = keys(&store).await;

        let dry = corpora
            .gc("docs", Duration::from_secs(4 * 3600), true)
            .await
            .unwrap();
        assert_eq!(keys(&store).await, before, "a dry run deletes nothing");
        assert_eq!(
            (dry.version, dry.oldest_kept, dry.manifests_removed),
            (third, second, second - 1)
        );
        assert!(
            dry.segments_removed >= 1 && dry.bytes_removed > 0,
            "{dry:?}"
        );
        assert_eq!(dry.orphans_removed, 0);

        let done = corpora
            .gc("docs", Duration::from_secs(4 * 3600), false)
            .await
            .unwrap();
        assert_eq!(
            done,
            CorpusGc {
                dry_run: false,
                ..dry.clone()
            }
        );
        let history: Vec<u64> = corpora
            .history("docs")
            .await
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(history, (second..=third).collect::<Vec<_>>());
        // every kept version's segments are all there
        let left = keys(&store).await;
        for m in corpora.history("docs").await.unwrap() {
            for s in &m.segments {
                for f in &s.files {
                    let key = format!("corpora/docs/segments/{}/{}", s.id, f.name);
                    assert!(left.contains(&key), "{key} was removed");
                }
            }
        }
        assert_eq!(left.len() as u64, before.len() as u64 - done.files_removed);
        assert_eq!(hits(&Corpora::new(store.clone())).await, before_hits);

        // with no retention, only the current version is left; a second run finds nothing
        let all = corpora.gc("docs", Duration::ZERO, false).await.unwrap();
        assert_eq!(
            (all.oldest_kept, all.manifests_removed),
            (third, third - second)
        );
        assert_eq!(hits(&Corpora::new(store.clone())).await, before_hits);
        let again = corpora.gc("docs", Duration::ZERO, false).await.unwrap();
        assert_eq!((again.files_removed, again.bytes_removed), (0, 0));
        assert_eq!(again.bytes_kept, all.bytes_kept);
    }

    /// Collections with no retention running while builds commit: every build lands, and
    /// the corpus always opens and answers (a segment written but not yet committed is young,
    /// so never collected).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn collections_during_builds_never_break_the_corpus() {
        let store = Arc::new(InMemory::new());
        let builder = Corpora::new(store.clone());
        build(&builder, 0).await;
        let builds = tokio::spawn(async move {
            let mut versions = Vec::new();
            for round in 1..=6 {
                versions.push(build(&builder, round).await);
            }
            versions
        });
        let collector = Corpora::new(store.clone());
        let mut collections = 0;
        while !builds.is_finished() {
            collector.gc("docs", Duration::ZERO, false).await.unwrap();
            collections += 1;
            let reader = Corpora::new(store.clone());
            assert!(!hits(&reader).await.is_empty());
        }
        let versions = builds.await.unwrap();
        assert!(collections > 0);
        let last = collector.gc("docs", Duration::ZERO, false).await.unwrap();
        assert_eq!(last.version, *versions.last().unwrap());
        let reader = Corpora::new(store.clone());
        let found = reader
            .search(&SearchRequest::new("round 6 roof", vec!["docs".into()]))
            .await
            .unwrap();
        assert!(
            found.hits[0].snippet.contains("round 6"),
            "{:?}",
            found.hits[0]
        );
    }

    #[tokio::test]
    async fn segments_no_manifest_names_go_only_when_old() {
        let now = now_micros();
        let (corpora, _clock, store) = corpora_at(now).await;
        build(&corpora, 0).await;
        // a build killed after writing a segment, before committing it
        let orphan = Path::from("corpora/docs/segments/orphan/docs.parquet");
        store
            .put(&orphan, PutPayload::from_static(b"x"))
            .await
            .unwrap();
        let young = corpora.gc("docs", Duration::ZERO, false).await.unwrap();
        assert_eq!((young.orphans_removed, young.files_removed), (0, 0));
        assert!(
            store.head(&orphan).await.is_ok(),
            "a young orphan may be a build in flight"
        );

        let later = Corpora::with_clock(
            store.clone(),
            Arc::new(ManualClock::new(Timestamp(now + 2 * HOUR))),
        );
        let old = later.gc("docs", Duration::ZERO, false).await.unwrap();
        assert_eq!((old.orphans_removed, old.segments_removed), (1, 1));
        assert!(store.head(&orphan).await.is_err());
        assert!(matches!(
            later.gc("nope", Duration::ZERO, true).await,
            Err(VectordError::UnknownCorpus { .. })
        ));
        assert!(matches!(
            later.gc("../x", Duration::ZERO, true).await,
            Err(VectordError::InvalidName { .. })
        ));
    }
}
