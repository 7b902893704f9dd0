//! lore's HTTP layer (DESIGN.md §5, §8): the REST API under `/v1`, OpenAI-compatible
//! endpoints, `/openapi.json` with its docs page, health checks, and the web UI at `/`.
//!
//! The engine knows nothing of HTTP: handlers translate JSON to engine calls, run them on
//! blocking threads under the engine's read-write lock ([`state`]), and translate results
//! and errors back ([`error`]). Searches and answers share the read side; uploads are
//! ingested by a job worker ([`jobs`]) that takes the write side one document at a time.
//!
//! Every request passes, outermost first: CORS ([`config::CorsConfig`]), request id,
//! access log and metrics ([`observe`]), the per-IP rate limit ([`limits`]), API-key
//! authentication and role check ([`auth`]), the per-key rate limit, then the timeout and
//! body limits and the handler.
#![warn(missing_docs)]

pub mod auth;
pub mod codes;
pub mod config;
pub mod cost;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod routes;
pub mod routing;
pub mod state;
pub mod throttle;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use config::SecurityConfig;
pub use error::{ApiError, ErrorCode, ErrorType};
pub use state::{AppState, ServerConfig};

use crate::routes::{
    admin, cache, classify, collections, documents, experiments, health, memory, openai, query, ui,
};

/// The `x-request-id` header: set from the client's value or a new UUID, echoed in the
/// response and recorded on every log line of the request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route, each with who may call it ([`routing::Allow`]) on its own line.
pub fn routes() -> routing::Routes {
    use axum::http::Method;
    use routing::Allow;
    let (get, post, put, delete) = (Method::GET, Method::POST, Method::PUT, Method::DELETE);
    routing::Routes::default()
        // Collections and documents.
        .add(
            get.clone(),
            "/v1/collections",
            Allow::READER,
            collections::list,
        )
        .add(
            post.clone(),
            "/v1/collections",
            Allow::WRITER,
            collections::create,
        )
        .add(
            get.clone(),
            "/v1/collections/{name}",
            Allow::READER,
            collections::get,
        )
        .add(
            delete.clone(),
            "/v1/collections/{name}",
            Allow::WRITER,
            collections::delete,
        )
        .add(
            get.clone(),
            "/v1/collections/{name}/documents",
            Allow::READER,
            documents::list,
        )
        .add(
            post.clone(),
            "/v1/collections/{name}/documents",
            Allow::WRITER,
            documents::upload,
        )
        .add(
            get.clone(),
            "/v1/collections/{name}/documents/{id}",
            Allow::READER,
            documents::get,
        )
        .add(
            delete.clone(),
            "/v1/collections/{name}/documents/{id}",
            Allow::WRITER,
            documents::delete,
        )
        .add(get.clone(), "/v1/jobs", Allow::WRITER, documents::jobs)
        .add(get.clone(), "/v1/jobs/{id}", Allow::WRITER, documents::job)
        // Retrieval and answers.
        .add(post.clone(), "/v1/search", Allow::READER, query::search)
        .add(post.clone(), "/v1/answer", Allow::READER, query::answer)
        .add(post.clone(), "/v1/route", Allow::READER, classify::classify)
        .add(get.clone(), "/v1/routes", Allow::READER, classify::entries)
        .add(
            post.clone(),
            "/v1/answers/{id}/feedback",
            Allow::READER,
            experiments::feedback,
        )
        // Meeting memory.
        .add(
            post.clone(),
            "/v1/memory/meetings",
            Allow::WRITER,
            memory::ingest,
        )
        .add(
            post.clone(),
            "/v1/memory/transcripts",
            Allow::WRITER,
            memory::upload,
        )
        .add(
            get.clone(),
            "/v1/memory/meetings",
            Allow::READER,
            memory::list,
        )
        .add(
            delete.clone(),
            "/v1/memory/meetings/{id}",
            Allow::WRITER,
            memory::delete,
        )
        .add(
            post.clone(),
            "/v1/memory/query",
            Allow::READER,
            memory::query,
        )
        .add(
            post.clone(),
            "/v1/memory/consolidate",
            Allow::ADMIN,
            memory::consolidate,
        )
        .add(
            get.clone(),
            "/v1/memory/stats",
            Allow::READER,
            memory::stats,
        )
        // Caches.
        .add(delete.clone(), "/v1/cache", Allow::ADMIN, cache::clear)
        .add(get.clone(), "/v1/cache/stats", Allow::ADMIN, cache::stats)
        .add(post.clone(), "/v1/cache/warm", Allow::ADMIN, cache::warm)
        .add(
            delete.clone(),
            "/v1/cache/collections/{name}",
            Allow::ADMIN,
            cache::clear_collection,
        )
        .add(
            delete.clone(),
            "/v1/cache/collections/{name}/documents/{id}",
            Allow::ADMIN,
            cache::clear_document,
        )
        .add(
            delete.clone(),
            "/v1/cache/keys/{key}",
            Allow::ADMIN,
            cache::clear_key,
        )
        // Administration.
        .add(
            get.clone(),
            "/v1/admin/keys",
            Allow::ADMIN,
            admin::list_keys,
        )
        .add(
            post.clone(),
            "/v1/admin/keys",
            Allow::ADMIN,
            admin::create_key,
        )
        .add(
            delete.clone(),
            "/v1/admin/keys/{id}",
            Allow::ADMIN,
            admin::revoke_key,
        )
        .add(
            get.clone(),
            "/v1/admin/analytics",
            Allow::ADMIN,
            admin::analytics,
        )
        .add(get.clone(), "/v1/admin/config", Allow::ADMIN, admin::config)
        .add(
            get.clone(),
            "/v1/admin/experiments",
            Allow::ADMIN,
            experiments::list,
        )
        .add(
            get.clone(),
            "/v1/admin/experiments/{id}",
            Allow::ADMIN,
            experiments::report,
        )
        .add(
            get.clone(),
            "/v1/admin/drift",
            Allow::ADMIN,
            experiments::drift,
        )
        .add(
            get.clone(),
            "/v1/admin/routes",
            Allow::ADMIN,
            classify::get_routes,
        )
        .add(put, "/v1/admin/routes", Allow::ADMIN, classify::put_routes)
        .add(get.clone(), "/metrics", Allow::Metrics, admin::metrics)
        // OpenAI-compatible.
        .add(
            post.clone(),
            "/v1/chat/completions",
            Allow::READER,
            openai::chat_completions,
        )
        .add(get.clone(), "/v1/models", Allow::READER, openai::models)
        .add(
            post.clone(),
            "/v1/embeddings",
            Allow::READER,
            openai::embeddings,
        )
        // Health, the API description, the web UI.
        .add(get.clone(), "/health", Allow::Public, health::health)
        .add(
            get.clone(),
            "/health/detailed",
            Allow::ADMIN,
            health::detailed,
        )
        .add(
            get.clone(),
            "/openapi.json",
            Allow::Public,
            openapi::spec_json,
        )
        .add(get.clone(), "/docs", Allow::Public, ui::docs)
        .add(get.clone(), "/", Allow::Public, ui::index)
        .add(get.clone(), "/meetings", Allow::Public, ui::meetings)
        .add(get, "/assets/{file}", Allow::Public, ui::asset)
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let (api, table) = routes().build();
    let api = api
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            config.request_timeout,
            timeout,
        ))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            config.max_body_bytes,
            declared_length,
        ))
        // Router::layer wraps each route (and the fallback) after routing: the layers
        // below see the matched route template, which labels metrics and log lines.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            throttle::per_key,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Outside authentication, which reads the matched route's `Allow` from it.
        .layer(axum::Extension(table))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            throttle::per_ip,
        ))
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(state);
    let app = api
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            // The request span carries the id onto every log line of the request; the
            // access line itself is written by `observe`.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", id = %id)
                })
                .on_request(())
                .on_response(())
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    match cors(&config.security.cors) {
        Some(layer) => app.layer(layer),
        None => app,
    }
}

/// The CORS layer for the configured origins (none: no CORS headers, browsers refuse
/// cross-origin calls). Credentials are allowed, which the spec permits for listed
/// origins only (never with `*`).
fn cors(config: &config::CorsConfig) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{header, HeaderValue, Method};
    let origins: Vec<HeaderValue> = config
        .allowed_origins
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o.trim_end_matches('/')) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "CORS: origin is not a valid header value, ignored");
                None
            }
        })
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-api-key"),
                REQUEST_ID,
            ])
            .expose_headers([
                REQUEST_ID,
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-reset"),
                header::RETRY_AFTER,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::RouteNotFound,
        "no such route (see /openapi.json)",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed on this route",
    )
}

/// Gives every 4xx lore's JSON error shape (OpenAI's on its routes): axum's own
/// rejections (a path parameter that is not a number, a bad query string) answer in plain
/// text, and a route added later cannot forget to convert one.
async fn json_errors(req: Request, next: Next) -> Response {
    let openai = auth::is_openai_route(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::InvalidBody,
        _ => ErrorCode::InvalidRequest,
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_string()
    } else {
        text
    };
    // The table's status, except that a rejection's own 4xx is kept.
    let mut e = ApiError::new(code, message);
    e.status = status;
    let mut out = if openai {
        e.openai().into_response()
    } else {
        e.into_response()
    };
    // Keep what the original response said besides its body (Retry-After, Allow, ...).
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.extensions_mut().extend(parts.extensions);
    out
}

/// Answers 413 at once when `Content-Length` declares a body over the limit, before any of
/// it is read (the body limit itself catches bodies without the header as they stream).
async fn declared_length(State(max): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > max as u64 => extract::too_large().into_response(),
        _ => next.run(req).await,
    }
}

/// Bounds the time to a response's headers; a streamed body (SSE) may run on.
async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "no response within {} (server.request_timeout); for long uploads poll the job",
                humantime::format_duration(limit)
            ),
        )
        .into_response(),
    }
}

/// Serves until SIGINT or SIGTERM, then stops accepting, lets in-flight requests finish,
/// lets the running ingest job finish, and returns (the engine flushes its indexes when
/// dropped).
///
/// Each connection is served by hyper's HTTP/1 with a header read timeout
/// (`[connections] header_read_timeout`, idle keep-alive included) and counts against
/// `[connections] max_connections`; one past the cap is closed at once. A client that
/// disconnects drops its request's future, which cancels the work it started
/// ([`lore_core::Cancel`]).
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service;

    let sweeper = {
        let state = state.clone();
        tokio::spawn(async move {
            // The exporter keeps histogram samples until drained: drain every 5 s (its own
            // default upkeep period), so memory stays flat between scrapes.
            let mut every = tokio::time::interval(Duration::from_secs(5));
            let mut ticks = 0u64;
            let consolidate_ticks = state.memory_consolidate_every().as_secs() / 5;
            crate::metrics::memory(&state.memory_stats());
            loop {
                every.tick().await;
                state.run_upkeep();
                ticks += 1;
                if ticks.is_multiple_of(120) {
                    state.forget_idle_clients();
                }
                // Meeting memory: decay, promotion, clean-up (`[memory] consolidate_every`).
                if consolidate_ticks > 0 && ticks.is_multiple_of(consolidate_ticks) {
                    let state = state.clone();
                    let _ = tokio::task::spawn_blocking(move || state.consolidate_memory()).await;
                }
            }
        })
    };
    let limits = state.0.security.connections.clone();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut make =
        router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout.max(Duration::from_millis(100)))
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            crate::metrics::connection_refused();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make.call(addr).await;
        let conn = http.serve_connection(
            TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Timeouts and resets end here; they are the client's business, not errors.
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    sweeper.abort();
    // In-flight requests finish; idle connections close now.
    graceful.shutdown().await;
    tracing::info!("shutting down: finishing the running ingest job");
    let s = state.clone();
    let _ = tokio::task::spawn_blocking(move || s.shutdown()).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("signal received: no new connections");
}
