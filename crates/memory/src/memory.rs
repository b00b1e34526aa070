//! [`Memory`]: one namespace, opened from the store; every operation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use lakehouse_models::Embedder;
use lakehouse_store::{Clock, SystemClock, Timestamp};
use object_store::ObjectStore;

use crate::MemoryError;
use crate::event::{Commit, EmbedderInfo, Event, FORMAT};
use crate::index::Indexes;
use crate::log::Log;
use crate::namespace::validate_namespace;
use crate::record::{Draft, Record};
use crate::search::{ListFilter, MemoryHit, MemoryQuery, search_in};
use crate::state::{Anomaly, State, record_id, record_key};

/// The most operations one batch commits.
pub const MAX_BATCH: usize = 10_000;

/// How a [`Memory`] handle behaves.
#[derive(Debug, Clone)]
pub struct MemoryOptions {
    /// The time stamped on commits.
    pub clock: Arc<dyn Clock>,
    /// Write a snapshot after this many commits (or a quarter of the record count, if more).
    pub snapshot_every: u64,
    /// Threads for building the search indexes.
    pub index_threads: usize,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            snapshot_every: 1000,
            index_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl MemoryOptions {
    /// Stamp commits with `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Snapshot after `n` commits (at least 1).
    pub fn with_snapshot_every(mut self, n: u64) -> Self {
        self.snapshot_every = n.max(1);
        self
    }
}

/// What an UPSERT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// No live record had the fingerprint: a new record.
    Added,
    /// A live record had it: its `replay_count` went up.
    Updated,
}

/// The result of an UPSERT.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Upserted {
    /// Added or updated.
    pub action: Action,
    /// The record after the operation (without its embedding).
    pub record: Record,
}

struct Inner {
    state: State,
    indexes: Option<Indexes>,
}

/// One memory namespace: pathways and playbooks with UPSERT, REVISE, RETIRE, HISTORY, GET,
/// LIST, SEARCH and outcomes.
///
/// # Contract
/// - Every change is a commit in the store (see the `log` module docs) before the call
///   returns; a call that returns an error wrote nothing.
/// - Operations are checked against the newest state this handle knows; if another writer
///   committed in between, the handle reads that commit and checks again. An operation that is
///   still valid is committed after it (an UPSERT of a workflow the other writer just added
///   becomes an UPDATE); one that is not fails with [`MemoryError::Conflict`] saying why.
///   Nothing is merged silently.
/// - Reads (GET, LIST, HISTORY, SEARCH) answer from the state this handle has folded; call
///   [`refresh`](Memory::refresh) to pick up other writers' commits. Readers share the handle:
///   searches run side by side. Folding in a commit holds it alone, and so does a search
///   that first has to build the search indexes or make new records searchable in them.
/// - Content never changes in place: REVISE makes a new version and stamps the old one
///   `superseded_at` / `superseded_by`; RETIRE stamps `retired_at` and a reason. SEARCH returns
///   live tips only (neither superseded nor retired); `as_of` answers as of a past time.
pub struct Memory {
    namespace: String,
    log: Log,
    options: MemoryOptions,
    writer: String,
    embedder: Option<(Arc<dyn Embedder>, EmbedderInfo)>,
    inner: RwLock<Inner>,
    /// Held by the one write in flight; `true` while the outcome of this handle's last commit
    /// is unknown (its put failed without saying whether it landed), so the next write catches
    /// up before it decides.
    write: tokio::sync::Mutex<bool>,
    last_snapshot: AtomicU64,
    damaged_snapshots: Vec<String>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("namespace", &self.namespace)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl Memory {
    /// Open `namespace` in `store`: the newest snapshot that decodes, then every commit after
    /// it. A namespace nobody wrote to yet opens empty; its first write creates it.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        namespace: &str,
        options: MemoryOptions,
    ) -> Result<Memory, MemoryError> {
        validate_namespace(namespace)?;
        let log = Log::new(store, namespace);
        let (snapshot, damaged_snapshots) = log.latest_snapshot().await?;
        let state = snapshot
            .filter(|s| s.namespace == namespace)
            .unwrap_or_else(|| State::new(namespace));
        let memory = Memory {
            namespace: namespace.to_string(),
            log,
            options,
            writer: format!("{:016x}", rand::random::<u64>()),
            embedder: None,
            last_snapshot: AtomicU64::new(state.seq),
            inner: RwLock::new(Inner {
                state,
                indexes: None,
            }),
            write: tokio::sync::Mutex::new(false),
            damaged_snapshots,
        };
        memory.catch_up().await?;
        Ok(memory)
    }

    /// This handle with `embedder` (opened from `spec`) for UPSERT, REVISE and SEARCH. It must
    /// be the embedder the namespace was written with, if it was written.
    pub fn with_embedder(
        mut self,
        embedder: Arc<dyn Embedder>,
        spec: &str,
    ) -> Result<Memory, MemoryError> {
        let info = EmbedderInfo {
            spec: spec.to_string(),
            id: embedder.id().to_string(),
            dim: embedder.dim(),
        };
        if let Some(recorded) = &self.read().state.embedder
            && (recorded.id != info.id || recorded.dim != info.dim)
        {
            return Err(MemoryError::EmbedderMismatch {
                namespace: self.namespace.clone(),
                recorded: recorded.id.clone(),
                recorded_dim: recorded.dim,
                given: info.id,
                given_dim: info.dim,
            });
        }
        self.embedder = Some((embedder, info));
        Ok(self)
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The embedder the namespace was written with (`None` before its first write).
    pub fn recorded_embedder(&self) -> Option<EmbedderInfo> {
        self.read().state.embedder.clone()
    }

    /// The last commit folded in (0 for an empty namespace).
    pub fn seq(&self) -> u64 {
        self.read().state.seq
    }

    /// Number of records in every state.
    pub fn len(&self) -> usize {
        self.read().state.len()
    }

    /// True when the namespace has no records.
    pub fn is_empty(&self) -> bool {
        self.read().state.is_empty()
    }

    /// Problems found folding the stored events (empty for a healthy namespace), and snapshots
    /// that could not be decoded and were skipped.
    pub fn anomalies(&self) -> (Vec<Anomaly>, Vec<String>) {
        (
            self.read().state.anomalies.clone(),
            self.damaged_snapshots.clone(),
        )
    }

    /// The state for reading; readers (searches included) share it.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The state for folding in a commit or bringing the indexes up to date.
    fn exclusive(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    fn embedder(&self) -> Result<&(Arc<dyn Embedder>, EmbedderInfo), MemoryError> {
        self.embedder.as_ref().ok_or(MemoryError::NoEmbedder)
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MemoryError> {
        let (embedder, _) = self.embedder()?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(embedder.embed(&refs).await?)
    }

    /// Fold in commits other writers made since this handle last looked.
    pub async fn refresh(&self) -> Result<u64, MemoryError> {
        let mut unsettled = self.write.lock().await;
        let applied = self.catch_up().await?;
        *unsettled = false;
        Ok(applied)
    }

    async fn catch_up(&self) -> Result<u64, MemoryError> {
        let mut applied = 0;
        loop {
            let next = self.read().state.seq + 1;
            match self.log.read(next).await? {
                Some(commit) => {
                    self.apply(&commit);
                    applied += 1;
                }
                None => return Ok(applied),
            }
        }
    }

    /// Fold `commit` into the state, and into the indexes when they are built. The commit is
    /// already stored, so nothing here may fail: an index that cannot take a record is dropped
    /// and rebuilt from the state at the next search.
    fn apply(&self, commit: &Commit) {
        let mut inner = self.exclusive();
        let Inner { state, indexes } = &mut *inner;
        state.apply(commit);
        if let Some(built) = indexes.as_mut() {
            for event in &commit.events {
                if let Event::Added { record } | Event::Revised { record, .. } = event
                    && let Some(key) = crate::state::key_of(&record.id)
                    && !record.embedding.is_empty()
                    && let Err(e) = built.add(key, &record.embedding, &record.draft.search_text())
                {
                    tracing::warn!(namespace = %self.namespace, "search index dropped, rebuilt at the next search: {e}");
                    *indexes = None;
                    break;
                }
            }
        }
    }

    /// Decide an operation against the newest state and commit it; on losing the race for the
    /// commit number, read what won and decide again. `decide` returns `None` when it needs
    /// something it was not given (then nothing is written and `None` is returned).
    async fn commit<T>(
        &self,
        decide: impl Fn(&State, u64, Timestamp) -> Result<Option<(Vec<Event>, T)>, MemoryError>,
    ) -> Result<Option<T>, MemoryError> {
        let mut unsettled = self.write.lock().await;
        if *unsettled {
            self.catch_up().await?;
            *unsettled = false;
        }
        let mut lost: Option<u64> = None;
        loop {
            let (commit, out) = {
                let inner = self.read();
                let state = &inner.state;
                let seq = state.seq + 1;
                let at = self.options.clock.now().max(state.at);
                let conflict = |e: MemoryError| match lost {
                    Some(seq) => MemoryError::Conflict {
                        namespace: self.namespace.clone(),
                        seq,
                        source: Box::new(e),
                    },
                    None => e,
                };
                let decided = decide(state, seq, at).map_err(conflict)?;
                let Some((mut events, out)) = decided else {
                    return Ok(None);
                };
                check_embeddings(state, self.embedder.as_ref().map(|(_, info)| info), &events)
                    .map_err(conflict)?;
                if state.embedder.is_none() {
                    let (_, info) = self.embedder()?;
                    events.insert(
                        0,
                        Event::Created {
                            embedder: info.clone(),
                        },
                    );
                }
                let commit = Commit {
                    v: FORMAT,
                    seq,
                    at,
                    writer: self.writer.clone(),
                    op: format!("{:032x}", rand::random::<u128>()),
                    events,
                };
                (commit, out)
            };
            let created = self.log.create(&commit).await.inspect_err(|e| {
                *unsettled = e.fault() == lakehouse_store::Fault::Unavailable;
            })?;
            if created {
                self.apply(&commit);
                self.maybe_snapshot().await;
                return Ok(Some(out));
            }
            tracing::debug!(namespace = %self.namespace, seq = commit.seq, "lost the race for a commit; catching up");
            lost = Some(commit.seq);
            self.catch_up().await?;
        }
    }

    async fn maybe_snapshot(&self) {
        let (due, state) = {
            let inner = self.read();
            let every = self
                .options
                .snapshot_every
                .max(inner.state.len() as u64 / 4);
            let due = inner.state.seq >= self.last_snapshot.load(Ordering::Relaxed) + every;
            (due, due.then(|| inner.state.clone()))
        };
        if let (true, Some(state)) = (due, state) {
            match self.log.write_snapshot(&state).await {
                Ok(()) => self.last_snapshot.store(state.seq, Ordering::Relaxed),
                // The commit is durable; a missing snapshot only makes the next open slower.
                Err(e) => tracing::warn!(namespace = %self.namespace, "snapshot failed: {e}"),
            }
        }
    }

    /// Write a snapshot of the current state now (opening reads it instead of the commits
    /// before it). Returns the commit it covers.
    pub async fn compact(&self) -> Result<u64, MemoryError> {
        let mut unsettled = self.write.lock().await;
        self.catch_up().await?;
        *unsettled = false;
        let state = self.read().state.clone();
        self.log.write_snapshot(&state).await?;
        self.last_snapshot.store(state.seq, Ordering::Relaxed);
        Ok(state.seq)
    }

    /// UPSERT: add `draft` as a new record, or — when a live record has the same fingerprint
    /// — bump that record's `replay_count` (and link the draft's first session to it).
    pub async fn upsert(&self, draft: Draft) -> Result<Upserted, MemoryError> {
        let mut done = self.upsert_many(vec![draft]).await?;
        done.pop()
            .ok_or_else(|| MemoryError::InvalidInput("nothing to upsert".into()))
    }

    /// UPSERT many drafts in one commit (all or none), embedding them in one batch. Drafts
    /// with the same fingerprint as an earlier one in the batch count as its replays.
    pub async fn upsert_many(&self, drafts: Vec<Draft>) -> Result<Vec<Upserted>, MemoryError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        if drafts.len() > MAX_BATCH {
            return Err(MemoryError::InvalidInput(format!(
                "{} operations in one batch; the limit is {MAX_BATCH}",
                drafts.len()
            )));
        }
        for (i, d) in drafts.iter().enumerate() {
            d.validate().map_err(|e| match e {
                MemoryError::InvalidInput(m) if drafts.len() > 1 => {
                    MemoryError::InvalidInput(format!("draft {}: {m}", i + 1))
                }
                other => other,
            })?;
        }
        self.embedder()?;
        let fingerprints: Vec<String> = drafts.iter().map(Draft::fingerprint).collect();
        let mut embeddings: HashMap<String, Vec<f32>> = HashMap::new();
        loop {
            // Embed every new workflow that no live record has (once per fingerprint).
            let missing: Vec<usize> = {
                let inner = self.read();
                let mut seen = std::collections::HashSet::new();
                (0..drafts.len())
                    .filter(|&i| {
                        let fp = &fingerprints[i];
                        inner.state.live_with_fingerprint(fp).is_none()
                            && !embeddings.contains_key(fp)
                            && seen.insert(fp.clone())
                    })
                    .collect()
            };
            if !missing.is_empty() {
                let texts: Vec<String> = missing
                    .iter()
                    .map(|&i| drafts[i].embed_text().to_string())
                    .collect();
                let vectors = self.embed(&texts).await?;
                for (i, v) in missing.into_iter().zip(vectors) {
                    embeddings.insert(fingerprints[i].clone(), v);
                }
            }
            let done = self
                .commit(|state, seq, at| {
                    decide_upserts(state, seq, at, &drafts, &fingerprints, &embeddings)
                })
                .await?;
            if let Some(ids) = done {
                let inner = self.read();
                return ids
                    .into_iter()
                    .map(|(action, id)| {
                        Ok(Upserted {
                            action,
                            record: inner.state.require(&id)?.clone().without_embedding(),
                        })
                    })
                    .collect();
            }
        }
    }

    /// REVISE: a new version of `id` with `draft` as its content. `id` must be the tip of its
    /// chain and not retired; with `expected_version`, the tip must be at that version.
    pub async fn revise(
        &self,
        id: &str,
        draft: Draft,
        expected_version: Option<u32>,
    ) -> Result<Record, MemoryError> {
        draft.validate()?;
        {
            // Fail fast on what is wrong already, before embedding.
            let inner = self.read();
            check_revisable(&inner.state, id, expected_version)?;
        }
        let embedding = self
            .embed(&[draft.embed_text().to_string()])
            .await?
            .pop()
            .unwrap_or_default();
        let fingerprint = draft.fingerprint();
        let new_id = self
            .commit(|state, seq, at| {
                let parent = check_revisable(state, id, expected_version)?;
                let new_id = record_id(seq, 0);
                let record = Record {
                    id: new_id.clone(),
                    namespace: state.namespace.clone(),
                    draft: draft.clone(),
                    fingerprint: fingerprint.clone(),
                    version: parent.version + 1,
                    root_id: parent.root_id.clone(),
                    parent_id: Some(parent.id.clone()),
                    ..new_record(&new_id, at, embedding.clone())
                };
                Ok(Some((
                    vec![Event::Revised {
                        parent: parent.id.clone(),
                        record: Box::new(record),
                    }],
                    new_id,
                )))
            })
            .await?
            .unwrap_or_default();
        self.get(&new_id)
    }

    /// REVISE with only the fields that change: `patch` put over the draft of `id`, the rest
    /// inherited (kind, steps, metadata, …). Same rules as [`revise`](Self::revise); if `id`
    /// stops being the tip meanwhile, the commit fails with `NotTip` as there.
    pub async fn revise_with(
        &self,
        id: &str,
        patch: &crate::DraftPatch,
        expected_version: Option<u32>,
    ) -> Result<Record, MemoryError> {
        let draft = patch.apply(&self.get(id)?.draft)?;
        self.revise(id, draft, expected_version).await
    }

    /// RETIRE: take `id` (or, with `chain`, every version in its chain not yet retired) out of
    /// retrieval, recording `reason` and `actor`. Returns the retired records.
    pub async fn retire(
        &self,
        id: &str,
        reason: &str,
        actor: Option<&str>,
        chain: bool,
    ) -> Result<Vec<Record>, MemoryError> {
        if reason.trim().is_empty() {
            return Err(MemoryError::InvalidInput(
                "a retirement needs a reason".into(),
            ));
        }
        let ids = self
            .commit(|state, _, _| {
                let record = state.require(id)?;
                let ids: Vec<String> = if chain {
                    state
                        .history(id, None)?
                        .into_iter()
                        .filter(|r| r.retired_at.is_none())
                        .map(|r| r.id)
                        .collect()
                } else if record.retired_at.is_none() {
                    vec![record.id.clone()]
                } else {
                    Vec::new()
                };
                if ids.is_empty() {
                    return Err(MemoryError::Retired {
                        id: id.to_string(),
                        reason: record.retire_reason.clone().unwrap_or_default(),
                    });
                }
                Ok(Some((
                    vec![Event::Retired {
                        ids: ids.clone(),
                        reason: reason.trim().to_string(),
                        actor: actor.map(str::to_string),
                    }],
                    ids,
                )))
            })
            .await?
            .unwrap_or_default();
        ids.iter().map(|id| self.get(id)).collect()
    }

    /// Record the outcome of replaying `id` (its success or failure count goes up).
    pub async fn record_outcome(
        &self,
        id: &str,
        success: bool,
        session: Option<&str>,
    ) -> Result<Record, MemoryError> {
        self.commit(|state, _, _| {
            state.require(id)?;
            Ok(Some((
                vec![Event::Outcome {
                    id: id.to_string(),
                    success,
                    session: session.map(str::to_string),
                }],
                (),
            )))
        })
        .await?;
        self.get(id)
    }

    /// GET: the record `id`, whatever its state (without its embedding).
    pub fn get(&self, id: &str) -> Result<Record, MemoryError> {
        Ok(self.read().state.require(id)?.clone().without_embedding())
    }

    /// When each of `ids` was written (`None` for an id the namespace does not hold), read under
    /// one lock and without copying the records.
    pub fn created_at(&self, ids: &[&str]) -> Vec<Option<Timestamp>> {
        let inner = self.read();
        ids.iter()
            .map(|id| inner.state.get(id).map(|r| r.created_at))
            .collect()
    }

    /// HISTORY: the chain of `id` from its root to its tip (as of `as_of`), from any member.
    /// A damaged chain (cycle, missing link, fork) is a [`MemoryError::CorruptChain`].
    pub fn history(&self, id: &str, as_of: Option<Timestamp>) -> Result<Vec<Record>, MemoryError> {
        let chain = self.read().state.history(id, as_of)?;
        if chain.is_empty() {
            return Err(MemoryError::UnknownRecord {
                namespace: self.namespace.clone(),
                id: format!(
                    "{id} (as of {})",
                    as_of.map(crate::time::format).unwrap_or_default()
                ),
            });
        }
        Ok(chain.into_iter().map(Record::without_embedding).collect())
    }

    /// LIST: records passing `filter`, oldest first.
    pub fn list(&self, filter: &ListFilter) -> Vec<Record> {
        let inner = self.read();
        let records = inner.state.records();
        let limit = filter.limit.unwrap_or(usize::MAX);
        match filter.as_of {
            None => records
                .filter(|r| filter.admits(r))
                .take(limit)
                .map(|r| r.clone().without_embedding())
                .collect(),
            Some(t) => records
                .filter_map(|r| r.as_of(t))
                .filter(|r| filter.admits(r))
                .take(limit)
                .map(Record::without_embedding)
                .collect(),
        }
    }

    /// SEARCH: the live tips (as of the query's time) best matching the query, by reciprocal
    /// rank fusion of vector and BM25 rankings, with replays and successes as a small boost.
    pub async fn search(&self, query: &MemoryQuery) -> Result<Vec<MemoryHit>, MemoryError> {
        query.validate()?;
        let vector = self
            .embed(std::slice::from_ref(&query.text))
            .await?
            .pop()
            .unwrap_or_default();
        self.search_with_vector(query, &vector)
    }

    /// SEARCH with the query's embedding already computed (the same embedder's).
    pub fn search_with_vector(
        &self,
        query: &MemoryQuery,
        vector: &[f32],
    ) -> Result<Vec<MemoryHit>, MemoryError> {
        query.validate()?;
        {
            let inner = self.read();
            if inner.state.is_empty() {
                return Ok(Vec::new());
            }
            let dim = inner
                .state
                .embedder
                .as_ref()
                .map_or(vector.len(), |e| e.dim);
            if vector.len() != dim {
                return Err(MemoryError::InvalidInput(format!(
                    "query vector has dimension {}, the namespace {dim}",
                    vector.len()
                )));
            }
            if let Some(indexes) = inner.indexes.as_ref().filter(|i| i.is_current()) {
                return search_in(&inner.state, indexes, query, vector);
            }
        }
        // The indexes are missing (first search) or hold additions not yet searchable: bring
        // them up to date and search with the lock to itself. Other searches share it.
        let mut inner = self.exclusive();
        let (state, indexes) = inner.prepare_indexes(vector.len(), self.options.index_threads)?;
        search_in(state, indexes, query, vector)
    }
}

impl Inner {
    /// The indexes, built from the state if they are missing, with every record they were
    /// given searchable.
    fn prepare_indexes(
        &mut self,
        dim: usize,
        threads: usize,
    ) -> Result<(&State, &Indexes), MemoryError> {
        let Inner { state, indexes } = self;
        let built = match indexes.take() {
            Some(built) => built,
            None => {
                let docs: Vec<(u64, &[f32], String)> = state
                    .records()
                    .filter(|r| r.embedding.len() == dim)
                    .filter_map(|r| {
                        crate::state::key_of(&r.id)
                            .map(|k| (k, r.embedding.as_slice(), r.draft.search_text()))
                    })
                    .collect();
                Indexes::build(dim, &docs, threads)?
            }
        };
        let built = indexes.insert(built);
        built.make_current()?;
        Ok((state, built))
    }
}

/// Refuse to commit vectors the namespace cannot hold: from another embedder than the one it
/// was written with (another writer may have created it with theirs since this handle opened),
/// or of the wrong length.
fn check_embeddings(
    state: &State,
    mine: Option<&EmbedderInfo>,
    events: &[Event],
) -> Result<(), MemoryError> {
    if let (Some(recorded), Some(mine)) = (&state.embedder, mine)
        && (recorded.id != mine.id || recorded.dim != mine.dim)
    {
        return Err(MemoryError::EmbedderMismatch {
            namespace: state.namespace.clone(),
            recorded: recorded.id.clone(),
            recorded_dim: recorded.dim,
            given: mine.id.clone(),
            given_dim: mine.dim,
        });
    }
    let Some(dim) = state.embedder.as_ref().or(mine).map(|e| e.dim) else {
        return Ok(());
    };
    for event in events {
        if let Event::Added { record } | Event::Revised { record, .. } = event
            && record.embedding.len() != dim
        {
            return Err(MemoryError::InvalidInput(format!(
                "the embedder returned a vector of dimension {} for a namespace of dimension {dim}",
                record.embedding.len()
            )));
        }
    }
    Ok(())
}

fn new_record(id: &str, at: Timestamp, embedding: Vec<f32>) -> Record {
    Record {
        id: id.to_string(),
        namespace: String::new(),
        draft: Draft::new(crate::Kind::Pathway, ""),
        fingerprint: String::new(),
        version: 1,
        root_id: id.to_string(),
        parent_id: None,
        created_at: at,
        superseded_at: None,
        superseded_by: None,
        retired_at: None,
        retire_reason: None,
        retired_by: None,
        replay_count: 1,
        success_count: 0,
        failure_count: 0,
        replays: Vec::new(),
        outcomes: Vec::new(),
        embedding,
    }
}

/// The tip `id` if it can be revised: exists, not retired, not superseded, at the expected
/// version.
fn check_revisable<'a>(
    state: &'a State,
    id: &str,
    expected_version: Option<u32>,
) -> Result<&'a Record, MemoryError> {
    let record = state.require(id)?;
    if let Some(reason) = &record.retire_reason {
        return Err(MemoryError::Retired {
            id: id.to_string(),
            reason: reason.clone(),
        });
    }
    if record.superseded_by.is_some() {
        return Err(MemoryError::NotTip {
            id: id.to_string(),
            tip: state.tip_of(id)?.id.clone(),
        });
    }
    if let Some(expected) = expected_version
        && expected != record.version
    {
        return Err(MemoryError::VersionMismatch {
            id: id.to_string(),
            expected,
            actual: record.version,
        });
    }
    Ok(record)
}

type Decision = Option<(Vec<Event>, Vec<(Action, String)>)>;

/// The events of a batch of upserts against `state`; `None` when a new workflow has no
/// embedding yet.
fn decide_upserts(
    state: &State,
    seq: u64,
    at: Timestamp,
    drafts: &[Draft],
    fingerprints: &[String],
    embeddings: &HashMap<String, Vec<f32>>,
) -> Result<Decision, MemoryError> {
    let mut events = Vec::with_capacity(drafts.len());
    let mut results = Vec::with_capacity(drafts.len());
    let mut added_here: HashMap<&str, String> = HashMap::new();
    let mut new_records = 0usize;
    for (draft, fp) in drafts.iter().zip(fingerprints) {
        let existing = state
            .live_with_fingerprint(fp)
            .map(|r| r.id.clone())
            .or_else(|| added_here.get(fp.as_str()).cloned());
        if let Some(id) = existing {
            events.push(Event::Replayed {
                id: id.clone(),
                session: draft.sessions.first().cloned(),
            });
            results.push((Action::Updated, id));
            continue;
        }
        let Some(embedding) = embeddings.get(fp) else {
            return Ok(None);
        };
        let id = record_id(seq, new_records);
        debug_assert!(record_key(seq, new_records) > 0);
        new_records += 1;
        let record = Record {
            namespace: state.namespace.clone(),
            draft: draft.clone(),
            fingerprint: fp.clone(),
            ..new_record(&id, at, embedding.clone())
        };
        events.push(Event::Added {
            record: Box::new(record),
        });
        added_here.insert(fp, id.clone());
        results.push((Action::Added, id));
    }
    Ok(Some((events, results)))
}
