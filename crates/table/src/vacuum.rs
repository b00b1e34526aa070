//! Vacuum of a dataset: Delta's VACUUM, which deletes the data files that no version newer than
//! a retention window reads.
//!
//! An overwrite, a compaction or a delete leaves the replaced files in the store, named by
//! "remove" entries of the log, so that `--as-of-version` can still read older versions. A vacuum
//! deletes those removed longer than `retain` ago: versions older than that can no longer be
//! read (their log entries stay; reading one fails on the first missing file). With a retention
//! of a day or more, data files no log entry names at all (an ingest killed before its commit)
//! are deleted too once older than the retention (Delta's full mode); a shorter retention
//! touches only removed files, so an ingest in flight, which writes its files before its commit,
//! never loses one.

use std::collections::HashMap;
use std::time::Duration;

use deltalake::operations::vacuum::VacuumMode;
use futures::TryStreamExt;
use object_store::path::Path;
use serde::Serialize;

use crate::error::TableError;
use crate::tables::Tables;

/// Files no log entry names are deleted only under a retention at least this long (1 day): an
/// ingest writes its files before it commits them, and a big one takes hours.
pub const ORPHAN_MIN_RETAIN: Duration = Duration::from_secs(24 * 3600);

/// What a vacuum deleted (or, in a dry run, would delete) from one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vacuum {
    /// The dataset.
    pub name: String,
    /// Whether nothing was deleted (a dry run).
    pub dry_run: bool,
    /// Data files deleted.
    pub files_removed: u64,
    /// Their bytes.
    pub bytes_removed: u64,
    /// Bytes left under the dataset (data files and log).
    pub bytes_kept: u64,
}

impl Tables {
    /// Delete the data files of dataset `name` that no version committed within `retain`
    /// reads (see the module documentation); with `dry_run`, only report what would go.
    pub async fn vacuum(
        &self,
        name: &str,
        retain: Duration,
        dry_run: bool,
    ) -> Result<Vacuum, TableError> {
        let table = self.open(name, None).await?;
        let root = Path::from(format!("tables/{name}"));
        let listing: Vec<_> = self
            .store()
            .object_store()
            .list(Some(&root))
            .try_collect()
            .await
            .map_err(|source| TableError::Store {
                key: root.to_string(),
                source,
            })?;
        let prefix = format!("{root}/");
        let sizes: HashMap<String, u64> = listing
            .iter()
            .filter_map(|o| {
                let relative = o.location.as_ref().strip_prefix(&prefix)?;
                Some((relative.to_string(), o.size))
            })
            .collect();
        let total: u64 = sizes.values().sum();
        let retention = chrono::Duration::from_std(retain).map_err(|_| TableError::Query {
            reason: format!("a retention of {retain:?} is out of range"),
        })?;
        let mode = if retain >= ORPHAN_MIN_RETAIN {
            VacuumMode::Full
        } else {
            VacuumMode::Lite
        };
        let (_, metrics) = table
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .with_mode(mode)
            .with_dry_run(dry_run)
            .await
            .map_err(|e| TableError::delta(name, e))?;
        // delta-rs also lists removed files an earlier vacuum already deleted: count only
        // what was there
        let removed: Vec<u64> = metrics
            .files_deleted
            .iter()
            .filter_map(|f| sizes.get(f.as_str()).copied())
            .collect();
        let bytes_removed: u64 = removed.iter().sum();
        Ok(Vacuum {
            name: name.to_string(),
            dry_run,
            files_removed: removed.len() as u64,
            bytes_removed,
            bytes_kept: total.saturating_sub(bytes_removed),
        })
    }
}
