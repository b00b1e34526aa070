//! SEARCH with the real MiniLM model (fetched by `scripts/fetch-model.sh`; no fallback):
//! meaning over wording, kind and metadata filters, replays as a tie-breaker, and as-of.

use std::sync::Arc;

use lakehouse_memory::{Draft, Kind, Memory, MemoryOptions, MemoryQuery};
use lakehouse_models::{EmbedderSpec, open_embedder};
use lakehouse_store::{Clock, ObjectStore, Timestamp};
use serde_json::json;

use crate::clock;

async fn minilm_memory(options: MemoryOptions) -> Memory {
    let store: Arc<dyn ObjectStore> = Arc::clone(lakehouse_testkit::memory_store().object_store());
    let embedder = open_embedder(&EmbedderSpec::default())
        .await
        .expect("MiniLM must be installed: run scripts/fetch-model.sh");
    Memory::open(store, "agent/search", options)
        .await
        .unwrap()
        .with_embedder(embedder, "minilm")
        .unwrap()
}

fn sql(content: &str, query: &str) -> Draft {
    Draft::new(Kind::Pathway, content).with_step("sql", json!({ "query": query }))
}

#[tokio::test]
async fn hybrid_search_over_live_tips_with_filters_boost_and_as_of() {
    let (clock, options) = clock();
    let memory = minilm_memory(options).await;
    let drafts = vec![
        sql(
            "count building permits issued per community area",
            "select ...",
        ),
        sql(
            "list the largest city contracts by award amount",
            "select ...",
        ),
        sql("find SEC ticker for a company name", "select ..."),
        Draft::new(
            Kind::Playbook,
            "weekly report of roof repair permits in {ward}",
        )
        .with_meta("team", "ops"),
        Draft::new(Kind::Playbook, "summarise vendor spending for {department}")
            .with_meta("team", "finance"),
        sql(
            "look up electrical work permits in San Francisco",
            "select ...",
        ),
    ];
    let ids: Vec<String> = memory
        .upsert_many(drafts)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.record.id)
        .collect();

    // Meaning, not words: no query word appears in the matching record.
    let hits = memory
        .search(&MemoryQuery::new(
            "which firm received the biggest municipal deal",
        ))
        .await
        .unwrap();
    assert_eq!(
        hits[0].record.id,
        ids[1],
        "{:?}",
        hits.iter()
            .map(|h| &h.record.draft.content)
            .collect::<Vec<_>>()
    );
    assert!(hits[0].vector_score.is_some());
    let hits = memory
        .search(&MemoryQuery::new("stock symbol of a corporation"))
        .await
        .unwrap();
    assert_eq!(hits[0].record.id, ids[2]);

    // Filters: kind and metadata.
    let hits = memory
        .search(
            &MemoryQuery::new("permits report")
                .with_kind(Kind::Playbook)
                .with_filter("team", "ops"),
        )
        .await
        .unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| h.record.id.as_str())
            .collect::<Vec<_>>(),
        [ids[3].as_str()]
    );

    // Two workflows with the same text (different arguments): the replayed one wins the tie.
    let a = memory
        .upsert(sql("total permit fees by year", "select a"))
        .await
        .unwrap()
        .record;
    let b = memory
        .upsert(sql("total permit fees by year", "select b"))
        .await
        .unwrap()
        .record;
    assert_ne!(a.id, b.id);
    for _ in 0..2 {
        memory
            .upsert(sql("total permit fees by year", "select b"))
            .await
            .unwrap();
    }
    let hits = memory
        .search(&MemoryQuery::new("total permit fees by year").with_k(2))
        .await
        .unwrap();
    assert_eq!(hits[0].record.id, b.id, "replayed twice");
    assert_eq!(hits[1].record.id, a.id);
    assert_eq!(hits[0].record.replay_count, 3);

    // as_of: before the revision the old text answered; now the new one does.
    let before = clock.now();
    clock.advance_micros(1_000_000);
    let revised = memory
        .revise(
            &ids[2],
            sql(
                "map a company to its exchange ticker symbol and CIK",
                "select ...",
            ),
            None,
        )
        .await
        .unwrap();
    let now = memory
        .search(&MemoryQuery::new("stock symbol of a corporation"))
        .await
        .unwrap();
    assert_eq!(now[0].record.id, revised.id);
    let then = memory
        .search(&MemoryQuery::new("stock symbol of a corporation").as_of(before))
        .await
        .unwrap();
    assert_eq!(then[0].record.id, ids[2]);
    assert!(then[0].record.is_live(), "as of then it was the tip");
    assert!(
        then.iter().all(|h| h.record.id != revised.id),
        "the revision did not exist yet"
    );
    // Before anything was written, nothing answers.
    let empty = memory
        .search(&MemoryQuery::new("permits").as_of(Timestamp(crate::T0 - 1)))
        .await
        .unwrap();
    assert!(empty.is_empty());
}

/// Searches share the handle with each other and with a writer: none fails, and every write is
/// found by the search that follows its acknowledgement.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn searches_beside_a_writer_see_each_acknowledged_write() {
    let store: Arc<dyn ObjectStore> = Arc::clone(lakehouse_testkit::memory_store().object_store());
    let (_clock, options) = clock();
    let memory = Arc::new(crate::open(&store, "agent/concurrent", options).await);
    memory
        .upsert(Draft::new(
            Kind::Fact,
            "seed record so searches have something",
        ))
        .await
        .unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let searchers: Vec<_> = (0..4)
        .map(|i| {
            let (memory, done) = (Arc::clone(&memory), Arc::clone(&done));
            tokio::spawn(async move {
                let mut searches = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) || searches == 0 {
                    let hits = memory
                        .search(&MemoryQuery::new(format!("record about topic {i}")))
                        .await
                        .unwrap();
                    assert!(!hits.is_empty());
                    searches += 1;
                    tokio::task::yield_now().await;
                }
                searches
            })
        })
        .collect();
    for n in 0..40 {
        let content = format!("written record {n} about topic {}", n * 7);
        let written = memory
            .upsert(Draft::new(Kind::Fact, content.clone()))
            .await
            .unwrap()
            .record;
        let hits = memory.search(&MemoryQuery::new(content)).await.unwrap();
        assert_eq!(hits[0].record.id, written.id, "write {n} not found next");
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for searcher in searchers {
        assert!(searcher.await.unwrap() > 0);
    }
    assert_eq!(memory.len(), 41);
}
