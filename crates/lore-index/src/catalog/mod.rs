//! The catalog: collections, documents, chunks with their embeddings, and the change log,
//! in SQLite (WAL mode, `synchronous=FULL`: a committed write survives `kill -9` and power
//! loss). It is the source of truth; the BM25 and vector indexes are rebuilt from it.
//!
//! One module per table group: [`schema`] (tables and migrations), [`collections`],
//! [`documents`] (documents and their chunks), [`changes`] (the change log the indexes
//! replay) and [`hydrate`] (chunks back into hits and index records).

mod changes;
mod collections;
mod documents;
mod hydrate;
mod schema;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lore_core::{FilterField, FilterSet, Hit, Metadata};
use rusqlite::Connection;

use crate::{now_ms, Result};
use changes::log_change;
use schema::{migrate, SCHEMA};

/// A collection as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInfo {
    /// Catalog id (also names the collection's index folder).
    pub id: i64,
    /// User-facing name.
    pub name: String,
    /// Embedding model the vectors were made with.
    pub model_id: String,
    /// Vector dimension.
    pub dim: usize,
    /// Bumped on every ingest, replace or delete.
    pub version: u64,
    /// Change log rows up to this sequence number were pruned.
    pub pruned_upto: u64,
    /// 128 random bits (32 hex digits), new at creation and with every version: unlike
    /// `(id, version)` it never repeats, not after a collection is deleted and created
    /// again, nor between two copies of a data dir that changed apart. Cache keys use it.
    pub revision: String,
    /// The chunking its documents were cut with (`None`: made by a lore that did not
    /// record it; the next ingest records its own).
    pub chunking: Option<Chunking>,
}

/// A collection to create: name, embedding model, chunking and metadata defaults.
#[derive(Debug, Clone, Copy)]
pub struct NewCollection<'a> {
    /// 1-64 letters, digits, `-`, `_`, `.`.
    pub name: &'a str,
    /// Embedding model id (`all-MiniLM-L6-v2/f32`).
    pub model_id: &'a str,
    /// Vector dimension.
    pub dim: usize,
    /// Chunk size and overlap its documents are cut with.
    pub chunking: Chunking,
    /// Metadata for documents added without their own.
    pub defaults: Option<&'a Metadata>,
}

/// A collection's chunk size and overlap, tokens of the embedding model's tokenizer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Chunking {
    /// Target chunk size.
    pub chunk_tokens: usize,
    /// Tokens shared by consecutive chunks.
    pub overlap_tokens: usize,
}

impl std::fmt::Display for Chunking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} tokens, overlap {}",
            self.chunk_tokens, self.overlap_tokens
        )
    }
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DocumentInfo {
    /// Catalog id (the `{id}` of the HTTP API's document routes).
    pub id: i64,
    /// Source: the path given to ingest, or the uploaded file name.
    pub source: String,
    /// Title.
    pub title: String,
    /// Detected format (`pdf`, `docx`, ...).
    pub format: String,
    /// sha256 of the file bytes, lowercase hex.
    pub content_hash: String,
    /// File size in bytes.
    pub bytes: u64,
    /// 1 on first ingest, +1 on each change.
    pub version: u64,
    /// Metadata.
    pub metadata: Metadata,
    /// Chunks stored.
    pub chunks: u64,
}

/// A document to write.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Source path (the document's identity within the collection).
    pub source: String,
    /// Title.
    pub title: String,
    /// Detected format.
    pub format: String,
    /// sha256 of the bytes, lowercase hex.
    pub content_hash: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Metadata.
    pub metadata: Metadata,
}

/// A chunk to write.
#[derive(Debug, Clone)]
pub struct NewChunk {
    /// Position in the document.
    pub ordinal: u32,
    /// Text shown to users.
    pub text: String,
    /// Text embedded and BM25-indexed (header + text).
    pub index_text: String,
    /// 1-based page.
    pub page: Option<u32>,
    /// Heading path.
    pub heading: Option<String>,
    /// Tokens of `index_text`.
    pub token_count: u32,
    /// Unit-length embedding of `index_text` (`dim` f32s).
    pub embedding: Vec<f32>,
}

/// A chunk as the indexes need it.
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    /// Chunk id (the key in both indexes).
    pub id: i64,
    /// Document id.
    pub document_id: i64,
    /// Indexed text.
    pub index_text: String,
    /// Embedding.
    pub embedding: Vec<f32>,
    /// The document's source.
    pub source: String,
    /// The document's metadata.
    pub metadata: Metadata,
}

/// What a write changed; the indexes apply it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Document id.
    pub document_id: i64,
    /// Change log sequence number of this write.
    pub seq: u64,
    /// Chunk ids removed.
    pub removed: Vec<i64>,
    /// Chunk ids added.
    pub added: Vec<i64>,
}

/// One change log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Sequence number.
    pub seq: u64,
    /// Chunk ids removed.
    pub removed: Vec<i64>,
    /// Chunk ids added.
    pub added: Vec<i64>,
}

/// The SQLite catalog.
pub struct Catalog {
    // A mutex makes the catalog `Sync` so the server's readers share it; writers hold
    // `&mut self` and reach the connection without locking.
    conn: Mutex<Connection>,
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes an embedding blob (f32 little-endian).
pub fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn ids_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

fn parse_ids(s: &str) -> Vec<i64> {
    serde_json::from_str(s).unwrap_or_default()
}

impl Catalog {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn conn_mut(&mut self) -> &mut Connection {
        self.conn.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens (creating if needed) the catalog at `path`.
    ///
    /// # Errors
    /// [`crate::IndexError::Catalog`] if SQLite cannot open or migrate the file.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        Ok(Catalog {
            conn: Mutex::new(conn),
        })
    }

    /// `PRAGMA integrity_check` result: `ok` when the file is sound.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_collection(name: &str) -> NewCollection<'_> {
        NewCollection {
            name,
            model_id: "m",
            dim: 2,
            chunking: Chunking {
                chunk_tokens: 256,
                overlap_tokens: 32,
            },
            defaults: None,
        }
    }

    fn chunk(ordinal: u32, text: &str) -> NewChunk {
        NewChunk {
            ordinal,
            text: text.into(),
            index_text: text.into(),
            page: None,
            heading: None,
            token_count: 3,
            embedding: vec![1.0, 0.0],
        }
    }

    fn doc(source: &str, hash: &str, domain: &str) -> NewDocument {
        NewDocument {
            source: source.into(),
            title: "t".into(),
            format: "text".into(),
            content_hash: hash.into(),
            bytes: 1,
            metadata: Metadata {
                domain: Some(domain.into()),
                tags: vec!["a".into()],
                ..Default::default()
            },
        }
    }

    #[test]
    fn replace_and_delete_log_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let coll = cat.create_collection(&new_collection("c")).unwrap();
        let w1 = cat
            .upsert_document(
                coll.id,
                &doc("a", "h1", "hr"),
                &[chunk(0, "x"), chunk(1, "y")],
            )
            .unwrap();
        assert_eq!(w1.added.len(), 2);
        let w2 = cat
            .upsert_document(coll.id, &doc("a", "h2", "hr"), &[chunk(0, "z")])
            .unwrap();
        assert_eq!(w2.removed, w1.added);
        assert_eq!(cat.document(coll.id, "a").unwrap().unwrap().version, 2);
        assert_eq!(cat.counts(coll.id).unwrap(), (1, 1));
        let f = FilterSet::new(&["domain=hr".parse().unwrap()]);
        assert_eq!(cat.filtered_chunk_ids(coll.id, &f).unwrap(), w2.added);
        let f = FilterSet::new(&["domain=legal".parse().unwrap()]);
        assert!(cat.filtered_chunk_ids(coll.id, &f).unwrap().is_empty());
        let d = cat.delete_document(coll.id, "a").unwrap().unwrap();
        assert_eq!(d.removed, w2.added);
        assert_eq!(cat.counts(coll.id).unwrap(), (0, 0));
        let changes = cat.changes_since(coll.id, 0).unwrap();
        assert_eq!(changes.len(), 3);
        assert_eq!(cat.last_seq(coll.id).unwrap(), d.seq);
        assert_eq!(cat.collection("c").unwrap().unwrap().version, 3);
        cat.prune_changes(coll.id, w2.seq).unwrap();
        assert_eq!(cat.changes_since(coll.id, 0).unwrap().len(), 1);
        assert_eq!(cat.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn revisions_change_with_every_write_and_never_repeat() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let c1 = cat.create_collection(&new_collection("c")).unwrap();
        assert_eq!(c1.revision.len(), 32);
        cat.upsert_document(c1.id, &doc("a", "h1", "hr"), &[chunk(0, "x")])
            .unwrap();
        let c2 = cat.collection("c").unwrap().unwrap();
        assert_ne!(c1.revision, c2.revision);
        cat.delete_collection(c1.id).unwrap();
        let again = cat.create_collection(&new_collection("c")).unwrap();
        // Same name, maybe the same id and version: never the same revision.
        assert!(![&c1.revision, &c2.revision].contains(&&again.revision));
    }

    #[test]
    fn old_catalogs_get_revisions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE collections (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                 model_id TEXT NOT NULL, dim INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 0,
                 pruned_upto INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL);
                 INSERT INTO collections (name, model_id, dim, created_ms) VALUES ('old', 'm', 2, 0);",
            )
            .unwrap();
        }
        let cat = Catalog::open(&path).unwrap();
        let old = cat.collection("old").unwrap().unwrap();
        assert_eq!(old.revision.len(), 32);
        drop(cat);
        let reopened = Catalog::open(&path).unwrap();
        assert_eq!(
            reopened.collection("old").unwrap().unwrap().revision,
            old.revision
        );
    }
}
