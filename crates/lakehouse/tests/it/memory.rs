//! Memory through the facade: a namespace remembers its embedder, so reopening needs no spec
//! and a different one is refused.

use lakehouse::memory::{Draft, Kind, MemoryError, MemoryQuery};
use lakehouse::models::EmbedderSpec;
use lakehouse::{Config, Error, Lakehouse};

#[tokio::test]
async fn a_namespace_reopens_with_its_recorded_embedder() {
    let dir = tempfile::tempdir().unwrap();
    let lakehouse = Lakehouse::open(Config::default().with_store_url(dir.path().to_string_lossy()))
        .await
        .unwrap();
    let spec: EmbedderSpec = "hash:48".parse().unwrap();
    let memory = lakehouse.memory("proj/agent", Some(spec)).await.unwrap();
    memory
        .upsert(Draft::new(
            Kind::Playbook,
            "audit contracts over one million",
        ))
        .await
        .unwrap();
    drop(memory);

    let reopened = lakehouse.memory("proj/agent", None).await.unwrap();
    assert_eq!(reopened.recorded_embedder().unwrap().spec, "hash:48");
    let hits = reopened
        .search(&MemoryQuery::new("contracts audit"))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);

    let err = lakehouse
        .memory("proj/agent", Some("hash:16".parse().unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Memory(MemoryError::EmbedderMismatch { .. })),
        "{err}"
    );
    let bare = lakehouse
        .memory_without_embedder("proj/agent")
        .await
        .unwrap();
    assert_eq!(bare.len(), 1);
}
