//! A JSON body extractor whose rejections use lore's error shape (axum's own answer in
//! plain text).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::codes::ErrorCode;
use crate::error::ApiError;

/// `Json<T>` with errors as [`ApiError`]: `unsupported_media_type` (415) without a JSON
/// content type, `payload_too_large` (413) past the body limit, `invalid_json` (400) for
/// malformed JSON, `invalid_body` (422) for wrong types, missing or unknown fields.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Maps axum's JSON rejection to an [`ApiError`].
pub fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected a body with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(ErrorCode::InvalidJson, text),
        JsonRejection::JsonDataError(_) => ApiError::new(ErrorCode::InvalidBody, text),
        JsonRejection::BytesRejection(_) if rejection_is_too_large(&text) => too_large(),
        _ => ApiError::new(ErrorCode::InvalidBody, text),
    }
}

fn rejection_is_too_large(text: &str) -> bool {
    text.contains("length limit") || text.contains("too large")
}

/// The 413 error for a body over the limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        "request body is over the server's limit (server.max_body_bytes)",
    )
}

/// A multipart body that could not be read: 413 over the body limit, else
/// `invalid_multipart` with the parser's reason.
pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::new(ErrorCode::InvalidMultipart, e.body_text())
    }
}
