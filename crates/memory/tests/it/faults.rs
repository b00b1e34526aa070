//! Writes whose answer was lost: the put landed, the writer was told it failed. Each must count
//! once — a retried UPSERT is not a replay, a retried REVISE is not "not the tip".

use std::sync::Arc;

use lakehouse_memory::{Action, Draft, Kind, ListFilter, MemoryOptions, StateFilter};
use lakehouse_store::{Fault, FaultConfig, FaultyStore, ObjectStore, Op};

use crate::{objects, open};

fn faulty() -> (Arc<dyn ObjectStore>, Arc<FaultyStore>) {
    let clean = Arc::clone(lakehouse_testkit::memory_store().object_store());
    let faulty = Arc::new(FaultyStore::new(Arc::clone(&clean), FaultConfig::new(3)));
    (clean, faulty)
}

fn draft(task: &str) -> Draft {
    Draft::new(Kind::Pathway, task)
}

async fn commits(store: &Arc<dyn ObjectStore>) -> usize {
    objects(store, "memory/ns/events").await.len()
}

#[tokio::test]
async fn an_upsert_whose_answer_was_lost_adds_once_and_counts_no_replay() {
    let (clean, faulty) = faulty();
    let written: Arc<dyn ObjectStore> = faulty.clone();
    let memory = open(&written, "ns", MemoryOptions::default()).await;
    faulty.fail_next(Op::PutLostAck, 1);
    let done = memory.upsert(draft("count permits")).await.unwrap();
    assert_eq!(faulty.injected(Op::PutLostAck), 1);
    assert_eq!(done.action, Action::Added);
    assert_eq!(done.record.replay_count, 1);
    assert_eq!(commits(&clean).await, 1);
    let reopened = open(&clean, "ns", MemoryOptions::default()).await;
    assert_eq!(reopened.get(&done.record.id).unwrap().replay_count, 1);
}

#[tokio::test]
async fn a_revise_whose_answer_was_lost_lands_once() {
    let (clean, faulty) = faulty();
    let written: Arc<dyn ObjectStore> = faulty.clone();
    let memory = open(&written, "ns", MemoryOptions::default()).await;
    let first = memory.upsert(draft("count permits")).await.unwrap().record;
    faulty.fail_next(Op::PutLostAck, 1);
    let second = memory
        .revise(&first.id, draft("count permits by ward"), Some(1))
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(commits(&clean).await, 2);
    let chain = memory.history(&second.id, None).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].superseded_by.as_deref(), Some(second.id.as_str()));
}

#[tokio::test]
async fn after_a_write_of_unknown_outcome_the_next_write_sees_it() {
    let (clean, faulty) = faulty();
    let written: Arc<dyn ObjectStore> = faulty.clone();
    let memory = open(&written, "ns", MemoryOptions::default()).await;
    // The put lands, its answer is lost, and every read that could settle it fails too.
    faulty.fail_next(Op::PutLostAck, 1);
    faulty.fail_next(Op::Get, 1000);
    let err = memory.upsert(draft("count permits")).await.unwrap_err();
    assert_eq!(err.fault(), Fault::Unavailable, "{err}");
    assert_eq!(commits(&clean).await, 1, "the commit landed");
    assert!(memory.is_empty(), "the handle does not know it landed");
    // The store answers again: the same UPSERT finds the record it made and says so.
    faulty.fail_next(Op::Get, 0);
    let again = memory.upsert(draft("count permits")).await.unwrap();
    assert_eq!(again.action, Action::Updated);
    assert_eq!(again.record.replay_count, 2);
    let all = memory.list(&ListFilter {
        state: StateFilter::All,
        ..ListFilter::default()
    });
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn a_put_that_failed_before_writing_is_tried_again() {
    let (clean, faulty) = faulty();
    let written: Arc<dyn ObjectStore> = faulty.clone();
    let memory = open(&written, "ns", MemoryOptions::default()).await;
    faulty.fail_next(Op::Put, 2);
    let done = memory.upsert(draft("count permits")).await.unwrap();
    assert_eq!(done.action, Action::Added);
    assert_eq!(faulty.injected(Op::Put), 2);
    assert_eq!(commits(&clean).await, 1);
}
