//! `/v1/collections`: create, list, stats, delete.

use std::sync::Arc;

use axum::Extension;

use crate::auth::Principal;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use lore_core::Metadata;
use lore_index::CollectionInfo;
use lore_rag::Engine;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::{blocking, AppState};

/// A collection and its size.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Collection {
    /// Name.
    pub name: String,
    /// Embedding model of its vectors, e.g. `all-MiniLM-L6-v2/f32`.
    pub model: String,
    /// Vector dimension.
    pub dim: usize,
    /// Bumped on every ingest, replace or delete.
    pub version: u64,
    /// Documents stored.
    pub documents: u64,
    /// Chunks stored.
    pub chunks: u64,
    /// Sum of the documents' sizes in bytes.
    pub bytes: u64,
    /// Metadata given to uploads that do not set their own.
    pub defaults: Metadata,
}

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

/// The collection's stats as `principal` may see them: a domain-limited key counts only
/// the documents of its domains.
pub(crate) fn describe(
    engine: &Engine,
    info: &CollectionInfo,
    principal: &Principal,
) -> Result<Collection, ApiError> {
    let catalog = engine.store_ref().catalog();
    let (documents, chunks, bytes) =
        catalog.counts_in(info.id, principal.access.domains.as_deref())?;
    Ok(Collection {
        name: info.name.clone(),
        model: info.model_id.clone(),
        dim: info.dim,
        version: info.version,
        documents,
        chunks,
        bytes,
        defaults: catalog.collection_defaults(info.id)?,
    })
}

/// The answer for a collection that does not exist, or that the caller may not see.
pub(crate) fn not_found(name: &str) -> ApiError {
    ApiError::not_found(
        "collection_not_found",
        format!("collection `{name}` not found"),
    )
}

/// The collection `name` or `collection_not_found`.
pub(crate) fn find(engine: &Engine, name: &str) -> Result<CollectionInfo, ApiError> {
    Ok(engine.store_ref().collection(name)?)
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
        return Err(crate::auth::forbidden(
            "collection_forbidden",
            format!("this API key may not create collection `{}`", body.name),
        ));
    }
    principal.check_whole_collection(&body.name)?;
    let out = blocking(&state, move |inner| {
        let mut engine = inner.write();
        if engine
            .store_ref()
            .catalog()
            .collection(&body.name)?
            .is_some()
        {
            return Err(ApiError::bad_request(
                "collection_exists",
                format!("collection `{}` already exists", body.name),
            )
            .with_status(StatusCode::CONFLICT));
        }
        let info = engine.ensure_collection(&body.name)?;
        if let Some(defaults) = &body.defaults {
            engine.store().set_collection_defaults(&info, defaults)?;
        }
        engine.load(&info.name)?;
        describe(&engine, &info, &principal)
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
        let engine = inner.read();
        let infos = engine.store_ref().collections()?;
        let collections = infos
            .iter()
            .filter(|i| principal.access.allows_collection(&i.name))
            .map(|i| describe(&engine, i, &principal))
            .collect::<Result<_, _>>()?;
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
        let engine = inner.read();
        let info = find(&engine, &name)?;
        describe(&engine, &info, &principal)
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
        let mut engine = inner.write();
        find(&engine, &name)?;
        engine.store().delete_collection(&name)?;
        Ok(())
    })
    .await?;
    Ok(Json(Deleted { deleted: true }))
}
