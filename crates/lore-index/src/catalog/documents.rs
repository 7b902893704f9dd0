//! The `documents`, `document_tags` and `chunks` tables: every document write is one
//! transaction that also logs the change.

use rusqlite::{params, OptionalExtension, Transaction};

use super::*;

impl Catalog {
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

fn chunk_ids_of(tx: &Transaction<'_>, document_id: i64) -> Result<Vec<i64>> {
    let mut stmt = tx.prepare("SELECT id FROM chunks WHERE document_id = ?1 ORDER BY id")?;
    let ids = stmt
        .query_map([document_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(ids)
}
