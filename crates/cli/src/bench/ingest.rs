//! The ingest benchmark: our CSV → Delta ingest of a real file next to DuckDB's CSV → Parquet
//! (`read_csv_auto` + `COPY … TO parquet`) on the same file, in the same run, same thread count.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use lakehouse::store::Store;
use lakehouse::table::{IngestOptions, Mode, Tables};
use serde_json::json;

use crate::Globals;

#[derive(Debug, Args)]
pub(crate) struct IngestBenchArgs {
    /// The CSV file to ingest.
    #[arg(long, default_value = "../shared/data/chicago_permits.csv")]
    file: PathBuf,
    /// Runs of each; the best is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The Python venv with duckdb (made by scripts/setup-venv.sh).
    #[arg(
        long,
        env = "LAKEHOUSE_VENV",
        default_value = "/var/tmp/lakehouse-venv"
    )]
    venv: PathBuf,
    /// The DuckDB side of the benchmark.
    #[arg(long, default_value = "scripts/bench/duckdb_ingest.py")]
    duckdb_script: PathBuf,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

pub(crate) async fn run(_globals: &Globals, args: IngestBenchArgs) -> anyhow::Result<()> {
    let file = args
        .file
        .canonicalize()
        .with_context(|| format!("cannot find {}", args.file.display()))?;
    let bytes = std::fs::metadata(&file)?.len();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let dir = tempfile::Builder::new()
        .prefix("lakehouse-bench-ingest-")
        .tempdir()?;
    let tables = Tables::new(Store::open(dir.path().to_str().unwrap_or("."))?);
    let mut ours = Vec::new();
    let mut rows = 0;
    for run in 0..args.runs.max(1) {
        let options = IngestOptions::new().with_mode(Mode::Overwrite);
        let started = Instant::now();
        let report = tables
            .ingest("bench", file.to_str().unwrap_or_default(), options)
            .await?;
        let seconds = started.elapsed().as_secs_f64();
        rows = report.rows;
        eprintln!("lakehouse run {}: {rows} rows in {seconds:.3}s", run + 1);
        ours.push(seconds);
    }
    let best = ours.iter().copied().fold(f64::INFINITY, f64::min);

    let python = args.venv.join("bin/python");
    let output = std::process::Command::new(&python)
        .arg(&args.duckdb_script)
        .arg(&file)
        .args([
            "--runs",
            &args.runs.max(1).to_string(),
            "--threads",
            &threads.to_string(),
        ])
        .output()
        .with_context(|| {
            format!(
                "cannot run {} (make the venv with scripts/setup-venv.sh)",
                python.display()
            )
        })?;
    anyhow::ensure!(
        output.status.success(),
        "the DuckDB side failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let duckdb: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("the DuckDB side printed no JSON")?;
    let duckdb_rows_per_s = duckdb["rows_per_s"].as_f64().unwrap_or(0.0);
    eprintln!(
        "duckdb: {} rows in {:.3}s",
        duckdb["rows"],
        duckdb["best_seconds"].as_f64().unwrap_or(0.0)
    );

    let rows_per_s = rows as f64 / best.max(1e-9);
    let ratio = rows_per_s / duckdb_rows_per_s.max(1e-9);
    let report = json!({
        "bench": "ingest",
        "date": chrono::Utc::now().to_rfc3339(),
        "machine": {"cpus": threads},
        "file": file.display().to_string(),
        "bytes": bytes,
        "lakehouse": {
            "what": "CSV -> Delta table (infer types, write Parquet, commit)",
            "rows": rows, "runs_seconds": ours, "best_seconds": best,
            "rows_per_s": rows_per_s, "mb_per_s": bytes as f64 / 1e6 / best.max(1e-9),
        },
        "duckdb": duckdb,
        "ratio_rows_per_s_vs_duckdb": ratio,
        "target_ratio": 0.5,
        "target_met": ratio >= 0.5,
    });
    let path = super::write_report(&args.out, "ingest", &report)?;
    eprintln!("wrote {}", path.display());
    outln!(
        "{}",
        serde_json::to_string_pretty(
            &json!({"ratio_rows_per_s_vs_duckdb": ratio, "target_met": ratio >= 0.5})
        )?
    )?;
    Ok(())
}
