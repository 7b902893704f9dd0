//! `/v1/collections/{name}/documents` and `/v1/jobs/{id}`: upload, list, get, delete.

use std::sync::Arc;

use axum::Extension;

use crate::auth::Principal;
use crate::codes::ErrorCode;
use std::time::Duration;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use lore_core::Metadata;
use lore_index::DocumentInfo;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::multipart_error;
use crate::jobs::{Job, JobState, Upload};
use crate::routes::collections::Deleted;
use crate::state::{blocking, AppState};
use lore_rag::DocumentRef;

/// Files per upload request.
pub const MAX_FILES: usize = 1000;
/// Documents per page at most.
pub const MAX_PAGE: u64 = 1000;

/// Paging of `GET .../documents`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Documents to skip (default 0).
    #[serde(default)]
    pub offset: u64,
    /// Documents to return, 1-1000 (default 100).
    pub limit: Option<u64>,
}

/// One page of documents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentPage {
    /// Documents ordered by source.
    pub documents: Vec<DocumentInfo>,
    /// Documents in the collection.
    pub total: u64,
    /// As requested.
    pub offset: u64,
    /// As applied.
    pub limit: u64,
}

/// Upload options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// How long to wait for the ingest job before answering 202 with the job to poll, ms
    /// (default: the server's `upload_wait`, at most its request timeout).
    pub wait_ms: Option<u64>,
}

/// The multipart form of an upload (for the OpenAPI spec; parsed by hand).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One or more files (any part with a file name is a file).
    #[schema(value_type = Vec<String>, format = Binary)]
    pub file: Vec<Vec<u8>>,
    /// Knowledge domain of every file in the request, e.g. `hr`.
    pub domain: Option<String>,
    /// Owning department.
    pub department: Option<String>,
    /// Kind of document, e.g. `policy`.
    pub doc_type: Option<String>,
    /// Comma-separated tags.
    pub tags: Option<String>,
}

/// Upload documents (multipart, many files per request) into a collection. The files are
/// validated (names, empty files) before anything is stored, then ingested by a job; the
/// response is the job, finished (200) or still running (202, poll `GET /v1/jobs/{id}`).
/// Per-file status and errors (unsupported or corrupt formats) are in `files`.
#[utoipa::path(post, path = "/v1/collections/{name}/documents", tag = "documents",
    params(("name" = String, Path, description = "Collection name"), UploadParams),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Ingested", body = Job),
        (status = 202, description = "Still ingesting: poll the job", body = Job),
        (status = 400, description = "No files, empty file, bad file name, unknown field", body = crate::error::ErrorBody),
        (status = 404, description = "No such collection", body = crate::error::ErrorBody),
        (status = 413, description = "Body over the limit", body = crate::error::ErrorBody),
        (status = 415, description = "Not multipart/form-data", body = crate::error::ErrorBody),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(name): Path<String>,
    Query(params): Query<UploadParams>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    principal.check_collection(&name)?;
    let lookup = name.clone();
    let defaults = blocking(&state, move |inner| {
        Ok(inner.read().collection_defaults(&lookup)?)
    })
    .await?;
    let mut multipart =
        multipart.map_err(|e| ApiError::new(ErrorCode::UnsupportedMediaType, e.body_text()))?;
    let mut files: Vec<Upload> = Vec::new();
    let mut meta = Metadata::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let field_name = field.name().unwrap_or_default().to_string();
        if let Some(file_name) = field.file_name().map(str::to_string) {
            validate_file_name(&file_name)?;
            let bytes = field.bytes().await.map_err(multipart_error)?;
            if bytes.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::EmptyFile,
                    format!("file `{file_name}` is empty"),
                ));
            }
            if files.iter().any(|f| f.name == file_name) {
                return Err(ApiError::new(
                    ErrorCode::DuplicateFileName,
                    format!("file `{file_name}` appears twice in the request"),
                ));
            }
            if files.len() == MAX_FILES {
                return Err(ApiError::new(
                    ErrorCode::TooManyFiles,
                    format!("at most {MAX_FILES} files per request"),
                ));
            }
            files.push(Upload {
                source: file_name.clone(),
                name: file_name,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let value = field.text().await.map_err(multipart_error)?;
        let value = value.trim().to_string();
        let labels: Vec<&str> = if matches!(field_name.as_str(), "tags" | "tag") {
            value
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        } else {
            vec![value.as_str()]
        };
        for label in labels.into_iter().filter(|l| !l.is_empty()) {
            lore_core::check_label(label).map_err(|why| {
                ApiError::new(
                    ErrorCode::InvalidMetadata,
                    format!("form field `{field_name}` {why}"),
                )
            })?;
        }
        let set = |v: String| (!v.is_empty()).then_some(v);
        match field_name.as_str() {
            "domain" => meta.domain = set(value),
            "department" => meta.department = set(value),
            "doc_type" => meta.doc_type = set(value),
            "tags" | "tag" => meta.tags.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
            ),
            "file" | "files" => {
                return Err(ApiError::new(ErrorCode::InvalidFile,
                    format!("form field `{field_name}` has no file name: send it as a file part"),
                ))
            }
            other => {
                return Err(ApiError::new(ErrorCode::UnknownField,
                    format!("unknown form field `{other}`: expected file, domain, department, doc_type or tags"),
                ))
            }
        }
    }
    if files.is_empty() {
        return Err(ApiError::new(
            ErrorCode::NoFiles,
            "the request holds no file parts",
        ));
    }
    let mut metadata = merge_defaults(meta, defaults);
    // A key limited to one domain files its uploads there; with several it must say which.
    if let (None, Some([only])) = (&metadata.domain, principal.access.domains.as_deref()) {
        metadata.domain = Some(only.clone());
    }
    principal.check_domain(metadata.domain.as_deref())?;
    // A domain-limited key writes under its domain's own names (`hr/policy.md`): it can
    // never replace a document of another domain, and whether a file name exists there
    // changes nothing in its answer.
    if let (Some(_), Some(domain)) = (&principal.access.domains, &metadata.domain) {
        for f in &mut files {
            f.source = format!("{domain}/{}", f.name);
        }
    }
    let mut rx = state
        .0
        .jobs
        .submit(
            name,
            metadata,
            files,
            principal.key_id.clone(),
            principal.access.clone(),
        )
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::IngestUnavailable,
                "the ingest worker is not running",
            )
        })?;
    let cap = state
        .config()
        .request_timeout
        .saturating_sub(Duration::from_secs(1));
    let wait = params
        .wait_ms
        .map(Duration::from_millis)
        .unwrap_or(state.config().upload_wait)
        .min(cap);
    let finished = matches!(
        tokio::time::timeout(wait, rx.wait_for(Job::finished)).await,
        Ok(Ok(_))
    );
    let job = rx.borrow().clone();
    let status = if finished {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(job)))
}

/// A file name becomes the document's source: one plain name, no path.
fn validate_file_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.trim().is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::InvalidFileName,
            format!("invalid file name {name:?}: send a plain name without a path (no `/`, `\\`, `..` or control characters)"),
        ))
    }
}

/// Request metadata over the collection's defaults, field by field; tags merged.
fn merge_defaults(meta: Metadata, defaults: Metadata) -> Metadata {
    let mut tags = defaults.tags;
    for t in meta.tags {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    Metadata {
        domain: meta.domain.or(defaults.domain),
        department: meta.department.or(defaults.department),
        doc_type: meta.doc_type.or(defaults.doc_type),
        tags,
    }
}

/// Paging and filter of `GET /v1/jobs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    /// Only jobs in this state.
    pub status: Option<JobState>,
    /// Jobs to skip (default 0).
    #[serde(default)]
    pub offset: u64,
    /// Jobs to return, 1-1000 (default 100).
    pub limit: Option<u64>,
}

/// One page of jobs, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    /// Jobs, newest first.
    pub jobs: Vec<Job>,
    /// Jobs matching the filter.
    pub total: u64,
    /// As requested.
    pub offset: u64,
    /// As applied.
    pub limit: u64,
}

/// The caller's ingest jobs (every job for an unscoped admin), newest first; they are
/// kept in the catalog across restarts.
#[utoipa::path(get, path = "/v1/jobs", tag = "documents",
    params(JobsQuery),
    responses(
        (status = 200, description = "A page of jobs", body = JobPage),
        (status = 400, description = "Bad paging or status", body = crate::error::ErrorBody),
    ))]
pub async fn jobs(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    query: Result<Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("limit must be 1-{MAX_PAGE}"),
        ));
    }
    let out = blocking(&state, move |inner| {
        let owner = if principal.is_unscoped_admin() {
            None
        } else {
            Some(principal.key_id.as_deref())
        };
        let (jobs, total) = inner
            .jobs
            .list(owner, q.status, limit as usize, q.offset as usize)?;
        Ok(JobPage {
            jobs,
            total,
            offset: q.offset,
            limit,
        })
    })
    .await?;
    Ok(Json(out))
}

/// An ingest job's progress and per-file results.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "documents",
    params(("id" = String, Path, description = "Job id from an upload")),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 404, description = "No such job, or another key's", body = crate::error::ErrorBody),
    ))]
pub async fn job(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    // Another key's job reads like a job that does not exist (unscoped admins see all).
    state
        .0
        .jobs
        .get(&id)
        .filter(|j| principal.is_unscoped_admin() || j.owner == principal.key_id)
        .map(Json)
        .ok_or_else(|| ApiError::new(ErrorCode::JobNotFound, format!("job `{id}` not found")))
}

/// List a collection's documents, paged.
#[utoipa::path(get, path = "/v1/collections/{name}/documents", tag = "documents",
    params(("name" = String, Path, description = "Collection name"), Page),
    responses(
        (status = 200, description = "A page", body = DocumentPage),
        (status = 400, description = "Bad paging", body = crate::error::ErrorBody),
        (status = 404, description = "No such collection", body = crate::error::ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(name): Path<String>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DocumentPage>, ApiError> {
    principal.check_collection(&name)?;
    let Query(page) = page.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    let limit = page.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("limit must be between 1 and {MAX_PAGE}, got {limit}"),
        ));
    }
    let offset = page.offset;
    let out = blocking(&state, move |inner| {
        let (docs, total) = inner
            .read()
            .documents_page(&name, &principal.access, offset, limit)?;
        Ok(DocumentPage {
            documents: docs,
            total,
            offset,
            limit,
        })
    })
    .await?;
    Ok(Json(out))
}

/// A document's metadata and size.
#[utoipa::path(get, path = "/v1/collections/{name}/documents/{id}", tag = "documents",
    params(("name" = String, Path, description = "Collection name"), ("id" = String, Path, description = "Document id (a number), or its source (URL-encoded; `./123` for a source that is a number)")),
    responses(
        (status = 200, description = "The document", body = DocumentInfo),
        (status = 404, description = "No such collection or document", body = crate::error::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<DocumentInfo>, ApiError> {
    principal.check_collection(&name)?;
    let out = blocking(&state, move |inner| {
        let doc = DocumentRef::parse(&id);
        Ok(inner.read().document(&name, &doc, &principal.access)?)
    })
    .await?;
    Ok(Json(out))
}

/// Delete a document (catalog and both indexes).
#[utoipa::path(delete, path = "/v1/collections/{name}/documents/{id}", tag = "documents",
    params(("name" = String, Path, description = "Collection name"), ("id" = String, Path, description = "Document id (a number), or its source (URL-encoded; `./123` for a source that is a number)")),
    responses(
        (status = 200, description = "Deleted", body = Deleted),
        (status = 404, description = "No such collection or document", body = crate::error::ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Deleted>, ApiError> {
    principal.check_collection(&name)?;
    blocking(&state, move |inner| {
        let doc = DocumentRef::parse(&id);
        inner
            .write()
            .delete_document(&name, &doc, &principal.access)?;
        Ok(())
    })
    .await?;
    Ok(Json(Deleted { deleted: true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_without_paths_only() {
        for bad in ["../etc/passwd", "a/b.txt", "..", "a\\b", "x\u{0}y", " ", ""] {
            assert!(validate_file_name(bad).is_err(), "{bad:?}");
        }
        for good in ["report.pdf", "notes v2.md", "..hidden.txt"] {
            assert!(validate_file_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn request_metadata_overrides_defaults_and_tags_merge() {
        let defaults = Metadata {
            domain: Some("hr".into()),
            doc_type: Some("policy".into()),
            tags: vec!["a".into()],
            ..Default::default()
        };
        let req = Metadata {
            domain: Some("legal".into()),
            tags: vec!["b".into(), "a".into()],
            ..Default::default()
        };
        let m = merge_defaults(req, defaults);
        assert_eq!(m.domain.as_deref(), Some("legal"));
        assert_eq!(m.doc_type.as_deref(), Some("policy"));
        assert_eq!(m.tags, vec!["a".to_string(), "b".to_string()]);
    }
}
