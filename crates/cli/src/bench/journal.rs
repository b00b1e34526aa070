//! The journal benchmark.
//!
//! - append: events/s for 100k events at several batch sizes, on a local folder and in memory,
//!   with the objects each run created;
//! - read: events/s and MB/s reading those 100k events back from a fresh handle;
//! - compaction: time to merge them into one object;
//! - the seed's anti-pattern in the same run: one JSONL object read, extended and rewritten on
//!   every event, at 1k/5k/20k events, next to our journal at the same sizes. Its cost grows with
//!   the square of the events (each append rewrites everything before it); ours grows linearly.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use lakehouse::store::journal::{Cursor, Journal, JournalExt, JournalOptions, StoreJournal};
use lakehouse::store::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use lakehouse::store::{Path, Store};
use serde_json::json;

use crate::Globals;

#[derive(Debug, Args)]
pub(crate) struct JournalBenchArgs {
    /// Events per append run.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Batch sizes (max events per flushed object) to measure.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    batches: Vec<usize>,
    /// Event counts for the read-modify-write comparison.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,20000")]
    rewrite_sizes: Vec<u64>,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

/// A realistic small event (~110 bytes of JSON), like an agent's tool-call record.
fn event(i: u64) -> serde_json::Value {
    json!({"kind": "tool_call", "step": i, "tool": "matrix_search", "ok": !i.is_multiple_of(7), "ms": i % 997})
}

struct Backend {
    name: &'static str,
    store: Arc<dyn ObjectStore>,
    _dir: Option<tempfile::TempDir>,
}

fn backends() -> anyhow::Result<Vec<Backend>> {
    let dir = tempfile::Builder::new()
        .prefix("lakehouse-bench-")
        .tempdir_in(std::env::temp_dir())?;
    let local = Store::open(dir.path().to_str().unwrap_or("."))?;
    Ok(vec![
        Backend {
            name: "local",
            store: Arc::clone(local.object_store()),
            _dir: Some(dir),
        },
        Backend {
            name: "memory",
            store: Arc::clone(Store::open("memory://")?.object_store()),
            _dir: None,
        },
    ])
}

async fn count_objects(store: &Arc<dyn ObjectStore>, prefix: &str) -> anyhow::Result<(usize, u64)> {
    use futures::TryStreamExt;
    let metas: Vec<_> = store.list(Some(&Path::from(prefix))).try_collect().await?;
    Ok((metas.len(), metas.iter().map(|m| m.size).sum()))
}

fn per_second(n: f64, elapsed: Duration) -> f64 {
    n / elapsed.as_secs_f64().max(1e-9)
}

pub(crate) async fn run(_globals: &Globals, args: JournalBenchArgs) -> anyhow::Result<()> {
    let options = |batch: usize| {
        JournalOptions::default()
            .with_max_batch_events(batch)
            .with_max_batch_bytes(usize::MAX / 2)
            .with_max_delay(Duration::from_secs(60))
            .with_settle(Duration::ZERO)
    };
    let mut appends = Vec::new();
    let mut reads = Vec::new();
    let mut compactions = Vec::new();
    for backend in backends()? {
        for &batch in &args.batches {
            let prefix = format!("bench/append-{batch}");
            let journal = StoreJournal::open(Arc::clone(&backend.store), &prefix, options(batch))?;
            let started = Instant::now();
            for i in 0..args.events {
                journal.append_json(&event(i)).await?;
            }
            journal.close().await?;
            let elapsed = started.elapsed();
            let (objects, bytes) = count_objects(&backend.store, &prefix).await?;
            let rate = per_second(args.events as f64, elapsed);
            eprintln!(
                "append  {:6} batch {batch:>6}: {rate:>10.0} events/s, {objects} objects",
                backend.name
            );
            appends.push(json!({
                "backend": backend.name, "batch_events": batch, "events": args.events,
                "seconds": elapsed.as_secs_f64(), "events_per_s": rate,
                "objects": objects, "objects_per_100k_events": objects as f64 * 100_000.0 / args.events as f64,
                "bytes": bytes,
            }));

            let reader = StoreJournal::open(Arc::clone(&backend.store), &prefix, options(batch))?;
            let started = Instant::now();
            let (events, _) = reader.read_since(Cursor::start()).collect_all().await?;
            let elapsed = started.elapsed();
            anyhow::ensure!(
                events.len() as u64 == args.events,
                "read back {} of {} events",
                events.len(),
                args.events
            );
            let rate = per_second(events.len() as f64, elapsed);
            eprintln!(
                "read    {:6} batch {batch:>6}: {rate:>10.0} events/s",
                backend.name
            );
            reads.push(json!({
                "backend": backend.name, "batch_events": batch, "events": events.len(),
                "seconds": elapsed.as_secs_f64(), "events_per_s": rate,
                "mb_per_s": per_second(bytes as f64 / 1e6, elapsed),
            }));

            let started = Instant::now();
            let stats = reader.compact().await?;
            let elapsed = started.elapsed();
            eprintln!(
                "compact {:6} batch {batch:>6}: {} objects → 1 in {:.3}s",
                backend.name,
                stats.merged_objects,
                elapsed.as_secs_f64()
            );
            compactions.push(json!({
                "backend": backend.name, "batch_events": batch, "merged_objects": stats.merged_objects,
                "events": stats.events, "seconds": elapsed.as_secs_f64(),
            }));
        }
    }

    let mut rewrite = Vec::new();
    for backend in backends()? {
        for &n in &args.rewrite_sizes {
            let anti =
                read_modify_write(&backend.store, &format!("bench/rmw-{n}.jsonl"), n).await?;
            let prefix = format!("bench/ours-{n}");
            let journal = StoreJournal::open(Arc::clone(&backend.store), &prefix, options(1_000))?;
            let started = Instant::now();
            for i in 0..n {
                journal.append_json(&event(i)).await?;
            }
            journal.close().await?;
            let ours = started.elapsed();
            let (objects, bytes) = count_objects(&backend.store, &prefix).await?;
            eprintln!(
                "rewrite {:6} {n:>6} events: read-modify-write {:.3}s ({} MB written), journal {:.4}s",
                backend.name,
                anti.seconds,
                anti.bytes_written / 1_000_000,
                ours.as_secs_f64()
            );
            rewrite.push(json!({
                "backend": backend.name, "events": n,
                "read_modify_write": {"seconds": anti.seconds, "bytes_written": anti.bytes_written, "puts": n},
                "journal": {"seconds": ours.as_secs_f64(), "bytes_written": bytes, "puts": objects},
                "speedup": anti.seconds / ours.as_secs_f64().max(1e-9),
            }));
        }
    }

    let report = json!({
        "bench": "journal",
        "date": chrono::Utc::now().to_rfc3339(),
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
        "event_bytes": serde_json::to_vec(&event(12_345))?.len(),
        "append": appends,
        "read": reads,
        "compaction": compactions,
        "read_modify_write_vs_journal": rewrite,
        "growth": growth(&rewrite, &args.rewrite_sizes),
        "targets": targets(&appends),
    });
    let path = super::write_report(&args.out, "journal", &report)?;
    eprintln!("wrote {}", path.display());
    outln!("{}", serde_json::to_string_pretty(&report["targets"])?)?;
    Ok(())
}

struct AntiPattern {
    seconds: f64,
    bytes_written: u64,
}

/// The seed's old journal: every event reads the whole JSONL object, appends a line, and puts it
/// back (O(N) per event, O(N²) in all).
async fn read_modify_write(
    store: &Arc<dyn ObjectStore>,
    key: &str,
    n: u64,
) -> anyhow::Result<AntiPattern> {
    let path = Path::from(key);
    let mut bytes_written = 0u64;
    let started = Instant::now();
    for i in 0..n {
        let mut body = match store.get(&path).await {
            Ok(got) => got.bytes().await?.to_vec(),
            Err(lakehouse::store::object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        serde_json::to_writer(&mut body, &event(i))?;
        body.push(b'\n');
        bytes_written += body.len() as u64;
        store.put(&path, PutPayload::from(body)).await?;
    }
    Ok(AntiPattern {
        seconds: started.elapsed().as_secs_f64(),
        bytes_written,
    })
}

/// How the cost of each approach grows between consecutive sizes, next to what linear and
/// quadratic growth would give.
fn growth(rows: &[serde_json::Value], sizes: &[u64]) -> serde_json::Value {
    let measure = |backend: &str, n: u64, which: &str, what: &str| {
        rows.iter()
            .find(|r| r["backend"] == backend && r["events"] == n)
            .and_then(|r| r[which][what].as_f64())
    };
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable();
    let mut steps = Vec::new();
    for backend in ["local", "memory"] {
        for pair in sorted.windows(2) {
            let (small, large) = (pair[0], pair[1]);
            let ratio = |which, what| {
                Some(measure(backend, large, which, what)? / measure(backend, small, which, what)?)
            };
            let size_ratio = large as f64 / small as f64;
            steps.push(json!({
                "backend": backend, "from_events": small, "to_events": large,
                "linear_would_be": size_ratio, "quadratic_would_be": size_ratio * size_ratio,
                "read_modify_write_seconds_ratio": ratio("read_modify_write", "seconds"),
                "read_modify_write_bytes_ratio": ratio("read_modify_write", "bytes_written"),
                "journal_seconds_ratio": ratio("journal", "seconds"),
                "journal_bytes_ratio": ratio("journal", "bytes_written"),
            }));
        }
    }
    json!(steps)
}

fn targets(appends: &[serde_json::Value]) -> serde_json::Value {
    let best_local = appends
        .iter()
        .filter(|a| a["backend"] == "local" && a["batch_events"].as_u64() >= Some(1_000))
        .filter_map(|a| a["events_per_s"].as_f64())
        .fold(0.0, f64::max);
    let objects_at_1000 = appends
        .iter()
        .filter(|a| a["batch_events"] == 1_000)
        .filter_map(|a| a["objects_per_100k_events"].as_f64())
        .fold(0.0, f64::max);
    json!({
        "local_append_events_per_s_batched": best_local,
        "local_append_target": 200_000,
        "local_append_met": best_local >= 200_000.0,
        "objects_per_100k_events_default_batch": objects_at_1000,
        "objects_target_max": 100,
        "objects_met": objects_at_1000 <= 100.0,
    })
}
