//! `lore serve` end to end through real HTTP: upload the demo documents, list, search,
//! answer (JSON and SSE), OpenAI-compatible routes, delete, and every kind of bad input.

mod common;

use std::time::{Duration, Instant};

use common::http::{docs_form, json_of, post_json, sse_events, sse_text};
use common::{docs_dir, Server};
use reqwest::blocking::{multipart, Client};
use serde_json::{json, Value};

fn wait_job(c: &Client, server: &Server, job: &Value) -> Value {
    let start = Instant::now();
    let mut job = job.clone();
    while job["status"] == "queued" || job["status"] == "running" {
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "job stuck: {job}"
        );
        std::thread::sleep(Duration::from_millis(500));
        let id = job["id"].as_str().unwrap().to_string();
        job = json_of(c.get(server.at(&format!("/v1/jobs/{id}"))).send().unwrap()).1;
    }
    job
}

#[test]
fn documents_upload_search_answer_and_delete_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--upload-wait", "2s"]);
    let c = server.client();

    let (s, v) = post_json(
        &c,
        &server.at("/v1/collections"),
        json!({"name": "docs", "defaults": {"domain": "engineering", "tags": ["demo"]}}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["defaults"]["domain"], "engineering");

    // All the demo documents in one multipart request: a long job, polled.
    let (form, names) = docs_form(usize::MAX);
    let (s, job) = json_of(
        c.post(server.at("/v1/collections/docs/documents"))
            .multipart(form)
            .send()
            .unwrap(),
    );
    assert!(s == 202 || s == 200, "{s} {job}");
    let job = wait_job(&c, &server, &job);
    assert_eq!(job["status"], "done", "{job}");
    let files = job["files"].as_array().unwrap();
    assert_eq!(files.len(), names.len());
    let failed: Vec<&Value> = files.iter().filter(|f| f["status"] == "failed").collect();
    assert!(failed.is_empty(), "every demo file ingests: {failed:?}");
    assert!(job["chunks"].as_u64().unwrap() > 1000, "{}", job["chunks"]);

    // Stats and paged listing.
    let (_, stats) = json_of(c.get(server.at("/v1/collections/docs")).send().unwrap());
    assert_eq!(stats["documents"].as_u64().unwrap() as usize, names.len());
    assert_eq!(stats["chunks"], job["chunks"]);
    assert!(stats["bytes"].as_u64().unwrap() > 5_000_000, "{stats}");
    let (_, page) = json_of(
        c.get(server.at("/v1/collections/docs/documents?offset=5&limit=10"))
            .send()
            .unwrap(),
    );
    assert_eq!(page["documents"].as_array().unwrap().len(), 10);
    assert_eq!(page["total"].as_u64().unwrap() as usize, names.len());
    let doc = &page["documents"][0];
    assert_eq!(
        doc["metadata"]["domain"], "engineering",
        "collection defaults apply"
    );

    // Search: a known fact, filters inside retrieval.
    let (s, v) = post_json(
        &c,
        &server.at("/v1/search"),
        json!({"query": "name-based virtual hosts", "collection": "docs", "top_k": 5}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["hits"][0]["source"], "httpd-vhosts-name-based.html",
        "{v}"
    );
    let (_, v) = post_json(
        &c,
        &server.at("/v1/search"),
        json!({"query": "name-based virtual hosts", "collection": "docs", "filters": ["domain=hr"]}),
    );
    assert!(v["hits"].as_array().unwrap().is_empty(), "{v}");

    // Answer, JSON.
    let q = "Which macro creates a new vector that holds the values you give it?";
    let (s, v) = post_json(
        &c,
        &server.at("/v1/answer"),
        json!({"query": q, "collection": "docs", "generator": "extractive"}),
    );
    assert_eq!(s, 200, "{v}");
    assert!(v["answer"].as_str().unwrap().contains("vec!"), "{v}");
    let cited: Vec<&str> = v["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert!(cited.contains(&"rust-book-ch08-01-vectors.md"), "{v}");

    // Answer, streamed: retrieval → token… → citations → done.
    let r = c
        .post(server.at("/v1/answer"))
        .json(&json!({"query": q, "collection": "docs", "stream": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert!(r.headers().contains_key("x-request-id"));
    let events = sse_events(&r.text().unwrap());
    let kinds: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"retrieval"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"done"), "{kinds:?}");
    assert!(
        kinds.contains(&"token") && kinds.contains(&"citations"),
        "{kinds:?}"
    );
    let streamed = sse_text(&events);
    let done: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert!(streamed.contains("vec!"), "{streamed}");
    assert!(done["timings_ms"]["total"].as_f64().unwrap() > 0.0);

    // OpenAI-compatible chat completion (the collection as model), non-streamed.
    let (s, v) = post_json(
        &c,
        &server.at("/v1/chat/completions"),
        json!({"model": "docs", "messages": [{"role": "user", "content": q}]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["object"], "chat.completion");
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        content.contains("vec!") && content.contains("Sources:"),
        "{content}"
    );
    assert!(!v["citations"].as_array().unwrap().is_empty());
    let (s, v) = post_json(
        &c,
        &server.at("/v1/chat/completions"),
        json!({"model": "nope", "messages": [{"role": "user", "content": q}]}),
    );
    assert_eq!(s, 404);
    assert_eq!(
        v["error"]["code"], "model_not_found",
        "OpenAI error object: {v}"
    );
    assert_eq!(v["error"]["type"], "invalid_request_error");

    // Get and delete one document; it leaves search.
    let (_, page) = json_of(
        c.get(server.at("/v1/collections/docs/documents?limit=1000"))
            .send()
            .unwrap(),
    );
    let vhosts = page["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["source"] == "httpd-vhosts-name-based.html")
        .unwrap()
        .clone();
    let id = vhosts["id"].as_i64().unwrap();
    let (s, got) = json_of(
        c.get(server.at(&format!("/v1/collections/docs/documents/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!((s, &got["source"]), (200, &vhosts["source"]));
    let (s, _) = json_of(
        c.delete(server.at(&format!("/v1/collections/docs/documents/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    let (_, v) = post_json(
        &c,
        &server.at("/v1/search"),
        json!({"query": "name-based virtual hosts", "collection": "docs", "top_k": 20}),
    );
    assert!(
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["source"] != "httpd-vhosts-name-based.html"),
        "deleted document still found: {v}"
    );
    let (s, _) = json_of(
        c.get(server.at(&format!("/v1/collections/docs/documents/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 404);

    // Graceful stop; a restart finds everything stored.
    assert!(server.stop(), "clean exit on SIGTERM");
    let server = Server::start(dir.path(), &[]);
    let (_, stats2) = json_of(c.get(server.at("/v1/collections/docs")).send().unwrap());
    assert_eq!(
        stats2["documents"].as_u64().unwrap() as usize,
        names.len() - 1
    );
    let (s, health) = json_of(c.get(server.at("/health/detailed")).send().unwrap());
    assert_eq!(s, 200, "{health}");
    assert_eq!(health["indexes"]["status"], "ok", "{health}");
}

/// Sends the head of a request that declares a 3 MB body (over a 1 MB limit) and only its
/// first bytes, then reads the answer. Sending a whole oversized body races the server's
/// early 413 (it closes the connection while the client still writes), so the client would
/// see a reset instead of the response.
fn oversized(server: &Server, path: &str, content_type: &str, start: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let addr = server.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: 3000000\r\nConnection: close\r\n\r\n{start}",
        server.key
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-body-mb", "1"]);
    let c = server.client();
    let (s, _) = post_json(&c, &server.at("/v1/collections"), json!({"name": "kb"}));
    assert_eq!(s, 201);
    let small = docs_dir().join("httpd-bind.html");
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(std::fs::read(&small).unwrap()).file_name("httpd-bind.html"),
    );
    let (s, job) = json_of(
        c.post(server.at("/v1/collections/kb/documents"))
            .multipart(form)
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "a small upload finishes within the wait: {job}");
    assert_eq!(job["files"][0]["status"], "added", "{job}");
    let stats = || json_of(c.get(server.at("/v1/collections/kb")).send().unwrap()).1;
    let before = stats();

    let expect = |label: &str, r: reqwest::blocking::Response, status: u16, code: &str| {
        let (s, v) = json_of(r);
        assert_eq!(s, status, "{label}: {v}");
        assert_eq!(v["error"]["code"], code, "{label}: {v}");
        assert!(
            !v["error"]["message"].as_str().unwrap().is_empty(),
            "{label}"
        );
        assert_eq!(
            v["error"]["type"],
            if status == 404 {
                "not_found"
            } else {
                "invalid_request"
            },
            "{label}: {v}"
        );
    };
    let search = server.at("/v1/search");
    let raw = |url: &str, ct: &str, body: &str| {
        c.post(url)
            .header("content-type", ct)
            .body(body.to_string())
            .send()
            .unwrap()
    };
    expect(
        "malformed JSON",
        raw(&search, "application/json", "{\"query\": "),
        400,
        "invalid_json",
    );
    expect(
        "wrong type",
        raw(
            &search,
            "application/json",
            r#"{"query": 5, "collection": "kb"}"#,
        ),
        422,
        "invalid_body",
    );
    expect(
        "unknown field",
        raw(
            &search,
            "application/json",
            r#"{"query": "x", "collection": "kb", "topk": 3}"#,
        ),
        422,
        "invalid_body",
    );
    expect(
        "not JSON",
        raw(&search, "text/plain", "query"),
        415,
        "unsupported_media_type",
    );
    let (status, v) = oversized(&server, "/v1/search", "application/json", "{\"query\": \"");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );
    expect(
        "unknown collection",
        raw(
            &search,
            "application/json",
            r#"{"query": "x", "collection": "nope"}"#,
        ),
        404,
        "collection_not_found",
    );
    expect(
        "top_k 0",
        raw(
            &search,
            "application/json",
            r#"{"query": "x", "collection": "kb", "top_k": 0}"#,
        ),
        400,
        "invalid_request",
    );
    expect(
        "top_k huge",
        raw(
            &search,
            "application/json",
            r#"{"query": "x", "collection": "kb", "top_k": 100000}"#,
        ),
        400,
        "invalid_request",
    );
    expect(
        "bad filter",
        raw(
            &search,
            "application/json",
            r#"{"query": "x", "collection": "kb", "filters": ["colour=red"]}"#,
        ),
        400,
        "invalid_filter",
    );
    expect(
        "empty query",
        raw(
            &search,
            "application/json",
            r#"{"query": "  ", "collection": "kb"}"#,
        ),
        400,
        "invalid_request",
    );
    expect(
        "empty question",
        raw(
            &server.at("/v1/answer"),
            "application/json",
            r#"{"query": "", "collection": "kb"}"#,
        ),
        400,
        "invalid_request",
    );
    expect(
        "a generator this server has no endpoint for",
        raw(
            &server.at("/v1/answer"),
            "application/json",
            r#"{"query": "vectors", "collection": "kb", "generator": "openai"}"#,
        ),
        400,
        "invalid_request",
    );
    expect(
        "bad collection name",
        raw(
            &server.at("/v1/collections"),
            "application/json",
            r#"{"name": "../etc"}"#,
        ),
        400,
        "invalid_collection_name",
    );
    expect(
        "duplicate collection",
        raw(
            &server.at("/v1/collections"),
            "application/json",
            r#"{"name": "kb"}"#,
        ),
        409,
        "collection_exists",
    );

    let upload = |part: multipart::Part| {
        c.post(server.at("/v1/collections/kb/documents"))
            .multipart(multipart::Form::new().part("file", part))
            .send()
            .unwrap()
    };
    expect(
        "empty file",
        upload(multipart::Part::bytes(Vec::new()).file_name("empty.txt")),
        400,
        "empty_file",
    );
    expect(
        "path traversal",
        upload(multipart::Part::bytes(b"hello".to_vec()).file_name("../../etc/passwd")),
        400,
        "invalid_file_name",
    );
    expect(
        "file part without a name",
        c.post(server.at("/v1/collections/kb/documents"))
            .multipart(multipart::Form::new().text("file", "x"))
            .send()
            .unwrap(),
        400,
        "invalid_file",
    );
    expect(
        "no files",
        c.post(server.at("/v1/collections/kb/documents"))
            .multipart(multipart::Form::new().text("domain", "hr"))
            .send()
            .unwrap(),
        400,
        "no_files",
    );
    expect(
        "upload not multipart",
        raw(
            &server.at("/v1/collections/kb/documents"),
            "application/json",
            "{}",
        ),
        415,
        "unsupported_media_type",
    );
    let (status, v) = oversized(
        &server,
        "/v1/collections/kb/documents",
        "multipart/form-data; boundary=XYZ",
        "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\n\r\naaaa",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "oversized upload: {v}"
    );
    // A body with a length, sent with the head: a streamed (chunked) multipart body races
    // the early 404 (the server closes the connection while the client still writes).
    let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhi\r\n--b--\r\n";
    expect(
        "upload to unknown collection",
        c.post(server.at("/v1/collections/nope/documents"))
            .header("content-type", "multipart/form-data; boundary=b")
            .body(body)
            .send()
            .unwrap(),
        404,
        "collection_not_found",
    );
    expect(
        "unknown route",
        c.get(server.at("/v1/nothing")).send().unwrap(),
        404,
        "route_not_found",
    );
    expect(
        "unknown job",
        c.get(server.at("/v1/jobs/123")).send().unwrap(),
        404,
        "job_not_found",
    );
    expect(
        "bad paging",
        c.get(server.at("/v1/collections/kb/documents?limit=0"))
            .send()
            .unwrap(),
        400,
        "invalid_query",
    );

    // A corrupt file is a per-file failure in the job, not a request error.
    let (s, job) = json_of(upload(
        multipart::Part::bytes(b"%PDF-1.7 not really".to_vec()).file_name("broken.pdf"),
    ));
    assert_eq!(s, 200, "{job}");
    assert_eq!(job["files"][0]["status"], "failed", "{job}");
    assert!(
        job["files"][0]["error"].as_str().unwrap().len() > 5,
        "{job}"
    );

    let after = stats();
    assert_eq!(
        before["documents"], after["documents"],
        "nothing stored by bad input"
    );
    assert_eq!(before["chunks"], after["chunks"]);
    assert_eq!(before["version"], after["version"]);
    let (s, _) = json_of(c.get(server.at("/health/detailed")).send().unwrap());
    assert_eq!(s, 200);
}

#[test]
fn openapi_docs_ui_and_embeddings_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = server.client();
    let (s, spec) = json_of(c.get(server.at("/openapi.json")).send().unwrap());
    assert_eq!(s, 200);
    assert!(spec["paths"]["/v1/answer"]["post"].is_object());
    for (path, needle) in [
        ("/", "drop"),
        ("/docs", "openapi.json"),
        ("/assets/app.js", "/v1/answer"),
        ("/meetings", "meetings.js"),
        ("/assets/common.js", "localStorage"),
        ("/assets/meetings.js", "/v1/memory/query"),
    ] {
        let r = c.get(server.at(path)).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body = r.text().unwrap();
        assert!(body.contains(needle), "{path}");
        assert!(
            !body.contains("https://"),
            "{path} loads nothing from the network"
        );
    }
    let (s, v) = post_json(
        &c,
        &server.at("/v1/embeddings"),
        json!({"model": "all-MiniLM-L6-v2", "input": ["hello world", "bonjour"]}),
    );
    assert_eq!(s, 200, "{v}");
    let e = v["data"][0]["embedding"].as_array().unwrap();
    assert_eq!(e.len(), 384);
    let norm: f64 = e.iter().map(|x| x.as_f64().unwrap().powi(2)).sum();
    assert!((norm - 1.0).abs() < 1e-3, "unit length: {norm}");
    let (s, v) = json_of(c.get(server.at("/v1/models")).send().unwrap());
    assert_eq!(s, 200);
    assert_eq!(v["data"][0]["id"], "lore");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(ids.contains(&"memory"), "{ids:?}");
}
