//! [`SortedListing`]: an [`ObjectStore`] wrapper whose listings come in key order.
//!
//! `object_store` promises no listing order, and a local folder lists in directory order, but
//! some readers (delta-rs's log reader among them) need sorted listings, as S3 gives. This
//! wrapper collects each listing and sorts it; everything else passes straight through.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// Wraps a store so that `list` and `list_with_offset` return keys in byte order.
#[derive(Debug)]
pub struct SortedListing {
    inner: Arc<dyn ObjectStore>,
}

impl SortedListing {
    /// Wrap `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self { inner }
    }
}

impl fmt::Display for SortedListing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SortedListing({})", self.inner)
    }
}

fn sorted(
    stream: BoxStream<'static, Result<ObjectMeta>>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    async move {
        match stream.try_collect::<Vec<_>>().await {
            Ok(mut metas) => {
                metas.sort_by(|a, b| a.location.as_ref().cmp(b.location.as_ref()));
                futures::stream::iter(metas.into_iter().map(Ok)).boxed()
            }
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }
    .flatten_stream()
    .boxed()
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for SortedListing {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        sorted(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        sorted(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result
            .objects
            .sort_by(|a, b| a.location.as_ref().cmp(b.location.as_ref()));
        result.common_prefixes.sort();
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn local_listings_come_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let local = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let store = SortedListing::new(Arc::new(local));
        for name in ["c", "a", "b", "aa", "0"] {
            store
                .put(&Path::from(format!("p/{name}")), "x".into())
                .await
                .unwrap();
        }
        let listed: Vec<String> = store
            .list(Some(&Path::from("p")))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed, vec!["p/0", "p/a", "p/aa", "p/b", "p/c"]);
        let after: Vec<String> = store
            .list_with_offset(Some(&Path::from("p")), &Path::from("p/aa"))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(after, vec!["p/b", "p/c"]);
    }
}
