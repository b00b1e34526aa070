//! Vacuum: files replaced by overwrites are deleted once older than the retention, the live
//! version reads as before (also by Python `deltalake`), and a dry run deletes nothing.

use std::time::Duration;

use lakehouse_table::{IngestOptions, Mode, SqlOptions, TableError};

use crate::{data, scalar};

#[tokio::test]
async fn vacuum_deletes_replaced_files_and_keeps_the_live_version() {
    let (dir, tables) = crate::local_tables();
    let files = ["chicago_permits_sample.csv", "sf_permits_sample.csv"];
    for round in 0..4 {
        let options = IngestOptions::new().with_mode(Mode::Overwrite);
        tables
            .ingest("permits", &data(files[round % 2]), options)
            .await
            .unwrap();
    }
    let live_rows = scalar(&tables, "SELECT count(*) FROM permits").await;
    let root = dir.path().join("tables/permits");
    let before = lakehouse_testkit::bytes_under(&root);

    // recent replacements are within the default-like retention: nothing to do
    let week = Duration::from_secs(7 * 24 * 3600);
    let kept = tables.vacuum("permits", week, false).await.unwrap();
    assert_eq!((kept.files_removed, kept.bytes_removed), (0, 0), "{kept:?}");

    let dry = tables
        .vacuum("permits", Duration::ZERO, true)
        .await
        .unwrap();
    assert!(dry.dry_run && dry.files_removed == 3, "{dry:?}");
    assert!(
        lakehouse_testkit::bytes_under(&root) >= before,
        "a dry run deletes nothing"
    );
    // the second ingest is still readable as of its version
    let as_of = SqlOptions {
        as_of_version: Some(1),
        ..SqlOptions::default()
    };
    tables
        .sql_collect("SELECT * FROM permits", &as_of)
        .await
        .unwrap();

    let done = tables
        .vacuum("permits", Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(
        (done.files_removed, done.bytes_removed),
        (dry.files_removed, dry.bytes_removed)
    );
    assert!(done.bytes_removed > 0);
    let after = lakehouse_testkit::bytes_under(&root);
    assert!(
        before - after + 4096 >= done.bytes_removed,
        "{before} -> {after}, reported {}",
        done.bytes_removed
    );
    assert_eq!(
        scalar(&tables, "SELECT count(*) FROM permits").await,
        live_rows
    );
    let theirs = crate::interop::python_checksum(root.to_str().unwrap(), &[]);
    assert_eq!(theirs["rows"], live_rows, "rows seen by Python deltalake");
    // a vacuumed version fails with an error naming the missing file, not a panic
    let gone = tables
        .sql_collect("SELECT * FROM permits", &as_of)
        .await
        .unwrap_err();
    assert!(gone.to_string().contains(".parquet"), "{gone}");

    let again = tables
        .vacuum("permits", Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(again.files_removed, 0, "{again:?}");

    // files no commit names (an ingest killed before its commit): only under a retention of a
    // day or more, and only once older than it (an ingest in flight writes files like these)
    let stray = |name: &str, age: Duration| {
        let path = root.join(name);
        std::fs::write(&path, b"PAR1 not really").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    };
    stray(
        "part-00000-killed-old.parquet",
        Duration::from_secs(3 * 24 * 3600),
    );
    stray("part-00000-in-flight.parquet", Duration::ZERO);
    let short = tables
        .vacuum("permits", Duration::ZERO, true)
        .await
        .unwrap();
    assert_eq!(short.files_removed, 0, "{short:?}");
    let day = Duration::from_secs(24 * 3600);
    let full = tables.vacuum("permits", day, false).await.unwrap();
    assert_eq!(full.files_removed, 1, "{full:?}");
    assert!(!root.join("part-00000-killed-old.parquet").exists());
    assert!(root.join("part-00000-in-flight.parquet").exists());
    assert_eq!(
        scalar(&tables, "SELECT count(*) FROM permits").await,
        live_rows
    );
    let err = tables
        .vacuum("nothing_here", Duration::ZERO, true)
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::NotFound { .. }), "{err}");
}
