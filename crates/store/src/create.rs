//! [`create_once`]: a create-only put that survives lost answers.
//!
//! A put can land while its caller is told it failed (a timeout after the store wrote, a
//! connection reset before the response), and a client that retries such a put — ours, or the
//! retry layer inside `object_store` — then meets its own object as `AlreadyExists`. Taking
//! that as "another writer won" makes a landed write look lost: a memory commit would be
//! decided again on top of itself. So on `AlreadyExists`, and after any error that leaves the
//! outcome open, the object is read back and the caller's `is_ours` decides whose it is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::{Fault, object_store_fault};

/// How many times a put (or the read that settles it) is tried again before the error is
/// returned.
const RETRIES: usize = 4;
/// The wait before the first retry; doubled for each one after.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);

/// Whose object a [`create_once`] found at its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// This call's object is there: written now, or by an earlier attempt whose answer was lost.
    Ours,
    /// Another writer's object was there first; its bytes.
    Theirs(Bytes),
}

/// Create `path` with `body` unless it exists, and say whose object is there afterwards.
///
/// `is_ours` is shown the bytes found at `path` when the put met an existing object or its
/// outcome is unknown; it should recognise this writer's object (by an operation id in it, or
/// by equal bytes). Errors that leave the store unreachable are retried a few times with
/// backoff, each time reading first whether an earlier attempt landed; other errors are
/// returned at once. An `Err` means the outcome is unknown only when the error is
/// [`Fault::Unavailable`]: the last attempt may still have landed.
pub async fn create_once(
    store: &dyn ObjectStore,
    path: &Path,
    body: Bytes,
    is_ours: impl Fn(&[u8]) -> bool,
) -> Result<Created, object_store::Error> {
    // Whether an earlier attempt may have written the object, so a read must come first.
    let unsettled = AtomicBool::new(false);
    let attempt = || async {
        // A put that met an object and a read that then found none take no retry; bounded
        // all the same, against a store where objects vanish.
        for _ in 0..8 {
            if unsettled.load(Ordering::Relaxed) {
                match store.get(path).await {
                    Ok(found) => return Ok(settle(found.bytes().await?, &is_ours)),
                    Err(object_store::Error::NotFound { .. }) => {
                        unsettled.store(false, Ordering::Relaxed);
                    }
                    Err(e) => return Err(e),
                }
            } else {
                let options = PutOptions {
                    mode: PutMode::Create,
                    ..PutOptions::default()
                };
                let put = store
                    .put_opts(path, PutPayload::from(body.clone()), options)
                    .await;
                match put {
                    Ok(_) => return Ok(Created::Ours),
                    Err(e) => {
                        unsettled.store(true, Ordering::Relaxed);
                        if !matches!(e, object_store::Error::AlreadyExists { .. }) {
                            return Err(e);
                        }
                    }
                }
            }
        }
        Err(object_store::Error::Generic {
            store: "create_once",
            source: format!("{path} kept appearing and vanishing").into(),
        })
    };
    attempt
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(FIRST_BACKOFF)
                .with_max_times(RETRIES),
        )
        .when(|e| object_store_fault(e) == Fault::Unavailable)
        .notify(|e, wait| tracing::debug!(%path, ?wait, "create-only put unsettled: {e}"))
        .await
}

fn settle(bytes: Bytes, is_ours: &impl Fn(&[u8]) -> bool) -> Created {
    if is_ours(&bytes) {
        Created::Ours
    } else {
        Created::Theirs(bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use super::*;
    use crate::{FaultConfig, FaultyStore, Op};

    fn faulty() -> FaultyStore {
        FaultyStore::new(Arc::new(InMemory::new()), FaultConfig::new(7))
    }

    fn equal(body: &'static [u8]) -> impl Fn(&[u8]) -> bool {
        move |found| found == body
    }

    #[tokio::test]
    async fn a_lost_answer_is_recognised_as_ours() {
        let store = faulty();
        let path = Path::from("a/1.json");
        store.fail_next(Op::PutLostAck, 1);
        let got = create_once(&store, &path, Bytes::from_static(b"mine"), equal(b"mine")).await;
        assert_eq!(got.unwrap(), Created::Ours);
        assert_eq!(store.injected(Op::PutLostAck), 1);
    }

    #[tokio::test]
    async fn a_failed_put_is_tried_again_and_lands_once() {
        let store = faulty();
        let path = Path::from("a/1.json");
        store.fail_next(Op::Put, 2);
        let got = create_once(&store, &path, Bytes::from_static(b"mine"), equal(b"mine")).await;
        assert_eq!(got.unwrap(), Created::Ours);
        let stored = store.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(stored, Bytes::from_static(b"mine"));
    }

    #[tokio::test]
    async fn another_writers_object_is_theirs() {
        let store = faulty();
        let path = Path::from("a/1.json");
        store.put(&path, "theirs".into()).await.unwrap();
        let got = create_once(&store, &path, Bytes::from_static(b"mine"), equal(b"mine")).await;
        assert_eq!(got.unwrap(), Created::Theirs(Bytes::from_static(b"theirs")));
    }

    #[tokio::test]
    async fn a_store_that_stays_down_is_an_error_after_the_attempts() {
        let store = faulty();
        let path = Path::from("a/1.json");
        store.fail_next(Op::Put, 1);
        store.fail_next(Op::Get, RETRIES as u64 + 1);
        let err = create_once(&store, &path, Bytes::from_static(b"mine"), equal(b"mine"))
            .await
            .unwrap_err();
        assert!(FaultyStore::is_injected(&err), "{err}");
        assert_eq!(object_store_fault(&err), Fault::Unavailable);
        // One put, then a read per retry.
        assert_eq!(store.injected(Op::Get), RETRIES as u64);
    }
}
