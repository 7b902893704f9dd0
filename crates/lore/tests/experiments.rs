//! Experiments end to end: a two-arm prompt experiment in lore.toml, answers assigned by
//! user id (stable per user, both arms served), feedback scripted to favour one arm through
//! `POST /v1/answers/{id}/feedback`, and the report (`/v1/admin/experiments/{id}` and
//! `lore experiments report`) naming the better arm; feedback on another key's answer or
//! an unknown one is refused; cost and drift reports read the same log.

mod common;

use common::http::{assert_error, client_with_key, json_of, post_json};
use common::{copy_data_dir, ingested_subset, lore, run, Server};
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[experiments]]
id = "prompts"
description = "the concise prompt against the default one"
arms = [
    { name = "control", prompt = "default@1" },
    { name = "concise", prompt = "concise@1" },
]
"#;

const QUESTIONS: [&str; 4] = [
    "How do I add an element to a vector?",
    "How do I configure a virtual host?",
    "What is ownership in Rust?",
    "Which port does the server listen on?",
];

fn answer(c: &reqwest::blocking::Client, server: &Server, q: &str, user: &str) -> Value {
    let (s, a) = post_json(
        c,
        &server.at("/v1/answer"),
        json!({"query": q, "collection": "docs", "generator": "extractive", "user": user}),
    );
    assert_eq!(s, 200, "{a}");
    a
}

fn feedback(c: &reqwest::blocking::Client, server: &Server, id: &str, up: bool) -> (u16, Value) {
    post_json(
        c,
        &server.at(&format!("/v1/answers/{id}/feedback")),
        json!({"rating": if up { "up" } else { "down" }, "comment": "scripted"}),
    )
}

#[test]
fn a_two_arm_experiment_with_feedback_names_the_better_arm() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy_data_dir(ingested_subset(), dir.path(), CONFIG);
    let mut server = Server::start(&data, &[]);
    let admin = server.client();

    let mut per_arm = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..160 {
        let user = format!("user-{i}");
        let a = answer(&admin, &server, QUESTIONS[i % 4], &user);
        let arm = a["experiment"]["arm"]
            .as_str()
            .unwrap_or_else(|| panic!("{a}"));
        assert_eq!(a["experiment"]["experiment"], "prompts", "{a}");
        *per_arm.entry(arm.to_string()).or_default() += 1;
        if i < 8 {
            // The same user always lands in the same arm.
            let again = answer(&admin, &server, QUESTIONS[(i + 1) % 4], &user);
            assert_eq!(again["experiment"]["arm"], arm, "{again}");
        }
        // Scripted users: 80% like the concise arm, 35% the control.
        let up = match arm {
            "concise" => i % 5 != 0,
            _ => i % 20 < 7,
        };
        let id = a["id"].as_str().unwrap();
        assert!(id.starts_with("ans_"), "{a}");
        let (s, v) = feedback(&admin, &server, id, up);
        assert_eq!(s, 200, "{v}");
    }
    assert_eq!(per_arm.len(), 2, "{per_arm:?}");
    assert!(per_arm.values().all(|n| *n >= 50), "{per_arm:?}");

    // A request naming its own prompt is not enrolled (the arm would be overridden).
    let (s, a) = post_json(
        &admin,
        &server.at("/v1/answer"),
        json!({"query": QUESTIONS[0], "collection": "docs", "generator": "extractive", "user": "u", "prompt": "default"}),
    );
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["experiment"], Value::Null, "{a}");

    // Feedback: another key's answer reads as unknown, as does a made-up id; a bad rating
    // is a 422 naming the field.
    let (s, created) = post_json(
        &admin,
        &server.at("/v1/admin/keys"),
        json!({"name": "reader", "role": "reader"}),
    );
    assert_eq!(s, 201, "{created}");
    let reader = client_with_key(created["key"].as_str().unwrap());
    let mine = answer(&admin, &server, QUESTIONS[1], "someone");
    let (s, v) = feedback(&reader, &server, mine["id"].as_str().unwrap(), true);
    assert_error(s, &v, 404, "answer_not_found");
    let (s, v) = feedback(&reader, &server, "ans_nope", true);
    assert_error(s, &v, 404, "answer_not_found");
    let (s, v) = post_json(
        &admin,
        &server.at(&format!(
            "/v1/answers/{}/feedback",
            mine["id"].as_str().unwrap()
        )),
        json!({"rating": "meh"}),
    );
    assert_error(s, &v, 422, "invalid_body");
    // The reader rates its own answer.
    let own = answer(&reader, &server, QUESTIONS[2], "reader-user");
    let (s, v) = feedback(&reader, &server, own["id"].as_str().unwrap(), true);
    assert_eq!(s, 200, "{v}");
    // Reports are for admins.
    let (s, _) = json_of(
        reader
            .get(server.at("/v1/admin/experiments/prompts"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 403);

    let (s, r) = json_of(
        admin
            .get(server.at("/v1/admin/experiments/prompts"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["better"], "concise", "{r}");
    assert!(r["p_value"].as_f64().unwrap() < 0.05, "{r}");
    let arms = r["arms"].as_array().unwrap();
    let total: u64 = arms.iter().map(|a| a["answers"].as_u64().unwrap()).sum();
    // 160 + 8 repeats + the "someone" and reader answers, when enrolled (both are).
    assert_eq!(total, 170, "{r}");
    for a in arms {
        let up = &a["up"];
        assert!(
            up["low"].as_f64().unwrap() <= up["value"].as_f64().unwrap(),
            "{a}"
        );
        assert!(
            up["high"].as_f64().unwrap() >= up["value"].as_f64().unwrap(),
            "{a}"
        );
        assert!(
            a["latency"]["p95_ms"].as_f64().unwrap() >= a["latency"]["p50_ms"].as_f64().unwrap()
        );
    }
    let (s, v) = json_of(
        admin
            .get(server.at("/v1/admin/experiments/nope"))
            .send()
            .unwrap(),
    );
    assert_error(s, &v, 404, "experiment_not_found");
    let (s, v) = json_of(
        admin
            .get(server.at("/v1/admin/experiments"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    assert_eq!(
        v["experiments"][0]["arms"].as_array().unwrap().len(),
        2,
        "{v}"
    );
    // Not enough routed questions for drift: reported, not judged.
    let (s, v) = json_of(admin.get(server.at("/v1/admin/drift")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["drifted"], false, "{v}");
    assert!(v["insufficient"].is_string(), "{v}");
    // /metrics carries the feedback counter and the drift gauges.
    let metrics = admin
        .get(server.at("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("lore_feedback_total{rating=\"up\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("lore_drift_alert 0"), "{metrics}");
    assert!(server.stop());

    // The CLI reads the same log.
    let out = run(lore(&data).args(["--json", "experiments", "report", "prompts"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["better"], "concise", "{cli}");
    assert_eq!(cli["arms"], r["arms"], "{cli}");
    let out = run(lore(&data).args(["drift", "report"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("not judged"));
}
