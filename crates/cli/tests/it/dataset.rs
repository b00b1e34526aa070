//! `lakehouse dataset …` and `lakehouse sql …` as a user runs them, on a local folder and S3.

use crate::{lakehouse, run, sample, stderr, stdout};

fn sql_json(store: &str, env: &[(&str, String)], query: &str) -> Vec<serde_json::Value> {
    let output = run(lakehouse(store, env).args(["--json", "sql", query]));
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ingest_and_query(store: &str, env: &[(&str, String)]) {
    let output = run(lakehouse(store, env).args([
        "dataset",
        "ingest",
        "permits",
        &sample("chicago_permits_sample.csv"),
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("ingested 300 rows from 1 file(s)"),
        "{}",
        stdout(&output)
    );
    let rows = sql_json(
        store,
        env,
        "SELECT count(*) AS n FROM permits WHERE permit_type LIKE 'PERMIT – %'",
    );
    assert_eq!(rows[0]["n"], 139);
    let output = run(lakehouse(store, env).args(["--json", "dataset", "describe", "permits"]));
    let info: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(info["rows"], 300);
    assert_eq!(info["columns"][0]["original_name"], "PERMIT#");
}

#[test]
fn ingest_describe_and_query_a_local_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    ingest_and_query(&store, &[]);
    // The table is a Delta table in the store folder.
    assert!(
        dir.path()
            .join("store/tables/permits/_delta_log/00000000000000000000.json")
            .is_file()
    );

    let output = run(lakehouse(&store, &[]).args([
        "sql",
        "SELECT permit FROM permits",
        "--limit",
        "2",
        "--csv",
    ]));
    assert_eq!(
        stdout(&output).lines().count(),
        3,
        "header + 2 rows: {}",
        stdout(&output)
    );
    assert!(stderr(&output).contains("showing the first 2 rows"));

    let output = run(lakehouse(&store, &[]).args([
        "dataset",
        "ingest",
        "permits",
        &sample("permits_sample.jsonl"),
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let old = run(lakehouse(&store, &[]).args([
        "--json",
        "sql",
        "SELECT count(*) AS n FROM permits",
        "--as-of-version",
        "0",
    ]));
    assert!(stdout(&old).contains("\"n\":300"), "{}", stdout(&old));
    let output = run(lakehouse(&store, &[]).args(["dataset", "history", "permits"]));
    assert_eq!(stdout(&output).lines().count(), 2, "{}", stdout(&output));
}

#[test]
fn s3_datasets_through_aws_environment_variables() {
    let settings = lakehouse_testkit::s3_settings();
    ingest_and_query(&settings.fresh_url("cli-datasets"), &settings.env());
}

#[test]
fn writes_through_sql_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    run(lakehouse(&store, &[]).args(["dataset", "ingest", "q", &sample("quoted.csv")]));
    for statement in ["DROP TABLE q", "INSERT INTO q VALUES (9, 'x', 'y')"] {
        let output = run(lakehouse(&store, &[]).args(["sql", statement]));
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).starts_with("error: only queries are allowed"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(
        sql_json(&store, &[], "SELECT count(*) AS n FROM q")[0]["n"],
        4
    );
}

#[test]
fn bad_input_is_one_clear_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let output =
        run(lakehouse(&store, &[]).args(["dataset", "ingest", "../x", &sample("quoted.csv")]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid dataset name '../x'"),
        "{}",
        stderr(&output)
    );
    let output = run(lakehouse(&store, &[]).args([
        "dataset",
        "ingest",
        "t",
        &sample("bad_field_count.csv"),
    ]));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bad_field_count.csv, line 5: expected 3 fields, found 2"),
        "{err}"
    );
    let output = run(lakehouse(&store, &[]).args(["dataset", "list"]));
    assert!(
        stdout(&output).starts_with("no datasets"),
        "{}",
        stdout(&output)
    );

    let output = run(lakehouse(&store, &[]).args([
        "dataset",
        "ingest",
        "t",
        &sample("bad_field_count.csv"),
        "--on-error",
        "quarantine",
    ]));
    assert!(
        stdout(&output).contains("1 malformed rows were quarantined in 't__rejects'"),
        "{}",
        stdout(&output)
    );
    let output = run(lakehouse(&store, &[]).args(["dataset", "compact", "t"]));
    assert!(
        stdout(&output).contains("'t' has nothing to merge (files: 1, version 0)"),
        "{}",
        stdout(&output)
    );
    let output = run(lakehouse(&store, &[]).args(["dataset", "compact", "nope"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no dataset named 'nope'"),
        "{}",
        stderr(&output)
    );
    let output = run(lakehouse(&store, &[]).args(["dataset", "drop", "t"]));
    assert!(stderr(&output).contains("--yes"), "{}", stderr(&output));
    let output = run(lakehouse(&store, &[]).args(["dataset", "drop", "t", "--yes"]));
    assert!(output.status.success(), "{}", stderr(&output));
}
