//! Ingest jobs: uploads are parsed, embedded and written by one worker thread running the
//! engine's pipeline ([`lore_rag::run_ingest`]), so a big upload never holds a request past
//! its timeout and searches go on meanwhile (preparing and embedding run under the
//! engine's read lock; only each document's commit takes the write lock).
//!
//! Jobs are kept in the catalog ([`lore_index::JobStore`]) with their files' bytes until
//! they end: after a restart, a job that was queued or running resumes with the files it
//! had not finished (a stored file is never ingested twice: the content hash makes it
//! `unchanged`), and finished jobs can still be read and listed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use lore_core::{Access, Metadata};
use lore_index::{JobFileRow, JobQuery, JobRow, JobStore};
use lore_rag::{Engine, FileStatus, IngestEvent, IngestItem, IngestOptions};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// Finished jobs kept in the catalog (older ones are deleted at start-up).
const KEEP_FINISHED: usize = 1000;

/// State of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub code: Option<String>,
}

/// An ingest job as reported by the API.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Time from the job's creation to its last change, ms.
    pub elapsed_ms: u64,
    /// When it was created, unix ms.
    #[serde(default)]
    pub created_ms: i64,
    /// Times it was resumed after a restart.
    #[serde(default)]
    pub resumed: u32,
    /// Id of the key that submitted it (only it, and unscoped admins, may read the job).
    #[serde(skip)]
    pub(crate) owner: Option<String>,
}

impl Job {
    /// Whether the job reached a final state.
    pub fn finished(&self) -> bool {
        matches!(self.status, JobState::Done | JobState::Failed)
    }

    fn status_str(&self) -> &'static str {
        self.status.as_str()
    }
}

impl JobState {
    /// The name stored in the catalog and sent in JSON.
    fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
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

/// What a run needs besides the files, kept with the job for a resumed run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobInput {
    metadata: Metadata,
    /// What the submitting key may see: it never replaces a document outside it.
    access: Access,
}

struct Work {
    id: String,
    collection: String,
    input: JobInput,
    /// The files still to ingest, with their position in the job.
    files: Vec<(usize, Upload)>,
    created: Instant,
    tx: watch::Sender<Job>,
}

/// What the API and the worker share: the job store and the jobs in flight.
struct Shared {
    store: JobStore,
    /// Jobs queued or running in this process (finished ones are read from the store).
    live: Mutex<HashMap<String, watch::Receiver<Job>>>,
}

impl Shared {
    /// Writes a job's state to the catalog.
    fn persist(&self, job: &Job) {
        let state = serde_json::to_string(job).unwrap_or_default();
        if let Err(e) = self.store.update(&job.id, job.status_str(), &state) {
            tracing::error!(job = %job.id, error = %e, "recording the job failed");
        }
    }
}

/// The job store, the jobs in flight and the worker.
pub struct Jobs {
    shared: Arc<Shared>,
    stopping: Arc<AtomicBool>,
    queue: Mutex<Option<mpsc::Sender<Work>>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Jobs {
    /// Starts the worker on `engine`; call [`Jobs::resume`] to queue what a previous
    /// process left unfinished.
    pub(crate) fn start(engine: Arc<RwLock<Engine>>, store: JobStore) -> Self {
        if let Err(e) = store.prune(KEEP_FINISHED) {
            tracing::warn!(error = %e, "pruning old jobs failed");
        }
        let shared = Arc::new(Shared {
            store,
            live: Mutex::new(HashMap::new()),
        });
        let (tx, rx) = mpsc::channel::<Work>();
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("lore-ingest".into())
            .spawn(move || {
                for work in rx {
                    // Left queued in the catalog: the next start resumes it.
                    if stop.load(Ordering::SeqCst) {
                        continue;
                    }
                    run(&engine, &worker_shared, work);
                }
            })
            .ok();
        Jobs {
            shared,
            stopping,
            queue: Mutex::new(Some(tx)),
            worker: Mutex::new(worker),
        }
    }

    /// Queues again every job a previous process left queued or running: its files not
    /// finished run again; a job whose files cannot be read back ends as failed, naming
    /// them. Called once the server state exists.
    pub(crate) fn resume(&self) {
        let rows = match self.shared.store.unfinished() {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "reading unfinished jobs failed");
                return;
            }
        };
        for row in rows {
            let (mut job, input) = match (
                serde_json::from_str::<Job>(&row.state),
                serde_json::from_str::<JobInput>(&row.input),
            ) {
                (Ok(mut job), Ok(input)) => {
                    job.owner = row.owner.clone();
                    (job, input)
                }
                _ => {
                    tracing::error!(job = %row.id, "unreadable job record; marked failed");
                    let _ = self.shared.store.update(&row.id, "failed", &row.state);
                    continue;
                }
            };
            let kept: HashMap<usize, JobFileRow> = self
                .shared
                .store
                .files(&row.id)
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.index, f))
                .collect();
            job.status = JobState::Queued;
            job.resumed += 1;
            let mut files = Vec::new();
            for (i, f) in job.files.iter_mut().enumerate() {
                if f.status != FileState::Pending {
                    continue;
                }
                match kept.get(&i) {
                    Some(k) => files.push((
                        i,
                        Upload {
                            name: k.name.clone(),
                            source: k.source.clone(),
                            bytes: k.bytes.clone(),
                        },
                    )),
                    None => {
                        f.status = FileState::Failed;
                        f.code = Some("unreadable_file".into());
                        f.error =
                            Some("not stored: the upload's bytes were lost in a restart".into());
                        job.files_done += 1;
                    }
                }
            }
            tracing::info!(job = %row.id, files = files.len(), "resuming ingest job");
            if files.is_empty() {
                job.status = if job.files.iter().any(|f| f.status == FileState::Failed) {
                    JobState::Failed
                } else {
                    JobState::Done
                };
                self.shared.persist(&job);
                continue;
            }
            self.shared.persist(&job);
            self.enqueue(job, input, files, Instant::now());
        }
    }

    /// Stores and queues a job; returns a receiver of its state, `None` when the worker is
    /// gone or the catalog refused the job.
    pub(crate) fn submit(
        &self,
        collection: String,
        metadata: Metadata,
        files: Vec<Upload>,
        owner: Option<String>,
        access: Access,
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
            created_ms: lore_index::now_ms(),
            resumed: 0,
            owner,
        };
        let input = JobInput { metadata, access };
        let row = JobRow {
            id: id.clone(),
            collection,
            owner: job.owner.clone(),
            status: job.status_str().into(),
            created_ms: job.created_ms,
            input: serde_json::to_string(&input).ok()?,
            state: serde_json::to_string(&job).ok()?,
        };
        let file_rows: Vec<JobFileRow> = files
            .iter()
            .enumerate()
            .map(|(index, f)| JobFileRow {
                index,
                name: f.name.clone(),
                source: f.source.clone(),
                bytes: f.bytes.clone(),
            })
            .collect();
        if let Err(e) = self.shared.store.insert(&row, &file_rows) {
            tracing::error!(error = %e, "storing an ingest job failed");
            return None;
        }
        let files = files.into_iter().enumerate().collect();
        self.enqueue(job, input, files, Instant::now())
    }

    fn enqueue(
        &self,
        job: Job,
        input: JobInput,
        files: Vec<(usize, Upload)>,
        created: Instant,
    ) -> Option<watch::Receiver<Job>> {
        let id = job.id.clone();
        let collection = job.collection.clone();
        let (tx, rx) = watch::channel(job);
        lock(&self.shared.live).insert(id.clone(), rx.clone());
        let work = Work {
            id,
            collection,
            input,
            files,
            created,
            tx,
        };
        lock(&self.queue).as_ref()?.send(work).ok()?;
        Some(rx)
    }

    /// Job `id`: its live state while this process runs it, else as stored.
    pub(crate) fn get(&self, id: &str) -> Option<Job> {
        if let Some(rx) = lock(&self.shared.live).get(id) {
            return Some(rx.borrow().clone());
        }
        let row = self.shared.store.get(id).ok()??;
        job_of(&row)
    }

    /// Jobs newest first: only `owner`'s when given (`Some(None)`: jobs made without a
    /// key), in `status` when given; and how many match.
    ///
    /// # Errors
    /// Catalog errors.
    pub(crate) fn list(
        &self,
        owner: Option<Option<&str>>,
        status: Option<JobState>,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Job>, u64), lore_index::IndexError> {
        let status = status.map(JobState::as_str);
        let (rows, total) = self.shared.store.list(&JobQuery {
            owner,
            status,
            limit,
            offset,
        })?;
        let jobs = rows
            .iter()
            .filter_map(|r| match lock(&self.shared.live).get(&r.id) {
                Some(rx) => Some(rx.borrow().clone()),
                None => job_of(r),
            })
            .collect();
        Ok((jobs, total))
    }

    /// Stops taking jobs and waits for the running one; queued jobs stay queued in the
    /// catalog and resume at the next start.
    pub(crate) fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        lock(&self.queue).take();
        if let Some(handle) = lock(&self.worker).take() {
            let _ = handle.join();
        }
    }
}

fn job_of(row: &JobRow) -> Option<Job> {
    let mut job: Job = serde_json::from_str(&row.state).ok()?;
    job.owner = row.owner.clone();
    Some(job)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs one job through the engine's pipeline, publishing and recording each file's
/// outcome.
fn run(engine: &RwLock<Engine>, jobs: &Shared, work: Work) {
    let Work {
        collection,
        input,
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
        jobs.persist(&tx.borrow());
    };
    update(&|j| j.status = JobState::Running);
    tracing::info!(job = %id, collection = %collection, files = files.len(), "ingest job started");
    let positions: Vec<usize> = files.iter().map(|(i, _)| *i).collect();
    let items = files
        .into_iter()
        .map(|(_, f)| IngestItem::Bytes {
            source: f.source,
            name: f.name,
            bytes: f.bytes,
        })
        .collect();
    let options = IngestOptions {
        metadata: input.metadata,
        access: input.access,
        ..IngestOptions::default()
    };
    let result = lore_rag::run_ingest(engine, &collection, items, &options, &mut |e| {
        if let IngestEvent::File { index, report } = e {
            let i = positions.get(index).copied().unwrap_or(index);
            let (state, chunks, failure) = match report.status {
                FileStatus::Added { chunks } => (FileState::Added, chunks, None),
                FileStatus::Updated { chunks } => (FileState::Updated, chunks, None),
                FileStatus::Unchanged => (FileState::Unchanged, 0, None),
                FileStatus::Failed { code, reason } => (FileState::Failed, 0, Some((code, reason))),
            };
            update(&|j| {
                if let Some(f) = j.files.get_mut(i) {
                    f.status = state;
                    f.chunks = chunks;
                    if let Some((code, reason)) = &failure {
                        f.code = Some(code.to_string());
                        f.error = Some(reason.clone());
                    }
                }
                j.files_done += 1;
                j.chunks += chunks;
            });
        }
    });
    match result {
        Ok(_) => update(&|j| j.status = JobState::Done),
        Err(e) => {
            tracing::error!(job = %id, error = %e, "ingest job failed");
            let msg = e.to_string();
            update(&|j| {
                j.status = JobState::Failed;
                j.error = Some(msg.clone());
            });
        }
    }
    lock(&jobs.live).remove(&id);
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
