//! Reclaiming space: one pass over every dataset ([`Tables::vacuum`]) and every corpus
//! ([`Corpora::gc`]) of the store with one retention window.
//!
//! What is removed is only what no version committed within the window reads: the current
//! version of everything always stays, and so does every version that was current at some
//! moment of the window. Memory namespaces and journals are not touched (their commits are
//! their history).
//!
//! [`Tables::vacuum`]: lakehouse_table::Tables::vacuum
//! [`Corpora::gc`]: lakehouse_vectord::Corpora::gc

use std::time::Duration;

use lakehouse_table::Vacuum;
use lakehouse_vectord::CorpusGc;
use serde::Serialize;

use crate::{Error, Lakehouse};

/// What a collection removed (or, in a dry run, would remove) across the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// The retention window, in seconds.
    pub retain_seconds: u64,
    /// Whether nothing was deleted.
    pub dry_run: bool,
    /// Per dataset.
    pub datasets: Vec<Vacuum>,
    /// Per corpus.
    pub corpora: Vec<CorpusGc>,
    /// Objects removed in all.
    pub files_removed: u64,
    /// Their bytes.
    pub bytes_removed: u64,
    /// Bytes left in the datasets and corpora.
    pub bytes_kept: u64,
}

impl Lakehouse {
    /// Vacuum every dataset and collect every corpus with retention `retain`; with `dry_run`,
    /// only report what would go. Stops at the first failure (what was removed before it
    /// stays removed; nothing any retained version reads is touched).
    pub async fn gc(&self, retain: Duration, dry_run: bool) -> Result<GcReport, Error> {
        let mut datasets = Vec::new();
        for name in self.tables.names().await? {
            datasets.push(self.tables.vacuum(&name, retain, dry_run).await?);
        }
        let mut corpora = Vec::new();
        for name in self.corpora.names().await? {
            corpora.push(self.corpora.gc(&name, retain, dry_run).await?);
        }
        let files_removed = datasets.iter().map(|d| d.files_removed).sum::<u64>()
            + corpora.iter().map(|c| c.files_removed).sum::<u64>();
        let bytes_removed = datasets.iter().map(|d| d.bytes_removed).sum::<u64>()
            + corpora.iter().map(|c| c.bytes_removed).sum::<u64>();
        let bytes_kept = datasets.iter().map(|d| d.bytes_kept).sum::<u64>()
            + corpora.iter().map(|c| c.bytes_kept).sum::<u64>();
        Ok(GcReport {
            retain_seconds: retain.as_secs(),
            dry_run,
            datasets,
            corpora,
            files_removed,
            bytes_removed,
            bytes_kept,
        })
    }
}
