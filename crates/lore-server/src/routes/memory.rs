//! `/v1/memory`: meeting transcripts in, the unified cognitive query out. A key's domain
//! restriction applies to meetings: it ingests, sees and deletes only meetings of its
//! domains (a meeting without a domain needs an unrestricted key).

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use lore_core::memory::Meeting;
use lore_memory::{MeetingHints, MeetingInput, MemoryQuery, MemoryQueryResponse, TranscriptError};
use lore_rag::{ConsolidationReport, MeetingIngest, MeetingStatus, MemoryStats};
use serde::Serialize;

use crate::auth::Principal;
use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::extract::{multipart_error, ApiJson};
use crate::state::{blocking, AppState};

/// A stored meeting as listed.
pub type MeetingSummary = lore_index::memories::MeetingSummary;

fn transcript_error(e: TranscriptError) -> ApiError {
    let code = match e {
        TranscriptError::TooLarge { .. } => ErrorCode::TranscriptTooLarge,
        _ => ErrorCode::InvalidTranscript,
    };
    ApiError::new(code, e.to_string())
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::MeetingNotFound,
        format!("meeting `{id}` not found"),
    )
}

/// Ingest (or replace) a meeting: segmented into episodic memories, clustered, linked.
/// An unchanged meeting (same content hash) is not rewritten.
#[utoipa::path(post, path = "/v1/memory/meetings", tag = "memory",
    request_body = MeetingInput,
    responses(
        (status = 201, description = "Added", body = MeetingIngest),
        (status = 200, description = "Replaced, or unchanged", body = MeetingIngest),
        (status = 400, description = "Empty transcript, a turn without speaker, bad metadata", body = crate::error::ErrorBody),
        (status = 403, description = "The key may not write meetings of this domain", body = crate::error::ErrorBody),
        (status = 413, description = "Too many turns or a turn too long", body = crate::error::ErrorBody),
    ))]
pub async fn ingest(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<MeetingInput>,
) -> Result<(StatusCode, Json<MeetingIngest>), ApiError> {
    let meeting = body.into_meeting().map_err(transcript_error)?;
    store(state, principal, meeting).await
}

/// The multipart form of a transcript upload (for the OpenAPI spec; parsed by hand).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TranscriptForm {
    /// One transcript file: QMSum JSON, lore's meeting JSON, WebVTT (`.vtt`), SubRip
    /// (`.srt`) or `Speaker: text` lines; the format comes from the extension, else the
    /// content.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Meeting id (default: the file name without extension).
    pub id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Series or project (default: from the id, `ES2004a` → `ES2004`).
    pub series: Option<String>,
    /// Domain (access restrictions apply to it).
    pub domain: Option<String>,
}

/// Upload one transcript file (multipart), as `lore memory ingest FILE` does: the same
/// formats, limits and replace-or-no-op rules as `POST /v1/memory/meetings`. Form fields
/// override the metadata the file carries.
#[utoipa::path(post, path = "/v1/memory/transcripts", tag = "memory",
    request_body(content = TranscriptForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Added", body = MeetingIngest),
        (status = 200, description = "Replaced, or unchanged", body = MeetingIngest),
        (status = 400, description = "No file, two files, unknown field, unknown format, empty transcript, a turn without speaker, bad metadata", body = crate::error::ErrorBody),
        (status = 403, description = "The key may not write meetings of this domain", body = crate::error::ErrorBody),
        (status = 413, description = "Body, turn count or a turn over the limit", body = crate::error::ErrorBody),
        (status = 415, description = "Not multipart/form-data", body = crate::error::ErrorBody),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<MeetingIngest>), ApiError> {
    let mut multipart =
        multipart.map_err(|e| ApiError::new(ErrorCode::UnsupportedMediaType, e.body_text()))?;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut hints = MeetingHints::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(file_name) = field.file_name().map(str::to_string) {
            if file.is_some() {
                return Err(ApiError::new(
                    ErrorCode::InvalidMultipart,
                    "one transcript file per request",
                ));
            }
            let bytes = field.bytes().await.map_err(multipart_error)?;
            file = Some((file_name, bytes.to_vec()));
            continue;
        }
        let value = field.text().await.map_err(multipart_error)?;
        let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
        let slot = match name.as_str() {
            "id" => &mut hints.id,
            "title" => &mut hints.title,
            "date" => &mut hints.date,
            "series" => &mut hints.series,
            "domain" => &mut hints.domain,
            other => {
                return Err(ApiError::new(
                    ErrorCode::InvalidMultipart,
                    format!(
                        "unknown form field `{other}`: expected file, id, title, date, series or domain"
                    ),
                ))
            }
        };
        *slot = value;
    }
    let Some((file_name, bytes)) = file else {
        return Err(ApiError::new(
            ErrorCode::InvalidMultipart,
            "no transcript: send it as the form field `file` with a file name",
        ));
    };
    let meeting =
        lore_memory::transcript::parse(&file_name, &bytes, &hints).map_err(transcript_error)?;
    store(state, principal, meeting).await
}

/// Stores a parsed meeting for `principal`: its domain must be one the key may write, and
/// so must the domain of the meeting it replaces.
async fn store(
    state: AppState,
    principal: Arc<Principal>,
    meeting: Meeting,
) -> Result<(StatusCode, Json<MeetingIngest>), ApiError> {
    if !principal
        .access
        .allows_domain(meeting.info.domain.as_deref())
    {
        return Err(ApiError::new(
            ErrorCode::DomainForbidden,
            format!(
                "this API key may not write meetings of domain `{}`",
                meeting.info.domain.as_deref().unwrap_or("(none)")
            ),
        ));
    }
    let id = meeting.info.id.clone();
    let out = blocking(&state, move |inner| {
        let engine = inner.read();
        // Replacing a meeting of a domain the key cannot see would reveal and destroy it.
        if let Some((info, _)) = engine.memory().meeting(&id)? {
            if !principal.access.allows_domain(info.domain.as_deref()) {
                return Err(ApiError::new(
                    ErrorCode::DomainForbidden,
                    format!("meeting `{id}` exists in a domain this API key may not write"),
                ));
            }
        }
        Ok(engine.memory_ingest(meeting)?)
    })
    .await?;
    crate::metrics::memory(&state.memory_stats());
    let status = if out.status == MeetingStatus::Added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out)))
}

/// `GET /v1/memory/meetings` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeetingList {
    /// Meetings by id.
    pub meetings: Vec<MeetingSummary>,
}

/// List the meetings the key may see.
#[utoipa::path(get, path = "/v1/memory/meetings", tag = "memory",
    responses((status = 200, description = "Meetings", body = MeetingList)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<MeetingList>, ApiError> {
    let out = blocking(&state, move |inner| {
        let meetings = inner
            .read()
            .memory()
            .meetings()?
            .into_iter()
            .filter(|m| principal.access.allows_domain(m.info.domain.as_deref()))
            .collect();
        Ok(MeetingList { meetings })
    })
    .await?;
    Ok(Json(out))
}

/// `DELETE` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeetingDeleted {
    /// The meeting.
    pub id: String,
    /// Always true (a missing meeting is a 404).
    pub deleted: bool,
}

/// Delete a meeting with its memories, edges, index entries and cached results.
#[utoipa::path(delete, path = "/v1/memory/meetings/{id}", tag = "memory",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "Deleted", body = MeetingDeleted),
        (status = 404, description = "No such meeting, or one outside the key's domains", body = crate::error::ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<MeetingDeleted>, ApiError> {
    let out = blocking(&state, move |inner| {
        let engine = inner.read();
        match engine.memory().meeting(&id)? {
            Some((info, _)) if principal.access.allows_domain(info.domain.as_deref()) => {}
            _ => return Err(not_found(&id)),
        }
        if !engine.memory_delete(&id)? {
            return Err(not_found(&id));
        }
        Ok(MeetingDeleted { id, deleted: true })
    })
    .await?;
    crate::metrics::memory(&state.memory_stats());
    Ok(Json(out))
}

/// The unified cognitive query: direct hits per level, activated memories with their
/// paths, bridge memories with explanations.
#[utoipa::path(post, path = "/v1/memory/query", tag = "memory",
    request_body = MemoryQuery,
    responses(
        (status = 200, description = "Memories", body = MemoryQueryResponse),
        (status = 400, description = "A field out of range (named in the message)", body = crate::error::ErrorBody),
    ))]
pub async fn query(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<MemoryQuery>,
) -> Result<Json<MemoryQueryResponse>, ApiError> {
    body.validate()
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    let out = blocking(&state, move |inner| {
        Ok(inner.read().memory_query(&body, &principal.access)?)
    })
    .await?;
    if !out.cached {
        crate::metrics::memory_query(&out.stages, out.processing_time_ms);
    }
    Ok(Json(out))
}

/// Consolidate now: importance decay and growth, promotion of recurring episodes into
/// cross-meeting clusters, clean-up of stale ones.
#[utoipa::path(post, path = "/v1/memory/consolidate", tag = "memory",
    responses((status = 200, description = "What changed", body = ConsolidationReport)))]
pub async fn consolidate(
    State(state): State<AppState>,
) -> Result<Json<ConsolidationReport>, ApiError> {
    let out = blocking(&state, move |inner| {
        Ok(inner.read().memory_consolidate(lore_index::now_ms())?)
    })
    .await?;
    crate::metrics::memory(&state.memory_stats());
    Ok(Json(out))
}

/// Memories per level and edges.
#[utoipa::path(get, path = "/v1/memory/stats", tag = "memory",
    responses((status = 200, description = "Counts", body = MemoryStats)))]
pub async fn stats(State(state): State<AppState>) -> Json<MemoryStats> {
    Json(state.memory_stats())
}
