//! Datasets for Lakehouse: raw corpora (CSV, JSON, JSON lines, Parquet, text) ingested into
//! Delta Lake tables under `tables/<name>/` of the store — readable by Spark, DuckDB, Polars and
//! Python's `deltalake` — and queried with read-only SQL through DataFusion.
//!
//! This is the only Lakehouse crate that imports `deltalake` / `datafusion`; others reach data
//! through [`Tables`] and get Arrow record batches.
//!
//! - [`Tables::ingest`] reads sources, infers or takes column types, and commits once; bad rows
//!   stop the ingest with an error naming file, line and column, or are quarantined in
//!   `<name>__rejects` with the reason. A failed ingest leaves the dataset as it was.
//! - [`Tables::sql`] runs one query over the datasets it names, as of a version if asked.
//! - [`Tables::compact`] merges a dataset's small files and checkpoints its log.

mod compact;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod idempotent;
mod ingest;
mod names;
mod output;
mod raw;
mod source;
mod sql;
mod tables;
mod types;
mod vacuum;

pub use compact::{AUTO_COMPACT_FILES, COMPACT_TARGET_BYTES, Compaction};
pub use deltalake::{arrow, parquet};
pub use error::TableError;
pub use ingest::{DEFAULT_MAX_DECODED_BYTES, ORIGINAL_NAME_KEY};
pub use names::{REJECTS_SUFFIX, check_dataset_name, normalize_columns};
pub use output::{OutputFormat, write_batches};
pub use raw::{CsvOptions, OnError, Reject, TextUnit};
pub use source::Format;
pub use sql::{SqlOptions, SqlRows};
pub use tables::{
    ColumnInfo, DatasetInfo, HistoryEntry, IngestOptions, IngestReport, Mode, Progress, Tables,
};
pub use types::{ColumnType, parse_schema_spec};
pub use vacuum::{ORPHAN_MIN_RETAIN, Vacuum};
