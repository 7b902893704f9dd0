//! API errors: the shape of DESIGN.md §5 on lore's routes, the OpenAI error object on the
//! OpenAI-compatible ones.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lore_index::IndexError;
use lore_rag::EngineError;
use serde::Serialize;

/// The class of an error (`type` in the JSON): user errors apart from lore's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// The request was wrong (4xx).
    InvalidRequest,
    /// Missing or bad credentials.
    Auth,
    /// The collection, document, job or route does not exist.
    NotFound,
    /// Too many requests.
    RateLimited,
    /// A fault of lore itself (5xx).
    Internal,
    /// A dependency (an LLM endpoint) is down or failing.
    Unavailable,
}

/// An API error: HTTP status, stable snake_case code, message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `collection_not_found`.
    pub code: &'static str,
    /// What was wrong, for a person.
    pub message: String,
    /// Class.
    pub kind: ErrorType,
}

/// The JSON body of an error (DESIGN.md §5).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Class of error.
    #[serde(rename = "type")]
    pub kind: ErrorType,
}

impl ApiError {
    /// A 400 `invalid_request`-class error with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            kind: ErrorType::InvalidRequest,
        }
    }

    /// A 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code,
            message: message.into(),
            kind: ErrorType::NotFound,
        }
    }

    /// A 500 whose detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal_error",
            message: "internal error; the server log has the details (see x-request-id)".into(),
            kind: ErrorType::Internal,
        }
    }

    /// With another status (same class).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The OpenAI error object (`{"error": {"message", "type", "param", "code"}}`) for the
    /// OpenAI-compatible routes.
    pub fn openai(self) -> OpenAiError {
        OpenAiError(self)
    }
}

impl ApiError {
    /// The JSON body (DESIGN.md §5), also sent as an SSE `error` event.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                kind: self.kind,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// An [`ApiError`] rendered as OpenAI's error object, so SDKs raise their usual exceptions.
#[derive(Debug)]
pub struct OpenAiError(pub ApiError);

impl From<ApiError> for OpenAiError {
    fn from(e: ApiError) -> Self {
        OpenAiError(e)
    }
}

impl OpenAiError {
    /// OpenAI's error object, also sent as a `data:` line inside a stream.
    pub fn body(&self) -> serde_json::Value {
        let e = &self.0;
        // OpenAI's `type` values (see the API reference's error codes).
        let kind = match e.kind {
            ErrorType::InvalidRequest | ErrorType::NotFound => "invalid_request_error",
            ErrorType::Auth => "authentication_error",
            ErrorType::RateLimited => "rate_limit_error",
            ErrorType::Internal | ErrorType::Unavailable => "server_error",
        };
        serde_json::json!({
            "error": {"message": e.message, "type": kind, "param": null, "code": e.code}
        })
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        (self.0.status, Json(self.body())).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::InvalidRequest(m) => ApiError::bad_request("invalid_request", m),
            e @ EngineError::TopicBlocked { .. } => {
                ApiError::bad_request("topic_blocked", e.to_string())
            }
            EngineError::Index(IndexError::CollectionNotFound(name)) => ApiError::not_found(
                "collection_not_found",
                format!("collection `{name}` not found"),
            ),
            EngineError::Index(e @ IndexError::InvalidCollectionName(_)) => {
                ApiError::bad_request("invalid_collection_name", e.to_string())
            }
            EngineError::Index(e @ IndexError::ModelMismatch { .. }) => {
                ApiError::bad_request("model_mismatch", e.to_string())
                    .with_status(StatusCode::CONFLICT)
            }
            EngineError::Index(e @ IndexError::Dimension { .. }) => {
                ApiError::bad_request("dimension_mismatch", e.to_string())
            }
            EngineError::Llm(e) if e.is_unavailable() => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "generator_unavailable",
                message: e.to_string(),
                kind: ErrorType::Unavailable,
            },
            other => ApiError::internal(other),
        }
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> Self {
        EngineError::from(e).into()
    }
}

impl From<lore_embed::EmbedError> for ApiError {
    fn from(e: lore_embed::EmbedError) -> Self {
        EngineError::from(e).into()
    }
}

impl From<lore_core::FilterError> for ApiError {
    fn from(e: lore_core::FilterError) -> Self {
        ApiError::bad_request("invalid_filter", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_user_or_internal() {
        let e: ApiError = EngineError::Index(IndexError::CollectionNotFound("x".into())).into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.code, "collection_not_found");
        let e: ApiError = EngineError::InvalidRequest("query is empty".into()).into();
        assert_eq!(
            (e.status, e.kind),
            (StatusCode::BAD_REQUEST, ErrorType::InvalidRequest)
        );
        let e: ApiError = EngineError::Index(IndexError::Ann("disk".into())).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !e.message.contains("disk"),
            "internal detail stays in the log"
        );
    }
}
