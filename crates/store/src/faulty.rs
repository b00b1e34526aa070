//! [`FaultyStore`]: an [`ObjectStore`] wrapper that injects errors and latency, seeded, so that
//! tests can show what the journal (and everything else) does when storage misbehaves.
//!
//! Faults come two ways: at random, with a rate per operation drawn from a seeded generator,
//! and on demand ([`FaultyStore::fail_next`]), which makes the next `n` calls of one operation
//! fail. A put can also fail *after* it wrote ([`Op::PutLostAck`]): the object exists but the
//! caller is told the put failed — the ambiguous outcome that real networks produce.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The operations a fault can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// A put fails before anything is written.
    Put,
    /// A put writes the object, then reports failure.
    PutLostAck,
    /// A get (or ranged get) fails.
    Get,
    /// A listing fails.
    List,
    /// A delete fails; the object stays.
    Delete,
    /// A copy or rename fails.
    Copy,
}

const OPS: [Op; 6] = [
    Op::Put,
    Op::PutLostAck,
    Op::Get,
    Op::List,
    Op::Delete,
    Op::Copy,
];

fn op_index(op: Op) -> usize {
    OPS.iter().position(|o| *o == op).unwrap_or(0)
}

/// How often and how slowly [`FaultyStore`] misbehaves.
#[derive(Debug, Clone)]
pub struct FaultConfig {
    /// Seed for the generator that decides random faults and jitter.
    pub seed: u64,
    /// Chance in `0.0..=1.0` that a call of each operation fails, indexed like [`Op`].
    rates: [f64; OPS.len()],
    /// Added to every call.
    pub latency: Duration,
    /// Up to this much more is added to every call, drawn at random.
    pub jitter: Duration,
}

impl FaultConfig {
    /// No random faults, no latency; only on-demand faults.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            rates: [0.0; OPS.len()],
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
        }
    }

    /// Fail `op` with probability `rate` (clamped to `0.0..=1.0`).
    pub fn with_rate(mut self, op: Op, rate: f64) -> Self {
        self.rates[op_index(op)] = rate.clamp(0.0, 1.0);
        self
    }

    /// Add fixed latency and random jitter to every call.
    pub fn with_latency(mut self, latency: Duration, jitter: Duration) -> Self {
        self.latency = latency;
        self.jitter = jitter;
        self
    }

    /// The failure rate for `op`.
    pub fn rate(&self, op: Op) -> f64 {
        self.rates[op_index(op)]
    }
}

/// The error a [`FaultyStore`] returns for an injected fault (inside `object_store::Error::Generic`).
#[derive(Debug, thiserror::Error)]
#[error("injected fault: {op:?} of '{path}'")]
pub struct InjectedFault {
    /// The operation that failed.
    pub op: Op,
    /// The object or prefix it was for.
    pub path: String,
}

/// Wraps any [`ObjectStore`] and injects faults; see the module docs.
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    state: Arc<FaultState>,
}

struct FaultState {
    config: FaultConfig,
    rng: Mutex<StdRng>,
    forced: [AtomicU64; OPS.len()],
    injected: [AtomicU64; OPS.len()],
    /// Only paths containing this fail (`None`: every path).
    scope: Mutex<Option<String>>,
}

impl FaultState {
    /// Decide whether this call of `op` on `path` fails, and count it if so.
    fn should_fail(&self, op: Op, path: &Path) -> bool {
        let in_scope = self
            .scope
            .lock()
            .map(|scope| scope.as_deref().is_none_or(|s| path.as_ref().contains(s)))
            .unwrap_or(true);
        if !in_scope {
            return false;
        }
        let i = op_index(op);
        let forced = self.forced[i]
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let fail = forced || {
            let rate = self.config.rates[i];
            rate > 0.0
                && self
                    .rng
                    .lock()
                    .map(|mut r| r.random_bool(rate))
                    .unwrap_or(false)
        };
        if fail {
            self.injected[i].fetch_add(1, Ordering::SeqCst);
        }
        fail
    }

    fn delay(&self) -> Duration {
        let jitter = self.config.jitter.as_micros() as u64;
        let extra = if jitter == 0 {
            0
        } else {
            self.rng
                .lock()
                .map(|mut r| r.random_range(0..=jitter))
                .unwrap_or(0)
        };
        self.config.latency + Duration::from_micros(extra)
    }

    async fn wait(&self) {
        let delay = self.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

fn fault(op: Op, path: &Path) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultyStore",
        source: Box::new(InjectedFault {
            op,
            path: path.to_string(),
        }),
    }
}

impl FaultyStore {
    /// Wrap `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, config: FaultConfig) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        let state = FaultState {
            config,
            rng,
            forced: Default::default(),
            injected: Default::default(),
            scope: Mutex::new(None),
        };
        Self {
            inner,
            state: Arc::new(state),
        }
    }

    /// Make the next `n` calls of `op` fail, whatever the random rates say.
    pub fn fail_next(&self, op: Op, n: u64) {
        self.state.forced[op_index(op)].store(n, Ordering::SeqCst);
    }

    /// Inject faults only into calls on paths containing `fragment` (`None`: all paths again);
    /// calls elsewhere neither fail nor use up `fail_next` counts.
    pub fn only_paths_containing(&self, fragment: Option<&str>) {
        if let Ok(mut scope) = self.state.scope.lock() {
            *scope = fragment.map(str::to_string);
        }
    }

    /// How many faults of `op` have been injected so far.
    pub fn injected(&self, op: Op) -> u64 {
        self.state.injected[op_index(op)].load(Ordering::SeqCst)
    }

    /// Whether `err` is (or wraps) a fault this wrapper injected.
    pub fn is_injected(err: &(dyn std::error::Error + 'static)) -> bool {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = current {
            if e.is::<InjectedFault>() {
                return true;
            }
            current = e.source();
        }
        false
    }
}

impl fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyStore")
            .field("config", &self.state.config)
            .finish()
    }
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.state.wait().await;
        if self.state.should_fail(Op::Put, location) {
            return Err(fault(Op::Put, location));
        }
        let result = self.inner.put_opts(location, payload, opts).await?;
        if self.state.should_fail(Op::PutLostAck, location) {
            return Err(fault(Op::PutLostAck, location));
        }
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.state.wait().await;
        if self.state.should_fail(Op::Put, location) {
            return Err(fault(Op::Put, location));
        }
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.state.wait().await;
        if self.state.should_fail(Op::Get, location) {
            return Err(fault(Op::Get, location));
        }
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.state.wait().await;
        if self.state.should_fail(Op::Get, location) {
            return Err(fault(Op::Get, location));
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let state = Arc::clone(&self.state);
        let inner = Arc::clone(&self.inner);
        locations
            .then(move |location| {
                let state = Arc::clone(&state);
                let inner = Arc::clone(&inner);
                async move {
                    let location = location?;
                    state.wait().await;
                    if state.should_fail(Op::Delete, &location) {
                        return Err(fault(Op::Delete, &location));
                    }
                    let one = futures::stream::once(async move { Ok(location) }).boxed();
                    match inner.delete_stream(one).next().await {
                        Some(result) => result,
                        None => Err(object_store::Error::Generic {
                            store: "FaultyStore",
                            source: "inner store answered a delete with nothing".into(),
                        }),
                    }
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let state = Arc::clone(&self.state);
        let inner = self.inner.list(prefix);
        let shown = prefix.cloned().unwrap_or_default();
        async move {
            state.wait().await;
            if state.should_fail(Op::List, &shown) {
                futures::stream::once(async move { Err(fault(Op::List, &shown)) }).boxed()
            } else {
                inner
            }
        }
        .flatten_stream()
        .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let state = Arc::clone(&self.state);
        let inner = self.inner.list_with_offset(prefix, offset);
        let shown = prefix.cloned().unwrap_or_default();
        async move {
            state.wait().await;
            if state.should_fail(Op::List, &shown) {
                futures::stream::once(async move { Err(fault(Op::List, &shown)) }).boxed()
            } else {
                inner
            }
        }
        .flatten_stream()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.state.wait().await;
        let shown = prefix.cloned().unwrap_or_default();
        if self.state.should_fail(Op::List, &shown) {
            return Err(fault(Op::List, &shown));
        }
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.state.wait().await;
        if self.state.should_fail(Op::Copy, from) {
            return Err(fault(Op::Copy, from));
        }
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.state.wait().await;
        if self.state.should_fail(Op::Copy, from) {
            return Err(fault(Op::Copy, from));
        }
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    fn store(config: FaultConfig) -> FaultyStore {
        FaultyStore::new(Arc::new(InMemory::new()), config)
    }

    #[tokio::test]
    async fn forced_faults_fail_exactly_n_calls() {
        let s = store(FaultConfig::new(1));
        let p = Path::from("a");
        s.fail_next(Op::Put, 2);
        assert!(s.put(&p, "x".into()).await.is_err());
        assert!(s.put(&p, "x".into()).await.is_err());
        s.put(&p, "x".into()).await.unwrap();
        assert_eq!(s.injected(Op::Put), 2);
    }

    #[tokio::test]
    async fn lost_ack_writes_but_reports_failure() {
        let s = store(FaultConfig::new(1));
        let p = Path::from("a");
        s.fail_next(Op::PutLostAck, 1);
        let err = s.put(&p, "x".into()).await.unwrap_err();
        assert!(FaultyStore::is_injected(&err));
        assert_eq!(
            s.get(&p).await.unwrap().bytes().await.unwrap(),
            Bytes::from("x")
        );
    }

    #[tokio::test]
    async fn random_faults_are_seeded() {
        async fn pattern(seed: u64) -> Vec<bool> {
            let s = store(FaultConfig::new(seed).with_rate(Op::Get, 0.5));
            s.put(&Path::from("a"), "x".into()).await.unwrap();
            let mut out = Vec::new();
            for _ in 0..64 {
                out.push(s.get(&Path::from("a")).await.is_err());
            }
            out
        }
        let a = pattern(7).await;
        assert_eq!(a, pattern(7).await);
        assert!(a.iter().any(|f| *f) && a.iter().any(|f| !*f), "{a:?}");
    }

    #[tokio::test]
    async fn failed_delete_keeps_the_object() {
        let s = store(FaultConfig::new(1));
        let p = Path::from("a");
        s.put(&p, "x".into()).await.unwrap();
        s.fail_next(Op::Delete, 1);
        assert!(s.delete(&p).await.is_err());
        assert!(s.head(&p).await.is_ok());
        s.delete(&p).await.unwrap();
        assert!(s.head(&p).await.is_err());
    }

    #[tokio::test]
    async fn failed_list_reports_an_error() {
        let s = store(FaultConfig::new(1));
        s.fail_next(Op::List, 1);
        let items: Vec<_> = s.list(None).collect().await;
        assert!(matches!(items.as_slice(), [Err(_)]));
    }
}
