//! Datasets end to end: the real-data samples in `tests/data` ingested into Delta tables on a
//! local folder and on the S3 test server, queried with SQL, read back by Python's `deltalake`,
//! and every kind of bad input refused without changing anything.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod compact;
mod errors;
mod ingest;
mod interop;
mod sql;
mod vacuum;

use lakehouse_table::arrow::array::RecordBatch;
use lakehouse_table::{IngestOptions, SqlOptions, Tables};

/// A sample file from `tests/data`.
pub(crate) fn data(name: &str) -> String {
    format!(
        "{}/tests/data/{name}",
        lakehouse_testkit::crate_dir().display()
    )
}

/// Datasets in a fresh local folder.
pub(crate) fn local_tables() -> (tempfile::TempDir, Tables) {
    let (dir, store) = lakehouse_testkit::local_store();
    (dir, Tables::new(store))
}

pub(crate) async fn ingest(
    tables: &Tables,
    name: &str,
    file: &str,
) -> lakehouse_table::IngestReport {
    tables
        .ingest(name, &data(file), IngestOptions::new())
        .await
        .unwrap()
}

pub(crate) async fn query(tables: &Tables, sql: &str) -> Vec<RecordBatch> {
    tables
        .sql_collect(sql, &SqlOptions::default())
        .await
        .unwrap()
}

/// The single integer a `SELECT count(*)`-like query returns.
pub(crate) async fn scalar(tables: &Tables, sql: &str) -> i64 {
    use lakehouse_table::arrow::array::{Array, Int64Array};
    let batches = query(tables, sql).await;
    let column = batches[0].column(0);
    let values = column
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("an Int64 result");
    assert_eq!(values.len(), 1);
    values.value(0)
}
