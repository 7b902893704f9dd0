//! `/health` (liveness) and `/health/detailed` (a probe of each component).

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use lore_embed::Embedder;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::{blocking, AppState};

/// `/health` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// Seconds since start-up.
    pub uptime_s: u64,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        uptime_s: state.0.started.elapsed().as_secs(),
    })
}

/// One component's probe.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Component {
    /// `ok` or `error`.
    pub status: &'static str,
    /// Probe time, ms.
    pub latency_ms: f64,
    /// What was probed, or the error.
    pub detail: String,
}

/// `/health/detailed` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DetailedHealth {
    /// `ok` when every component is, else `degraded`.
    pub status: &'static str,
    /// SQLite catalog: the collections read back.
    pub catalog: Component,
    /// BM25 and vector indexes: every collection's indexes open and equal in size to the
    /// catalog.
    pub indexes: Component,
    /// The embedding model: one short text embedded.
    pub embedding: Component,
    /// The default generator: extractive (always ready), embedded (model file present), or
    /// an OpenAI-compatible endpoint (`GET {base_url}/models` within 2 s).
    pub generator: Component,
    /// Meeting memory: the in-process index holds the meetings the catalog holds.
    pub memory: Component,
}

fn probe(f: impl FnOnce() -> Result<String, String>) -> Component {
    let t = Instant::now();
    let r = f();
    let latency_ms = t.elapsed().as_secs_f64() * 1e3;
    match r {
        Ok(detail) => Component {
            status: "ok",
            latency_ms,
            detail,
        },
        Err(detail) => Component {
            status: "error",
            latency_ms,
            detail,
        },
    }
}

/// Status and probe latency of the catalog, indexes, embedding model, generator and meeting
/// memory; 503
/// when any is failing.
#[utoipa::path(get, path = "/health/detailed", tag = "health",
    responses(
        (status = 200, description = "All components ok", body = DetailedHealth),
        (status = 503, description = "Some component failing", body = DetailedHealth),
    ))]
pub async fn detailed(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<DetailedHealth>), ApiError> {
    let out = blocking(&state, |inner| {
        let engine = inner.read();
        // Counts, not `PRAGMA integrity_check` (a full scan: ~0.9 s on SciFact's catalog;
        // `lore collections verify` runs that).
        let counts = engine.index_counts().map_err(|e| e.to_string());
        let catalog = probe(|| {
            let n = counts.clone()?.len();
            Ok(format!("readable, {n} collections"))
        });
        let indexes = probe(|| {
            let mut chunks = 0;
            for c in counts.clone()? {
                if !c.loaded {
                    return Err(format!("indexes of `{}` are not open", c.collection));
                }
                if c.chunks != c.bm25_docs || c.chunks != c.vectors {
                    return Err(format!(
                        "`{}`: catalog {} chunks, BM25 {}, vectors {}",
                        c.collection, c.chunks, c.bm25_docs, c.vectors
                    ));
                }
                chunks += c.chunks;
            }
            Ok(format!("consistent, {chunks} chunks"))
        });
        let embedding = probe(|| {
            let v = engine
                .embedder()
                .embed(&["health probe"])
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "{}, {} dims",
                engine.embedder().model_id(),
                v.first().map_or(0, Vec::len)
            ))
        });
        let generator = probe(|| engine.probe_generator());
        let memory = probe(|| {
            let stored = engine.memory().meetings().map_err(|e| e.to_string())?.len();
            let s = engine.memory().stats();
            if stored != s.meetings {
                return Err(format!(
                    "catalog holds {stored} meetings, the index {}",
                    s.meetings
                ));
            }
            Ok(format!(
                "{} meetings; {} L2, {} L1, {} L0 memories; {} edges",
                s.meetings, s.episodic, s.semantic, s.concepts, s.edges
            ))
        });
        let ok = [&catalog, &indexes, &embedding, &generator, &memory]
            .iter()
            .all(|c| c.status == "ok");
        Ok(DetailedHealth {
            status: if ok { "ok" } else { "degraded" },
            catalog,
            indexes,
            embedding,
            generator,
            memory,
        })
    })
    .await?;
    let code = if out.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((code, Json(out)))
}
