//! The error type for opening and probing stores.

/// Why a store could not be opened or reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL could not be parsed at all.
    #[error("invalid store URL '{url}': {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL names a scheme Lakehouse does not support.
    #[error(
        "unsupported store URL scheme '{scheme}' in '{url}': use a path, file://…, memory:// or s3://bucket/prefix"
    )]
    UnsupportedScheme {
        /// The scheme found in the URL.
        scheme: String,
        /// The URL as given.
        url: String,
    },
    /// A local store folder could not be created or used.
    #[error("cannot use local store folder '{path}': {source}")]
    LocalFolder {
        /// The folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The object store backend rejected the configuration.
    #[error("cannot configure store '{url}': {source}")]
    Config {
        /// The URL being opened.
        url: String,
        /// The backend's error.
        source: object_store::Error,
    },
    /// The store was configured but a first request to it failed.
    #[error("cannot reach store '{url}': {source}")]
    Unreachable {
        /// The URL being probed.
        url: String,
        /// The backend's error.
        source: object_store::Error,
    },
}

impl StoreError {
    /// Who is at fault: a URL that cannot be used is the caller's; a store that does not answer
    /// is unavailable.
    pub fn fault(&self) -> crate::Fault {
        match self {
            Self::InvalidUrl { .. } | Self::UnsupportedScheme { .. } | Self::Config { .. } => {
                crate::Fault::BadInput
            }
            Self::LocalFolder { .. } | Self::Unreachable { .. } => crate::Fault::Unavailable,
        }
    }
}
