//! `lakehouse bench …`: measurements written as JSON under `bench-results/`, peers run in the
//! same process on the same data so the report is a ratio, never a number from another day.

mod ann;
mod embed;
mod ingest;
mod journal;
mod matrix;
mod memory;
mod serve;
mod serve_peer;
mod serve_stats;
mod texts;

use std::path::PathBuf;

use clap::Subcommand;

use crate::Globals;

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// The journal: append rate by batch size, objects per 100k events, read rate, compaction,
    /// next to the seed's read-modify-write JSONL log at 1k/5k/20k events.
    Journal(journal::JournalBenchArgs),
    /// Ingest: CSV -> Delta rows/s next to DuckDB's CSV -> Parquet on the same file.
    Ingest(ingest::IngestBenchArgs),
    /// ANN: our HNSW index vs hnswlib and FAISS HNSW on >=100k real-text MiniLM vectors; QPS at
    /// recall@10 >= 0.95 and build time (peers from scripts/setup-bench-venv.sh).
    Ann(ann::AnnBenchArgs),
    /// Embedding: our in-process MiniLM vs sentence-transformers, sentences/s at the same thread
    /// count, and the cosine between the two sides' vectors.
    Embed(embed::EmbedBenchArgs),
    /// Matrix search: one query over five real corpora vs each corpus alone.
    Matrix(matrix::MatrixBenchArgs),
    /// Memory: UPSERT and SEARCH latency at 10k and 100k records vs Mem0 OSS (FAISS, same
    /// MiniLM vectors), embedding reported separately.
    Memory(memory::MemoryBenchArgs),
    /// The server: req/s and p50/p99 at concurrency 1, 4, 16, 64 for matrix search over five
    /// corpora, memory search and memory upsert, next to the same calls in-process, and the
    /// cost of one CLI call.
    Serve(serve::ServeBenchArgs),
}

pub(crate) async fn run(globals: &Globals, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Journal(args) => journal::run(globals, args).await,
        BenchCommand::Ingest(args) => ingest::run(globals, args).await,
        BenchCommand::Ann(args) => ann::run(globals, args).await,
        BenchCommand::Embed(args) => embed::run(globals, args).await,
        BenchCommand::Matrix(args) => matrix::run(globals, args).await,
        BenchCommand::Memory(args) => memory::run(globals, args).await,
        BenchCommand::Serve(args) => serve::run(globals, args).await,
    }
}

/// Write `report` as pretty JSON to `dir/name.json`, creating `dir`.
pub(crate) fn write_report(
    dir: &PathBuf,
    name: &str,
    report: &serde_json::Value,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(report)? + "\n")?;
    Ok(path)
}

/// Run a peer's Python script with the bench venv's interpreter; fails if it does not succeed.
pub(crate) fn run_peer(
    venv: &std::path::Path,
    script: &str,
    args: &[String],
) -> anyhow::Result<()> {
    let python = venv.join("bin/python");
    let status = std::process::Command::new(&python)
        .arg(script)
        .args(args)
        .status()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot run {} ({e}); make it with scripts/setup-bench-venv.sh",
                python.display()
            )
        })?;
    anyhow::ensure!(status.success(), "{script} failed ({status})");
    Ok(())
}
