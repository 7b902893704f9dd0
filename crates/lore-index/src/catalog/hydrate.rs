//! Chunks back out of the catalog: index records for rebuilding, hits for results, and
//! the chunk ids a metadata filter allows.

use rusqlite::{params, params_from_iter};

use super::*;

impl Catalog {
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

pub(super) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}
