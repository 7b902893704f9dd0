//! The query log in the catalog (DESIGN.md §3): one row per search or answer served, for
//! analytics (`GET /v1/admin/analytics`, `lore analytics`).
//!
//! Requests never wait on it: rows go through a bounded channel to a writer thread that
//! inserts them in batches (one transaction per batch) on its own connection. When the
//! channel is full (the disk cannot keep up) rows are dropped and counted, never queued
//! without bound. Questions are stored as the server logs them (PII masked).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::{now_ms, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS query_log (
    id          INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,          -- unix ms
    kind        TEXT NOT NULL,             -- search | answer
    collection  TEXT NOT NULL,
    domain      TEXT,                      -- of the top passage
    key_id      TEXT,
    query       TEXT NOT NULL,
    latency_ms  REAL NOT NULL,
    cached      INTEGER NOT NULL,
    answered    INTEGER NOT NULL,          -- an answer citing a passage (or a search with hits)
    tokens_in   INTEGER NOT NULL,
    tokens_out  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS query_log_at ON query_log (at_ms);
CREATE TABLE IF NOT EXISTS answer_feedback (
    answer_id   TEXT PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    up          INTEGER NOT NULL,          -- 1 up, 0 down
    comment     TEXT,
    key_id      TEXT
);
-- Sum of the routed questions' query embeddings per UTC day (drift of the question mix).
CREATE TABLE IF NOT EXISTS query_embedding_days (
    day         TEXT PRIMARY KEY,          -- YYYY-MM-DD
    n           INTEGER NOT NULL,
    sum         BLOB NOT NULL              -- f64 little-endian, one per dimension
);";

/// Columns added after the first release of the query log, added to older catalogs at
/// open (`ALTER TABLE ... ADD COLUMN`: no rewrite, old rows read as NULL).
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("answer_id", "TEXT"),
    ("routed", "INTEGER NOT NULL DEFAULT 0"),
    ("route", "TEXT"),
    ("out_of_scope", "INTEGER NOT NULL DEFAULT 0"),
    ("tier", "TEXT"),
    ("model", "TEXT"),
    ("endpoint", "TEXT"),
    ("experiment", "TEXT"),
    ("arm", "TEXT"),
    ("grounding", "REAL"),
    ("cost_usd", "REAL NOT NULL DEFAULT 0"),
    ("cost_largest_usd", "REAL NOT NULL DEFAULT 0"),
];

/// Creates the tables and adds the columns an older catalog lacks.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let have: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('query_log')")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, ty) in ADDED_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE query_log ADD COLUMN {name} {ty}"))?;
        }
    }
    conn.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS query_log_answer ON query_log (answer_id)
             WHERE answer_id IS NOT NULL;
         CREATE INDEX IF NOT EXISTS query_log_experiment ON query_log (experiment)
             WHERE experiment IS NOT NULL;",
    )
}

/// Rows waiting for the writer at most; beyond, rows are dropped (counted).
const QUEUE: usize = 16_384;
/// Rows per insert transaction at most.
const BATCH: usize = 1_024;

/// One served query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryRecord {
    /// When it was served, unix ms.
    pub at_ms: i64,
    /// `search` or `answer`.
    pub kind: &'static str,
    /// Collection queried.
    pub collection: String,
    /// Domain of the best passage, if it has one.
    pub domain: Option<String>,
    /// Public id of the API key used.
    pub key_id: Option<String>,
    /// The query or question (PII masked).
    pub query: String,
    /// Server time, ms.
    pub latency_ms: f64,
    /// Served from a cache.
    pub cached: bool,
    /// An answer that cites a passage, or a search with hits; `false` = "I don't know".
    pub answered: bool,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// Completion tokens.
    pub tokens_out: u64,
    /// The answer's id (answers only), for feedback.
    pub answer_id: Option<String>,
    /// What routing and the experiments chose, and what it cost.
    pub served: ServedBy,
}

/// What served an answer: route, tier, model, experiment arm, grounding and cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServedBy {
    /// The question was routed (`route: true`, chat model `auto`).
    pub routed: bool,
    /// The route it took (null: out of scope, or not routed).
    pub route: Option<String>,
    /// Routed and out of scope.
    pub out_of_scope: bool,
    /// Model tier that answered.
    pub tier: Option<String>,
    /// Model that answered.
    pub model: Option<String>,
    /// Endpoint that answered.
    pub endpoint: Option<String>,
    /// Experiment id and arm name.
    pub arm: Option<(String, String)>,
    /// Grounding score (0-1), when checked.
    pub grounding: Option<f64>,
    /// Estimated cost, USD.
    pub cost_usd: f64,
    /// What the same tokens would have cost on the most expensive tier, USD (= `cost_usd`
    /// without tiers).
    pub cost_largest_usd: f64,
    /// The query embedding of a routed question (for drift; not stored per row).
    #[serde(skip)]
    pub embedding: Option<std::sync::Arc<[f32]>>,
}

/// Queries of one collection and domain on one day (UTC).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Collection.
    pub collection: String,
    /// Domain of the top passage (`null`: none).
    pub domain: Option<String>,
    /// Searches and answers.
    pub queries: u64,
}

/// Latency percentiles (nearest rank) of one kind of query, ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Latency {
    /// Queries counted.
    pub count: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// A frequent query.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TopQuery {
    /// The text (lowercased, spaces collapsed).
    pub query: String,
    /// Times asked.
    pub count: u64,
}

/// What the query log says about a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Analytics {
    /// Days covered, ending now.
    pub days: u32,
    /// Queries per day, collection and domain.
    pub per_day: Vec<DayCount>,
    /// Answer latency.
    pub answer_latency: Latency,
    /// Search latency.
    pub search_latency: Latency,
    /// Share of answers served from the answer cache (0-1).
    pub answer_cache_hit_rate: f64,
    /// Share of searches served from the retrieval cache (0-1).
    pub search_cache_hit_rate: f64,
    /// Share of answers citing nothing ("I don't know", 0-1).
    pub unanswered_rate: f64,
    /// Most asked queries.
    pub top_queries: Vec<TopQuery>,
    /// Prompt tokens over the period.
    pub tokens_in: u64,
    /// Completion tokens over the period.
    pub tokens_out: u64,
    /// Estimated LLM cost over the period, USD.
    pub cost_usd: f64,
    /// What the same answers would have cost on the most expensive model tier, USD.
    pub cost_largest_usd: f64,
    /// `cost_largest_usd - cost_usd`: what routing to cheaper tiers saved, USD.
    pub saved_usd: f64,
    /// Answers, tokens and cost per route, tier and model.
    pub cost_by: Vec<CostRow>,
    /// Rows dropped since start-up because the writer fell behind.
    pub dropped: u64,
}

/// Answers of one route, tier and model over the period, and their cost.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CostRow {
    /// Route (null: not routed or out of scope).
    pub route: Option<String>,
    /// Model tier (null: the default generator).
    pub tier: Option<String>,
    /// Model that answered.
    pub model: Option<String>,
    /// Answers.
    pub answers: u64,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// Completion tokens.
    pub tokens_out: u64,
    /// Estimated cost, USD.
    pub cost_usd: f64,
    /// Mean cost per answer, USD.
    pub cost_per_answer_usd: f64,
    /// The same answers on the most expensive tier, USD.
    pub cost_largest_usd: f64,
}

/// What happened to a feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackOutcome {
    /// Stored (a second feedback on the same answer replaces the first).
    Recorded,
    /// No answer with this id in the log (unknown, or older than the retention).
    NotFound,
    /// The answer was served to another API key.
    NotYours,
}

enum Message {
    /// Boxed: the bounded queue's slots stay small (a row is ~400 bytes).
    Row(Box<QueryRecord>),
    /// Write what is queued, then answer.
    Flush(SyncSender<()>),
}

/// How long the writer lets rows gather before a batch: one wake-up per period instead
/// of one per request (a context switch per request cost measurable throughput).
const GATHER: std::time::Duration = std::time::Duration::from_millis(100);

/// The query log of one catalog.
pub struct QueryLog {
    path: PathBuf,
    tx: Mutex<Option<SyncSender<Message>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    dropped: AtomicU64,
}

impl QueryLog {
    /// Opens the log of the catalog at `catalog_path`, deletes rows older than
    /// `retention`, and starts the writer thread.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open(catalog_path: &Path, retention: std::time::Duration) -> Result<Self> {
        let conn = connect(catalog_path)?;
        migrate(&conn)?;
        let cutoff = now_ms() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX / 2);
        conn.execute("DELETE FROM query_log WHERE at_ms < ?1", [cutoff])?;
        conn.execute("DELETE FROM answer_feedback WHERE at_ms < ?1", [cutoff])?;
        conn.execute(
            "DELETE FROM query_embedding_days WHERE day < date(?1 / 1000, 'unixepoch')",
            [cutoff],
        )?;
        let (tx, rx) = sync_channel(QUEUE);
        let worker = std::thread::Builder::new()
            .name("lore-query-log".into())
            .spawn(move || write_loop(conn, rx))
            .map_err(|e| crate::IndexError::io("starting the query-log writer", e))?;
        Ok(QueryLog {
            path: catalog_path.to_path_buf(),
            tx: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues a row (never blocks; dropped and counted when the queue is full).
    pub fn record(&self, row: QueryRecord) {
        let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = tx.as_ref() {
            if let Err(TrySendError::Full(_)) = tx.try_send(Message::Row(Box::new(row))) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until the rows queued so far are written.
    pub fn flush(&self) {
        let (ack, done) = sync_channel(1);
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|tx| tx.send(Message::Flush(ack)).is_ok());
        if sent {
            let _ = done.recv();
        }
    }

    /// Stops the writer after it has written every queued row.
    pub fn close(&self) {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(w) = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = w.join();
        }
    }

    /// Analytics of the last `days` days (rows already written), with the `top` most
    /// asked queries.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn analytics(&self, days: u32, top: usize) -> Result<Analytics> {
        self.flush();
        let mut a = analytics(&connect(&self.path)?, days, top)?;
        a.dropped = self.dropped.load(Ordering::Relaxed);
        Ok(a)
    }

    /// [`QueryLog::analytics`] of a catalog without starting a writer (`lore analytics`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn read(catalog_path: &Path, days: u32, top: usize) -> Result<Analytics> {
        analytics(&Self::reader(catalog_path)?, days, top)
    }

    /// A connection to the log of the catalog at `catalog_path` (tables created and
    /// migrated), for reports without a writer (`lore experiments report`, `lore drift
    /// report`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn reader(catalog_path: &Path) -> Result<Connection> {
        let conn = connect(catalog_path)?;
        migrate(&conn)?;
        Ok(conn)
    }

    /// A connection for reports, after every queued row is written.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn connection(&self) -> Result<Connection> {
        self.flush();
        connect(&self.path)
    }

    /// Stores feedback on answer `answer_id` from the key `key_id` (`None`: no auth):
    /// `up` is a thumbs-up. Only the key that received the answer may rate it (`any_key`:
    /// an unscoped admin may rate any). A second feedback replaces the first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn feedback(
        &self,
        answer_id: &str,
        up: bool,
        comment: Option<&str>,
        key_id: Option<&str>,
        any_key: bool,
    ) -> Result<FeedbackOutcome> {
        let conn = self.connection()?;
        let owner: Option<Option<String>> = conn
            .query_row(
                "SELECT key_id FROM query_log WHERE answer_id = ?1",
                [answer_id],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let Some(owner) = owner else {
            return Ok(FeedbackOutcome::NotFound);
        };
        if !any_key && owner.as_deref() != key_id {
            return Ok(FeedbackOutcome::NotYours);
        }
        conn.execute(
            "INSERT INTO answer_feedback (answer_id, at_ms, up, comment, key_id)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (answer_id) DO UPDATE SET
                at_ms = excluded.at_ms, up = excluded.up, comment = excluded.comment,
                key_id = excluded.key_id",
            params![answer_id, now_ms(), up, comment, key_id],
        )?;
        Ok(FeedbackOutcome::Recorded)
    }
}

impl Drop for QueryLog {
    fn drop(&mut self) {
        self.close();
    }
}

pub(crate) fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Analytics, not acknowledged writes: a crash may lose the last batch.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

fn write_loop(mut conn: Connection, rx: Receiver<Message>) {
    fn take(m: Message, batch: &mut Vec<QueryRecord>, acks: &mut Vec<SyncSender<()>>) {
        match m {
            Message::Row(r) => batch.push(*r),
            Message::Flush(ack) => acks.push(ack),
        }
    }
    while let Ok(first) = rx.recv() {
        let mut acks = Vec::new();
        let mut batch = Vec::new();
        take(first, &mut batch, &mut acks);
        if acks.is_empty() {
            std::thread::sleep(GATHER);
        }
        loop {
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => take(m, &mut batch, &mut acks),
                    Err(_) => break,
                }
            }
            if let Err(e) = write_batch(&mut conn, &batch) {
                tracing::warn!(error = %e, rows = batch.len(), "query log: rows not written");
            }
            if batch.len() < BATCH {
                break;
            }
            batch.clear();
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[QueryRecord]) -> rusqlite::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO query_log (at_ms, kind, collection, domain, key_id, query, latency_ms,
                                    cached, answered, tokens_in, tokens_out, answer_id, routed,
                                    route, out_of_scope, tier, model, endpoint, experiment, arm,
                                    grounding, cost_usd, cost_largest_usd)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        )?;
        for r in batch {
            let s = &r.served;
            stmt.execute(params![
                r.at_ms,
                r.kind,
                r.collection,
                r.domain,
                r.key_id,
                r.query,
                r.latency_ms,
                r.cached,
                r.answered,
                r.tokens_in as i64,
                r.tokens_out as i64,
                r.answer_id,
                s.routed,
                s.route,
                s.out_of_scope,
                s.tier,
                s.model,
                s.endpoint,
                s.arm.as_ref().map(|a| &a.0),
                s.arm.as_ref().map(|a| &a.1),
                s.grounding,
                s.cost_usd,
                s.cost_largest_usd
            ])?;
        }
    }
    crate::drift::add_embeddings(&tx, batch)?;
    tx.commit()
}

fn analytics(conn: &Connection, days: u32, top: usize) -> Result<Analytics> {
    let since = now_ms() - i64::from(days) * 86_400_000;
    let mut stmt = conn.prepare(
        "SELECT date(at_ms / 1000, 'unixepoch') AS day, collection, domain, COUNT(*)
         FROM query_log WHERE at_ms >= ?1
         GROUP BY day, collection, domain ORDER BY day, collection, domain",
    )?;
    let per_day = stmt
        .query_map([since], |r| {
            Ok(DayCount {
                day: r.get(0)?,
                collection: r.get(1)?,
                domain: r.get(2)?,
                queries: r.get::<_, i64>(3)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let latencies = |kind: &str| -> Result<(Latency, f64, Vec<bool>)> {
        let mut stmt = conn.prepare(
            "SELECT latency_ms, cached, answered FROM query_log WHERE at_ms >= ?1 AND kind = ?2",
        )?;
        let rows = stmt
            .query_map(params![since, kind], |r| {
                Ok((
                    r.get::<_, f64>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut ms: Vec<f64> = rows.iter().map(|r| r.0).collect();
        ms.sort_by(f64::total_cmp);
        let cached = rows.iter().filter(|r| r.1).count();
        let answered = rows.iter().map(|r| r.2).collect();
        Ok((latency(&ms), share(cached, rows.len()), answered))
    };
    let (answer_latency, answer_cache_hit_rate, answered) = latencies("answer")?;
    let (search_latency, search_cache_hit_rate, _) = latencies("search")?;
    let unanswered = answered.iter().filter(|a| !**a).count();
    let mut stmt = conn.prepare(
        "SELECT lower(trim(query)) AS q, COUNT(*) AS n FROM query_log WHERE at_ms >= ?1
         GROUP BY q ORDER BY n DESC, q LIMIT ?2",
    )?;
    let top_queries = stmt
        .query_map(params![since, top as i64], |r| {
            Ok(TopQuery {
                query: r.get(0)?,
                count: r.get::<_, i64>(1)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (tokens_in, tokens_out): (i64, i64) = conn.query_row(
        "SELECT COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0) FROM query_log WHERE at_ms >= ?1",
        [since],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut stmt = conn.prepare(
        "SELECT route, tier, model, COUNT(*), SUM(tokens_in), SUM(tokens_out), SUM(cost_usd),
                SUM(cost_largest_usd)
         FROM query_log WHERE at_ms >= ?1 AND kind = 'answer'
         GROUP BY route, tier, model ORDER BY SUM(cost_usd) DESC, COUNT(*) DESC",
    )?;
    let cost_by = stmt
        .query_map([since], |r| {
            let answers = r.get::<_, i64>(3)? as u64;
            let cost_usd: f64 = r.get(6)?;
            Ok(CostRow {
                route: r.get(0)?,
                tier: r.get(1)?,
                model: r.get::<_, Option<String>>(2)?.filter(|m| !m.is_empty()),
                answers,
                tokens_in: r.get::<_, i64>(4)? as u64,
                tokens_out: r.get::<_, i64>(5)? as u64,
                cost_usd,
                cost_per_answer_usd: cost_usd / answers.max(1) as f64,
                cost_largest_usd: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let cost_usd: f64 = cost_by.iter().map(|c| c.cost_usd).sum();
    let cost_largest_usd: f64 = cost_by.iter().map(|c| c.cost_largest_usd).sum();
    Ok(Analytics {
        days,
        cost_usd,
        cost_largest_usd,
        saved_usd: cost_largest_usd - cost_usd,
        cost_by,
        per_day,
        answer_latency,
        search_latency,
        answer_cache_hit_rate,
        search_cache_hit_rate,
        unanswered_rate: share(unanswered, answered.len()),
        top_queries,
        tokens_in: tokens_in as u64,
        tokens_out: tokens_out as u64,
        dropped: 0,
    })
}

/// Nearest-rank percentiles of sorted values.
pub(crate) fn latency(sorted: &[f64]) -> Latency {
    let at = |p: f64| {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    };
    Latency {
        count: sorted.len() as u64,
        p50_ms: at(50.0),
        p95_ms: at(95.0),
        p99_ms: at(99.0),
    }
}

pub(crate) fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &'static str, query: &str, ms: f64, cached: bool, answered: bool) -> QueryRecord {
        QueryRecord {
            at_ms: now_ms(),
            kind,
            collection: "kb".into(),
            domain: Some("hr".into()),
            key_id: Some("abc".into()),
            query: query.into(),
            latency_ms: ms,
            cached,
            answered,
            tokens_in: 10,
            tokens_out: 5,
            answer_id: None,
            served: ServedBy::default(),
        }
    }

    #[test]
    fn rows_are_written_and_summarised() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let log = QueryLog::open(&path, std::time::Duration::from_secs(30 * 86_400)).unwrap();
        for i in 0..100 {
            log.record(row(
                "answer",
                "Leave policy?",
                i as f64 + 1.0,
                i % 4 == 0,
                i % 10 != 0,
            ));
        }
        log.record(row("search", "vpn", 2.0, true, true));
        log.close();
        let a = QueryLog::read(&path, 1, 3).unwrap();
        assert_eq!(a.per_day.len(), 1);
        assert_eq!(a.per_day[0].queries, 101);
        assert_eq!(a.answer_latency.count, 100);
        assert_eq!(
            (a.answer_latency.p50_ms, a.answer_latency.p99_ms),
            (50.0, 99.0)
        );
        assert!((a.answer_cache_hit_rate - 0.25).abs() < 1e-9);
        assert!((a.unanswered_rate - 0.10).abs() < 1e-9);
        assert_eq!(a.search_cache_hit_rate, 1.0);
        assert_eq!(
            a.top_queries[0],
            TopQuery {
                query: "leave policy?".into(),
                count: 100
            }
        );
        assert_eq!((a.tokens_in, a.tokens_out), (1010, 505));
    }
}
