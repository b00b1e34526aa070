//! Compaction: a dataset grown by small appends is merged into few files with a checkpoint,
//! by itself after `AUTO_COMPACT_FILES` appends and on demand; rows, earlier versions and
//! independent readers are unaffected.

use std::path::Path;
use std::sync::Arc;

use lakehouse_table::arrow::array::{Int64Array, RecordBatch, StringArray};
use lakehouse_table::arrow::datatypes::{DataType, Field, Schema};
use lakehouse_table::{AUTO_COMPACT_FILES, SqlOptions, TableError, Tables};

use crate::scalar;

fn row(i: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![i])),
            Arc::new(StringArray::from(vec![format!("row {i}")])),
        ],
    )
    .unwrap()
}

/// The files of the live version of `name`, and the checkpoints in its log.
async fn files_and_checkpoints(tables: &Tables, root: &Path, name: &str) -> (usize, usize) {
    let files = tables.describe(name).await.unwrap().files;
    let checkpoints = std::fs::read_dir(root.join(format!("tables/{name}/_delta_log")))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".checkpoint.parquet")
        })
        .count();
    (files, checkpoints)
}

#[tokio::test]
async fn small_appends_are_compacted_by_themselves_and_nothing_is_lost() {
    let (dir, tables) = crate::local_tables();
    let appends = AUTO_COMPACT_FILES as i64 + 3;
    for i in 0..appends {
        tables.append("events", row(i)).await.unwrap();
    }
    // the tenth small file triggered a compaction: one merged file, then three appends
    let (files, checkpoints) = files_and_checkpoints(&tables, dir.path(), "events").await;
    assert_eq!((files, checkpoints), (4, 1), "files and checkpoints");
    assert_eq!(
        scalar(&tables, "SELECT count(*) FROM events").await,
        appends
    );
    assert_eq!(
        scalar(&tables, "SELECT sum(n) FROM events").await,
        (0..appends).sum::<i64>()
    );
    let history = tables.history("events", None).await.unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.operation.as_deref() == Some("OPTIMIZE")),
        "{history:?}"
    );
    // earlier versions read as they were
    let old = SqlOptions {
        as_of_version: Some(2),
        ..SqlOptions::default()
    };
    let batches = tables
        .sql_collect("SELECT count(*) FROM events", &old)
        .await
        .unwrap();
    let count = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(count, 3, "version 2 holds the first three rows");

    // on demand: the three new files merge with the earlier one
    let done = tables.compact("events", None).await.unwrap();
    assert_eq!((done.files_before, done.files_after), (4, 1), "{done:?}");
    assert!(done.checkpoint, "{done:?}");
    assert_eq!(
        scalar(&tables, "SELECT count(*) FROM events").await,
        appends
    );
    // nothing left to merge: no new version
    let again = tables.compact("events", None).await.unwrap();
    assert_eq!((again.version, again.files_removed), (done.version, 0));
    assert!(!again.checkpoint);

    // an independent reader sees the same rows
    let uri = dir.path().join("tables/events");
    let theirs = crate::interop::python_checksum(uri.to_str().unwrap(), &[]);
    assert_eq!(theirs["rows"], appends, "rows seen by Python deltalake");
    assert_eq!(theirs["columns"]["n"]["sum"], (0..appends).sum::<i64>());
}

#[tokio::test]
async fn compaction_refuses_what_it_cannot_do() {
    let (_dir, tables) = crate::local_tables();
    let err = tables.compact("nothing_here", None).await.unwrap_err();
    assert!(matches!(err, TableError::NotFound { .. }), "{err}");
    let err = tables.compact("../up", None).await.unwrap_err();
    assert!(matches!(err, TableError::InvalidName { .. }), "{err}");
    tables.append("t", row(1)).await.unwrap();
    tables.append("t", row(2)).await.unwrap();
    let err = tables.compact("t", Some(0)).await.unwrap_err();
    assert!(err.to_string().contains("at least 1 byte"), "{err}");
    assert_eq!(
        tables.describe("t").await.unwrap().files,
        2,
        "nothing changed"
    );
}
