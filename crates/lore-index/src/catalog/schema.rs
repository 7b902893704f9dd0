//! Tables and migrations of the catalog.

use rusqlite::Connection;

use crate::Result;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS collections (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    model_id    TEXT NOT NULL,
    dim         INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0,   -- bumped on every document change
    revision    TEXT NOT NULL DEFAULT '',     -- random, replaced with every version
    pruned_upto INTEGER NOT NULL DEFAULT 0,   -- change log rows <= this were deleted
    created_ms  INTEGER NOT NULL,
    chunk_tokens   INTEGER,                   -- chunking recorded at creation (NULL:
    overlap_tokens INTEGER                    -- made before lore recorded it)
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

/// Brings a catalog written by an older lore up to the current schema.
pub(super) fn migrate(conn: &Connection) -> Result<()> {
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
    let has_chunking: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('collections') WHERE name = 'chunk_tokens'",
        [],
        |r| r.get(0),
    )?;
    if !has_chunking {
        // Older collections record none: their next ingest records its own.
        conn.execute_batch(
            "ALTER TABLE collections ADD COLUMN chunk_tokens INTEGER;
             ALTER TABLE collections ADD COLUMN overlap_tokens INTEGER;",
        )?;
    }
    Ok(())
}
