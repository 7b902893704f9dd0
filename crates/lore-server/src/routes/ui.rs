//! The web UI at `/` and the API docs page at `/docs`: static files compiled into the
//! binary (no CDN, works offline).

use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::codes::ErrorCode;
use crate::error::ApiError;

const INDEX: &str = include_str!("../../assets/index.html");
const DOCS: &str = include_str!("../../assets/docs.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const APP_CSS: &str = include_str!("../../assets/app.css");
const DOCS_JS: &str = include_str!("../../assets/docs.js");

/// The web UI.
pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

/// The API docs page (renders `/openapi.json`).
pub async fn docs() -> Html<&'static str> {
    Html(DOCS)
}

/// Scripts and styles of the two pages.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "docs.js" => (DOCS_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return ApiError::new(ErrorCode::RouteNotFound, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
