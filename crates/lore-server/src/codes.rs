//! Every error code of the HTTP API, in one table: its HTTP status, class and meaning.
//!
//! `docs/errors.md` and the OpenAPI description's `ErrorDetail.code` enum are rendered
//! from [`ErrorCode::ALL`] (a test compares both with the files). A new error is a new
//! row here; handlers name it as `ErrorCode::Xyz`, so a typo does not compile.

use axum::http::StatusCode;

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

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $kind:ident, $doc:literal;)*) => {
        /// A stable, machine-readable API error code (`error.code` in every error body).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The snake_case code sent to clients.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status it is sent with.
            pub fn status(self) -> StatusCode {
                let n: u16 = match self { $(ErrorCode::$variant => $status,)* };
                StatusCode::from_u16(n).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            /// Its class (`error.type`).
            pub fn kind(self) -> ErrorType {
                match self { $(ErrorCode::$variant => ErrorType::$kind,)* }
            }

            /// One line on what it means and what to do.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $doc,)* }
            }
        }
    };
}

error_codes! {
    // The request itself.
    InvalidRequest = "invalid_request", 400, InvalidRequest, "The request is malformed: an empty query or question, a value out of range, fields that contradict each other.";
    InvalidJson = "invalid_json", 400, InvalidRequest, "The body is not valid JSON.";
    InvalidBody = "invalid_body", 422, InvalidRequest, "The JSON is well formed, but a field is missing, unknown or of the wrong type.";
    InvalidQuery = "invalid_query", 400, InvalidRequest, "The query string is malformed (a parameter of the wrong type or out of range).";
    InvalidMultipart = "invalid_multipart", 400, InvalidRequest, "The multipart upload body could not be read.";
    InvalidFilter = "invalid_filter", 400, InvalidRequest, "A metadata filter is not `key=value` with a known key (domain, department, doc_type, tag, source).";
    TooManyFilters = "too_many_filters", 400, InvalidRequest, "More metadata filters than a request may carry.";
    InvalidCollectionName = "invalid_collection_name", 400, InvalidRequest, "A collection name must be 1-64 letters, digits, `-`, `_` or `.`, not starting with `-`, and not reserved.";
    DuplicateCollection = "duplicate_collection", 400, InvalidRequest, "A collection is named twice in `collections`.";
    InvalidId = "invalid_id", 400, InvalidRequest, "A document id in the path is not a number.";
    InvalidCacheKey = "invalid_cache_key", 400, InvalidRequest, "The cache key is not one lore returned (`cache_key` of an answer).";
    InvalidInput = "invalid_input", 400, InvalidRequest, "An embeddings input is empty, or there are too many inputs.";
    InputTooLong = "input_too_long", 400, InvalidRequest, "An embeddings input is longer than lore accepts.";
    UnsupportedInput = "unsupported_input", 400, InvalidRequest, "Token-id inputs are not supported: send text.";
    InvalidEncodingFormat = "invalid_encoding_format", 400, InvalidRequest, "`encoding_format` must be `float` or `base64`.";
    InvalidDimensions = "invalid_dimensions", 400, InvalidRequest, "`dimensions` differs from the embedding model's (384).";
    UnsupportedParameter = "unsupported_parameter", 400, InvalidRequest, "A chat-completions parameter lore does not support was set (README lists them).";
    EmptyFile = "empty_file", 400, InvalidRequest, "An uploaded file has no bytes.";
    DuplicateFileName = "duplicate_file_name", 400, InvalidRequest, "Two files of one upload have the same name.";
    TooManyFiles = "too_many_files", 400, InvalidRequest, "An upload holds more files than one job takes.";
    InvalidMetadata = "invalid_metadata", 400, InvalidRequest, "A metadata field of an upload is invalid (bad label, too many tags).";
    InvalidFile = "invalid_file", 400, InvalidRequest, "A file part of the upload could not be read.";
    UnknownField = "unknown_field", 400, InvalidRequest, "The upload has a form field lore does not know.";
    NoFiles = "no_files", 400, InvalidRequest, "The upload holds no file.";
    InvalidFileName = "invalid_file_name", 400, InvalidRequest, "A file name is empty, too long, or has control characters or path separators.";
    InvalidKeyName = "invalid_key_name", 400, InvalidRequest, "A key name is empty, too long or has control characters.";
    InvalidAccess = "invalid_access", 400, InvalidRequest, "A key's collections or domains list is invalid.";
    InvalidRoutes = "invalid_routes", 400, InvalidRequest, "A route set is invalid (name, examples, filter field, size) or cannot be fitted.";
    InvalidExpiry = "invalid_expiry", 400, InvalidRequest, "An expiry is neither a duration (`30d`, `12h`) nor a future date (`2027-01-31`).";
    TopicBlocked = "topic_blocked", 400, InvalidRequest, "The question touches a topic blocked for this collection (`[guard.blocked_topics]`).";
    InvalidTranscript = "invalid_transcript", 400, InvalidRequest, "A transcript is empty, in an unknown format, has a turn without a speaker, or bad metadata (id, date).";
    TranscriptTooLarge = "transcript_too_large", 413, InvalidRequest, "A transcript has more turns, or a longer turn or speaker name, than lore accepts.";
    DimensionMismatch = "dimension_mismatch", 400, InvalidRequest, "A vector's dimension differs from the collection's.";
    ClientGone = "client_gone", 400, InvalidRequest, "The client disconnected before the work finished (logged only).";
    UnsupportedMediaType = "unsupported_media_type", 415, InvalidRequest, "The Content-Type is not the one the route takes (`application/json`, `multipart/form-data`).";
    PayloadTooLarge = "payload_too_large", 413, InvalidRequest, "The body is over `server.max_body_mb`.";
    MethodNotAllowed = "method_not_allowed", 405, InvalidRequest, "The route exists, but not with this method.";
    // Conflicts.
    CollectionExists = "collection_exists", 409, InvalidRequest, "A collection with this name exists.";
    ModelMismatch = "model_mismatch", 409, InvalidRequest, "The collection was built with another embedding model.";
    ChunkingMismatch = "chunking_mismatch", 409, InvalidRequest, "The run asks for another chunking than the collection records; re-chunk it explicitly (`--rechunk`).";
    // Not found (also what a key sees for things outside its scope).
    CollectionNotFound = "collection_not_found", 404, NotFound, "No such collection, or one outside the key's scope.";
    DocumentNotFound = "document_not_found", 404, NotFound, "No such document in the collection, or one of a domain outside the key's scope.";
    MeetingNotFound = "meeting_not_found", 404, NotFound, "No such meeting, or one of a domain outside the key's scope.";
    JobNotFound = "job_not_found", 404, NotFound, "No such ingest job, or another key's.";
    KeyNotFound = "key_not_found", 404, NotFound, "No such API key, or one outside the caller's scope.";
    ModelNotFound = "model_not_found", 404, NotFound, "No such model id (`lore`, `lore/<collection>`), or a collection outside the key's scope.";
    RouteNotFound = "route_not_found", 404, NotFound, "No such route (see /openapi.json).";
    NotFound = "not_found", 404, NotFound, "The path does not name anything (a malformed path parameter).";
    AnswerNotFound = "answer_not_found", 404, NotFound, "No answer with this id served to the caller's key (or older than `[analytics] retention`).";
    ExperimentNotFound = "experiment_not_found", 404, NotFound, "No experiment with this id in `[[experiments]]` or the query log.";
    AnalyticsDisabled = "analytics_disabled", 404, NotFound, "Analytics are off (`[analytics] enabled = false`).";
    MetricsDisabled = "metrics_disabled", 404, NotFound, "Metrics are off (`[metrics] enabled = false`).";
    // Credentials and scope.
    MissingApiKey = "missing_api_key", 401, Auth, "The route needs `Authorization: Bearer <key>` (create one with `lore keys create`).";
    InvalidApiKey = "invalid_api_key", 401, Auth, "The key is malformed or unknown.";
    RevokedApiKey = "revoked_api_key", 401, Auth, "The key was revoked.";
    ExpiredApiKey = "expired_api_key", 401, Auth, "The key has expired.";
    InsufficientRole = "insufficient_role", 403, Auth, "The route needs a higher role (reader < writer < admin).";
    UnscopedAdminRequired = "unscoped_admin_required", 403, Auth, "The route shows or changes data of every collection: it needs an admin key without collection or domain restrictions.";
    DomainForbidden = "domain_forbidden", 403, Auth, "The key may not use documents of this domain, or whole collections.";
    CollectionForbidden = "collection_forbidden", 403, Auth, "The key may not create a collection outside its list.";
    KeyScopeExceeded = "key_scope_exceeded", 403, Auth, "A key may only create, list or revoke keys within its own scope.";
    // Load.
    RateLimited = "rate_limited", 429, RateLimited, "A quota of the key or the client IP is spent; `Retry-After` says when to retry.";
    TooManyGenerations = "too_many_generations", 429, RateLimited, "The answer queue is full (`rate_limit.max_queued_generations`).";
    // The server and what it depends on.
    RequestTimeout = "request_timeout", 504, Unavailable, "No response within `server.request_timeout`; for long uploads poll the job.";
    GeneratorUnavailable = "generator_unavailable", 503, Unavailable, "The LLM endpoint is unreachable or failing, and the extractive fallback is off.";
    IngestUnavailable = "ingest_unavailable", 503, Unavailable, "The ingest worker is not running (the server is shutting down).";
    ConfigurationError = "configuration_error", 500, Internal, "A setting the server runs with is unusable (a bad prompt template, pattern or URL); the log names it.";
    InternalError = "internal_error", 500, Internal, "A fault of lore; the log has the details under the request's `x-request-id`.";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `docs/errors.md`: the table rendered as Markdown.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         Generated from `crates/lore-server/src/codes.rs` (`cargo test -p lore-server` fails when \
         this file differs; `LORE_UPDATE_DOCS=1 cargo test -p lore-server codes` rewrites it).\n\n\
         Every error body is `{\"error\": {\"code\", \"message\", \"type\"}}` (OpenAI's error object on \
         `/v1/chat/completions`, `/v1/models` and `/v1/embeddings`, with the same `code`).\n\n\
         | code | HTTP | type | meaning |\n|---|---|---|---|\n",
    );
    for c in ErrorCode::ALL {
        let kind = serde_json::to_value(c.kind())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.as_str(),
            c.status().as_u16(),
            kind,
            c.description().replace('|', "\\|")
        ));
    }
    out.push_str(
        "\n## Per-file ingest codes\n\n\
         A file of an upload or an ingest run that is not stored carries one of these in \
         `files[].code` (jobs) or the CLI report; the other files go on.\n\n\
         | code | meaning |\n|---|---|\n",
    );
    for (code, meaning) in lore_rag::FILE_ERROR_CODES {
        out.push_str(&format!("| `{code}` | {meaning} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_classed_by_status() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{s}"
            );
            let status = c.status();
            assert!(status.is_client_error() || status.is_server_error(), "{s}");
            match c.kind() {
                ErrorType::Internal | ErrorType::Unavailable => {
                    assert!(status.is_server_error(), "{s}")
                }
                _ => assert!(status.is_client_error(), "{s}"),
            }
        }
    }

    #[test]
    fn docs_errors_md_matches_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
        let want = markdown();
        if std::env::var_os("LORE_UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/errors.md is stale: run LORE_UPDATE_DOCS=1 cargo test -p lore-server codes"
        );
    }
}
