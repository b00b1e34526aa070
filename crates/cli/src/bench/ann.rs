//! The ANN benchmark: our HNSW index (`lakehouse-ann`) next to hnswlib and FAISS HNSW on the
//! same ≥100k real-text MiniLM vectors, same parameters, same run. Exact search is the ground
//! truth; each library's best single-thread QPS at recall@10 ≥ the target is compared.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use lakehouse::models::{MiniLm, MiniLmOptions, default_minilm_dir};
use lakehouse::vectord::{AnnParams, HnswIndex, Quantization, VectorIndexRead, exact_search};
use serde_json::{Value, json};

use super::texts;
use crate::Globals;
use crate::corpus::Bar;

#[derive(Debug, Args)]
pub(crate) struct AnnBenchArgs {
    /// Folder with the real CSVs (permits, contracts, SF permits).
    #[arg(long, default_value = "../shared/data")]
    data_dir: PathBuf,
    /// Vectors in all (base + queries).
    #[arg(long, default_value_t = 101_000)]
    vectors: usize,
    /// Held-out query vectors.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// k for recall@k.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// HNSW connectivity (all libraries).
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// HNSW build breadth (all libraries).
    #[arg(long, default_value_t = 128)]
    ef_construction: usize,
    /// Search breadths to sweep (all libraries).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10,16,24,32,48,64,96,128,192,256"
    )]
    ef: Vec<usize>,
    /// How our index walks its graph: sq8 (8-bit codes, exact re-scoring; the default) and f32;
    /// each kind listed is built and swept (the peers use f32).
    #[arg(long, value_delimiter = ',', default_value = "sq8,f32")]
    quantization: Vec<Quantization>,
    /// Recall the comparison is made at.
    #[arg(long, default_value_t = 0.95)]
    target_recall: f64,
    /// Where embedded vectors are cached between runs.
    #[arg(long, default_value = "/var/tmp/lakehouse-bench-cache")]
    cache: PathBuf,
    /// The Python venv with hnswlib and faiss (scripts/setup-bench-venv.sh).
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

/// Embed (or load cached) MiniLM vectors for `n` real texts.
pub(crate) fn vectors(
    data_dir: &std::path::Path,
    n: usize,
    cache: &std::path::Path,
) -> anyhow::Result<(Vec<f32>, usize)> {
    std::fs::create_dir_all(cache)?;
    let path = cache.join(format!("minilm-real-texts-{n}.npy"));
    if let Ok((data, dim)) = texts::read_f32(&path)
        && data.len() == n * dim
    {
        eprintln!("using cached vectors {}", path.display());
        return Ok((data, dim));
    }
    let texts = texts::corpus_texts(data_dir, n)?;
    anyhow::ensure!(
        texts.len() == n,
        "only {} distinct texts in {}",
        texts.len(),
        data_dir.display()
    );
    let model = MiniLm::load(&default_minilm_dir(), &MiniLmOptions::default())?;
    let bar = Bar::new(false);
    lakehouse::vectord::Progress::start(&bar, "embedding", n as u64);
    let mut data = Vec::with_capacity(n * 384);
    for chunk in texts.chunks(1024) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for v in model.embed_blocking(&refs)? {
            data.extend_from_slice(&v);
        }
        lakehouse::vectord::Progress::advance(&bar, chunk.len() as u64);
    }
    lakehouse::vectord::Progress::finish(&bar);
    let dim = data.len() / n;
    texts::write_f32(&path, &data, dim)?;
    Ok((data, dim))
}

fn recall(found: &[u64], truth: &[i64]) -> f64 {
    let hits = found
        .iter()
        .filter(|f| truth.iter().any(|t| i64::try_from(**f).ok() == Some(*t)))
        .count();
    hits as f64 / truth.len().max(1) as f64
}

fn best_at(sweep: &[Value], target: f64) -> Option<Value> {
    sweep
        .iter()
        .filter(|s| s["recall"].as_f64().unwrap_or(0.0) >= target)
        .max_by(|a, b| {
            a["qps"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b["qps"].as_f64().unwrap_or(0.0))
        })
        .cloned()
}

pub(crate) async fn run(_globals: &Globals, args: AnnBenchArgs) -> anyhow::Result<()> {
    let (all, dim) = vectors(&args.data_dir, args.vectors, &args.cache)?;
    let n_base = args.vectors - args.queries;
    let (base, queries) = all.split_at(n_base * dim);
    let k = args.k;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);

    eprintln!(
        "exact ground truth for {} queries over {n_base} vectors",
        args.queries
    );
    let per = args.queries.div_ceil(threads);
    let gt: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = queries
            .chunks(per * dim)
            .map(|part| {
                s.spawn(move || {
                    let mut ids = Vec::with_capacity(part.len() / dim * k);
                    for q in part.chunks_exact(dim) {
                        ids.extend(
                            exact_search(base, dim, q, k)?
                                .into_iter()
                                .map(|(i, _)| i as i64),
                        );
                    }
                    Ok::<_, lakehouse::vectord::ann::AnnError>(ids)
                })
            })
            .collect();
        let mut gt = Vec::with_capacity(args.queries * k);
        for h in handles {
            gt.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
        }
        Ok::<_, lakehouse::vectord::ann::AnnError>(gt)
    })?;
    anyhow::ensure!(gt.len() == args.queries * k, "ground truth incomplete");

    // Ours, once per vector kind.
    let items: Vec<(u64, &[f32])> = base
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| (i as u64, v))
        .collect();
    let mut ours = Vec::new();
    for &quantization in &args.quantization {
        let params = AnnParams {
            m: args.m,
            ef_construction: args.ef_construction,
            ef_search: 64,
            quantization,
        };
        let started = Instant::now();
        let index = HnswIndex::build(dim, &params, &items, threads)?;
        let build_seconds = started.elapsed().as_secs_f64();
        eprintln!("lakehouse ({quantization}) built in {build_seconds:.1}s");
        let mut sweep = Vec::new();
        for &ef in &args.ef {
            index.set_ef_search(ef);
            let mut best = f64::INFINITY;
            let mut rec = 0.0;
            for _ in 0..3 {
                let t = Instant::now();
                let mut total = 0.0;
                for (qi, q) in queries.chunks_exact(dim).enumerate() {
                    let hits = index.search(q, k, None)?;
                    let keys: Vec<u64> = hits.iter().map(|h| h.key).collect();
                    total += recall(&keys, &gt[qi * k..(qi + 1) * k]);
                }
                best = best.min(t.elapsed().as_secs_f64());
                rec = total / args.queries as f64;
            }
            let qps = args.queries as f64 / best;
            eprintln!("lakehouse {quantization} ef={ef}: recall {rec:.4}, {qps:.0} qps");
            sweep.push(json!({"ef": ef, "recall": rec, "qps": qps}));
        }
        ours.push(json!({
            "name": format!("lakehouse HNSW ({quantization}, cosine)"),
            "quantization": quantization.to_string(),
            "build_seconds": build_seconds,
            "build_threads": threads,
            "best_at_target": best_at(&sweep, args.target_recall),
            "sweep": sweep,
        }));
    }

    // Peers, same files.
    let dir = tempfile::Builder::new()
        .prefix("lakehouse-bench-ann-")
        .tempdir()?;
    let (bp, qp, gp, op) = (
        dir.path().join("base.npy"),
        dir.path().join("queries.npy"),
        dir.path().join("gt.npy"),
        dir.path().join("peers.json"),
    );
    texts::write_f32(&bp, base, dim)?;
    texts::write_f32(&qp, queries, dim)?;
    texts::write_i64(&gp, &gt, k)?;
    let ef_list = args
        .ef
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    super::run_peer(
        &args.venv,
        "scripts/bench/ann_peers.py",
        &[
            "--base".to_string(),
            bp.display().to_string(),
            "--queries".to_string(),
            qp.display().to_string(),
            "--gt".to_string(),
            gp.display().to_string(),
            "--k".to_string(),
            k.to_string(),
            "--m".to_string(),
            args.m.to_string(),
            "--ef-construction".to_string(),
            args.ef_construction.to_string(),
            "--ef".to_string(),
            ef_list,
            "--threads-build".to_string(),
            threads.to_string(),
            "--out".to_string(),
            op.display().to_string(),
        ],
    )?;
    let peers: Value = serde_json::from_slice(&std::fs::read(&op)?)?;

    let target = args.target_recall;
    let qps = |v: &Option<Value>| v.as_ref().and_then(|v| v["qps"].as_f64());
    // Our fastest kind at the target recall.
    let our_best = ours
        .iter()
        .filter_map(|o| Some((o, qps(&Some(o["best_at_target"].clone()))?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(o, _)| json!({"quantization": o["quantization"], "at_target": o["best_at_target"], "build_seconds": o["build_seconds"]}));
    let mut comparisons = serde_json::Map::new();
    for peer in peers["peers"].as_array().into_iter().flatten() {
        let name = peer["name"].as_str().unwrap_or("peer").to_string();
        let best = best_at(
            peer["sweep"].as_array().map_or(&[][..], Vec::as_slice),
            target,
        );
        let mut per_kind = serde_json::Map::new();
        for o in &ours {
            let ratio = qps(&Some(o["best_at_target"].clone()))
                .zip(qps(&best))
                .map(|(ours, theirs)| ours / theirs);
            let build_ratio = peer["build_seconds"]
                .as_f64()
                .zip(o["build_seconds"].as_f64())
                .map(|(theirs, ours)| theirs / ours);
            per_kind.insert(
                o["quantization"].as_str().unwrap_or("?").to_string(),
                json!({"qps_ratio_ours_over_peer": ratio, "build_speedup_ours_over_peer": build_ratio}),
            );
        }
        comparisons.insert(name, json!({"best_at_target": best, "ours": per_kind}));
    }
    let report = json!({
        "benchmark": "ann",
        "data": {"source": "MiniLM vectors of real permit, contract and SF permit descriptions and their halves/quarters", "base": n_base, "queries": args.queries, "dim": dim},
        "k": k,
        "params": {"m": args.m, "ef_construction": args.ef_construction, "metric": "cosine (inner product on unit vectors)"},
        "query_threads": 1,
        "target_recall": target,
        "ours": ours,
        "ours_best_at_target": our_best,
        "peers": peers["peers"],
        "comparison": comparisons,
    });
    let path = super::write_report(&args.out, "ann", &report)?;
    outln!(
        "{}",
        serde_json::to_string_pretty(
            &json!({"ours_best_at_target": report["ours_best_at_target"], "comparison": report["comparison"]})
        )?
    )?;
    outln!("report: {}", path.display())?;
    Ok(())
}
