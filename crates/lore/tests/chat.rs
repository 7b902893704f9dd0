//! OpenAI-compatible chat completions: the generation fields lore honours, the ones it
//! refuses (never silently dropped), and follow-up questions made self-contained from the
//! conversation for retrieval.

mod common;

use common::http::post_json;
use common::{copy_data_dir, ingested_subset, Server};
use serde_json::{json, Value};

fn chat(server: &Server, extra: Value) -> (u16, Value) {
    let mut body = json!({
        "model": "docs",
        "messages": [{"role": "user", "content": "Which address does Apache bind to?"}],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    post_json(&server.client(), &server.at("/v1/chat/completions"), body)
}

#[test]
fn chat_honours_generation_fields_and_refuses_unsupported_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy_data_dir(ingested_subset(), dir.path(), "");
    let server = Server::start(&data, &[]);

    // Neutral values of the fields lore cannot vary are accepted, as is `user`.
    let (s, v) = chat(
        &server,
        json!({"n": 1, "top_p": 1, "presence_penalty": 0, "frequency_penalty": 0, "user": "u1",
               "max_tokens": 64, "temperature": 0.2, "stop": ["\n\nQuestion:"]}),
    );
    assert_eq!(s, 200, "{v}");
    assert!(!v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .is_empty());

    // Anything else is refused in OpenAI's error shape, naming the field.
    for (extra, field) in [
        (
            json!({"tools": [{"type": "function", "function": {"name": "f"}}]}),
            "tools",
        ),
        (
            json!({"response_format": {"type": "json_object"}}),
            "response_format",
        ),
        (json!({"logprobs": true}), "logprobs"),
        (json!({"n": 2}), "n"),
        (json!({"top_p": 0.5}), "top_p"),
        (json!({"max_tokens": 0}), "max_tokens"),
        (json!({"temperature": 3}), "temperature"),
        (json!({"stop": ["a", "b", "c", "d", "e"]}), "stop"),
    ] {
        let (s, v) = chat(&server, extra.clone());
        assert!(s == 400 || s == 422, "{extra}: {s} {v}");
        let e = &v["error"];
        assert!(
            e["type"].is_string() && e["code"].is_string(),
            "OpenAI shape: {v}"
        );
        assert!(
            e["message"].as_str().unwrap().contains(field),
            "{extra}: {v}"
        );
    }
    let (_, v) = chat(&server, json!({"n": 3}));
    assert_eq!(v["error"]["code"], "unsupported_parameter", "{v}");
}

#[test]
fn a_follow_up_is_searched_with_the_question_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy_data_dir(ingested_subset(), dir.path(), "");
    let server = Server::start(&data, &[]);
    let follow_up = "and what about the second one?";
    // Alone, the follow-up names nothing the documents hold.
    let (s, alone) = chat(
        &server,
        json!({"messages": [{"role": "user", "content": follow_up}]}),
    );
    assert_eq!(s, 200, "{alone}");
    // After a question about Apache's bind address, it retrieves Apache's documents.
    let (s, v) = chat(
        &server,
        json!({"messages": [
            {"role": "user", "content": "Which address does Apache bind to?"},
            {"role": "assistant", "content": "Apache binds to the addresses in Listen [1]."},
            {"role": "user", "content": follow_up},
        ]}),
    );
    assert_eq!(s, 200, "{v}");
    let sources = |v: &Value| -> Vec<String> {
        v["citations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["source"].as_str().unwrap().to_string())
            .collect()
    };
    let (with, without) = (sources(&v), sources(&alone));
    assert!(
        with.iter().any(|s| s.contains("httpd")),
        "the follow-up found Apache's pages: {with:?}"
    );
    assert_ne!(with, without, "the conversation changed what was retrieved");
}

#[test]
fn an_answer_from_several_collections_is_checked_like_a_search() {
    let dir = tempfile::tempdir().unwrap();
    let data = copy_data_dir(ingested_subset(), dir.path(), "");
    let server = Server::start(&data, &[]);
    let c = server.client();
    let answer = |body: Value| post_json(&c, &server.at("/v1/answer"), body);
    let (s, v) = answer(json!({"query": "What is a vector?", "collections": ["docs", "docs"]}));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("duplicate_collection")),
        "{v}"
    );
    let (s, v) = answer(json!({"query": "What is a vector?", "collections": ["docs", "nope"]}));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("collection_not_found")),
        "{v}"
    );
    let (s, v) = answer(json!({"query": "What is a vector?", "collections": ["docs"]}));
    assert_eq!(s, 200, "{v}");
    assert!(!v["context"].as_array().unwrap().is_empty(), "{v}");
}
