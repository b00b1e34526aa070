//! Dev-only fixtures shared by Lakehouse's tests: temporary local stores, memory stores, and
//! stores on the S3 test server that `scripts/s3-test-server.sh` starts on 127.0.0.1.
//!
//! S3 tests never skip: without a server they fail and say how to start one.

use std::sync::atomic::{AtomicU64, Ordering};

use lakehouse_store::Store;
use tempfile::TempDir;

/// The variable naming the S3 test server's endpoint, e.g. `http://127.0.0.1:9555`.
pub const S3_ENDPOINT_VAR: &str = "LAKEHOUSE_TEST_S3_ENDPOINT";
/// The variable naming the test bucket (default `lakehouse-test`).
pub const S3_BUCKET_VAR: &str = "LAKEHOUSE_TEST_S3_BUCKET";

/// A fresh, empty in-memory store.
pub fn memory_store() -> Store {
    Store::open("memory://").expect("memory:// always opens")
}

/// A fresh local store in a temporary folder, removed when the `TempDir` drops.
pub fn local_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let store =
        Store::open(dir.path().to_str().expect("utf-8 temp path")).expect("open local store");
    (dir, store)
}

/// The bytes of every file under `dir` (a local store's folder), recursively.
pub fn bytes_under(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read a folder of the store")
        .map(|entry| {
            let entry = entry.expect("read a folder entry");
            let meta = entry.metadata().expect("read a file's metadata");
            if meta.is_dir() {
                bytes_under(&entry.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// A name no other test in this run (or an earlier run) uses.
pub fn unique_name(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!(
        "{label}-{}-{n}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// The S3 test server's connection settings, or a panic that says how to start it.
pub fn s3_settings() -> S3Settings {
    let endpoint = std::env::var(S3_ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "S3 tests need the S3 test server and {S3_ENDPOINT_VAR} is not set: run the tests \
             with `scripts/test.sh`, or `eval \"$(scripts/s3-test-server.sh start)\"` first"
        )
    });
    let bucket = std::env::var(S3_BUCKET_VAR).unwrap_or_else(|_| "lakehouse-test".into());
    S3Settings { endpoint, bucket }
}

/// Where the S3 test server is.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The bucket the server script created.
    pub bucket: String,
}

impl S3Settings {
    /// Options for [`Store::open_with_options`].
    pub fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("aws_endpoint", self.endpoint.clone()),
            ("aws_access_key_id", "lakehouse-test".into()),
            ("aws_secret_access_key", "lakehouse-test".into()),
            ("aws_region", "us-east-1".into()),
        ]
    }

    /// The same settings as environment variables, for child processes.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "lakehouse-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "lakehouse-test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// A store URL under a fresh prefix of the test bucket.
    pub fn fresh_url(&self, label: &str) -> String {
        format!("s3://{}/{}", self.bucket, unique_name(label))
    }
}

/// A store on the S3 test server under a fresh prefix; panics if the server is not running.
pub async fn s3_store(label: &str) -> Store {
    let settings = s3_settings();
    let url = settings.fresh_url(label);
    let store = Store::open_with_options(&url, settings.options()).expect("open S3 test store");
    if let Err(e) = store.check().await {
        panic!(
            "the S3 test server at {} does not answer: {e}",
            settings.endpoint
        );
    }
    store
}

/// The folder of the crate whose tests are running, read when the test runs (cargo and nextest
/// set `CARGO_MANIFEST_DIR` for test processes). Not `env!("CARGO_MANIFEST_DIR")`: that is
/// baked in at compile time, and a test binary reused by a checkout at another path (clones
/// sharing one target folder) would read the other checkout's files.
pub fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .expect("CARGO_MANIFEST_DIR is set by cargo test and cargo nextest")
}
