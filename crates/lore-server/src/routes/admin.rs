//! `/v1/admin`: API keys, analytics, effective configuration (admin role), and `/metrics`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lore_core::Access;
use lore_index::{Analytics, ApiKey, CreatedKey, NewKey};
use serde::{Deserialize, Serialize};

use crate::auth::{now_secs, Principal};
use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::{blocking, AppState};

/// `POST /v1/admin/keys` body (validated by the key store, as `lore keys create` is).
pub type NewKeyBody = lore_index::KeyRequest;

/// `DELETE /v1/admin/keys/{id}` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revoked {
    /// Always true.
    pub revoked: bool,
}

/// `GET /v1/admin/keys` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    /// Every key, newest first (secrets are never shown again).
    pub keys: Vec<ApiKey>,
}

/// Checks and converts a key request.
///
/// # Errors
/// 400 naming the bad field.
fn new_key(body: NewKeyBody, now: i64) -> Result<NewKey, ApiError> {
    body.validate(now).map_err(|e| {
        let code = match e {
            lore_index::KeyRequestError::Name(_) => ErrorCode::InvalidKeyName,
            lore_index::KeyRequestError::Access(_) => ErrorCode::InvalidAccess,
            lore_index::KeyRequestError::Expiry(_) => ErrorCode::InvalidExpiry,
        };
        ApiError::new(code, e.to_string())
    })
}

/// Create an API key (admin). The key is in this response only.
#[utoipa::path(post, path = "/v1/admin/keys", tag = "admin",
    request_body = NewKeyBody,
    responses(
        (status = 201, description = "The key, shown once", body = CreatedKey),
        (status = 400, description = "Bad name, list, rate or expiry", body = crate::error::ErrorBody),
        (status = 401, description = "No or bad key", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin key", body = crate::error::ErrorBody),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<NewKeyBody>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let now = now_secs();
    let mut new = new_key(body, now)?;
    // A key made by a key with a quota or an expiry inherits them unless it asks for less.
    if new.rate.is_none() {
        new.rate = principal.rate;
    }
    if new.expires_at.is_none() {
        new.expires_at = principal.expires_at;
    }
    if !principal.may_manage(new.role, &new.access, new.rate.as_ref(), new.expires_at) {
        return Err(ApiError::new(
            ErrorCode::KeyScopeExceeded,
            "a key may only create keys within its own scope: role, collections and domains no wider, rate no higher, expiry no later",
        ));
    }
    let created = blocking(&state, move |inner| Ok(inner.keys.create(&new, now)?)).await?;
    tracing::info!(key_id = %created.record.id, role = %created.record.role, "API key created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// List API keys (admin); secrets are never shown.
#[utoipa::path(get, path = "/v1/admin/keys", tag = "admin",
    responses((status = 200, description = "Keys", body = KeyList)))]
pub async fn list_keys(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<KeyList>, ApiError> {
    let keys = blocking(&state, |inner| Ok(inner.keys.list()?)).await?;
    let keys = keys
        .into_iter()
        .filter(|k| principal.may_manage(k.role, &k.access, k.rate.as_ref(), k.expires_at))
        .collect();
    Ok(Json(KeyList { keys }))
}

/// Revoke an API key (admin): refused from the next request on.
#[utoipa::path(delete, path = "/v1/admin/keys/{id}", tag = "admin",
    params(("id" = String, Path, description = "Key id (12 hex digits)")),
    responses(
        (status = 200, description = "Revoked", body = Revoked),
        (status = 404, description = "No such key", body = crate::error::ErrorBody),
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    let shown = id.clone();
    let found = blocking(&state, move |inner| {
        // A key outside the caller's scope is answered like a key that does not exist.
        let visible = inner.keys.list()?.into_iter().any(|k| {
            k.id == id && principal.may_manage(k.role, &k.access, k.rate.as_ref(), k.expires_at)
        });
        Ok(visible && inner.keys.revoke(&id, now_secs())?)
    })
    .await?;
    if !found {
        return Err(ApiError::new(
            ErrorCode::KeyNotFound,
            format!("API key `{shown}` not found"),
        ));
    }
    tracing::info!(key_id = %shown, "API key revoked");
    Ok(Json(Revoked { revoked: true }))
}

/// `GET /v1/admin/analytics` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsParams {
    /// Days back from now, 1-365 (default 7).
    pub days: Option<u32>,
    /// Top queries listed, 1-100 (default 10).
    pub top: Option<usize>,
}

/// Queries per collection and domain per day, answer latency percentiles, cache hit
/// rates, unanswered rate, top queries (admin), from the catalog's query log.
#[utoipa::path(get, path = "/v1/admin/analytics", tag = "admin",
    params(AnalyticsParams),
    responses(
        (status = 200, description = "Analytics", body = Analytics),
        (status = 400, description = "days or top out of range", body = crate::error::ErrorBody),
    ))]
pub async fn analytics(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    params: Result<Query<AnalyticsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Analytics>, ApiError> {
    principal.require_unscoped_admin()?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    let days = p.days.unwrap_or(7);
    let top = p.top.unwrap_or(10);
    if !(1..=365).contains(&days) || !(1..=100).contains(&top) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "days must be 1-365 and top 1-100",
        ));
    }
    let out = blocking(&state, move |inner| match &inner.query_log {
        Some(log) => Ok(log.analytics(days, top)?),
        None => Err(ApiError::new(
            ErrorCode::AnalyticsDisabled,
            "analytics are off ([analytics] enabled = false)",
        )),
    })
    .await?;
    Ok(Json(out))
}

/// The effective settings, each with its origin (default, file, env, flag), secrets
/// redacted: `{"llm.top_k": {"value": 5, "origin": "default"}, …}` (unscoped admin).
#[utoipa::path(get, path = "/v1/admin/config", tag = "admin",
    responses((status = 200, description = "Settings as JSON", body = Object)))]
pub async fn config(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    principal.require_unscoped_admin()?;
    Ok(Json(state.0.config.shown.clone()))
}

/// Prometheus metrics (text format 0.0.4). Needs an admin key unless
/// `[auth] public_metrics = true`.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Metrics", content_type = "text/plain")))]
pub async fn metrics(
    State(state): State<AppState>,
    principal: Option<Extension<Arc<Principal>>>,
) -> Result<Response, ApiError> {
    // Public metrics (no key) are the operator's choice; a scoped admin key sees none.
    if let Some(Extension(p)) = &principal {
        if !state.0.security.auth.public_metrics {
            p.require_unscoped_admin()?;
        }
    }
    let text = blocking(&state, |inner| {
        let Some(handle) = &inner.metrics else {
            return Err(ApiError::new(
                ErrorCode::MetricsDisabled,
                "metrics are off ([metrics] enabled = false)",
            ));
        };
        let engine = inner.read();
        let collections: Vec<_> = engine
            .collections(&Access::all())?
            .into_iter()
            .map(|c| (c.name, c.documents, c.chunks))
            .collect();
        // Drift is computed at most once a minute: its queries read a week of the log.
        let due = {
            let mut last = inner
                .drift_checked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(60));
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        if due && inner.query_log.is_some() {
            if let Err(e) = crate::routes::experiments::drift_now(inner) {
                tracing::warn!(error = %e.message, "drift gauges not updated");
            }
        }
        crate::metrics::snapshot(
            &engine.caches().stats(),
            inner.limiter.redis_stats().as_ref(),
            &collections,
            inner.generations.waiting(),
            inner.started.elapsed().as_secs_f64(),
        );
        Ok(handle.render())
    })
    .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
