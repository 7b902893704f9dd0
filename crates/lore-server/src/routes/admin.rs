//! `/v1/admin`: API keys, analytics, effective configuration (admin role), and `/metrics`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lore_core::{Access, Rate, Role};
use lore_index::{Analytics, ApiKey, CreatedKey, NewKey};
use serde::{Deserialize, Serialize};

use crate::auth::{now_secs, Principal};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::{blocking, AppState};

/// `POST /v1/admin/keys` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    /// A label for people, e.g. `team-hr` (1-128 characters).
    pub name: String,
    /// reader, writer or admin.
    pub role: Role,
    /// Collections the key may use (default: all).
    pub collections: Option<Vec<String>>,
    /// Domains whose documents the key may see (default: all).
    pub domains: Option<Vec<String>>,
    /// Quota, e.g. `60/min,1000/h` (default: `[rate_limit] per_key`).
    #[schema(value_type = Option<String>, example = "60/min,1000/h")]
    pub rate: Option<Rate>,
    /// Expiry: a duration from now (`30d`, `12h`) or a date/time (`2027-01-31`,
    /// `2027-01-31T18:00:00Z`). Default: never.
    pub expires: Option<String>,
}

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

/// Parses an expiry: a duration from `now` (`30d`, `12h`, `90min`) or an RFC 3339 date or
/// date-time (`2027-01-31`, `2027-01-31T18:00:00Z`); unix seconds.
///
/// # Errors
/// A message naming the text and the accepted forms; a time in the past.
pub fn parse_expiry(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let at = if let Ok(d) = humantime::parse_duration(text) {
        now.saturating_add(d.as_secs() as i64)
    } else {
        let full = if text.len() == 10 {
            format!("{text}T00:00:00Z")
        } else {
            text.to_string()
        };
        let t = humantime::parse_rfc3339_weak(&full).map_err(|_| {
            format!("invalid expiry `{text}`: expected a duration (30d, 12h) or a date (2027-01-31, 2027-01-31T18:00:00Z)")
        })?;
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    };
    if at <= now {
        return Err(format!("expiry `{text}` is not in the future"));
    }
    Ok(at)
}

/// Checks and converts a key request (shared by the API and `lore keys create`).
///
/// # Errors
/// 400 naming the bad field.
pub fn new_key(body: NewKeyBody, now: i64) -> Result<NewKey, ApiError> {
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(ApiError::bad_request(
            "invalid_key_name",
            "name must be 1-128 characters",
        ));
    }
    let list =
        |what: &'static str, v: Option<Vec<String>>| -> Result<Option<Vec<String>>, ApiError> {
            match v {
                None => Ok(None),
                Some(v) if v.is_empty() => Err(ApiError::bad_request(
                    "invalid_access",
                    format!("`{what}` is empty: leave it out for all {what}"),
                )),
                Some(v) if v.iter().any(|s| lore_core::check_label(s).is_err()) => {
                    Err(ApiError::bad_request(
                        "invalid_access",
                        format!("`{what}` has an empty, over-long or invisible-character name"),
                    ))
                }
                Some(v) => Ok(Some(v.into_iter().map(|s| s.trim().to_string()).collect())),
            }
        };
    let expires_at = match body.expires {
        None => None,
        Some(t) => {
            Some(parse_expiry(&t, now).map_err(|m| ApiError::bad_request("invalid_expiry", m))?)
        }
    };
    Ok(NewKey {
        name,
        role: body.role,
        access: Access {
            collections: list("collections", body.collections)?,
            domains: list("domains", body.domains)?,
        },
        rate: body.rate,
        expires_at,
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
        return Err(crate::auth::forbidden(
            "key_scope_exceeded",
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
        return Err(ApiError::not_found(
            "key_not_found",
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
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let days = p.days.unwrap_or(7);
    let top = p.top.unwrap_or(10);
    if !(1..=365).contains(&days) || !(1..=100).contains(&top) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "days must be 1-365 and top 1-100",
        ));
    }
    let out = blocking(&state, move |inner| match &inner.query_log {
        Some(log) => Ok(log.analytics(days, top)?),
        None => Err(ApiError::bad_request(
            "analytics_disabled",
            "analytics are off ([analytics] enabled = false)",
        )),
    })
    .await?;
    Ok(Json(out))
}

/// The effective server settings, secrets redacted (admin).
#[utoipa::path(get, path = "/v1/admin/config", tag = "admin",
    responses((status = 200, description = "Settings as JSON", body = Object)))]
pub async fn config(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    principal.require_unscoped_admin()?;
    let out = blocking(&state, |inner| {
        let engine = inner.read();
        let c = engine.config();
        Ok(serde_json::json!({
            "server": {
                "request_timeout_s": inner.config.request_timeout.as_secs(),
                "max_body_bytes": inner.config.max_body_bytes,
                "default_collection": inner.config.default_collection,
            },
            "security": inner.security,
            "llm": c.llm.redacted(),
            "cache": c.cache.redacted(),
            "guard": c.guard,
        }))
    })
    .await?;
    Ok(Json(out))
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
            return Err(ApiError::not_found(
                "metrics_disabled",
                "metrics are off ([metrics] enabled = false)",
            ));
        };
        let engine = inner.read();
        let store = engine.store_ref();
        let mut collections = Vec::new();
        for c in store.collections()? {
            let (docs, chunks) = store.catalog().counts(c.id)?;
            collections.push((c.name, docs, chunks));
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
