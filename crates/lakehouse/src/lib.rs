//! Lakehouse: a data-and-memory platform for AI agents, in one handle.
//!
//! [`Lakehouse::open`] takes a [`Config`] and wires the pieces together: the store and its
//! journals (crate `lakehouse-store`, re-exported as [`store`]) and the datasets (crate
//! `lakehouse-table`, re-exported as [`table`]). Corpora, memory and the agent loop join here as
//! they land, so that the CLI and the server reach everything through this one type.

use std::sync::Arc;

pub use lakehouse_store as store;
use lakehouse_store::journal::{JournalError, JournalOptions, StoreJournal};
use lakehouse_store::{Store, StoreError};
pub use lakehouse_table as table;
use lakehouse_table::{TableError, Tables};

/// Where Lakehouse keeps its data and how it behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The store URL: a path, `file:///…`, `memory://` or `s3://bucket/prefix`.
    pub store_url: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            store_url: lakehouse_store::DEFAULT_STORE_URL.to_string(),
        }
    }
}

impl Config {
    /// The default configuration with another store.
    pub fn with_store_url(mut self, url: impl Into<String>) -> Self {
        self.store_url = url.into();
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
}

/// An open Lakehouse.
#[derive(Debug, Clone)]
pub struct Lakehouse {
    config: Config,
    store: Store,
    tables: Tables,
}

impl Lakehouse {
    /// Open the store named by `config` and check that it answers.
    pub async fn open(config: Config) -> Result<Lakehouse, Error> {
        let store = Store::open(&config.store_url)?;
        store.check().await?;
        let tables = Tables::new(store.clone());
        Ok(Lakehouse {
            config,
            store,
            tables,
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
