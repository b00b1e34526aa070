//! Who is at fault when an operation fails: the classification every error type of Lakehouse
//! answers with `fault()`, so that an edge (the server's status codes, the CLI's exit codes)
//! maps errors exhaustively without matching on messages.

/// Who is at fault for an error, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The caller's input is wrong: a bad name, a malformed row, document or query, a value
    /// out of range. Trying again with the same input fails again.
    BadInput,
    /// What was asked for does not exist (a dataset, corpus, record).
    NotFound,
    /// The thing exists but its state does not allow the operation now: another writer came
    /// first, the record is not the tip, the version is not the one expected.
    Conflict,
    /// A service Lakehouse depends on (the store, a model server) could not be reached or
    /// answered with an error; trying again later may work.
    Unavailable,
    /// Lakehouse's own failure or damaged stored data: for the log, not the caller.
    Internal,
}

/// The fault of an `object_store` error: a store that cannot be reached or refuses a request
/// is unavailable; an object our own pointers name but that is missing, or a path we built
/// that the store rejects, is ours.
pub fn object_store_fault(error: &object_store::Error) -> Fault {
    match error {
        object_store::Error::NotFound { .. }
        | object_store::Error::InvalidPath { .. }
        | object_store::Error::NotImplemented { .. }
        | object_store::Error::NotSupported { .. }
        | object_store::Error::UnknownConfigurationKey { .. }
        | object_store::Error::JoinError { .. } => Fault::Internal,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            Fault::Conflict
        }
        _ => Fault::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_are_sorted_by_fault() {
        let generic = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        assert_eq!(object_store_fault(&generic), Fault::Unavailable);
        let exists = object_store::Error::AlreadyExists {
            path: "a".into(),
            source: "exists".into(),
        };
        assert_eq!(object_store_fault(&exists), Fault::Conflict);
        let missing = object_store::Error::NotFound {
            path: "a".into(),
            source: "gone".into(),
        };
        assert_eq!(object_store_fault(&missing), Fault::Internal);
    }
}
