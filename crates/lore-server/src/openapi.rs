//! The OpenAPI 3.1 description of the API, generated from the Rust types with utoipa.
//! `docs/openapi.json` in the repository is this document; a test fails when they differ
//! (regenerate with `lore openapi > docs/openapi.json`).

use axum::Json;
use utoipa::OpenApi;

use crate::routes::{
    admin, cache, classify, collections, documents, experiments, health, memory, openai, query,
};

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
        documents::jobs,
        query::search, query::answer, classify::classify, classify::entries,
        experiments::feedback,
        memory::ingest, memory::upload, memory::list, memory::delete, memory::query, memory::consolidate,
        memory::stats,
        cache::stats, cache::clear, cache::clear_collection, cache::clear_document,
        cache::clear_key, cache::warm,
        openai::chat_completions, openai::models, openai::embeddings,
        admin::create_key, admin::list_keys, admin::revoke_key, admin::analytics,
        admin::config, admin::metrics, classify::get_routes, classify::put_routes,
        experiments::list, experiments::report, experiments::drift,
        health::health, health::detailed,
    ),
    modifiers(&BearerKeys, &ErrorCodes),
    security(("api_key" = [])),
    components(schemas(
        crate::error::ErrorBody, crate::error::ErrorDetail, crate::error::ErrorType,
        query::RetrievalEvent, query::TokenEvent, query::CitationsEvent,
    )),
    tags(
        (name = "collections", description = "Create, list, inspect and delete collections"),
        (name = "documents", description = "Upload (ingest jobs), list, get and delete documents"),
        (name = "query", description = "Search and answer"),
        (name = "memory", description = "Meeting memory: transcripts in, cognitive queries (direct hits by level, activation, bridges) out"),
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

/// Lists every [`ErrorCode`](crate::codes::ErrorCode) as the enum of `ErrorDetail.code`,
/// so clients generated from the spec know them.
struct ErrorCodes;

impl utoipa::Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Object, Schema, Type};
        use utoipa::openapi::RefOr;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::Object(detail))) = components.schemas.get_mut("ErrorDetail")
        else {
            return;
        };
        let codes: Vec<&str> = crate::codes::ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .collect();
        let mut code = Object::with_type(Type::String);
        code.enum_values = Some(codes.into_iter().map(serde_json::Value::from).collect());
        code.description = Some("Stable snake_case code (docs/errors.md).".into());
        detail
            .properties
            .insert("code".into(), RefOr::T(Schema::Object(code)));
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

    /// Every operation of the spec is a registered route with a declared caller, and
    /// every registered route but the web UI's is in the spec.
    #[test]
    fn every_route_declares_its_caller_and_the_spec_lists_them_all() {
        use std::collections::BTreeSet;
        let (_, table) = crate::routes().build();
        let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut in_spec = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let m: axum::http::Method = method.to_uppercase().parse().unwrap();
                assert!(
                    table.allow(&m, path).is_some(),
                    "{m} {path} is in the spec but has no route with a declared caller"
                );
                in_spec.insert((m.to_string(), path.clone()));
            }
        }
        let undocumented = ["/", "/meetings", "/docs", "/openapi.json", "/assets/{file}"];
        for d in table.declared() {
            if undocumented.contains(&d.path) {
                assert_eq!(d.allow, crate::routing::Allow::Public, "{}", d.path);
                continue;
            }
            assert!(
                in_spec.contains(&(d.method.to_string(), d.path.to_string())),
                "{} {} is served but missing from the spec",
                d.method,
                d.path
            );
        }
        // Writes need at least a writer; the admin area and caches an admin.
        for d in table.declared() {
            let role = d.allow.role(false);
            if d.path.starts_with("/v1/admin") || d.path.starts_with("/v1/cache") {
                assert_eq!(
                    role,
                    Some(lore_core::Role::Admin),
                    "{} {}",
                    d.method,
                    d.path
                );
            }
            let reads_only = [
                "/v1/search",
                "/v1/answer",
                "/v1/route",
                "/v1/chat/completions",
                "/v1/embeddings",
                "/v1/memory/query",
                // Writes a rating into the query log, nothing of a collection.
                "/v1/answers/{id}/feedback",
            ];
            if d.method != axum::http::Method::GET && !reads_only.contains(&d.path) {
                assert!(
                    role >= Some(lore_core::Role::Writer),
                    "{} {} writes but admits {:?}",
                    d.method,
                    d.path,
                    d.allow
                );
            }
        }
    }

    #[test]
    fn the_error_detail_lists_every_code() {
        let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let codes = &spec["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"];
        assert_eq!(
            codes.as_array().map(Vec::len),
            Some(crate::codes::ErrorCode::ALL.len())
        );
    }
}
