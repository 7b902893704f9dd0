//! Question routing end to end: `[[routes]]` in lore.toml fitted at start, `POST
//! /v1/route`, routed answers (`route: true`, chat model `auto`) going to their route's
//! collection or refused, a scoped key that a route cannot take past its scope, and route
//! sets replaced through `/v1/admin/routes` without a restart, versioned and kept across one.

mod common;

use common::http::{assert_error, client_with_key, json_of, post_json};
use common::{copy_subset, lore, run, Server};
use serde_json::{json, Value};

const ROUTES: &str = r#"
[routing]
out_of_scope = "refuse"
refusal_message = "Out of scope: I answer questions about Rust and the Apache web server."
out_of_scope_examples = [
    "what is the weather like tomorrow", "tell me a joke", "who won the football game",
    "recommend a good pizza place", "how tall is mount everest", "what's a good movie tonight",
    "how do I bake sourdough bread", "what time is it in tokyo",
]

[[routes]]
name = "rust"
description = "The Rust programming language"
collections = ["rust"]
examples = [
    "how do I add an element to a vector", "what is ownership in rust", "how does borrowing work",
    "when is a value dropped", "how do I iterate over a hash map", "what is a string slice",
    "how do I update a value in a hashmap", "what does the borrow checker do",
    "can a vector hold different types", "what is the difference between String and &str",
]

[[routes]]
name = "apache"
description = "The Apache HTTP server"
collections = ["httpd"]
examples = [
    "how do I configure a virtual host", "which port does apache listen on",
    "how do I restrict access by ip address", "how do I build httpd from source",
    "what is name-based virtual hosting", "how do I bind the server to an address",
    "how to deny access to a directory", "where is httpd.conf", "how to install apache httpd",
    "configure listen directive",
]
"#;

/// The sources of an answer's context passages.
fn sources_of(a: &Value) -> Vec<&str> {
    a["context"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect()
}

fn route(server: &Server, q: &str) -> Value {
    let (s, v) = post_json(
        &server.client(),
        &server.at("/v1/route"),
        json!({ "query": q }),
    );
    assert_eq!(s, 200, "{v}");
    v
}

fn answer(c: &reqwest::blocking::Client, server: &Server, q: &str) -> (u16, Value) {
    post_json(
        c,
        &server.at("/v1/answer"),
        json!({"query": q, "route": true, "generator": "extractive"}),
    )
}

#[test]
fn routes_send_questions_to_their_collection_refuse_the_rest_and_change_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let files = copy_subset(&dir.path().join("docs"));
    let data = dir.path().join("data");
    let pick = |prefix: &str| -> Vec<_> {
        files
            .iter()
            .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .cloned()
            .collect()
    };
    for (collection, prefix) in [("rust", "rust-book"), ("httpd", "httpd")] {
        let out = run(lore(&data)
            .args(["ingest", "--collection", collection])
            .args(pick(prefix)));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(data.join("lore.toml"), ROUTES).unwrap();
    // `lore config check` reads the routes too (not fitted).
    let check = |file: &std::path::Path| run(lore(&data).args(["config", "check"]).arg(file));
    assert!(check(&data.join("lore.toml")).status.success());
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[routes]]\nname = \"a\"\nexamples_file = \"missing.txt\"\n[[routes]]\nname = \"b\"\nexamples = [\"x\"]\n").unwrap();
    let out = check(&bad);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.txt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut server = Server::start(&data, &[]);
    let admin = server.client();

    // Classification only.
    let v = route(&server, "How do I push an item onto a Vec?");
    assert_eq!(v["decision"]["route"], "rust", "{v}");
    assert_eq!(v["decision"]["version"], 1, "{v}");
    assert_eq!(v["target"]["collections"], json!(["rust"]), "{v}");
    let v = route(
        &server,
        "How can I set up two websites on one IP with virtual hosts?",
    );
    assert_eq!(v["decision"]["route"], "apache", "{v}");
    let v = route(&server, "What's the capital of Australia?");
    assert_eq!(v["decision"]["route"], Value::Null, "{v}");
    assert!(v["decision"]["out_of_scope_reason"].is_string(), "{v}");

    // A routed answer cites its route's collection only, and says which route it took.
    let (s, a) = answer(&admin, &server, "How do I push an item onto a Vec?");
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["route"]["name"], "rust", "{a}");
    assert_eq!(a["route"]["version"], 1, "{a}");
    let sources = sources_of(&a);
    assert!(
        !sources.is_empty() && sources.iter().all(|s| s.contains("rust-book")),
        "{sources:?}"
    );

    // Out of scope: refused with the configured message, nothing retrieved.
    let (s, a) = answer(&admin, &server, "Tell me a funny joke about cats");
    assert_eq!(s, 200, "{a}");
    assert!(
        a["answer"].as_str().unwrap().starts_with("Out of scope"),
        "{a}"
    );
    assert_eq!(a["route"]["refused"], true, "{a}");
    assert!(a["context"].as_array().unwrap().is_empty(), "{a}");

    // A key scoped to `httpd` cannot reach `rust` through a route.
    let (s, created) = post_json(
        &admin,
        &server.at("/v1/admin/keys"),
        json!({"name": "httpd-only", "role": "reader", "collections": ["httpd"]}),
    );
    assert_eq!(s, 201, "{created}");
    let scoped = client_with_key(created["key"].as_str().unwrap());
    // Route entry points (the web UI's tabs): each key sees the routes it can answer
    // through, and `route_name` takes one without classifying.
    let names = |c: &reqwest::blocking::Client| -> Vec<String> {
        let (s, v) = json_of(c.get(server.at("/v1/routes")).send().unwrap());
        assert_eq!(s, 200, "{v}");
        v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&admin), ["rust", "apache"]);
    assert_eq!(names(&scoped), ["apache"]);
    let (s, a) = post_json(
        &admin,
        &server.at("/v1/answer"),
        json!({"query": "How can I set up two websites on one IP with virtual hosts?",
               "route_name": "rust", "generator": "extractive"}),
    );
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        (
            a["route"]["name"].as_str(),
            a["route"]["confidence"].as_f64()
        ),
        (Some("rust"), Some(1.0)),
        "{a}"
    );
    assert!(
        a["context"][0]["source"]
            .as_str()
            .unwrap()
            .contains("rust-book"),
        "{a}"
    );
    let (s, a) = post_json(
        &admin,
        &server.at("/v1/answer"),
        json!({"query": "anything", "route_name": "nope", "generator": "extractive"}),
    );
    assert_eq!(
        (s, a["error"]["code"].as_str()),
        (400, Some("invalid_request")),
        "{a}"
    );
    let (s, a) = answer(&scoped, &server, "How do I push an item onto a Vec?");
    assert_eq!(
        (s, a["error"]["code"].as_str()),
        (404, Some("collection_not_found")),
        "{a}"
    );
    let (s, v) = post_json(
        &scoped,
        &server.at("/v1/route"),
        json!({"query": "How do I push an item onto a Vec?"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["target"]["collections"],
        json!([]),
        "a scoped key is not told of `rust`: {v}"
    );
    // An admin scoped to one collection may neither read nor replace the global route set.
    let (s, created) = post_json(
        &admin,
        &server.at("/v1/admin/keys"),
        json!({"name": "httpd-admin", "role": "admin", "collections": ["httpd"]}),
    );
    assert_eq!(s, 201, "{created}");
    let scoped_admin = client_with_key(created["key"].as_str().unwrap());
    let (s, v) = json_of(
        scoped_admin
            .get(server.at("/v1/admin/routes"))
            .send()
            .unwrap(),
    );
    assert_error(s, &v, 403, "unscoped_admin_required");
    let (s, v) = json_of(
        scoped_admin
            .put(server.at("/v1/admin/routes"))
            .json(&json!({"routes": []}))
            .send()
            .unwrap(),
    );
    assert_error(s, &v, 403, "unscoped_admin_required");
    let (s, a) = answer(
        &scoped,
        &server,
        "How do I configure name-based virtual hosts?",
    );
    assert_eq!(
        (s, a["route"]["name"].as_str()),
        (200, Some("apache")),
        "{a}"
    );

    // Chat completions with model `auto` are routed too.
    let (s, c) = post_json(
        &admin,
        &server.at("/v1/chat/completions"),
        json!({"model": "auto", "messages": [{"role": "user", "content": "Which port does Apache listen on by default?"}]}),
    );
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["route"]["name"], "apache", "{c}");

    // Replace the set through the API: a refusing route, version 2, used at once.
    let mut routes: Vec<Value> = Vec::new();
    let settings: toml::Table = toml::from_str(ROUTES).unwrap();
    for r in settings["routes"].as_array().unwrap() {
        routes.push(serde_json::to_value(r).unwrap());
    }
    routes.push(json!({
        "name": "legal",
        "examples": ["can I sue my landlord", "is this contract legally binding", "do I need a lawyer",
                     "what are my rights if I am fired", "how do I file a lawsuit"],
        "refusal": "Legal questions go to the legal team.",
    }));
    let put = |body: Value| {
        json_of(
            admin
                .put(server.at("/v1/admin/routes"))
                .json(&body)
                .send()
                .unwrap(),
        )
    };
    let (s, v) = put(json!({ "routes": routes }));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["version"], 2, "{v}");
    assert_eq!(v["routes"].as_array().unwrap().len(), 3, "{v}");
    let (s, a) = answer(
        &admin,
        &server,
        "Should I hire a lawyer to sue my employer?",
    );
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["route"]["name"], "legal", "{a}");
    assert_eq!(a["answer"], "Legal questions go to the legal team.", "{a}");
    assert_eq!(a["route"]["version"], 2, "{a}");

    // A bad set is refused with its reason, and the one in use stays.
    let (s, v) = put(
        json!({"routes": [{"name": "a", "examples": ["x"]}, {"name": "a", "examples": ["y"]}]}),
    );
    assert_error(s, &v, 400, "invalid_routes");
    let (s, v) = put(
        json!({"routes": [{"name": "a", "examples_file": "/etc/passwd"}, {"name": "b", "examples": ["y"]}]}),
    );
    assert_error(s, &v, 400, "invalid_routes");
    // Hostile sets: too many routes, an over-long example, 100,000 levels of nesting.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"name": format!("r{i}"), "examples": ["x"]}))
        .collect();
    let (s, v) = put(json!({ "routes": many }));
    assert_error(s, &v, 400, "invalid_routes");
    let (s, v) = put(
        json!({"routes": [{"name": "a", "examples": ["x".repeat(2001)]}, {"name": "b", "examples": ["y"]}]}),
    );
    assert_error(s, &v, 400, "invalid_routes");
    let nested = format!(
        "{{\"routes\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let r = admin
        .put(server.at("/v1/admin/routes"))
        .header("content-type", "application/json")
        .body(nested)
        .send()
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let (s, v) = post_json(&scoped, &server.at("/v1/admin/routes"), json!({}));
    assert!(s == 403 || s == 405, "{s} {v}");
    let (_, v) = json_of(admin.get(server.at("/v1/admin/routes")).send().unwrap());
    assert_eq!(v["version"], 2, "{v}");
    assert_eq!(v["versions"].as_array().unwrap().len(), 2, "{v}");

    // Routed answers are counted by route and outcome.
    let metrics = admin
        .get(server.at("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("lore_routed_total{route=\"rust\",outcome=\"answered\"}")
            || metrics.contains("lore_routed_total{outcome=\"answered\",route=\"rust\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"out_of_scope\""), "{metrics}");

    // A restart keeps the latest change (lore.toml did not change since version 1).
    server.stop();
    let server = Server::start(&data, &[]);
    assert_eq!(
        route(&server, "is my contract legally binding")["decision"]["version"],
        2
    );
}

fn shared(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel)
}

/// CLINC150's banking domain (15 intents) and its out-of-scope rows, from `file`.
fn banking_subset(file: &str, to: &std::path::Path) -> usize {
    let domains: Value = serde_json::from_str(
        &std::fs::read_to_string(shared("intents/clinc150/domains.json")).unwrap(),
    )
    .unwrap();
    let banking: Vec<&str> = domains["banking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(banking.len(), 15);
    let text = std::fs::read_to_string(shared(&format!("intents/clinc150/{file}"))).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let intent = v["intent"].as_str().unwrap();
            intent == "oos" || banking.contains(&intent)
        })
        .collect();
    std::fs::write(to, kept.join("\n")).unwrap();
    kept.len()
}

#[test]
fn eval_routes_and_tiers_score_real_labelled_questions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (train, val) = (dir.path().join("train.jsonl"), dir.path().join("val.jsonl"));
    banking_subset("train.jsonl", &train);
    let val_rows = banking_subset("val.jsonl", &val);
    let eval = |extra: &[&str]| -> Value {
        common::json(
            lore(&data)
                .args(["--json", "eval", "routes"])
                .arg(&val)
                .arg("--train")
                .arg(&train)
                .arg("--val")
                .arg(&val)
                .args(extra),
        )
    };
    let r = eval(&[]);
    assert_eq!(r["labels"], 15, "{r}");
    assert_eq!(r["eval"]["questions"], val_rows, "{r}");
    assert_eq!(
        (
            r["eval"]["in_scope"].as_u64(),
            r["eval"]["out_of_scope"].as_u64()
        ),
        (Some(300), Some(100))
    );
    assert_eq!(r["gate"]["tuned_on"], "val", "{r}");
    let acc = r["eval"]["in_scope_accuracy"].as_f64().unwrap();
    let recall = r["eval"]["oos_recall"].as_f64().unwrap();
    assert!(
        acc > 0.9 && recall >= 0.8,
        "in-scope {acc}, out-of-scope recall {recall}"
    );
    assert!(r["domain_accuracy"].as_f64().unwrap() >= acc, "{r}");
    assert!(r["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{r}");
    // Few-shot: 10 per intent and 10 out-of-scope, the same draw every run.
    let few = eval(&["--few-shot", "10"]);
    assert_eq!(few["train_examples"], 160, "{few}");
    assert_eq!(
        few["eval"]["in_scope_accuracy"],
        eval(&["--few-shot", "10"])["eval"]["in_scope_accuracy"]
    );

    // Tier routing on the first 400 RouteLLM MMLU questions.
    let mmlu = std::fs::read_to_string(shared("routing/routellm-mmlu-train.jsonl")).unwrap();
    let rows: Vec<&str> = mmlu.lines().take(400).collect();
    let (small, large) = rows.iter().fold((0, 0), |(s, l), row| {
        let v: Value = serde_json::from_str(row).unwrap();
        (
            s + usize::from(v["weak_correct"] == true),
            l + usize::from(v["strong_correct"] == true),
        )
    });
    let tiers = dir.path().join("tiers.jsonl");
    std::fs::write(&tiers, rows.join("\n")).unwrap();
    let t = common::json(
        lore(&data)
            .args(["--json", "eval", "tiers"])
            .arg(&tiers)
            .args(["--folds", "4"]),
    );
    let router = &t["router"];
    assert_eq!(router["questions"], 400, "{t}");
    assert!((router["small_accuracy"].as_f64().unwrap() - small as f64 / 400.0).abs() < 1e-9);
    assert!((router["large_accuracy"].as_f64().unwrap() - large as f64 / 400.0).abs() < 1e-9);
    let share = router["large_share_at_95"].as_f64().unwrap();
    assert!(
        (0.0..=1.0).contains(&share) && (0.0..=1.0).contains(&router["apgr"].as_f64().unwrap()),
        "{t}"
    );
    // The curve starts at the small tier's accuracy and ends at the large tier's.
    let curve = router["curve"].as_array().unwrap();
    assert_eq!(curve[0]["quality"], router["small_accuracy"]);
    assert_eq!(curve[curve.len() - 1]["quality"], router["large_accuracy"]);
    let out = run(lore(&data).args(["routes", "train-tier"]).arg(&tiers));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("routes/tier-router.json").exists());
}

/// Self-query: a route allowing `domain` turns a domain the question names into a filter
/// (only values its collection holds), and says so in the answer.
#[test]
fn a_route_turns_a_named_domain_into_a_filter() {
    let dir = tempfile::tempdir().unwrap();
    let files = copy_subset(&dir.path().join("docs"));
    let data = dir.path().join("data");
    for (domain, prefix) in [("rust", "rust-book"), ("apache", "httpd")] {
        let picked: Vec<_> = files
            .iter()
            .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .collect();
        let out = run(lore(&data)
            .args(["ingest", "--collection", "kb", "--domain", domain])
            .args(picked));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(
        data.join("lore.toml"),
        r#"
[[routes]]
name = "tech"
collections = ["kb"]
self_query = ["domain", "doc_type"]
examples = ["how do I configure a virtual host", "what is ownership", "how do I bind to a port",
            "how does borrowing work", "where is httpd.conf", "how do I iterate over a vector"]
[[routes]]
name = "chat"
refusal = "Small talk is not my job."
examples = ["hello there", "how are you today", "tell me a joke", "good morning", "thanks a lot",
            "what's up"]
"#,
    )
    .unwrap();
    let ask = |q: &str| -> Value {
        common::json(lore(&data).args(["--json", "ask", "--route", "--generator", "extractive", q]))
    };
    let a = ask("In Apache, how do I set up name-based virtual hosts?");
    assert_eq!(a["route"]["name"], "tech", "{a}");
    assert_eq!(a["route"]["filters_added"], json!(["domain=apache"]), "{a}");
    assert_eq!(
        a["route"]["filters_from_question"],
        json!(["domain=apache"]),
        "{a}"
    );
    let sources = sources_of(&a);
    assert!(
        !sources.is_empty() && sources.iter().all(|s| s.contains("httpd")),
        "{sources:?}"
    );
    // Naming no value (or one the collection lacks) adds nothing.
    let a = ask("How do I set up name-based virtual hosts in nginx?");
    assert_eq!(a["route"]["filters_added"], json!([]), "{a}");
}
