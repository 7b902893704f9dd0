//! `/v1/collections`: create, list, stats, delete.

use std::sync::Arc;

use axum::Extension;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use lore_core::Metadata;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::{blocking, AppState};

/// A collection and its size (the engine's summary).
pub type Collection = lore_rag::CollectionSummary;

/// `POST /v1/collections` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollection {
    /// 1-64 letters, digits, `-`, `_` or `.`.
    pub name: String,
    /// Metadata defaults for its documents (domain, department, doc_type, tags).
    #[serde(default)]
    pub defaults: Option<Metadata>,
}

/// Create a collection.
#[utoipa::path(post, path = "/v1/collections", tag = "collections",
    request_body = CreateCollection,
    responses(
        (status = 201, description = "Created", body = Collection),
        (status = 400, description = "Invalid name or body", body = crate::error::ErrorBody),
        (status = 409, description = "A collection with this name exists", body = crate::error::ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<CreateCollection>,
) -> Result<(StatusCode, Json<Collection>), ApiError> {
    // Naming a collection to create reveals nothing stored: refuse it plainly.
    if !principal.access.allows_collection(&body.name) {
        return Err(ApiError::new(
            ErrorCode::CollectionForbidden,
            format!("this API key may not create collection `{}`", body.name),
        ));
    }
    principal.check_whole_collection(&body.name)?;
    let out = blocking(&state, move |inner| {
        Ok(inner
            .write()
            .create_collection(&body.name, body.defaults.as_ref())?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /v1/collections` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionList {
    /// Collections by name.
    pub collections: Vec<Collection>,
}

/// List collections with their sizes.
#[utoipa::path(get, path = "/v1/collections", tag = "collections",
    responses((status = 200, description = "Collections", body = CollectionList)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<CollectionList>, ApiError> {
    let out = blocking(&state, move |inner| {
        let collections = inner.read().collections(&principal.access)?;
        Ok(CollectionList { collections })
    })
    .await?;
    Ok(Json(out))
}

/// A collection's stats.
#[utoipa::path(get, path = "/v1/collections/{name}", tag = "collections",
    params(("name" = String, Path, description = "Collection name")),
    responses(
        (status = 200, description = "Stats", body = Collection),
        (status = 404, description = "No such collection", body = crate::error::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(name): Path<String>,
) -> Result<Json<Collection>, ApiError> {
    principal.check_collection(&name)?;
    let out = blocking(&state, move |inner| {
        Ok(inner.read().collection(&name, &principal.access)?)
    })
    .await?;
    Ok(Json(out))
}

/// `DELETE` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deleted {
    /// Always true (a missing target is a 404).
    pub deleted: bool,
}

/// Delete a collection with its documents and indexes.
#[utoipa::path(delete, path = "/v1/collections/{name}", tag = "collections",
    params(("name" = String, Path, description = "Collection name")),
    responses(
        (status = 200, description = "Deleted", body = Deleted),
        (status = 404, description = "No such collection", body = crate::error::ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(name): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    principal.check_whole_collection(&name)?;
    blocking(&state, move |inner| {
        Ok(inner.write().delete_collection(&name)?)
    })
    .await?;
    Ok(Json(Deleted { deleted: true }))
}
