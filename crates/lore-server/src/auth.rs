//! API-key authentication and role checks (DESIGN.md §5, Admin).
//!
//! Every route but the public ones needs `Authorization: Bearer <key>` (or `X-API-Key`).
//! The middleware verifies the key against the catalog ([`lore_index::KeyStore`]), checks
//! the role the route needs, and hands the handlers a [`Principal`]; handlers pass its
//! [`lore_core::Access`] into the engine, which enforces collections and domains inside
//! retrieval.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lore_core::{Access, Rate, Role};
use lore_index::KeyRejection;

use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::routing::RouteTable;
use crate::state::AppState;

/// Who is calling, as the handlers see it.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Public id of the key (`None` when auth is off).
    pub key_id: Option<String>,
    /// Role.
    pub role: Role,
    /// Collections and domains it may read.
    pub access: Access,
    /// Its own quota, if it has one.
    pub rate: Option<Rate>,
    /// When the key expires, unix seconds (`None`: never).
    pub expires_at: Option<i64>,
}

impl Principal {
    /// The caller when auth is disabled: an unrestricted admin.
    pub fn local() -> Self {
        Principal {
            key_id: None,
            role: Role::Admin,
            access: Access::all(),
            rate: None,
            expires_at: None,
        }
    }

    /// Whether this is an admin without collection or domain restrictions: the only
    /// caller that may see data about every collection (analytics, metrics, settings,
    /// whole-cache operations).
    pub fn is_unscoped_admin(&self) -> bool {
        self.role == Role::Admin && self.access.is_unrestricted()
    }

    /// Refuses a caller that is not an unscoped admin.
    ///
    /// # Errors
    /// 403 `unscoped_admin_required`.
    pub fn require_unscoped_admin(&self) -> Result<(), ApiError> {
        if self.is_unscoped_admin() {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::UnscopedAdminRequired,
                "this route shows or changes data of every collection: it needs an admin key without collection or domain restrictions",
            ))
        }
    }

    /// Whether this caller may create, list or revoke a key with these properties: role,
    /// collections and domains no wider, quota no higher and expiry no later than its
    /// own. An unrestricted admin may manage every key.
    pub fn may_manage(
        &self,
        role: Role,
        access: &Access,
        rate: Option<&Rate>,
        expires_at: Option<i64>,
    ) -> bool {
        let rate_ok = match (&self.rate, rate) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => theirs.within(mine),
        };
        let expiry_ok = match (self.expires_at, expires_at) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => theirs <= mine,
        };
        role <= self.role && self.access.contains(access) && rate_ok && expiry_ok
    }

    /// Refuses a collection outside the key's list with the answer a missing collection
    /// gets (404 `collection_not_found`), so a scoped key cannot tell the two apart.
    ///
    /// # Errors
    /// 404 `collection_not_found`.
    pub fn check_collection(&self, collection: &str) -> Result<(), ApiError> {
        if self.access.allows_collection(collection) {
            Ok(())
        } else {
            Err(ApiError::collection_not_found(collection))
        }
    }

    /// Whether a document of `domain` is visible to this key.
    pub fn sees_domain(&self, domain: Option<&str>) -> bool {
        self.access.allows_domain(domain)
    }

    /// Refuses an upload into a domain the key may not write (the domain is the
    /// caller's own choice, so naming it tells nothing about stored data).
    ///
    /// # Errors
    /// 403 `domain_forbidden`.
    pub fn check_domain(&self, domain: Option<&str>) -> Result<(), ApiError> {
        if self.access.allows_domain(domain) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::DomainForbidden,
                format!(
                    "this API key may not use documents of domain `{}`",
                    domain.unwrap_or("(none)")
                ),
            ))
        }
    }

    /// Refuses a domain-restricted key an operation on a whole collection (deleting it
    /// would delete other domains' documents).
    ///
    /// # Errors
    /// 403 `domain_forbidden`.
    pub fn check_whole_collection(&self, collection: &str) -> Result<(), ApiError> {
        self.check_collection(collection)?;
        if self.access.domains.is_some() {
            return Err(ApiError::new(
                ErrorCode::DomainForbidden,
                "a key restricted to domains may not create or delete whole collections",
            ));
        }
        Ok(())
    }
}

/// The presented key: `Authorization: Bearer <key>` or `X-API-Key: <key>`.
fn presented(req: &Request) -> Option<&str> {
    let h = req.headers();
    if let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        // The scheme is case-insensitive (RFC 7235 §2.1): `Bearer`, `bearer`, `BEARER`.
        let key = match v.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest,
            _ => v,
        };
        return Some(key.trim());
    }
    h.get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Authenticates the request and checks its role; the [`Principal`] goes into the
/// request's extensions (and the response's, for the access log).
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let security = &state.0.security;
    let principal = if !security.auth.enabled {
        Principal::local()
    } else {
        // The role the matched route declared where it was registered; no match (an
        // unknown path, a method the route lacks) needs none: axum answers 404 or 405.
        let allow = match (
            req.extensions().get::<MatchedPath>(),
            req.extensions().get::<Arc<RouteTable>>(),
        ) {
            (Some(path), Some(table)) => table.allow(req.method(), path.as_str()),
            _ => None,
        };
        let Some(role) = allow.and_then(|a| a.role(security.auth.public_metrics)) else {
            return next.run(req).await;
        };
        let principal = match presented(&req) {
            None => Err(ApiError::new(ErrorCode::MissingApiKey,
                "this route needs an API key: `Authorization: Bearer <key>` (create one with `lore keys create`)",
            )),
            Some(key) => state
                .0
                .keys
                .verify(key, now_secs())
                .map(|k| Principal {
                    key_id: Some(k.id.clone()),
                    role: k.role,
                    access: k.access.clone(),
                    rate: k.rate,
                    expires_at: k.expires_at,
                })
                .map_err(|r| {
                    let code = match r {
                        KeyRejection::Malformed | KeyRejection::Unknown => {
                            ErrorCode::InvalidApiKey
                        }
                        KeyRejection::Revoked => ErrorCode::RevokedApiKey,
                        KeyRejection::Expired => ErrorCode::ExpiredApiKey,
                    };
                    ApiError::new(code, r.to_string())
                }),
        };
        let principal = match principal {
            Ok(p) if p.role >= role => p,
            Ok(p) => {
                crate::metrics::auth_failure("role");
                let mut res = respond(
                    &req,
                    ApiError::new(
                        ErrorCode::InsufficientRole,
                        format!("this route needs the {role} role; the key is a {}", p.role),
                    ),
                );
                res.extensions_mut().insert(Arc::new(p));
                return res;
            }
            Err(e) => {
                crate::metrics::auth_failure(e.code.as_str());
                return respond(&req, e);
            }
        };
        principal
    };
    let principal = Arc::new(principal);
    req.extensions_mut().insert(principal.clone());
    let mut res = next.run(req).await;
    res.extensions_mut().insert(principal);
    res
}

/// An error in the shape of the route family (OpenAI's on `/v1/chat`, `/v1/models`,
/// `/v1/embeddings`).
pub(crate) fn respond(req: &Request, e: ApiError) -> Response {
    if is_openai_route(req.uri().path()) {
        e.openai().into_response()
    } else {
        e.into_response()
    }
}

/// Whether `path` is one of the OpenAI-compatible routes, whose errors take OpenAI's shape.
pub(crate) fn is_openai_route(path: &str) -> bool {
    path.starts_with("/v1/chat/") || path == "/v1/models" || path == "/v1/embeddings"
}

/// Now, unix seconds (key creation, expiry, revocation).
pub fn now_secs() -> i64 {
    lore_index::now_ms() / 1000
}
