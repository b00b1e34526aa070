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
    };
    let err = tables
        .sql_collect("SELECT * FROM quoted", &old)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no version 9"), "{err}");
}
