//! The docs file of a segment: one row per document (key, id, text, content hash, metadata),
//! stored as Parquet so any tool can read it.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::VectordError;

/// One document of a corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// Key shared by the ANN and BM25 indexes, unique within the corpus.
    pub key: u64,
    /// The document's id from its source row.
    pub id: String,
    /// The indexed text.
    pub text: String,
    /// [`lakehouse_models::content_hash`] of the text.
    pub hash: String,
    /// Metadata columns, as text.
    pub meta: BTreeMap<String, String>,
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::UInt64, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("hash", DataType::Utf8, false),
        Field::new("meta", DataType::Utf8, false),
    ]))
}

/// Encode docs as a Parquet file.
pub fn to_parquet(docs: &[Doc]) -> Result<Vec<u8>, VectordError> {
    let meta: Vec<String> = docs
        .iter()
        .map(|d| serde_json::to_string(&d.meta).unwrap_or_else(|_| "{}".into()))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(docs.iter().map(|d| d.key))),
        Arc::new(StringArray::from_iter_values(
            docs.iter().map(|d| d.id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            docs.iter().map(|d| d.text.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            docs.iter().map(|d| d.hash.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            meta.iter().map(String::as_str),
        )),
    ];
    let batch = RecordBatch::try_new(schema(), columns)?;
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema(), None)?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(out)
}

/// Decode a docs file written by [`to_parquet`]; `path` names it in errors.
///
/// The Parquet and Arrow decoders panic on some damaged files (`unimplemented!` on an unknown
/// type in the embedded schema, found by fuzzing); such a panic is caught and reported as a
/// corrupt file.
pub fn from_parquet(bytes: Bytes, path: &str) -> Result<Vec<Doc>, VectordError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode(bytes, path))).unwrap_or_else(
        |_| {
            Err(VectordError::Corrupt {
                path: path.to_string(),
                message: "the Parquet decoder failed on it (a damaged file)".into(),
            })
        },
    )
}

fn decode(bytes: Bytes, path: &str) -> Result<Vec<Doc>, VectordError> {
    let corrupt = |message: String| VectordError::Corrupt {
        path: path.to_string(),
        message,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.build())
        .map_err(|e| corrupt(e.to_string()))?;
    let mut docs = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(e.to_string()))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| corrupt(format!("no column {name}")))
        };
        let strings = |name: &str| -> Result<StringArray, VectordError> {
            column(name)?
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| corrupt(format!("column {name} is not text")))
        };
        let keys = column("key")?
            .as_any()
            .downcast_ref::<UInt64Array>()
            .cloned()
            .ok_or_else(|| corrupt("column key is not u64".into()))?;
        let (ids, texts, hashes, metas) = (
            strings("id")?,
            strings("text")?,
            strings("hash")?,
            strings("meta")?,
        );
        if keys.null_count() + ids.null_count() + texts.null_count() > 0 {
            return Err(corrupt("null key, id or text".into()));
        }
        for i in 0..batch.num_rows() {
            let meta = serde_json::from_str(metas.value(i))
                .map_err(|e| corrupt(format!("row {i}: metadata: {e}")))?;
            docs.push(Doc {
                key: keys.value(i),
                id: ids.value(i).to_string(),
                text: texts.value(i).to_string(),
                hash: hashes.value(i).to_string(),
                meta,
            });
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_round_trip_through_parquet() {
        let docs = vec![Doc {
            key: 7,
            id: "P-1".into(),
            text: "new porch".into(),
            hash: "abc".into(),
            meta: [("ward".to_string(), "27".to_string())]
                .into_iter()
                .collect(),
        }];
        let bytes = to_parquet(&docs).unwrap();
        assert_eq!(from_parquet(Bytes::from(bytes), "d").unwrap(), docs);
        assert!(matches!(
            from_parquet(Bytes::from_static(b"PAR1 nonsense"), "d"),
            Err(VectordError::Corrupt { .. })
        ));
    }
}
