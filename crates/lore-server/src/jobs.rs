//! Ingest jobs: uploads are parsed, embedded and written by one worker thread, so a big
//! upload never holds a request past its timeout and searches go on meanwhile (embedding
//! runs under the engine's read lock; only each document's write takes the write lock).
//!
//! Jobs live in memory: a restart forgets finished jobs and drops queued ones (their
//! uploads were never acknowledged as stored); every document a job reported as stored
//! is durable in the catalog.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Instant;

use lore_core::Metadata;
use lore_rag::{FileStatus, Prepared};
use serde::Serialize;
use tokio::sync::watch;

use crate::state::Inner;

/// Chunks embedded together (across the files of a job).
const EMBED_BATCH_CHUNKS: usize = 256;
/// Finished jobs kept for status queries (oldest forgotten first).
const KEEP_FINISHED: usize = 1000;

/// State of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for the worker.
    Queued,
    /// Being ingested.
    Running,
    /// Every file has a final status (some may have failed).
    Done,
    /// The job stopped early (store failure, or the server shut down before it ran).
    Failed,
}

/// State of one file of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Not processed yet.
    Pending,
    /// Stored as a new document.
    Added,
    /// Replaced the document of the same name (content changed).
    Updated,
    /// Same content and metadata as stored: nothing done.
    Unchanged,
    /// Not stored; `error` says why.
    Failed,
}

/// One file of a job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobFile {
    /// File name as uploaded.
    pub name: String,
    /// The document's source in the collection: the file name, or `domain/name` for an
    /// upload by a domain-limited key.
    pub source: String,
    /// Size in bytes.
    pub bytes: u64,
    /// What happened to it.
    pub status: FileState,
    /// Chunks written.
    pub chunks: usize,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Stable code of the failure (`unsupported_format`, `corrupt_file`,
    /// `file_too_large`, `file_too_deep`, `parser_failed`, `document_conflict`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

/// An ingest job as reported by the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    /// Job id (for `GET /v1/jobs/{id}`).
    pub id: String,
    /// Target collection.
    pub collection: String,
    /// State.
    pub status: JobState,
    /// Files in upload order.
    pub files: Vec<JobFile>,
    /// Files with a final status.
    pub files_done: usize,
    /// Chunks written so far.
    pub chunks: usize,
    /// Why the job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Time since the job was created, ms.
    pub elapsed_ms: u64,
    /// Id of the key that submitted it (only it, and unscoped admins, may read the job).
    #[serde(skip)]
    pub(crate) owner: Option<String>,
}

impl Job {
    /// Whether the job reached a final state.
    pub fn finished(&self) -> bool {
        matches!(self.status, JobState::Done | JobState::Failed)
    }
}

/// A file to ingest.
pub struct Upload {
    /// Validated file name.
    pub name: String,
    /// The document source it is stored as.
    pub source: String,
    /// Content.
    pub bytes: Vec<u8>,
}

struct Work {
    id: String,
    collection: String,
    metadata: Metadata,
    /// What the submitting key may see: it never replaces a document outside it.
    access: lore_core::Access,
    files: Vec<Upload>,
    created: Instant,
    tx: watch::Sender<Job>,
}

/// Jobs by id, and their ids oldest first (to forget finished ones past
/// [`KEEP_FINISHED`]).
#[derive(Default)]
struct Registry {
    views: HashMap<String, watch::Receiver<Job>>,
    order: std::collections::VecDeque<String>,
}

/// The job registry and its worker.
pub struct Jobs {
    stopping: Arc<AtomicBool>,
    queue: Mutex<Option<mpsc::Sender<Work>>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    registry: Mutex<Registry>,
}

impl Jobs {
    pub(crate) fn start(state: Weak<Inner>) -> Self {
        let (tx, rx) = mpsc::channel::<Work>();
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let worker = std::thread::Builder::new()
            .name("lore-ingest".into())
            .spawn(move || {
                for work in rx {
                    if stop.load(Ordering::SeqCst) {
                        work.tx.send_modify(|j| {
                            j.status = JobState::Failed;
                            j.error = Some("the server shut down before the job ran".into());
                        });
                        continue;
                    }
                    let Some(inner) = state.upgrade() else { break };
                    run(&inner, work);
                }
            })
            .ok();
        Jobs {
            stopping,
            queue: Mutex::new(Some(tx)),
            worker: Mutex::new(worker),
            registry: Mutex::new(Registry::default()),
        }
    }

    /// Queues a job; returns a receiver of its state.
    pub(crate) fn submit(
        &self,
        collection: String,
        metadata: Metadata,
        files: Vec<Upload>,
        principal: &crate::auth::Principal,
    ) -> Option<watch::Receiver<Job>> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let job = Job {
            id: id.clone(),
            collection: collection.clone(),
            status: JobState::Queued,
            files: files
                .iter()
                .map(|f| JobFile {
                    name: f.name.clone(),
                    source: f.source.clone(),
                    bytes: f.bytes.len() as u64,
                    status: FileState::Pending,
                    chunks: 0,
                    error: None,
                    code: None,
                })
                .collect(),
            files_done: 0,
            chunks: 0,
            error: None,
            elapsed_ms: 0,
            owner: principal.key_id.clone(),
        };
        let (tx, rx) = watch::channel(job);
        {
            let mut registry = lock(&self.registry);
            let Registry { views, order } = &mut *registry;
            views.insert(id.clone(), rx.clone());
            order.push_back(id.clone());
            while order.len() > KEEP_FINISHED {
                let Some(old) = order.pop_front() else { break };
                if views.get(&old).is_some_and(|r| r.borrow().finished()) {
                    views.remove(&old);
                } else {
                    order.push_back(old);
                    break;
                }
            }
        }
        let work = Work {
            id,
            collection,
            metadata,
            access: principal.access.clone(),
            files,
            created: Instant::now(),
            tx,
        };
        lock(&self.queue).as_ref()?.send(work).ok()?;
        Some(rx)
    }

    /// The current state of job `id`.
    pub(crate) fn get(&self, id: &str) -> Option<Job> {
        lock(&self.registry)
            .views
            .get(id)
            .map(|r| r.borrow().clone())
    }

    /// Closes the queue and waits for the running job to finish.
    pub(crate) fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        lock(&self.queue).take();
        if let Some(handle) = lock(&self.worker).take() {
            let _ = handle.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Ingests one job: prepare and embed under the read lock, write each document under the
/// write lock, flush the indexes at the end.
fn run(inner: &Inner, work: Work) {
    let Work {
        collection,
        metadata,
        access,
        files,
        created,
        tx,
        id,
    } = work;
    let update = |f: &dyn Fn(&mut Job)| {
        tx.send_modify(|job| {
            f(job);
            job.elapsed_ms = created.elapsed().as_millis() as u64;
        });
    };
    update(&|j| j.status = JobState::Running);
    tracing::info!(job = %id, collection = %collection, files = files.len(), "ingest job started");
    let info = match inner.write().ensure_collection(&collection) {
        Ok(info) => info,
        Err(e) => {
            let msg = e.to_string();
            update(&|j| {
                j.status = JobState::Failed;
                j.error = Some(msg.clone());
            });
            return;
        }
    };
    let mut batch: Vec<(usize, Prepared)> = Vec::new();
    let result = (|| -> Result<(), lore_rag::EngineError> {
        for (i, file) in files.iter().enumerate() {
            let prepared = {
                let engine = inner.read();
                match engine.store_ref().document(&info, &file.source)? {
                    // Only an unrestricted key can have put it there (domain-limited keys
                    // write under their own domain's names); the restricted one may not
                    // replace it.
                    Some(old) if !access.allows_domain(old.metadata.domain.as_deref()) => {
                        Err(lore_rag::FileError {
                            code: "document_conflict",
                            reason: format!(
                                "`{}` is taken by a document this key may not replace",
                                file.source
                            ),
                        })
                    }
                    _ => engine.prepare_bytes(
                        &info,
                        &file.source,
                        &file.name,
                        &file.bytes,
                        &metadata,
                    ),
                }
            };
            match prepared {
                Ok(Some(p)) => batch.push((i, p)),
                Ok(None) => update(&|j| {
                    j.files[i].status = FileState::Unchanged;
                    j.files_done += 1;
                }),
                Err(e) => update(&|j| {
                    j.files[i].status = FileState::Failed;
                    j.files[i].error = Some(e.reason.clone());
                    j.files[i].code = Some(e.code);
                    j.files_done += 1;
                }),
            }
            let pending: usize = batch.iter().map(|(_, p)| p.chunks.len()).sum();
            if pending >= EMBED_BATCH_CHUNKS || i + 1 == files.len() {
                write_batch(inner, &info, std::mem::take(&mut batch), &update)?;
            }
        }
        inner.write().flush()
    })();
    match result {
        Ok(()) => update(&|j| j.status = JobState::Done),
        Err(e) => {
            tracing::error!(job = %id, error = %e, "ingest job failed");
            let msg = e.to_string();
            update(&|j| {
                j.status = JobState::Failed;
                j.error = Some(msg.clone());
            });
        }
    }
    {
        let job = tx.borrow();
        let count = |s: FileState| job.files.iter().filter(|f| f.status == s).count() as u64;
        crate::metrics::ingest(
            count(FileState::Added) + count(FileState::Updated),
            count(FileState::Unchanged),
            count(FileState::Failed),
            job.chunks as u64,
            created.elapsed().as_secs_f64(),
        );
    }
    tracing::info!(job = %id, ms = created.elapsed().as_millis() as u64, "ingest job finished");
}

/// Applies a change to a job's published state.
type Update<'a> = dyn Fn(&dyn Fn(&mut Job)) + 'a;

fn write_batch(
    inner: &Inner,
    info: &lore_index::CollectionInfo,
    batch: Vec<(usize, Prepared)>,
    update: &Update<'_>,
) -> Result<(), lore_rag::EngineError> {
    if batch.is_empty() {
        return Ok(());
    }
    let (indices, docs): (Vec<usize>, Vec<Prepared>) = batch.into_iter().unzip();
    let vectors = inner.read().embed_prepared(&docs)?;
    let mut vectors = vectors.into_iter();
    for (i, doc) in indices.into_iter().zip(docs) {
        let report = inner.write().write_embedded(info, doc, &mut vectors)?;
        let (state, chunks) = match report.status {
            FileStatus::Added { chunks } => (FileState::Added, chunks),
            FileStatus::Updated { chunks } => (FileState::Updated, chunks),
            FileStatus::Unchanged => (FileState::Unchanged, 0),
            FileStatus::Failed { .. } => (FileState::Failed, 0),
        };
        update(&|j| {
            j.files[i].status = state;
            j.files[i].chunks = chunks;
            j.files_done += 1;
            j.chunks += chunks;
        });
    }
    Ok(())
}
