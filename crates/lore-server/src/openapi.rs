//! The OpenAPI 3.1 description of the API, generated from the Rust types with utoipa.
//! `docs/openapi.json` in the repository is this document; a test fails when they differ
//! (regenerate with `lore openapi > docs/openapi.json`).

use axum::Json;
use utoipa::OpenApi;

use crate::routes::{admin, cache, collections, documents, health, openai, query};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lore",
        description = "Retrieval-augmented generation server: collections and documents, hybrid search, cited answers (JSON or Server-Sent Events), OpenAI-compatible chat completions and embeddings. Errors: `{\"error\": {\"code\", \"message\", \"type\"}}` (OpenAI's error object on the OpenAI-compatible routes)."
    ),
    paths(
        collections::create, collections::list, collections::get, collections::delete,
        documents::upload, documents::list, documents::get, documents::delete, documents::job,
        query::search, query::answer,
        cache::stats, cache::clear, cache::clear_collection, cache::clear_document,
        cache::clear_key, cache::warm,
        openai::chat_completions, openai::models, openai::embeddings,
        admin::create_key, admin::list_keys, admin::revoke_key, admin::analytics,
        admin::config, admin::metrics,
        health::health, health::detailed,
    ),
    modifiers(&BearerKeys),
    security(("api_key" = [])),
    components(schemas(
        crate::error::ErrorBody, crate::error::ErrorDetail, crate::error::ErrorType,
        query::RetrievalEvent, query::TokenEvent, query::CitationsEvent,
    )),
    tags(
        (name = "collections", description = "Create, list, inspect and delete collections"),
        (name = "documents", description = "Upload (ingest jobs), list, get and delete documents"),
        (name = "query", description = "Search and answer"),
        (name = "cache", description = "Cache statistics, invalidation and warm-up"),
        (name = "openai", description = "OpenAI-compatible endpoints"),
        (name = "admin", description = "API keys, analytics and settings (admin keys only)"),
        (name = "health", description = "Liveness and component checks"),
    )
)]
pub struct ApiDoc;

/// Declares the `api_key` scheme: `Authorization: Bearer lore_sk_…` (also accepted as
/// `X-API-Key`). `/health`, `/`, `/docs` and `/openapi.json` need none.
struct BearerKeys;

impl utoipa::Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `lore keys create` or POST /v1/admin/keys",
                    ))
                    .build(),
            ),
        );
    }
}

/// The spec as pretty JSON (what `docs/openapi.json` holds).
pub fn spec_pretty() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// `GET /openapi.json`.
pub async fn spec_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CI's check that the committed spec is the generated one.
    #[test]
    fn committed_spec_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let generated = spec_pretty() + "\n";
        if std::env::var_os("LORE_UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).expect("write docs/openapi.json");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is stale: run `LORE_UPDATE_OPENAPI=1 cargo test -p lore-server openapi` or `lore openapi > docs/openapi.json`"
        );
    }
}
