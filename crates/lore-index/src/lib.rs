//! The store: an SQLite catalog (source of truth) plus derived indexes per collection, a
//! tantivy BM25 index and a usearch HNSW vector index, with hybrid fusion on top.
//!
//! Durability (DESIGN.md §3): a document write is one catalog transaction (WAL,
//! `synchronous=FULL`), so it is atomic and survives `kill -9` once acknowledged. Each write
//! appends a row to the catalog's change log. The indexes are updated after the catalog and
//! persisted in batches, each recording the last change sequence number it holds (tantivy
//! in its commit payload, usearch in its file name). On open, an index that is behind is
//! replayed forward from the change log, and one that is missing or unreadable is rebuilt
//! from the catalog.
#![warn(missing_docs)]

pub mod ann;
pub mod bm25;
pub mod catalog;
pub mod drift;
pub mod error;
pub mod experiments;
pub mod fusion;
pub mod jobs;
pub mod keys;
pub mod memories;
pub mod query_log;
pub mod store;

/// Now as unix milliseconds (0 if the clock is before 1970): the catalog's timestamps.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub use catalog::{
    ChunkRecord, Chunking, CollectionInfo, DocumentInfo, NewChunk, NewCollection, NewDocument,
    WriteOutcome,
};
pub use error::{IndexError, Result};
pub use fusion::reciprocal_rank_fusion;
/// Opens another connection to the catalog at `catalog_path` (its folder created if
/// needed; WAL, `synchronous=FULL`, a 10 s busy timeout) and creates `schema`'s tables:
/// the key store and the job store each keep their own, so they work beside the engine's
/// (and `lore keys` beside a running server).
///
/// # Errors
/// I/O errors creating the folder; SQLite errors.
pub(crate) fn open_side_connection(
    catalog_path: &std::path::Path,
    schema: &str,
) -> Result<rusqlite::Connection> {
    if let Some(dir) = catalog_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| IndexError::io(format!("creating {}", dir.display()), e))?;
    }
    let conn = rusqlite::Connection::open(catalog_path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(schema)?;
    Ok(conn)
}

pub use drift::{drift_report, DriftConfig, DriftReport, DriftWindow};
pub use experiments::{experiment_report, ArmReport, ExperimentReport, Proportion};
pub use jobs::{JobFileRow, JobQuery, JobRow, JobStore};
pub use keys::{
    parse_expiry, ApiKey, CreatedKey, KeyRejection, KeyRequest, KeyRequestError, KeyStore, NewKey,
};
pub use query_log::{Analytics, CostRow, FeedbackOutcome, QueryLog, QueryRecord, ServedBy};
/// A connection to the catalog (reports read the query log through one).
pub use rusqlite::Connection as CatalogConnection;
pub use store::{DenseStrategy, SearchParams, Store, StoreOptions};
