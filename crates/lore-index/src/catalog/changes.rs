//! The `changes` table: the log the indexes replay to catch up with the catalog.

use rusqlite::{params, Transaction};

use super::*;

impl Catalog {
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
}

pub(super) fn log_change(
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
