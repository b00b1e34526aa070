//! An independent reader: Python's `deltalake` (PyPI) reads the tables we wrote, on a local
//! folder and on the S3 test server, and must see the same rows and values (per-column
//! checksums). The venv is made by `scripts/setup-venv.sh`; without it this test fails, never
//! skips.

use std::collections::BTreeMap;

use lakehouse_table::arrow::array::{Array, AsArray, RecordBatch};
use lakehouse_table::arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use lakehouse_table::{SqlOptions, Tables};

use crate::ingest;

/// Per column: (nulls, sum) as `delta_checksum.py` defines them.
fn checksums(batches: &[RecordBatch]) -> BTreeMap<String, (u64, serde_json::Value)> {
    let mut out = BTreeMap::new();
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return out;
    };
    for (i, field) in schema.fields().iter().enumerate() {
        let mut nulls = 0u64;
        let (mut int, mut float) = (0i128, 0f64);
        for batch in batches {
            let column = batch.column(i);
            nulls += column.null_count() as u64;
            if field.data_type() == &DataType::Float64 {
                float += column
                    .as_primitive::<Float64Type>()
                    .iter()
                    .flatten()
                    .sum::<f64>();
            } else {
                int += int_sum(column.as_ref(), field.data_type());
            }
        }
        let sum = match field.data_type() {
            DataType::Float64 => serde_json::json!(float),
            _ => serde_json::json!(i64::try_from(int).unwrap()),
        };
        out.insert(field.name().clone(), (nulls, sum));
    }
    out
}

/// The checksum of one non-float column, as `delta_checksum.py` computes it.
fn int_sum(column: &dyn Array, data_type: &DataType) -> i128 {
    let ints = |values: Vec<i128>| values.into_iter().sum::<i128>();
    match data_type {
        DataType::Int64 => ints(
            column
                .as_primitive::<Int64Type>()
                .iter()
                .flatten()
                .map(i128::from)
                .collect(),
        ),
        DataType::Utf8 => ints(
            column
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(|s| s.len() as i128)
                .collect(),
        ),
        DataType::Utf8View => ints(
            column
                .as_string_view()
                .iter()
                .flatten()
                .map(|s| s.len() as i128)
                .collect(),
        ),
        DataType::Boolean => column.as_boolean().iter().flatten().filter(|b| *b).count() as i128,
        DataType::Date32 => ints(
            column
                .as_primitive::<Date32Type>()
                .iter()
                .flatten()
                .map(i128::from)
                .collect(),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => ints(
            column
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .flatten()
                .map(i128::from)
                .collect(),
        ),
        other => panic!("no checksum for {other}"),
    }
}

pub(crate) fn python_checksum(uri: &str, storage: &[(String, String)]) -> serde_json::Value {
    let venv = std::env::var("LAKEHOUSE_VENV").unwrap_or_else(|_| "/var/tmp/lakehouse-venv".into());
    let python = format!("{venv}/bin/python");
    let script = format!(
        "{}/../../scripts/interop/delta_checksum.py",
        lakehouse_testkit::crate_dir().display()
    );
    let mut command = std::process::Command::new(&python);
    command.arg(&script).arg(uri);
    for (k, v) in storage {
        command.arg("--storage-option").arg(format!("{k}={v}"));
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}): run scripts/setup-venv.sh"));
    assert!(
        output.status.success(),
        "delta_checksum.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn compare(tables: &Tables, name: &str, uri: &str, storage: &[(String, String)]) {
    let ours = tables
        .sql_collect(&format!("SELECT * FROM {name}"), &SqlOptions::default())
        .await
        .unwrap();
    let rows: usize = ours.iter().map(|b| b.num_rows()).sum();
    let theirs = python_checksum(uri, storage);
    assert_eq!(theirs["rows"], rows, "row count seen by Python deltalake");
    for (column, (nulls, sum)) in checksums(&ours) {
        let other = &theirs["columns"][&column];
        assert_eq!(other["nulls"], nulls, "{name}.{column} nulls");
        match sum.as_f64() {
            Some(ours) if sum.is_f64() => {
                let theirs = other["sum"].as_f64().unwrap();
                assert!(
                    (ours - theirs).abs() <= 1e-6 * ours.abs().max(1.0),
                    "{name}.{column}: {ours} vs {theirs}"
                );
            }
            _ => assert_eq!(other["sum"], sum, "{name}.{column} sum"),
        }
    }
}

#[tokio::test]
async fn python_deltalake_reads_our_local_tables() {
    let (dir, tables) = crate::local_tables();
    for (name, file) in [
        ("permits", "chicago_permits_sample.csv"),
        ("contracts", "chicago_contracts_sample.csv"),
        ("tickers", "sec_company_tickers_sample.json"),
    ] {
        ingest(&tables, name, file).await;
        // A second commit, so the reader has to follow the log.
        ingest(&tables, name, file).await;
        let uri = dir.path().join(format!("tables/{name}"));
        compare(&tables, name, uri.to_str().unwrap(), &[]).await;
    }
}

#[tokio::test]
async fn python_deltalake_reads_our_s3_tables() {
    let settings = lakehouse_testkit::s3_settings();
    let url = settings.fresh_url("interop");
    let store = lakehouse_store::Store::open_with_options(&url, settings.options()).unwrap();
    let tables = Tables::new(store);
    ingest(&tables, "contracts", "chicago_contracts_sample.csv").await;
    let storage: Vec<(String, String)> = settings
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain([("AWS_ALLOW_HTTP".to_string(), "true".to_string())])
        .collect();
    compare(
        &tables,
        "contracts",
        &format!("{url}/tables/contracts"),
        &storage,
    )
    .await;
}
