//! The ingest pipeline ([`run_ingest`]): items → prepared documents → embedded in
//! cross-document batches → written one document per catalog transaction. The CLI, server
//! jobs and evaluation all run it.

use std::cell::{Ref, RefCell, RefMut};
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::time::Instant;

use lore_core::{Access, Metadata};
use lore_embed::Embedder;
use lore_index::{Chunking, CollectionInfo, NewChunk, NewCollection, NewDocument};
use lore_ingest::{content_hash, normalize_source, parse_with, walk_paths, ChunkDraft, Chunker};
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

/// Every per-file code of [`FileError`], with its meaning (rendered into `docs/errors.md`).
pub const FILE_ERROR_CODES: &[(&str, &str)] = &[
    ("empty_file", "The file has no bytes."),
    ("unsupported_format", "Not PDF, DOCX, HTML, Markdown or text (detected by content)."),
    ("corrupt_file", "The format was recognised but the file could not be parsed."),
    ("encrypted_file", "The PDF is encrypted."),
    ("no_text", "Nothing to index was extracted (a scanned PDF, an empty page)."),
    ("tokenizer_failed", "The embedding model's tokenizer failed on the text."),
    ("file_too_large", "Over `[ingest]` max_inflated_bytes, max_inflate_ratio or max_text_bytes (a decompression bomb)."),
    ("file_too_deep", "Nesting deeper than `[ingest] max_depth`."),
    ("parser_failed", "The parser panicked on this file; the server logged it and went on."),
    ("unreadable_file", "The file could not be read from disk."),
    ("store_error", "The catalog could not be read to compare with the stored version."),
    ("document_conflict", "The name is taken by a document of a domain the key may not replace."),
];

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
    /// Items to ingest.
    Found(usize),
    /// An item reached its final status.
    File {
        /// Position of the item in the run's input (0-based).
        index: usize,
        /// What happened.
        report: FileReport,
    },
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

/// One input of an ingest run.
#[derive(Debug, Clone)]
pub enum IngestItem {
    /// A file on disk; its source is the path with `.` components removed.
    Path(PathBuf),
    /// A path that could not be listed (reported as `unreadable_file`).
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file's bytes (an upload).
    Bytes {
        /// Source it is stored as.
        source: String,
        /// File name as given (helps format detection).
        name: String,
        /// Content.
        bytes: Vec<u8>,
    },
    /// A document already extracted and chunked (an evaluation corpus).
    Prepared(Prepared),
}

impl IngestItem {
    /// Files and folders (walked recursively) as items.
    pub fn walk(paths: &[PathBuf]) -> Vec<IngestItem> {
        walk_paths(paths)
            .into_iter()
            .map(|entry| match entry {
                Ok(path) => IngestItem::Path(path),
                Err((path, reason)) => IngestItem::Unreadable { path, reason },
            })
            .collect()
    }
}

/// How a run treats the collection and its documents.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Metadata of every document of the run.
    pub metadata: Metadata,
    /// Whose run it is: a stored document of a domain outside it is never replaced
    /// (`document_conflict`). Default: everything.
    pub access: Access,
    /// Chunking the caller asked for explicitly (a flag, a settings file); `None`: the
    /// collection's own. A collection created by the run records it (else the engine's
    /// `[chunking]`).
    pub chunking: Option<Chunking>,
    /// When `chunking` differs from the collection's: delete the collection's documents
    /// and record the new chunking (the run's documents are then the collection's),
    /// instead of refusing the run with `chunking_mismatch`.
    pub rechunk: bool,
}

/// The engine as the pipeline reaches it: a read side shared with concurrent searches
/// (preparing, embedding) and a write side for each document's commit. A server passes
/// its lock; a command passes [`EngineCell`].
pub trait EngineLock {
    /// Shared access.
    type Read<'a>: Deref<Target = Engine>
    where
        Self: 'a;
    /// Exclusive access.
    type Write<'a>: DerefMut<Target = Engine>
    where
        Self: 'a;
    /// Shared access.
    fn read(&self) -> Self::Read<'_>;
    /// Exclusive access.
    fn write(&self) -> Self::Write<'_>;
}

/// A server's engine: the read side shared, the write side exclusive (a poisoned lock is
/// taken over: SQLite rolled back whatever the panicking writer had not committed).
impl EngineLock for std::sync::RwLock<Engine> {
    type Read<'a> = std::sync::RwLockReadGuard<'a, Engine>;
    type Write<'a> = std::sync::RwLockWriteGuard<'a, Engine>;
    fn read(&self) -> Self::Read<'_> {
        std::sync::RwLock::read(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn write(&self) -> Self::Write<'_> {
        std::sync::RwLock::write(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A single-threaded [`EngineLock`] over a borrowed engine.
pub struct EngineCell<'e>(RefCell<&'e mut Engine>);

impl<'e> EngineCell<'e> {
    /// Wraps an engine for one run.
    pub fn new(engine: &'e mut Engine) -> Self {
        EngineCell(RefCell::new(engine))
    }
}

impl EngineLock for EngineCell<'_> {
    type Read<'a>
        = Ref<'a, Engine>
    where
        Self: 'a;
    type Write<'a>
        = RefMut<'a, Engine>
    where
        Self: 'a;
    fn read(&self) -> Ref<'_, Engine> {
        Ref::map(self.0.borrow(), |e| &**e)
    }
    fn write(&self) -> RefMut<'_, Engine> {
        RefMut::map(self.0.borrow_mut(), |e| &mut **e)
    }
}

/// The one ingest pipeline, for the CLI, server jobs and evaluation alike, in stages:
///
/// 1. **prepare** (read side): read, detect and extract, chunk with the collection's
///    chunking; unchanged documents (same content hash and metadata) stop here;
/// 2. **embed** (read side): chunks of several documents together, in batches of
///    `[embedding] ingest_batch_chunks`;
/// 3. **commit** (write side): one catalog transaction per document, applied to both
///    indexes; the indexes are flushed every `[store] flush_every_chunks` and at the end.
///
/// A failing item is reported with its code and the run goes on.
///
/// # Errors
/// Failures of the whole run: the collection cannot be opened or created (invalid name,
/// another embedding model, `chunking_mismatch`), the store or the embedding model fails.
pub fn run_ingest<L: EngineLock>(
    lock: &L,
    collection: &str,
    items: Vec<IngestItem>,
    options: &IngestOptions,
    progress: &mut dyn FnMut(IngestEvent),
) -> Result<IngestReport, EngineError> {
    let start = Instant::now();
    let info = lock
        .write()
        .open_for_ingest(collection, options.chunking, options.rechunk)?;
    let (chunker, batch_chunks, flush_every) = {
        let engine = lock.read();
        (
            engine.chunker_for(&info)?,
            engine.config.embedding.ingest_batch_chunks.max(1),
            engine.config.store.flush_every_chunks.max(1),
        )
    };
    progress(IngestEvent::Found(items.len()));
    let mut run = Commit {
        info: &info,
        report: IngestReport::default(),
        flush_every,
    };
    let mut pending: Vec<(usize, Prepared)> = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let staged = lock.read().prepare_item(&info, &chunker, item, options);
        match staged {
            Ok(p) => pending.push((index, p)),
            Err(report) => {
                progress(IngestEvent::File {
                    index,
                    report: report.clone(),
                });
                run.report.files.push(report);
            }
        }
        if pending.iter().map(|(_, p)| p.chunks.len()).sum::<usize>() >= batch_chunks {
            run.commit(lock, std::mem::take(&mut pending), progress)?;
        }
    }
    run.commit(lock, pending, progress)?;
    lock.write().store.flush()?;
    run.report.total_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(run.report)
}

/// The embed and commit stages of one run.
struct Commit<'i> {
    info: &'i CollectionInfo,
    report: IngestReport,
    flush_every: usize,
}

impl Commit<'_> {
    /// Embeds the chunks of `docs` together, then writes each document in its own
    /// transaction.
    fn commit<L: EngineLock>(
        &mut self,
        lock: &L,
        docs: Vec<(usize, Prepared)>,
        progress: &mut dyn FnMut(IngestEvent),
    ) -> Result<(), EngineError> {
        if docs.is_empty() {
            return Ok(());
        }
        let (indices, docs): (Vec<usize>, Vec<Prepared>) = docs.into_iter().unzip();
        let t = Instant::now();
        let mut vectors = lock.read().embed_prepared(&docs)?.into_iter();
        self.report.embed_ms += t.elapsed().as_secs_f64() * 1e3;
        let before = self.report.chunks / self.flush_every;
        for (index, d) in indices.into_iter().zip(docs) {
            let r = lock.write().write_embedded(self.info, d, &mut vectors)?;
            if let FileStatus::Added { chunks } | FileStatus::Updated { chunks } = r.status {
                self.report.chunks += chunks;
            }
            progress(IngestEvent::File {
                index,
                report: r.clone(),
            });
            self.report.files.push(r);
        }
        progress(IngestEvent::Chunks(self.report.chunks));
        if self.report.chunks / self.flush_every > before {
            lock.write().store.flush()?;
        }
        Ok(())
    }
}

impl Engine {
    /// Ingests files and folders (walked recursively) into `collection`, created if
    /// absent: [`run_ingest`] on this engine alone.
    ///
    /// # Errors
    /// As [`run_ingest`].
    pub fn ingest_paths(
        &mut self,
        collection: &str,
        paths: &[PathBuf],
        options: &IngestOptions,
        progress: &mut dyn FnMut(IngestEvent),
    ) -> Result<IngestReport, EngineError> {
        run_ingest(
            &EngineCell::new(self),
            collection,
            IngestItem::walk(paths),
            options,
            progress,
        )
    }

    /// Ingests already-prepared documents (e.g. an evaluation corpus), skipping those whose
    /// content hash is unchanged: [`run_ingest`] on this engine alone.
    ///
    /// # Errors
    /// As [`run_ingest`].
    pub fn ingest_prepared(
        &mut self,
        collection: &str,
        docs: Vec<Prepared>,
        progress: &mut dyn FnMut(IngestEvent),
    ) -> Result<IngestReport, EngineError> {
        let items = docs.into_iter().map(IngestItem::Prepared).collect();
        run_ingest(
            &EngineCell::new(self),
            collection,
            items,
            &IngestOptions::default(),
            progress,
        )
    }

    /// Chunks `doc` with the engine's `[chunking]` (for callers that prepare documents).
    ///
    /// # Errors
    /// [`EngineError::Ingest`] if the tokenizer fails.
    pub fn chunk(&self, doc: &lore_ingest::Extracted) -> Result<Vec<ChunkDraft>, EngineError> {
        Ok(self.chunker.chunk(doc)?)
    }

    /// The chunker of a collection: its recorded chunk size and overlap (the engine's
    /// `[chunking]` for a collection that recorded none).
    ///
    /// # Errors
    /// [`EngineError::Ingest`] for a recorded chunking the model cannot take.
    pub fn chunker_for(&self, info: &CollectionInfo) -> Result<Chunker, EngineError> {
        match info.chunking {
            Some(c) => Ok(self.chunker.with_sizes(c.chunk_tokens, c.overlap_tokens)?),
            None => Ok(self.chunker.clone()),
        }
    }

    /// The engine's `[chunking]`, as a collection records it.
    pub fn chunking(&self) -> Chunking {
        let c = self.chunker.config();
        Chunking {
            chunk_tokens: c.chunk_tokens,
            overlap_tokens: c.overlap_tokens,
        }
    }

    /// The collection an ingest run writes to: created (this engine's model, `requested`
    /// or the engine's chunking) if absent; a collection that recorded no chunking (made
    /// by an older lore) records the run's.
    ///
    /// # Errors
    /// [`EngineError::ChunkingMismatch`] when `requested` differs from the collection's
    /// and `rechunk` is off; [`EngineError::Index`]: invalid name, another model.
    pub(crate) fn open_for_ingest(
        &mut self,
        name: &str,
        requested: Option<Chunking>,
        rechunk: bool,
    ) -> Result<CollectionInfo, EngineError> {
        let wanted = requested.unwrap_or_else(|| self.chunking());
        let info = self.store.ensure_collection(&NewCollection {
            name,
            model_id: &self.embedder.model_id(),
            dim: self.embedder.dim(),
            chunking: wanted,
            defaults: None,
        })?;
        match (info.chunking, requested) {
            (None, _) => {
                self.store.catalog().set_chunking(info.id, wanted)?;
            }
            (Some(have), Some(want)) if have != want => {
                if !rechunk {
                    return Err(EngineError::ChunkingMismatch {
                        collection: name.to_string(),
                        have,
                        want,
                    });
                }
                for doc in self.store.documents(&info)? {
                    self.store.delete_document(&info, &doc.source)?;
                }
                self.store.catalog().set_chunking(info.id, want)?;
                self.store.flush()?;
            }
            _ => return Ok(info),
        }
        Ok(self.store.collection(name)?)
    }

    /// The collection `name`, created (this engine's model and `[chunking]`) if absent.
    ///
    /// # Errors
    /// [`EngineError::Index`]: invalid name, a collection built with another model.
    pub fn ensure_collection(&mut self, name: &str) -> Result<CollectionInfo, EngineError> {
        self.open_for_ingest(name, None, false)
    }

    /// Stage 1 of [`run_ingest`] for one item: the prepared document, or its final
    /// report (unchanged or failed).
    fn prepare_item(
        &self,
        info: &CollectionInfo,
        chunker: &Chunker,
        item: IngestItem,
        options: &IngestOptions,
    ) -> Result<Prepared, FileReport> {
        let (source, staged) = match item {
            IngestItem::Unreadable { path, reason } => (
                normalize_source(&path),
                Err(FileError {
                    code: "unreadable_file",
                    reason,
                }),
            ),
            IngestItem::Path(path) => {
                let source = normalize_source(&path);
                let staged = std::fs::read(&path)
                    .map_err(|e| FileError::from(lore_ingest::IngestError::from(e)))
                    .and_then(|bytes| {
                        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(&source);
                        self.prepare_bytes(info, chunker, &source, name, &bytes, options)
                    });
                (source, staged)
            }
            IngestItem::Bytes {
                source,
                name,
                bytes,
            } => {
                let staged = self.prepare_bytes(info, chunker, &source, &name, &bytes, options);
                (source, staged)
            }
            IngestItem::Prepared(mut p) => {
                let source = p.doc.source.clone();
                let staged = match self.existing(info, &source, options) {
                    Err(e) => Err(e),
                    Ok(Some(old)) if old.content_hash == p.doc.content_hash => Ok(None),
                    Ok(old) => {
                        p.replaces = old.is_some();
                        Ok(Some(p))
                    }
                };
                (source, staged)
            }
        };
        match staged {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(FileReport {
                source,
                status: FileStatus::Unchanged,
            }),
            Err(e) => Err(FileReport {
                source,
                status: e.into(),
            }),
        }
    }

    /// The stored document at `source`, if any; a document of a domain the run may not
    /// touch is a `document_conflict` (only an unrestricted caller can have put it there:
    /// domain-limited keys write under their own domain's names).
    fn existing(
        &self,
        info: &CollectionInfo,
        source: &str,
        options: &IngestOptions,
    ) -> Result<Option<lore_index::DocumentInfo>, FileError> {
        let old = self.store.document(info, source).map_err(|e| FileError {
            code: "store_error",
            reason: e.to_string(),
        })?;
        match old {
            Some(old) if !options.access.allows_domain(old.metadata.domain.as_deref()) => {
                Err(FileError {
                    code: "document_conflict",
                    reason: format!("`{source}` is taken by a document this key may not replace"),
                })
            }
            old => Ok(old),
        }
    }

    /// Hashes, parses and chunks one file's bytes to be stored as `source`; `name` (its
    /// file name) helps format detection. `Ok(None)` when the stored document has the same
    /// content hash and metadata.
    ///
    /// # Errors
    /// [`FileError`] for the per-file report: unsupported or corrupt format, no text, over
    /// the ingest limits (`[ingest]`), a catalog read failure (`store_error`), another
    /// domain's document (`document_conflict`).
    fn prepare_bytes(
        &self,
        info: &CollectionInfo,
        chunker: &Chunker,
        source: &str,
        name: &str,
        bytes: &[u8],
        options: &IngestOptions,
    ) -> Result<Option<Prepared>, FileError> {
        let hash = content_hash(bytes);
        let existing = self.existing(info, source, options)?;
        if let Some(old) = &existing {
            if old.content_hash == hash && old.metadata == options.metadata {
                return Ok(None);
            }
        }
        let (format, extracted) = parse_with(name, bytes, &self.config.ingest)?;
        let chunks = chunker.chunk(&extracted)?;
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
                metadata: options.metadata.clone(),
            },
            chunks,
            replaces: existing.is_some(),
        }))
    }

    /// Embeds the chunks of `docs` in one batch: one 384-d vector per chunk, in order.
    /// Takes `&self` so a server embeds an upload while searches go on.
    ///
    /// # Errors
    /// [`EngineError::Embed`].
    fn embed_prepared(&self, docs: &[Prepared]) -> Result<Vec<Vec<f32>>, EngineError> {
        let texts: Vec<&str> = docs
            .iter()
            .flat_map(|d| d.chunks.iter().map(|c| c.index_text.as_str()))
            .collect();
        Ok(self.embedder.embed(&texts)?)
    }

    /// Writes one prepared document with its chunk vectors in one catalog transaction and
    /// applies it to both indexes; the caller flushes.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    fn write_embedded(
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
}
