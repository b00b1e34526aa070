//! The memory benchmark: UPSERT and SEARCH latency (p50/p95) of a namespace holding 10k and
//! 100k records of real texts with their MiniLM embeddings, next to Mem0 OSS (`mem0ai`, FAISS,
//! the same MiniLM folder, `infer=False`) on the same texts and vectors in the same run.
//!
//! Embedding is measured on its own: both sides get the precomputed MiniLM vectors of the
//! texts (ours through a lookup embedder, Mem0's embedder patched to look them up), and the
//! real model's single-text latency is reported next to them. Each namespace is loaded in
//! batched commits, snapshotted, re-opened (timed), and its indexes built by the first search
//! (timed) before the single operations are timed, so the timed UPSERTs pay for the index
//! updates and the durable commit each.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use clap::Args;
use lakehouse::memory::{Draft, Kind, Memory, MemoryOptions, MemoryQuery};
use lakehouse::models::{Embedder, MiniLm, MiniLmOptions, ModelError, default_minilm_dir};
use lakehouse::store::Store;
use serde_json::{Value, json};

use super::{ann, texts};
use crate::Globals;
use crate::corpus::Bar;

#[derive(Debug, Args)]
pub(crate) struct MemoryBenchArgs {
    /// Folder with the real CSVs (permits, contracts, SF permits).
    #[arg(long, default_value = "../shared/data")]
    data_dir: PathBuf,
    /// Namespace sizes (records) to measure at.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// Single UPSERTs and SEARCHes timed at each size.
    #[arg(long, default_value_t = 200)]
    ops: usize,
    /// Single adds and searches timed on Mem0 at each size (its adds are slow at 100k).
    #[arg(long, default_value_t = 100)]
    mem0_ops: usize,
    /// Skip the Mem0 peer.
    #[arg(long)]
    no_peer: bool,
    /// Where embedded vectors are cached between runs (shared with `bench ann`).
    #[arg(long, default_value = "/var/tmp/lakehouse-bench-cache")]
    cache: PathBuf,
    /// The Python venv with mem0ai (scripts/setup-bench-venv.sh).
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

/// Vectors computed ahead of time, served as an embedder (MiniLM's id and dimension).
struct Lookup {
    id: String,
    dim: usize,
    vectors: HashMap<String, Vec<f32>>,
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookup")
            .field("id", &self.id)
            .field("vectors", &self.vectors.len())
            .finish()
    }
}

#[async_trait]
impl Embedder for Lookup {
    fn id(&self) -> &str {
        &self.id
    }
    fn dim(&self) -> usize {
        self.dim
    }
    async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        texts
            .iter()
            .map(|t| {
                self.vectors
                    .get(*t)
                    .cloned()
                    .ok_or_else(|| ModelError::BadResponse {
                        url: "precomputed vectors".into(),
                        message: format!("no vector for {t:?}"),
                    })
            })
            .collect()
    }
}

fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    let pick = |q: f64| ms[((q * ms.len() as f64) as usize).min(ms.len() - 1)];
    json!({
        "p50": pick(0.5), "p95": pick(0.95),
        "mean": ms.iter().sum::<f64>() / ms.len() as f64, "n": ms.len(),
    })
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

async fn measure(
    size: usize,
    ops: usize,
    all: &[String],
    embedder: &Arc<dyn Embedder>,
) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().to_string_lossy())?;
    let object_store = Arc::clone(store.object_store());
    let open = || async {
        anyhow::Ok(
            Memory::open(Arc::clone(&object_store), "bench", MemoryOptions::default())
                .await?
                .with_embedder(Arc::clone(embedder), "minilm")?,
        )
    };
    let memory = open().await?;
    let bar = Bar::new(false);
    lakehouse::vectord::Progress::start(&bar, &format!("loading {size} records"), size as u64);
    let started = Instant::now();
    for chunk in all[..size].chunks(1000) {
        let drafts = chunk
            .iter()
            .map(|t| Draft::new(Kind::Pathway, t.clone()))
            .collect();
        memory.upsert_many(drafts).await?;
        lakehouse::vectord::Progress::advance(&bar, chunk.len() as u64);
    }
    lakehouse::vectord::Progress::finish(&bar);
    let load_s = started.elapsed().as_secs_f64();
    // Texts that differ only in whitespace are one workflow (an UPDATE, not a new record).
    let records = memory.len();
    let started = Instant::now();
    memory.compact().await?;
    let snapshot_s = started.elapsed().as_secs_f64();
    drop(memory);

    let started = Instant::now();
    let memory = open().await?;
    let open_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        memory.len() == records,
        "reopened with {} records, not {records}",
        memory.len()
    );
    let queries = &all[all.len() - ops..];
    let started = Instant::now();
    memory.search(&MemoryQuery::new(queries[0].clone())).await?;
    let index_build_s = started.elapsed().as_secs_f64();

    eprintln!("{size}: timing {ops} upserts and {ops} searches");
    let mut upsert_ms = Vec::with_capacity(ops);
    for text in &all[size..size + ops] {
        let started = Instant::now();
        memory
            .upsert(Draft::new(Kind::Pathway, text.clone()))
            .await?;
        upsert_ms.push(ms(started));
    }
    let mut search_ms = Vec::with_capacity(ops);
    let mut found = 0;
    for query in queries {
        let started = Instant::now();
        let hits = memory.search(&MemoryQuery::new(query.clone())).await?;
        search_ms.push(ms(started));
        found += usize::from(!hits.is_empty());
    }
    anyhow::ensure!(found == ops, "{} searches found nothing", ops - found);
    Ok(json!({
        "records": size, "distinct_workflows": records, "load_s": load_s, "snapshot_s": snapshot_s, "open_s": open_s,
        "index_build_s": index_build_s,
        "upsert_ms": summary(upsert_ms), "search_ms": summary(search_ms),
    }))
}

pub(crate) async fn run(_globals: &Globals, args: MemoryBenchArgs) -> anyhow::Result<()> {
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    let ops = args.ops.max(args.mem0_ops);
    let n = 101_000usize.max(largest + 2 * ops);
    let all_texts = texts::corpus_texts(&args.data_dir, n)?;
    anyhow::ensure!(
        all_texts.len() == n,
        "only {} distinct texts",
        all_texts.len()
    );
    let (vectors, dim) = ann::vectors(&args.data_dir, n, &args.cache)?;
    let model = MiniLm::load(&default_minilm_dir(), &MiniLmOptions::default())?;
    let lookup: Arc<dyn Embedder> = Arc::new(Lookup {
        id: model.id().to_string(),
        dim,
        vectors: all_texts
            .iter()
            .cloned()
            .zip(vectors.chunks(dim).map(<[f32]>::to_vec))
            .collect(),
    });

    // The real model's single-text latency (what a query costs before search).
    let mut embed_ms = Vec::new();
    for query in &all_texts[n - args.ops..] {
        let started = Instant::now();
        model.embed_blocking(&[query.as_str()])?;
        embed_ms.push(ms(started));
    }

    let mut ours = Vec::new();
    for &size in &args.sizes {
        ours.push(measure(size, args.ops, &all_texts, &lookup).await?);
        eprintln!(
            "ours: {}",
            ours.last().map(Value::to_string).unwrap_or_default()
        );
    }

    let mut peers = Vec::new();
    if !args.no_peer {
        let work = tempfile::tempdir()?;
        let texts_path = work.path().join("texts.json");
        std::fs::write(&texts_path, serde_json::to_vec(&all_texts)?)?;
        let vectors_path = work.path().join("vectors.npy");
        texts::write_f32(&vectors_path, &vectors, dim)?;
        let sizes: Vec<String> = args.sizes.iter().map(usize::to_string).collect();
        for in_memory in [false, true] {
            let out = work.path().join(format!("mem0-{in_memory}.json"));
            let mut peer_args = vec![
                "--model-dir".to_string(),
                default_minilm_dir().to_string_lossy().into_owned(),
                "--texts".into(),
                texts_path.to_string_lossy().into_owned(),
                "--vectors".into(),
                vectors_path.to_string_lossy().into_owned(),
                "--sizes".into(),
                sizes.join(","),
                "--ops".into(),
                args.mem0_ops.to_string(),
                "--out".into(),
                out.to_string_lossy().into_owned(),
            ];
            if in_memory {
                peer_args.push("--in-memory".into());
            }
            super::run_peer(&args.venv, "scripts/bench/mem0_peer.py", &peer_args)?;
            peers.push(serde_json::from_slice::<Value>(&std::fs::read(&out)?)?);
        }
    }

    let ratio = |peer: &Value, size: usize, what: &str, q: &str| -> Option<f64> {
        let theirs = peer["sizes"]
            .as_array()?
            .iter()
            .find(|s| s["records"] == size)?[what][q]
            .as_f64()?;
        let mine = ours.iter().find(|s| s["records"] == size)?[what][q].as_f64()?;
        Some(theirs / mine)
    };
    let mut ratios = Vec::new();
    for peer in &peers {
        for &size in &args.sizes {
            ratios.push(json!({
                "peer": if peer["persisted"] == true { "mem0 (FAISS saved to disk, its default)" } else { "mem0 (FAISS in memory, nothing persisted)" },
                "records": size,
                "upsert_p50": ratio(peer, size, "upsert_ms", "p50"),
                "upsert_p95": ratio(peer, size, "upsert_ms", "p95"),
                "search_p50": ratio(peer, size, "search_ms", "p50"),
                "search_p95": ratio(peer, size, "search_ms", "p95"),
            }));
        }
    }
    let report = json!({
        "bench": "memory",
        "what": "UPSERT and SEARCH latency of one namespace at each size, embedding excluded (reported separately); ratios are peer / ours (higher = we are faster)",
        "texts": "real permit, contract and SF descriptions and their halves/quarters",
        "embedder": lookup.id(), "dim": dim,
        "embed_single_text_ms": summary(embed_ms),
        "ours": ours, "peers": peers, "ratios": ratios,
        "goal": {"ratio": 20.0, "search_p95_ms_at_100k": 10.0},
    });
    let path = super::write_report(&args.out, "memory", &report)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({"ours": report["ours"], "ratios": report["ratios"]}))?
    );
    eprintln!("report: {}", path.display());
    Ok(())
}
