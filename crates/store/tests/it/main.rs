//! The journal conformance suite (`lakehouse_store::journal::testing`) against every backend:
//! memory, a local folder, the S3 test server, a prefixed store, and a store failing at random.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use lakehouse_store::journal::testing;
use lakehouse_store::{FaultConfig, FaultyStore, ObjectStore, Op, PrefixStore};
use lakehouse_testkit as testkit;

/// A store for one check, with whatever must live as long as it.
struct Backend {
    store: Arc<dyn ObjectStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn memory() -> Backend {
    Backend {
        store: Arc::clone(testkit::memory_store().object_store()),
        _dir: None,
    }
}

async fn local() -> Backend {
    let (dir, store) = testkit::local_store();
    Backend {
        store: Arc::clone(store.object_store()),
        _dir: Some(dir),
    }
}

async fn s3() -> Backend {
    let store = testkit::s3_store("journal-conformance").await;
    Backend {
        store: Arc::clone(store.object_store()),
        _dir: None,
    }
}

async fn prefixed_local() -> Backend {
    let (dir, store) = testkit::local_store();
    let inner = Arc::clone(store.object_store());
    Backend {
        store: Arc::new(PrefixStore::new(inner, "nested/root")),
        _dir: Some(dir),
    }
}

/// Memory behind random faults and latency: every check must still hold.
async fn faulty() -> Backend {
    let config = FaultConfig::new(2026)
        .with_rate(Op::Put, 0.05)
        .with_rate(Op::PutLostAck, 0.05)
        .with_rate(Op::Get, 0.05)
        .with_rate(Op::List, 0.05)
        .with_rate(Op::Delete, 0.1)
        .with_latency(Duration::from_micros(200), Duration::from_millis(1));
    let inner = Arc::clone(testkit::memory_store().object_store());
    Backend {
        store: Arc::new(FaultyStore::new(inner, config)),
        _dir: None,
    }
}

macro_rules! conformance {
    ($backend:ident: $($check:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let backend = super::$backend().await;
                    super::testing::$check(std::sync::Arc::clone(&backend.store)).await;
                }
            )*
        }
    };
    ($($backend:ident),* $(,)?) => {
        $(
            conformance!($backend:
                append_flush_read,
                flush_by_count,
                flush_by_delay,
                close_flushes_and_refuses,
                two_writers_one_prefix,
                reopen_sees_everything,
                compaction_races_appends,
                compaction_over_a_listing_that_missed_a_batch,
                concurrent_compactions,
                flush_fails_then_succeeds,
                lost_ack_is_not_duplicated,
                failed_deletes_leave_no_duplicates,
                read_since_cursor,
                malformed_object_is_named,
                random_faults_lose_nothing,
            );
        )*
    };
}

conformance!(memory, local, s3, prefixed_local, faulty);
