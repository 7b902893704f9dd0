//! The rate-limit middleware: the per-IP limit before authentication, the per-key limit
//! after it ([`crate::limits`] keeps the counts).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::Principal;
use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::limits::{Client, Decision, Scope};
use crate::state::AppState;

/// The client's IP: the peer address, or the first `X-Forwarded-For` entry when trusted.
fn client_ip(req: &Request, trust_forwarded: bool) -> Option<IpAddr> {
    if trust_forwarded {
        let fwd = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if fwd.is_some() {
            return fwd;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn headers(h: &mut HeaderMap, d: &Decision) {
    let mut set = |name: &'static str, v: u64| {
        if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
            h.insert(name, v);
        }
    };
    set("x-ratelimit-limit", u64::from(d.limit));
    set("x-ratelimit-remaining", u64::from(d.remaining));
    set("x-ratelimit-reset", d.reset_s);
    if !d.allowed {
        set("retry-after", d.retry_after_s);
    }
}

fn too_many(scope: Scope, d: &Decision) -> ApiError {
    crate::metrics::rate_limited(scope.as_str());
    ApiError::new(
        ErrorCode::RateLimited,
        format!(
            "rate limit of this {} reached ({} requests in its window); retry in {} s",
            match scope {
                Scope::Key => "API key",
                Scope::Ip => "client IP",
            },
            d.limit,
            d.retry_after_s
        ),
    )
}

/// Per-IP limit: before authentication, so key guessing is throttled too.
pub async fn per_ip(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limiter = &state.0.limiter;
    if !limiter.config.enabled {
        return next.run(req).await;
    }
    let Some(ip) = client_ip(&req, limiter.config.trust_forwarded_for) else {
        return next.run(req).await;
    };
    match limiter.check(Client::Ip(ip), limiter.config.per_ip) {
        Some(d) if !d.allowed => {
            let mut res = crate::auth::respond(&req, too_many(Scope::Ip, &d));
            headers(res.headers_mut(), &d);
            res
        }
        _ => next.run(req).await,
    }
}

/// Per-key limit, after authentication; sets the `X-RateLimit-*` headers of the key's
/// quota on every response.
pub async fn per_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limiter = &state.0.limiter;
    let principal = req.extensions().get::<Arc<Principal>>().cloned();
    let (Some(p), true) = (principal, limiter.config.enabled) else {
        return next.run(req).await;
    };
    let Some(id) = p.key_id.as_deref() else {
        return next.run(req).await;
    };
    let rate = p.rate.unwrap_or(limiter.config.per_key);
    match limiter.check(Client::Key(id), rate) {
        Some(d) if !d.allowed => {
            let mut res = crate::auth::respond(&req, too_many(Scope::Key, &d));
            headers(res.headers_mut(), &d);
            res
        }
        Some(d) => {
            let mut res = next.run(req).await;
            headers(res.headers_mut(), &d);
            res
        }
        None => next.run(req).await,
    }
}
