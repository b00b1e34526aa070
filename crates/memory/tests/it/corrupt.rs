//! Damaged event streams, written by hand: a dangling parent, a cycle, a duplicate id, an
//! unknown record, and an undecodable commit. Folding reports them; history stops with an
//! error instead of looping; a commit that cannot be read stops the open with its name.

use std::sync::Arc;

use lakehouse_memory::{Memory, MemoryError, MemoryOptions, MemoryQuery};
use lakehouse_store::ObjectStore;
use lakehouse_store::object_store::ObjectStoreExt;
use serde_json::{Value, json};

use crate::open;

fn record(id: &str, parent: Option<&str>, version: u32) -> Value {
    json!({
        "id": id, "namespace": "bad", "kind": "pathway", "content": format!("task {id}"),
        "fingerprint": format!("fp-{id}"), "version": version, "root_id": parent.unwrap_or(id),
        "parent_id": parent, "created_at": "2026-11-25T00:00:00Z",
        "replay_count": 1, "success_count": 0, "failure_count": 0
    })
}

async fn put_commit(store: &Arc<dyn ObjectStore>, seq: u64, events: Value) {
    let body = json!({"v": 1, "seq": seq, "at": "2026-11-25T00:00:00Z", "writer": "hand", "events": events});
    store
        .put(
            &lakehouse_store::Path::from(format!("memory/bad/events/{seq:020}.json")),
            serde_json::to_vec(&body).unwrap().into(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn cycles_and_dangling_parents_are_reported_never_looped() {
    let store: Arc<dyn ObjectStore> = Arc::clone(lakehouse_testkit::memory_store().object_store());
    let created =
        json!({"op": "created", "embedder": {"spec": "hash:64", "id": "hash:64", "dim": 64}});
    put_commit(
        &store,
        1,
        json!([created, {"op": "added", "record": record("m1", None, 1)}]),
    )
    .await;
    // m2 revises m77, which does not exist.
    put_commit(
        &store,
        2,
        json!([{"op": "revised", "parent": "m77", "record": record("m2", Some("m77"), 2)}]),
    )
    .await;
    // m77 now appears as a revision of m2: m2 -> m77 -> m2 is a cycle.
    put_commit(
        &store,
        3,
        json!([{"op": "revised", "parent": "m2", "record": record("m77", Some("m2"), 3)}]),
    )
    .await;
    // The same id twice, and a replay of a record nobody wrote.
    put_commit(
        &store,
        4,
        json!([
            {"op": "added", "record": record("m1", None, 1)},
            {"op": "replayed", "id": "m404"}
        ]),
    )
    .await;

    let memory = open(&store, "bad", MemoryOptions::default()).await;
    let (anomalies, _) = memory.anomalies();
    let text: Vec<String> = anomalies
        .iter()
        .map(|a| format!("{}: {}", a.seq, a.message))
        .collect();
    assert_eq!(anomalies.len(), 3, "{text:?}");
    assert!(
        text[0].starts_with("2: ") && text[0].contains("m77, which does not exist"),
        "{text:?}"
    );
    assert!(text[1].contains("added twice"), "{text:?}");
    assert!(text[2].contains("unknown record m404"), "{text:?}");

    for start in ["m2", "m77"] {
        let err = memory.history(start, None).unwrap_err();
        assert!(
            matches!(&err, MemoryError::CorruptChain { detail, .. } if detail.contains("cycle")),
            "{err}"
        );
    }
    // The healthy chain is unaffected, and so is the rest of the namespace.
    assert_eq!(memory.history("m1", None).unwrap().len(), 1);
    assert_eq!(memory.get("m1").unwrap().replay_count, 1);
    let hits = memory.search(&MemoryQuery::new("task")).await.unwrap();
    assert!(
        hits.iter().all(|h| h.record.id != "m2"),
        "m2 was superseded by m77"
    );
    // Revising the old version names the tip, found by following successors (no hang).
    let err = memory
        .revise(
            "m2",
            lakehouse_memory::Draft::new(lakehouse_memory::Kind::Pathway, "x"),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MemoryError::NotTip { tip, .. } if tip == "m77"),
        "{err}"
    );
}

#[tokio::test]
async fn an_undecodable_commit_stops_the_open_with_its_name() {
    let store: Arc<dyn ObjectStore> = Arc::clone(lakehouse_testkit::memory_store().object_store());
    let memory = open(&store, "bad", MemoryOptions::default()).await;
    memory
        .upsert(lakehouse_memory::Draft::new(
            lakehouse_memory::Kind::Pathway,
            "fine",
        ))
        .await
        .unwrap();
    store
        .put(
            &lakehouse_store::Path::from("memory/bad/events/00000000000000000002.json"),
            "{\"v\":1,".into(),
        )
        .await
        .unwrap();
    let err = Memory::open(Arc::clone(&store), "bad", MemoryOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MemoryError::Corrupt { path, .. } if path.ends_with("00000000000000000002.json")),
        "{err}"
    );
    // A commit whose number disagrees with its name is refused too.
    put_commit(&store, 2, json!([])).await;
    store
        .put(
            &lakehouse_store::Path::from("memory/bad/events/00000000000000000003.json"),
            serde_json::to_vec(&json!({"v": 1, "seq": 9, "at": "2026-11-25T00:00:00Z", "writer": "x", "events": []})).unwrap().into(),
        )
        .await
        .unwrap();
    let err = Memory::open(Arc::clone(&store), "bad", MemoryOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("commit number 9"), "{err}");
}
