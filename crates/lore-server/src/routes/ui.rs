//! The web UI at `/` (documents) and `/meetings` (meeting memory), and the API docs page
//! at `/docs`: static files compiled into the binary (no CDN, works offline).

use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::codes::ErrorCode;
use crate::error::ApiError;

const INDEX: &str = include_str!("../../assets/index.html");
const MEETINGS: &str = include_str!("../../assets/meetings.html");
const DOCS: &str = include_str!("../../assets/docs.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const COMMON_JS: &str = include_str!("../../assets/common.js");
const MEETINGS_JS: &str = include_str!("../../assets/meetings.js");
const APP_CSS: &str = include_str!("../../assets/app.css");
const DOCS_JS: &str = include_str!("../../assets/docs.js");

/// The web UI.
pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

/// The meetings page: upload transcripts, recall memories (direct, activated, bridges).
pub async fn meetings() -> Html<&'static str> {
    Html(MEETINGS)
}

/// The API docs page (renders `/openapi.json`).
pub async fn docs() -> Html<&'static str> {
    Html(DOCS)
}

/// Scripts and styles of the pages.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "common.js" => (COMMON_JS, "text/javascript; charset=utf-8"),
        "meetings.js" => (MEETINGS_JS, "text/javascript; charset=utf-8"),
        "docs.js" => (DOCS_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return ApiError::new(ErrorCode::RouteNotFound, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
