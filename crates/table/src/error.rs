//! The error type of datasets and SQL, sorted by who is at fault: bad input (names, files,
//! rows, queries) versus storage and engine failures.

/// What went wrong with a dataset or a query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// A dataset name that is not allowed.
    #[error("invalid dataset name '{name}': {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No dataset has this name.
    #[error("no dataset named '{name}'{hint}")]
    NotFound {
        /// The name asked for.
        name: String,
        /// " (datasets: a, b)" or empty.
        hint: String,
    },
    /// The source to ingest could not be found or read.
    #[error("cannot read source '{source_name}': {reason}")]
    Source {
        /// The file, folder or URL.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// A row or value of the input is malformed. Nothing was written.
    #[error("{file}, line {line}{column}: {reason}")]
    BadRow {
        /// The input file.
        file: String,
        /// 1-based line of the row (where the record starts).
        line: u64,
        /// ", column 'x'" or empty when the whole row is bad.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// A `--schema` override or a column type that is not understood.
    #[error("invalid schema '{spec}': {reason}")]
    InvalidSchema {
        /// The override as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The input does not fit the existing dataset.
    #[error("cannot append to dataset '{name}': {reason}")]
    SchemaMismatch {
        /// The dataset.
        name: String,
        /// What does not fit.
        reason: String,
    },
    /// A statement other than a query was given to the read-only SQL interface.
    #[error(
        "only queries are allowed (SELECT, WITH … SELECT, VALUES, EXPLAIN); this is {statement}: nothing was run"
    )]
    ReadOnly {
        /// The kind of statement refused.
        statement: String,
    },
    /// The query is not valid SQL or refers to something that does not exist.
    #[error("query failed: {reason}")]
    Query {
        /// The engine's message.
        reason: String,
    },
    /// A query went over a cap (time, memory); nothing was returned.
    #[error("query stopped: {limit}")]
    LimitExceeded {
        /// Which cap, and its value.
        limit: String,
    },
    /// The Delta table could not be read or written.
    #[error("dataset '{name}': {source}")]
    Delta {
        /// The dataset.
        name: String,
        /// The Delta error.
        source: Box<deltalake::DeltaTableError>,
    },
    /// The store failed.
    #[error("store error at '{key}': {source}")]
    Store {
        /// The object or prefix.
        key: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// The store URL of a source could not be opened.
    #[error(transparent)]
    OpenStore(#[from] lakehouse_store::StoreError),
    /// Arrow failed while building or converting data.
    #[error("data conversion failed: {0}")]
    Arrow(#[from] deltalake::arrow::error::ArrowError),
    /// Printing results failed (e.g. the reader of a pipe went away).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

impl TableError {
    pub(crate) fn delta(name: &str, source: deltalake::DeltaTableError) -> TableError {
        TableError::Delta {
            name: name.to_string(),
            source: Box::new(source),
        }
    }

    pub(crate) fn query(error: impl std::fmt::Display) -> TableError {
        TableError::Query {
            reason: error.to_string(),
        }
    }
}

impl TableError {
    /// Who is at fault: names, sources, rows, schemas and queries are the caller's; a Delta
    /// commit that lost to another writer is a conflict; the store's errors are sorted by
    /// [`lakehouse_store::object_store_fault`].
    pub fn fault(&self) -> lakehouse_store::Fault {
        use lakehouse_store::Fault;
        match self {
            Self::InvalidName { .. }
            | Self::Source { .. }
            | Self::BadRow { .. }
            | Self::InvalidSchema { .. }
            | Self::SchemaMismatch { .. }
            | Self::ReadOnly { .. }
            | Self::Query { .. }
            | Self::LimitExceeded { .. } => Fault::BadInput,
            Self::NotFound { .. } => Fault::NotFound,
            Self::Delta { source, .. } => delta_fault(source),
            Self::Store { source, .. } => lakehouse_store::object_store_fault(source),
            Self::OpenStore(e) => e.fault(),
            Self::Arrow(_) | Self::Output(_) => Fault::Internal,
        }
    }
}

/// Delta's errors are not ours to enumerate (the enum is open): version races are conflicts,
/// store failures are sorted like the store's own, everything else is internal.
fn delta_fault(error: &deltalake::DeltaTableError) -> lakehouse_store::Fault {
    use deltalake::DeltaTableError as E;
    use deltalake::kernel::transaction::TransactionError as T;
    use lakehouse_store::Fault;
    match error {
        E::VersionAlreadyExists(_) | E::VersionMismatch(..) => Fault::Conflict,
        E::Transaction { source } => match source {
            T::VersionAlreadyExists(_) | T::CommitConflict(_) | T::MaxCommitAttempts(_) => {
                Fault::Conflict
            }
            T::ObjectStore { source } => lakehouse_store::object_store_fault(source),
            _ => Fault::Internal,
        },
        E::ObjectStore { source } => lakehouse_store::object_store_fault(source),
        _ => Fault::Internal,
    }
}
