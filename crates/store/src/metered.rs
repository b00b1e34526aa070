//! `MeteredStore`: an `ObjectStore` wrapper counting requests and errors by operation, so a
//! long-running process can report what it asks of the store (`/metrics` in the server).
//! Every store [`Store::open`](crate::Store::open) makes is wrapped in one.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// The operations counted.
pub const STORE_OPS: [&str; 6] = ["put", "get", "list", "delete", "copy", "rename"];

/// Requests and errors per operation since the store was opened.
#[derive(Debug, Default)]
pub struct StoreStats {
    requests: [AtomicU64; 6],
    errors: [AtomicU64; 6],
}

impl StoreStats {
    /// `(operation, requests, errors)` for each of [`STORE_OPS`].
    pub fn snapshot(&self) -> Vec<(&'static str, u64, u64)> {
        STORE_OPS
            .iter()
            .enumerate()
            .map(|(i, op)| {
                (
                    *op,
                    self.requests[i].load(Ordering::Relaxed),
                    self.errors[i].load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    fn count<T>(&self, op: usize, result: &Result<T>) {
        self.requests[op].fetch_add(1, Ordering::Relaxed);
        if result.is_err() {
            self.errors[op].fetch_add(1, Ordering::Relaxed);
        }
    }
}

const PUT: usize = 0;
const GET: usize = 1;
const LIST: usize = 2;
const DELETE: usize = 3;
const COPY: usize = 4;
const RENAME: usize = 5;

/// Counts what passes through to `inner`.
#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn ObjectStore>,
    stats: Arc<StoreStats>,
}

impl MeteredStore {
    /// Wrap `inner`, counting into `stats`.
    pub fn new(inner: Arc<dyn ObjectStore>, stats: Arc<StoreStats>) -> Self {
        Self { inner, stats }
    }
}

impl fmt::Display for MeteredStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Metered({})", self.inner)
    }
}

fn counted<T: Send + 'static>(
    stats: Arc<StoreStats>,
    op: usize,
    stream: BoxStream<'static, Result<T>>,
) -> BoxStream<'static, Result<T>> {
    stats.requests[op].fetch_add(1, Ordering::Relaxed);
    stream
        .inspect(move |item| {
            if item.is_err() {
                stats.errors[op].fetch_add(1, Ordering::Relaxed);
            }
        })
        .boxed()
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for MeteredStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let r = self.inner.put_opts(location, payload, opts).await;
        self.stats.count(PUT, &r);
        r
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let r = self.inner.put_multipart_opts(location, opts).await;
        self.stats.count(PUT, &r);
        r
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let r = self.inner.get_opts(location, options).await;
        self.stats.count(GET, &r);
        r
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let r = self.inner.get_ranges(location, ranges).await;
        self.stats.count(GET, &r);
        r
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        counted(
            Arc::clone(&self.stats),
            DELETE,
            self.inner.delete_stream(locations),
        )
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        counted(Arc::clone(&self.stats), LIST, self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        counted(
            Arc::clone(&self.stats),
            LIST,
            self.inner.list_with_offset(prefix, offset),
        )
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let r = self.inner.list_with_delimiter(prefix).await;
        self.stats.count(LIST, &r);
        r
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let r = self.inner.copy_opts(from, to, options).await;
        self.stats.count(COPY, &r);
        r
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let r = self.inner.rename_opts(from, to, options).await;
        self.stats.count(RENAME, &r);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn requests_and_errors_are_counted_by_operation() {
        let stats = Arc::new(StoreStats::default());
        let store = MeteredStore::new(Arc::new(InMemory::new()), Arc::clone(&stats));
        store.put(&Path::from("a"), "x".into()).await.unwrap();
        store.get(&Path::from("a")).await.unwrap();
        assert!(store.get(&Path::from("missing")).await.is_err());
        let listed: Vec<_> = store.list(None).collect().await;
        assert_eq!(listed.len(), 1);
        let snap = stats.snapshot();
        assert_eq!(snap[PUT], ("put", 1, 0));
        assert_eq!(snap[GET], ("get", 2, 1));
        assert_eq!(snap[LIST], ("list", 1, 0));
    }
}
