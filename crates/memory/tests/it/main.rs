//! Integration tests of lakehouse-memory: every operation against a real store, a property
//! test against a reference model, damaged event streams, two writers, and search with the
//! real MiniLM model.
#![allow(clippy::unwrap_used)]

mod corrupt;
mod faults;
mod ops;
mod props;
mod search;
mod writers;

use std::sync::Arc;

use lakehouse_memory::{Memory, MemoryOptions};
use lakehouse_models::{Embedder, HashEmbedder};
use lakehouse_store::{ManualClock, ObjectStore, Timestamp};

/// The start of every test clock: 2026-11-25T00:00:00Z.
pub(crate) const T0: i64 = 1_795_564_800_000_000;

pub(crate) fn hash_embedder() -> Arc<dyn Embedder> {
    Arc::new(HashEmbedder::new(64).unwrap())
}

/// A clock at [`T0`] and options using it.
pub(crate) fn clock() -> (ManualClock, MemoryOptions) {
    let clock = ManualClock::new(Timestamp(T0));
    let options = MemoryOptions::default().with_clock(Arc::new(clock.clone()));
    (clock, options)
}

/// `namespace` opened with the hash embedder.
pub(crate) async fn open(
    store: &Arc<dyn ObjectStore>,
    namespace: &str,
    options: MemoryOptions,
) -> Memory {
    Memory::open(Arc::clone(store), namespace, options)
        .await
        .unwrap()
        .with_embedder(hash_embedder(), "hash:64")
        .unwrap()
}

/// Every object under `prefix`, as paths.
pub(crate) async fn objects(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let prefix = lakehouse_store::Path::from(prefix);
    let mut out: Vec<String> = store
        .list(Some(&prefix))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    out.sort();
    out
}
