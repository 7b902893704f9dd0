//! One place that sees every request: the access log line (request id, key id, route,
//! status, latency, cache flag, tokens), the HTTP metrics, and the query log rows of
//! searches and answers.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lore_index::QueryRecord;

use crate::auth::Principal;
use crate::state::AppState;

/// What a handler tells the access log about its request (a response extension).
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// Served from a cache (searches and answers).
    pub cached: Option<bool>,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// Completion tokens.
    pub tokens_out: u64,
}

/// `res` with `info` attached for the access log.
pub fn with_info(res: impl IntoResponse, info: RequestInfo) -> Response {
    let mut res = res.into_response();
    res.extensions_mut().insert(info);
    res
}

/// Logs and counts the request once its response headers are ready (a streamed body's
/// end is logged by the stream itself).
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let request_id = req
        .headers()
        .get(crate::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    crate::metrics::http_request(method.as_str(), &route, status, started);
    let key_id = res
        .extensions()
        .get::<Arc<Principal>>()
        .and_then(|p| p.key_id.clone());
    let info = res
        .extensions()
        .get::<RequestInfo>()
        .cloned()
        .unwrap_or_default();
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    // The key's id only, never the key; the path may carry names but no secrets.
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "lore::access",
                request_id = %request_id,
                key_id = key_id.as_deref().unwrap_or("-"),
                method = %method,
                route = %route,
                status,
                latency_ms,
                cached = info.cached,
                tokens_in = info.tokens_in,
                tokens_out = info.tokens_out,
                "request"
            )
        };
    }
    if status >= 500 {
        line!(warn);
    } else {
        line!(info);
    }
    res
}

/// A query-log row (searches and answers, for analytics).
pub(crate) struct Served<'a> {
    pub kind: &'static str,
    pub collection: &'a str,
    pub query: &'a str,
    pub latency_ms: f64,
    pub cached: bool,
    pub answered: bool,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub domain: Option<String>,
    /// An answer's id.
    pub answer_id: Option<String>,
    /// Route, tier, model, arm, grounding and cost of an answer.
    pub served: lore_index::ServedBy,
}

impl AppState {
    /// Records a served search or answer in the query log (question PII-masked).
    pub(crate) fn log_query(&self, principal: &Principal, s: Served<'_>) {
        let Some(log) = &self.0.query_log else {
            return;
        };
        log.record(QueryRecord {
            at_ms: lore_index::now_ms(),
            kind: s.kind,
            collection: s.collection.to_string(),
            domain: s.domain,
            key_id: principal.key_id.clone(),
            query: self.0.log_masker.mask(s.query).into_owned(),
            latency_ms: s.latency_ms,
            cached: s.cached,
            answered: s.answered,
            tokens_in: s.tokens_in,
            tokens_out: s.tokens_out,
            answer_id: s.answer_id,
            served: s.served,
        });
    }
}
