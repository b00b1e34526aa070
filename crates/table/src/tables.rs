//! [`Tables`]: the datasets of one store — ingest, list, describe, history, drop.
//!
//! Each dataset is a Delta table under `tables/<name>/` of the store. Delta's commit is the
//! atomic point of every change: an ingest that fails or is interrupted before it commits
//! leaves the dataset at its previous version (files it had written are unreferenced).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use deltalake::arrow::array::{RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array};
use deltalake::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
};
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaResult, DeltaTable, DeltaTableBuilder};
use futures::{StreamExt, TryStreamExt};
use lakehouse_store::{SortedListing, Store};
use object_store::path::Path;
use url::Url;

use crate::TableError;
use crate::idempotent;
use crate::ingest::{self, ORIGINAL_NAME_KEY, ReadSpec};
use crate::names::{REJECTS_SUFFIX, check_dataset_name};
use crate::raw::{CsvOptions, OnError, Reject, TextUnit};
use crate::source::{self, Format};
use crate::types::parse_schema_spec;

/// The URL scheme under which Lakehouse hands its own store to delta-rs.
const SCHEME: &str = "lakehouse";

/// Log stores for `lakehouse://` URLs: delta-rs's default log store over the store we pass in
/// (commits are create-only puts, which every store of ours supports).
#[derive(Debug, Default)]
struct LakehouseLogStores;

impl LogStoreFactory for LakehouseLogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

fn register_scheme() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if let Ok(url) = Url::parse(&format!("{SCHEME}://")) {
            logstore_factories().insert(url, Arc::new(LakehouseLogStores));
        }
    });
}

/// Whether to add to a dataset or replace it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Add the rows (the dataset is created if missing).
    #[default]
    Append,
    /// Replace the dataset's rows and schema.
    Overwrite,
}

/// Progress of an ingest: rows and bytes read so far, of `total_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Rows read so far.
    pub rows: u64,
    /// Bytes read so far.
    pub bytes: u64,
    /// Bytes in all sources.
    pub total_bytes: u64,
}

/// How to ingest. Build with the `with_*` setters.
#[derive(Clone, Default)]
pub struct IngestOptions {
    mode: Mode,
    format: Option<Format>,
    spec: ReadSpec,
    schema_spec: Option<String>,
    source_options: Vec<(String, String)>,
    again: bool,
    max_decoded_bytes: Option<u64>,
    progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

impl std::fmt::Debug for IngestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestOptions")
            .field("mode", &self.mode)
            .field("format", &self.format)
            .field("spec", &self.spec)
            .field("again", &self.again)
            .finish()
    }
}

impl IngestOptions {
    /// Defaults: append, format from file names, stop on the first bad row, 1 MiB field limit.
    pub fn new() -> Self {
        Self::default()
    }
    /// Append or overwrite.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// Force the input format.
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
    /// CSV delimiter, header and quote.
    pub fn with_csv(mut self, csv: CsvOptions) -> Self {
        self.spec.csv = csv;
        self
    }
    /// How text files become rows.
    pub fn with_text_unit(mut self, unit: TextUnit) -> Self {
        self.spec.text_unit = unit;
        self
    }
    /// Column types that override inference: `col:type,col:type`.
    pub fn with_schema(mut self, spec: impl Into<String>) -> Self {
        self.schema_spec = Some(spec.into());
        self
    }
    /// Fail on the first bad row, or quarantine bad rows in `<dataset>__rejects`.
    pub fn with_on_error(mut self, on_error: OnError) -> Self {
        self.spec.on_error = on_error;
        self
    }
    /// Reject fields (and JSON lines) longer than this.
    pub fn with_max_field_bytes(mut self, bytes: usize) -> Self {
        self.spec.max_field_bytes = bytes.max(1);
        self
    }
    /// Fail an ingest of Parquet whose columns decode to more than this many bytes in memory
    /// (default [`DEFAULT_MAX_DECODED_BYTES`](crate::DEFAULT_MAX_DECODED_BYTES)): a small,
    /// highly compressed file can decode to far more than the machine holds.
    pub fn with_max_decoded_bytes(mut self, bytes: u64) -> Self {
        self.max_decoded_bytes = Some(bytes.max(1));
        self
    }
    /// Backend options for a store-URL source (as for `Store::open_with_options`); by default
    /// the environment's (`AWS_*`).
    pub fn with_source_options(
        mut self,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        self.source_options = options.into_iter().collect();
        self
    }
    /// Append input even when this dataset already holds an append of the same bytes with the
    /// same settings (by default such a rerun is skipped, so that retrying a failed or
    /// interrupted ingest never appends its rows twice).
    pub fn with_again(mut self, again: bool) -> Self {
        self.again = again;
        self
    }
    /// Called as sources are read.
    pub fn with_progress(mut self, progress: Arc<dyn Fn(Progress) + Send + Sync>) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// What an ingest did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestReport {
    /// The dataset.
    pub dataset: String,
    /// Its version after the ingest.
    pub version: u64,
    /// Rows written.
    pub rows: usize,
    /// Rows quarantined (0 unless `--on-error quarantine`).
    pub rejected: usize,
    /// Where rejected rows went.
    pub rejects_dataset: Option<String>,
    /// The ingest's id (the hash of its input and settings), in each commit's metadata and
    /// Delta `txn`.
    pub ingest_id: String,
    /// The dataset already held this ingest (the same command run before, or an earlier
    /// attempt whose answer was lost), so its rows were not written again; only what that
    /// attempt left undone (its rejects) was.
    pub repeated: bool,
    /// Files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// The columns: name, type, name in the source.
    pub columns: Vec<ColumnInfo>,
}

/// One column of a dataset.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColumnInfo {
    /// Its (normalised) name.
    pub name: String,
    /// Its type.
    pub data_type: String,
    /// Its name in the source, if different.
    pub original_name: Option<String>,
}

/// A dataset's vital statistics.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatasetInfo {
    /// Its name.
    pub name: String,
    /// Current version.
    pub version: u64,
    /// Rows (from the Delta log's file statistics).
    pub rows: u64,
    /// Data files.
    pub files: usize,
    /// Bytes of data files.
    pub bytes: u64,
    /// Columns.
    pub columns: Vec<ColumnInfo>,
}

/// One commit of a dataset.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryEntry {
    /// The version it made.
    pub version: u64,
    /// When (milliseconds since the epoch).
    pub timestamp: Option<i64>,
    /// The operation (`WRITE`, `CREATE TABLE`, …).
    pub operation: Option<String>,
    /// Its parameters and our metadata (source, rows, rejected).
    pub details: serde_json::Value,
}

/// The datasets of one store.
#[derive(Debug, Clone)]
pub struct Tables {
    store: Store,
    /// The store as delta-rs sees it: listings sorted, as its log reader needs.
    delta_store: Arc<dyn object_store::ObjectStore>,
}

impl Tables {
    /// The datasets of `store`.
    pub fn new(store: Store) -> Tables {
        register_scheme();
        let delta_store = Arc::new(SortedListing::new(Arc::clone(store.object_store())));
        Tables { store, delta_store }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn builder(&self, name: &str) -> Result<DeltaTableBuilder, TableError> {
        let url = Url::parse(&format!("{SCHEME}://store/tables/{name}")).map_err(|e| {
            TableError::InvalidName {
                name: name.to_string(),
                reason: e.to_string(),
            }
        })?;
        Ok(DeltaTableBuilder::from_url(url.clone())
            .map_err(|e| TableError::delta(name, e))?
            .with_storage_backend(Arc::clone(&self.delta_store), url))
    }

    /// Whether dataset `name` exists.
    pub async fn exists(&self, name: &str) -> Result<bool, TableError> {
        check_dataset_name(name)?;
        let log = Path::from(format!("tables/{name}/_delta_log"));
        match self.store.object_store().list(Some(&log)).next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(source)) => Err(TableError::Store {
                key: log.to_string(),
                source,
            }),
        }
    }

    async fn not_found(&self, name: &str) -> TableError {
        let names = self.names().await.unwrap_or_default();
        let hint = if names.is_empty() {
            " (there are no datasets yet)".to_string()
        } else {
            format!(" (datasets: {})", names.join(", "))
        };
        TableError::NotFound {
            name: name.to_string(),
            hint,
        }
    }

    /// Open dataset `name`, at `version` if given.
    pub async fn open(&self, name: &str, version: Option<u64>) -> Result<DeltaTable, TableError> {
        check_dataset_name(name)?;
        if !self.exists(name).await? {
            return Err(self.not_found(name).await);
        }
        let mut table = self
            .builder(name)?
            .load()
            .await
            .map_err(|e| TableError::delta(name, e))?;
        if let Some(version) = version {
            let latest = table.version().unwrap_or(0);
            if version > latest {
                return Err(TableError::Query {
                    reason: format!(
                        "dataset '{name}' has no version {version} (its versions are 0 to {latest})"
                    ),
                });
            }
            table
                .load_version(version)
                .await
                .map_err(|e| TableError::delta(name, e))?;
        }
        Ok(table)
    }

    /// The names of every dataset, sorted.
    pub async fn names(&self) -> Result<Vec<String>, TableError> {
        let mut names = Vec::new();
        for name in self.folder_names().await? {
            // A folder without a Delta log (left by a local drop, say) is no dataset.
            if self.exists(&name).await? {
                names.push(name);
            }
        }
        Ok(names)
    }

    async fn folder_names(&self) -> Result<Vec<String>, TableError> {
        let prefix = Path::from("tables");
        let listing = self
            .store
            .object_store()
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|source| TableError::Store {
                key: prefix.to_string(),
                source,
            })?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .filter(|n| check_dataset_name(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Every dataset with its statistics, sorted by name (opened a few at a time: each open
    /// reads the table's log).
    pub async fn list(&self) -> Result<Vec<DatasetInfo>, TableError> {
        let names = self.names().await?;
        futures::stream::iter(names)
            .map(|name| async move { self.describe(&name).await })
            .buffered(8)
            .try_collect()
            .await
    }

    /// Schema, rows, files, size and version of dataset `name`.
    pub async fn describe(&self, name: &str) -> Result<DatasetInfo, TableError> {
        let table = self.open(name, None).await?;
        info(name, &table)
    }

    /// The commits of dataset `name`, newest first.
    pub async fn history(
        &self,
        name: &str,
        limit: Option<usize>,
    ) -> Result<Vec<HistoryEntry>, TableError> {
        let table = self.open(name, None).await?;
        let latest = table.version().unwrap_or(0);
        let commits: Vec<_> = table
            .history(limit)
            .try_collect()
            .await
            .map_err(|e| TableError::delta(name, e))?;
        Ok(commits
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let mut details = serde_json::Map::new();
                if let Some(params) = &c.operation_parameters {
                    details.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                details.extend(
                    c.info
                        .iter()
                        .filter(|(k, _)| k.starts_with("lakehouse."))
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                HistoryEntry {
                    version: latest.saturating_sub(i as u64),
                    timestamp: c.timestamp,
                    operation: c.operation.clone(),
                    details: details.into(),
                }
            })
            .collect())
    }

    /// Delete dataset `name` from the store: every object under `tables/<name>/`, all versions.
    /// Its `<name>__rejects` dataset, if any, is a dataset of its own and stays. Returns how many
    /// objects were deleted.
    pub async fn drop_dataset(&self, name: &str) -> Result<usize, TableError> {
        check_dataset_name(name)?;
        if !self.exists(name).await? {
            return Err(self.not_found(name).await);
        }
        let prefix = Path::from(format!("tables/{name}"));
        let store = self.store.object_store();
        let locations = store.list(Some(&prefix)).map_ok(|m| m.location).boxed();
        let deleted: Vec<Path> =
            store
                .delete_stream(locations)
                .try_collect()
                .await
                .map_err(|source| TableError::Store {
                    key: prefix.to_string(),
                    source,
                })?;
        Ok(deleted.len())
    }

    /// Ingest `source` (a local file or folder, or a store URL) into dataset `name`.
    pub async fn ingest(
        &self,
        name: &str,
        source: &str,
        options: IngestOptions,
    ) -> Result<IngestReport, TableError> {
        let started = Instant::now();
        check_dataset_name(name)?;
        let mut spec = options.spec.clone();
        if let Some(schema) = &options.schema_spec {
            spec.schema = parse_schema_spec(schema)?;
        }
        let sources = source::collect(source, options.format, &options.source_options).await?;
        let settings = format!(
            "{:?} {:?} {:?} {:?}",
            options.mode, options.format, spec, options.schema_spec
        );
        let id = idempotent::ingest_id(name, &settings, source, &sources, options.again);
        let total_bytes: u64 = sources.iter().map(|s| s.bytes.len() as u64).sum();
        let exists = self.exists(name).await?;
        let existing = if exists && options.mode == Mode::Append {
            let table = self.open(name, None).await?;
            Some(
                table
                    .snapshot()
                    .map_err(|e| TableError::delta(name, e))?
                    .snapshot()
                    .arrow_schema(),
            )
        } else {
            None
        };
        if existing.is_some() && !spec.schema.is_empty() {
            return Err(TableError::InvalidSchema {
                spec: options.schema_spec.clone().unwrap_or_default(),
                reason: format!(
                    "dataset '{name}' exists, so its types apply; use --mode overwrite to change them"
                ),
            });
        }
        let progress = options.progress.clone();
        let dataset = name.to_string();
        let max_decoded = options
            .max_decoded_bytes
            .unwrap_or(ingest::DEFAULT_MAX_DECODED_BYTES);
        let prepared = tokio::task::spawn_blocking(move || {
            let report = |rows, bytes| {
                if let Some(progress) = &progress {
                    progress(Progress {
                        rows,
                        bytes,
                        total_bytes,
                    });
                }
            };
            ingest::prepare(
                &dataset,
                &sources,
                &spec,
                existing.as_deref(),
                max_decoded,
                &report,
            )
            .map(|p| (p, sources.len()))
        })
        .await
        .map_err(|e| TableError::query(format!("ingest task failed: {e}")))?;
        let (prepared, files) = prepared?;

        let table = if exists {
            self.open(name, None).await?
        } else {
            self.builder(name)?
                .build()
                .map_err(|e| TableError::delta(name, e))?
        };
        let repeated = match options.mode {
            _ if !exists => false,
            Mode::Append => idempotent::holds(&table, name, &id).await?,
            Mode::Overwrite => idempotent::is_newest(&table, name, &id).await?,
        };
        let table = if repeated {
            tracing::info!(dataset = name, ingest = %id, "this input was ingested before; its rows are not written again");
            table
        } else {
            let commit = CommitProperties::default()
                .with_metadata([
                    ("lakehouse.source".to_string(), serde_json::json!(source)),
                    (
                        "lakehouse.rows".to_string(),
                        serde_json::json!(prepared.rows),
                    ),
                    (
                        "lakehouse.rejected".to_string(),
                        serde_json::json!(prepared.rejects.len()),
                    ),
                    (idempotent::INGEST_KEY.to_string(), serde_json::json!(id)),
                ])
                .with_application_transaction(idempotent::transaction(&id));
            let mut write = if prepared.batches.is_empty() {
                table.write(vec![RecordBatch::new_empty(Arc::clone(&prepared.schema))])
            } else {
                table.write(prepared.batches)
            };
            write = write
                .with_commit_properties(commit)
                .with_save_mode(match options.mode {
                    Mode::Append => SaveMode::Append,
                    Mode::Overwrite => SaveMode::Overwrite,
                });
            if options.mode == Mode::Overwrite {
                write = write.with_schema_mode(SchemaMode::Overwrite);
            }
            match write.await {
                Ok(table) => table,
                Err(e) => self.landed_anyway(name, &id, e).await?,
            }
        };
        let rejected = prepared.rejects.len();
        let rejects_dataset = if rejected > 0 {
            Some(self.write_rejects(name, &id, prepared.rejects).await?)
        } else {
            None
        };
        let mut report = IngestReport {
            dataset: name.to_string(),
            version: table.version().unwrap_or(0),
            rows: prepared.rows,
            rejected,
            rejects_dataset,
            ingest_id: id,
            repeated,
            files,
            bytes: prepared.bytes,
            seconds: 0.0,
            columns: info(name, &table)?.columns,
        };
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Append rejected rows, with why, to `<name>__rejects`, unless ingest `id` wrote them
    /// there already.
    async fn write_rejects(
        &self,
        name: &str,
        id: &str,
        rejects: Vec<Reject>,
    ) -> Result<String, TableError> {
        let dataset = format!("{name}{REJECTS_SUFFIX}");
        let table = self.open_or_create(&dataset).await?;
        if table.version().is_some() && idempotent::holds(&table, &dataset, id).await? {
            return Ok(dataset);
        }
        let now = chrono::Utc::now().timestamp_micros();
        let schema = Arc::new(Schema::new(vec![
            Field::new("file", DataType::Utf8, false),
            Field::new("line", DataType::UInt64, false),
            Field::new("column", DataType::Utf8, true),
            Field::new("reason", DataType::Utf8, false),
            Field::new("record", DataType::Utf8, false),
            Field::new(
                "rejected_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(
                    rejects.iter().map(|r| r.file.as_str()),
                )),
                Arc::new(UInt64Array::from_iter_values(
                    rejects.iter().map(|r| r.line),
                )),
                Arc::new(StringArray::from_iter(
                    rejects.iter().map(|r| r.column.as_deref()),
                )),
                Arc::new(StringArray::from_iter_values(
                    rejects.iter().map(|r| r.reason.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    rejects.iter().map(|r| r.record.as_str()),
                )),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![now; rejects.len()]).with_timezone("UTC"),
                ),
            ],
        )?;
        let commit = CommitProperties::default()
            .with_metadata([(idempotent::INGEST_KEY.to_string(), serde_json::json!(id))])
            .with_application_transaction(idempotent::transaction(id));
        let written = table
            .write(vec![batch])
            .with_save_mode(SaveMode::Append)
            .with_commit_properties(commit)
            .await;
        if let Err(e) = written {
            self.landed_anyway(&dataset, id, e).await?;
        }
        Ok(dataset)
    }

    /// After a commit of ingest `id` failed: the table as it is now if the commit is in it
    /// all the same (it landed and only its answer was lost: delta-rs then meets its own
    /// transaction and reports a conflict), else the error.
    async fn landed_anyway(
        &self,
        name: &str,
        id: &str,
        error: deltalake::DeltaTableError,
    ) -> Result<DeltaTable, TableError> {
        if let Ok(table) = self.open(name, None).await
            && idempotent::holds(&table, name, id).await.unwrap_or(false)
        {
            tracing::info!(dataset = name, ingest = %id, "the commit landed though its answer was an error ({error})");
            return Ok(table);
        }
        Err(TableError::delta(name, error))
    }

    /// Append `batch` to dataset `name`, creating it with the batch's schema if it does not
    /// exist; a batch whose schema does not fit the dataset is refused by Delta. Returns the new
    /// table version. For records programs write (the agent's session log), not for ingesting
    /// files (use [`Tables::ingest`]).
    ///
    /// Once the dataset holds [`AUTO_COMPACT_FILES`](crate::AUTO_COMPACT_FILES) small files, the
    /// append compacts it (see [`Tables::compact`]); a compaction that fails is logged and
    /// left for the next append, since the rows are in.
    pub async fn append(&self, name: &str, batch: RecordBatch) -> Result<u64, TableError> {
        let table = self
            .open_or_create(name)
            .await?
            .write(vec![batch])
            .with_save_mode(SaveMode::Append)
            .await
            .map_err(|e| TableError::delta(name, e))?;
        let version = table.version().unwrap_or(0);
        match self.compact_if_fragmented(name, table).await {
            Ok(Some(done)) => tracing::debug!(
                dataset = name,
                merged = done.files_removed,
                version = done.version,
                "compacted"
            ),
            Ok(None) => {}
            Err(error) => tracing::warn!(dataset = name, "could not compact: {error}"),
        }
        Ok(version)
    }

    /// Dataset `name`, or a handle to create it with its first write.
    async fn open_or_create(&self, name: &str) -> Result<DeltaTable, TableError> {
        check_dataset_name(name)?;
        if self.exists(name).await? {
            self.open(name, None).await
        } else {
            self.builder(name)?
                .build()
                .map_err(|e| TableError::delta(name, e))
        }
    }
}

fn info(name: &str, table: &DeltaTable) -> Result<DatasetInfo, TableError> {
    let state = table.snapshot().map_err(|e| TableError::delta(name, e))?;
    let schema = state.snapshot().arrow_schema();
    let (mut rows, mut files, mut bytes) = (0u64, 0usize, 0u64);
    for file in state.log_data().iter() {
        files += 1;
        bytes += u64::try_from(file.size()).unwrap_or(0);
        if let Some(stats) = file.stats()
            && let Ok(stats) = serde_json::from_str::<HashMap<String, serde_json::Value>>(&stats)
        {
            rows += stats
                .get("numRecords")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
        }
    }
    let columns = schema
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            original_name: f
                .metadata()
                .get(ORIGINAL_NAME_KEY)
                .filter(|o| *o != f.name())
                .cloned(),
        })
        .collect();
    Ok(DatasetInfo {
        name: name.to_string(),
        version: table.version().unwrap_or(0),
        rows,
        files,
        bytes,
        columns,
    })
}
