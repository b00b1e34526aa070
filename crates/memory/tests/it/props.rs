//! Random operation sequences against a simple reference model, checking the invariants:
//! exactly one tip per chain, retired and superseded records never searchable, history ordered
//! root→tip, `replay_count` = identical upserts, and the state after reopening = the state
//! before.

use std::collections::HashMap;
use std::sync::Arc;

use lakehouse_memory::{
    Action, Draft, Kind, ListFilter, Memory, MemoryError, MemoryOptions, MemoryQuery, StateFilter,
};
use lakehouse_store::ObjectStore;
use proptest::prelude::*;

use crate::open;

const CONTENTS: [&str; 4] = [
    "alpha permit report",
    "beta contract query",
    "gamma vendor join",
    "delta ward totals",
];

#[derive(Debug, Clone)]
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

async fn run(ops: Vec<Op>) {
    let store: Arc<dyn ObjectStore> = Arc::clone(lakehouse_testkit::memory_store().object_store());
    let options = MemoryOptions::default().with_snapshot_every(4);
    let mut memory = open(&store, "prop", options.clone()).await;
    let mut model: Vec<Expected> = Vec::new();
    for op in ops {
        match op {
            Op::Upsert(c) => {
                let done = memory.upsert(draft(c)).await.unwrap();
                let live = model
                    .iter_mut()
                    .find(|e| e.content == c && !e.superseded && !e.retired);
                match live {
                    Some(e) => {
                        assert_eq!(done.action, Action::Updated);
                        assert_eq!(done.record.id, e.id);
                        e.replays += 1;
                    }
                    None => {
                        assert_eq!(done.action, Action::Added);
                        model.push(Expected {
                            id: done.record.id.clone(),
                            content: c,
                            chain: done.record.id.clone(),
                            version: 1,
                            superseded: false,
                            retired: false,
                            replays: 1,
                            successes: 0,
                            failures: 0,
                        });
                    }
                }
            }
            Op::Revise(i, c) if !model.is_empty() => {
                let t = i % model.len();
                let result = memory.revise(&model[t].id, draft(c), None).await;
                if model[t].retired {
                    assert!(
                        matches!(result, Err(MemoryError::Retired { .. })),
                        "{result:?}"
                    );
                } else if model[t].superseded {
                    assert!(
                        matches!(result, Err(MemoryError::NotTip { .. })),
                        "{result:?}"
                    );
                } else {
                    let record = result.unwrap();
                    model[t].superseded = true;
                    let next = Expected {
                        id: record.id,
                        content: c,
                        chain: model[t].chain.clone(),
                        version: model[t].version + 1,
                        superseded: false,
                        retired: false,
                        replays: 1,
                        successes: 0,
                        failures: 0,
                    };
                    model.push(next);
                }
            }
            Op::Retire(i, chain) if !model.is_empty() => {
                let t = i % model.len();
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
                let result = memory.retire(&model[t].id, "prop", None, chain).await;
                if targets.is_empty() {
                    assert!(
                        matches!(result, Err(MemoryError::Retired { .. })),
                        "{result:?}"
                    );
                } else {
                    assert_eq!(result.unwrap().len(), targets.len());
                    for j in targets {
                        model[j].retired = true;
                    }
                }
            }
            Op::Outcome(i, success) if !model.is_empty() => {
                let t = i % model.len();
                memory
                    .record_outcome(&model[t].id, success, None)
                    .await
                    .unwrap();
                if success {
                    model[t].successes += 1;
                } else {
                    model[t].failures += 1;
                }
            }
            Op::Reopen => {
                let all = ListFilter {
                    state: StateFilter::All,
                    ..ListFilter::default()
                };
                let before = memory.list(&all);
                memory = open(&store, "prop", options.clone()).await;
                assert_eq!(memory.list(&all), before, "state after reopen");
            }
            _ => {}
        }
        check(&memory, &model).await;
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..40)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops));
    }
}
