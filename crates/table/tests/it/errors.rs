//! Bad input of every kind: a clear error naming the problem, and nothing changed.

use lakehouse_table::{IngestOptions, OnError, TableError, Tables};

use crate::{data, ingest, local_tables, scalar};

/// The dataset's version and row count, to show an ingest changed nothing.
async fn state(tables: &Tables, name: &str) -> (u64, u64) {
    let info = tables.describe(name).await.unwrap();
    (info.version, info.rows)
}

async fn fails(tables: &Tables, name: &str, file: &str, options: IngestOptions) -> String {
    let before = if tables.exists(name).await.unwrap() {
        Some(state(tables, name).await)
    } else {
        None
    };
    let err = tables.ingest(name, &data(file), options).await.unwrap_err();
    let after = if tables.exists(name).await.unwrap() {
        Some(state(tables, name).await)
    } else {
        None
    };
    assert_eq!(
        before, after,
        "a failed ingest of {file} changed dataset '{name}'"
    );
    err.to_string()
}

#[tokio::test]
async fn malformed_csv_names_file_and_line_and_changes_nothing() {
    let (_dir, tables) = local_tables();
    ingest(&tables, "t", "bad_value.csv").await; // amounts infer as text: no error
    let err = fails(&tables, "t", "bad_field_count.csv", IngestOptions::new()).await;
    assert!(
        err.contains("bad_field_count.csv, line 5") && err.contains("expected 3 fields, found 2"),
        "{err}"
    );
    let err = fails(
        &tables,
        "fresh",
        "bad_field_count.csv",
        IngestOptions::new(),
    )
    .await;
    assert!(err.contains("line 5"), "{err}");
    assert!(
        !tables.exists("fresh").await.unwrap(),
        "no dataset is created by a failed ingest"
    );
}

#[tokio::test]
async fn a_value_that_does_not_fit_its_type_names_line_and_column() {
    let (_dir, tables) = local_tables();
    let err = fails(
        &tables,
        "amounts",
        "bad_value.csv",
        IngestOptions::new().with_schema("amount:int"),
    )
    .await;
    assert!(
        err.contains("bad_value.csv, line 5, column 'amount': '12x' is not an integer"),
        "{err}"
    );
}

#[tokio::test]
async fn appending_rows_that_do_not_fit_the_dataset_is_refused() {
    let (_dir, tables) = local_tables();
    tables
        .ingest(
            "amounts",
            &data("bad_value.csv"),
            IngestOptions::new().with_schema("amount:string"),
        )
        .await
        .unwrap();
    let err = fails(&tables, "amounts", "semicolon.csv", IngestOptions::new()).await;
    assert!(err.contains("cannot append to dataset 'amounts'"), "{err}");
}

#[tokio::test]
async fn quarantine_keeps_good_rows_and_records_bad_ones_with_the_reason() {
    let (_dir, tables) = local_tables();
    let options = IngestOptions::new().with_on_error(OnError::Quarantine);
    let report = tables
        .ingest("abc", &data("bad_field_count.csv"), options)
        .await
        .unwrap();
    assert_eq!((report.rows, report.rejected), (4, 1));
    assert_eq!(report.rejects_dataset.as_deref(), Some("abc__rejects"));
    assert_eq!(scalar(&tables, "SELECT count(*) FROM abc").await, 4);
    let q = "SELECT count(*) FROM abc__rejects WHERE line = 5 AND reason = 'expected 3 fields, found 2'";
    assert_eq!(scalar(&tables, q).await, 1);

    let options = IngestOptions::new()
        .with_on_error(OnError::Quarantine)
        .with_schema("amount:int");
    let report = tables
        .ingest("amounts", &data("bad_value.csv"), options)
        .await
        .unwrap();
    assert_eq!((report.rows, report.rejected), (4, 1));
    let q = "SELECT count(*) FROM amounts__rejects WHERE \"column\" = 'amount' AND strpos(record, '12x') > 0";
    assert_eq!(scalar(&tables, q).await, 1);
}

#[tokio::test]
async fn invalid_utf8_is_named() {
    let (_dir, tables) = local_tables();
    let err = fails(&tables, "u", "bad_utf8.csv", IngestOptions::new()).await;
    assert!(
        err.contains("bad_utf8.csv, line 3") && err.contains("invalid UTF-8"),
        "{err}"
    );
}

#[tokio::test]
async fn a_ten_megabyte_field_is_refused() {
    let (dir, tables) = local_tables();
    let path = dir.path().join("huge.csv");
    let mut body = b"id,text\n1,small\n2,".to_vec();
    body.extend(std::iter::repeat_n(b'x', 10 << 20));
    body.push(b'\n');
    std::fs::write(&path, body).unwrap();
    let err = tables
        .ingest("huge", path.to_str().unwrap(), IngestOptions::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("huge.csv, line 3, column 'text'")
            && err.contains("over the 1048576-byte limit"),
        "{err}"
    );
    assert!(!tables.exists("huge").await.unwrap());
}

#[tokio::test]
async fn malformed_json_names_the_line() {
    let (_dir, tables) = local_tables();
    let err = fails(&tables, "j", "bad_json.jsonl", IngestOptions::new()).await;
    assert!(
        err.contains("bad_json.jsonl, line 2") && err.contains("invalid JSON"),
        "{err}"
    );
    let err = fails(&tables, "j", "bad_array.json", IngestOptions::new()).await;
    assert!(
        err.contains("bad_array.json, line 1") && err.contains("invalid JSON"),
        "{err}"
    );
}

#[tokio::test]
async fn dataset_names_are_checked_before_anything_happens() {
    let (_dir, tables) = local_tables();
    for name in ["../x", "a/b", "Permits", ""] {
        let err = tables
            .ingest(name, &data("quoted.csv"), IngestOptions::new())
            .await
            .unwrap_err();
        assert!(
            matches!(err, TableError::InvalidName { .. }),
            "{name}: {err}"
        );
    }
    assert!(tables.names().await.unwrap().is_empty());
}

#[tokio::test]
async fn missing_sources_and_datasets_are_named() {
    let (_dir, tables) = local_tables();
    let err = tables
        .ingest("x", "/no/such/file.csv", IngestOptions::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot read source '/no/such/file.csv'"),
        "{err}"
    );
    ingest(&tables, "quoted", "quoted.csv").await;
    let err = tables.describe("nope").await.unwrap_err().to_string();
    assert_eq!(err, "no dataset named 'nope' (datasets: quoted)");
    let err = tables
        .ingest(
            "x",
            &data("quoted.csv"),
            IngestOptions::new().with_schema("nosuch:int"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no column 'nosuch'"), "{err}");
}

#[tokio::test]
async fn repeated_header_names_keep_every_column() {
    let (dir, tables) = local_tables();
    let path = dir.path().join("dup.csv");
    std::fs::write(&path, "a,a,A\n1,2,3\n").unwrap();
    let report = tables
        .ingest("dup", path.to_str().unwrap(), IngestOptions::new())
        .await
        .unwrap();
    let names: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["a", "a_2", "a_3"]);
    assert_eq!(scalar(&tables, "SELECT a + a_2 + a_3 FROM dup").await, 6);
}
