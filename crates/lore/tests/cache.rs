//! The caches end to end through `lore serve`: exact and semantic answer hits (JSON, SSE,
//! OpenAI chat), never a stale answer after a document is replaced or deleted, explicit
//! invalidation by key, document, collection and all, warm-up, the lexical guard with a
//! permissive similarity threshold, TTL and size bounds from `lore.toml`, and two servers
//! sharing a real Redis that is killed mid-test.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::http::{client, json_of, post_json, sse_events, sse_text};
use common::{docs_dir, free_port, lore, Redis, Server};
use reqwest::blocking::{multipart, Client};
use serde_json::{json, Value};

/// A runbook whose facts differ only in what the lexical guard checks: on/off,
/// enable/disable, 2019/2020, Paris/Lyon.
const RUNBOOK: &str = "# Office runbook

## Alarm

To turn the alarm off, hold the red button for 5 seconds until the panel beeps twice.
To turn the alarm on, enter code 4812 on the keypad and press ARM.

## Single sign-on

To enable single sign-on, open Settings > Security and switch on SAML.
To disable single sign-on, switch SAML off and keep one local admin account.

## Revenue

Revenue in 2019 was 4.1 million euros. Revenue in 2020 was 5.3 million euros.

## Offices

The Paris office is managed by Claire Martin. The Lyon office is managed by Hugo Bernard.
";

const OFF: &str = "How do I turn the alarm off?";

/// Questions answered from the same passages that must never share an answer.
const NEGATIVES: [(&str, &str); 4] = [
    (OFF, "How do I turn the alarm on?"),
    (
        "How do I enable single sign-on?",
        "How do I disable single sign-on?",
    ),
    (
        "What was the revenue in 2019?",
        "What was the revenue in 2020?",
    ),
    (
        "Who manages the Paris office?",
        "Who manages the Lyon office?",
    ),
];

fn upload(c: &Client, server: &Server, collection: &str, files: &[(&str, Vec<u8>)]) -> Value {
    let mut form = multipart::Form::new();
    for (name, bytes) in files {
        form = form.part(
            "file",
            multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    let (s, job) = json_of(
        c.post(server.at(&format!("/v1/collections/{collection}/documents")))
            .multipart(form)
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "small uploads finish within the wait: {job}");
    assert_eq!(job["status"], "done", "{job}");
    job
}

fn ask(c: &Client, server: &Server, collection: &str, question: &str) -> Value {
    let (s, v) = post_json(
        c,
        &server.at("/v1/answer"),
        json!({"query": question, "collection": collection}),
    );
    assert_eq!(s, 200, "{v}");
    v
}

fn stats(c: &Client, server: &Server) -> Value {
    let (s, v) = json_of(c.get(server.at("/v1/cache/stats")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    v
}

fn delete(c: &Client, server: &Server, path: &str) -> (u16, Value) {
    json_of(c.delete(server.at(path)).send().unwrap())
}

fn document_id(c: &Client, server: &Server, collection: &str, source: &str) -> i64 {
    let (_, page) = json_of(
        c.get(server.at(&format!("/v1/collections/{collection}/documents?limit=100")))
            .send()
            .unwrap(),
    );
    page["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["source"] == source)
        .and_then(|d| d["id"].as_i64())
        .unwrap_or_else(|| panic!("{source} not in {page}"))
}

#[test]
fn answers_are_cached_reused_and_never_stale() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = server.client();
    for name in ["ops", "mixed"] {
        let (s, v) = post_json(&c, &server.at("/v1/collections"), json!({ "name": name }));
        assert_eq!(s, 201, "{v}");
    }
    // `ops` holds the runbook alone (every question retrieves the same passages);
    // `mixed` holds it among real documents.
    upload(&c, &server, "ops", &[("runbook.md", RUNBOOK.into())]);
    let mut files = vec![("runbook.md", RUNBOOK.as_bytes().to_vec())];
    for name in ["rust-book-ch08-03-hash-maps.md", "httpd-bind.html"] {
        files.push((name, std::fs::read(docs_dir().join(name)).unwrap()));
    }
    upload(&c, &server, "mixed", &files);

    // Generated, then an exact hit: same text, usage 0, same key.
    let first = ask(&c, &server, "mixed", OFF);
    assert_eq!(first["cached"], Value::Null, "{first}");
    assert!(
        first["answer"].as_str().unwrap().contains("red button"),
        "{first}"
    );
    let key = first["cache_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("answer:"), "{key}");
    let again = ask(&c, &server, "mixed", OFF);
    assert_eq!(again["cached"], "exact", "{again}");
    assert_eq!(again["answer"], first["answer"]);
    assert_eq!(again["citations"], first["citations"]);
    assert_eq!(again["cache_key"], key.as_str());
    assert_eq!(again["usage"]["completion_tokens"], 0);
    assert_eq!(again["usage"]["prompt_tokens"], 0);
    // Case and spacing do not matter.
    let spaced = ask(&c, &server, "mixed", "  how do I turn   the ALARM off?");
    assert_eq!(spaced["cached"], "exact", "{spaced}");

    // A cached answer still streams: retrieval, tokens, citations, done with the flag.
    let body = c
        .post(server.at("/v1/answer"))
        .json(&json!({"query": OFF, "collection": "mixed", "stream": true}))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let events = sse_events(&body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"retrieval"), "{names:?}");
    assert!(names.contains(&"token"), "{names:?}");
    assert_eq!(
        &names[names.len() - 2..],
        ["citations", "done"],
        "{names:?}"
    );
    let streamed = sse_text(&events);
    assert_eq!(streamed, first["answer"].as_str().unwrap());
    let done: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert_eq!(done["cached"], "exact");
    // And through the OpenAI-compatible route.
    let (s, chat) = post_json(
        &c,
        &server.at("/v1/chat/completions"),
        json!({"model": "mixed", "messages": [{"role": "user", "content": OFF}]}),
    );
    assert_eq!(s, 200, "{chat}");
    assert_eq!(chat["cached"], "exact", "{chat}");
    // Search results are cached too.
    let search = json!({"query": "alarm code", "collection": "mixed"});
    let (_, s1) = post_json(&c, &server.at("/v1/search"), search.clone());
    let (_, s2) = post_json(&c, &server.at("/v1/search"), search.clone());
    assert_eq!(
        (s1["cached"].clone(), s2["cached"].clone()),
        (Value::Null, json!("exact")),
        "`cached` has the answer's type on searches too"
    );
    assert_eq!(s1["hits"], s2["hits"]);

    // Semantic: a paraphrase reuses the answer, with a notice naming the question.
    ask(&c, &server, "ops", OFF);
    let para = ask(&c, &server, "ops", "How can I turn off the alarm?");
    assert_eq!(para["cached"], "semantic", "{para}");
    assert!(
        para["notices"].to_string().contains(OFF),
        "{}",
        para["notices"]
    );
    // Opposites, other numbers, other names: never reused.
    for (asked, different) in NEGATIVES {
        ask(&c, &server, "ops", asked);
        let v = ask(&c, &server, "ops", different);
        assert_eq!(v["cached"], Value::Null, "{different} reused {asked}: {v}");
    }

    // Staleness: the answering document changes; the next answer is from the new text.
    let edited = RUNBOOK.replace(
        "hold the red button for 5 seconds",
        "hold the blue button for 9 seconds",
    );
    upload(&c, &server, "mixed", &[("runbook.md", edited.into_bytes())]);
    let after = ask(&c, &server, "mixed", OFF);
    assert_eq!(after["cached"], Value::Null, "{after}");
    let text = after["answer"].as_str().unwrap();
    assert!(
        text.contains("blue button") && !text.contains("red button"),
        "{after}"
    );
    assert_ne!(after["cache_key"], key.as_str());
    assert_eq!(ask(&c, &server, "mixed", OFF)["cached"], "exact");
    // Deleted: no answer from the runbook any more, cached or not.
    let id = document_id(&c, &server, "mixed", "runbook.md");
    let (s, _) = delete(
        &c,
        &server,
        &format!("/v1/collections/mixed/documents/{id}"),
    );
    assert_eq!(s, 200);
    let gone = ask(&c, &server, "mixed", OFF);
    assert_eq!(gone["cached"], Value::Null, "{gone}");
    assert!(!gone.to_string().contains("blue button"), "{gone}");
    assert!(gone["context"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["source"] != "runbook.md"));

    // Explicit invalidation: by key, by document, by collection, all.
    let q = "Who manages the Paris office?";
    let v = ask(&c, &server, "ops", q);
    assert_eq!(v["cached"], "exact");
    let (s, inv) = delete(
        &c,
        &server,
        &format!("/v1/cache/keys/{}", v["cache_key"].as_str().unwrap()),
    );
    assert_eq!(s, 200, "{inv}");
    assert_eq!(inv["invalidated"]["op"], "key");
    assert_eq!(ask(&c, &server, "ops", q)["cached"], Value::Null);
    let ops_doc = document_id(&c, &server, "ops", "runbook.md");
    let (s, _) = delete(
        &c,
        &server,
        &format!("/v1/cache/collections/ops/documents/{ops_doc}"),
    );
    assert_eq!(s, 200);
    assert_eq!(ask(&c, &server, "ops", q)["cached"], Value::Null);
    let (s, _) = delete(&c, &server, "/v1/cache/collections/ops");
    assert_eq!(s, 200);
    assert_eq!(ask(&c, &server, "ops", q)["cached"], Value::Null);
    assert_eq!(ask(&c, &server, "ops", q)["cached"], "exact");
    let (s, v) = delete(&c, &server, "/v1/cache/keys/not-a-key");
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_cache_key")),
        "{v}"
    );
    let (s, v) = delete(&c, &server, "/v1/cache/collections/ops/documents/x1");
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_id")),
        "{v}"
    );

    // Figures.
    let st = stats(&c, &server);
    for layer in ["embedding", "retrieval", "answer"] {
        assert!(st[layer]["hits"].as_u64().unwrap() > 0, "{layer}: {st}");
        assert!(st[layer]["entries"].as_u64().unwrap() > 0, "{layer}: {st}");
        assert!(st[layer]["bytes"].as_u64().unwrap() > 0, "{layer}: {st}");
    }
    assert!(st["semantic"]["hits"].as_u64().unwrap() >= 1, "{st}");
    assert!(st["answer_hit_rate"].as_f64().unwrap() > 0.2, "{st}");
    assert_eq!(st["redis"], Value::Null);
    let (s, _) = delete(&c, &server, "/v1/cache");
    assert_eq!(s, 200);
    assert_eq!(stats(&c, &server)["answer"]["entries"], 0);

    // Warm-up over the API, then from the CLI with a file.
    let warm = json!({"collection": "ops", "questions": ["What was the revenue in 2020?", "How do I disable single sign-on?"]});
    let (s, w) = post_json(&c, &server.at("/v1/cache/warm"), warm.clone());
    assert_eq!((s, w["generated"].as_u64()), (200, Some(2)), "{w}");
    let (_, w) = post_json(&c, &server.at("/v1/cache/warm"), warm);
    assert_eq!(w["already_cached"], 2, "{w}");
    let (s, w) = post_json(&c, &server.at("/v1/cache/warm"), json!({"questions": []}));
    assert_eq!(s, 400, "{w}");
    let list = dir.path().join("questions.txt");
    std::fs::write(
        &list,
        format!("# warm-up\n{OFF}\n\nWhat was the revenue in 2019?\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lore"))
        .args(["cache", "warm"])
        .env("LORE_API_KEY", &server.key)
        .arg(&list)
        .args(["--collection", "ops", "--server", &server.url])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("warmed 2 questions"), "{printed}");
    assert_eq!(
        ask(&c, &server, "ops", "What was the revenue in 2019?")["cached"],
        "exact"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lore"))
        .args(["cache", "stats", "--server", &server.url])
        .env("LORE_API_KEY", &server.key)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && printed.contains("semantic"),
        "{printed}"
    );
    assert!(printed.contains("redis: not configured"), "{printed}");
}

/// With a permissive similarity threshold the negatives pass the embedding test, and the
/// lexical check alone must refuse them; `lore.toml` sets TTLs and size bounds.
#[test]
fn lexical_guard_ttl_and_size_bounds_from_config() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("lore.toml"),
        "[cache.semantic]\nmin_similarity = 0.65\n",
    )
    .unwrap();
    let mut server = Server::start(&data, &[]);
    let c = server.client();
    post_json(&c, &server.at("/v1/collections"), json!({"name": "ops"}));
    upload(&c, &server, "ops", &[("runbook.md", RUNBOOK.into())]);
    let pairs = NEGATIVES;
    for (asked, different) in pairs {
        ask(&c, &server, "ops", asked);
        let before = stats(&c, &server)["semantic"]["rejected_lexical"]
            .as_u64()
            .unwrap();
        let v = ask(&c, &server, "ops", different);
        assert_eq!(v["cached"], Value::Null, "{different} reused {asked}: {v}");
        let after = stats(&c, &server)["semantic"]["rejected_lexical"]
            .as_u64()
            .unwrap();
        assert!(
            after > before,
            "{different}: the lexical check did not decide"
        );
    }
    assert_eq!(
        ask(&c, &server, "ops", "How can I turn off the alarm?")["cached"],
        "semantic"
    );
    assert!(server.stop());

    // A one-second answer TTL and a bound of about two answers.
    std::fs::write(
        data.join("lore.toml"),
        "[cache.answer]\nttl_secs = 1\nmax_bytes = 6000\n",
    )
    .unwrap();
    let server = Server::start(&data, &[]);
    assert_eq!(ask(&c, &server, "ops", OFF)["cached"], Value::Null);
    assert_eq!(ask(&c, &server, "ops", OFF)["cached"], "exact");
    common::eventually("the answer expires", Duration::from_secs(20), || {
        ask(&c, &server, "ops", OFF)["cached"] == Value::Null
    });
    for (q, r) in pairs {
        ask(&c, &server, "ops", q);
        ask(&c, &server, "ops", r);
    }
    let st = stats(&c, &server);
    assert!(st["answer"]["bytes"].as_u64().unwrap() <= 6000, "{st}");
    assert!(st["answer"]["evictions"].as_u64().unwrap() > 0, "{st}");
    assert!(st["answer"]["expirations"].as_u64().unwrap() > 0, "{st}");
    assert_eq!(st["answer"]["max_bytes"], 6000);
}

#[test]
fn redis_shares_hits_between_servers_and_its_loss_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut redis = Redis::start(free_port(), dir.path());
    // Two servers over copies of one data dir (as replicas restored from one backup).
    let a_data = dir.path().join("a");
    let files = common::copy_subset(&dir.path().join("docs"));
    let out = common::run(
        lore(&a_data)
            .args(["ingest", "--collection", "docs"])
            .args(&files[..3]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b_data = dir.path().join("b");
    let cp = Command::new("cp")
        .arg("-r")
        .arg(&a_data)
        .arg(&b_data)
        .status()
        .unwrap();
    assert!(cp.success());
    // Two data dirs, one auth-free: these servers test sharing, not keys.
    let env = [
        ("LORE_REDIS_URL", redis.url()),
        ("LORE_AUTH", "off".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = Server::start_with_env(&a_data, &["--default-collection", "docs"], &env);
    let b = Server::start_with_env(&b_data, &["--default-collection", "docs"], &env);
    let c = client();
    let q = "How do I get a value out of a hash map?";

    let on_a = ask(&c, &a, "docs", q);
    assert_eq!(on_a["cached"], Value::Null, "{on_a}");
    let on_b = ask(&c, &b, "docs", q);
    assert_eq!(
        on_b["cached"], "exact",
        "B reads A's answer from Redis: {on_b}"
    );
    assert_eq!(on_b["answer"], on_a["answer"]);
    let sb = stats(&c, &b);
    assert!(sb["answer"]["shared_hits"].as_u64().unwrap() >= 1, "{sb}");
    assert_eq!(sb["redis"]["available"], true, "{sb}");

    // An invalidation on A reaches B's in-process level (pub/sub).
    let key = on_a["cache_key"].as_str().unwrap();
    let (s, _) = delete(&c, &a, &format!("/v1/cache/keys/{key}"));
    assert_eq!(s, 200);
    let start = Instant::now();
    while stats(&c, &b)["redis"]["invalidations_received"] == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "B never heard the invalidation"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ask(&c, &b, "docs", q)["cached"], Value::Null);

    // Invalidating a collection or everything on A deletes the entries from Redis too: B,
    // which never held them in process, finds nothing.
    for (question, path) in [
        ("What is a vector?", "/v1/cache/collections/docs"),
        ("Where do I put the Listen directive?", "/v1/cache"),
    ] {
        ask(&c, &a, "docs", question);
        let (s, _) = delete(&c, &a, path);
        assert_eq!(s, 200);
        let v = ask(&c, &b, "docs", question);
        assert_eq!(v["cached"], Value::Null, "{path}: {v}");
    }

    // Redis dies: every request still succeeds, in-process caching goes on.
    redis.kill();
    let questions = [
        q,
        "What does a vector store?",
        "How do I listen on a specific port?",
        "How do I update a value based on the old value?",
    ];
    for round in 0..3 {
        for server in [&a, &b] {
            for question in questions {
                let v = ask(&c, server, "docs", question);
                if round > 0 {
                    assert!(v["cached"] == "exact", "round {round}: {question}: {v}");
                }
            }
        }
    }
    for server in [&a, &b] {
        let st = stats(&c, server);
        assert_eq!(st["redis"]["available"], false, "{st}");
        assert_eq!(st["redis"]["outages"], 1, "logged and counted once: {st}");
        assert!(st["redis"]["errors"].as_u64().unwrap() >= 1, "{st}");
    }

    // Redis is back on the same port: after the retry interval the shared level returns.
    let _redis = Redis::start(redis.port, &redis.dir);
    let fresh = [
        "What is a hash map?",
        "How do I iterate over a vector?",
        "Which address does Apache bind to?",
        "What is ownership in Rust?",
        "How do I read a file in Rust?",
        "What does the borrow checker do?",
        "How are errors handled in Rust?",
        "What is a trait?",
    ];
    let mut next = fresh.iter().cycle().enumerate();
    common::eventually(
        "the shared level comes back",
        Duration::from_secs(30),
        || {
            // A new question each round, so the exact hit can only come through Redis.
            let Some((i, q)) = next.next() else {
                return false;
            };
            let q = format!("{q} ({i})");
            ask(&c, &a, "docs", &q);
            ask(&c, &b, "docs", &q)["cached"] == "exact"
        },
    );
    assert_eq!(stats(&c, &a)["redis"]["available"], true);
}
