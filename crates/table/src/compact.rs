//! Compaction of a dataset's small files: Delta's OPTIMIZE (bin-packing of files smaller than a
//! target size into files of about that size) followed by a checkpoint of the log.
//!
//! A dataset that grows by small appends — one row per agent session in `agent_sessions` —
//! gains one Parquet file and one log entry per append, and every query reads them all: after
//! a few dozen sessions, opening the table and scanning it cost more than the query. Compaction
//! rewrites the small files as one, in a commit of its own (`dataChange: false`: the rows are
//! the same), and writes a checkpoint so that opening the table reads one Parquet log file and
//! the commits after it instead of every commit since the table began. Nothing is deleted: the
//! replaced files stay for time travel (`as_of_version`) until a vacuum ([`Tables::vacuum`],
//! `lakehouse gc`) deletes those replaced longer ago than its retention.
//!
//! [`Tables::append`] compacts by itself once a dataset holds [`AUTO_COMPACT_FILES`] small
//! files; `lakehouse dataset compact` and `POST /v1/datasets/{name}/compact` do it on demand.

use std::num::NonZeroU64;

use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::{DeltaTable, checkpoints};
use serde::Serialize;

use crate::error::TableError;
use crate::tables::Tables;

/// Files smaller than this are merged by compaction (16 MiB), and merged files are about this
/// size: bounded, so an append-only dataset's compaction rewrites at most this much at a time.
pub const COMPACT_TARGET_BYTES: u64 = 16 << 20;

/// [`Tables::append`] compacts a dataset once it holds this many files smaller than
/// [`COMPACT_TARGET_BYTES`].
pub const AUTO_COMPACT_FILES: usize = 10;

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compaction {
    /// The dataset.
    pub name: String,
    /// Its version after compaction (unchanged when there was nothing to merge).
    pub version: u64,
    /// Small files merged.
    pub files_removed: u64,
    /// Files written in their place.
    pub files_added: u64,
    /// Live files before.
    pub files_before: usize,
    /// Live files after.
    pub files_after: usize,
    /// Whether a checkpoint of the log was written at `version`.
    pub checkpoint: bool,
}

impl Tables {
    /// Merge the small files of dataset `name` (those under `target_bytes`, by default
    /// [`COMPACT_TARGET_BYTES`]) and checkpoint its log. The rows, the schema and every earlier
    /// version stay as they were.
    pub async fn compact(
        &self,
        name: &str,
        target_bytes: Option<u64>,
    ) -> Result<Compaction, TableError> {
        let table = self.open(name, None).await?;
        self.compact_table(name, table, target_bytes).await
    }

    /// Compact `name` if it holds [`AUTO_COMPACT_FILES`] small files or more (after an append).
    pub(crate) async fn compact_if_fragmented(
        &self,
        name: &str,
        table: DeltaTable,
    ) -> Result<Option<Compaction>, TableError> {
        if small_files(name, &table, COMPACT_TARGET_BYTES)? < AUTO_COMPACT_FILES {
            return Ok(None);
        }
        self.compact_table(name, table, None).await.map(Some)
    }

    async fn compact_table(
        &self,
        name: &str,
        table: DeltaTable,
        target_bytes: Option<u64>,
    ) -> Result<Compaction, TableError> {
        let target = target_bytes.unwrap_or(COMPACT_TARGET_BYTES);
        let target = NonZeroU64::new(target).ok_or_else(|| TableError::Query {
            reason: "the target file size of a compaction must be at least 1 byte".into(),
        })?;
        let files_before = live_files(name, &table)?;
        let before = table.version().unwrap_or(0);
        if small_files(name, &table, target.get())? < 2 {
            return Ok(Compaction {
                name: name.to_string(),
                version: before,
                files_removed: 0,
                files_added: 0,
                files_before,
                files_after: files_before,
                checkpoint: false,
            });
        }
        // Snappy, as every other file of ours (delta-rs would pick zstd for OPTIMIZE).
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let (table, metrics) = table
            .optimize()
            .with_target_size(target)
            .with_writer_properties(properties)
            .await
            .map_err(|e| TableError::delta(name, e))?;
        let version = table.version().unwrap_or(before);
        let checkpoint = version > before;
        if checkpoint {
            checkpoints::create_checkpoint(&table, None)
                .await
                .map_err(|e| TableError::delta(name, e))?;
        }
        Ok(Compaction {
            name: name.to_string(),
            version,
            files_removed: metrics.num_files_removed,
            files_added: metrics.num_files_added,
            files_before,
            files_after: live_files(name, &table)?,
            checkpoint,
        })
    }
}

fn live_files(name: &str, table: &DeltaTable) -> Result<usize, TableError> {
    let state = table.snapshot().map_err(|e| TableError::delta(name, e))?;
    Ok(state.log_data().iter().count())
}

fn small_files(name: &str, table: &DeltaTable, below: u64) -> Result<usize, TableError> {
    let state = table.snapshot().map_err(|e| TableError::delta(name, e))?;
    Ok(state
        .log_data()
        .iter()
        .filter(|f| u64::try_from(f.size()).unwrap_or(u64::MAX) < below)
        .count())
}
