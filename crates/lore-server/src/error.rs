//! API errors: the shape of DESIGN.md §5 on lore's routes, the OpenAI error object on the
//! OpenAI-compatible ones.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lore_index::IndexError;
use lore_rag::EngineError;
use serde::Serialize;

pub use crate::codes::{ErrorCode, ErrorType};

/// An API error: a code of the table ([`ErrorCode`]: HTTP status, class) and a message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status (the code's).
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `collection_not_found`.
    pub code: ErrorCode,
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
    /// An error with `code`'s status and class.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status: code.status(),
            code,
            message: message.into(),
            kind: code.kind(),
        }
    }

    /// The 404 of a collection that does not exist, or that the caller may not see (the
    /// same answer, so a scoped key cannot tell the two apart).
    pub fn collection_not_found(name: &str) -> Self {
        ApiError::new(
            ErrorCode::CollectionNotFound,
            format!("collection `{name}` not found"),
        )
    }

    /// A 500 whose detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            ErrorCode::InternalError,
            "internal error; the server log has the details (see x-request-id)",
        )
    }

    /// A 500 for a setting the server runs with that does not work; the detail is logged
    /// and named to the client (it names a setting, never data).
    pub fn configuration(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "configuration error");
        ApiError::new(
            ErrorCode::ConfigurationError,
            format!("the server's configuration is unusable: {detail}"),
        )
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
                code: self.code.as_str().to_string(),
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
            "error": {"message": e.message, "type": kind, "param": null, "code": e.code.as_str()}
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
            EngineError::InvalidRequest(m) => ApiError::new(ErrorCode::InvalidRequest, m),
            e @ EngineError::TopicBlocked { .. } => {
                ApiError::new(ErrorCode::TopicBlocked, e.to_string())
            }
            EngineError::Index(IndexError::CollectionNotFound(name)) => ApiError::new(
                ErrorCode::CollectionNotFound,
                format!("collection `{name}` not found"),
            ),
            EngineError::Index(e @ IndexError::InvalidCollectionName(_)) => {
                ApiError::new(ErrorCode::InvalidCollectionName, e.to_string())
            }
            EngineError::Index(e @ IndexError::ModelMismatch { .. }) => {
                ApiError::new(ErrorCode::ModelMismatch, e.to_string())
            }
            EngineError::Index(e @ IndexError::Dimension { .. }) => {
                ApiError::new(ErrorCode::DimensionMismatch, e.to_string())
            }
            EngineError::Llm(e) if e.is_unavailable() => {
                ApiError::new(ErrorCode::GeneratorUnavailable, e.to_string())
            }
            EngineError::Config(m) => ApiError::configuration(m),
            EngineError::Routes(
                e @ (lore_route::RouteError::Invalid(_) | lore_route::RouteError::Training(_)),
            ) => ApiError::new(ErrorCode::InvalidRoutes, e.to_string()),
            e @ EngineError::ChunkingMismatch { .. } => {
                ApiError::new(ErrorCode::ChunkingMismatch, e.to_string())
            }
            e @ EngineError::CollectionExists(_) => {
                ApiError::new(ErrorCode::CollectionExists, e.to_string())
            }
            e @ EngineError::DocumentNotFound { .. } => {
                ApiError::new(ErrorCode::DocumentNotFound, e.to_string())
            }
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
        ApiError::new(ErrorCode::InvalidFilter, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_user_or_internal() {
        let e: ApiError = EngineError::Index(IndexError::CollectionNotFound("x".into())).into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.code, ErrorCode::CollectionNotFound);
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
