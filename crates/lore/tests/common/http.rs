//! HTTP helpers for tests against `lore serve`.

use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::Value;

/// A blocking client with a generous timeout (answers may generate), no key.
pub fn client() -> Client {
    client_with_key("")
}

/// [`client`] sending `Authorization: Bearer KEY` (none when `key` is empty).
pub fn client_with_key(key: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if !key.is_empty() {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        );
    }
    Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

/// Status and JSON body of a response.
pub fn json_of(r: reqwest::blocking::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, v)
}

/// Asserts an error response: `status` and the JSON error's `code` (the body in the message).
#[track_caller]
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (want_status, Some(want_code)),
        "{body}"
    );
}

pub fn post_json(c: &Client, url: &str, body: Value) -> (u16, Value) {
    json_of(c.post(url).json(&body).send().unwrap())
}

/// Parses an SSE body into `(event, data)` pairs.
pub fn sse_events(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .filter_map(|block| {
            let mut name = "message".to_string();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                }
            }
            (!data.is_empty()).then(|| (name, data.join("\n")))
        })
        .collect()
}

/// The text of the `token` events of an SSE answer, joined.
pub fn sse_text(events: &[(String, String)]) -> String {
    events
        .iter()
        .filter(|(n, _)| n == "token")
        .map(|(_, d)| {
            serde_json::from_str::<Value>(d).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// A multipart upload of the demo documents (`../shared/data/docs`, sorted by name, the
/// first `n`), one `file` part each, and their names.
pub fn docs_form(n: usize) -> (reqwest::blocking::multipart::Form, Vec<String>) {
    use reqwest::blocking::multipart;
    let mut paths: Vec<_> = std::fs::read_dir(super::docs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut form = multipart::Form::new();
    let mut names = Vec::new();
    for path in paths.into_iter().take(n) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        form = form.part(
            "file",
            multipart::Part::bytes(std::fs::read(&path).unwrap()).file_name(name.clone()),
        );
        names.push(name);
    }
    (form, names)
}
