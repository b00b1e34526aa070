//! The server benchmark: requests per second and latency of `lakehouse serve` at concurrency 1,
//! 4, 16 and 64 for hybrid matrix search over five real corpora, memory SEARCH and memory
//! UPSERT, next to the same library calls made in-process on the same number of tasks (the
//! floor: what the HTTP layer costs is the difference), and the cost of one CLI call per
//! search (what users pay without a server).
//!
//! Both sides run in this process on the same store and the same warm handles: the server on
//! 127.0.0.1 with a real HTTP client as its load generator, the floor calling `Lakehouse`
//! directly. At each concurrency the two alternate batch by batch (5 batches each), so a
//! machine that speeds up or slows down during the run affects both. Query embeddings are
//! cached after a warm-up round on both sides (the corpora's embedder cache); upserts embed
//! every new text.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::Args;
use lakehouse::memory::{Draft, Kind, MemoryQuery};
use lakehouse::vectord::{BuildOptions, NoProgress, SearchRequest, SourceRow};
use lakehouse::{Config, Lakehouse};
use lakehouse_server::{AppState, ServerConfig};
use serde_json::{Value, json};

use super::matrix::{five_sources, percentile};
use crate::Globals;

#[derive(Debug, Args)]
pub(crate) struct ServeBenchArgs {
    /// Folder with the real files (permits, contracts, SF permits, SEC tickers).
    #[arg(long, default_value = "../shared/data")]
    data_dir: PathBuf,
    /// Documents per corpus (at most).
    #[arg(long, default_value_t = 2000)]
    rows: usize,
    /// Records in the memory namespace searched.
    #[arg(long, default_value_t = 2000)]
    memory_records: usize,
    /// Requests per batch at concurrency 1 (more at higher concurrency: 8 per task, at least this).
    #[arg(long, default_value_t = 100)]
    requests: usize,
    /// Batches per side and concurrency.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    concurrency: Vec<usize>,
    /// CLI calls to time for the per-call cost.
    #[arg(long, default_value_t = 5)]
    cli_calls: usize,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Search,
    MemorySearch,
    MemoryUpsert,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Search => "matrix_search",
            Op::MemorySearch => "memory_search",
            Op::MemoryUpsert => "memory_upsert",
        }
    }
}

struct Setup {
    lakehouse: Lakehouse,
    /// The floor's handles: the searched namespace, and its own namespace to upsert into.
    search_memory: lakehouse::memory::Memory,
    upsert_memory: lakehouse::memory::Memory,
    corpora: Vec<String>,
    queries: Vec<String>,
    base: String,
    client: reqwest::Client,
    counter: AtomicUsize,
}

/// One batch: `total` requests of `op` on `concurrency` tasks; latencies in ms and wall time.
async fn batch(
    setup: &Arc<Setup>,
    op: Op,
    server: bool,
    concurrency: usize,
    total: usize,
) -> anyhow::Result<(Vec<f64>, f64, usize)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let setup = Arc::clone(setup);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                let ok = if server {
                    call_server(&setup, op, i).await
                } else {
                    call_library(&setup, op, i).await
                };
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::with_capacity(total);
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    Ok((all, started.elapsed().as_secs_f64(), errors))
}

fn namespace(server: bool) -> &'static str {
    if server {
        "bench/server"
    } else {
        "bench/inproc"
    }
}

fn new_content(setup: &Setup, i: usize) -> String {
    let n = setup.counter.fetch_add(1, Ordering::Relaxed);
    format!("{} (upsert {n})", setup.queries[i % setup.queries.len()])
}

async fn call_server(setup: &Setup, op: Op, i: usize) -> bool {
    let q = &setup.queries[i % setup.queries.len()];
    let (path, body) = match op {
        Op::Search => (
            "/v1/search",
            json!({"query": q, "corpora": setup.corpora, "k": 10}),
        ),
        Op::MemorySearch => (
            "/v1/memory/search",
            json!({"namespace": "bench/search", "query": q, "k": 10}),
        ),
        Op::MemoryUpsert => (
            "/v1/memory/records",
            json!({"namespace": namespace(true),
                   "drafts": [{"kind": "pathway", "content": new_content(setup, i)}]}),
        ),
    };
    match setup
        .client
        .post(format!("{}{path}", setup.base))
        .json(&body)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

async fn call_library(setup: &Setup, op: Op, i: usize) -> bool {
    let q = &setup.queries[i % setup.queries.len()];
    // each answer is serialised as the server does, so both sides pay for its JSON
    match op {
        Op::Search => {
            let mut r = SearchRequest::new(q.clone(), setup.corpora.clone());
            r.k = 10;
            setup
                .lakehouse
                .corpora()
                .search(&r)
                .await
                .is_ok_and(|a| serde_json::to_vec(&a).is_ok())
        }
        Op::MemorySearch => setup
            .search_memory
            .search(&MemoryQuery::new(q.clone()).with_k(10))
            .await
            .is_ok_and(|a| serde_json::to_vec(&a).is_ok()),
        Op::MemoryUpsert => setup
            .upsert_memory
            .upsert(Draft::new(Kind::Pathway, new_content(setup, i)))
            .await
            .is_ok_and(|a| serde_json::to_vec(&a).is_ok()),
    }
}

fn summary(latencies: &mut [f64], seconds: f64) -> Value {
    latencies.sort_by(f64::total_cmp);
    json!({
        "requests_per_s": latencies.len() as f64 / seconds.max(1e-9),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    })
}

fn median_and_spread(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = percentile(values, 0.5);
    let spread = (values.last().copied().unwrap_or(0.0) - values.first().copied().unwrap_or(0.0))
        / median.max(1e-9);
    (median, spread)
}

/// Build five corpora from the real files, seed a memory namespace, and start the server.
async fn prepare(args: &ServeBenchArgs, dir: &std::path::Path) -> anyhow::Result<Arc<Setup>> {
    let sources = five_sources(&args.data_dir)?;
    let store = dir.join("store").display().to_string();
    let lakehouse = Lakehouse::open(Config::default().with_store_url(&store)).await?;
    let mut corpora = Vec::new();
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
        let report = lakehouse
            .corpora()
            .build(name, &rows, &BuildOptions::default(), &NoProgress)
            .await?;
        eprintln!(
            "built {name}: {} docs in {:.1}s",
            report.docs,
            t.elapsed().as_secs_f64()
        );
        corpora.push((*name).to_string());
        for t in all.iter().skip(args.rows).take(40) {
            queries.push(t.split_whitespace().take(6).collect::<Vec<_>>().join(" "));
        }
    }
    queries.retain(|q| !q.trim().is_empty());
    let search_memory = lakehouse.memory("bench/search", None).await?;
    let texts: Vec<&String> = sources
        .iter()
        .flat_map(|(_, all)| all.iter().take(args.memory_records / sources.len() + 1))
        .take(args.memory_records)
        .collect();
    let t = Instant::now();
    for chunk in texts.chunks(500) {
        let drafts = chunk
            .iter()
            .map(|t| Draft::new(Kind::Pathway, (*t).clone()))
            .collect();
        search_memory.upsert_many(drafts).await?;
    }
    eprintln!(
        "seeded memory: {} records in {:.1}s",
        search_memory.len(),
        t.elapsed().as_secs_f64()
    );
    let upsert_memory = lakehouse.memory(namespace(false), None).await?;

    let config = ServerConfig {
        store: store.clone(),
        ..ServerConfig::default()
    };
    let state = AppState::new(lakehouse.clone(), config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(lakehouse_server::serve(
        state,
        listener,
        std::future::pending(),
    ));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    Ok(Arc::new(Setup {
        lakehouse,
        search_memory,
        upsert_memory,
        corpora,
        queries,
        base,
        client,
        counter: AtomicUsize::new(0),
    }))
}

/// Wall time of one `lakehouse search` process over the five corpora.
fn cli_call_ms(store: &str, corpora: &[String], query: &str) -> anyhow::Result<f64> {
    let exe = std::env::current_exe()?;
    let t = Instant::now();
    let output = std::process::Command::new(exe)
        .args(["--store", store, "--json", "search", query, "--corpora"])
        .arg(corpora.join(","))
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "lakehouse search failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

pub(crate) async fn run(_globals: &Globals, args: ServeBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("lakehouse-bench-serve-")
        .tempdir()?;
    let setup = prepare(&args, dir.path()).await?;
    // warm-up: every query embedded once on both sides, every handle loaded
    for op in [Op::Search, Op::MemorySearch] {
        for server in [true, false] {
            batch(&setup, op, server, 4, setup.queries.len()).await?;
        }
    }
    let mut results = serde_json::Map::new();
    let mut total_errors = 0;
    for op in [Op::Search, Op::MemorySearch, Op::MemoryUpsert] {
        let mut levels = serde_json::Map::new();
        for &c in &args.concurrency {
            let total = args.requests.max(8 * c);
            let mut per_side: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
            let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            let mut p99s: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..args.repeats {
                for (side, server) in [(0, true), (1, false)] {
                    let (mut lat, secs, errors) = batch(&setup, op, server, c, total).await?;
                    total_errors += errors;
                    let s = summary(&mut lat, secs);
                    rates[side].push(s["requests_per_s"].as_f64().unwrap_or(0.0));
                    p99s[side].push(s["p99_ms"].as_f64().unwrap_or(0.0));
                    per_side[side].push(s);
                }
            }
            let (server_rate, server_spread) = median_and_spread(&mut rates[0]);
            let (floor_rate, floor_spread) = median_and_spread(&mut rates[1]);
            let (server_p99, _) = median_and_spread(&mut p99s[0]);
            let (floor_p99, _) = median_and_spread(&mut p99s[1]);
            let ratio = server_rate / floor_rate.max(1e-9);
            outln!(
                "{} c={c}: server {server_rate:.0} req/s (p99 {server_p99:.1} ms, spread {:.0}%), in-process {floor_rate:.0} req/s (p99 {floor_p99:.1} ms, spread {:.0}%), ratio {ratio:.2}",
                op.name(),
                server_spread * 100.0,
                floor_spread * 100.0
            )?;
            levels.insert(
                c.to_string(),
                json!({
                    "requests_per_batch": total,
                    "server": {"requests_per_s_median": server_rate, "spread": server_spread,
                               "p99_ms_median": server_p99, "batches": per_side[0]},
                    "in_process": {"requests_per_s_median": floor_rate, "spread": floor_spread,
                                   "p99_ms_median": floor_p99, "batches": per_side[1]},
                    "ratio_server_over_in_process": ratio,
                }),
            );
        }
        results.insert(op.name().to_string(), Value::Object(levels));
    }
    let store = dir.path().join("store").display().to_string();
    let mut cli = Vec::new();
    for i in 0..args.cli_calls {
        cli.push(cli_call_ms(
            &store,
            &setup.corpora,
            &setup.queries[i % setup.queries.len()],
        )?);
    }
    let (cli_median, cli_spread) = median_and_spread(&mut cli);
    outln!(
        "one `lakehouse search` process over the same corpora: {cli_median:.0} ms (spread {:.0}%)",
        cli_spread * 100.0
    )?;
    let report = json!({
        "benchmark": "serve",
        "corpora": setup.corpora,
        "docs_per_corpus": args.rows,
        "memory_records": setup.search_memory.len(),
        "queries": setup.queries.len(),
        "embedder": "minilm (query embeddings cached after warm-up; upserts embed each text)",
        "search": "hybrid, RRF k=60, k=10",
        "repeats": args.repeats,
        "threads": std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        "profile": if cfg!(debug_assertions) { "debug" } else { "optimised" },
        "errors": total_errors,
        "operations": results,
        "cli_search_call_ms": {"median": cli_median, "spread": cli_spread, "calls": cli},
    });
    let path = super::write_report(&args.out, "serve", &report)?;
    outln!("report: {}", path.display())?;
    anyhow::ensure!(total_errors == 0, "{total_errors} requests failed");
    Ok(())
}
