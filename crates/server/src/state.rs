//! What the server holds warm between requests: the open [`Lakehouse`] (store, tables, corpora
//! with their segment caches and loaded embedders), memory namespaces opened once and kept
//! current (a write through the server is in the handle the next read uses; writes by other
//! processes are picked up at most [`REFRESH`] later), the journals written through it, the
//! jobs and the live events of agent runs, folder listings of the store (reused for
//! [`REFRESH`]), the auth table and the console's sign-ins, the rate limits and the metrics.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakehouse::Lakehouse;
use lakehouse::memory::Memory;
use lakehouse::models::EmbedderSpec;
use lakehouse::store::journal::{Journal, JournalOptions, StoreJournal};
use lakehouse::store::{Path, object_store_fault};
use rmcp::transport::StreamableHttpServerConfig;
use tokio::sync::{Mutex, OnceCell, watch};

use crate::auth::Auth;
use crate::config::ServerConfig;
use crate::console::ConsoleSessions;
use crate::error::ApiError;
use crate::jobs::Jobs;
use crate::metrics::Metrics;
use crate::middleware::RateLimits;

/// How stale a namespace handle may get before it looks for other writers' commits.
pub(crate) const REFRESH: Duration = Duration::from_secs(1);

/// The server's shared state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.inner.config.store)
            .finish_non_exhaustive()
    }
}

struct Inner {
    lakehouse: Lakehouse,
    config: ServerConfig,
    embedder: EmbedderSpec,
    auth: Auth,
    rate_limits: RateLimits,
    metrics: Arc<Metrics>,
    jobs: Jobs,
    namespaces: Mutex<HashMap<String, Arc<OnceCell<Arc<Namespace>>>>>,
    journals: Mutex<HashMap<String, Arc<StoreJournal>>>,
    mcp: StreamableHttpServerConfig,
    /// Folder listings of the store, each reused for [`REFRESH`] (the Mem0 dialects walk
    /// their entity folders on every search).
    folders: std::sync::Mutex<Folders>,
    /// Browsers signed in to the console.
    console: ConsoleSessions,
    /// The live events of agent runs, by job id (the newest [`MAX_RUN_FEEDS`]).
    runs: std::sync::Mutex<std::collections::BTreeMap<String, watch::Receiver<RunEvents>>>,
}

/// Agent runs whose live events are kept; past it the oldest go (their sessions stay archived).
const MAX_RUN_FEEDS: usize = 256;

/// An agent run's session events so far, and whether the run has ended.
#[derive(Debug, Default)]
pub(crate) struct RunEvents {
    pub(crate) events: Vec<Arc<serde_json::Value>>,
    pub(crate) ended: bool,
}

/// Folder listings by prefix: when each was made, and the folder names.
type Folders = HashMap<String, (Instant, Arc<Vec<String>>)>;

/// Folder listings kept at most; past it the cache starts over.
const MAX_FOLDER_LISTINGS: usize = 4096;

struct Namespace {
    memory: Memory,
    refreshed: std::sync::Mutex<Instant>,
}

impl AppState {
    /// Open the store named in `config` and hold it.
    pub async fn open(config: ServerConfig) -> Result<AppState, ApiError> {
        config
            .validate()
            .map_err(|e| ApiError::bad_input(e.to_string()))?;
        let lakehouse = Lakehouse::open(
            lakehouse::Config::default()
                .with_store_url(&config.store)
                .with_corpus_cache_bytes(config.limits.corpus_cache_bytes),
        )
        .await?;
        Self::new(lakehouse, config)
    }

    /// Serve an already open Lakehouse.
    pub fn new(lakehouse: Lakehouse, config: ServerConfig) -> Result<AppState, ApiError> {
        let embedder = config
            .embedder
            .parse::<EmbedderSpec>()
            .map_err(|e| ApiError::bad_input(format!("embedder: {e}")))?;
        let auth = Auth::new(&config.tokens);
        let mcp = crate::mcp::http_config(auth.enabled());
        Ok(AppState {
            inner: Arc::new(Inner {
                auth,
                mcp,
                folders: std::sync::Mutex::default(),
                console: ConsoleSessions::default(),
                runs: std::sync::Mutex::default(),
                rate_limits: RateLimits::new(
                    config.limits.rate_per_second,
                    config.limits.rate_burst,
                ),
                lakehouse,
                config,
                embedder,
                metrics: Arc::new(Metrics::new()),
                jobs: Jobs::default(),
                namespaces: Mutex::new(HashMap::new()),
                journals: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The open Lakehouse.
    pub fn lakehouse(&self) -> &Lakehouse {
        &self.inner.lakehouse
    }

    /// The console's signed-in browsers.
    pub(crate) fn console(&self) -> &ConsoleSessions {
        &self.inner.console
    }

    /// How `/mcp` serves; its cancellation token ends open MCP streams at shutdown.
    pub(crate) fn mcp_config(&self) -> &StreamableHttpServerConfig {
        &self.inner.mcp
    }

    /// The folder names directly under `prefix` in the store, as listed at most [`REFRESH`]
    /// ago. Pair it with [`AppState::written_namespaces`], which knows this process's own writes
    /// at once.
    pub(crate) async fn folders(&self, prefix: &str) -> Result<Arc<Vec<String>>, ApiError> {
        let cached = self
            .folder_cache()
            .get(prefix)
            .filter(|(at, _)| at.elapsed() < REFRESH)
            .map(|(_, names)| Arc::clone(names));
        if let Some(names) = cached {
            return Ok(names);
        }
        let listing = self
            .inner
            .lakehouse
            .store()
            .object_store()
            .list_with_delimiter(Some(&Path::from(prefix)))
            .await
            .map_err(|e| ApiError::from_fault(object_store_fault(&e), &e))?;
        let names: Arc<Vec<String>> = Arc::new(
            listing
                .common_prefixes
                .iter()
                .filter_map(|p| p.filename().map(str::to_string))
                .collect(),
        );
        let mut cache = self.folder_cache();
        if cache.len() >= MAX_FOLDER_LISTINGS {
            cache.clear();
        }
        cache.insert(prefix.to_string(), (Instant::now(), Arc::clone(&names)));
        Ok(names)
    }

    fn folder_cache(&self) -> std::sync::MutexGuard<'_, Folders> {
        self.inner
            .folders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The memory namespaces under `prefix` this process has open and that hold records.
    pub(crate) async fn written_namespaces(&self, prefix: &str) -> Vec<String> {
        let map = self.inner.namespaces.lock().await;
        map.iter()
            .filter(|(name, cell)| {
                name.starts_with(prefix) && cell.get().is_some_and(|ns| !ns.memory.is_empty())
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Keep the events an agent run (job `job`) sends on `events` for `/v1/agent/runs/{job}/events`.
    pub(crate) fn watch_run(
        &self,
        job: &str,
        mut events: tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
    ) {
        let (tx, rx) = watch::channel(RunEvents::default());
        {
            let mut runs = self
                .inner
                .runs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            while runs.len() >= MAX_RUN_FEEDS {
                runs.pop_first();
            }
            runs.insert(job.to_string(), rx);
        }
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                tx.send_modify(|run| run.events.push(Arc::new(event)));
            }
            tx.send_modify(|run| run.ended = true);
        });
    }

    /// The live events of the agent run that is job `job`, if kept.
    pub(crate) fn run_events(&self, job: &str) -> Option<watch::Receiver<RunEvents>> {
        self.inner
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(job)
            .cloned()
    }

    /// The configuration served.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The embedder of new memory namespaces.
    pub(crate) fn embedder(&self) -> &EmbedderSpec {
        &self.inner.embedder
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    pub(crate) fn rate_limits(&self) -> &RateLimits {
        &self.inner.rate_limits
    }

    pub(crate) fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.inner.metrics)
    }

    pub(crate) fn jobs(&self) -> &Jobs {
        &self.inner.jobs
    }

    /// Memory namespace `namespace`, opened once (with its recorded embedder, or the
    /// configured one for a new namespace) and brought up to date with other writers at most
    /// every [`REFRESH`].
    pub(crate) async fn memory(&self, namespace: &str) -> Result<Arc<MemoryRef>, ApiError> {
        let cell = {
            let mut map = self.inner.namespaces.lock().await;
            Arc::clone(map.entry(namespace.to_string()).or_default())
        };
        let ns = cell
            .get_or_try_init(|| async {
                let memory = self
                    .inner
                    .lakehouse
                    .memory_or(namespace, &self.inner.embedder)
                    .await?;
                Ok::<_, ApiError>(Arc::new(Namespace {
                    memory,
                    refreshed: std::sync::Mutex::new(Instant::now()),
                }))
            })
            .await;
        let ns = match ns {
            Ok(ns) => Arc::clone(ns),
            Err(e) => {
                // a namespace that failed to open is tried again by the next request
                self.inner.namespaces.lock().await.remove(namespace);
                return Err(e);
            }
        };
        let stale = {
            let mut at = ns
                .refreshed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let stale = at.elapsed() >= REFRESH;
            if stale {
                *at = Instant::now();
            }
            stale
        };
        if stale {
            ns.memory.refresh().await?;
        }
        Ok(Arc::new(MemoryRef(ns)))
    }

    /// How many namespaces are open.
    pub(crate) async fn open_namespaces(&self) -> usize {
        self.inner.namespaces.lock().await.len()
    }

    /// The journal `journals/<name>`, opened once; this process is one writer of it.
    pub(crate) async fn journal(&self, name: &str) -> Result<Arc<StoreJournal>, ApiError> {
        let mut map = self.inner.journals.lock().await;
        if let Some(j) = map.get(name) {
            return Ok(Arc::clone(j));
        }
        let journal = Arc::new(
            self.inner
                .lakehouse
                .journal(&format!("journals/{name}"), JournalOptions::default())?,
        );
        map.insert(name.to_string(), Arc::clone(&journal));
        Ok(journal)
    }

    /// How many journals are open.
    pub(crate) async fn open_journals(&self) -> usize {
        self.inner.journals.lock().await.len()
    }

    /// Flush and close every journal written through the server (at shutdown).
    pub async fn close(&self) {
        let journals: Vec<(String, Arc<StoreJournal>)> =
            self.inner.journals.lock().await.drain().collect();
        for (name, journal) in journals {
            if let Err(e) = journal.close().await {
                tracing::error!(journal = %name, error = %e, "closing a journal failed");
            }
        }
    }
}

/// An open namespace, as handlers use it.
pub(crate) struct MemoryRef(Arc<Namespace>);

impl std::ops::Deref for MemoryRef {
    type Target = Memory;
    fn deref(&self) -> &Memory {
        &self.0.memory
    }
}
