//! The server benchmark: requests per second and latency of `lakehouse serve` at concurrency 1,
//! 4, 16 and 64 for hybrid matrix search over five real corpora, memory SEARCH and memory
//! UPSERT, and the Mem0 dialect's add and search paths, next to the same library calls made
//! in-process on the same number of tasks (the floor: what the HTTP layer costs is the
//! difference), and the cost of one CLI call per search (what users pay without a server).
//!
//! Mem0 OSS (`mem0ai`'s `Memory` in-process, `infer=False`, the same MiniLM folder, FAISS) is
//! the peer of the Mem0 paths: seeded with the same texts, sent the same adds and queries at
//! concurrency 1 (it is a synchronous library), its batches taking turns with ours. Both sides'
//! search quality is reported beside their speed: hit@10 for queries made of the first words of
//! a seeded memory.
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

use lakehouse::models::default_minilm_dir;
use tokio::task::block_in_place;

use super::matrix::five_sources;
use super::serve_peer::{Mem0Peer, PeerBatch};
use super::serve_stats::{Side, median_and_spread, process_cpu_seconds, summary};
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
    /// Skip the Mem0 OSS peer.
    #[arg(long)]
    no_peer: bool,
    /// The Python venv with mem0ai and torch (scripts/setup-bench-venv.sh).
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

/// The Mem0 user whose memories are searched, and the users that add (ours over HTTP, ours
/// in-process); each is the namespace `mem0/-/<user>/-/-`.
const MEM0_SEARCHED: &str = "bench-search";
const MEM0_ADD_SERVER: &str = "bench-add-server";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Search,
    MemorySearch,
    MemoryUpsert,
    Mem0Add,
    Mem0Search,
    /// `GET /healthz`: what one HTTP round trip costs with this client on this machine.
    Health,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Search => "matrix_search",
            Op::MemorySearch => "memory_search",
            Op::MemoryUpsert => "memory_upsert",
            Op::Mem0Add => "mem0_add",
            Op::Mem0Search => "mem0_search",
            Op::Health => "http_round_trip",
        }
    }
}

struct Setup {
    lakehouse: Lakehouse,
    /// The floor's handles: the searched namespace, and its own namespace to upsert into.
    search_memory: lakehouse::memory::Memory,
    upsert_memory: lakehouse::memory::Memory,
    /// The floor's handles for the Mem0 paths: the searched user's namespace, and its own to add to.
    mem0_searched: lakehouse::memory::Memory,
    mem0_added: lakehouse::memory::Memory,
    corpora: Vec<String>,
    queries: Vec<String>,
    /// Mem0 search queries (the first words of a seeded memory) and the memory each should find.
    mem0_queries: Vec<String>,
    mem0_expect: Vec<String>,
    /// The texts the Mem0 user holds (the peer is seeded with the same).
    mem0_texts: Vec<String>,
    base: String,
    client: reqwest::Client,
    counter: AtomicUsize,
}

/// What one batch measured.
struct Batch {
    latencies_ms: Vec<f64>,
    seconds: f64,
    /// CPU time of the whole process (client, server, library) over the batch.
    cpu_seconds: Option<f64>,
    errors: usize,
}

impl Batch {
    fn summary(&mut self) -> Value {
        summary(&mut self.latencies_ms, self.seconds, self.cpu_seconds)
    }
}

/// One batch: `total` requests of `op` on `concurrency` tasks.
async fn batch(
    setup: &Arc<Setup>,
    op: Op,
    server: bool,
    concurrency: usize,
    total: usize,
) -> anyhow::Result<Batch> {
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = process_cpu_seconds();
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
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    Ok(Batch {
        latencies_ms: all,
        seconds,
        cpu_seconds,
        errors,
    })
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
        Op::Mem0Add => (
            "/v3/memories/add/",
            json!({"messages": [{"role": "user", "content": new_content(setup, i)}],
                   "user_id": MEM0_ADD_SERVER, "infer": false}),
        ),
        Op::Mem0Search => (
            "/v3/memories/search/",
            json!({"query": setup.mem0_queries[i % setup.mem0_queries.len()],
                   "filters": {"user_id": MEM0_SEARCHED}, "top_k": 10}),
        ),
        Op::Health => {
            let answer = setup
                .client
                .get(format!("{}/healthz", setup.base))
                .send()
                .await;
            return match answer {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
        }
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
        Op::Mem0Add => setup
            .mem0_added
            .upsert(Draft::new(Kind::Fact, new_content(setup, i)))
            .await
            .is_ok_and(|a| serde_json::to_vec(&a).is_ok()),
        Op::Mem0Search => {
            let q = &setup.mem0_queries[i % setup.mem0_queries.len()];
            setup
                .mem0_searched
                .search(&MemoryQuery::new(q.clone()).with_k(10))
                .await
                .is_ok_and(|a| serde_json::to_vec(&a).is_ok())
        }
        // nothing to do in-process: the round trip is all there is
        Op::Health => true,
    }
}

/// How many Mem0 searches through the server find the memory their words came from (hit@10).
async fn mem0_server_hits(setup: &Setup) -> anyhow::Result<usize> {
    let mut found = 0;
    for (query, want) in setup.mem0_queries.iter().zip(&setup.mem0_expect) {
        let answer: Value = setup
            .client
            .post(format!("{}/v3/memories/search/", setup.base))
            .json(&json!({"query": query, "filters": {"user_id": MEM0_SEARCHED}, "top_k": 10}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        if results.iter().any(|m| m["memory"].as_str() == Some(want)) {
            found += 1;
        }
    }
    Ok(found)
}

/// The peer's batch of `total` requests of `op`: the same kind of new texts to add, the same
/// queries in the same order.
fn peer_batch(
    setup: &Setup,
    peer: &mut Mem0Peer,
    op: Op,
    total: usize,
) -> anyhow::Result<PeerBatch> {
    match op {
        Op::Mem0Add => {
            let texts: Vec<String> = (0..total).map(|i| new_content(setup, i)).collect();
            peer.add(&texts)
        }
        _ => {
            let n = setup.mem0_queries.len();
            let queries: Vec<String> = (0..total)
                .map(|i| setup.mem0_queries[i % n].clone())
                .collect();
            let expect: Vec<String> = (0..total)
                .map(|i| setup.mem0_expect[i % n].clone())
                .collect();
            peer.search(&queries, &expect)
        }
    }
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

    // the Mem0 user: the same texts as facts; queries from every 10th of them
    let mut seen = std::collections::HashSet::new();
    let mem0_texts: Vec<String> = texts
        .iter()
        .filter(|t| seen.insert(t.as_str()))
        .map(|t| (*t).clone())
        .collect();
    let mem0_searched = lakehouse
        .memory(&format!("mem0/-/{MEM0_SEARCHED}/-/-"), None)
        .await?;
    for chunk in mem0_texts.chunks(500) {
        let drafts = chunk
            .iter()
            .map(|t| Draft::new(Kind::Fact, t.clone()))
            .collect();
        mem0_searched.upsert_many(drafts).await?;
    }
    let mem0_added = lakehouse
        .memory("mem0/-/bench-add-inproc/-/-", None)
        .await?;
    let (mem0_queries, mem0_expect): (Vec<String>, Vec<String>) = mem0_texts
        .iter()
        .step_by(10)
        .map(|t| {
            (
                t.split_whitespace().take(8).collect::<Vec<_>>().join(" "),
                t.clone(),
            )
        })
        .filter(|(q, _)| !q.is_empty())
        .unzip();

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
        mem0_searched,
        mem0_added,
        corpora,
        queries,
        mem0_queries,
        mem0_expect,
        mem0_texts,
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
    let mut peer = if args.no_peer {
        None
    } else {
        let mut peer = Mem0Peer::start(&args.venv, &default_minilm_dir())?;
        block_in_place(|| peer.seed(&setup.mem0_texts))?;
        Some(peer)
    };
    // warm-up: every query embedded once on every side, every handle loaded
    for op in [Op::Search, Op::MemorySearch, Op::Mem0Search] {
        for server in [true, false] {
            let total = setup.queries.len().max(setup.mem0_queries.len());
            batch(&setup, op, server, 4, total).await?;
        }
    }
    // search quality of the Mem0 paths, ours and the peer's (its warm-up too)
    let ours_found = mem0_server_hits(&setup).await?;
    let peer_found = match peer.as_mut() {
        Some(p) => {
            Some(block_in_place(|| p.search(&setup.mem0_queries, &setup.mem0_expect))?.found)
        }
        None => None,
    };
    let asked = setup.mem0_queries.len();
    outln!(
        "mem0_search hit@10: lakehouse {ours_found}/{asked}{}",
        peer_found.map_or(String::new(), |f| format!(", Mem0 OSS {f}/{asked}"))
    )?;
    let mut results = serde_json::Map::new();
    let mut total_errors = 0;
    for op in [
        Op::Search,
        Op::MemorySearch,
        Op::MemoryUpsert,
        Op::Mem0Add,
        Op::Mem0Search,
    ] {
        let mut levels = serde_json::Map::new();
        for &c in &args.concurrency {
            let total = args.requests.max(8 * c);
            // the peer takes its turn at concurrency 1 on the Mem0 paths
            let mut with_peer = peer
                .as_mut()
                .filter(|_| c == 1 && matches!(op, Op::Mem0Add | Op::Mem0Search));
            let mut sides: [Vec<Value>; 3] = [Vec::new(), Vec::new(), Vec::new()];
            for _ in 0..args.repeats {
                for server in [true, false] {
                    let mut b = batch(&setup, op, server, c, total).await?;
                    total_errors += b.errors;
                    sides[usize::from(!server)].push(b.summary());
                }
                if let Some(p) = with_peer.as_deref_mut() {
                    let mut b = block_in_place(|| peer_batch(&setup, p, op, total))?;
                    sides[2].push(summary(&mut b.latencies_ms, b.seconds, None));
                }
            }
            let [server, floor, mem0] = sides.map(Side::of);
            let (Some(server), Some(floor)) = (server, floor) else {
                anyhow::bail!("no batch ran: --repeats must be at least 1");
            };
            let ratio = server.rate / floor.rate.max(1e-9);
            outln!(
                "{} c={c}: server {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms, spread {:.0}%, {:.0} µs CPU), in-process {:.0} req/s (p99 {:.1} ms, spread {:.0}%, {:.0} µs CPU), ratio {ratio:.2}{}",
                op.name(),
                server.rate,
                server.p50,
                server.p99,
                server.spread * 100.0,
                server.cpu_us,
                floor.rate,
                floor.p99,
                floor.spread * 100.0,
                floor.cpu_us,
                mem0.as_ref().map_or(String::new(), |m| format!(
                    "; Mem0 OSS {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms, spread {:.0}%)",
                    m.rate,
                    m.p50,
                    m.p99,
                    m.spread * 100.0
                ))
            )?;
            let mut level = json!({
                "requests_per_batch": total,
                "server": server.json(),
                "in_process": floor.json(),
                "ratio_server_over_in_process": ratio,
            });
            if let Some(m) = mem0 {
                level["mem0_oss"] = m.json();
                level["ratio_server_over_mem0_oss"] = json!(server.rate / m.rate.max(1e-9));
            }
            levels.insert(c.to_string(), level);
        }
        results.insert(op.name().to_string(), Value::Object(levels));
    }
    // the bare cost of a round trip (client and server on these cores): the part of every
    // operation's gap to in-process that no handler can win back
    let mut round_trip = serde_json::Map::new();
    for &c in &args.concurrency {
        let total = args.requests.max(8 * c);
        let mut batches = Vec::new();
        for _ in 0..args.repeats {
            let mut b = batch(&setup, Op::Health, true, c, total).await?;
            total_errors += b.errors;
            batches.push(b.summary());
        }
        let Some(side) = Side::of(batches) else {
            anyhow::bail!("no batch ran: --repeats must be at least 1");
        };
        outln!(
            "GET /healthz c={c}: {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms, spread {:.0}%, {:.0} µs CPU)",
            side.rate,
            side.p50,
            side.p99,
            side.spread * 100.0,
            side.cpu_us
        )?;
        round_trip.insert(c.to_string(), side.json());
    }
    results.insert(Op::Health.name().to_string(), Value::Object(round_trip));
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
        "mem0": {
            "user_memories": {"lakehouse": setup.mem0_searched.len(), "mem0_oss": setup.mem0_texts.len()},
            "hit_at_10": {"queries": asked, "lakehouse_server": ours_found, "mem0_oss": peer_found},
            "peer": peer.as_ref().map(|p| json!({
                "what": "mem0ai Memory in-process, infer=False, huggingface embedder on the same MiniLM folder, FAISS (cosine, saved on every add), SQLite history; query embeddings memoised like ours",
                "versions": p.versions,
            })),
            "ours": "the server's Mem0 hosted-API paths over HTTP (/v3/memories/add/, /v3/memories/search/), facts in mem0/-/<user>/-/- namespaces",
        },
        "operations": results,
        "cli_search_call_ms": {"median": cli_median, "spread": cli_spread, "calls": cli},
    });
    let path = super::write_report(&args.out, "serve", &report)?;
    outln!("report: {}", path.display())?;
    anyhow::ensure!(total_errors == 0, "{total_errors} requests failed");
    Ok(())
}
