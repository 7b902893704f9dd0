//! `/v1/cache`: statistics, explicit invalidation (all, collection, document, key) and
//! warm-up. Invalidations apply here, in Redis, and on the other servers sharing it.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::Json;
use lore_cache::Invalidation;
use lore_core::SearchMode;
use lore_rag::{CacheHit, CacheStats, EngineCaches, GeneratorKind};
use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::query::{answer_request, AnswerBody};
use crate::state::{blocking, AppState};

/// Questions one warm-up request may carry (a client sends a long list in batches).
pub const MAX_WARM_QUESTIONS: usize = 100;

/// Per-layer figures: entries, bytes, hits, misses, hit rate, evictions; semantic reuse
/// and rejections; the Redis level's health.
#[utoipa::path(get, path = "/v1/cache/stats", tag = "cache",
    responses((status = 200, description = "Cache figures", body = CacheStats)))]
pub async fn stats(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<std::sync::Arc<crate::auth::Principal>>,
) -> Result<Json<CacheStats>, ApiError> {
    principal.require_unscoped_admin()?;
    let out = blocking(&state, |inner| Ok(inner.read().caches().stats())).await?;
    Ok(Json(out))
}

/// What was invalidated.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Invalidated {
    /// The invalidation applied (here, in Redis, and broadcast to other servers).
    #[schema(value_type = Object)]
    pub invalidated: Invalidation,
}

async fn invalidate(state: &AppState, inv: Invalidation) -> Result<Json<Invalidated>, ApiError> {
    let applied = inv.clone();
    blocking(state, move |inner| {
        inner.read().caches().invalidate(&applied);
        Ok(())
    })
    .await?;
    tracing::info!(invalidation = ?inv, "cache invalidated");
    Ok(Json(Invalidated { invalidated: inv }))
}

/// Empties every layer.
#[utoipa::path(delete, path = "/v1/cache", tag = "cache",
    responses((status = 200, description = "Invalidated", body = Invalidated)))]
pub async fn clear(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<std::sync::Arc<crate::auth::Principal>>,
) -> Result<Json<Invalidated>, ApiError> {
    principal.require_unscoped_admin()?;
    invalidate(&state, Invalidation::All).await
}

/// Drops every retrieval and answer derived from a collection.
#[utoipa::path(delete, path = "/v1/cache/collections/{name}", tag = "cache",
    params(("name" = String, Path, description = "Collection")),
    responses((status = 200, description = "Invalidated", body = Invalidated)))]
pub async fn clear_collection(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<std::sync::Arc<crate::auth::Principal>>,
    Path(name): Path<String>,
) -> Result<Json<Invalidated>, ApiError> {
    principal.check_collection(&name)?;
    let tag = lore_rag::cache::collection_tag(&name);
    invalidate(&state, Invalidation::Tag { tag }).await
}

/// Drops every retrieval and answer that used a document's passages.
#[utoipa::path(delete, path = "/v1/cache/collections/{name}/documents/{id}", tag = "cache",
    params(("name" = String, Path, description = "Collection"),
           ("id" = i64, Path, description = "Document id")),
    responses((status = 200, description = "Invalidated", body = Invalidated),
              (status = 400, description = "The id is not a number", body = crate::error::ErrorBody)))]
pub async fn clear_document(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<std::sync::Arc<crate::auth::Principal>>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Invalidated>, ApiError> {
    principal.check_collection(&name)?;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidId,
            format!("document id `{id}` is not a number"),
        )
    })?;
    let tag = lore_rag::cache::document_tag(&name, id);
    invalidate(&state, Invalidation::Tag { tag }).await
}

/// Drops one entry, by the `cache_key` an answer returned.
#[utoipa::path(delete, path = "/v1/cache/keys/{key}", tag = "cache",
    params(("key" = String, Path, description = "`<layer>:<64 hex digits>`, e.g. an answer's `cache_key`")),
    responses((status = 200, description = "Invalidated", body = Invalidated),
              (status = 400, description = "Not a cache key", body = crate::error::ErrorBody)))]
pub async fn clear_key(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<std::sync::Arc<crate::auth::Principal>>,
    Path(key): Path<String>,
) -> Result<Json<Invalidated>, ApiError> {
    principal.require_unscoped_admin()?;
    let inv = EngineCaches::key_invalidation(&key)
        .map_err(|e| ApiError::new(ErrorCode::InvalidCacheKey, e.to_string()))?;
    invalidate(&state, inv).await
}

/// `POST /v1/cache/warm` body: questions answered now so that users get cached answers.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarmBody {
    /// 1-100 questions.
    pub questions: Vec<String>,
    /// Collection (default: the server's default collection).
    pub collection: Option<String>,
    /// Metadata filters, as in answer.
    #[serde(default)]
    pub filters: Vec<String>,
    /// Passages retrieved (default from `[llm] top_k`).
    pub top_k: Option<usize>,
    /// Retrieval mode (default hybrid).
    #[serde(default)]
    pub mode: SearchMode,
    /// Generator (default from config).
    pub generator: Option<GeneratorKind>,
    /// Prompt template (default from config).
    pub prompt: Option<String>,
}

/// A question that could not be answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WarmFailure {
    /// The question.
    pub question: String,
    /// Why.
    pub error: String,
}

/// Warm-up result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WarmResult {
    /// Questions answered by the generator and cached now.
    pub generated: usize,
    /// Questions whose answer was already cached (exact or semantic).
    pub already_cached: usize,
    /// Questions answered but not cached (fallback answer, no passages, caching off).
    pub not_cached: usize,
    /// Questions that failed.
    pub failed: Vec<WarmFailure>,
    /// Wall time, ms.
    pub total_ms: f64,
}

/// Answers a list of questions so their answers are cached.
#[utoipa::path(post, path = "/v1/cache/warm", tag = "cache",
    request_body = WarmBody,
    responses((status = 200, description = "Warm-up result", body = WarmResult),
              (status = 400, description = "No questions, or over 100", body = crate::error::ErrorBody),
              (status = 404, description = "No such collection", body = crate::error::ErrorBody)))]
pub async fn warm(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<std::sync::Arc<crate::auth::Principal>>,
    ApiJson(body): ApiJson<WarmBody>,
) -> Result<Json<WarmResult>, ApiError> {
    if body.questions.is_empty() || body.questions.len() > MAX_WARM_QUESTIONS {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "`questions` must hold 1 to {MAX_WARM_QUESTIONS} questions, got {}",
                body.questions.len()
            ),
        ));
    }
    let collection = body
        .collection
        .clone()
        .unwrap_or_else(|| state.config().default_collection.clone());
    let template = AnswerBody {
        query: String::new(),
        collection: Some(collection.clone()),
        collections: None,
        filters: body.filters.clone(),
        top_k: body.top_k,
        mode: body.mode,
        generator: body.generator,
        prompt: body.prompt.clone(),
        stream: false,
        max_tokens: None,
        temperature: None,
        stop: Vec::new(),
        source: Default::default(),
        route: false,
        tier: None,
        route_name: None,
        user: None,
    };
    // Entries are keyed by the caller's access: warming fills them for keys with the
    // same access as this one.
    let base = answer_request(collection.clone(), &template, &principal)?;
    let started = Instant::now();
    let out = blocking(&state, move |inner| {
        let mut result = WarmResult {
            generated: 0,
            already_cached: 0,
            not_cached: 0,
            failed: Vec::new(),
            total_ms: 0.0,
        };
        for question in body.questions {
            let mut req = base.clone();
            req.question = question.clone();
            match inner.with_loaded(|e| e.answer_loaded(&req, &mut |_| {})) {
                Ok(a) => match (a.cached, a.cache_key) {
                    (Some(CacheHit::Exact | CacheHit::Semantic), _) => result.already_cached += 1,
                    (None, Some(_)) => result.generated += 1,
                    (None, None) => result.not_cached += 1,
                },
                // An unknown collection fails every question alike: say it once.
                Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => return Err(e),
                Err(e) => result.failed.push(WarmFailure {
                    question,
                    error: e.body().error.message,
                }),
            }
        }
        result.total_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(result)
    })
    .await?;
    Ok(Json(out))
}
