//! Question routing over HTTP: `POST /v1/route` (classification only, for debugging
//! routes) and `/v1/admin/routes` (the route set: read, replace, versions).

use axum::extract::State;
use axum::{Extension, Json};
use lore_rag::RouteVersion;
use lore_route::{FitSummary, RouteDecision, RouteSpec};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::auth::Principal;
use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::{blocking, AppState};

/// `POST /v1/route` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    /// The question.
    #[serde(alias = "question")]
    pub query: String,
}

/// `POST /v1/route` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteResponse {
    /// The classification; null when no route is defined.
    pub decision: Option<RouteDecision>,
    /// Where the route sends answers (collections, filters, prompt, tier, refusal).
    pub target: Option<RouteTarget>,
    /// Classification time, ms (the query embedding included, from the cache when there).
    pub took_ms: f64,
}

/// A route without its examples.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteTarget {
    /// The route.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Examples it was fitted on.
    pub examples: usize,
    /// Collections it answers from (empty: the request's).
    pub collections: Vec<String>,
    /// Filters it adds, `field=value`.
    pub filters: Vec<String>,
    /// Fields a question may filter on by naming a value (self-query).
    pub self_query: Vec<String>,
    /// Prompt template.
    pub prompt: Option<String>,
    /// Model tier.
    pub tier: Option<String>,
    /// Its refusal, when it refuses.
    pub refusal: Option<String>,
}

impl From<&RouteSpec> for RouteTarget {
    fn from(r: &RouteSpec) -> Self {
        RouteTarget {
            name: r.name.clone(),
            description: r.description.clone(),
            examples: r.examples.len(),
            collections: r.collections.clone(),
            filters: r.filters.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            self_query: r.self_query.clone(),
            prompt: r.prompt.clone(),
            tier: r.tier.clone(),
            refusal: r.refusal.clone(),
        }
    }
}

/// Most characters a question to classify may have.
const MAX_QUERY_CHARS: usize = 4000;

/// Classify a question into a route (or out of scope) without answering it.
#[utoipa::path(post, path = "/v1/route", tag = "query",
    request_body = RouteBody,
    responses(
        (status = 200, description = "The route, its probability and candidates", body = RouteResponse),
        (status = 400, description = "Empty or over-long question", body = crate::error::ErrorBody),
    ))]
pub async fn classify(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<RouteBody>,
) -> Result<Json<RouteResponse>, ApiError> {
    let n = body.query.trim().chars().count();
    if n == 0 || n > MAX_QUERY_CHARS {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("`query` must have 1 to {MAX_QUERY_CHARS} characters, got {n}"),
        ));
    }
    let out = blocking(&state, move |inner| {
        let engine = inner.read();
        let start = std::time::Instant::now();
        let decision = engine.classify_route(&body.query)?;
        let took_ms = start.elapsed().as_secs_f64() * 1e3;
        let router = engine.router();
        let target = decision
            .as_ref()
            .and_then(|d| d.route.as_deref())
            .and_then(|n| router.route(n))
            .map(RouteTarget::from)
            // A scoped key is not told of collections outside its scope.
            .map(|mut t| {
                t.collections
                    .retain(|c| principal.access.allows_collection(c));
                t
            });
        Ok(RouteResponse {
            decision,
            target,
            took_ms,
        })
    })
    .await?;
    Ok(Json(out))
}

/// A route as the caller may use it (`GET /v1/routes`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteEntry {
    /// The route (send it as `route_name` to answer through it).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Prompt template.
    pub prompt: Option<String>,
}

/// `GET /v1/routes` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteEntries {
    /// Route set version (0: none defined).
    pub version: u64,
    /// The routes that answer and whose collections the caller may read.
    pub routes: Vec<RouteEntry>,
}

/// The routes a caller can answer through, as entry points (the web UI's route tabs): the
/// ones that answer (no refusal) from collections all in the caller's scope.
#[utoipa::path(get, path = "/v1/routes", tag = "query",
    responses((status = 200, description = "Routes", body = RouteEntries)))]
pub async fn entries(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<RouteEntries>, ApiError> {
    // The engine lock may be held by a writer: never wait for it on an async thread.
    let router = blocking(&state, |inner| Ok(inner.read().router())).await?;
    let default = &state.0.config.default_collection;
    let routes = router
        .routes()
        .iter()
        .filter(|r| r.refusal.is_none())
        .filter(|r| {
            let mut cs = r.collections.iter();
            if r.collections.is_empty() {
                principal.access.allows_collection(default)
            } else {
                cs.all(|c| principal.access.allows_collection(c))
            }
        })
        .map(|r| RouteEntry {
            name: r.name.clone(),
            description: r.description.clone(),
            prompt: r.prompt.clone(),
        })
        .collect();
    Ok(Json(RouteEntries {
        version: if router.is_active() {
            router.version()
        } else {
            0
        },
        routes,
    }))
}

/// `GET /v1/admin/routes` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoutesView {
    /// Version in use (0: none defined).
    pub version: u64,
    /// The routes (examples as counts).
    pub routes: Vec<RouteTarget>,
    /// Out-of-scope examples fitted on.
    pub out_of_scope_examples: usize,
    /// How the out-of-scope gate was tuned.
    pub fit: Option<FitSummary>,
    /// Stored versions, oldest first: version, time, source, route names.
    pub versions: Vec<VersionInfo>,
}

/// A stored version in brief.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    /// The version.
    pub version: u64,
    /// When it was stored, unix ms.
    pub created_ms: i64,
    /// `settings` or `api`.
    pub source: String,
    /// Its routes' names.
    pub routes: Vec<String>,
}

impl From<&RouteVersion> for VersionInfo {
    fn from(v: &RouteVersion) -> Self {
        VersionInfo {
            version: v.version,
            created_ms: v.created_ms,
            source: v.source.clone(),
            routes: v.set.routes.iter().map(|r| r.name.clone()).collect(),
        }
    }
}

fn view(engine: &lore_rag::Engine) -> Result<RoutesView, ApiError> {
    let router = engine.router();
    Ok(RoutesView {
        version: router.version(),
        routes: router.routes().iter().map(RouteTarget::from).collect(),
        out_of_scope_examples: router.set().out_of_scope_examples.len(),
        fit: router.summary().cloned(),
        versions: engine
            .route_versions()?
            .iter()
            .map(VersionInfo::from)
            .collect(),
    })
}

/// The route set in use and its versions (admin).
#[utoipa::path(get, path = "/v1/admin/routes", tag = "admin",
    responses(
        (status = 200, description = "Routes, the gate's tuning, versions", body = RoutesView),
        (status = 403, description = "Not an admin key, or a scoped one", body = crate::error::ErrorBody),
    ))]
pub async fn get_routes(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<RoutesView>, ApiError> {
    // The route set names every collection and applies to every key.
    principal.require_unscoped_admin()?;
    Ok(Json(
        blocking(&state, move |inner| view(&inner.read())).await?,
    ))
}

/// `PUT /v1/admin/routes` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutesBody {
    /// The new route set (examples inline; `[]` turns routing off).
    pub routes: Vec<RouteSpec>,
}

/// Replace the route set (admin): checked, fitted, stored as the next version and used
/// from the next request, without a restart.
#[utoipa::path(put, path = "/v1/admin/routes", tag = "admin",
    request_body = RoutesBody,
    responses(
        (status = 200, description = "The new set in use", body = RoutesView),
        (status = 400, description = "Invalid routes (the message names the route)", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin key, or a scoped one", body = crate::error::ErrorBody),
    ))]
pub async fn put_routes(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<RoutesBody>,
) -> Result<Json<RoutesView>, ApiError> {
    principal.require_unscoped_admin()?;
    let out = blocking(&state, move |inner| {
        let engine = inner.read();
        engine.set_routes(body.routes)?;
        view(&engine)
    })
    .await?;
    Ok(Json(out))
}
