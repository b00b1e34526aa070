//! The embedding benchmark: our in-process MiniLM next to sentence-transformers on the same real
//! sentences, same thread count, same batch size; agreement is the cosine of each pair of vectors.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use lakehouse::models::{MiniLm, MiniLmOptions, cosine, default_minilm_dir};
use serde_json::{Value, json};

use super::texts;
use crate::Globals;

#[derive(Debug, Args)]
pub(crate) struct EmbedBenchArgs {
    /// Folder with the real CSVs (permits, contracts, SF permits).
    #[arg(long, default_value = "../shared/data")]
    data_dir: PathBuf,
    /// Sentences, taken evenly from the three files.
    #[arg(long, default_value_t = 3000)]
    sentences: usize,
    /// Sentences per forward pass (both sides).
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Runs of each; the best is reported.
    #[arg(long, default_value_t = 2)]
    runs: usize,
    /// The Python venv with sentence-transformers (scripts/setup-bench-venv.sh).
    #[arg(
        long,
        env = "LAKEHOUSE_BENCH_VENV",
        default_value = "/var/tmp/lakehouse-bench-venv"
    )]
    venv: PathBuf,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

pub(crate) async fn run(_globals: &Globals, args: EmbedBenchArgs) -> anyhow::Result<()> {
    let per_file = args.sentences.div_ceil(texts::SOURCES.len());
    let mut sentences = Vec::new();
    for (file, column) in texts::SOURCES {
        let all = texts::column_texts(&args.data_dir.join(file), column)?;
        let step = (all.len() / per_file.max(1)).max(1);
        sentences.extend(
            all.iter()
                .step_by(step)
                .take(per_file)
                .map(|t| t.replace(['\n', '\r'], " ")),
        );
    }
    sentences.truncate(args.sentences);
    let n = sentences.len();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);

    let dir = tempfile::Builder::new()
        .prefix("lakehouse-bench-embed-")
        .tempdir()?;
    let sentences_file = dir.path().join("sentences.txt");
    std::fs::write(&sentences_file, sentences.join("\n") + "\n")?;

    let model_dir = default_minilm_dir();
    let model = MiniLm::load(
        &model_dir,
        &MiniLmOptions {
            batch_size: args.batch_size,
            ..MiniLmOptions::default()
        },
    )?;
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    model.embed_blocking(&refs[..refs.len().min(64)])?;
    let mut best = f64::INFINITY;
    let mut ours = Vec::new();
    for run in 0..args.runs.max(1) {
        let t = Instant::now();
        ours = model.embed_blocking(&refs)?;
        let s = t.elapsed().as_secs_f64();
        eprintln!(
            "lakehouse run {}: {n} sentences in {s:.2}s ({:.0}/s)",
            run + 1,
            n as f64 / s
        );
        best = best.min(s);
    }

    let peer_json = dir.path().join("peer.json");
    let peer_vectors = dir.path().join("peer.npy");
    super::run_peer(
        &args.venv,
        "scripts/bench/embed_peer.py",
        &[
            "--model-dir".to_string(),
            model_dir.display().to_string(),
            "--sentences".to_string(),
            sentences_file.display().to_string(),
            "--threads".to_string(),
            threads.to_string(),
            "--batch-size".to_string(),
            args.batch_size.to_string(),
            "--out-vectors".to_string(),
            peer_vectors.display().to_string(),
            "--out".to_string(),
            peer_json.display().to_string(),
        ],
    )?;
    let peer: Value = serde_json::from_slice(&std::fs::read(&peer_json)?)?;
    let (theirs, dim) = texts::read_f32(&peer_vectors)?;
    anyhow::ensure!(
        theirs.len() == n * dim,
        "peer returned {} values for {n} sentences",
        theirs.len()
    );
    let cosines: Vec<f32> = ours
        .iter()
        .zip(theirs.chunks_exact(dim))
        .map(|(a, b)| cosine(a, b))
        .collect();
    let min = cosines.iter().copied().fold(f32::INFINITY, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len().max(1) as f32;

    let ours_rate = n as f64 / best;
    let peer_rate = peer["sentences_per_second"].as_f64().unwrap_or(0.0);
    let report = json!({
        "benchmark": "embed",
        "data": {"sentences": n, "source": "real permit, contract and SF permit descriptions", "mean_chars": sentences.iter().map(String::len).sum::<usize>() as f64 / n.max(1) as f64},
        "threads": threads,
        "batch_size": args.batch_size,
        "ours": {"name": "lakehouse minilm (candle, in-process)", "seconds": best, "sentences_per_second": ours_rate, "max_seq_length": model.max_seq_length()},
        "peer": peer,
        "ratio_ours_over_peer": ours_rate / peer_rate.max(1e-9),
        "agreement": {"min_cosine": min, "mean_cosine": mean},
    });
    let path = super::write_report(&args.out, "embed", &report)?;
    outln!(
        "ours {ours_rate:.0} sentences/s, sentence-transformers {peer_rate:.0}/s: ratio {:.2}; cosine min {min:.6} mean {mean:.6}",
        ours_rate / peer_rate.max(1e-9)
    )?;
    outln!("report: {}", path.display())?;
    Ok(())
}
