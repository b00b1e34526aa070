//! Lakehouse: a data-and-memory platform for AI agents, in one handle.
//!
//! [`Lakehouse::open`] takes a [`Config`] and wires the pieces together: the store and its
//! journals (crate `lakehouse-store`, re-exported as [`store`]), the datasets (crate
//! `lakehouse-table`, re-exported as [`table`]), the embedders (`lakehouse-models`, as
//! [`models`]) and the corpora with matrix search (`lakehouse-vectord`, as [`vectord`]).
//! [`Lakehouse::build_corpus`] is the bridge between the last two: it reads a dataset and feeds
//! its rows to a corpus, so retrieval never depends on the SQL engine. The CLI and the server
//! reach everything through this one type.

use std::sync::Arc;

mod gc;
pub use gc::GcReport;
pub use lakehouse_agent as agent;
use lakehouse_agent::Workspace;
pub use lakehouse_memory as memory;
use lakehouse_memory::{Memory, MemoryError, MemoryOptions};
pub use lakehouse_models as models;
use lakehouse_models::EmbedderSpec;
pub use lakehouse_store as store;
use lakehouse_store::journal::{JournalError, JournalOptions, StoreJournal};
use lakehouse_store::{Store, StoreError};
pub use lakehouse_table as table;
use lakehouse_table::{SqlOptions, TableError, Tables};
pub use lakehouse_vectord as vectord;
use lakehouse_vectord::{
    BuildOptions, BuildReport, Corpora, Progress, RowSpec, VectordError, manifest::SourceInfo,
};

/// Where Lakehouse keeps its data and how it behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The store URL: a path, `file:///…`, `memory://` or `s3://bucket/prefix`.
    pub store_url: String,
    /// Bytes of loaded corpus segments kept in memory (their files' sizes), least recently
    /// used out first.
    pub corpus_cache_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            store_url: lakehouse_store::DEFAULT_STORE_URL.to_string(),
            corpus_cache_bytes: lakehouse_vectord::DEFAULT_CACHE_BYTES,
        }
    }
}

impl Config {
    /// The default configuration with another store.
    pub fn with_store_url(mut self, url: impl Into<String>) -> Self {
        self.store_url = url.into();
        self
    }

    /// Keep at most `bytes` of loaded corpus segments.
    pub fn with_corpus_cache_bytes(mut self, bytes: u64) -> Self {
        self.corpus_cache_bytes = bytes;
        self
    }
}

/// What can go wrong opening or using Lakehouse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store could not be opened or reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A journal operation failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A dataset or query failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A corpus operation failed.
    #[error(transparent)]
    Vectord(#[from] VectordError),
    /// A memory operation failed.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

impl Error {
    /// Who is at fault (the server's status codes are chosen from this).
    pub fn fault(&self) -> lakehouse_store::Fault {
        match self {
            Self::Store(e) => e.fault(),
            Self::Journal(e) => e.fault(),
            Self::Table(e) => e.fault(),
            Self::Vectord(e) => e.fault(),
            Self::Memory(e) => e.fault(),
        }
    }
}

/// What [`Lakehouse::build_corpus`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CorpusBuild {
    /// The dataset read.
    pub dataset: String,
    /// Rows read from it.
    pub rows: usize,
    /// Rows skipped because their text was empty.
    pub skipped_empty: usize,
    /// What the corpus build did.
    #[serde(flatten)]
    pub report: BuildReport,
}

/// An open Lakehouse.
#[derive(Debug, Clone)]
pub struct Lakehouse {
    config: Config,
    store: Store,
    tables: Tables,
    corpora: Arc<Corpora>,
}

impl Lakehouse {
    /// Open the store named by `config` and check that it answers.
    pub async fn open(config: Config) -> Result<Lakehouse, Error> {
        let store = Store::open(&config.store_url)?;
        store.check().await?;
        let tables = Tables::new(store.clone());
        let corpora = Arc::new(
            Corpora::new(Arc::clone(store.object_store()))
                .with_cache_bytes(config.corpus_cache_bytes),
        );
        Ok(Lakehouse {
            config,
            store,
            tables,
            corpora,
        })
    }

    /// The configuration this was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store everything lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The datasets (Delta tables under `tables/`) and SQL over them.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The corpora (ANN + BM25 indexes) and matrix search over them.
    pub fn corpora(&self) -> &Arc<Corpora> {
        &self.corpora
    }

    /// Open memory namespace `namespace` with an embedder for UPSERT, REVISE and SEARCH: the one
    /// the namespace was written with, or `embedder`, or MiniLM for a new namespace. Offering
    /// another embedder than the recorded one is an error. Embedders are shared with the
    /// corpora (one model load per process).
    pub async fn memory(
        &self,
        namespace: &str,
        embedder: Option<EmbedderSpec>,
    ) -> Result<Memory, Error> {
        let memory = self.memory_without_embedder(namespace).await?;
        self.attach_embedder(memory, embedder, &EmbedderSpec::default())
            .await
    }

    /// Open memory namespace `namespace` with the embedder it was written with, or `default`
    /// for a namespace that has none recorded yet (the server's configured embedder).
    pub async fn memory_or(
        &self,
        namespace: &str,
        default: &EmbedderSpec,
    ) -> Result<Memory, Error> {
        let memory = self.memory_without_embedder(namespace).await?;
        self.attach_embedder(memory, None, default).await
    }

    async fn attach_embedder(
        &self,
        memory: Memory,
        offered: Option<EmbedderSpec>,
        default: &EmbedderSpec,
    ) -> Result<Memory, Error> {
        let spec = match (offered, memory.recorded_embedder()) {
            (Some(spec), _) => spec,
            (None, Some(recorded)) => recorded
                .spec
                .parse::<EmbedderSpec>()
                .map_err(VectordError::from)?,
            (None, None) => default.clone(),
        };
        let model = self.corpora.embedder(&spec).await?;
        Ok(memory.with_embedder(model, &spec.to_string())?)
    }

    /// The agent's workspace: the datasets, the corpora, and playbook memory in `namespace`
    /// (opened with its recorded embedder, or `embedder`, or MiniLM).
    pub async fn workspace(
        &self,
        namespace: &str,
        embedder: Option<EmbedderSpec>,
    ) -> Result<Workspace, Error> {
        Ok(Workspace {
            tables: self.tables.clone(),
            corpora: Arc::clone(&self.corpora),
            memory: Arc::new(self.memory(namespace, embedder).await?),
        })
    }

    /// The agent's workspace with playbook memory in `namespace` opened with its recorded
    /// embedder, or `default` for a new namespace.
    pub async fn workspace_or(
        &self,
        namespace: &str,
        default: &EmbedderSpec,
    ) -> Result<Workspace, Error> {
        Ok(Workspace {
            tables: self.tables.clone(),
            corpora: Arc::clone(&self.corpora),
            memory: Arc::new(self.memory_or(namespace, default).await?),
        })
    }

    /// Open memory namespace `namespace` for reading, retiring and recording outcomes, without
    /// loading an embedder.
    pub async fn memory_without_embedder(&self, namespace: &str) -> Result<Memory, Error> {
        Ok(Memory::open(
            Arc::clone(self.store.object_store()),
            namespace,
            MemoryOptions::default(),
        )
        .await?)
    }

    /// Build corpus `corpus` from dataset `dataset`, or bring it up to date with it: rows are
    /// read with SQL and handed to [`Corpora::build`] (incremental, resumable).
    pub async fn build_corpus(
        &self,
        corpus: &str,
        dataset: &str,
        spec: &RowSpec,
        mut options: BuildOptions,
        progress: &dyn Progress,
    ) -> Result<CorpusBuild, Error> {
        lakehouse_vectord::validate_name(corpus)?;
        let batches = self
            .tables
            .sql_collect(
                &format!("SELECT * FROM \"{dataset}\""),
                &SqlOptions::default(),
            )
            .await?;
        let rows_read = batches.iter().map(|b| b.num_rows()).sum();
        let (rows, skipped_empty) = lakehouse_vectord::rows_from_batches(&batches, spec)?;
        drop(batches);
        options.source = Some(SourceInfo {
            dataset: dataset.to_string(),
            text: spec.text.clone(),
            id: spec.id.clone(),
            meta: spec.meta.clone(),
        });
        let report = self
            .corpora
            .build(corpus, &rows, &options, progress)
            .await?;
        Ok(CorpusBuild {
            dataset: dataset.to_string(),
            rows: rows_read,
            skipped_empty,
            report,
        })
    }

    /// Open the journal under `prefix` of the store.
    pub fn journal(&self, prefix: &str, options: JournalOptions) -> Result<StoreJournal, Error> {
        Ok(StoreJournal::open(
            Arc::clone(self.store.object_store()),
            prefix,
            options,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lakehouse_store::journal::{Journal, JournalExt};

    #[tokio::test]
    async fn opens_a_local_store_and_its_journals() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("data").display().to_string();
        let lakehouse = Lakehouse::open(Config::default().with_store_url(&url))
            .await
            .unwrap();
        let journal = lakehouse
            .journal("journals/errors", JournalOptions::default())
            .unwrap();
        journal
            .append_json(&serde_json::json!({"x": 1}))
            .await
            .unwrap();
        journal.close().await.unwrap();
        assert_eq!(journal.read_all().await.unwrap().len(), 1);
        assert!(dir.path().join("data/journals/errors").is_dir());
    }

    #[tokio::test]
    async fn a_bad_store_url_is_an_error() {
        let err = Lakehouse::open(Config::default().with_store_url("ftp://x"))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("unsupported store URL scheme 'ftp'"),
            "{err}"
        );
    }
}
