//! The catalog: collections, documents, chunks with their embeddings, and the change log,
//! in SQLite (WAL mode, `synchronous=FULL`: a committed write survives `kill -9` and power
//! loss). It is the source of truth; the BM25 and vector indexes are rebuilt from it.

use std::path::Path;

use lore_core::{FilterField, FilterSet, Hit, Metadata};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use crate::{now_ms, Result};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS collections (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    model_id    TEXT NOT NULL,
    dim         INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0,   -- bumped on every document change
    revision    TEXT NOT NULL DEFAULT '',     -- random, replaced with every version
    pruned_upto INTEGER NOT NULL DEFAULT 0,   -- change log rows <= this were deleted
    created_ms  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id            INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    source        TEXT NOT NULL,
    title         TEXT NOT NULL,
    format        TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    domain        TEXT,
    department    TEXT,
    doc_type      TEXT,
    updated_ms    INTEGER NOT NULL,
    UNIQUE (collection_id, source)
);
CREATE INDEX IF NOT EXISTS documents_domain ON documents(collection_id, domain);
CREATE INDEX IF NOT EXISTS documents_doc_type ON documents(collection_id, doc_type);
CREATE INDEX IF NOT EXISTS documents_department ON documents(collection_id, department);
CREATE TABLE IF NOT EXISTS document_tags (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (document_id, tag)
);
CREATE INDEX IF NOT EXISTS document_tags_tag ON document_tags(tag);
CREATE TABLE IF NOT EXISTS chunks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: index keys stay unique
    document_id   INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL,
    ordinal       INTEGER NOT NULL,
    text          TEXT NOT NULL,
    index_text    TEXT NOT NULL,
    page          INTEGER,
    heading       TEXT,
    token_count   INTEGER NOT NULL,
    embedding     BLOB NOT NULL                      -- dim × f32, little-endian
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
CREATE INDEX IF NOT EXISTS chunks_collection ON chunks(collection_id);
CREATE TABLE IF NOT EXISTS collection_defaults (
    collection_id INTEGER PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL,
    removed       TEXT NOT NULL,   -- JSON array of chunk ids removed from the indexes
    added         TEXT NOT NULL    -- JSON array of chunk ids added to the indexes
);
CREATE INDEX IF NOT EXISTS changes_collection ON changes(collection_id, seq);
"#;

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

    fn collection_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CollectionInfo> {
        Ok(CollectionInfo {
            id: r.get(0)?,
            name: r.get(1)?,
            model_id: r.get(2)?,
            dim: r.get::<_, i64>(3)? as usize,
            version: r.get::<_, i64>(4)? as u64,
            pruned_upto: r.get::<_, i64>(5)? as u64,
            revision: r.get(6)?,
        })
    }

    /// The collection named `name`, if any.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn collection(&self, name: &str) -> Result<Option<CollectionInfo>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, model_id, dim, version, pruned_upto, revision FROM collections WHERE name = ?1",
                [name],
                Self::collection_from_row,
            )
            .optional()?)
    }

    /// All collections, by name.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn collections(&self) -> Result<Vec<CollectionInfo>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, name, model_id, dim, version, pruned_upto, revision FROM collections ORDER BY name",
        )?;
        let rows = stmt
            .query_map([], Self::collection_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Creates a collection.
    ///
    /// # Errors
    /// SQLite errors (including a duplicate name).
    pub fn create_collection(
        &self,
        name: &str,
        model_id: &str,
        dim: usize,
    ) -> Result<CollectionInfo> {
        self.conn().execute(
            "INSERT INTO collections (name, model_id, dim, created_ms, revision)
             VALUES (?1, ?2, ?3, ?4, lower(hex(randomblob(16))))",
            params![name, model_id, dim as i64, now_ms()],
        )?;
        self.collection(name)?
            .ok_or_else(|| crate::IndexError::CollectionNotFound(name.into()))
    }

    /// Deletes a collection and everything in it from the catalog.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_collection(&mut self, id: i64) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        tx.execute("DELETE FROM changes WHERE collection_id = ?1", [id])?;
        tx.execute("DELETE FROM chunks WHERE collection_id = ?1", [id])?;
        tx.execute(
            "DELETE FROM collection_defaults WHERE collection_id = ?1",
            [id],
        )?;
        tx.execute("DELETE FROM collections WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Counts of documents and chunks in a collection.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn counts(&self, collection_id: i64) -> Result<(u64, u64)> {
        let docs: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM documents WHERE collection_id = ?1",
            [collection_id],
            |r| r.get(0),
        )?;
        let chunks: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM chunks WHERE collection_id = ?1",
            [collection_id],
            |r| r.get(0),
        )?;
        Ok((docs as u64, chunks as u64))
    }

    /// The document with `source` in a collection.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn document(&self, collection_id: i64, source: &str) -> Result<Option<DocumentInfo>> {
        let mut docs = self.documents_where(collection_id, DocWhere::Source(source))?;
        Ok(docs.pop())
    }

    /// All documents of a collection, by source.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn documents(&self, collection_id: i64) -> Result<Vec<DocumentInfo>> {
        self.documents_where(collection_id, DocWhere::All)
    }

    /// Total size in bytes of the collection's documents (as uploaded or read).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn document_bytes(&self, collection_id: i64) -> Result<u64> {
        let bytes: i64 = self.conn().query_row(
            "SELECT COALESCE(SUM(bytes), 0) FROM documents WHERE collection_id = ?1",
            [collection_id],
            |r| r.get(0),
        )?;
        Ok(bytes as u64)
    }

    /// Metadata applied to documents added without their own (per field; tags are merged).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn collection_defaults(&self, collection_id: i64) -> Result<Metadata> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT metadata FROM collection_defaults WHERE collection_id = ?1",
                [collection_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    /// Sets the collection's metadata defaults.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_collection_defaults(
        &mut self,
        collection_id: i64,
        defaults: &Metadata,
    ) -> Result<()> {
        let json = serde_json::to_string(defaults).unwrap_or_else(|_| "{}".into());
        self.conn_mut().execute(
            "INSERT INTO collection_defaults (collection_id, metadata) VALUES (?1, ?2)
             ON CONFLICT(collection_id) DO UPDATE SET metadata = excluded.metadata",
            params![collection_id, json],
        )?;
        Ok(())
    }

    /// One page of a collection's documents, ordered by source: `(page, total)`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn documents_page(
        &self,
        collection_id: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DocumentInfo>, u64)> {
        self.documents_page_in(collection_id, None, offset, limit)
    }

    /// Documents, chunks and bytes of a collection's documents whose domain is one of
    /// `domains` (`None`: all), for the stats a domain-limited key may see.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn counts_in(
        &self,
        collection_id: i64,
        domains: Option<&[String]>,
    ) -> Result<(u64, u64, u64)> {
        let domains_json = domains.map(|d| serde_json::json!(d).to_string());
        let (docs, bytes): (i64, i64) = self.conn().query_row(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM documents WHERE collection_id = ?1
               AND (?2 IS NULL OR domain IN (SELECT value FROM json_each(?2)))",
            params![collection_id, domains_json],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let chunks: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM chunks c JOIN documents d ON d.id = c.document_id
              WHERE c.collection_id = ?1
                AND (?2 IS NULL OR d.domain IN (SELECT value FROM json_each(?2)))",
            params![collection_id, domains_json],
            |r| r.get(0),
        )?;
        Ok((docs as u64, chunks as u64, bytes as u64))
    }

    /// [`Catalog::documents_page`] of the documents whose domain is one of `domains`
    /// (`None`: all documents); the total counts those documents only.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn documents_page_in(
        &self,
        collection_id: i64,
        domains: Option<&[String]>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DocumentInfo>, u64)> {
        let domains_json = domains.map(|d| serde_json::json!(d).to_string());
        let total = match &domains_json {
            None => self.counts(collection_id)?.0,
            Some(json) => self.conn().query_row(
                "SELECT COUNT(*) FROM documents WHERE collection_id = ?1
                   AND domain IN (SELECT value FROM json_each(?2))",
                params![collection_id, json],
                |r| r.get::<_, i64>(0),
            )? as u64,
        };
        let page = self.documents_where(
            collection_id,
            DocWhere::Page {
                offset,
                limit,
                domains: domains_json.as_deref(),
            },
        )?;
        Ok((page, total))
    }

    /// The document with catalog id `id` in the collection.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn document_by_id(&self, collection_id: i64, id: i64) -> Result<Option<DocumentInfo>> {
        Ok(self.documents_where(collection_id, DocWhere::Id(id))?.pop())
    }

    fn documents_where(
        &self,
        collection_id: i64,
        which: DocWhere<'_>,
    ) -> Result<Vec<DocumentInfo>> {
        let (source, id, limit, offset, domains) = match which {
            DocWhere::All => (None, None, -1, 0, None),
            DocWhere::Source(s) => (Some(s), None, -1, 0, None),
            DocWhere::Id(id) => (None, Some(id), -1, 0, None),
            DocWhere::Page {
                offset,
                limit,
                domains,
            } => (
                None,
                None,
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(offset).unwrap_or(i64::MAX),
                domains,
            ),
        };
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT d.id, d.source, d.title, d.format, d.content_hash, d.bytes, d.version,
                    d.domain, d.department, d.doc_type,
                    (SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id),
                    (SELECT json_group_array(tag) FROM document_tags t WHERE t.document_id = d.id)
             FROM documents d WHERE d.collection_id = ?1 AND (?2 IS NULL OR d.source = ?2)
                AND (?3 IS NULL OR d.id = ?3)
                AND (?6 IS NULL OR d.domain IN (SELECT value FROM json_each(?6)))
             ORDER BY d.source LIMIT ?4 OFFSET ?5",
        )?;
        let rows = stmt
            .query_map(
                params![collection_id, source, id, limit, offset, domains],
                |r| {
                    let tags: String = r.get(11)?;
                    Ok(DocumentInfo {
                        id: r.get(0)?,
                        source: r.get(1)?,
                        title: r.get(2)?,
                        format: r.get(3)?,
                        content_hash: r.get(4)?,
                        bytes: r.get::<_, i64>(5)? as u64,
                        version: r.get::<_, i64>(6)? as u64,
                        metadata: Metadata {
                            domain: r.get(7)?,
                            department: r.get(8)?,
                            doc_type: r.get(9)?,
                            tags: serde_json::from_str(&tags).unwrap_or_default(),
                        },
                        chunks: r.get::<_, i64>(10)? as u64,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Writes a document and its chunks in one transaction, replacing any previous version
    /// with the same source (its chunks are removed). Appends one change log row and bumps
    /// the collection version.
    ///
    /// # Errors
    /// SQLite errors; on error nothing is written.
    pub fn upsert_document(
        &mut self,
        collection_id: i64,
        doc: &NewDocument,
        chunks: &[NewChunk],
    ) -> Result<WriteOutcome> {
        let tx = self.conn_mut().transaction()?;
        let existing: Option<(i64, i64)> = tx
            .query_row(
                "SELECT id, version FROM documents WHERE collection_id = ?1 AND source = ?2",
                params![collection_id, doc.source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let m = &doc.metadata;
        let (document_id, removed) = match existing {
            Some((id, version)) => {
                let removed = chunk_ids_of(&tx, id)?;
                tx.execute("DELETE FROM chunks WHERE document_id = ?1", [id])?;
                tx.execute("DELETE FROM document_tags WHERE document_id = ?1", [id])?;
                tx.execute(
                    "UPDATE documents SET title = ?2, format = ?3, content_hash = ?4, bytes = ?5, version = ?6,
                     domain = ?7, department = ?8, doc_type = ?9, updated_ms = ?10 WHERE id = ?1",
                    params![
                        id,
                        doc.title,
                        doc.format,
                        doc.content_hash,
                        doc.bytes as i64,
                        version + 1,
                        m.domain,
                        m.department,
                        m.doc_type,
                        now_ms()
                    ],
                )?;
                (id, removed)
            }
            None => {
                tx.execute(
                    "INSERT INTO documents (collection_id, source, title, format, content_hash, bytes, version,
                     domain, department, doc_type, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10)",
                    params![
                        collection_id,
                        doc.source,
                        doc.title,
                        doc.format,
                        doc.content_hash,
                        doc.bytes as i64,
                        m.domain,
                        m.department,
                        m.doc_type,
                        now_ms()
                    ],
                )?;
                (tx.last_insert_rowid(), Vec::new())
            }
        };
        for tag in &m.tags {
            tx.execute(
                "INSERT OR IGNORE INTO document_tags (document_id, tag) VALUES (?1, ?2)",
                params![document_id, tag],
            )?;
        }
        let mut added = Vec::with_capacity(chunks.len());
        {
            let mut stmt = tx.prepare(
                "INSERT INTO chunks (document_id, collection_id, ordinal, text, index_text, page, heading, token_count, embedding)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for c in chunks {
                stmt.execute(params![
                    document_id,
                    collection_id,
                    c.ordinal,
                    c.text,
                    c.index_text,
                    c.page,
                    c.heading,
                    c.token_count,
                    to_blob(&c.embedding)
                ])?;
                added.push(tx.last_insert_rowid());
            }
        }
        let seq = log_change(&tx, collection_id, &removed, &added)?;
        tx.commit()?;
        Ok(WriteOutcome {
            document_id,
            seq,
            removed,
            added,
        })
    }

    /// Deletes the document with `source` and its chunks. `None` if there was none.
    ///
    /// # Errors
    /// SQLite errors; on error nothing is deleted.
    pub fn delete_document(
        &mut self,
        collection_id: i64,
        source: &str,
    ) -> Result<Option<WriteOutcome>> {
        let tx = self.conn_mut().transaction()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM documents WHERE collection_id = ?1 AND source = ?2",
                params![collection_id, source],
                |r| r.get(0),
            )
            .optional()?;
        let Some(document_id) = id else {
            return Ok(None);
        };
        let removed = chunk_ids_of(&tx, document_id)?;
        tx.execute("DELETE FROM chunks WHERE document_id = ?1", [document_id])?;
        tx.execute("DELETE FROM documents WHERE id = ?1", [document_id])?;
        let seq = log_change(&tx, collection_id, &removed, &[])?;
        tx.commit()?;
        Ok(Some(WriteOutcome {
            document_id,
            seq,
            removed,
            added: Vec::new(),
        }))
    }

    /// Highest change sequence number of a collection (0 if none).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn last_seq(&self, collection_id: i64) -> Result<u64> {
        let seq: Option<i64> = self.conn().query_row(
            "SELECT MAX(seq) FROM changes WHERE collection_id = ?1",
            [collection_id],
            |r| r.get(0),
        )?;
        let pruned: i64 = self.conn().query_row(
            "SELECT pruned_upto FROM collections WHERE id = ?1",
            [collection_id],
            |r| r.get(0),
        )?;
        Ok(seq.unwrap_or(0).max(pruned) as u64)
    }

    /// Change log rows after `seq`, in order.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn changes_since(&self, collection_id: i64, seq: u64) -> Result<Vec<Change>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT seq, removed, added FROM changes WHERE collection_id = ?1 AND seq > ?2 ORDER BY seq")?;
        let rows = stmt
            .query_map(params![collection_id, seq as i64], |r| {
                Ok(Change {
                    seq: r.get::<_, i64>(0)? as u64,
                    removed: parse_ids(&r.get::<_, String>(1)?),
                    added: parse_ids(&r.get::<_, String>(2)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Deletes change log rows up to `seq` (both indexes hold them durably).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn prune_changes(&mut self, collection_id: i64, seq: u64) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "DELETE FROM changes WHERE collection_id = ?1 AND seq <= ?2",
            params![collection_id, seq as i64],
        )?;
        tx.execute(
            "UPDATE collections SET pruned_upto = MAX(pruned_upto, ?2) WHERE id = ?1",
            params![collection_id, seq as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Chunks with these ids that still exist, with what the indexes need.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn chunk_records(&self, ids: &[i64]) -> Result<Vec<ChunkRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for batch in ids.chunks(500) {
            let sql = format!(
                "{CHUNK_RECORD_SELECT} WHERE c.id IN ({})",
                placeholders(batch.len())
            );
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(batch), chunk_record_from_row)?;
            for r in rows {
                out.push(r?);
            }
        }
        Ok(out)
    }

    /// Calls `f` with every chunk of a collection, in batches of up to `batch` records
    /// (for rebuilding indexes without loading everything at once).
    ///
    /// # Errors
    /// SQLite errors, or `f`'s.
    pub fn for_each_chunk(
        &self,
        collection_id: i64,
        batch: usize,
        mut f: impl FnMut(&[ChunkRecord]) -> Result<()>,
    ) -> Result<()> {
        let mut last = 0i64;
        loop {
            let sql = format!("{CHUNK_RECORD_SELECT} WHERE c.collection_id = ?1 AND c.id > ?2 ORDER BY c.id LIMIT ?3");
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(
                    params![collection_id, last, batch as i64],
                    chunk_record_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let Some(end) = rows.last().map(|r| r.id) else {
                return Ok(());
            };
            f(&rows)?;
            last = end;
        }
    }

    /// Ids of the chunks of a collection whose document passes `filters`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn filtered_chunk_ids(&self, collection_id: i64, filters: &FilterSet) -> Result<Vec<i64>> {
        let mut sql = String::from("SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.collection_id = ?");
        let mut args: Vec<String> = vec![collection_id.to_string()];
        for (field, values) in filters.iter() {
            let ph = placeholders(values.len());
            let clause = match field {
                FilterField::Domain => format!(" AND d.domain IN ({ph})"),
                FilterField::Department => format!(" AND d.department IN ({ph})"),
                FilterField::DocType => format!(" AND d.doc_type IN ({ph})"),
                FilterField::Source => format!(" AND d.source IN ({ph})"),
                FilterField::Tag => {
                    format!(" AND EXISTS (SELECT 1 FROM document_tags t WHERE t.document_id = d.id AND t.tag IN ({ph}))")
                }
            };
            sql.push_str(&clause);
            args.extend(values.iter().cloned());
        }
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let ids = stmt
            .query_map(params_from_iter(args), |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// Builds hits for chunk ids with their scores, keeping the given order. Ids that no
    /// longer exist are skipped.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn hits(&self, scored: &[(i64, f32)]) -> Result<Vec<Hit>> {
        let mut by_id = std::collections::HashMap::with_capacity(scored.len());
        for batch in scored.chunks(500) {
            let sql = format!(
                "SELECT c.id, c.document_id, d.source, d.title, c.page, c.heading, c.text, d.domain
                 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN ({})",
                placeholders(batch.len())
            );
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(batch.iter().map(|(id, _)| id)), |r| {
                Ok(Hit {
                    chunk_id: r.get(0)?,
                    document_id: r.get(1)?,
                    source: r.get(2)?,
                    title: r.get(3)?,
                    page: r.get(4)?,
                    heading: r.get(5)?,
                    domain: r.get(7)?,
                    score: 0.0,
                    text: r.get(6)?,
                })
            })?;
            for h in rows {
                let h = h?;
                by_id.insert(h.chunk_id, h);
            }
        }
        Ok(scored
            .iter()
            .filter_map(|(id, score)| by_id.remove(id).map(|h| Hit { score: *score, ..h }))
            .collect())
    }
}

const CHUNK_RECORD_SELECT: &str = "SELECT c.id, c.document_id, c.index_text, c.embedding, d.source, d.domain, d.department, d.doc_type,
        (SELECT json_group_array(tag) FROM document_tags t WHERE t.document_id = d.id)
     FROM chunks c JOIN documents d ON d.id = c.document_id";

fn chunk_record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChunkRecord> {
    let blob: Vec<u8> = r.get(3)?;
    let tags: String = r.get(8)?;
    Ok(ChunkRecord {
        id: r.get(0)?,
        document_id: r.get(1)?,
        index_text: r.get(2)?,
        embedding: from_blob(&blob),
        source: r.get(4)?,
        metadata: Metadata {
            domain: r.get(5)?,
            department: r.get(6)?,
            doc_type: r.get(7)?,
            tags: serde_json::from_str(&tags).unwrap_or_default(),
        },
    })
}

/// Which documents [`Catalog::documents_where`] selects.
enum DocWhere<'a> {
    All,
    Source(&'a str),
    Id(i64),
    Page {
        offset: u64,
        limit: u64,
        /// JSON array of allowed domains.
        domains: Option<&'a str>,
    },
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

fn chunk_ids_of(tx: &Transaction<'_>, document_id: i64) -> Result<Vec<i64>> {
    let mut stmt = tx.prepare("SELECT id FROM chunks WHERE document_id = ?1 ORDER BY id")?;
    let ids = stmt
        .query_map([document_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(ids)
}

/// Brings a catalog written by an older lore up to the current schema.
fn migrate(conn: &Connection) -> Result<()> {
    let has_revision: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('collections') WHERE name = 'revision'",
        [],
        |r| r.get(0),
    )?;
    if !has_revision {
        conn.execute_batch(
            "ALTER TABLE collections ADD COLUMN revision TEXT NOT NULL DEFAULT '';",
        )?;
    }
    conn.execute(
        "UPDATE collections SET revision = lower(hex(randomblob(16))) WHERE revision = ''",
        [],
    )?;
    Ok(())
}

fn log_change(
    tx: &Transaction<'_>,
    collection_id: i64,
    removed: &[i64],
    added: &[i64],
) -> Result<u64> {
    tx.execute(
        "INSERT INTO changes (collection_id, removed, added) VALUES (?1, ?2, ?3)",
        params![collection_id, ids_json(removed), ids_json(added)],
    )?;
    let seq = tx.last_insert_rowid() as u64;
    tx.execute(
        "UPDATE collections SET version = version + 1, revision = lower(hex(randomblob(16)))
         WHERE id = ?1",
        [collection_id],
    )?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let coll = cat.create_collection("c", "m", 2).unwrap();
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
        let c1 = cat.create_collection("c", "m", 2).unwrap();
        assert_eq!(c1.revision.len(), 32);
        cat.upsert_document(c1.id, &doc("a", "h1", "hr"), &[chunk(0, "x")])
            .unwrap();
        let c2 = cat.collection("c").unwrap().unwrap();
        assert_ne!(c1.revision, c2.revision);
        cat.delete_collection(c1.id).unwrap();
        let again = cat.create_collection("c", "m", 2).unwrap();
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
