//! Turning read sources into typed record batches: column names normalised (originals kept in
//! field metadata), types inferred or taken from `--schema` or the existing table, every value
//! that does not fit reported — as an error, or as a quarantined row.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use deltalake::arrow::array::{
    ArrayRef, BooleanArray, RecordBatch, RecordBatchReader, StringArray,
};
use deltalake::arrow::compute::filter_record_batch;
use deltalake::arrow::datatypes::{Field, Schema, SchemaRef};
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::TableError;
use crate::names::normalize_columns;
use crate::raw::{self, CsvOptions, OnError, RawColumns, RawTable, Reject, TextUnit};
use crate::source::{Format, SourceFile};
use crate::types::{self, ColumnType};

/// The field metadata key holding a column's name as found in the source.
pub const ORIGINAL_NAME_KEY: &str = "lakehouse.original_name";

/// How to read and type the sources.
#[derive(Debug, Clone)]
pub(crate) struct ReadSpec {
    pub(crate) csv: CsvOptions,
    pub(crate) text_unit: TextUnit,
    pub(crate) schema: Vec<(String, ColumnType)>,
    pub(crate) on_error: OnError,
    pub(crate) max_field_bytes: usize,
}

/// Fields (and JSON lines) longer than this are rejected unless configured otherwise.
pub(crate) const DEFAULT_MAX_FIELD_BYTES: usize = 1 << 20;

/// Parquet input decoding to more than this (in memory) fails unless configured otherwise.
pub const DEFAULT_MAX_DECODED_BYTES: u64 = 4 << 30;

impl Default for ReadSpec {
    fn default() -> Self {
        Self {
            csv: CsvOptions::default(),
            text_unit: TextUnit::default(),
            schema: Vec::new(),
            on_error: OnError::default(),
            max_field_bytes: DEFAULT_MAX_FIELD_BYTES,
        }
    }
}

/// Typed batches ready to write, and the rows that were set aside.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) batches: Vec<RecordBatch>,
    pub(crate) schema: SchemaRef,
    pub(crate) rows: usize,
    pub(crate) rejects: Vec<Reject>,
    pub(crate) bytes: u64,
}

/// Read every source and type it. `existing` is the schema of the table appended to, if any.
pub(crate) fn prepare(
    dataset: &str,
    sources: &[SourceFile],
    spec: &ReadSpec,
    existing: Option<&Schema>,
    max_decoded: u64,
    progress: &dyn Fn(u64, u64),
) -> Result<Prepared, TableError> {
    let parquet = sources
        .iter()
        .filter(|s| s.format == Format::Parquet)
        .count();
    if parquet > 0 && parquet < sources.len() {
        return Err(TableError::Source {
            source_name: sources[0].name.clone(),
            reason: "cannot mix Parquet with text formats in one ingest".into(),
        });
    }
    if parquet > 0 {
        return prepare_parquet(dataset, sources, existing, max_decoded, progress);
    }
    let mut raw_table = RawTable::default();
    for source in sources {
        match source.format {
            Format::Csv => raw::read_csv(
                &mut raw_table,
                &source.name,
                &source.bytes,
                &spec.csv,
                spec.max_field_bytes,
                spec.on_error,
            )?,
            Format::Json => {
                raw::read_json(&mut raw_table, &source.name, &source.bytes, spec.on_error)?;
            }
            Format::Jsonl => raw::read_jsonl(
                &mut raw_table,
                &source.name,
                &source.bytes,
                spec.max_field_bytes,
                spec.on_error,
            )?,
            Format::Text => {
                raw::read_text(&mut raw_table, &source.name, &source.bytes, spec.text_unit)?;
            }
            Format::Parquet => {
                return Err(TableError::Source {
                    source_name: source.name.clone(),
                    reason: "cannot mix Parquet with text formats in one ingest".into(),
                });
            }
        }
        progress(raw_table.rows() as u64, raw_table.bytes);
    }
    type_columns(dataset, raw_table.finish(), spec, existing)
}

fn type_columns(
    dataset: &str,
    raw: RawColumns,
    spec: &ReadSpec,
    existing: Option<&Schema>,
) -> Result<Prepared, TableError> {
    let normalized = normalize_columns(&raw.names);
    // Overrides may name a column as found or as normalised.
    let mut overrides: HashMap<usize, ColumnType> = HashMap::new();
    for (name, ty) in &spec.schema {
        let index = raw
            .names
            .iter()
            .position(|n| n.trim() == name.trim())
            .or_else(|| normalized.iter().position(|n| n == name));
        let Some(index) = index else {
            return Err(TableError::InvalidSchema {
                spec: format!("{name}:…"),
                reason: format!(
                    "no column '{name}' in the input (columns: {})",
                    normalized.join(", ")
                ),
            });
        };
        overrides.insert(index, *ty);
    }
    // The target: the existing table's columns (in its order), or the input's.
    let mut target: Vec<(String, Option<usize>, ColumnType, String)> = Vec::new();
    match existing {
        Some(schema) => {
            for (i, name) in normalized.iter().enumerate() {
                if schema.field_with_name(name).is_err() {
                    return Err(TableError::SchemaMismatch {
                        name: dataset.to_string(),
                        reason: format!(
                            "the input has column '{name}' ('{}'), which the dataset does not; use --mode overwrite to replace it",
                            raw.names[i]
                        ),
                    });
                }
            }
            for field in schema.fields() {
                let ty = ColumnType::from_arrow(field.data_type()).ok_or_else(|| {
                    TableError::SchemaMismatch {
                        name: dataset.to_string(),
                        reason: format!(
                            "column '{}' has type {} which text cannot be converted to",
                            field.name(),
                            field.data_type()
                        ),
                    }
                })?;
                let index = normalized.iter().position(|n| n == field.name());
                let original = field
                    .metadata()
                    .get(ORIGINAL_NAME_KEY)
                    .cloned()
                    .unwrap_or_else(|| field.name().clone());
                target.push((field.name().clone(), index, ty, original));
            }
        }
        None => {
            for (i, name) in normalized.iter().enumerate() {
                let ty = overrides
                    .get(&i)
                    .copied()
                    .unwrap_or_else(|| types::infer(&raw.columns[i]));
                target.push((name.clone(), Some(i), ty, raw.names[i].clone()));
            }
        }
    }
    let rows = raw.origins.len();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(target.len());
    // First bad value per row: (column, reason).
    let mut bad_rows: BTreeMap<usize, (String, String)> = BTreeMap::new();
    for (name, index, ty, _) in &target {
        let Some(index) = index else {
            arrays.push(deltalake::arrow::array::new_null_array(&ty.arrow(), rows));
            continue;
        };
        let (array, bad) = types::convert(&raw.columns[*index], *ty);
        for (row, reason) in bad {
            bad_rows
                .entry(row)
                .or_insert_with(|| (name.clone(), reason));
        }
        arrays.push(array);
    }
    let fields: Vec<Field> = target
        .iter()
        .map(|(name, _, ty, original)| {
            Field::new(name, ty.arrow(), true).with_metadata(HashMap::from([(
                ORIGINAL_NAME_KEY.to_string(),
                original.clone(),
            )]))
        })
        .collect();
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let mut rejects = raw.rejects;
    let mut batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
    if !bad_rows.is_empty() {
        let reject_of = |row: usize, column: &str, reason: &str| {
            let (file, line) = raw.origins[row];
            let record: serde_json::Map<String, serde_json::Value> = raw
                .names
                .iter()
                .zip(&raw.columns)
                .map(|(n, c): (&String, &StringArray)| {
                    (
                        n.clone(),
                        raw::value(c, row).map_or(serde_json::Value::Null, |v| v.into()),
                    )
                })
                .collect();
            Reject {
                file: raw.files[file as usize].clone(),
                line,
                column: Some(column.to_string()),
                reason: reason.to_string(),
                record: serde_json::Value::Object(record).to_string(),
            }
        };
        if spec.on_error == OnError::Fail {
            // The first bad row in input order.
            let (row, (column, reason)) = bad_rows
                .iter()
                .min_by_key(|(row, _)| raw.origins[**row])
                .map(|(r, v)| (*r, v.clone()))
                .unwrap_or_default();
            return Err(reject_of(row, &column, &reason).into_error());
        }
        let keep: BooleanArray = (0..rows)
            .map(|r| Some(!bad_rows.contains_key(&r)))
            .collect();
        batch = filter_record_batch(&batch, &keep)?;
        rejects.extend(
            bad_rows
                .iter()
                .map(|(row, (column, reason))| reject_of(*row, column, reason)),
        );
    }
    let rows = batch.num_rows();
    Ok(Prepared {
        batches: chunk(&batch),
        schema,
        rows,
        rejects,
        bytes: raw.bytes,
    })
}

/// Split into batches of at most 64k rows (zero-copy slices).
fn chunk(batch: &RecordBatch) -> Vec<RecordBatch> {
    const ROWS: usize = 65_536;
    if batch.num_rows() == 0 {
        return Vec::new();
    }
    (0..batch.num_rows())
        .step_by(ROWS)
        .map(|start| batch.slice(start, ROWS.min(batch.num_rows() - start)))
        .collect()
}

/// Decode Parquet sources. The Parquet and Arrow decoders panic on some damaged files
/// (`unimplemented!` on an unknown type in the embedded schema, found by fuzzing); such a
/// panic is caught and reported as an unreadable file.
fn prepare_parquet(
    dataset: &str,
    sources: &[SourceFile],
    existing: Option<&Schema>,
    max_decoded: u64,
    progress: &dyn Fn(u64, u64),
) -> Result<Prepared, TableError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_parquet(dataset, sources, existing, max_decoded, progress)
    }))
    .unwrap_or_else(|_| {
        Err(TableError::Source {
            source_name: sources.first().map(|s| s.name.clone()).unwrap_or_default(),
            reason: "not a readable Parquet file: the decoder failed on it (a damaged file)".into(),
        })
    })
}

fn decode_parquet(
    dataset: &str,
    sources: &[SourceFile],
    existing: Option<&Schema>,
    max_decoded: u64,
    progress: &dyn Fn(u64, u64),
) -> Result<Prepared, TableError> {
    let mut batches = Vec::new();
    let mut schema: Option<SchemaRef> = None;
    let (mut rows, mut bytes, mut decoded) = (0usize, 0u64, 0u64);
    for source in sources {
        let bad = |reason: String| TableError::Source {
            source_name: source.name.clone(),
            reason,
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(source.bytes.clone())
            .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let found = reader.schema();
        let originals: Vec<String> = found.fields().iter().map(|f| f.name().clone()).collect();
        let names = normalize_columns(&originals);
        let fields: Vec<Field> = found
            .fields()
            .iter()
            .zip(&names)
            .zip(&originals)
            .map(|((f, name), original)| {
                let mut metadata = f.metadata().clone();
                metadata.insert(ORIGINAL_NAME_KEY.into(), original.clone());
                Field::new(name, f.data_type().clone(), true).with_metadata(metadata)
            })
            .collect();
        let renamed: SchemaRef = Arc::new(Schema::new(fields));
        if let Some(previous) = &schema
            && previous.fields() != renamed.fields()
        {
            return Err(bad(
                "its columns differ from the first Parquet file's".into()
            ));
        }
        if let Some(existing) = existing {
            for field in renamed.fields() {
                match existing.field_with_name(field.name()) {
                    Ok(e) if e.data_type() == field.data_type() => {}
                    _ => {
                        return Err(TableError::SchemaMismatch {
                            name: dataset.into(),
                            reason: format!(
                                "column '{}' ({}) does not match the dataset",
                                field.name(),
                                field.data_type()
                            ),
                        });
                    }
                }
            }
        }
        schema = Some(Arc::clone(&renamed));
        for batch in reader {
            let batch = batch.map_err(|e| bad(e.to_string()))?;
            decoded += batch.get_array_memory_size() as u64;
            if decoded > max_decoded {
                return Err(bad(format!(
                    "it decodes to more than {max_decoded} bytes in memory (from {} bytes on \
                     disk); nothing was written. Raise the limit (--max-decoded-bytes, or \
                     limits.ingest_decoded_bytes for the server) if it is meant to",
                    source.bytes.len()
                )));
            }
            rows += batch.num_rows();
            batches.push(RecordBatch::try_new(
                Arc::clone(&renamed),
                batch.columns().to_vec(),
            )?);
        }
        bytes += source.bytes.len() as u64;
        progress(rows as u64, bytes);
    }
    let schema = schema.unwrap_or_else(|| Arc::new(Schema::empty()));
    Ok(Prepared {
        batches,
        schema,
        rows,
        rejects: Vec::new(),
        bytes,
    })
}
