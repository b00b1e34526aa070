//! The read-only SQL interface.

use lakehouse_table::{OutputFormat, SqlOptions, TableError, write_batches};

use crate::{ingest, local_tables, query, scalar};

#[tokio::test]
async fn writes_through_sql_are_refused_and_change_nothing() {
    let (_dir, tables) = local_tables();
    ingest(&tables, "permits", "permits_sample.jsonl").await;
    for statement in [
        "DROP TABLE permits",
        "INSERT INTO permits (permit) VALUES ('x')",
        "DELETE FROM permits",
        "CREATE TABLE t AS SELECT 1",
    ] {
        let err = tables
            .sql_collect(statement, &SqlOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, TableError::ReadOnly { .. }),
            "{statement}: {err}"
        );
    }
    assert_eq!(scalar(&tables, "SELECT count(*) FROM permits").await, 100);
    assert_eq!(tables.describe("permits").await.unwrap().version, 0);
}

#[tokio::test]
async fn joins_limits_and_formats() {
    let (_dir, tables) = local_tables();
    ingest(&tables, "tickers", "sec_company_tickers_sample.json").await;
    ingest(
        &tables,
        "exchange",
        "sec_company_tickers_exchange_sample.json",
    )
    .await;
    let joined = "SELECT count(*) FROM tickers t JOIN exchange e ON t.ticker = e.ticker";
    assert!(scalar(&tables, joined).await > 0);
    let limited = tables
        .sql_collect(
            "SELECT * FROM tickers",
            &SqlOptions {
                limit: Some(7),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.iter().map(|b| b.num_rows()).sum::<usize>(), 7);

    let batches = query(
        &tables,
        "SELECT ticker, title FROM tickers WHERE ticker = 'BRK-B'",
    )
    .await;
    let mut text = Vec::new();
    write_batches(&batches, OutputFormat::Table, &mut text).unwrap();
    assert!(String::from_utf8(text).unwrap().contains("| BRK-B  |"));
    let mut json = Vec::new();
    write_batches(&batches, OutputFormat::JsonLines, &mut json).unwrap();
    let row: serde_json::Value =
        serde_json::from_slice(json.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(row["ticker"], "BRK-B");
    let mut csv = Vec::new();
    write_batches(&batches, OutputFormat::Csv, &mut csv).unwrap();
    assert!(
        String::from_utf8(csv)
            .unwrap()
            .starts_with("ticker,title\nBRK-B,")
    );
}

#[tokio::test]
async fn unknown_tables_and_versions_are_clear_errors() {
    let (_dir, tables) = local_tables();
    ingest(&tables, "quoted", "quoted.csv").await;
    let err = tables
        .sql_collect("SELECT * FROM nope", &SqlOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(err, "no dataset named 'nope' (datasets: quoted)");
    let old = SqlOptions {
        as_of_version: Some(9),
        limit: None,
        ..SqlOptions::default()
    };
    let err = tables
        .sql_collect("SELECT * FROM quoted", &old)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no version 9"), "{err}");
}

#[tokio::test]
async fn rows_as_json_with_a_row_cap() {
    let (_dir, tables) = local_tables();
    ingest(&tables, "permits", "permits_sample.jsonl").await;
    let rows = tables
        .sql_rows(
            "SELECT 1 AS one, 'x' AS s, NULL AS n, [1, 2] AS l FROM permits LIMIT 3",
            &SqlOptions::default(),
            10,
        )
        .await
        .unwrap();
    assert_eq!(rows.columns, ["one", "s", "n", "l"]);
    // LIMIT holds although the query reads no column of the table (delta-rs#4037)
    assert_eq!(rows.rows.len(), 3);
    assert_eq!(
        rows.rows[0],
        vec![
            serde_json::json!(1),
            serde_json::json!("x"),
            serde_json::Value::Null,
            serde_json::json!([1, 2])
        ]
    );
    assert!(!rows.truncated);
    let capped = tables
        .sql_rows("SELECT * FROM permits", &SqlOptions::default(), 7)
        .await
        .unwrap();
    assert_eq!(capped.rows.len(), 7);
    assert!(capped.truncated);
    // exactly at the cap is not truncated
    let exact = tables
        .sql_rows("SELECT * FROM permits", &SqlOptions::default(), 100)
        .await
        .unwrap();
    assert_eq!((exact.rows.len(), exact.truncated), (100, false));
}

// on one thread: the query must yield for the timer to fire
#[tokio::test]
async fn memory_and_time_caps_stop_a_query_with_an_error() {
    let (_dir, tables) = local_tables();
    // grouping 5 million distinct values needs far more than 4 MB
    let capped = SqlOptions {
        memory_limit: Some(4 << 20),
        ..SqlOptions::default()
    };
    let err = tables
        .sql_rows(
            "SELECT v, count(*) FROM generate_series(1, 5000000) AS t(v) GROUP BY v ORDER BY 2 DESC, 1",
            &capped,
            10,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::Query { .. }), "{err}");
    assert!(err.to_string().contains("Resources exhausted"), "{err}");
    let quick = SqlOptions {
        timeout: Some(std::time::Duration::from_millis(50)),
        ..SqlOptions::default()
    };
    let err = tables
        .sql_rows(
            "SELECT count(*) FROM generate_series(1, 1000000) a CROSS JOIN generate_series(1, 1000000) b",
            &quick,
            10,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::LimitExceeded { .. }), "{err}");
    assert!(err.to_string().contains("longer than 50 ms"), "{err}");
}

#[tokio::test]
async fn the_tables_a_query_reads() {
    let (_dir, tables) = local_tables();
    let names = tables
        .sql_tables(
            "WITH x AS (SELECT * FROM permits) SELECT * FROM x JOIN contracts c ON true, generate_series(1, 2)",
        )
        .unwrap();
    assert_eq!(names, ["contracts", "permits"]);
    assert!(matches!(
        tables.sql_tables("DROP TABLE permits").unwrap_err(),
        TableError::ReadOnly { .. }
    ));
}
