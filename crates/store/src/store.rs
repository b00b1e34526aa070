//! Opening a store from a URL.
//!
//! | URL | backend |
//! |---|---|
//! | `./path`, `/abs/path`, `file:///abs/path` | local folder (created if missing) |
//! | `memory://` | in-process, empty at every open |
//! | `s3://bucket[/prefix]` | S3 or an S3-compatible server |
//!
//! S3 takes the standard AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `AWS_SESSION_TOKEN`, …) plus `AWS_ENDPOINT_URL` for MinIO-style servers; an
//! `http://` endpoint turns on plain HTTP by itself (or set `AWS_ALLOW_HTTP=true`). Requests are
//! retried a few times with backoff and give up after 30 s, so an unreachable server fails fast.
//!
//! ```
//! use lakehouse_store::{Store, StoreKind};
//!
//! let store = Store::open("memory://").unwrap();
//! assert_eq!(store.kind(), StoreKind::Memory);
//! assert!(Store::open("ftp://host/x").is_err()); // unsupported scheme, named in the error
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::metered::{MeteredStore, StoreStats};
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::StoreError;

/// The store used when none is given: a folder in the current directory.
pub const DEFAULT_STORE_URL: &str = "./lakehouse-data";

/// Which kind of backend a [`Store`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// A local folder.
    Local,
    /// In-process memory.
    Memory,
    /// S3 or an S3-compatible server.
    S3,
    /// Something built by hand with [`Store::from_object_store`].
    Custom,
}

/// An object store together with the URL it was opened from.
///
/// Cloning is cheap; clones share the backend.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    url: String,
    kind: StoreKind,
    stats: Arc<StoreStats>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Store {
    /// Open the store named by `url` (see the module docs for the forms it takes).
    ///
    /// Opening does no network I/O; call [`Store::check`] to find out early whether the
    /// store can be reached.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        Self::open_with_options(url, std::iter::empty::<(&str, &str)>())
    }

    /// Open the store named by `url`, with backend options that override the environment.
    ///
    /// For S3 the keys are `object_store`'s S3 configuration keys, for example
    /// `aws_endpoint`, `aws_access_key_id`, `aws_secret_access_key`, `aws_region`,
    /// `aws_allow_http`. Other backends take no options.
    pub fn open_with_options<I, K, V>(url: &str, options: I) -> Result<Store, StoreError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let options: Vec<(String, String)> = options
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.into()))
            .collect();
        let url = url.trim();
        let is_s3 = url.starts_with("s3://") || url.starts_with("s3a://");
        if !options.is_empty() && !is_s3 {
            return Err(StoreError::InvalidUrl {
                url: url.to_string(),
                reason: "backend options are only taken by s3:// stores".into(),
            });
        }
        if url.is_empty() {
            return Self::open_local(DEFAULT_STORE_URL);
        }
        match url.split_once("://") {
            None => Self::open_local(url),
            Some(("file", rest)) => {
                if !rest.starts_with('/') {
                    return Err(StoreError::InvalidUrl {
                        url: url.to_string(),
                        reason: "file:// URLs take an absolute path (file:///abs/path); use a plain path for a relative folder".into(),
                    });
                }
                Self::open_local(rest)
            }
            Some(("memory", rest)) => {
                if !rest.is_empty() {
                    return Err(StoreError::InvalidUrl {
                        url: url.to_string(),
                        reason: "memory:// takes no path".into(),
                    });
                }
                Ok(Store::metered(
                    Arc::new(InMemory::new()),
                    "memory://".into(),
                    StoreKind::Memory,
                ))
            }
            Some(("s3" | "s3a", rest)) => Self::open_s3(url, rest, &options),
            Some((scheme, _)) => Err(StoreError::UnsupportedScheme {
                scheme: scheme.to_string(),
                url: url.to_string(),
            }),
        }
    }

    fn open_local(path: &str) -> Result<Store, StoreError> {
        let folder_error = |source| StoreError::LocalFolder {
            path: path.to_string(),
            source,
        };
        std::fs::create_dir_all(path).map_err(folder_error)?;
        let absolute = std::fs::canonicalize(path).map_err(folder_error)?;
        let fs =
            LocalFileSystem::new_with_prefix(&absolute).map_err(|source| StoreError::Config {
                url: absolute.display().to_string(),
                source,
            })?;
        Ok(Store::metered(
            Arc::new(fs),
            format!("file://{}", absolute.display()),
            StoreKind::Local,
        ))
    }

    fn open_s3(url: &str, rest: &str, options: &[(String, String)]) -> Result<Store, StoreError> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::InvalidUrl {
                url: url.to_string(),
                reason: "no bucket name (expected s3://bucket/prefix)".into(),
            });
        }
        let prefix =
            Path::parse(prefix.trim_end_matches('/')).map_err(|e| StoreError::InvalidUrl {
                url: url.to_string(),
                reason: format!("bad prefix: {e}"),
            })?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let option = |names: &[&str]| {
            options
                .iter()
                .find(|(k, _)| names.contains(&k.as_str()))
                .map(|(_, v)| v.clone())
        };
        let endpoint = option(&["aws_endpoint", "aws_endpoint_url", "endpoint"])
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
        let has_region = option(&["aws_region", "region", "aws_default_region"]).is_some()
            || std::env::var("AWS_REGION").is_ok()
            || std::env::var("AWS_DEFAULT_REGION").is_ok();
        if !has_region {
            builder = builder.with_region("us-east-1");
        }
        let mut client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(60));
        if let Some(endpoint) = &endpoint {
            builder = builder.with_endpoint(endpoint);
            if endpoint.starts_with("http://") {
                client = client.with_allow_http(true);
            }
        }
        builder = builder.with_client_options(client);
        for (key, value) in options {
            let key = key.parse().map_err(|source| StoreError::Config {
                url: url.to_string(),
                source,
            })?;
            builder = builder.with_config(key, value.clone());
        }
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: 4,
            retry_timeout: Duration::from_secs(30),
        };
        let s3 = builder
            .with_retry(retry)
            .build()
            .map_err(|source| StoreError::Config {
                url: url.to_string(),
                source,
            })?;
        let inner: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        let shown = match endpoint {
            Some(endpoint) => format!("{} (endpoint {endpoint})", url.trim_end_matches('/')),
            None => url.trim_end_matches('/').to_string(),
        };
        Ok(Store::metered(inner, shown, StoreKind::S3))
    }

    /// `inner` behind a [`MeteredStore`] counting into this store's stats.
    fn metered(inner: Arc<dyn ObjectStore>, url: String, kind: StoreKind) -> Store {
        let stats = Arc::new(StoreStats::default());
        Store {
            inner: Arc::new(MeteredStore::new(inner, Arc::clone(&stats))),
            url,
            kind,
            stats,
        }
    }

    /// Requests and errors by operation since this store was opened.
    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// Wrap an object store built by hand (a wrapper, say) under a label used in messages.
    pub fn from_object_store(inner: Arc<dyn ObjectStore>, label: impl Into<String>) -> Store {
        Store::metered(inner, label.into(), StoreKind::Custom)
    }

    /// The same store seen through a wrapper (for example a [`crate::FaultyStore`]).
    pub fn wrapped(
        &self,
        wrap: impl FnOnce(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>,
    ) -> Store {
        Store {
            inner: wrap(Arc::clone(&self.inner)),
            url: self.url.clone(),
            kind: self.kind,
            stats: Arc::clone(&self.stats),
        }
    }

    /// The object store itself.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// The URL this store was opened from, normalised (for messages; holds no secrets).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The kind of backend.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// Make one cheap request (list the first object) to find out whether the store answers.
    pub async fn check(&self) -> Result<(), StoreError> {
        match self.inner.list(None).next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(source)) => Err(StoreError::Unreachable {
                url: self.url.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scheme_is_named() {
        let err = Store::open("gs://bucket/x").unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedScheme { ref scheme, .. } if scheme == "gs"));
        assert!(err.to_string().contains("'gs'"), "{err}");
    }

    #[test]
    fn s3_without_bucket_is_rejected() {
        let err = Store::open("s3://").unwrap_err();
        assert!(err.to_string().contains("no bucket name"), "{err}");
    }

    #[test]
    fn relative_file_url_is_rejected() {
        let err = Store::open("file://relative/x").unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err}");
    }

    #[test]
    fn options_are_for_s3_only_and_must_be_known() {
        let err = Store::open_with_options("memory://", [("aws_region", "x")]).unwrap_err();
        assert!(err.to_string().contains("only taken by s3://"), "{err}");
        let err = Store::open_with_options("s3://b", [("no_such_key", "x")]).unwrap_err();
        assert!(matches!(err, StoreError::Config { .. }), "{err}");
        let store = Store::open_with_options(
            "s3://b/some/prefix",
            [
                ("aws_endpoint", "http://127.0.0.1:1"),
                ("aws_access_key_id", "k"),
                ("aws_secret_access_key", "s"),
            ],
        )
        .unwrap();
        assert_eq!(store.kind(), StoreKind::S3);
        assert!(
            store.url().contains("endpoint http://127.0.0.1:1"),
            "{}",
            store.url()
        );
    }

    #[tokio::test]
    async fn unreachable_s3_is_a_clear_error() {
        let store = Store::open_with_options(
            "s3://bucket",
            [
                ("aws_endpoint", "http://127.0.0.1:1"),
                ("aws_access_key_id", "k"),
                ("aws_secret_access_key", "s"),
            ],
        )
        .unwrap();
        let err = store.check().await.unwrap_err();
        assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("cannot reach store 's3://bucket"),
            "{err}"
        );
    }

    #[test]
    fn memory_url_takes_no_path() {
        assert!(Store::open("memory://").is_ok());
        assert!(Store::open("memory://x").is_err());
    }

    #[tokio::test]
    async fn local_folder_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/store");
        let store = Store::open(path.to_str().unwrap()).unwrap();
        assert!(path.is_dir());
        assert_eq!(store.kind(), StoreKind::Local);
        assert!(store.url().starts_with("file:///"));
        store.check().await.unwrap();
        let same = Store::open(&format!("file://{}", path.display())).unwrap();
        assert_eq!(same.url(), store.url());
    }

    #[test]
    fn local_folder_that_is_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let err = Store::open(file.to_str().unwrap()).unwrap_err();
        assert!(matches!(err, StoreError::LocalFolder { .. }), "{err}");
    }
}
