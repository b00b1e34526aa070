//! One test per operation, and bad input writing nothing.

use std::sync::Arc;

use lakehouse_memory::{
    Action, Draft, DraftPatch, Kind, ListFilter, Memory, MemoryError, MemoryOptions, MemoryQuery,
    StateFilter,
};
use lakehouse_store::object_store::ObjectStoreExt;
use lakehouse_store::{ObjectStore, Timestamp};
use serde_json::json;

use crate::{clock, objects, open};

fn store() -> Arc<dyn ObjectStore> {
    Arc::clone(lakehouse_testkit::memory_store().object_store())
}

fn pathway(task: &str) -> Draft {
    Draft::new(Kind::Pathway, task)
        .with_step(
            "sql",
            json!({"query": "select count(*) from permits", "limit": 5}),
        )
        .with_outcome("answered")
}

#[tokio::test]
async fn upsert_adds_then_updates_identical_workflows() {
    let store = store();
    let (_, options) = clock();
    let memory = open(&store, "team/agent", options).await;
    let first = memory
        .upsert(pathway("count permits by ward"))
        .await
        .unwrap();
    assert_eq!(first.action, Action::Added);
    assert_eq!(first.record.version, 1);
    assert_eq!(first.record.root_id, first.record.id);
    assert_eq!(first.record.replay_count, 1);
    // Same workflow, keys re-ordered and re-spaced, another session: an UPDATE.
    let same = Draft::new(Kind::Pathway, "count  permits by\nward")
        .with_step(
            "sql",
            json!({"limit": 5, "query": "select count(*) from permits"}),
        )
        .with_session("s-2");
    let second = memory.upsert(same).await.unwrap();
    assert_eq!(second.action, Action::Updated);
    assert_eq!(second.record.id, first.record.id);
    assert_eq!(second.record.replay_count, 2);
    assert_eq!(second.record.draft.sessions, vec!["s-2"]);
    let other = memory
        .upsert(pathway("count contracts by vendor"))
        .await
        .unwrap();
    assert_eq!(other.action, Action::Added);
    assert_ne!(other.record.id, first.record.id);
    assert_eq!(memory.len(), 2);
    // One commit per operation (plus none for snapshots yet).
    assert_eq!(objects(&store, "memory/team/agent/events").await.len(), 3);
}

#[tokio::test]
async fn upsert_many_is_one_commit_and_counts_duplicates_as_replays() {
    let store = store();
    let memory = open(&store, "bulk", MemoryOptions::default()).await;
    let done = memory
        .upsert_many(vec![
            pathway("a task"),
            pathway("b task"),
            pathway("a task"),
        ])
        .await
        .unwrap();
    let actions: Vec<Action> = done.iter().map(|u| u.action).collect();
    assert_eq!(actions, [Action::Added, Action::Added, Action::Updated]);
    assert_eq!(done[2].record.id, done[0].record.id);
    assert_eq!(memory.get(&done[0].record.id).unwrap().replay_count, 2);
    assert_eq!(objects(&store, "memory/bulk/events").await.len(), 1);
    // A bad draft anywhere rejects the whole batch.
    let err = memory
        .upsert_many(vec![pathway("c task"), Draft::new(Kind::Playbook, " ")])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("draft 2: content is empty"),
        "{err}"
    );
    assert_eq!(memory.len(), 2);
}

#[tokio::test]
async fn revise_chains_versions_and_only_from_the_tip() {
    let store = store();
    let (clock, options) = clock();
    let memory = open(&store, "ns", options).await;
    let v1 = memory
        .upsert(pathway("find late contracts"))
        .await
        .unwrap()
        .record;
    clock.advance_micros(1_000_000);
    let v2 = memory
        .revise(
            &v1.id,
            pathway("find late contracts, newest first"),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!((v2.version, v2.root_id.as_str()), (2, v1.id.as_str()));
    assert_eq!(v2.parent_id.as_deref(), Some(v1.id.as_str()));
    let old = memory.get(&v1.id).unwrap();
    assert_eq!(old.superseded_by.as_deref(), Some(v2.id.as_str()));
    assert_eq!(old.superseded_at, Some(v2.created_at));
    assert!(!old.is_live());

    // Revising the old version names the tip; a wrong expected version is refused.
    let err = memory.revise(&v1.id, pathway("x"), None).await.unwrap_err();
    assert!(
        matches!(&err, MemoryError::NotTip { tip, .. } if *tip == v2.id),
        "{err}"
    );
    assert!(err.to_string().contains(&v2.id));
    let err = memory
        .revise(&v2.id, pathway("x"), Some(1))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        MemoryError::VersionMismatch {
            expected: 1,
            actual: 2,
            ..
        }
    ));
    let v3 = memory.revise(&v2.id, pathway("v3"), Some(2)).await.unwrap();
    assert_eq!(v3.version, 3);

    // Upserting the old content again adds a new chain: the old record is not live.
    let again = memory.upsert(pathway("find late contracts")).await.unwrap();
    assert_eq!(again.action, Action::Added);
}

#[tokio::test]
async fn retire_records_reason_and_actor_and_hides_from_search() {
    let store = store();
    let memory = open(&store, "ns", MemoryOptions::default()).await;
    let a = memory
        .upsert(pathway("permits issued in 2024"))
        .await
        .unwrap()
        .record;
    let b = memory
        .revise(&a.id, pathway("permits issued in 2024 by type"), None)
        .await
        .unwrap();
    let hits = memory
        .search(&MemoryQuery::new("permits issued"))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "only the tip is live");
    assert_eq!(hits[0].record.id, b.id);

    let retired = memory
        .retire(&b.id, "wrong table", Some("reviewer"), false)
        .await
        .unwrap();
    assert_eq!(retired[0].retire_reason.as_deref(), Some("wrong table"));
    assert_eq!(retired[0].retired_by.as_deref(), Some("reviewer"));
    assert!(
        memory
            .search(&MemoryQuery::new("permits issued"))
            .await
            .unwrap()
            .is_empty()
    );
    // Still in history; retiring again or revising it is refused.
    assert_eq!(memory.history(&a.id, None).unwrap().len(), 2);
    let err = memory
        .retire(&b.id, "again", None, false)
        .await
        .unwrap_err();
    assert!(matches!(err, MemoryError::Retired { .. }), "{err}");
    let err = memory.revise(&b.id, pathway("x"), None).await.unwrap_err();
    assert!(matches!(err, MemoryError::Retired { .. }), "{err}");
    // A whole chain: the versions not yet retired.
    let chain = memory.retire(&a.id, "obsolete", None, true).await.unwrap();
    assert_eq!(
        chain.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [a.id.as_str()]
    );
    let err = memory.retire(&a.id, "  ", None, false).await.unwrap_err();
    assert!(err.to_string().contains("reason"), "{err}");
}

#[tokio::test]
async fn history_from_any_member_and_as_of() {
    let store = store();
    let (clock, options) = clock();
    let memory = open(&store, "ns", options).await;
    let v1 = memory.upsert(pathway("v1")).await.unwrap().record;
    clock.advance_micros(10);
    let v2 = memory.revise(&v1.id, pathway("v2"), None).await.unwrap();
    let between = Timestamp(v2.created_at.0 + 5);
    clock.advance_micros(10);
    let v3 = memory.revise(&v2.id, pathway("v3"), None).await.unwrap();
    for member in [&v1.id, &v2.id, &v3.id] {
        let ids: Vec<String> = memory
            .history(member, None)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [v1.id.clone(), v2.id.clone(), v3.id.clone()]);
    }
    let then = memory.history(&v1.id, Some(between)).unwrap();
    assert_eq!(then.len(), 2);
    assert!(then[1].is_live(), "v2 was the tip then");
    let err = memory.history("m999", None).unwrap_err();
    assert!(matches!(err, MemoryError::UnknownRecord { .. }));
    // LIST as of the same moment: v2 was the live tip, v3 did not exist.
    let live_then = memory.list(&ListFilter {
        as_of: Some(between),
        ..ListFilter::default()
    });
    let ids: Vec<&str> = live_then.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [v2.id.as_str()]);
    let all_then = memory.list(&ListFilter {
        as_of: Some(between),
        state: StateFilter::All,
        ..ListFilter::default()
    });
    assert_eq!(all_then.len(), 2);
    assert!(all_then.iter().all(|r| r.embedding.is_empty()));
    let now = memory.list(&ListFilter::default());
    assert_eq!(now[0].id, v3.id);
}

#[tokio::test]
async fn namespaces_are_listed_with_their_commits_and_sizes() {
    let store = store();
    assert!(
        lakehouse_memory::namespaces(store.as_ref())
            .await
            .unwrap()
            .is_empty()
    );
    let (_, options) = clock();
    let a = open(&store, "team/a", options.clone()).await;
    a.upsert(pathway("one")).await.unwrap();
    a.upsert(pathway("two")).await.unwrap();
    a.compact().await.unwrap();
    let b = open(&store, "b", options).await;
    b.upsert(pathway("three")).await.unwrap();
    // an object under memory/ that is no namespace's is not one
    store
        .put(&lakehouse_store::Path::from("memory/notes.txt"), "x".into())
        .await
        .unwrap();
    let found = lakehouse_memory::namespaces(store.as_ref()).await.unwrap();
    let summary: Vec<(&str, u64, u64)> = found
        .iter()
        .map(|n| (n.name.as_str(), n.commits, n.snapshots))
        .collect();
    assert_eq!(summary, [("b", 1, 0), ("team/a", 2, 1)]);
    assert!(found.iter().all(|n| n.bytes > 0));
}

#[tokio::test]
async fn outcomes_get_and_list_with_filters() {
    let store = store();
    let memory = open(&store, "ns", MemoryOptions::default()).await;
    let a = memory
        .upsert(Draft::new(Kind::Playbook, "weekly permit report").with_meta("team", "ops"))
        .await
        .unwrap()
        .record;
    let b = memory
        .upsert(pathway("one-off lookup"))
        .await
        .unwrap()
        .record;
    memory
        .record_outcome(&a.id, true, Some("s1"))
        .await
        .unwrap();
    let after = memory.record_outcome(&a.id, false, None).await.unwrap();
    assert_eq!((after.success_count, after.failure_count), (1, 1));
    assert_eq!(after.outcomes[0].session.as_deref(), Some("s1"));
    memory.retire(&b.id, "noise", None, false).await.unwrap();

    let live = memory.list(&ListFilter::default());
    assert_eq!(live.iter().map(|r| &r.id).collect::<Vec<_>>(), [&a.id]);
    let retired = memory.list(&ListFilter {
        state: StateFilter::Retired,
        ..ListFilter::default()
    });
    assert_eq!(retired[0].id, b.id);
    let all = memory.list(&ListFilter {
        state: StateFilter::All,
        ..ListFilter::default()
    });
    assert_eq!(all.len(), 2);
    let by_meta = memory.list(&ListFilter {
        filters: vec![("team".into(), "ops".into())],
        state: StateFilter::All,
        ..ListFilter::default()
    });
    assert_eq!(by_meta.len(), 1);
    let pathways = memory.list(&ListFilter {
        kind: Some(Kind::Pathway),
        state: StateFilter::All,
        ..ListFilter::default()
    });
    assert_eq!(pathways[0].id, b.id);
    assert!(
        memory.get(&a.id).unwrap().embedding.is_empty(),
        "get omits the embedding"
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let store = store();
    for bad in ["../x", "a/../b", "", "a//b", "a/events"] {
        let err = Memory::open(Arc::clone(&store), bad, MemoryOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, MemoryError::InvalidNamespace { .. }),
            "{bad}: {err}"
        );
    }
    let memory = open(&store, "ns", MemoryOptions::default()).await;
    let a = memory.upsert(pathway("real")).await.unwrap().record;
    let before = objects(&store, "memory").await;

    assert!(matches!(
        memory
            .upsert(Draft::new(Kind::Pathway, ""))
            .await
            .unwrap_err(),
        MemoryError::InvalidInput(_)
    ));
    assert!(matches!(
        memory.revise("m404", pathway("x"), None).await.unwrap_err(),
        MemoryError::UnknownRecord { .. }
    ));
    assert!(matches!(
        memory.retire("m404", "why", None, false).await.unwrap_err(),
        MemoryError::UnknownRecord { .. }
    ));
    assert!(matches!(
        memory.record_outcome("nope", true, None).await.unwrap_err(),
        MemoryError::UnknownRecord { .. }
    ));
    assert!(
        memory
            .revise(&a.id, Draft::new(Kind::Pathway, "\n"), None)
            .await
            .is_err()
    );
    assert!(memory.search(&MemoryQuery::new("  ")).await.is_err());
    assert!(
        memory
            .search(&MemoryQuery::new("x").with_k(0))
            .await
            .is_err()
    );
    assert!(Draft::from_json("{\"kind\": \"pathway\"").is_err());
    assert_eq!(
        objects(&store, "memory").await,
        before,
        "nothing was written"
    );

    // Another embedder cannot write into this namespace.
    let other = lakehouse_models::HashEmbedder::new(32).unwrap();
    let err = Memory::open(Arc::clone(&store), "ns", MemoryOptions::default())
        .await
        .unwrap()
        .with_embedder(Arc::new(other), "hash:32")
        .unwrap_err();
    assert!(matches!(err, MemoryError::EmbedderMismatch { .. }), "{err}");
    // Without an embedder: reads work, writes that embed are refused.
    let bare = Memory::open(Arc::clone(&store), "ns", MemoryOptions::default())
        .await
        .unwrap();
    assert_eq!(bare.get(&a.id).unwrap().id, a.id);
    assert!(matches!(
        bare.upsert(pathway("y")).await.unwrap_err(),
        MemoryError::NoEmbedder
    ));
}

#[tokio::test]
async fn reopen_and_snapshots_give_the_same_state() {
    let store = store();
    let (clock, options) = clock();
    let options = options.with_snapshot_every(3);
    let memory = open(&store, "ns", options.clone()).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        clock.advance_micros(1);
        ids.push(
            memory
                .upsert(pathway(&format!("task {i}")))
                .await
                .unwrap()
                .record
                .id,
        );
    }
    memory
        .revise(&ids[0], pathway("task 0 revised"), None)
        .await
        .unwrap();
    memory.retire(&ids[1], "bad", None, false).await.unwrap();
    memory.record_outcome(&ids[2], true, None).await.unwrap();
    let snapshots = objects(&store, "memory/ns/snapshots").await;
    assert!(snapshots.len() >= 2, "{snapshots:?}");

    let all = ListFilter {
        state: StateFilter::All,
        ..ListFilter::default()
    };
    let reopened = open(&store, "ns", options.clone()).await;
    assert_eq!(reopened.list(&all), memory.list(&all));
    assert_eq!(reopened.seq(), memory.seq());
    // A damaged newest snapshot is skipped, and the commits fill in.
    let newest = snapshots.last().unwrap();
    store
        .put(
            &lakehouse_store::Path::from(newest.as_str()),
            "{garbage".into(),
        )
        .await
        .unwrap();
    let recovered = open(&store, "ns", options).await;
    assert_eq!(recovered.list(&all), memory.list(&all));
    assert_eq!(recovered.anomalies().1.len(), 1);
}

#[tokio::test]
async fn revise_with_a_patch_inherits_what_it_does_not_change() {
    let store = store();
    let (_, options) = clock();
    let memory = open(&store, "ns", options).await;
    let v1 = memory
        .upsert(pathway("find late contracts").with_meta("team", "ops"))
        .await
        .unwrap()
        .record;
    let patch = DraftPatch {
        content: Some("find late contracts, newest first".into()),
        ..DraftPatch::default()
    };
    let v2 = memory.revise_with(&v1.id, &patch, Some(1)).await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.draft.content, "find late contracts, newest first");
    assert_eq!(v2.draft.kind, Kind::Pathway);
    assert_eq!(v2.draft.steps, v1.draft.steps);
    assert_eq!(v2.draft.outcome.as_deref(), Some("answered"));
    assert_eq!(v2.draft.metadata["team"], "ops");
    // The search index sees the new text.
    let hits = memory
        .search(&MemoryQuery::new("newest first"))
        .await
        .unwrap();
    assert_eq!(hits[0].record.id, v2.id);

    // The old version is not the tip any more; an empty patch changes nothing and is refused.
    let err = memory.revise_with(&v1.id, &patch, None).await.unwrap_err();
    assert!(
        matches!(&err, MemoryError::NotTip { tip, .. } if *tip == v2.id),
        "{err}"
    );
    let err = memory
        .revise_with(&v2.id, &DraftPatch::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, MemoryError::InvalidInput(_)), "{err}");
    assert_eq!(memory.get(&v2.id).unwrap().version, 2, "nothing committed");
}
