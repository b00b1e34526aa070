//! The error type of this crate.

/// What can go wrong building or searching corpora.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VectordError {
    /// A corpus name that is not allowed.
    #[error(
        "invalid corpus name {name:?}: use 1-64 lowercase letters, digits or `_`, starting with a letter or digit"
    )]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// No corpus of that name exists in the store.
    #[error("corpus {name:?} does not exist{}", known_list(.known))]
    UnknownCorpus {
        /// The name asked for.
        name: String,
        /// The corpora that do exist.
        known: Vec<String>,
    },
    /// A query that is empty after trimming.
    #[error("the query is empty")]
    EmptyQuery,
    /// The request is malformed (bad k, bad filter, no corpora, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The input rows cannot make a corpus (unknown column, missing id, duplicate id, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The embedder used for a query or an update is not the one the corpus was built with.
    #[error(
        "corpus {corpus:?} was built with embedder {built_with} (dimension {built_dim}); {given} (dimension {given_dim}) cannot search or extend it"
    )]
    EmbedderMismatch {
        /// The corpus.
        corpus: String,
        /// The embedder id in the manifest.
        built_with: String,
        /// The dimension in the manifest.
        built_dim: usize,
        /// The embedder offered.
        given: String,
        /// Its dimension.
        given_dim: usize,
    },
    /// A stored file is damaged: checksum mismatch or undecodable.
    #[error("corrupt corpus file {path}: {message}")]
    Corrupt {
        /// The object's path in the store.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Another writer committed a new version of the corpus first.
    #[error(
        "corpus {corpus:?} changed while this build ran (version {version} was written by someone else); run it again"
    )]
    Conflict {
        /// The corpus.
        corpus: String,
        /// The version that already existed.
        version: u64,
    },
    /// A segment written by an earlier version of Lakehouse in a format this one cannot read.
    #[error(
        "corpus {corpus:?} has a vector index in an older format ({path}); rebuild it: `lakehouse corpus drop {corpus} --yes`, then `lakehouse corpus build {corpus} ...` again"
    )]
    OldFormat {
        /// The corpus.
        corpus: String,
        /// The file in the old format.
        path: String,
    },
    /// The BM25 library failed.
    #[error("text index: {0}")]
    Bm25(#[from] tantivy::TantivyError),
    /// An embedder failed.
    #[error(transparent)]
    Model(#[from] lakehouse_models::ModelError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] object_store::Error),
    /// A journal (parameter trials) failed.
    #[error(transparent)]
    Journal(#[from] lakehouse_store::journal::JournalError),
    /// Arrow or Parquet failed.
    #[error("docs file: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A corpus needs a query vector that was never made (a bug, reported per corpus).
    #[error("no query vector for this corpus's embedder")]
    NoQueryVector,
    /// The search of one corpus panicked (the others still answer).
    #[error("the search of this corpus panicked")]
    SearchPanicked,
    /// A blocking worker panicked or was cancelled.
    #[error("worker stopped: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (the store has no corpora yet; build one with `lakehouse corpus build`)".into()
    } else {
        format!(" (known: {})", known.join(", "))
    }
}

impl From<lakehouse_ann::AnnError> for VectordError {
    fn from(e: lakehouse_ann::AnnError) -> Self {
        match e {
            lakehouse_ann::AnnError::Corrupt { path, message } => Self::Corrupt { path, message },
            other => Self::InvalidInput(other.to_string()),
        }
    }
}

impl VectordError {
    /// Who is at fault: names, queries, rows and embedders offered are the caller's; a build
    /// that lost to another writer, or a corpus in an old format, is a conflict (the message
    /// says what to do); damaged files and library failures are ours.
    pub fn fault(&self) -> lakehouse_store::Fault {
        use lakehouse_store::Fault;
        match self {
            Self::InvalidName { .. }
            | Self::EmptyQuery
            | Self::InvalidRequest(_)
            | Self::InvalidInput(_)
            | Self::EmbedderMismatch { .. } => Fault::BadInput,
            Self::UnknownCorpus { .. } => Fault::NotFound,
            Self::Conflict { .. } | Self::OldFormat { .. } => Fault::Conflict,
            Self::Model(e) => e.fault(),
            Self::Store(e) => lakehouse_store::object_store_fault(e),
            Self::Journal(e) => e.fault(),
            Self::Corrupt { .. }
            | Self::Bm25(_)
            | Self::Parquet(_)
            | Self::Arrow(_)
            | Self::Worker(_)
            | Self::NoQueryVector
            | Self::SearchPanicked => Fault::Internal,
        }
    }
}
