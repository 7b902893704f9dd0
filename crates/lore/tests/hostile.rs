//! Issue 13: the hostile-client suite. Every probe of the hostile test is replayed against
//! a real `lore serve` and must end in an expected 4xx or a per-file error, with the
//! server still serving, `lore verify` consistent afterwards and no raw PII in the log.
//! Tests are named after the hole they close (`issue13_N_...`), plus a route × role ×
//! scope matrix.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::http::{assert_error, client_with_key, json_of, post_json};
use common::{key, lore, Server};
use reqwest::blocking::{multipart, Client};
use serde_json::{json, Value};

const HR_DOC: &str = "httpd-howto-access.html";
const ENG_DOC: &str = "rust-book-ch04-01-what-is-ownership.md";

/// Collection `kb` (an hr and an engineering document) and collection `other`, ingested
/// once per test binary; each test works on a copy.
fn template() -> &'static Path {
    static DATA: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, data) = DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let docs = common::docs_dir();
        for (collection, file, domain) in [
            ("kb", HR_DOC, "hr"),
            ("kb", ENG_DOC, "engineering"),
            ("other", ENG_DOC, "engineering"),
        ] {
            common::stdout_ok(&common::run(
                lore(&data)
                    .args(["ingest", "--collection", collection, "--domain", domain])
                    .arg(docs.join(file)),
            ));
        }
        (dir, data)
    });
    data
}

fn copy(to: &Path, config: &str) -> PathBuf {
    common::copy_data_dir(template(), to, config)
}

fn upload(
    c: &Client,
    server: &Server,
    collection: &str,
    files: Vec<(&str, Vec<u8>)>,
    domain: Option<&str>,
) -> (u16, Value) {
    let mut form = multipart::Form::new();
    for (name, bytes) in files {
        form = form.part(
            "file",
            multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    if let Some(d) = domain {
        form = form.text("domain", d.to_string());
    }
    json_of(
        c.post(server.at(&format!(
            "/v1/collections/{collection}/documents?wait_ms=100000"
        )))
        .multipart(form)
        .send()
        .unwrap(),
    )
}

fn file_status(job: &Value, name: &str) -> (String, Option<String>) {
    let f = job["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files in {job}"))
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {job}"));
    (
        f["status"].as_str().unwrap().to_string(),
        f["code"].as_str().map(str::to_string),
    )
}

fn health(server: &Server) -> u16 {
    common::http::client()
        .get(server.at("/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Stops the server and checks the store with `lore verify`.
fn stop_and_verify(mut server: Server, data: &Path) {
    assert!(server.stop(), "server did not stop cleanly");
    for c in ["kb", "other"] {
        common::assert_consistent(data, c);
    }
}

#[test]
fn issue13_1_hostile_files_are_per_file_errors_and_the_server_lives() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    let writer = client_with_key(&key(&data, &["--role", "writer"]));
    let files: Vec<(&str, Vec<u8>)> = lore_ingest::samples::all()
        .into_iter()
        // The 100,000-deep Markdown is 465 chunks to embed (80 s here): lore-ingest's tests
        // cover its extraction.
        .filter(|(n, _)| !n.contains("100k-div") && !n.ends_with(".md"))
        .collect();
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let (s, job) = upload(&writer, &server, "kb", files, Some("eng"));
    assert_eq!(s, 200, "{job}");
    for name in names {
        let (status, code) = file_status(&job, name);
        let expected: &[&str] = match name {
            n if n.starts_with("bomb") => &["file_too_large"],
            n if n.ends_with(".html") => &["file_too_deep"],
            "self-drawing-form.pdf" => &["file_too_deep"],
            "doubling-forms.pdf" => &["file_too_large", "file_too_deep"],
            "parent-cycle.pdf" => &["file_too_deep", "corrupt_file", "no_text"],
            "nested-100k-arrays.pdf" => &["ok", "corrupt_file", "no_text", "parser_failed"],
            _ => &["ok"],
        };
        let got = if status == "added" {
            "ok".to_string()
        } else {
            code.clone().unwrap_or_default()
        };
        assert!(
            expected.contains(&got.as_str()),
            "{name}: {status} {code:?}"
        );
    }
    assert_eq!(health(&server), 200);
    // The text of the 100,000-deep DOCX is searchable.
    let (s, v) = post_json(
        &writer,
        &server.at("/v1/search"),
        json!({"query": "cell deep", "collection": "kb", "mode": "bm25"}),
    );
    assert_eq!(s, 200);
    assert!(v["hits"].to_string().contains("nested-100k.docx"), "{v}");
    stop_and_verify(server, &data);
}

#[test]
fn issue13_2_scoped_admin_cannot_widen_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    let scoped_key = key(
        &data,
        &[
            "--role",
            "admin",
            "--collections",
            "kb",
            "--domains",
            "hr",
            "--rate",
            "100/min",
            "--expires",
            "30d",
        ],
    );
    let scoped = client_with_key(&scoped_key);
    let keys = server.at("/v1/admin/keys");
    for (what, body) in [
        ("unrestricted", json!({"name": "x", "role": "admin"})),
        (
            "more collections",
            json!({"name": "x", "role": "reader", "collections": ["kb", "other"], "domains": ["hr"]}),
        ),
        (
            "more domains",
            json!({"name": "x", "role": "reader", "collections": ["kb"], "domains": ["hr", "engineering"]}),
        ),
        (
            "higher rate",
            json!({"name": "x", "role": "reader", "collections": ["kb"], "domains": ["hr"], "rate": "1000/min"}),
        ),
        (
            "later expiry",
            json!({"name": "x", "role": "reader", "collections": ["kb"], "domains": ["hr"], "expires": "400d"}),
        ),
    ] {
        let (s, v) = post_json(&scoped, &keys, body);
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("key_scope_exceeded")),
            "{what}: {v}"
        );
    }
    // Within its scope: created, with the creator's quota and expiry inherited.
    let (s, v) = post_json(
        &scoped,
        &keys,
        json!({"name": "hr-reader", "role": "reader", "collections": ["kb"], "domains": ["hr"]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["rate"], "100/min", "{v}");
    assert!(v["expires_at"].is_i64(), "{v}");
    // It lists and revokes only keys within its scope.
    let (_, listed) = json_of(scoped.get(&keys).send().unwrap());
    let listed: Vec<String> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_string())
        .collect();
    assert!(listed.contains(&"hr-reader".to_string()), "{listed:?}");
    assert!(
        !listed.contains(&"tests".to_string()),
        "the unscoped admin key is listed: {listed:?}"
    );
    let admin_id = server.key.split('_').nth(2).unwrap().to_string();
    let (s, v) = json_of(scoped.delete(format!("{keys}/{admin_id}")).send().unwrap());
    assert_error(s, &v, 404, "key_not_found");
    assert_eq!(health(&server), 200);
    // Data about every collection: unscoped admins only.
    for path in [
        "/v1/admin/analytics",
        "/metrics",
        "/v1/admin/config",
        "/v1/cache/stats",
    ] {
        let r = scoped.get(server.at(path)).send().unwrap();
        assert_eq!(r.status().as_u16(), 403, "{path}");
        assert_eq!(
            server
                .client()
                .get(server.at(path))
                .send()
                .unwrap()
                .status()
                .as_u16(),
            200,
            "{path}"
        );
    }
    let r = scoped.delete(server.at("/v1/cache")).send().unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // The unscoped admin still works, and the scoped admin's own key still works.
    let (s, _) = json_of(server.client().get(&keys).send().unwrap());
    assert_eq!(s, 200);
    stop_and_verify(server, &data);
}

#[test]
fn issue13_3_domain_writer_never_touches_another_domain() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    let admin = server.client();
    let rust = client_with_key(&key(&data, &["--role", "writer", "--domains", "rust"]));
    let hr_policy = b"# Leave policy\n\nEmployees get 30 days of paid leave per year.\n".to_vec();
    let (s, job) = upload(
        &admin,
        &server,
        "kb",
        vec![("policy.md", hr_policy)],
        Some("hr"),
    );
    assert_eq!(
        (s, file_status(&job, "policy.md").0.as_str()),
        (200, "added"),
        "{job}"
    );

    // Same answer whether the name exists in another domain or not.
    let rust_policy = b"# Crate policy\n\nEvery crate pins its dependencies.\n".to_vec();
    let (s, job) = upload(
        &rust,
        &server,
        "kb",
        vec![
            ("policy.md", rust_policy.clone()),
            ("fresh.md", rust_policy),
        ],
        None,
    );
    assert_eq!(s, 200, "{job}");
    assert_eq!(
        file_status(&job, "policy.md"),
        file_status(&job, "fresh.md")
    );
    assert_eq!(file_status(&job, "policy.md").0, "added");

    // The HR document is intact, in its domain, with its text.
    let (_, docs) = json_of(
        admin
            .get(server.at("/v1/collections/kb/documents"))
            .send()
            .unwrap(),
    );
    let docs = docs["documents"].as_array().unwrap().clone();
    let hr = docs
        .iter()
        .find(|d| d["source"] == "policy.md")
        .expect("hr policy kept");
    assert_eq!(hr["metadata"]["domain"], "hr");
    assert!(docs
        .iter()
        .any(|d| d["source"] == "rust/policy.md" && d["metadata"]["domain"] == "rust"));
    let (_, v) = post_json(
        &admin,
        &server.at("/v1/search"),
        json!({"query": "paid leave days", "collection": "kb", "mode": "bm25"}),
    );
    assert_eq!(v["hits"][0]["source"], "policy.md", "{v}");

    // Deleting or reading it by id: the same 404 as an id that does not exist.
    let id = hr["id"].as_i64().unwrap();
    let (s1, gone) = json_of(
        rust.delete(server.at(&format!("/v1/collections/kb/documents/{id}")))
            .send()
            .unwrap(),
    );
    let (s2, missing) = json_of(
        rust.delete(server.at("/v1/collections/kb/documents/999999"))
            .send()
            .unwrap(),
    );
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(gone["error"]["code"], missing["error"]["code"]);
    let (s, _) = json_of(
        admin
            .get(server.at(&format!("/v1/collections/kb/documents/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "the hr document survived");
    stop_and_verify(server, &data);
}

#[test]
fn issue13_5_log_lines_stay_json_and_hold_no_pii() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let log = dir.path().join("server.log");
    let server = Server::start_logged(&data, &[], &[("LORE_LOG", "debug")], &log);
    let c = server.client();
    let pii = [
        "+33 1 42 68 53 00",
        "fr1420041010050500013m02606",
        "jane.doe@example.com",
    ];
    for i in 0..60 {
        let q = format!("call {} or {} about {} ({i})", pii[0], pii[2], pii[1]);
        // The request id is the client's text and goes on every log line of the request.
        let r = c
            .post(server.at("/v1/search"))
            .header("x-request-id", format!("{} {} {i}", pii[0], pii[1]))
            .json(&json!({"query": q, "collection": "kb", "top_k": 3}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        // The question itself goes to the debug log (masked by the log writer).
        if i % 20 == 0 {
            let (s, v) = post_json(
                &c,
                &server.at("/v1/answer"),
                json!({"query": q, "collection": "kb", "generator": "extractive"}),
            );
            assert_eq!(s, 200, "{v}");
        }
        // A parser panic on an uploaded file is logged as a JSON line too.
        if i == 0 {
            let arrays = lore_ingest::samples::pdf_nested_arrays(100_000);
            let (s, _) = upload(&c, &server, "kb", vec![("arrays.pdf", arrays)], None);
            assert_eq!(s, 200);
        }
    }
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut access = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["fields"]["latency_ms"].is_number() {
            access += 1;
        }
        assert!(
            !line.contains("[PHONE]") || !v["fields"]["latency_ms"].is_string(),
            "{line}"
        );
    }
    assert!(access >= 60, "{access} access lines with a numeric latency");
    for raw in pii {
        assert!(!text.contains(raw), "raw {raw} in the log");
    }
    let sample: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("request_id") && !l.contains("-4"))
        .take(3)
        .collect();
    assert!(
        text.contains("[PHONE]") && text.contains("[IBAN]"),
        "masked ids expected in the log: {sample:?}"
    );
}

/// Whether the server closed `s` (EOF or reset) within `deadline`.
fn closed_by(s: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let _ = s.set_read_timeout(Some(left.min(Duration::from_millis(500))));
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn issue13_6_idle_and_slow_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(
        dir.path(),
        "[connections]\nheader_read_timeout = \"2s\"\nmax_connections = 600\n",
    );
    let server = Server::start(&data, &[]);
    let addr = server.url.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let mut conns: Vec<TcpStream> = (0..500)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    // Some send half a request head, some a whole request then sit idle (keep-alive).
    for (i, c) in conns.iter_mut().enumerate() {
        match i % 3 {
            0 => {}
            1 => c.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap(),
            _ => c
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap(),
        }
    }
    // /health answers while they are open.
    assert_eq!(health(&server), 200);
    // A client dribbling its headers a byte at a time is cut off too.
    let mut slow = TcpStream::connect(&addr).unwrap();
    let head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut = false;
    for b in head {
        if slow.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(health(&server), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let closed = conns
        .iter_mut()
        .filter_map(|c| closed_by(c, deadline).then_some(()))
        .count();
    assert_eq!(
        closed,
        500,
        "idle connections still open after {:?}",
        started.elapsed()
    );
    assert!(
        cut || closed_by(&mut slow, deadline),
        "dribbled headers were accepted"
    );
    assert_eq!(health(&server), 200);
    // Past max_connections a connection is closed at once, and /health recovers after.
    let extra: Vec<TcpStream> = (0..620)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    let refused = {
        let mut n = 0;
        for mut c in extra {
            if closed_by(&mut c, Instant::now() + Duration::from_millis(200)) {
                n += 1;
            }
        }
        n
    };
    assert!(refused >= 20, "{refused} connections refused past the cap");
    let deadline = Instant::now() + Duration::from_secs(10);
    while health(&server) != 200 {
        assert!(Instant::now() < deadline, "/health did not recover");
    }
}

#[test]
fn issue13_7_per_request_cost_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    let c = server.client();
    let many: Vec<String> = (0..257).map(|i| format!("text {i}")).collect();
    let (s, v) = post_json(
        &c,
        &server.at("/v1/embeddings"),
        json!({"model": "all-MiniLM-L6-v2", "input": many}),
    );
    assert_error(s, &v, 400, "invalid_input");
    let (s, v) = post_json(
        &c,
        &server.at("/v1/embeddings"),
        json!({"model": "all-MiniLM-L6-v2", "input": "x".repeat(70_000)}),
    );
    assert_error(s, &v, 400, "input_too_long");
    let (s, v) = post_json(
        &c,
        &server.at("/v1/answer"),
        json!({"query": "ownership", "collection": "kb", "top_k": 1000}),
    );
    assert_error(s, &v, 400, "invalid_request");
    // A client that gives up on a long embeddings request: the server stays responsive.
    let big: Vec<String> = (0..256)
        .map(|i| format!("sentence number {i} about memory ownership and borrowing"))
        .collect();
    let quick = Client::builder()
        .timeout(Duration::from_millis(200))
        .default_headers({
            let mut h = reqwest::header::HeaderMap::new();
            h.insert(
                "authorization",
                format!("Bearer {}", server.key).parse().unwrap(),
            );
            h
        })
        .build()
        .unwrap();
    assert!(quick
        .post(server.at("/v1/embeddings"))
        .json(&json!({"model": "all-MiniLM-L6-v2", "input": big}))
        .send()
        .is_err());
    assert_eq!(health(&server), 200);
}

#[test]
fn issue13_8_outside_the_scope_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    let admin = server.client();
    let hr_reader = client_with_key(&key(&data, &["--role", "reader", "--domains", "hr"]));
    let other_only = client_with_key(&key(&data, &["--role", "writer", "--collections", "other"]));

    // Jobs: another key's job is a job that does not exist.
    let (_, job) = upload(
        &admin,
        &server,
        "kb",
        vec![("a.md", b"# A\n\nalpha text\n".to_vec())],
        None,
    );
    let id = job["id"].as_str().unwrap();
    let (s1, a) = json_of(
        other_only
            .get(server.at(&format!("/v1/jobs/{id}")))
            .send()
            .unwrap(),
    );
    let (s2, b) = json_of(other_only.get(server.at("/v1/jobs/nope")).send().unwrap());
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(a["error"]["code"], b["error"]["code"]);

    // Collections: out of scope answers like missing, word for word but the name.
    for (method, path) in [
        ("GET", "/v1/collections/{}"),
        ("GET", "/v1/collections/{}/documents"),
        ("DELETE", "/v1/collections/{}"),
    ] {
        let call = |name: &str| {
            let url = server.at(&path.replace("{}", name));
            let r = if method == "GET" {
                other_only.get(url)
            } else {
                other_only.delete(url)
            };
            json_of(r.send().unwrap())
        };
        let (s1, a) = call("kb");
        let (s2, b) = call("nope");
        assert_eq!((s1, s2), (404, 404), "{method} {path}");
        assert_eq!(a["error"]["code"], b["error"]["code"]);
        assert_eq!(
            a["error"]["message"]
                .as_str()
                .unwrap()
                .replace("kb", "nope"),
            b["error"]["message"]
        );
    }
    let (s, v) = post_json(
        &other_only,
        &server.at("/v1/search"),
        json!({"query": "x", "collection": "kb"}),
    );
    assert_error(s, &v, 404, "collection_not_found");
    let chat = |model: &str| {
        post_json(
            &other_only,
            &server.at("/v1/chat/completions"),
            json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        )
    };
    let ((s1, a), (s2, b)) = (chat("kb"), chat("nope"));
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(a["error"]["code"], b["error"]["code"]);
    let (_, models) = json_of(other_only.get(server.at("/v1/models")).send().unwrap());
    assert!(!models.to_string().contains("\"kb\""), "{models}");

    // Stats count only the key's domains; another domain's document is missing.
    let (_, all) = json_of(admin.get(server.at("/v1/collections/kb")).send().unwrap());
    let (_, hr) = json_of(
        hr_reader
            .get(server.at("/v1/collections/kb"))
            .send()
            .unwrap(),
    );
    assert_eq!(hr["documents"], 1, "{hr}");
    assert!(
        all["documents"].as_u64().unwrap() > 1 && hr["chunks"].as_u64() < all["chunks"].as_u64()
    );
    let (_, docs) = json_of(
        admin
            .get(server.at("/v1/collections/kb/documents"))
            .send()
            .unwrap(),
    );
    let eng = docs["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metadata"]["domain"] == "engineering")
        .unwrap()["id"]
        .clone();
    let (s1, a) = json_of(
        hr_reader
            .get(server.at(&format!("/v1/collections/kb/documents/{eng}")))
            .send()
            .unwrap(),
    );
    let (s2, b) = json_of(
        hr_reader
            .get(server.at("/v1/collections/kb/documents/999999"))
            .send()
            .unwrap(),
    );
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(a["error"]["code"], b["error"]["code"]);
    stop_and_verify(server, &data);
}

#[test]
fn issue13_9_names_headers_and_error_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    let c = server.client();
    // The auth scheme is case-insensitive (RFC 7235 §2.1).
    let r = common::http::client()
        .get(server.at("/v1/collections"))
        .header("authorization", format!("BEARER {}", server.key))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Every 4xx is JSON, path parameters included. A document is named by id or by
    // source: a name that is neither is a 404 like any missing document.
    for (method, path, status, code) in [
        (
            "GET",
            "/v1/collections/kb/documents/abc",
            404,
            "document_not_found",
        ),
        (
            "DELETE",
            "/v1/collections/kb/documents/1.5",
            404,
            "document_not_found",
        ),
        (
            "GET",
            "/v1/collections/kb/documents?limit=x",
            400,
            "invalid_query",
        ),
    ] {
        let m: reqwest::Method = method.parse().unwrap();
        let (s, v) = json_of(c.request(m, server.at(path)).send().unwrap());
        assert_error(s, &v, status, code);
    }
    // Collection names: reserved, leading dash, invisible or reordering characters.
    for name in [
        "lore",
        "-rf",
        "\u{200b}",
        "a\u{202e}b",
        "\u{2066}x",
        " ",
        ".hidden",
    ] {
        let (s, v) = post_json(&c, &server.at("/v1/collections"), json!({"name": name}));
        assert_error(s, &v, 400, "invalid_collection_name");
    }
    // Metadata labels are checked the same way.
    let (s, v) = upload(
        &c,
        &server,
        "kb",
        vec![("x.md", b"# x\n\ntext\n".to_vec())],
        Some("h\u{202e}r"),
    );
    assert_error(s, &v, 400, "invalid_metadata");
    // The same collection twice in one search.
    let (s, v) = post_json(
        &c,
        &server.at("/v1/search"),
        json!({"query": "ownership", "collections": ["kb", "kb"]}),
    );
    assert_error(s, &v, 400, "duplicate_collection");
    stop_and_verify(server, &data);
}

/// Every route × {no key, reader, writer, admin} × {unscoped, collection-scoped,
/// domain-scoped}: the expected status of each cell, and no cell sees another scope's
/// data (the hr document's source never appears for keys without hr).
#[test]
fn route_role_scope_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Scope {
        Unscoped,
        Collection,
        Domain,
    }
    let mut callers: Vec<(String, Option<&str>, Scope, Client)> = vec![(
        "no key".into(),
        None,
        Scope::Unscoped,
        common::http::client(),
    )];
    for role in ["reader", "writer", "admin"] {
        for scope in [Scope::Unscoped, Scope::Collection, Scope::Domain] {
            let mut args = vec!["--role", role, "--rate", "unlimited"];
            match scope {
                Scope::Unscoped => {}
                Scope::Collection => args.extend(["--collections", "other"]),
                Scope::Domain => args.extend(["--domains", "engineering"]),
            }
            callers.push((
                format!("{role}/{scope:?}"),
                Some(role),
                scope,
                client_with_key(&key(&data, &args)),
            ));
        }
    }
    let rank = |r: &str| {
        ["reader", "writer", "admin"]
            .iter()
            .position(|x| *x == r)
            .unwrap()
    };
    /// (method, path, body, role needed, needs an unscoped admin, touches collection kb)
    type Route = (
        &'static str,
        &'static str,
        Option<Value>,
        &'static str,
        bool,
        bool,
    );
    let routes: Vec<Route> = vec![
        ("GET", "/v1/collections/kb", None, "reader", false, true),
        (
            "GET",
            "/v1/collections/kb/documents",
            None,
            "reader",
            false,
            true,
        ),
        (
            "POST",
            "/v1/search",
            Some(json!({"query": "access control ownership", "collection": "kb", "mode": "bm25"})),
            "reader",
            false,
            true,
        ),
        ("GET", "/v1/admin/keys", None, "admin", false, false),
        ("GET", "/v1/admin/analytics", None, "admin", true, false),
        ("GET", "/v1/admin/config", None, "admin", true, false),
        ("GET", "/v1/cache/stats", None, "admin", true, false),
        ("GET", "/metrics", None, "admin", true, false),
        ("GET", "/health/detailed", None, "admin", false, false),
        ("GET", "/v1/jobs/none", None, "writer", false, false),
        ("GET", "/v1/collections", None, "reader", false, false),
        ("GET", "/v1/models", None, "reader", false, false),
        (
            "POST",
            "/v1/answer",
            Some(json!({"query": "access control", "collection": "kb", "generator": "extractive"})),
            "reader",
            false,
            true,
        ),
    ];
    let mut cells = 0;
    for (method, path, body, needs, unscoped_only, kb) in &routes {
        for (who, role, scope, client) in &callers {
            let req = match *method {
                "GET" => client.get(server.at(path)),
                _ => client.post(server.at(path)).json(body.as_ref().unwrap()),
            };
            let r = req.send().unwrap();
            let status = r.status().as_u16();
            let text = r.text().unwrap();
            let expected = match role {
                None => 401,
                Some(r) if rank(r) < rank(needs) => 403,
                Some(_) if *unscoped_only && *scope != Scope::Unscoped => 403,
                Some(_) if *kb && *scope == Scope::Collection => 404,
                Some(_) if path.starts_with("/v1/jobs") => 404,
                Some(_) => 200,
            };
            assert_eq!(status, expected, "{method} {path} as {who}: {text}");
            if *scope != Scope::Unscoped {
                assert!(
                    !text.contains(HR_DOC),
                    "{method} {path} as {who} sees the hr document: {text}"
                );
            }
            cells += 1;
        }
    }
    assert_eq!(cells, routes.len() * 10);
    stop_and_verify(server, &data);
}
