//! Ingest jobs in the catalog, so a restart neither loses a queued upload nor forgets a
//! finished job. A job row holds its state as JSON (the server's `Job` shape) plus the
//! columns it is listed by; the bytes of its files stay in `job_files` until the job
//! ends, so an interrupted job can run again from them.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{params, Connection, OptionalExtension};

use crate::Result;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    collection  TEXT NOT NULL,
    owner       TEXT,                      -- key id that submitted it (NULL: auth off)
    status      TEXT NOT NULL,             -- queued | running | done | failed
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    input       TEXT NOT NULL,             -- JSON: what a resumed run needs (metadata, access)
    state       TEXT NOT NULL              -- JSON: the job as the API shows it
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_ms);
CREATE TABLE IF NOT EXISTS job_files (
    job_id  TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    name    TEXT NOT NULL,
    source  TEXT NOT NULL,
    bytes   BLOB NOT NULL,
    PRIMARY KEY (job_id, idx)
);";

/// A job as stored.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct JobRow {
    /// Id.
    pub id: String,
    /// Target collection.
    pub collection: String,
    /// Key id of the submitter.
    pub owner: Option<String>,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// What a resumed run needs, JSON.
    pub input: String,
    /// The job's published state, JSON.
    pub state: String,
}

/// One file of a job, kept until the job ends.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFileRow {
    /// Position in the upload.
    pub index: usize,
    /// File name as uploaded.
    pub name: String,
    /// Source it is stored as.
    pub source: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobQuery<'a> {
    /// Only this submitter's (`None`: everyone's).
    pub owner: Option<Option<&'a str>>,
    /// Only jobs in this status.
    pub status: Option<&'a str>,
    /// Page size.
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
}

/// The jobs table on its own catalog connection.
pub struct JobStore {
    conn: Mutex<Connection>,
}

impl JobStore {
    /// Opens the jobs tables of the catalog at `catalog_path` (created if absent).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open(catalog_path: &Path) -> Result<Self> {
        let conn = crate::open_side_connection(catalog_path, SCHEMA)?;
        Ok(JobStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a new job and its files' bytes in one transaction.
    ///
    /// # Errors
    /// SQLite errors (a duplicate id).
    pub fn insert(&self, job: &JobRow, files: &[JobFileRow]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO jobs (id, collection, owner, status, created_ms, updated_ms, input, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
            params![
                job.id,
                job.collection,
                job.owner,
                job.status,
                job.created_ms,
                job.input,
                job.state
            ],
        )?;
        for f in files {
            tx.execute(
                "INSERT INTO job_files (job_id, idx, name, source, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![job.id, f.index as i64, f.name, f.source, f.bytes],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a job's status and state; a final status (`done`, `failed`) also drops its
    /// files' bytes.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn update(&self, id: &str, status: &str, state: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE jobs SET status = ?2, state = ?3, updated_ms = ?4 WHERE id = ?1",
            params![id, status, state, crate::now_ms()],
        )?;
        if status == "done" || status == "failed" {
            tx.execute("DELETE FROM job_files WHERE job_id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The job `id`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn get(&self, id: &str) -> Result<Option<JobRow>> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {ROW} FROM jobs WHERE id = ?1"), [id], row)
            .optional()?)
    }

    /// Jobs newest first, filtered and paged, and how many match in all.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn list(&self, q: &JobQuery<'_>) -> Result<(Vec<JobRow>, u64)> {
        let (owner_filter, owner) = match q.owner {
            None => (0, None),
            Some(o) => (1, o),
        };
        let conn = self.conn();
        let filter = "(?1 = 0 OR owner IS ?2) AND (?3 IS NULL OR status = ?3)";
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM jobs WHERE {filter}"),
            params![owner_filter, owner, q.status],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {ROW} FROM jobs WHERE {filter} ORDER BY created_ms DESC, id LIMIT ?4 OFFSET ?5"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    owner_filter,
                    owner,
                    q.status,
                    q.limit as i64,
                    q.offset as i64
                ],
                row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, total as u64))
    }

    /// Jobs that had not ended (queued or running when the server stopped), oldest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn unfinished(&self) -> Result<Vec<JobRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ROW} FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_ms, id"
        ))?;
        let rows = stmt
            .query_map([], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The files of job `id` still kept, by position.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn files(&self, id: &str) -> Result<Vec<JobFileRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT idx, name, source, bytes FROM job_files WHERE job_id = ?1 ORDER BY idx",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(JobFileRow {
                    index: r.get::<_, i64>(0)? as usize,
                    name: r.get(1)?,
                    source: r.get(2)?,
                    bytes: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Deletes finished jobs beyond the newest `keep`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn prune(&self, keep: usize) -> Result<usize> {
        Ok(self.conn().execute(
            "DELETE FROM jobs WHERE status IN ('done', 'failed') AND id NOT IN
             (SELECT id FROM jobs WHERE status IN ('done', 'failed')
              ORDER BY created_ms DESC LIMIT ?1)",
            [keep as i64],
        )?)
    }
}

/// The columns of a [`JobRow`] as one JSON object (SQLite's `json_object`), read back
/// with serde: one place names them.
const ROW: &str =
    "json_object('id', id, 'collection', collection, 'owner', owner, 'status', status,
    'created_ms', created_ms, 'input', input, 'state', state)";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    let json: String = r.get(0)?;
    serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, owner: Option<&str>, created_ms: i64) -> JobRow {
        JobRow {
            id: id.into(),
            collection: "kb".into(),
            owner: owner.map(String::from),
            status: "queued".into(),
            created_ms,
            input: "{}".into(),
            state: format!("{{\"id\":\"{id}\"}}"),
        }
    }

    #[test]
    fn jobs_survive_a_reopen_and_keep_their_bytes_until_they_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let file = JobFileRow {
            index: 0,
            name: "a.md".into(),
            source: "a.md".into(),
            bytes: b"# A".to_vec(),
        };
        {
            let store = JobStore::open(&path).unwrap();
            store
                .insert(&job("j1", Some("k1"), 1), std::slice::from_ref(&file))
                .unwrap();
            store.insert(&job("j2", Some("k2"), 2), &[]).unwrap();
            store
                .update("j2", "done", "{\"id\":\"j2\",\"x\":1}")
                .unwrap();
        }
        let store = JobStore::open(&path).unwrap();
        let unfinished = store.unfinished().unwrap();
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished[0].id, "j1");
        assert_eq!(store.files("j1").unwrap(), [file]);
        assert_eq!(
            store.get("j2").unwrap().unwrap().state,
            "{\"id\":\"j2\",\"x\":1}"
        );
        store.update("j1", "failed", "{}").unwrap();
        assert!(
            store.files("j1").unwrap().is_empty(),
            "bytes dropped at the end"
        );
        assert!(
            store.insert(&job("j1", None, 3), &[]).is_err(),
            "ids are unique"
        );
    }

    #[test]
    fn listing_filters_by_owner_and_status_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = JobStore::open(&dir.path().join("catalog.sqlite")).unwrap();
        for i in 0..5 {
            let owner = if i % 2 == 0 { Some("a") } else { None };
            store.insert(&job(&format!("j{i}"), owner, i), &[]).unwrap();
        }
        store.update("j4", "done", "{}").unwrap();
        let page = |q: JobQuery<'_>| {
            let (rows, total) = store.list(&q).unwrap();
            (rows.into_iter().map(|r| r.id).collect::<Vec<_>>(), total)
        };
        let all = JobQuery {
            limit: 2,
            ..Default::default()
        };
        assert_eq!(page(all.clone()), (vec!["j4".into(), "j3".into()], 5));
        assert_eq!(
            page(JobQuery {
                offset: 4,
                ..all.clone()
            }),
            (vec!["j0".into()], 5)
        );
        let mine = JobQuery {
            owner: Some(Some("a")),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(page(mine.clone()).1, 3);
        let anonymous = JobQuery {
            owner: Some(None),
            ..mine.clone()
        };
        assert_eq!(page(anonymous).0, ["j3", "j1"]);
        let done = JobQuery {
            status: Some("done"),
            ..mine
        };
        assert_eq!(page(done).0, ["j4"]);
        assert_eq!(store.prune(0).unwrap(), 1);
        assert!(store.get("j4").unwrap().is_none());
    }
}
