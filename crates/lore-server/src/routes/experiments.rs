//! Feedback on answers, experiment reports and drift of the question mix, all read from
//! the query log.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use lore_index::{DriftReport, ExperimentReport, FeedbackOutcome};
use lore_route::ExperimentSpec;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::{blocking, AppState, Inner};

/// Characters of a feedback comment, at most.
const MAX_COMMENT_CHARS: usize = 2000;

/// A rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    /// Helpful.
    Up,
    /// Not helpful.
    Down,
}

/// `POST /v1/answers/{id}/feedback` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// `up` or `down`.
    pub rating: Rating,
    /// Why, up to 2000 characters (stored PII-masked).
    pub comment: Option<String>,
}

/// `POST /v1/answers/{id}/feedback` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedbackStored {
    /// The answer rated.
    pub answer_id: String,
    /// The rating stored (a later one replaces it).
    pub rating: Rating,
}

fn log_of(inner: &Inner) -> Result<&lore_index::QueryLog, ApiError> {
    inner.query_log.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::AnalyticsDisabled,
            "feedback, experiments and drift live in the query log, which is off ([analytics] enabled = false)",
        )
    })
}

/// Rates an answer (thumbs up or down, with an optional comment): what experiment reports
/// compare arms on. Only the key that received the answer may rate it (an unscoped admin
/// may rate any); a second rating replaces the first.
#[utoipa::path(post, path = "/v1/answers/{id}/feedback", tag = "query",
    params(("id" = String, Path, description = "The answer's `id`")),
    request_body = FeedbackBody,
    responses(
        (status = 200, description = "Stored", body = FeedbackStored),
        (status = 400, description = "Over-long comment", body = crate::error::ErrorBody),
        (status = 422, description = "A rating other than up or down", body = crate::error::ErrorBody),
        (status = 404, description = "No such answer for this key", body = crate::error::ErrorBody),
    ))]
pub async fn feedback(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FeedbackBody>,
) -> Result<Json<FeedbackStored>, ApiError> {
    if body
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("comment is over {MAX_COMMENT_CHARS} characters"),
        ));
    }
    let not_found = || {
        ApiError::new(
            ErrorCode::AnswerNotFound,
            format!(
                "answer `{}` not found",
                id.chars().take(80).collect::<String>()
            ),
        )
    };
    if id.len() > 64 {
        return Err(not_found());
    }
    let rating = body.rating;
    let answer_id = id.clone();
    let outcome = blocking(&state, move |inner| {
        let comment = body
            .comment
            .as_deref()
            .map(|c| inner.log_masker.mask(c).into_owned());
        Ok(log_of(inner)?.feedback(
            &answer_id,
            rating == Rating::Up,
            comment.as_deref(),
            principal.key_id.as_deref(),
            principal.is_unscoped_admin(),
        )?)
    })
    .await?;
    match outcome {
        FeedbackOutcome::Recorded => {
            crate::metrics::feedback(rating == Rating::Up);
            Ok(Json(FeedbackStored {
                answer_id: id,
                rating,
            }))
        }
        // Another key's answer reads as unknown: ids are not confirmed to other keys.
        FeedbackOutcome::NotFound | FeedbackOutcome::NotYours => Err(not_found()),
    }
}

/// `GET /v1/admin/experiments` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExperimentList {
    /// `[[experiments]]` as configured.
    pub experiments: Vec<ExperimentSpec>,
}

/// The experiments configured (`[[experiments]]`; unscoped admin).
#[utoipa::path(get, path = "/v1/admin/experiments", tag = "admin",
    responses((status = 200, description = "Experiments", body = ExperimentList)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<ExperimentList>, ApiError> {
    principal.require_unscoped_admin()?;
    Ok(Json(ExperimentList {
        experiments: state.0.security.experiments.clone(),
    }))
}

/// An experiment's report: per arm the answers, tokens, cost, latency p50/p95, grounding,
/// unanswered rate, feedback rate and share of "up" with 95% Wilson intervals, and the
/// better arm when the difference in "up" shares is significant (two-proportion z-test,
/// p < 0.05). Unscoped admin.
#[utoipa::path(get, path = "/v1/admin/experiments/{id}", tag = "admin",
    params(("id" = String, Path, description = "The experiment's id")),
    responses(
        (status = 200, description = "Report", body = ExperimentReport),
        (status = 404, description = "No such experiment", body = crate::error::ErrorBody),
    ))]
pub async fn report(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<ExperimentReport>, ApiError> {
    principal.require_unscoped_admin()?;
    let configured = state.0.security.experiments.iter().any(|e| e.id == id);
    let report = blocking(&state, move |inner| {
        let conn = log_of(inner)?.connection()?;
        Ok(lore_index::experiment_report(&conn, &id)?)
    })
    .await?;
    if !configured && report.arms.is_empty() {
        return Err(ApiError::new(
            ErrorCode::ExperimentNotFound,
            format!(
                "experiment `{}` not found",
                report.experiment.chars().take(80).collect::<String>()
            ),
        ));
    }
    Ok(Json(report))
}

/// Drift of the routed questions: today against the week before by default
/// (`[analytics.drift]`): population stability index of route shares, cosine shift of the
/// mean query embedding, change of the out-of-scope rate, and the alerts they raise.
/// Unscoped admin.
#[utoipa::path(get, path = "/v1/admin/drift", tag = "admin",
    responses((status = 200, description = "Drift report", body = DriftReport)))]
pub async fn drift(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<DriftReport>, ApiError> {
    principal.require_unscoped_admin()?;
    let report = blocking(&state, drift_now).await?;
    Ok(Json(report))
}

/// The drift report now, its gauges set.
pub(crate) fn drift_now(inner: &Inner) -> Result<DriftReport, ApiError> {
    let conn = log_of(inner)?.connection()?;
    let report =
        lore_index::drift_report(&conn, lore_index::now_ms(), &inner.security.analytics.drift)?;
    crate::metrics::drift(&report);
    Ok(report)
}
