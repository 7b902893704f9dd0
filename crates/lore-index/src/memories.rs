//! Meeting memory in the catalog: meetings (with their turns), memories of every level
//! with the episodic ones' embeddings, and the typed edges between them. One transaction
//! per meeting write, so a re-ingest replaces a meeting's memories whole or not at all,
//! and a failed one leaves what was stored untouched.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lore_core::{EdgeKind, MeetingInfo, Memory, MemoryEdge, MemoryLevel, MemoryType, Turn};
use lore_memory::{Consolidation, IndexInput, MeetingBuild, NodeRef};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::catalog::from_blob;
use crate::{IndexError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meetings (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    date          TEXT,
    series        TEXT,
    domain        TEXT,
    participants  TEXT NOT NULL,             -- JSON array
    content_hash  TEXT NOT NULL,
    turns         TEXT NOT NULL,             -- JSON array of {speaker, text, start_ms?, end_ms?}
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS memories (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    level          INTEGER NOT NULL,         -- 0 concept, 1 semantic, 2 episodic
    type           TEXT NOT NULL,
    meeting_id     TEXT REFERENCES meetings(id) ON DELETE CASCADE,
    concept_key    TEXT UNIQUE,              -- L0: kind:stemmed words
    content        TEXT NOT NULL,
    speakers       TEXT NOT NULL,            -- JSON array
    turn_start     INTEGER,
    turn_end       INTEGER,
    start_ms       INTEGER,
    end_ms         INTEGER,
    features       TEXT,                     -- JSON (L2)
    importance     REAL NOT NULL,
    access_count   INTEGER NOT NULL DEFAULT 0,
    last_access_ms INTEGER NOT NULL,
    created_ms     INTEGER NOT NULL,
    embedding      BLOB                      -- L2: dim × f32 little-endian
);
CREATE INDEX IF NOT EXISTS memories_meeting ON memories(meeting_id);
CREATE TABLE IF NOT EXISTS memory_edges (
    src    INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    dst    INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (src, dst, kind)
);
CREATE INDEX IF NOT EXISTS memory_edges_dst ON memory_edges(dst);
CREATE TABLE IF NOT EXISTS memory_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL                   -- 'version': bumped by every write
);";

/// A stored meeting as listed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct MeetingSummary {
    /// Metadata.
    #[serde(flatten)]
    pub info: MeetingInfo,
    /// Turns.
    pub turns: usize,
    /// Memories of this meeting (L2 and its L1).
    pub memories: usize,
    /// sha256 of metadata and turns.
    pub content_hash: String,
    /// Last written, unix ms.
    pub updated_ms: i64,
}

/// What a meeting write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MeetingWrite {
    /// Memories written (L2, L1 and new concepts).
    pub memories: usize,
    /// Edges written.
    pub edges: usize,
    /// Memories of the previous version removed (0 for a new meeting).
    pub replaced: usize,
}

/// The memory tables on their own catalog connection.
pub struct MemoryStore {
    conn: Mutex<Connection>,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bad(what: &str, e: impl std::fmt::Display) -> IndexError {
    IndexError::Corrupt(format!("memory catalog: {what}: {e}"))
}

/// Columns 0-5 of a row selected as `id, title, date, series, domain, participants`:
/// the meeting without its participants, and their JSON.
fn meeting_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(MeetingInfo, String)> {
    Ok((
        MeetingInfo {
            id: r.get(0)?,
            title: r.get(1)?,
            date: r.get(2)?,
            series: r.get(3)?,
            domain: r.get(4)?,
            participants: Vec::new(),
        },
        r.get(5)?,
    ))
}

/// The meeting with its participants read from their JSON.
fn with_participants((mut info, json): (MeetingInfo, String)) -> Result<MeetingInfo> {
    info.participants = serde_json::from_str(&json).map_err(|e| bad("participants", e))?;
    Ok(info)
}

impl MemoryStore {
    /// Opens the memory tables in the catalog at `catalog_path`, creating them if needed.
    ///
    /// # Errors
    /// I/O and SQLite errors.
    pub fn open(catalog_path: &Path) -> Result<Self> {
        let conn = crate::open_side_connection(catalog_path, SCHEMA)?;
        Ok(MemoryStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The write counter (0 before the first write).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn version(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM memory_state WHERE key = 'version'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// The content hash of a stored meeting.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn meeting_hash(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT content_hash FROM meetings WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every stored meeting.
    ///
    /// # Errors
    /// SQLite errors; [`IndexError::Corrupt`] for unreadable JSON.
    pub fn meetings(&self) -> Result<Vec<MeetingSummary>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT m.id, m.title, m.date, m.series, m.domain, m.participants, m.content_hash,
                    json_array_length(m.turns), m.updated_ms,
                    (SELECT COUNT(*) FROM memories x WHERE x.meeting_id = m.id)
             FROM meetings m ORDER BY m.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                meeting_row(r)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (meeting, content_hash, turns, updated_ms, memories) = row?;
            out.push(MeetingSummary {
                info: with_participants(meeting)?,
                turns: turns as usize,
                memories: memories as usize,
                content_hash,
                updated_ms,
            });
        }
        Ok(out)
    }

    /// A meeting's metadata and turns.
    ///
    /// # Errors
    /// SQLite errors; [`IndexError::Corrupt`] for unreadable JSON.
    pub fn meeting(&self, id: &str) -> Result<Option<(MeetingInfo, Vec<Turn>)>> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, title, date, series, domain, participants, turns FROM meetings WHERE id = ?1",
                [id],
                |r| Ok((meeting_row(r)?, r.get::<_, String>(6)?)),
            )
            .optional()?;
        let Some((meeting, turns)) = row else {
            return Ok(None);
        };
        let info = with_participants(meeting)?;
        let turns = serde_json::from_str(&turns).map_err(|e| bad("turns", e))?;
        Ok(Some((info, turns)))
    }

    /// Everything the in-process index is built from.
    ///
    /// # Errors
    /// SQLite errors; [`IndexError::Corrupt`] for unreadable rows.
    pub fn load(&self) -> Result<IndexInput> {
        let conn = self.conn();
        let mut input = IndexInput::default();
        {
            let mut stmt =
                conn.prepare("SELECT id, title, date, series, domain, participants FROM meetings")?;
            for row in stmt.query_map([], meeting_row)? {
                input.meetings.push(with_participants(row?)?);
            }
        }
        {
            let mut stmt = conn.prepare(
                "SELECT id, level, type, meeting_id, content, speakers, turn_start, turn_end,
                        start_ms, end_ms, features, importance, access_count, last_access_ms,
                        created_ms, embedding
                 FROM memories ORDER BY id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let level: i64 = r.get(1)?;
                let kind: String = r.get(2)?;
                let speakers: String = r.get(5)?;
                let features: Option<String> = r.get(10)?;
                let blob: Option<Vec<u8>> = r.get(15)?;
                let memory = Memory {
                    id: r.get(0)?,
                    level: MemoryLevel::from_number(level).ok_or_else(|| bad("level", level))?,
                    memory_type: kind.parse::<MemoryType>().map_err(|e| bad("type", e))?,
                    meeting: r.get(3)?,
                    content: r.get(4)?,
                    speakers: serde_json::from_str(&speakers).map_err(|e| bad("speakers", e))?,
                    turn_start: r.get::<_, Option<i64>>(6)?.map(|x| x as u32),
                    turn_end: r.get::<_, Option<i64>>(7)?.map(|x| x as u32),
                    start_ms: r.get::<_, Option<i64>>(8)?.map(|x| x as u64),
                    end_ms: r.get::<_, Option<i64>>(9)?.map(|x| x as u64),
                    features: match features {
                        Some(f) => Some(serde_json::from_str(&f).map_err(|e| bad("features", e))?),
                        None => None,
                    },
                    importance: r.get::<_, f64>(11)? as f32,
                    access_count: r.get::<_, i64>(12)? as u32,
                    last_access_ms: r.get(13)?,
                    created_ms: r.get(14)?,
                };
                input.memories.push((memory, blob.map(|b| from_blob(&b))));
            }
        }
        {
            let mut stmt = conn.prepare("SELECT src, dst, kind, weight FROM memory_edges")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let kind: String = r.get(2)?;
                input.edges.push(MemoryEdge {
                    src: r.get(0)?,
                    dst: r.get(1)?,
                    kind: kind.parse::<EdgeKind>().map_err(|e| bad("edge kind", e))?,
                    weight: r.get::<_, f64>(3)? as f32,
                });
            }
        }
        Ok(input)
    }

    /// Replaces (or adds) a meeting and its memories in one transaction.
    ///
    /// # Errors
    /// SQLite errors (nothing is changed then).
    pub fn replace_meeting(&self, b: &MeetingBuild, now_ms: i64) -> Result<MeetingWrite> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let created: Option<i64> = tx
            .query_row(
                "SELECT created_ms FROM meetings WHERE id = ?1",
                [&b.info.id],
                |r| r.get(0),
            )
            .optional()?;
        let replaced: i64 = tx.query_row(
            "SELECT COUNT(*) FROM memories WHERE meeting_id = ?1",
            [&b.info.id],
            |r| r.get(0),
        )?;
        tx.execute("DELETE FROM meetings WHERE id = ?1", [&b.info.id])?;
        tx.execute(
            "INSERT INTO meetings (id, title, date, series, domain, participants, content_hash, turns, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                b.info.id,
                b.info.title,
                b.info.date,
                b.info.series,
                b.info.domain,
                json(&b.info.participants),
                b.content_hash,
                json(&b.turns),
                created.unwrap_or(now_ms),
                now_ms
            ],
        )?;
        let mut ids = Vec::with_capacity(b.memories.len());
        for (m, v) in &b.memories {
            ids.push(insert_memory(&tx, m, v.as_deref(), None)?);
        }
        let mut written = ids.len();
        let mut concept_ids = std::collections::HashMap::new();
        for c in &b.concepts {
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM memories WHERE concept_key = ?1",
                    [&c.key],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match existing {
                Some(id) => id,
                None => {
                    written += 1;
                    let m = Memory {
                        id: 0,
                        level: MemoryLevel::Concept,
                        memory_type: c.kind,
                        meeting: None,
                        content: c.label.clone(),
                        speakers: Vec::new(),
                        turn_start: None,
                        turn_end: None,
                        start_ms: None,
                        end_ms: None,
                        features: None,
                        importance: 0.3,
                        access_count: 0,
                        last_access_ms: now_ms,
                        created_ms: now_ms,
                    };
                    insert_memory(&tx, &m, None, Some(&c.key))?
                }
            };
            concept_ids.insert(c.key.as_str(), id);
        }
        let resolve = |n: &NodeRef| -> Option<i64> {
            match n {
                NodeRef::New(i) => ids.get(*i).copied(),
                NodeRef::Existing(id) => Some(*id),
                NodeRef::Concept(k) => concept_ids.get(k.as_str()).copied(),
            }
        };
        let mut edges = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO memory_edges (src, dst, kind, weight)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM memories WHERE id = ?2)",
            )?;
            for e in &b.edges {
                if let (Some(s), Some(d)) = (resolve(&e.src), resolve(&e.dst)) {
                    edges += stmt.execute(params![s, d, e.kind.as_str(), e.weight as f64])?;
                }
            }
        }
        remove_orphans(&tx)?;
        bump(&tx)?;
        tx.commit()?;
        Ok(MeetingWrite {
            memories: written,
            edges,
            replaced: replaced as usize,
        })
    }

    /// Deletes a meeting, its memories and edges, and the concepts and clusters left
    /// without members. `false` when there was no such meeting.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_meeting(&self, id: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute("DELETE FROM meetings WHERE id = ?1", [id])?;
        if n > 0 {
            remove_orphans(&tx)?;
            bump(&tx)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Applies a consolidation plan in one transaction.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn apply_consolidation(&self, c: &Consolidation) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare("UPDATE memories SET importance = ?2 WHERE id = ?1")?;
            for (id, imp) in &c.importance {
                stmt.execute(params![id, *imp as f64])?;
            }
        }
        for id in &c.removed {
            tx.execute("DELETE FROM memories WHERE id = ?1", [id])?;
        }
        for (m, members) in &c.promoted {
            let id = insert_memory(&tx, m, None, None)?;
            for mem in members {
                tx.execute(
                    "INSERT OR IGNORE INTO memory_edges (src, dst, kind, weight)
                     SELECT ?1, ?2, 'member_of', ?3 WHERE EXISTS (SELECT 1 FROM memories WHERE id = ?1)",
                    params![mem, id, lore_memory::graph::W_MEMBER_OF as f64],
                )?;
            }
        }
        remove_orphans(&tx)?;
        bump(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Adds query accesses: each id's count grows by its number and its last access
    /// becomes `now_ms`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn record_access(&self, counts: &[(i64, u32)], now_ms: i64) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "UPDATE memories SET access_count = access_count + ?2, last_access_ms = MAX(last_access_ms, ?3) WHERE id = ?1",
            )?;
            for (id, n) in counts {
                stmt.execute(params![id, n, now_ms])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Rows per table: (meetings, memories, edges).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn counts(&self) -> Result<(u64, u64, u64)> {
        let conn = self.conn();
        let c = |sql: &str| -> Result<u64> {
            Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        Ok((
            c("SELECT COUNT(*) FROM meetings")?,
            c("SELECT COUNT(*) FROM memories")?,
            c("SELECT COUNT(*) FROM memory_edges")?,
        ))
    }
}

fn insert_memory(
    tx: &Transaction<'_>,
    m: &Memory,
    v: Option<&[f32]>,
    concept_key: Option<&str>,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO memories (level, type, meeting_id, concept_key, content, speakers, turn_start, turn_end,
                               start_ms, end_ms, features, importance, access_count, last_access_ms, created_ms, embedding)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            m.level.number() as i64,
            m.memory_type.as_str(),
            m.meeting,
            concept_key,
            m.content,
            json(&m.speakers),
            m.turn_start.map(|x| x as i64),
            m.turn_end.map(|x| x as i64),
            m.start_ms.map(|x| x as i64),
            m.end_ms.map(|x| x as i64),
            m.features.as_ref().map(json),
            m.importance as f64,
            m.access_count as i64,
            m.last_access_ms,
            m.created_ms,
            v.map(to_blob),
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Concepts nothing mentions and cross-meeting clusters with fewer than two members go.
fn remove_orphans(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM memories WHERE level = 0
           AND NOT EXISTS (SELECT 1 FROM memory_edges e WHERE e.dst = memories.id);
         DELETE FROM memories WHERE level = 1 AND meeting_id IS NULL
           AND (SELECT COUNT(*) FROM memory_edges e WHERE e.dst = memories.id AND e.kind = 'member_of') < 2;",
    )?;
    Ok(())
}

fn bump(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO memory_state (key, value) VALUES ('version', 1)
         ON CONFLICT(key) DO UPDATE SET value = value + 1",
        [],
    )?;
    Ok(())
}
