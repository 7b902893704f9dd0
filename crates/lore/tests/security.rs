//! Issue 6 end to end: API keys (roles, domains, collections, revocation, expiry), rate
//! limits (in process and shared through a real redis-server), PII masking of questions,
//! answers and logs, blocked topics, hostile inputs, CORS, `/metrics` and analytics.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use common::http::{client, client_with_key, json_of, post_json, sse_events};
use common::{free_port, key, lore, Redis, Server};
use serde_json::{json, Value};

const HR_DOC: &str = "httpd-howto-access.html";
const ENG_DOC: &str = "rust-book-ch04-01-what-is-ownership.md";
/// A policy page with every kind of PII, written by the test (the shared corpus has none).
const PII_DOC: &str =
    "# HR contacts\n\nFor leave requests write to jane.doe@example.com or call +1 415-555-0132. \
Payroll pays from IBAN DE89 3704 0044 0532 0130 00. The test employee has SSN 123-45-6789 and \
corporate card 4111 1111 1111 1111. The HR portal runs on 10.20.30.40.\n";
const RAW_PII: [&str; 6] = [
    "jane.doe@example.com",
    "415-555-0132",
    "DE89 3704 0044 0532 0130 00",
    "123-45-6789",
    "4111 1111 1111 1111",
    "10.20.30.40",
];

/// A data dir with collection `kb`: an hr document (with PII) and an engineering one,
/// ingested once per test binary; each test works on its own copy.
fn template() -> &'static Path {
    static DATA: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, data) = DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let docs = common::docs_dir();
        let pii = dir.path().join("hr-contacts.md");
        std::fs::write(&pii, PII_DOC).unwrap();
        for (file, domain) in [
            (docs.join(HR_DOC), "hr"),
            (pii, "hr"),
            (docs.join(ENG_DOC), "engineering"),
        ] {
            let out = common::run(
                lore(&data)
                    .args(["ingest", "--collection", "kb", "--domain", domain])
                    .arg(file),
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        (dir, data)
    });
    data
}

fn copy(to: &Path, config: &str) -> PathBuf {
    common::copy_data_dir(template(), to, config)
}

fn sources(v: &Value, field: &str) -> Vec<String> {
    v[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
        .iter()
        .map(|h| h["source"].as_str().unwrap().to_string())
        .collect()
}

fn only_hr(sources: &[String], what: &str) {
    assert!(!sources.is_empty(), "{what}: nothing retrieved");
    no_engineering(sources, what);
}

fn no_engineering(sources: &[String], what: &str) {
    for s in sources {
        assert!(
            !s.contains("rust-book"),
            "{what}: engineering chunk {s} reached an hr key"
        );
    }
}

const QUESTION: &str = "What is ownership in Rust and how does the borrow checker use it?";

#[test]
fn a_domain_restricted_key_never_sees_another_domain() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    let admin = server.client();
    let hr = client_with_key(&key(&data, &["--role", "reader", "--domains", "hr"]));
    let search = json!({"query": QUESTION, "collection": "kb", "top_k": 10});

    // The admin sees the engineering chapter first; the hr key never, on any path.
    let (s, v) = post_json(&admin, &server.at("/v1/search"), search.clone());
    assert_eq!(s, 200, "{v}");
    assert!(sources(&v, "hits")[0].contains("rust-book"), "{v}");
    let (s, v) = post_json(&hr, &server.at("/v1/search"), search.clone());
    assert_eq!(s, 200, "{v}");
    only_hr(&sources(&v, "hits"), "search");
    assert!(
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["domain"] == "hr"),
        "{v}"
    );
    for mode in ["bm25", "dense"] {
        let mut q = search.clone();
        q["mode"] = json!(mode);
        let (_, v) = post_json(&hr, &server.at("/v1/search"), q);
        only_hr(&sources(&v, "hits"), mode);
    }
    // Asking for the other domain explicitly narrows to nothing, not to it.
    let mut q = search.clone();
    q["filters"] = json!(["domain=engineering"]);
    let (s, v) = post_json(&hr, &server.at("/v1/search"), q);
    assert_eq!((s, v["hits"].as_array().unwrap().len()), (200, 0), "{v}");

    // The admin's answer is cached; the hr key's same question is not served from it.
    let ask = json!({"query": QUESTION, "collection": "kb"});
    let (_, a1) = post_json(&admin, &server.at("/v1/answer"), ask.clone());
    let (_, a2) = post_json(&admin, &server.at("/v1/answer"), ask.clone());
    assert_eq!(a2["cached"], "exact", "{a2}");
    assert!(sources(&a1, "context")
        .iter()
        .any(|s| s.contains("rust-book")));
    let (s, v) = post_json(&hr, &server.at("/v1/answer"), ask.clone());
    assert_eq!(s, 200, "{v}");
    assert_ne!(
        v["cached"], "exact",
        "an admin's cached answer reached an hr key: {v}"
    );
    only_hr(&sources(&v, "context"), "answer");
    let (_, v) = post_json(&hr, &server.at("/v1/answer"), ask.clone());
    assert_eq!(v["cached"], "exact", "the hr key's own entry: {v}");
    only_hr(&sources(&v, "context"), "answer from the cache");

    // Streamed answer: the retrieval event.
    let mut q = ask.clone();
    q["stream"] = json!(true);
    let body = hr
        .post(server.at("/v1/answer"))
        .json(&q)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let events = sse_events(&body);
    let (_, retrieval) = events
        .iter()
        .find(|(e, _)| e == "retrieval")
        .expect("retrieval event");
    let retrieval: Value = serde_json::from_str(retrieval).unwrap();
    only_hr(&sources(&retrieval, "passages"), "streamed answer");

    // The OpenAI-compatible endpoint.
    let chat = json!({"model": "kb", "messages": [{"role": "user", "content": QUESTION}]});
    let (s, v) = post_json(&hr, &server.at("/v1/chat/completions"), chat);
    assert_eq!(s, 200, "{v}");
    // The hr passages do not answer this: the extractive answer may cite nothing, but
    // never the engineering chapter.
    no_engineering(&sources(&v, "citations"), "chat completion");
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(!text.contains("rust-book"), "{text}");

    // Documents: listed and fetched within the domain only.
    let (_, list) = json_of(
        hr.get(server.at("/v1/collections/kb/documents"))
            .send()
            .unwrap(),
    );
    assert_eq!(list["total"], 2, "{list}");
    only_hr(&sources(&list, "documents"), "document list");
    let (_, all) = json_of(
        admin
            .get(server.at("/v1/collections/kb/documents"))
            .send()
            .unwrap(),
    );
    let eng = all["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["source"].as_str().unwrap().contains("rust-book"))
        .unwrap()["id"]
        .clone();
    let (s, v) = json_of(
        hr.get(server.at(&format!("/v1/collections/kb/documents/{eng}")))
            .send()
            .unwrap(),
    );
    // Another domain's document reads exactly like a missing one.
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("document_not_found")),
        "{v}"
    );

    // A key limited to another collection cannot use this one at all: it is a collection
    // that does not exist, as far as the key can tell.
    let other = client_with_key(&key(&data, &["--role", "reader", "--collections", "other"]));
    let (s, v) = post_json(&other, &server.at("/v1/search"), search);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("collection_not_found")),
        "{v}"
    );
    let (_, v) = json_of(other.get(server.at("/v1/collections")).send().unwrap());
    assert_eq!(v["collections"], json!([]), "{v}");
    let (s, _) = post_json(
        &other,
        &server.at("/v1/chat/completions"),
        json!({"model": "kb", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(s, 404);
}

#[test]
fn keys_roles_revocation_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "");
    let server = Server::start(&data, &[]);
    let admin = server.client();
    let search = json!({"query": "access control", "collection": "kb"});

    let (s, v) = post_json(&client(), &server.at("/v1/search"), search.clone());
    assert_eq!(
        (s, v["error"]["code"].as_str(), v["error"]["type"].as_str()),
        (401, Some("missing_api_key"), Some("auth"))
    );
    let fake = client_with_key(
        "lore_sk_000000000000_0000000000000000000000000000000000000000000000000000000000000000",
    );
    let (s, v) = post_json(&fake, &server.at("/v1/search"), search.clone());
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    // Public routes stay public.
    assert_eq!(
        client().get(server.at("/health")).send().unwrap().status(),
        200
    );

    // Roles.
    let reader = client_with_key(&key(&data, &["--role", "reader"]));
    let writer = client_with_key(&key(&data, &["--role", "writer"]));
    let (s, v) = post_json(
        &reader,
        &server.at("/v1/collections"),
        json!({"name": "new"}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("insufficient_role")),
        "{v}"
    );
    let (s, _) = post_json(
        &writer,
        &server.at("/v1/collections"),
        json!({"name": "new"}),
    );
    assert_eq!(s, 201);
    let (s, v) = post_json(
        &writer,
        &server.at("/v1/admin/keys"),
        json!({"name": "x", "role": "admin"}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("insufficient_role")),
        "{v}"
    );
    assert_eq!(
        writer
            .delete(server.at("/v1/cache"))
            .send()
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        reader.get(server.at("/metrics")).send().unwrap().status(),
        403
    );

    // Keys over the admin API: shown once, listed without secrets, revoked at once.
    let (s, created) = post_json(
        &admin,
        &server.at("/v1/admin/keys"),
        json!({"name": "team-hr", "role": "reader", "domains": ["hr"], "rate": "100/min"}),
    );
    assert_eq!(s, 201, "{created}");
    let secret = created["key"].as_str().unwrap().to_string();
    let made = client_with_key(&secret);
    assert_eq!(
        post_json(&made, &server.at("/v1/search"), search.clone()).0,
        200
    );
    let (_, list) = json_of(admin.get(server.at("/v1/admin/keys")).send().unwrap());
    let listed = list.to_string();
    assert!(
        listed.contains("team-hr") && !listed.contains(&secret[21..]),
        "{listed}"
    );
    let id = created["id"].as_str().unwrap();
    let (s, _) = json_of(
        admin
            .delete(server.at(&format!("/v1/admin/keys/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    let (s, v) = post_json(&made, &server.at("/v1/search"), search.clone());
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("revoked_api_key"))
    );
    assert_eq!(
        admin
            .delete(server.at("/v1/admin/keys/000000000000"))
            .send()
            .unwrap()
            .status(),
        404
    );
    for bad in [
        json!({"name": "", "role": "reader"}),
        json!({"name": "x", "role": "root"}),
        json!({"name": "x", "role": "reader", "rate": "lots"}),
        json!({"name": "x", "role": "reader", "expires": "yesterday"}),
        json!({"name": "x", "role": "reader", "domains": []}),
    ] {
        let (s, v) = post_json(&admin, &server.at("/v1/admin/keys"), bad.clone());
        assert!(s == 400 || s == 422, "{bad}: {s} {v}");
    }

    // Revoked from the command line while the server runs.
    let cli_key = key(&data, &["--role", "reader"]);
    let c = client_with_key(&cli_key);
    assert_eq!(
        post_json(&c, &server.at("/v1/search"), search.clone()).0,
        200
    );
    let out = common::run(lore(&data).args(["keys", "revoke", &cli_key[8..20]]));
    assert!(out.status.success());
    assert_eq!(
        post_json(&c, &server.at("/v1/search"), search.clone()).0,
        401
    );

    // Expiry.
    let (_, short) = post_json(
        &admin,
        &server.at("/v1/admin/keys"),
        json!({"name": "short", "role": "reader", "expires": "2s"}),
    );
    let c = client_with_key(short["key"].as_str().unwrap());
    assert_eq!(
        post_json(&c, &server.at("/v1/search"), search.clone()).0,
        200
    );
    // Served until it expires, then refused as expired (never anything else).
    common::eventually("the key expires", Duration::from_secs(30), || {
        let (s, v) = post_json(&c, &server.at("/v1/search"), search.clone());
        match s {
            200 => false,
            _ => {
                assert_eq!(
                    (s, v["error"]["code"].as_str()),
                    (401, Some("expired_api_key"))
                );
                true
            }
        }
    });
}

fn status_and_headers(
    c: &reqwest::blocking::Client,
    url: &str,
) -> (u16, reqwest::header::HeaderMap) {
    let r = c
        .post(url)
        .json(&json!({"query": "access control", "collection": "kb", "mode": "bm25"}))
        .send()
        .unwrap();
    (r.status().as_u16(), r.headers().clone())
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> u64 {
    h.get(name)
        .unwrap_or_else(|| panic!("no {name} in {h:?}"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn rate_limits_per_key_per_ip_and_shared_through_redis() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy(dir.path(), "[rate_limit]\nper_ip = \"unlimited\"\n");
    let server = Server::start(&data, &[]);
    let url = server.at("/v1/search");

    // 30/min: a burst of 30, then 429 with Retry-After; one more after the wait.
    let c = client_with_key(&key(&data, &["--role", "reader", "--rate", "30/min"]));
    for i in 0..30 {
        let (s, h) = status_and_headers(&c, &url);
        assert_eq!(s, 200, "request {i}");
        assert_eq!(header(&h, "x-ratelimit-limit"), 30);
        assert_eq!(header(&h, "x-ratelimit-remaining"), 29 - i);
    }
    let (s, h) = status_and_headers(&c, &url);
    assert_eq!(s, 429);
    let retry = header(&h, "retry-after");
    assert!((1..=2).contains(&retry), "retry-after {retry}");
    assert_eq!(header(&h, "x-ratelimit-remaining"), 0);
    common::eventually("the limit refills", Duration::from_secs(retry + 10), || {
        status_and_headers(&c, &url).0 == 200
    });
    // Another key is not affected.
    assert_eq!(status_and_headers(&server.client(), &url).0, 200);
    drop(server);

    // Per client IP, before authentication (key guessing is throttled too).
    std::fs::write(data.join("lore.toml"), "[rate_limit]\nper_ip = \"3/min\"\n").unwrap();
    let server = Server::start(&data, &[]);
    let anonymous = client();
    for _ in 0..3 {
        assert_eq!(
            status_and_headers(&anonymous, &server.at("/v1/search")).0,
            401
        );
    }
    let (s, h) = status_and_headers(&server.client(), &server.at("/v1/search"));
    assert_eq!(s, 429);
    assert!(header(&h, "retry-after") >= 1);
    drop(server);

    // Shared through Redis: two servers, one quota.
    let redis = Redis::start(free_port(), dir.path());
    std::fs::write(
        data.join("lore.toml"),
        "[rate_limit]\nper_ip = \"unlimited\"\n",
    )
    .unwrap();
    // Both data dirs hold the key (copies of one catalog, as replicas restored from one backup).
    let shared_key = key(&data, &["--role", "reader", "--rate", "4/min"]);
    let b_data = dir.path().join("b");
    assert!(std::process::Command::new("cp")
        .arg("-r")
        .arg(&data)
        .arg(&b_data)
        .status()
        .unwrap()
        .success());
    let env = [("LORE_REDIS_URL", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = Server::start_with_env(&data, &[], &env);
    let b = Server::start_with_env(&b_data, &[], &env);
    let c = client_with_key(&shared_key);
    assert_eq!(status_and_headers(&c, &a.at("/v1/search")).0, 200);
    assert_eq!(status_and_headers(&c, &b.at("/v1/search")).0, 200);
    assert_eq!(status_and_headers(&c, &a.at("/v1/search")).0, 200);
    let (s, h) = status_and_headers(&c, &b.at("/v1/search"));
    assert_eq!((s, header(&h, "x-ratelimit-remaining")), (200, 0));
    assert_eq!(
        status_and_headers(&c, &a.at("/v1/search")).0,
        429,
        "A saw B's requests"
    );
    assert_eq!(status_and_headers(&c, &b.at("/v1/search")).0, 429);
}

#[test]
fn pii_is_masked_in_questions_answers_and_logs_and_hostile_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[guard]\nmask_answers = true\n[guard.blocked_topics]\nkb = [\"salary\"]\n\
        [[guard.patterns]]\nname = \"employee_id\"\nregex = \"EMP-[0-9]{6}\"\n\
        [cors]\nallowed_origins = [\"https://chat.example.com\"]\n[rate_limit]\nper_ip = \"unlimited\"\n";
    let data = copy(dir.path(), config);
    let log = dir.path().join("serve.log");
    let server = Server::start_logged(
        &data,
        &[],
        &[("LORE_LOG", "debug,tantivy=info,ort=info")],
        &log,
    );
    let c = server.client();

    // Answers and their passages reach the client masked, JSON and streamed.
    let q = "How do I reach HR for leave requests? I am bob.smith@example.org, phone +44 20 7946 0958, id EMP-123456.";
    let (s, a) = post_json(
        &c,
        &server.at("/v1/answer"),
        json!({"query": q, "collection": "kb"}),
    );
    assert_eq!(s, 200, "{a}");
    let shown = a.to_string();
    assert!(
        shown.contains("hr-contacts.md"),
        "the PII page was retrieved: {shown}"
    );
    for raw in RAW_PII
        .iter()
        .chain(&["bob.smith@example.org", "7946 0958", "EMP-123456"])
    {
        assert!(!shown.contains(raw), "{raw} reached the client: {shown}");
    }
    assert!(
        shown.contains("[EMAIL]") && shown.contains("[PHONE]"),
        "{shown}"
    );
    let body = c.post(server.at("/v1/answer")).json(&json!({"query": "Which IBAN does payroll pay from, and the SSN of the test employee?", "collection": "kb", "stream": true})).send().unwrap().text().unwrap();
    let streamed: String = sse_events(&body)
        .iter()
        .filter(|(e, _)| e == "token")
        .map(|(_, d)| {
            serde_json::from_str::<Value>(d).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(!streamed.is_empty(), "{body}");
    for raw in RAW_PII {
        assert!(!body.contains(raw), "{raw} in the stream: {body}");
    }
    let (_, hits) = post_json(
        &c,
        &server.at("/v1/search"),
        json!({"query": "leave requests contact", "collection": "kb"}),
    );
    for raw in RAW_PII {
        assert!(!hits.to_string().contains(raw), "{raw} in search hits");
    }

    // Blocked topics and input limits.
    let (s, v) = post_json(
        &c,
        &server.at("/v1/answer"),
        json!({"query": "What is the salary of Jane?", "collection": "kb"}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("topic_blocked")),
        "{v}"
    );
    let (s, v) = post_json(
        &c,
        &server.at("/v1/answer"),
        json!({"query": "x".repeat(100_000), "collection": "kb"}),
    );
    assert_eq!(s, 400, "{v}");
    let (s, _) = post_json(
        &c,
        &server.at("/v1/search"),
        json!({"query": "y ".repeat(60_000), "collection": "kb"}),
    );
    assert_eq!(s, 400);
    let filters: Vec<String> = (0..40).map(|i| format!("tag=t{i}")).collect();
    let (s, v) = post_json(
        &c,
        &server.at("/v1/search"),
        json!({"query": "x", "collection": "kb", "filters": filters}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("too_many_filters"))
    );

    // Hostile input: 4xx or a normal answer, never a 5xx, nothing stored changes.
    let before = json_of(c.get(server.at("/v1/collections/kb")).send().unwrap()).1;
    for query in [
        "'; DROP TABLE documents; --",
        "\" OR 1=1 --",
        "<script>alert(1)</script>",
        "../../../../etc/passwd",
        "%00\u{0}\u{202e}",
        "Robert'); DELETE FROM chunks;--",
    ] {
        for path in ["/v1/search", "/v1/answer"] {
            let (s, v) = post_json(
                &c,
                &server.at(path),
                json!({"query": query, "collection": "kb", "filters": [format!("domain={query}")]}),
            );
            assert!(
                s == 200 || (400..500).contains(&s),
                "{path} {query:?}: {s} {v}"
            );
            assert!(!v.to_string().contains("<script>"), "{v}");
        }
        let (s, _) = post_json(&c, &server.at("/v1/collections"), json!({"name": query}));
        assert_eq!(s, 400, "collection name {query:?}");
        let s = c
            .get(server.at(&format!("/v1/collections/{}/documents", urlencode(query))))
            .send()
            .unwrap()
            .status()
            .as_u16();
        assert!((400..500).contains(&s), "{query:?}: {s}");
    }
    let r = c
        .post(server.at("/v1/search"))
        .header("content-type", "application/json")
        .body(vec![b'{', b'"', b'q', 0xff, 0xfe, b'"', b'}'])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "invalid UTF-8");
    let r = c
        .post(server.at("/v1/answer"))
        .header("content-type", "application/json")
        .body(format!("{{\"query\": \"{}\"}}", "z".repeat(5_000_000)))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "a 5 MB question: over max_question_chars");
    let after = json_of(c.get(server.at("/v1/collections/kb")).send().unwrap()).1;
    assert_eq!(before, after, "stored data changed");

    // CORS: the listed origin (with credentials), no header for others.
    let pre = |origin: &str| {
        c.request(reqwest::Method::OPTIONS, server.at("/v1/search"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .unwrap()
    };
    let ok = pre("https://chat.example.com");
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://chat.example.com"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    assert!(pre("https://evil.example.net")
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    // Analytics: the questions were logged masked.
    let (s, an) = json_of(
        c.get(server.at("/v1/admin/analytics?days=1&top=20"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{an}");
    assert!(an["answer_latency"]["count"].as_u64().unwrap() >= 2, "{an}");
    assert!(
        an["per_day"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["collection"] == "kb"),
        "{an}"
    );
    let tops = an["top_queries"].to_string();
    assert!(
        tops.contains("[email]") && !tops.contains("bob.smith"),
        "{tops}"
    );

    // The log: masked values, never a raw one nor a key.
    let mut server = server;
    assert!(server.stop());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("\"route\":\"/v1/answer\""),
        "JSON access lines: {}",
        &text[..text.len().min(2000)]
    );
    assert!(text.contains("[EMAIL]"), "the question was logged (masked)");
    for raw in RAW_PII
        .iter()
        .chain(&["bob.smith@example.org", "7946 0958", "EMP-123456"])
    {
        assert!(!text.contains(raw), "{raw} in the log");
    }
    assert!(!text.contains(&server.key[21..]), "a key in the log");
    let db = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn metrics_parse_and_move() {
    let dir = tempfile::tempdir().unwrap();
    // The extractive generator reports the embedding model and no tokens; a price for it
    // still makes the cost series appear.
    let data = copy(
        dir.path(),
        "[prices.\"all-MiniLM-L6-v2/f32\"]\ninput_per_million = 1.0\noutput_per_million = 2.0\n",
    );
    let server = Server::start(&data, &[]);
    let c = server.client();
    let scrape = || {
        let text = c.get(server.at("/metrics")).send().unwrap().text().unwrap();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        prometheus_parse::Scrape::parse(lines).expect("Prometheus text format")
    };
    let count = |s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]| -> f64 {
        s.samples
            .iter()
            .filter(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(v)))
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    assert_eq!(
        client().get(server.at("/metrics")).send().unwrap().status(),
        401
    );
    let before = scrape();
    for _ in 0..3 {
        post_json(
            &c,
            &server.at("/v1/search"),
            json!({"query": "ownership", "collection": "kb"}),
        );
    }
    post_json(
        &c,
        &server.at("/v1/answer"),
        json!({"query": "What is ownership?", "collection": "kb"}),
    );
    post_json(
        &c,
        &server.at("/v1/answer"),
        json!({"query": "What is ownership?", "collection": "kb"}),
    );
    let _ = client().get(server.at("/v1/collections")).send();
    let after = scrape();
    let search = [("route", "/v1/search"), ("status", "200")];
    assert_eq!(
        count(&after, "lore_http_requests_total", &search)
            - count(&before, "lore_http_requests_total", &search),
        3.0
    );
    assert!(
        count(&after, "lore_auth_failures_total", &[])
            > count(&before, "lore_auth_failures_total", &[])
    );
    assert!(count(&after, "lore_cache_hits_total", &[("layer", "answer")]) >= 1.0);
    assert!(count(&after, "lore_answers_total", &[("served", "exact")]) >= 1.0);
    assert_eq!(
        count(&after, "lore_collection_documents", &[("collection", "kb")]),
        3.0
    );
    assert!(count(&after, "lore_collection_chunks", &[("collection", "kb")]) > 10.0);
    assert!(after
        .samples
        .iter()
        .any(|x| x.metric == "lore_stage_duration_seconds_count"
            && x.labels.get("stage") == Some("bm25")));
    assert!(after
        .samples
        .iter()
        .any(|x| x.metric.starts_with("lore_http_request_duration_seconds")));
    let model = [("model", "all-MiniLM-L6-v2/f32")];
    assert!(after
        .samples
        .iter()
        .any(|x| x.metric == "lore_tokens_total" && x.labels.get("model") == Some(model[0].1)));
    assert!(after
        .samples
        .iter()
        .any(|x| x.metric == "lore_cost_usd" && x.labels.get("model") == Some(model[0].1)));

    // `lore analytics` reads the same log from the data dir.
    // The query log is written by a background thread: poll for its rows.
    common::eventually(
        "the query log has the searches",
        Duration::from_secs(20),
        || {
            let out = common::run(lore(&data).args(["analytics", "--json"]));
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            v["search_latency"]["count"].as_u64().unwrap_or(0) >= 3
        },
    );
}
