//! Random operation sequences against a simple reference model, checking the invariants:
//! exactly one tip per chain, retired and superseded records never searchable, history ordered
//! root→tip, `replay_count` = identical upserts, and the state after reopening = the state
//! before.
//!
//! The same sequences run with faults injected into the store (failed puts, puts that land but
//! report failure, failed reads and listings) on memory, a local folder and the S3 test server:
//! every operation either succeeds and is in the state once, or fails with a store error and is
//! in it once or not at all — never twice, never half.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use lakehouse_memory::{
    Action, Draft, Kind, ListFilter, Memory, MemoryError, MemoryOptions, MemoryQuery, StateFilter,
};
use lakehouse_store::{Fault, FaultConfig, FaultyStore, ObjectStore, Op as FaultOp};
use proptest::prelude::*;

const CONTENTS: [&str; 4] = [
    "alpha permit report",
    "beta contract query",
    "gamma vendor join",
    "delta ward totals",
];

#[derive(Debug, Clone, Copy)]
enum Op {
    Upsert(usize),
    Revise(usize, usize),
    Retire(usize, bool),
    Outcome(usize, bool),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..CONTENTS.len()).prop_map(Op::Upsert),
        3 => (any::<usize>(), 0..CONTENTS.len()).prop_map(|(i, c)| Op::Revise(i, c)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, c)| Op::Retire(i, c)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, s)| Op::Outcome(i, s)),
        1 => Just(Op::Reopen),
    ]
}

/// The reference: what each record should look like.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    id: String,
    content: usize,
    chain: String,
    version: u32,
    superseded: bool,
    retired: bool,
    replays: u64,
    successes: u64,
    failures: u64,
}

fn draft(content: usize) -> Draft {
    Draft::new(Kind::Pathway, CONTENTS[content])
}

/// What the model says an operation does.
#[derive(Debug, Clone)]
enum Effect {
    /// A new chain with this content.
    Add(usize),
    /// The record at this model index is replayed.
    Replay(usize),
    /// The record at this model index gets a new version with this content.
    Revise(usize, usize),
    /// These records are retired.
    Retire(Vec<usize>),
    /// An outcome for the record at this model index.
    Outcome(usize, bool),
    /// Refused: the target is retired.
    RefusedRetired,
    /// Refused: the target is not its chain's tip.
    RefusedNotTip,
    /// Nothing is written (reopen, or an operation on an empty model).
    Nothing,
}

fn predict(model: &[Expected], op: &Op) -> Effect {
    let target = |i: usize| i % model.len();
    match *op {
        Op::Upsert(c) => match model
            .iter()
            .position(|e| e.content == c && !e.superseded && !e.retired)
        {
            Some(t) => Effect::Replay(t),
            None => Effect::Add(c),
        },
        Op::Revise(i, c) if !model.is_empty() => {
            let t = target(i);
            if model[t].retired {
                Effect::RefusedRetired
            } else if model[t].superseded {
                Effect::RefusedNotTip
            } else {
                Effect::Revise(t, c)
            }
        }
        Op::Retire(i, chain) if !model.is_empty() => {
            let t = target(i);
            let targets: Vec<usize> = (0..model.len())
                .filter(|&j| {
                    !model[j].retired
                        && if chain {
                            model[j].chain == model[t].chain
                        } else {
                            j == t
                        }
                })
                .collect();
            if targets.is_empty() {
                Effect::RefusedRetired
            } else {
                Effect::Retire(targets)
            }
        }
        Op::Outcome(i, success) if !model.is_empty() => Effect::Outcome(target(i), success),
        _ => Effect::Nothing,
    }
}

/// Perform `op` as `effect` predicts; the id of the record it made, if it made one.
async fn perform(
    memory: &Memory,
    model: &[Expected],
    op: &Op,
    effect: &Effect,
) -> Result<Option<String>, MemoryError> {
    let target = |i: usize| model[i % model.len()].id.as_str();
    match (*op, effect) {
        (Op::Upsert(c), _) => {
            let done = memory.upsert(draft(c)).await?;
            match effect {
                Effect::Replay(t) => {
                    assert_eq!(done.action, Action::Updated);
                    assert_eq!(done.record.id, model[*t].id);
                    Ok(None)
                }
                _ => {
                    assert_eq!(done.action, Action::Added);
                    Ok(Some(done.record.id))
                }
            }
        }
        (Op::Revise(i, c), Effect::Revise(..) | Effect::RefusedRetired | Effect::RefusedNotTip) => {
            Ok(Some(memory.revise(target(i), draft(c), None).await?.id))
        }
        (Op::Retire(i, chain), Effect::Retire(targets)) => {
            let retired = memory.retire(target(i), "prop", None, chain).await?;
            assert_eq!(retired.len(), targets.len());
            Ok(None)
        }
        (Op::Retire(i, chain), Effect::RefusedRetired) => {
            memory.retire(target(i), "prop", None, chain).await?;
            Ok(None)
        }
        (Op::Outcome(i, success), Effect::Outcome(..)) => {
            memory.record_outcome(target(i), success, None).await?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Whether `error` is the refusal `effect` predicts (directly, or after losing a race).
fn is_predicted_refusal(effect: &Effect, error: &MemoryError) -> bool {
    let error = match error {
        MemoryError::Conflict { source, .. } => source.as_ref(),
        other => other,
    };
    matches!(
        (effect, error),
        (Effect::RefusedRetired, MemoryError::Retired { .. })
            | (Effect::RefusedNotTip, MemoryError::NotTip { .. })
    )
}

/// Fold `effect` into the model; `made` is the id of the record it made.
fn apply(model: &mut Vec<Expected>, effect: &Effect, made: Option<String>) {
    let fresh = |id: String, content, chain: Option<&Expected>| Expected {
        chain: chain.map_or_else(|| id.clone(), |c| c.chain.clone()),
        version: chain.map_or(1, |c| c.version + 1),
        id,
        content,
        superseded: false,
        retired: false,
        replays: 1,
        successes: 0,
        failures: 0,
    };
    match effect {
        Effect::Add(c) => model.push(fresh(made.expect("an added record"), *c, None)),
        Effect::Replay(t) => model[*t].replays += 1,
        Effect::Revise(t, c) => {
            let next = fresh(made.expect("a new version"), *c, Some(&model[*t]));
            model[*t].superseded = true;
            model.push(next);
        }
        Effect::Retire(targets) => {
            for &j in targets {
                model[j].retired = true;
            }
        }
        Effect::Outcome(t, true) => model[*t].successes += 1,
        Effect::Outcome(t, false) => model[*t].failures += 1,
        Effect::RefusedRetired | Effect::RefusedNotTip | Effect::Nothing => {}
    }
}

/// Open the namespace, trying again while injected faults make it fail.
async fn open_through(store: &Arc<dyn ObjectStore>, options: &MemoryOptions) -> Memory {
    for _ in 0..100 {
        match Memory::open(Arc::clone(store), "prop", options.clone()).await {
            Ok(memory) => {
                return memory
                    .with_embedder(crate::hash_embedder(), "hash:64")
                    .unwrap();
            }
            Err(e) if e.fault() == Fault::Unavailable => continue,
            Err(e) => panic!("open: {e}"),
        }
    }
    panic!("open kept failing")
}

/// Run `ops` on the namespace in `clean`, written through a [`FaultyStore`] when `faults` is
/// given. After every operation a handle opened on `clean` must show the model: an operation
/// that succeeded is in it once; one that failed with a store error is in it once if its
/// commit landed and not at all if not (the commit count says which).
async fn run(clean: Arc<dyn ObjectStore>, faults: Option<FaultConfig>, ops: Vec<Op>) {
    let faulty = faults.is_some();
    let written: Arc<dyn ObjectStore> = match faults {
        Some(config) => Arc::new(FaultyStore::new(Arc::clone(&clean), config)),
        None => Arc::clone(&clean),
    };
    let options = MemoryOptions::default().with_snapshot_every(4);
    let mut memory = open_through(&written, &options).await;
    let mut model: Vec<Expected> = Vec::new();
    let mut seq = 0;
    for op in ops {
        if let Op::Reopen = op {
            let all = ListFilter {
                state: StateFilter::All,
                ..ListFilter::default()
            };
            let before = memory.list(&all);
            memory = open_through(&written, &options).await;
            if !faulty {
                assert_eq!(memory.list(&all), before, "state after reopen");
            }
        }
        let effect = predict(&model, &op);
        let up_to_date = match perform(&memory, &model, &op, &effect).await {
            Ok(made) => {
                assert!(
                    !matches!(effect, Effect::RefusedRetired | Effect::RefusedNotTip),
                    "{op:?} succeeded where the model refuses it"
                );
                apply(&mut model, &effect, made);
                true
            }
            Err(e) if is_predicted_refusal(&effect, &e) => true,
            Err(e) if faulty && e.fault() == Fault::Unavailable => {
                let now = open_through(&clean, &options).await;
                if now.seq() > seq {
                    assert_eq!(now.seq(), seq + 1, "{op:?} committed more than once");
                    let known: HashSet<&str> = model.iter().map(|e| e.id.as_str()).collect();
                    let made = now
                        .list(&ListFilter {
                            state: StateFilter::All,
                            ..ListFilter::default()
                        })
                        .into_iter()
                        .map(|r| r.id)
                        .find(|id| !known.contains(id.as_str()));
                    apply(&mut model, &effect, made);
                }
                false
            }
            Err(e) => panic!("{op:?} failed: {e}"),
        };
        let now = open_through(&clean, &options).await;
        seq = now.seq();
        check(&now, &model).await;
        if up_to_date {
            check(&memory, &model).await;
        }
    }
}

async fn check(memory: &Memory, model: &[Expected]) {
    let all = memory.list(&ListFilter {
        state: StateFilter::All,
        ..ListFilter::default()
    });
    assert_eq!(all.len(), model.len());
    let by_id: HashMap<&str, _> = all.iter().map(|r| (r.id.as_str(), r)).collect();
    for e in model {
        let r = by_id[e.id.as_str()];
        assert_eq!(r.draft.content, CONTENTS[e.content]);
        assert_eq!(r.root_id, e.chain);
        assert_eq!(r.version, e.version);
        assert_eq!(r.superseded_at.is_some(), e.superseded, "{}", e.id);
        assert_eq!(r.retired_at.is_some(), e.retired, "{}", e.id);
        assert_eq!(r.replay_count, e.replays, "replay_count of {}", e.id);
        assert_eq!(
            (r.success_count, r.failure_count),
            (e.successes, e.failures)
        );
    }
    // Exactly one tip per chain, and history root→tip from every member.
    let mut tips: HashMap<&str, usize> = HashMap::new();
    for r in &all {
        if r.superseded_by.is_none() {
            *tips.entry(r.root_id.as_str()).or_default() += 1;
        }
    }
    for r in &all {
        assert_eq!(
            tips.get(r.root_id.as_str()),
            Some(&1),
            "chain {}",
            r.root_id
        );
        let chain = memory.history(&r.id, None).unwrap();
        assert_eq!(chain[0].id, r.root_id);
        for (n, link) in chain.iter().enumerate() {
            assert_eq!(link.version as usize, n + 1);
            if n > 0 {
                assert_eq!(link.parent_id.as_deref(), Some(chain[n - 1].id.as_str()));
            }
        }
        assert!(chain.last().unwrap().superseded_by.is_none());
        assert!(chain.iter().any(|c| c.id == r.id));
    }
    // Search sees live tips only, and every live one for its own text.
    if !all.is_empty() {
        for content in CONTENTS {
            let hits = memory
                .search(&MemoryQuery::new(content).with_k(50))
                .await
                .unwrap();
            for hit in &hits {
                assert!(hit.record.is_live(), "search returned {}", hit.record.id);
            }
            for e in model.iter().filter(|e| CONTENTS[e.content] == content) {
                let found = hits.iter().any(|h| h.record.id == e.id);
                assert_eq!(
                    found,
                    !e.superseded && !e.retired,
                    "{} for {content:?}",
                    e.id
                );
            }
        }
    }
}

fn faults(seed: u64) -> FaultConfig {
    FaultConfig::new(seed)
        .with_rate(FaultOp::Put, 0.1)
        .with_rate(FaultOp::PutLostAck, 0.15)
        .with_rate(FaultOp::Get, 0.05)
        .with_rate(FaultOp::List, 0.05)
}

fn block_on(run: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run);
}

fn sequences() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_sequences_keep_the_invariants(ops in sequences()) {
        block_on(run(Arc::clone(lakehouse_testkit::memory_store().object_store()), None, ops));
    }
}

// The same sequences with failed puts, lost answers to puts, failed reads and listings.
proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn under_faults_in_memory_every_operation_lands_once_or_not_at_all(
        ops in sequences(), seed in any::<u64>()
    ) {
        let store = Arc::clone(lakehouse_testkit::memory_store().object_store());
        block_on(run(store, Some(faults(seed)), ops));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    #[test]
    fn under_faults_in_a_local_folder_every_operation_lands_once_or_not_at_all(
        ops in sequences(), seed in any::<u64>()
    ) {
        let (_dir, store) = lakehouse_testkit::local_store();
        block_on(run(Arc::clone(store.object_store()), Some(faults(seed)), ops));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn under_faults_on_s3_every_operation_lands_once_or_not_at_all(
        ops in sequences(), seed in any::<u64>()
    ) {
        block_on(async move {
            let store = lakehouse_testkit::s3_store("memory-faults").await;
            run(Arc::clone(store.object_store()), Some(faults(seed)), ops).await;
        });
    }
}
