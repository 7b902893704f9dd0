//! Shared server state: the engine behind a read-write lock, the ingest job queue, settings.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use lore_index::IndexError;
use lore_rag::{Engine, EngineError};

use lore_index::{KeyStore, QueryLog};

use crate::config::SecurityConfig;
use crate::error::ApiError;
use crate::jobs::Jobs;
use crate::limits::{Generations, Limiter};

/// Settings of `lore serve`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free one).
    pub bind: std::net::SocketAddr,
    /// Longest time to produce a response's headers (a streamed body may run on).
    pub request_timeout: Duration,
    /// Largest request body in bytes (uploads included).
    pub max_body_bytes: usize,
    /// How long an upload request waits for its ingest job before answering 202 with the
    /// job to poll.
    pub upload_wait: Duration,
    /// Collection used when a request names none (and by the `lore` model id).
    pub default_collection: String,
    /// Auth, rate limits, CORS, logs, analytics, prices.
    pub security: SecurityConfig,
    /// Every effective setting with its origin, secrets redacted (`GET /v1/admin/config`,
    /// as `lore config show --json`).
    pub shown: serde_json::Value,
}

impl ServerConfig {
    /// The server's part of the resolved settings.
    pub fn from_resolved(resolved: &lore_settings::Resolved) -> Self {
        let settings = &resolved.settings;
        let server = &settings.server;
        ServerConfig {
            bind: server.bind,
            request_timeout: server.request_timeout.max(Duration::from_millis(1)),
            max_body_bytes: server.max_body_mb.max(1) * 1024 * 1024,
            upload_wait: server.upload_wait,
            default_collection: server.default_collection.clone(),
            security: settings.clone(),
            shown: resolved.show_json(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig::from_resolved(&lore_settings::Resolved {
            settings: lore_settings::Settings::default(),
            origins: Default::default(),
            file: None,
        })
    }
}

/// State shared by all handlers (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    engine: Arc<RwLock<Engine>>,
    pub(crate) jobs: Jobs,
    pub(crate) config: ServerConfig,
    /// `config.security`, for short.
    pub(crate) security: SecurityConfig,
    pub(crate) started: Instant,
    /// API keys (own catalog connection).
    pub(crate) keys: KeyStore,
    pub(crate) limiter: Limiter,
    pub(crate) generations: Generations,
    /// The query log (`None` with `[analytics] enabled = false`).
    pub(crate) query_log: Option<QueryLog>,
    /// Masks PII in query-log rows: every built-in kind and the configured patterns.
    pub(crate) log_masker: lore_rag::guard::Masker,
    /// Renders `/metrics` (`None` if another metrics recorder was installed first).
    pub(crate) metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// When `/metrics` last computed the drift gauges.
    pub(crate) drift_checked: std::sync::Mutex<Option<Instant>>,
}

impl AppState {
    /// Wraps an opened engine, opening the indexes of every collection so the first
    /// queries do not pay for it, opens the key store and the query log, and starts the
    /// ingest worker.
    ///
    /// # Errors
    /// Store errors while opening indexes, the key table or the query log.
    pub fn new(mut engine: Engine, config: ServerConfig) -> Result<Self, EngineError> {
        let names = engine.collection_names(&lore_core::Access::all())?;
        for name in &names {
            engine.load(name)?;
        }
        let catalog = engine.config().data_dir.join("catalog.sqlite");
        let keys = KeyStore::open(&catalog)?;
        let job_store = lore_index::JobStore::open(&catalog)?;
        let security = config.security.clone();
        let query_log = if security.analytics.enabled {
            Some(QueryLog::open(&catalog, security.analytics.retention)?)
        } else {
            None
        };
        // Rate limits get their own Redis pool: its outages are counted apart from the
        // cache's, and a busy cache cannot starve them of connections.
        let redis = engine.config().cache.redis.clone();
        let shared = match redis.url {
            Some(_) => Some(
                lore_cache::Shared::open(&redis)
                    .map_err(|e| EngineError::Config(format!("[cache.redis] {e}")))?,
            ),
            None => None,
        };
        let limiter = Limiter::new(security.rate_limit.clone(), shared);
        let log_masker = lore_rag::guard::Masker::new(
            &lore_rag::guard::PiiKind::ALL,
            &engine.config().guard.patterns,
        )
        .map_err(|e| EngineError::Config(format!("[guard] {e}")))?;
        let generations = Generations::new(
            security.rate_limit.max_concurrent_generations,
            security.rate_limit.max_queued_generations,
        );
        let metrics = if security.metrics.enabled {
            crate::metrics::install()
        } else {
            None
        };
        let engine = Arc::new(RwLock::new(engine));
        let inner = Arc::new(Inner {
            jobs: Jobs::start(engine.clone(), job_store),
            engine,
            config,
            security,
            started: Instant::now(),
            keys,
            limiter,
            generations,
            query_log,
            log_masker,
            metrics,
            drift_checked: std::sync::Mutex::new(None),
        });
        inner.jobs.resume();
        Ok(AppState(inner))
    }

    /// Settings.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// Stops the ingest worker after its current job (queued jobs stay in the catalog and
    /// resume at the next start) and waits,
    /// then writes the queued query-log rows.
    pub fn shutdown(&self) {
        self.0.jobs.shutdown();
        if let Some(log) = &self.0.query_log {
            log.close();
        }
    }

    /// How often serve mode consolidates the meeting memory (zero: never).
    pub fn memory_consolidate_every(&self) -> std::time::Duration {
        self.0.read().memory().config().consolidate_every
    }

    /// Consolidates the meeting memory now (logged; an error is logged, not raised).
    pub fn consolidate_memory(&self) {
        match self.0.read().memory_consolidate(lore_index::now_ms()) {
            Ok(r) => {
                tracing::info!(
                    promoted = r.promoted,
                    removed = r.removed,
                    updated = r.importance_updated,
                    ms = r.elapsed_ms,
                    "memory consolidated"
                );
                crate::metrics::memory(&self.memory_stats());
            }
            Err(e) => tracing::warn!(error = %e, "memory consolidation failed"),
        }
    }

    /// Meeting-memory counts.
    pub fn memory_stats(&self) -> lore_rag::MemoryStats {
        self.0.read().memory().stats()
    }

    /// The API keys.
    pub fn keys(&self) -> &KeyStore {
        &self.0.keys
    }

    /// Drains the metrics exporter's pending histogram samples into its buckets (every
    /// few seconds).
    pub fn run_upkeep(&self) {
        if let Some(m) = &self.0.metrics {
            m.run_upkeep();
        }
    }

    /// Forgets rate-limit state of clients idle for an hour (call now and then).
    pub fn forget_idle_clients(&self) {
        self.0.limiter.forget_idle();
    }
}

impl Inner {
    /// The engine for reading (search, answer, listings). A panic in another request
    /// does not poison the server: the engine's writes are transactional.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Engine> {
        self.engine.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The engine for writing (documents, collections, loading indexes).
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Engine> {
        self.engine.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` at once on the calling (async) thread if the read lock is free: for cache
    /// lookups of tens of microseconds, cheaper than a hop to a blocking thread. `Ok(None)`
    /// when a writer holds the lock, the collection's indexes are not open yet, or `f`
    /// found nothing; the caller then takes the blocking path.
    pub(crate) fn try_now<T>(
        &self,
        f: impl FnOnce(&Engine) -> Result<Option<T>, EngineError>,
    ) -> Result<Option<T>, ApiError> {
        let Ok(engine) = self.engine.try_read() else {
            return Ok(None);
        };
        match f(&engine) {
            Err(EngineError::Index(IndexError::NotLoaded(_))) => Ok(None),
            other => Ok(other?),
        }
    }

    /// Runs `f` under the read lock, first opening `collection`'s indexes under the write
    /// lock if no one has yet (a collection created since start-up).
    pub(crate) fn with_loaded<T>(
        &self,
        f: impl Fn(&Engine) -> Result<T, EngineError>,
    ) -> Result<T, ApiError> {
        // Each round loads the collection the engine named as not loaded (a search over
        // several collections may name each once); a bound keeps a bug from looping.
        for _ in 0..MAX_LOAD_ROUNDS {
            match f(&self.read()) {
                Err(EngineError::Index(IndexError::NotLoaded(name))) => {
                    self.write().load(&name)?;
                }
                other => return Ok(other?),
            }
        }
        Ok(f(&self.read())?)
    }
}

/// Collections one request may load (a multi-collection search names at most 10).
const MAX_LOAD_ROUNDS: usize = 16;

/// Runs blocking engine work off the async workers.
pub(crate) async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Inner) -> Result<T, ApiError> + Send + 'static,
{
    let inner = state.0.clone();
    tokio::task::spawn_blocking(move || f(&inner))
        .await
        .map_err(ApiError::internal)?
}
