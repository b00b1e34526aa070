//! The matrix benchmark: latency of one query over five real corpora at once next to each corpus
//! alone, same queries, same run, measured twice:
//!
//! - **search only**: query embeddings computed once up front (the corpora's embedder cache),
//!   so the numbers are search, fan-out and fusion;
//! - **end to end**: what a caller of `search` waits for, the query embedded every time (the
//!   embedder registered without a cache) — once for the matrix as for a single corpus, since
//!   the five corpora share an embedder.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use lakehouse::models::{EmbedderSpec, open_embedder};
use lakehouse::store::Store;
use lakehouse::vectord::{BuildOptions, Corpora, NoProgress, SearchRequest, SourceRow};
use serde_json::json;

use super::texts;
use crate::Globals;

#[derive(Debug, Args)]
pub(crate) struct MatrixBenchArgs {
    /// Folder with the real files (permits, contracts, SF permits, SEC tickers).
    #[arg(long, default_value = "../shared/data")]
    data_dir: PathBuf,
    /// Documents per corpus (at most).
    #[arg(long, default_value_t = 5000)]
    rows: usize,
    /// Queries.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Hits per query.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

fn sec_titles(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let mut out = Vec::new();
    if let Some(map) = value.as_object().filter(|m| !m.contains_key("fields")) {
        out.extend(
            map.values()
                .filter_map(|v| v["title"].as_str().map(String::from)),
        );
    } else if let Some(rows) = value["data"].as_array() {
        out.extend(rows.iter().filter_map(|r| r[1].as_str().map(String::from)));
    }
    Ok(out)
}

/// The texts of the five real corpora (permits, contracts, SF permits, SEC companies and
/// exchange listings), by corpus name.
pub(super) fn five_sources(
    d: &std::path::Path,
) -> anyhow::Result<Vec<(&'static str, Vec<String>)>> {
    let mut sources: Vec<(&'static str, Vec<String>)> = Vec::new();
    for ((file, column), name) in texts::SOURCES
        .iter()
        .zip(["permits", "contracts", "sf_permits"])
    {
        sources.push((name, texts::column_texts(&d.join(file), column)?));
    }
    sources.push((
        "sec_companies",
        sec_titles(&d.join("sec_company_tickers.json"))?,
    ));
    sources.push((
        "sec_exchange",
        sec_titles(&d.join("sec_company_tickers_exchange.json"))?,
    ));
    Ok(sources)
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len().saturating_sub(1)) as f64 * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

/// Latency percentiles of searching each of `targets` for every query (the second of two
/// rounds). The target sets take turns query by query, so a machine that slows down or speeds
/// up during the run affects them all alike.
async fn measure(
    corpora: &Corpora,
    queries: &[String],
    targets: &[Vec<String>],
    k: usize,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut lat = vec![Vec::with_capacity(queries.len()); targets.len()];
    let mut work = vec![0.0; targets.len()];
    for _round in 0..2 {
        lat.iter_mut().for_each(Vec::clear);
        work.iter_mut().for_each(|w| *w = 0.0);
        for q in queries {
            for (t, names) in targets.iter().enumerate() {
                let mut r = SearchRequest::new(q.clone(), names.clone());
                r.k = k;
                let started = Instant::now();
                let response = corpora.search(&r).await?;
                lat[t].push(started.elapsed().as_secs_f64() * 1000.0);
                work[t] += response.corpora.iter().map(|c| c.took_ms).sum::<f64>();
                anyhow::ensure!(
                    response.corpora.iter().all(|c| c.error.is_none()),
                    "a corpus failed: {:?}",
                    response.corpora
                );
            }
        }
    }
    Ok(lat
        .into_iter()
        .zip(work)
        .map(|(mut lat, work)| {
            lat.sort_by(f64::total_cmp);
            let n = lat.len().max(1) as f64;
            json!({
                "p50_ms": percentile(&lat, 0.5), "p95_ms": percentile(&lat, 0.95),
                "mean_ms": lat.iter().sum::<f64>() / n,
                // Time inside the corpus searches, summed over corpora: more than the latency
                // when corpora ran side by side.
                "corpus_search_ms_mean": work / n,
            })
        })
        .collect())
}

pub(crate) async fn run(_globals: &Globals, args: MatrixBenchArgs) -> anyhow::Result<()> {
    let sources = five_sources(&args.data_dir)?;

    let dir = tempfile::Builder::new()
        .prefix("lakehouse-bench-matrix-")
        .tempdir()?;
    let store = Store::open(dir.path().to_str().unwrap_or("."))?;
    let corpora = Corpora::new(Arc::clone(store.object_store()));
    let mut names = Vec::new();
    let mut sizes = serde_json::Map::new();
    let mut queries = Vec::new();
    for (name, all) in &sources {
        let rows: Vec<SourceRow> = all
            .iter()
            .take(args.rows)
            .enumerate()
            .map(|(i, t)| SourceRow {
                id: i.to_string(),
                text: t.clone(),
                meta: Default::default(),
            })
            .collect();
        let t = Instant::now();
        let report = corpora
            .build(name, &rows, &BuildOptions::default(), &NoProgress)
            .await?;
        eprintln!(
            "built {name}: {} docs in {:.1}s",
            report.docs,
            t.elapsed().as_secs_f64()
        );
        sizes.insert((*name).to_string(), json!(report.docs));
        names.push((*name).to_string());
        // Queries: the first words of texts past the indexed ones.
        for t in all
            .iter()
            .skip(args.rows)
            .take(args.queries / sources.len() + 1)
        {
            queries.push(t.split_whitespace().take(6).collect::<Vec<_>>().join(" "));
        }
    }
    queries.retain(|q| !q.trim().is_empty());
    queries.truncate(args.queries);

    // Embed every query once (the embedder caches by content), timing it.
    let t = Instant::now();
    for q in &queries {
        let mut r = SearchRequest::new(q.clone(), vec![names[0].clone()]);
        r.k = 1;
        corpora.search(&r).await?;
    }
    let embed_ms = t.elapsed().as_secs_f64() * 1000.0 / queries.len().max(1) as f64;

    // A second handle on the same store whose embedder has no cache: every search embeds.
    let uncached = Corpora::new(Arc::clone(store.object_store()));
    let spec: EmbedderSpec = corpora.manifest(&names[0]).await?.embedder.spec.parse()?;
    uncached
        .register_embedder(&spec, open_embedder(&spec).await?)
        .await;

    let mut sections = serde_json::Map::new();
    for (section, handle) in [("search_only", &corpora), ("end_to_end", &uncached)] {
        // Each corpus alone, then all of them: the last target set is the matrix.
        let mut targets: Vec<Vec<String>> = names.iter().map(|n| vec![n.clone()]).collect();
        targets.push(names.clone());
        let mut measured = measure(handle, &queries, &targets, args.k).await?;
        let matrix = measured.pop().unwrap_or_default();
        let mut single = serde_json::Map::new();
        let mut slowest = (String::new(), 0.0f64);
        for (name, m) in names.iter().zip(measured) {
            let p50 = m["p50_ms"].as_f64().unwrap_or(0.0);
            eprintln!("{section}: {name} alone p50 {p50:.3} ms");
            if p50 > slowest.1 {
                slowest = (name.clone(), p50);
            }
            single.insert(name.clone(), m);
        }
        let matrix_p50 = matrix["p50_ms"].as_f64().unwrap_or(0.0);
        let ratio = matrix_p50 / slowest.1.max(1e-9);
        let mean_single = single
            .values()
            .map(|m| m["p50_ms"].as_f64().unwrap_or(0.0))
            .sum::<f64>()
            / single.len().max(1) as f64;
        outln!(
            "{section}: matrix over {} corpora p50 {matrix_p50:.3} ms; slowest single ({}) p50 {:.3} ms; ratio {ratio:.2} (mean single {mean_single:.3} ms)",
            names.len(),
            slowest.0,
            slowest.1
        )?;
        sections.insert(
            section.to_string(),
            json!({
                "single": single,
                "matrix": matrix,
                "slowest_single": slowest.0,
                "ratio_matrix_p50_over_slowest_single_p50": ratio,
                "ratio_matrix_p50_over_mean_single_p50": matrix_p50 / mean_single.max(1e-9),
            }),
        );
    }
    let report = json!({
        "benchmark": "matrix",
        "corpora": sizes,
        "queries": queries.len(),
        "k": args.k,
        "mode": "hybrid (vector + BM25, RRF k=60)",
        "threads": std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        "query_embedding_ms_mean": embed_ms,
        "search_only": sections.get("search_only"),
        "end_to_end": sections.get("end_to_end"),
    });
    let path = super::write_report(&args.out, "matrix", &report)?;
    outln!("report: {}", path.display())?;
    Ok(())
}
