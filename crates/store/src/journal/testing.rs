//! The journal's conformance suite: public checks that every store backend and wrapper must pass
//! (the model is `object_store`'s `integration.rs`). Each check takes a store, works under a
//! fresh prefix of it, and panics with a message naming what broke.
//!
//! The checks tolerate stores that fail at random (a [`FaultyStore`] backend): operations that
//! fail transiently are retried a bounded number of times, and what is asserted — nothing lost,
//! nothing shown twice, each writer's events in order — must hold whatever failed on the way.

// Checks report failure by panicking, like assertions.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{
    Cursor, Event, Journal, JournalError, JournalExt, JournalOptions, StoreJournal, WriterId,
};
use crate::{FaultConfig, FaultyStore, Op};

const RETRIES: u32 = 200;

fn prefix(label: &str) -> String {
    format!("conformance/{label}-{:016x}", rand::random::<u64>())
}

/// Options for checks: real clock, no settle window, quick retries.
pub fn test_options() -> JournalOptions {
    JournalOptions::default()
        .with_settle(Duration::ZERO)
        .with_retry_backoff(Duration::from_millis(1))
        .with_max_delay(Duration::from_secs(3600))
}

/// Run `op` until it succeeds or fails with a non-transient error (then panic).
async fn retry<T, F, Fut>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, JournalError>>,
{
    let mut last = None;
    for _ in 0..RETRIES {
        match op().await {
            Ok(value) => return value,
            Err(e) if e.is_transient() => last = Some(e),
            Err(e) => panic!("{what} failed: {e}"),
        }
    }
    panic!(
        "{what} kept failing: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    )
}

async fn flush(journal: &StoreJournal) {
    retry("flush", || journal.flush()).await;
}

async fn read_all(journal: &StoreJournal) -> Vec<Event> {
    retry("read_all", || journal.read_all()).await
}

async fn durable(journal: &StoreJournal) -> Vec<Event> {
    retry("read", || {
        journal.read_since(Cursor::start()).try_collect::<Vec<_>>()
    })
    .await
}

async fn list_names(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<String> {
    let prefix = Path::from(prefix);
    for _ in 0..RETRIES {
        if let Ok(metas) = store.list(Some(&prefix)).try_collect::<Vec<_>>().await {
            let mut names: Vec<String> =
                metas.into_iter().map(|m| m.location.to_string()).collect();
            names.sort();
            return names;
        }
    }
    panic!("listing {prefix} kept failing")
}

async fn append_n(journal: &StoreJournal, label: &str, n: u64) {
    for i in 0..n {
        let data = serde_json::json!({ "label": label, "i": i });
        retry("append", || journal.append_json(&data)).await;
    }
}

/// Assert `events` holds, for each writer, exactly the events `0..n` once each, in order.
fn assert_exactly_once(events: &[Event], expected: &[(WriterId, u64)]) {
    let mut next: BTreeMap<WriterId, u64> = BTreeMap::new();
    let mut seen = HashSet::new();
    for event in events {
        assert!(seen.insert(event.id), "event {} returned twice", event.id);
        let want = next.entry(event.id.writer).or_insert(0);
        assert_eq!(
            event.id.seq, *want,
            "writer {} out of order or with a gap",
            event.id.writer
        );
        *want += 1;
    }
    let expected: BTreeMap<WriterId, u64> =
        expected.iter().copied().filter(|(_, n)| *n > 0).collect();
    assert_eq!(next, expected, "events per writer");
}

/// Assert each writer's events are a gap-free run from 0, each once (what a reader may see while
/// writers are still flushing).
fn assert_prefixes(events: &[Event]) {
    let mut next: BTreeMap<WriterId, u64> = BTreeMap::new();
    for event in events {
        let want = next.entry(event.id.writer).or_insert(0);
        assert_eq!(
            event.id.seq, *want,
            "writer {}: duplicate, gap or reordering",
            event.id.writer
        );
        *want += 1;
    }
}

/// Appended events are visible to the handle at once, durable after `flush`, visible to other
/// handles, and come back exactly as appended.
pub async fn append_flush_read(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("append-flush-read");
    let journal = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    for i in 0..10 {
        let data = serde_json::json!({"i": i, "s": "é\n\"x\""});
        let id = retry("append", || journal.append_json(&data)).await;
        assert_eq!(id.seq, i, "sequence numbers start at 0 and grow by one");
    }
    let buffered = read_all(&journal).await;
    assert_eq!(buffered.len(), 10, "the handle sees its unflushed events");
    assert!(buffered.iter().all(|e| e.batch_ts.is_none()));
    assert!(
        list_names(&store, &prefix).await.is_empty(),
        "nothing written before a flush"
    );
    flush(&journal).await;
    // One object per flush (a store that lost a put's answer may hold a second copy).
    assert!(
        !list_names(&store, &prefix).await.is_empty(),
        "the flush wrote an object"
    );
    let other = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    let events = durable(&other).await;
    assert_exactly_once(&events, &[(journal.writer_id(), 10)]);
    for (i, event) in events.iter().enumerate() {
        assert!(event.batch_ts.is_some());
        let value: serde_json::Value = event.decode().unwrap();
        assert_eq!(value, serde_json::json!({"i": i, "s": "é\n\"x\""}));
    }
    journal.close().await.ok();
}

/// The buffer is flushed when it reaches the count threshold, without an explicit flush.
pub async fn flush_by_count(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("flush-by-count");
    let options = test_options().with_max_batch_events(5);
    let journal = StoreJournal::open(Arc::clone(&store), &prefix, options).unwrap();
    append_n(&journal, "c", 12).await;
    wait_for(&store, &prefix, 2).await;
    assert_eq!(
        journal.unflushed(),
        2,
        "two events stay buffered below the threshold"
    );
    retry("close", || journal.close()).await;
    assert_exactly_once(&durable(&journal).await, &[(journal.writer_id(), 12)]);
}

/// The buffer is flushed when its oldest event has waited `max_delay`.
pub async fn flush_by_delay(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("flush-by-delay");
    let options = test_options().with_max_delay(Duration::from_millis(20));
    let journal = StoreJournal::open(Arc::clone(&store), &prefix, options).unwrap();
    append_n(&journal, "d", 3).await;
    wait_for(&store, &prefix, 1).await;
    assert_exactly_once(&durable(&journal).await, &[(journal.writer_id(), 3)]);
}

async fn wait_for(store: &Arc<dyn ObjectStore>, prefix: &str, objects: usize) {
    for _ in 0..1_000 {
        if list_names(store, prefix).await.len() >= objects {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the background flusher did not write {objects} objects under {prefix} within 10 s");
}

/// `close` flushes; appends after it are refused and not written.
pub async fn close_flushes_and_refuses(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("close");
    let journal = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    append_n(&journal, "x", 4).await;
    retry("close", || journal.close()).await;
    let err = journal.append_json(&1).await.unwrap_err();
    assert!(
        matches!(err, JournalError::Closed { .. }),
        "append after close: {err}"
    );
    assert_exactly_once(&durable(&journal).await, &[(journal.writer_id(), 4)]);
}

/// Two writers on one prefix, appending and flushing concurrently: no overwrite, no loss.
pub async fn two_writers_one_prefix(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("two-writers");
    let options = test_options().with_max_batch_events(7);
    let a = StoreJournal::open(Arc::clone(&store), &prefix, options.clone()).unwrap();
    let b = StoreJournal::open(Arc::clone(&store), &prefix, options).unwrap();
    let (ja, jb) = (a.clone(), b.clone());
    let ta = tokio::spawn(async move {
        append_n(&ja, "a", 300).await;
        flush(&ja).await;
    });
    let tb = tokio::spawn(async move {
        append_n(&jb, "b", 300).await;
        flush(&jb).await;
    });
    ta.await.unwrap();
    tb.await.unwrap();
    let reader = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    let events = durable(&reader).await;
    assert_exactly_once(&events, &[(a.writer_id(), 300), (b.writer_id(), 300)]);
}

/// A handle opened later sees what earlier handles wrote, then its own events after them.
pub async fn reopen_sees_everything(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("reopen");
    let first = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    append_n(&first, "first", 5).await;
    retry("close", || first.close()).await;
    let second = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    append_n(&second, "second", 3).await;
    let all = read_all(&second).await;
    assert_eq!(all.len(), 8);
    assert!(
        all[..5].iter().all(|e| e.id.writer == first.writer_id()),
        "older events first"
    );
    flush(&second).await;
    assert_exactly_once(
        &durable(&second).await,
        &[(first.writer_id(), 5), (second.writer_id(), 3)],
    );
}

/// Compaction running again and again while three writers append and a reader reads: every read
/// shows each writer's events as a gap-free run, and at the end every event is there once.
pub async fn compaction_races_appends(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("compaction-races");
    let options = test_options().with_max_batch_events(10);
    let writers: Vec<StoreJournal> = (0..3)
        .map(|_| StoreJournal::open(Arc::clone(&store), &prefix, options.clone()).unwrap())
        .collect();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (i, writer) in writers.iter().enumerate() {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..20 {
                append_n(&writer, &format!("w{i}-{round}"), 10).await;
                flush(&writer).await;
            }
        }));
    }
    let compactor = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    let compacting = {
        let (compactor, done) = (compactor.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let mut runs = 0u32;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || runs == 0 {
                match compactor.compact().await {
                    Ok(_) => runs += 1,
                    Err(e) if e.is_transient() => {}
                    Err(e) => panic!("compaction failed: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            runs
        })
    };
    let reading = {
        let (reader, done) = (compactor.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let mut reads = 0u32;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
                assert_prefixes(&durable(&reader).await);
                reads += 1;
            }
        })
    };
    for task in tasks {
        task.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(compacting.await.unwrap() > 0, "compaction ran");
    reading.await.unwrap();
    retry("compact", || compactor.compact()).await;
    let expected: Vec<(WriterId, u64)> = writers.iter().map(|w| (w.writer_id(), 200)).collect();
    assert_exactly_once(&durable(&compactor).await, &expected);
}

/// A compaction whose listing missed a batch between two it saw (a local folder's listing
/// can, while a writer creates files): the missed batch's events, and the writer's later ones,
/// are still read once and in order, and a later compaction merges them all.
pub async fn compaction_over_a_listing_that_missed_a_batch(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("missed-batch");
    let writer = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    for round in 0..4 {
        append_n(&writer, &format!("r{round}"), 5).await;
        flush(&writer).await;
    }
    let names = list_names(&store, &prefix).await;
    assert_eq!(names.len(), 4, "{names:?}");
    // the listing misses the second batch: it is taken out while the compaction runs
    let hidden = Path::from(names[1].as_str());
    let bytes = store_retry(|| async { store.get(&hidden).await?.bytes().await }).await;
    store_retry(|| store.delete(&hidden)).await;
    let compactor = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    retry("compact", || compactor.compact()).await;
    store_retry(|| store.put(&hidden, PutPayload::from(bytes.clone()))).await;
    let expected = [(writer.writer_id(), 20)];
    assert_exactly_once(&durable(&compactor).await, &expected);
    retry("compact", || compactor.compact()).await;
    assert_exactly_once(&durable(&compactor).await, &expected);
}

/// A store call, tried again on failure (the faulty backend fails some at random).
async fn store_retry<T, F, Fut>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = object_store::Result<T>>,
{
    for _ in 0..RETRIES {
        if let Ok(value) = op().await {
            return value;
        }
    }
    panic!("a store call kept failing")
}

/// Several compactions at once: each succeeds or reports a race; nothing is lost or doubled.
pub async fn concurrent_compactions(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("concurrent-compactions");
    let writer = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    for round in 0..12 {
        append_n(&writer, &format!("r{round}"), 5).await;
        flush(&writer).await;
    }
    let compactors: Vec<StoreJournal> = (0..3)
        .map(|_| StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap())
        .collect();
    let results = futures::future::join_all(compactors.iter().map(|c| c.compact())).await;
    for result in results {
        match result {
            Ok(_) => {}
            Err(e) if e.is_transient() => {}
            Err(e) => panic!("compaction failed: {e}"),
        }
    }
    assert_exactly_once(&durable(&writer).await, &[(writer.writer_id(), 60)]);
    retry("compact", || writer.compact()).await;
    assert_exactly_once(&durable(&writer).await, &[(writer.writer_id(), 60)]);
    let stats = retry("stats", || writer.stats()).await;
    assert_eq!(stats.events, 60);
    assert!(stats.gaps.is_empty(), "gaps: {:?}", stats.gaps);
}

/// A flush whose puts all fail returns an error and keeps its events (still visible to the
/// handle, not durable); the next flush writes them once.
pub async fn flush_fails_then_succeeds(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("flush-fails");
    let faulty = Arc::new(FaultyStore::new(Arc::clone(&store), FaultConfig::new(11)));
    let options = test_options().with_put_attempts(3);
    let journal = StoreJournal::open(faulty.clone(), &prefix, options).unwrap();
    append_n(&journal, "kept", 6).await;
    faulty.fail_next(Op::Put, 1_000);
    let err = journal.flush().await.expect_err("every put attempt fails");
    assert!(
        matches!(err, JournalError::Store { op: "put", .. }),
        "{err}"
    );
    assert_eq!(journal.unflushed(), 6, "the failed batch is kept");
    assert_eq!(
        read_all(&journal).await.len(),
        6,
        "and still visible to the handle"
    );
    let other = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    assert!(durable(&other).await.is_empty(), "nothing durable yet");
    append_n(&journal, "after", 2).await;
    faulty.fail_next(Op::Put, 0);
    flush(&journal).await;
    assert_eq!(journal.unflushed(), 0);
    assert_exactly_once(&durable(&other).await, &[(journal.writer_id(), 8)]);
}

/// A put that wrote but reported failure is retried; readers see its events once.
pub async fn lost_ack_is_not_duplicated(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("lost-ack");
    let faulty = Arc::new(FaultyStore::new(Arc::clone(&store), FaultConfig::new(12)));
    let journal = StoreJournal::open(faulty.clone(), &prefix, test_options()).unwrap();
    append_n(&journal, "once", 5).await;
    faulty.fail_next(Op::PutLostAck, 1);
    flush(&journal).await;
    assert_eq!(faulty.injected(Op::PutLostAck), 1);
    assert!(
        list_names(&store, &prefix).await.len() >= 2,
        "the retry wrote a second copy"
    );
    assert_exactly_once(&durable(&journal).await, &[(journal.writer_id(), 5)]);
    compact_to_one_object(&journal, &store, &prefix).await;
    assert_exactly_once(&durable(&journal).await, &[(journal.writer_id(), 5)]);
}

/// Compaction whose deletes fail halfway: leftovers stay readable without duplicates, and the
/// next compaction removes them.
pub async fn failed_deletes_leave_no_duplicates(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("failed-deletes");
    let faulty = Arc::new(FaultyStore::new(Arc::clone(&store), FaultConfig::new(13)));
    let journal = StoreJournal::open(faulty.clone(), &prefix, test_options()).unwrap();
    for round in 0..8 {
        append_n(&journal, &format!("r{round}"), 4).await;
        flush(&journal).await;
    }
    faulty.fail_next(Op::Delete, 5);
    let stats = retry("compact", || journal.compact()).await;
    assert!(stats.delete_failures >= 1, "deletes failed: {stats:?}");
    assert!(
        list_names(&store, &prefix).await.len() > 1,
        "leftovers remain"
    );
    assert_exactly_once(&durable(&journal).await, &[(journal.writer_id(), 32)]);
    let counted = retry("stats", || journal.stats()).await;
    assert_eq!(counted.events, 32);
    assert!(
        counted.duplicate_copies > 0,
        "leftovers are counted as copies"
    );
    compact_to_one_object(&journal, &store, &prefix).await;
    assert_exactly_once(&durable(&journal).await, &[(journal.writer_id(), 32)]);
}

/// `read_since` continues from a cursor, also across compaction and through the cursor's text.
pub async fn read_since_cursor(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("cursor");
    let journal = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    append_n(&journal, "one", 10).await;
    flush(&journal).await;
    let (first, cursor) = retry("read", || journal.read_since(Cursor::start()).collect_all()).await;
    assert_eq!(first.len(), 10);
    append_n(&journal, "two", 5).await;
    flush(&journal).await;
    let cursor: Cursor = cursor.to_string().parse().unwrap();
    let (second, cursor) = retry("read", || journal.read_since(cursor.clone()).collect_all()).await;
    assert_eq!(
        second.iter().map(|e| e.id.seq).collect::<Vec<_>>(),
        (10..15).collect::<Vec<_>>()
    );
    retry("compact", || journal.compact()).await;
    let (none, cursor) = retry("read", || journal.read_since(cursor.clone()).collect_all()).await;
    assert!(
        none.is_empty(),
        "compaction does not replay events: {:?}",
        none.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    append_n(&journal, "three", 3).await;
    flush(&journal).await;
    let (third, _) = retry("read", || journal.read_since(cursor.clone()).collect_all()).await;
    assert_eq!(
        third.iter().map(|e| e.id.seq).collect::<Vec<_>>(),
        vec![15, 16, 17]
    );
}

/// A corrupt journal object is an error naming the object and line; foreign objects are ignored;
/// nothing is rewritten or lost.
pub async fn malformed_object_is_named(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("malformed");
    let journal = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    append_n(&journal, "good", 3).await;
    flush(&journal).await;
    let foreign = Path::from(format!("{prefix}/notes.txt"));
    retry_put(&store, &foreign, "not a journal object").await;
    assert_exactly_once(&durable(&journal).await, &[(journal.writer_id(), 3)]);
    let corrupt = Path::from(format!(
        "{prefix}/00000000000000000001-00000000000000aa-000000000000.jsonl"
    ));
    retry_put(
        &store,
        &corrupt,
        "{\"id\":\"00000000000000aa-0\",\"ts\":1,\"data\":{}}\n{broken\n",
    )
    .await;
    let err = loop {
        match journal
            .read_since(Cursor::start())
            .try_collect::<Vec<_>>()
            .await
        {
            Err(e) if e.is_transient() => continue,
            other => break other.expect_err("a corrupt object fails the read"),
        }
    };
    let text = err.to_string();
    assert!(
        matches!(err, JournalError::Malformed { line: 2, .. }),
        "{text}"
    );
    assert!(
        text.contains(corrupt.as_ref()),
        "the error names the object: {text}"
    );
    let before = list_names(&store, &prefix).await;
    assert!(
        journal.compact().await.is_err(),
        "compaction refuses to merge a corrupt object"
    );
    assert_eq!(
        list_names(&store, &prefix).await,
        before,
        "nothing deleted or rewritten"
    );
}

/// Compact until one object is left (deletes may fail on a faulty store; later runs clean up).
async fn compact_to_one_object(journal: &StoreJournal, store: &Arc<dyn ObjectStore>, prefix: &str) {
    for _ in 0..50 {
        retry("compact", || journal.compact()).await;
        if list_names(store, prefix).await.len() == 1 {
            return;
        }
    }
    panic!("compaction never left a single object under {prefix}");
}

async fn retry_put(store: &Arc<dyn ObjectStore>, path: &Path, body: &'static str) {
    for _ in 0..RETRIES {
        if store
            .put(path, PutPayload::from_static(body.as_bytes()))
            .await
            .is_ok()
        {
            return;
        }
    }
    panic!("put {path} kept failing")
}

/// Random faults everywhere (puts, lost answers, gets, lists, deletes) under writers, compaction
/// and readers: nothing lost, nothing twice.
pub async fn random_faults_lose_nothing(store: Arc<dyn ObjectStore>) {
    let prefix = prefix("random-faults");
    let config = FaultConfig::new(14)
        .with_rate(Op::Put, 0.2)
        .with_rate(Op::PutLostAck, 0.1)
        .with_rate(Op::Get, 0.1)
        .with_rate(Op::List, 0.1)
        .with_rate(Op::Delete, 0.3);
    let faulty: Arc<dyn ObjectStore> = Arc::new(FaultyStore::new(Arc::clone(&store), config));
    let options = test_options().with_max_batch_events(6).with_put_attempts(2);
    let a = StoreJournal::open(Arc::clone(&faulty), &prefix, options.clone()).unwrap();
    let b = StoreJournal::open(Arc::clone(&faulty), &prefix, options).unwrap();
    for round in 0..10 {
        append_n(&a, &format!("a{round}"), 9).await;
        append_n(&b, &format!("b{round}"), 7).await;
        if round % 3 == 2 {
            let _ = a.compact().await;
        }
        assert_prefixes(&durable(&b).await);
    }
    flush(&a).await;
    flush(&b).await;
    let _ = a.compact().await;
    let clean = StoreJournal::open(Arc::clone(&store), &prefix, test_options()).unwrap();
    assert_exactly_once(
        &durable(&clean).await,
        &[(a.writer_id(), 90), (b.writer_id(), 70)],
    );
}
