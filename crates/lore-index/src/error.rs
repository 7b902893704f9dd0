//! Store errors.

/// Errors of the catalog and the indexes.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// SQLite failed.
    #[error("catalog: {0}")]
    Catalog(#[from] rusqlite::Error),
    /// tantivy failed.
    #[error("BM25 index: {0}")]
    Bm25(#[from] tantivy::TantivyError),
    /// usearch failed.
    #[error("vector index: {0}")]
    Ann(String),
    /// File-system failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The collection does not exist.
    #[error("collection `{0}` not found")]
    CollectionNotFound(String),
    /// A collection name with characters lore does not allow.
    #[error("invalid collection name `{0}`: use 1-64 ASCII letters, digits, `-`, `_` or `.`, not starting with `.` or `-`, and not `lore` or `memory` (reserved)")]
    InvalidCollectionName(String),
    /// The collection was built with another embedding model or dimension.
    #[error("collection `{name}` holds {have} embeddings; this run uses {want}: re-embed the collection or pick the same model")]
    ModelMismatch {
        /// Collection.
        name: String,
        /// Model stored with the collection.
        have: String,
        /// Model of this run.
        want: String,
    },
    /// A vector of the wrong dimension.
    #[error("vector has {got} dimensions, the collection expects {want}")]
    Dimension {
        /// Dimension given.
        got: usize,
        /// Dimension expected.
        want: usize,
    },
    /// A search before [`crate::Store::load`] opened the collection's indexes.
    #[error("indexes of collection `{0}` are not loaded")]
    NotLoaded(String),
    /// A catalog row that cannot be read back (bad JSON, unknown enum value).
    #[error("{0}")]
    Corrupt(String),
    /// Another process holds the data dir.
    #[error("data dir {0} is locked by another lore process")]
    Locked(String),
}

impl IndexError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        IndexError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result of store functions.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
