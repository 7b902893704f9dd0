//! The `collections` and `collection_defaults` tables.

use rusqlite::{params, OptionalExtension};

use super::*;

impl Catalog {
    fn collection_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CollectionInfo> {
        Ok(CollectionInfo {
            id: r.get(0)?,
            name: r.get(1)?,
            model_id: r.get(2)?,
            dim: r.get::<_, i64>(3)? as usize,
            version: r.get::<_, i64>(4)? as u64,
            pruned_upto: r.get::<_, i64>(5)? as u64,
            revision: r.get(6)?,
            chunking: match (r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?) {
                (Some(c), Some(o)) => Some(Chunking {
                    chunk_tokens: c as usize,
                    overlap_tokens: o as usize,
                }),
                _ => None,
            },
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
                "SELECT id, name, model_id, dim, version, pruned_upto, revision, chunk_tokens, overlap_tokens FROM collections WHERE name = ?1",
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
            "SELECT id, name, model_id, dim, version, pruned_upto, revision, chunk_tokens, overlap_tokens FROM collections ORDER BY name",
        )?;
        let rows = stmt
            .query_map([], Self::collection_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Creates a collection with its chunking and metadata defaults, in one transaction.
    ///
    /// # Errors
    /// SQLite errors (including a duplicate name).
    pub fn create_collection(&mut self, new: &NewCollection<'_>) -> Result<CollectionInfo> {
        let NewCollection {
            name,
            model_id,
            dim,
            chunking,
            defaults,
        } = *new;
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO collections (name, model_id, dim, created_ms, revision, chunk_tokens, overlap_tokens)
             VALUES (?1, ?2, ?3, ?4, lower(hex(randomblob(16))), ?5, ?6)",
            params![
                name,
                model_id,
                dim as i64,
                now_ms(),
                chunking.chunk_tokens as i64,
                chunking.overlap_tokens as i64
            ],
        )?;
        if let Some(defaults) = defaults {
            let id = tx.last_insert_rowid();
            let json = serde_json::to_string(defaults).unwrap_or_else(|_| "{}".into());
            tx.execute(
                "INSERT INTO collection_defaults (collection_id, metadata) VALUES (?1, ?2)",
                params![id, json],
            )?;
        }
        tx.commit()?;
        self.collection(name)?
            .ok_or_else(|| crate::IndexError::CollectionNotFound(name.into()))
    }

    /// Records a collection's chunking.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_chunking(&self, collection_id: i64, chunking: Chunking) -> Result<()> {
        self.conn().execute(
            "UPDATE collections SET chunk_tokens = ?2, overlap_tokens = ?3 WHERE id = ?1",
            params![
                collection_id,
                chunking.chunk_tokens as i64,
                chunking.overlap_tokens as i64
            ],
        )?;
        Ok(())
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

    /// The distinct metadata values of a collection's documents, per field (`domain`,
    /// `department`, `doc_type`, `tag`), each list sorted: what a question may name to
    /// filter on (self-query).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn facet_values(
        &self,
        collection_id: i64,
    ) -> Result<Vec<(lore_core::FilterField, Vec<String>)>> {
        use lore_core::FilterField;
        let conn = self.conn();
        let mut out = Vec::new();
        for (field, column) in [
            (FilterField::Domain, "domain"),
            (FilterField::Department, "department"),
            (FilterField::DocType, "doc_type"),
        ] {
            let mut stmt = conn.prepare(&format!(
                "SELECT DISTINCT {column} FROM documents
                 WHERE collection_id = ?1 AND {column} IS NOT NULL ORDER BY 1"
            ))?;
            let values = stmt
                .query_map([collection_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            out.push((field, values));
        }
        let mut stmt = conn.prepare(
            "SELECT DISTINCT t.tag FROM document_tags t JOIN documents d ON d.id = t.document_id
             WHERE d.collection_id = ?1 ORDER BY 1",
        )?;
        let tags = stmt
            .query_map([collection_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        out.push((FilterField::Tag, tags));
        Ok(out)
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
}
