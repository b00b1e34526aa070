//! Two writers on one namespace (separate handles, as two processes would have): the loser of
//! a race for a commit re-checks its operation; a still-valid one lands after the winner's, an
//! invalidated one is a `Conflict` and writes nothing. Run on a local folder and on S3.

use std::sync::Arc;

use lakehouse_memory::{Action, Draft, Kind, ListFilter, MemoryError, MemoryOptions, StateFilter};
use lakehouse_store::ObjectStore;

use crate::{objects, open};

async fn two_writers(store: Arc<dyn ObjectStore>) {
    let a = open(&store, "shared", MemoryOptions::default()).await;
    let first = a
        .upsert(Draft::new(Kind::Playbook, "monthly contract audit"))
        .await
        .unwrap()
        .record;
    let b = open(&store, "shared", MemoryOptions::default()).await;
    assert_eq!(b.get(&first.id).unwrap().id, first.id);

    // A revises; B, not knowing, revises the same version: B's is a conflict naming the tip.
    let a_rev = a
        .revise(&first.id, Draft::new(Kind::Playbook, "audit v2"), None)
        .await
        .unwrap();
    let before = objects(&store, "memory/shared/events").await;
    let err = b
        .revise(&first.id, Draft::new(Kind::Playbook, "audit v2 by b"), None)
        .await
        .unwrap_err();
    match &err {
        MemoryError::Conflict { seq, source, .. } => {
            assert_eq!(*seq, 2);
            assert!(
                matches!(&**source, MemoryError::NotTip { tip, .. } if *tip == a_rev.id),
                "{source}"
            );
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert!(err.to_string().contains("another writer"), "{err}");
    assert_eq!(
        objects(&store, "memory/shared/events").await,
        before,
        "B wrote nothing"
    );

    // A retires; B (stale again) records an outcome on another record: still valid, lands after.
    let other = a
        .upsert(Draft::new(Kind::Pathway, "vendor lookup"))
        .await
        .unwrap()
        .record;
    b.refresh().await.unwrap();
    a.retire(&a_rev.id, "superseded by policy", Some("a"), false)
        .await
        .unwrap();
    let outcome = b.record_outcome(&other.id, true, None).await.unwrap();
    assert_eq!(outcome.success_count, 1);
    // ... but B retiring the record A just retired is refused.
    let err = b.retire(&a_rev.id, "also", None, false).await.unwrap_err();
    assert!(matches!(err, MemoryError::Retired { .. }), "{err}");

    // Both upsert the same new workflow: one adds, the other's becomes a replay.
    let x = a
        .upsert(Draft::new(Kind::Pathway, "same new workflow"))
        .await
        .unwrap();
    let y = b
        .upsert(Draft::new(Kind::Pathway, "same new workflow"))
        .await
        .unwrap();
    assert_eq!((x.action, y.action), (Action::Added, Action::Updated));
    assert_eq!(y.record.replay_count, 2);

    // Concurrent bursts from both: every operation lands exactly once, numbered without gaps.
    let (a, b) = (Arc::new(a), Arc::new(b));
    let burst = |m: Arc<lakehouse_memory::Memory>, who: &'static str| async move {
        for i in 0..15 {
            m.upsert(Draft::new(Kind::Pathway, format!("{who} task {i}")))
                .await
                .unwrap();
        }
    };
    tokio::join!(burst(Arc::clone(&a), "a"), burst(Arc::clone(&b), "b"));
    let fresh = open(&store, "shared", MemoryOptions::default()).await;
    let all = fresh.list(&ListFilter {
        state: StateFilter::All,
        ..ListFilter::default()
    });
    assert_eq!(all.len(), 4 + 30);
    assert_eq!(
        fresh.seq() as usize,
        objects(&store, "memory/shared/events").await.len()
    );
    assert!(fresh.anomalies().0.is_empty());
}

#[tokio::test]
async fn two_writers_on_a_local_folder() {
    let (_dir, store) = lakehouse_testkit::local_store();
    two_writers(Arc::clone(store.object_store())).await;
}

#[tokio::test]
async fn two_writers_on_s3() {
    let store = lakehouse_testkit::s3_store("memory-writers").await;
    two_writers(Arc::clone(store.object_store())).await;
}

#[tokio::test]
async fn two_writers_with_different_embedders_on_a_new_namespace() {
    let store: Arc<dyn ObjectStore> = Arc::clone(lakehouse_testkit::memory_store().object_store());
    let a = open(&store, "fresh", MemoryOptions::default()).await;
    let b = lakehouse_memory::Memory::open(Arc::clone(&store), "fresh", MemoryOptions::default())
        .await
        .unwrap()
        .with_embedder(
            Arc::new(lakehouse_models::HashEmbedder::new(32).unwrap()),
            "hash:32",
        )
        .unwrap();
    b.upsert(Draft::new(Kind::Pathway, "written first, 32 dimensions"))
        .await
        .unwrap();
    // A opened the namespace empty; after losing the race it must not add 64-dimension vectors.
    let err = a
        .upsert(Draft::new(Kind::Pathway, "written second"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MemoryError::Conflict { source, .. } if matches!(**source, MemoryError::EmbedderMismatch { .. })),
        "{err}"
    );
    assert_eq!(objects(&store, "memory/fresh/events").await.len(), 1);
}
