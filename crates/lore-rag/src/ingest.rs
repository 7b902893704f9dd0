//! The ingest pipeline: files → prepared documents → embedded in cross-document batches →
//! written one document per catalog transaction.

use std::path::PathBuf;
use std::time::Instant;

use lore_core::Metadata;
use lore_embed::Embedder;
use lore_index::{CollectionInfo, NewChunk, NewDocument};
use lore_ingest::{content_hash, normalize_source, parse_with, walk_paths, ChunkDraft};
use serde::Serialize;

use crate::{Engine, EngineError};

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FileStatus {
    /// New document stored.
    Added {
        /// Chunks written.
        chunks: usize,
    },
    /// Content changed: old chunks replaced atomically.
    Updated {
        /// Chunks written.
        chunks: usize,
    },
    /// Same content hash as stored: nothing done.
    Unchanged,
    /// Not ingested; nothing stored was touched.
    Failed {
        /// Stable code ([`FileError::code`]).
        code: &'static str,
        /// Why.
        reason: String,
    },
}

/// Why one file was not ingested: a stable code and a message for a person. The run goes
/// on with the other files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// `unsupported_format`, `corrupt_file`, `encrypted_file`, `no_text`, `file_too_large`,
    /// `file_too_deep`, `parser_failed`, `unreadable_file`, `store_error`, ...
    /// ([`lore_ingest::IngestError::code`]).
    pub code: &'static str,
    /// What was wrong.
    pub reason: String,
}

impl From<lore_ingest::IngestError> for FileError {
    fn from(e: lore_ingest::IngestError) -> Self {
        FileError {
            code: e.code(),
            reason: e.to_string(),
        }
    }
}

impl From<FileError> for FileStatus {
    fn from(e: FileError) -> Self {
        FileStatus::Failed {
            code: e.code,
            reason: e.reason,
        }
    }
}

/// Outcome for one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileReport {
    /// Source path (as given, `.` components removed).
    pub source: String,
    /// What happened.
    #[serde(flatten)]
    pub status: FileStatus,
}

/// Outcome of an ingest run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Per-file outcomes, in processing order.
    pub files: Vec<FileReport>,
    /// Chunks embedded and written.
    pub chunks: usize,
    /// Wall time spent in the embedding model (ms).
    pub embed_ms: f64,
    /// Wall time of the whole run (ms).
    pub total_ms: f64,
}

impl IngestReport {
    /// Files that failed.
    pub fn failed(&self) -> usize {
        self.files
            .iter()
            .filter(|f| matches!(f.status, FileStatus::Failed { .. }))
            .count()
    }
}

/// Progress events, for a progress bar or log lines.
#[derive(Debug, Clone)]
pub enum IngestEvent {
    /// Files found.
    Found(usize),
    /// A file was processed.
    File(FileReport),
    /// Chunks were embedded and written (running total).
    Chunks(usize),
}

/// A document ready to embed: parsed and chunked.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Catalog row to write.
    pub doc: NewDocument,
    /// Chunks to embed.
    pub chunks: Vec<ChunkDraft>,
    /// Whether a previous version exists.
    pub replaces: bool,
}

impl Engine {
    /// Ingests files and folders (walked recursively) into `collection`, created if absent.
    /// A file that fails is reported with its reason; the rest continue.
    ///
    /// # Errors
    /// Only failures of the whole run (store, embedding model); per-file problems are in
    /// the report.
    pub fn ingest_paths(
        &mut self,
        collection: &str,
        paths: &[PathBuf],
        metadata: &Metadata,
        progress: &mut dyn FnMut(IngestEvent),
    ) -> Result<IngestReport, EngineError> {
        let start = Instant::now();
        let info = self.ensure_collection(collection)?;
        let files = walk_paths(paths);
        progress(IngestEvent::Found(files.len()));
        let mut report = IngestReport::default();
        let mut pending: Vec<Prepared> = Vec::new();
        for entry in files {
            let file_report = match entry {
                Err((path, reason)) => Some(FileReport {
                    source: normalize_source(&path),
                    status: FileStatus::Failed {
                        code: "unreadable_file",
                        reason,
                    },
                }),
                Ok(path) => match self.prepare_file(&info, &path, metadata) {
                    Ok(Some(p)) => {
                        pending.push(p);
                        None
                    }
                    Ok(None) => Some(FileReport {
                        source: normalize_source(&path),
                        status: FileStatus::Unchanged,
                    }),
                    Err(e) => Some(FileReport {
                        source: normalize_source(&path),
                        status: e.into(),
                    }),
                },
            };
            if let Some(r) = file_report {
                progress(IngestEvent::File(r.clone()));
                report.files.push(r);
            }
            if pending.iter().map(|p| p.chunks.len()).sum::<usize>()
                >= self.config.ingest_batch_chunks
            {
                self.write_prepared(&info, std::mem::take(&mut pending), &mut report, progress)?;
            }
        }
        self.write_prepared(&info, pending, &mut report, progress)?;
        self.store.flush()?;
        report.total_ms = start.elapsed().as_secs_f64() * 1e3;
        Ok(report)
    }

    /// Ingests already-prepared documents (e.g. an evaluation corpus), skipping those whose
    /// content hash is unchanged.
    ///
    /// # Errors
    /// As [`Engine::ingest_paths`].
    pub fn ingest_prepared(
        &mut self,
        collection: &str,
        docs: Vec<Prepared>,
        progress: &mut dyn FnMut(IngestEvent),
    ) -> Result<IngestReport, EngineError> {
        let start = Instant::now();
        let info = self.ensure_collection(collection)?;
        progress(IngestEvent::Found(docs.len()));
        let mut report = IngestReport::default();
        let mut pending = Vec::new();
        for mut p in docs {
            match self.store.document(&info, &p.doc.source)? {
                Some(old) if old.content_hash == p.doc.content_hash => {
                    let r = FileReport {
                        source: p.doc.source,
                        status: FileStatus::Unchanged,
                    };
                    progress(IngestEvent::File(r.clone()));
                    report.files.push(r);
                    continue;
                }
                old => p.replaces = old.is_some(),
            }
            pending.push(p);
            if pending.iter().map(|p| p.chunks.len()).sum::<usize>()
                >= self.config.ingest_batch_chunks
            {
                self.write_prepared(&info, std::mem::take(&mut pending), &mut report, progress)?;
            }
        }
        self.write_prepared(&info, pending, &mut report, progress)?;
        self.store.flush()?;
        report.total_ms = start.elapsed().as_secs_f64() * 1e3;
        Ok(report)
    }

    /// Chunks `doc` with the engine's chunker (for callers that prepare documents).
    ///
    /// # Errors
    /// [`EngineError::Ingest`] if the tokenizer fails.
    pub fn chunk(&self, doc: &lore_ingest::Extracted) -> Result<Vec<ChunkDraft>, EngineError> {
        Ok(self.chunker.chunk(doc)?)
    }

    /// Reads, hashes, parses and chunks one file. `Ok(None)` when unchanged.
    fn prepare_file(
        &self,
        info: &CollectionInfo,
        path: &std::path::Path,
        metadata: &Metadata,
    ) -> Result<Option<Prepared>, FileError> {
        let source = normalize_source(path);
        let bytes = std::fs::read(path).map_err(lore_ingest::IngestError::from)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(&source);
        self.prepare_bytes(info, &source, name, &bytes, metadata)
    }

    /// Hashes, parses and chunks one file's bytes (an upload, or a file read from disk) to
    /// be stored as `source`; `name` (its file name) helps format detection. `Ok(None)` when
    /// the stored document has the same content hash and metadata.
    ///
    /// # Errors
    /// [`FileError`] for the per-file report: unsupported or corrupt format, no text, over
    /// the ingest limits (`[ingest]`), a catalog read failure (`store_error`).
    pub fn prepare_bytes(
        &self,
        info: &CollectionInfo,
        source: &str,
        name: &str,
        bytes: &[u8],
        metadata: &Metadata,
    ) -> Result<Option<Prepared>, FileError> {
        let hash = content_hash(bytes);
        let existing = self.store.document(info, source).map_err(|e| FileError {
            code: "store_error",
            reason: e.to_string(),
        })?;
        if let Some(old) = &existing {
            if old.content_hash == hash && &old.metadata == metadata {
                return Ok(None);
            }
        }
        let (format, extracted) = parse_with(name, bytes, &self.config.ingest)?;
        let chunks = self.chunker.chunk(&extracted)?;
        if chunks.is_empty() {
            return Err(FileError {
                code: "no_text",
                reason: format!("no text to index in {format}"),
            });
        }
        Ok(Some(Prepared {
            doc: NewDocument {
                source: source.to_string(),
                title: extracted.title,
                format: format.as_str().to_string(),
                content_hash: hash,
                bytes: bytes.len() as u64,
                metadata: metadata.clone(),
            },
            chunks,
            replaces: existing.is_some(),
        }))
    }

    /// The collection `name`, created (for this engine's embedding model) if absent.
    ///
    /// # Errors
    /// [`EngineError::Index`]: invalid name, a collection built with another model.
    pub fn ensure_collection(&mut self, name: &str) -> Result<CollectionInfo, EngineError> {
        Ok(self
            .store
            .ensure_collection(name, &self.embedder.model_id(), self.embedder.dim())?)
    }

    /// Embeds the chunks of `docs` in one batch: one 384-d vector per chunk, in order. Takes
    /// `&self` so a server embeds an upload while searches go on.
    ///
    /// # Errors
    /// [`EngineError::Embed`].
    pub fn embed_prepared(&self, docs: &[Prepared]) -> Result<Vec<Vec<f32>>, EngineError> {
        let texts: Vec<&str> = docs
            .iter()
            .flat_map(|d| d.chunks.iter().map(|c| c.index_text.as_str()))
            .collect();
        Ok(self.embedder.embed(&texts)?)
    }

    /// Writes one prepared document with its chunk vectors (from
    /// [`Engine::embed_prepared`]) in one catalog transaction and applies it to both
    /// indexes; the caller flushes.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn write_embedded(
        &mut self,
        info: &CollectionInfo,
        doc: Prepared,
        vectors: &mut dyn Iterator<Item = Vec<f32>>,
    ) -> Result<FileReport, EngineError> {
        let chunks: Vec<NewChunk> = doc
            .chunks
            .iter()
            .map(|c| NewChunk {
                ordinal: c.ordinal,
                text: c.text.clone(),
                index_text: c.index_text.clone(),
                page: c.page,
                heading: c.heading.clone(),
                token_count: c.token_count,
                embedding: vectors.next().unwrap_or_default(),
            })
            .collect();
        self.store.write_document(info, &doc.doc, &chunks)?;
        let n = chunks.len();
        let status = if doc.replaces {
            FileStatus::Updated { chunks: n }
        } else {
            FileStatus::Added { chunks: n }
        };
        Ok(FileReport {
            source: doc.doc.source,
            status,
        })
    }

    /// Makes every write so far durable in both indexes.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn flush(&mut self) -> Result<(), EngineError> {
        Ok(self.store.flush()?)
    }

    /// Embeds the chunks of `docs` together, then writes each document in its own
    /// transaction.
    fn write_prepared(
        &mut self,
        info: &CollectionInfo,
        docs: Vec<Prepared>,
        report: &mut IngestReport,
        progress: &mut dyn FnMut(IngestEvent),
    ) -> Result<(), EngineError> {
        if docs.is_empty() {
            return Ok(());
        }
        let t = Instant::now();
        let mut vectors = self.embed_prepared(&docs)?.into_iter();
        report.embed_ms += t.elapsed().as_secs_f64() * 1e3;
        let before = report.chunks / self.config.flush_every_chunks.max(1);
        for d in docs {
            let r = self.write_embedded(info, d, &mut vectors)?;
            if let FileStatus::Added { chunks } | FileStatus::Updated { chunks } = r.status {
                report.chunks += chunks;
            }
            progress(IngestEvent::File(r.clone()));
            report.files.push(r);
        }
        progress(IngestEvent::Chunks(report.chunks));
        if report.chunks / self.config.flush_every_chunks.max(1) > before {
            self.store.flush()?;
        }
        Ok(())
    }
}
