//! Meeting memory end to end: real QMSum transcripts through the CLI and HTTP; re-ingest
//! and delete leave no trace; bad inputs are refused with a code; roles and domain
//! restrictions hold inside the query.

mod common;

use std::path::PathBuf;

use common::http::{assert_error, client_with_key, json_of, post_json};
use common::{json, key, lore, run, Server};
use reqwest::blocking::multipart;
use serde_json::{json, Value};

fn meetings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/meetings")
}

fn qmsum(name: &str) -> PathBuf {
    meetings_dir().join(format!("{name}.json"))
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn qmsum_meetings_become_memories_recalled_with_activation_and_bridges() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let out = json(
        lore(data)
            .arg("--json")
            .args(["memory", "ingest"])
            .arg(qmsum("ES2004a"))
            .arg(qmsum("ES2004b")),
    );
    let results = out["meetings"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{out}");
    for r in results {
        assert_eq!(r["result"]["status"], "added", "{r}");
        assert!(r["result"]["episodic"].as_u64().unwrap() > 20, "{r}");
    }

    // A question from QMSum's ES2004a queries (gold turns 173-311).
    let q = "What did the group discuss about remote control style and design optimization?";
    let r = json(
        lore(data)
            .arg("--json")
            .args(["memory", "query", q, "--meeting", "ES2004a"]),
    );
    let direct = r["direct_results"]["L2"].as_array().unwrap();
    assert!(!direct.is_empty(), "{r}");
    for m in direct {
        assert_eq!(m["level"], "L2");
        assert_eq!(m["meeting"], "ES2004a", "the filter holds");
        assert!(m["turn_start"].as_u64().unwrap() <= m["turn_end"].as_u64().unwrap());
        let first_speaker = m["speakers"][0].as_str().unwrap();
        assert!(
            m["content"]
                .as_str()
                .unwrap()
                .contains(&format!("{first_speaker}:")),
            "speaker names stay in the memory text: {m}"
        );
        let f = &m["features"];
        for k in [
            "urgency",
            "sentiment",
            "authority",
            "interaction",
            "causal",
            "evolutionary",
        ] {
            let v = f[k].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{k} = {v}");
        }
    }
    let gold = 173..=311;
    assert!(
        direct.iter().any(|m| {
            let (a, b) = (
                m["turn_start"].as_u64().unwrap(),
                m["turn_end"].as_u64().unwrap(),
            );
            a <= *gold.end() && b >= *gold.start()
        }),
        "a direct hit overlaps the gold span: {r}"
    );
    let activated = r["activated_memories"].as_array().unwrap();
    assert!(!activated.is_empty(), "activation spreads: {r}");
    let direct_ids: Vec<i64> = ids(&r["direct_results"]["L2"])
        .into_iter()
        .chain(ids(&r["direct_results"]["L1"]))
        .collect();
    for a in activated {
        let path: Vec<i64> = a["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        assert!(
            direct_ids.contains(&path[0]),
            "paths start at a direct hit: {a}"
        );
        assert_eq!(*path.last().unwrap(), a["id"].as_i64().unwrap());
        assert_eq!(path.len() as u64, a["depth"].as_u64().unwrap() + 1);
        let s = a["strength"].as_f64().unwrap();
        let class = if s >= 0.7 {
            "core"
        } else if s >= 0.5 {
            "contextual"
        } else {
            "peripheral"
        };
        assert_eq!(a["class"], class, "{a}");
        assert!(!direct_ids.contains(&a["id"].as_i64().unwrap()));
    }
    // Without the meeting filter, bridges link the activated memories onwards.
    let r = json(lore(data).arg("--json").args([
        "memory",
        "query",
        "the battery and the budget of the remote",
    ]));
    let bridges = r["bridge_memories"].as_array().unwrap();
    assert!(!bridges.is_empty(), "{r}");
    for b in bridges {
        assert!(!b["connects"].as_array().unwrap().is_empty());
        assert!(b["explanation"].as_str().unwrap().contains("turns"), "{b}");
        let novelty = b["novelty"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&novelty));
    }
    let text =
        String::from_utf8(run(lore(data).args(["memory", "query", q, "--no-bridges"])).stdout)
            .unwrap();
    assert!(
        text.contains("direct L2 episodic") && text.contains("activated"),
        "{text}"
    );

    // Answers from memory cite meeting, turns and speakers.
    let answer =
        json(
            lore(data)
                .arg("--json")
                .args(["ask", "--memory", q, "--generator", "extractive"]),
        );
    let context = answer["context"].as_array().unwrap();
    assert!(!context.is_empty(), "{answer}");
    for c in context {
        assert!(
            ["ES2004a", "ES2004b"].contains(&c["source"].as_str().unwrap()),
            "{c}"
        );
        assert!(c["heading"].as_str().unwrap().starts_with("turns "), "{c}");
    }
    assert!(
        !answer["citations"].as_array().unwrap().is_empty(),
        "{answer}"
    );

    // Re-ingest unchanged: nothing written. Delete: no trace left.
    let again = json(
        lore(data)
            .arg("--json")
            .args(["memory", "ingest"])
            .arg(qmsum("ES2004a")),
    );
    assert_eq!(
        again["meetings"][0]["result"]["status"], "unchanged",
        "{again}"
    );
    let before = json(lore(data).arg("--json").args(["memory", "stats"]));
    let out = run(lore(data).args(["memory", "delete", "ES2004b"]));
    assert!(out.status.success());
    let after = json(lore(data).arg("--json").args(["memory", "stats"]));
    assert_eq!(after["meetings"], 1);
    assert!(after["episodic"].as_u64() < before["episodic"].as_u64());
    let r = json(
        lore(data)
            .arg("--json")
            .args(["memory", "query", q, "--meeting", "ES2004b"]),
    );
    assert_eq!(r["total_results"], 0, "{r}");
    let r = json(lore(data).arg("--json").args(["memory", "query", q]));
    for m in r["activated_memories"]
        .as_array()
        .unwrap()
        .iter()
        .chain(r["bridge_memories"].as_array().unwrap())
    {
        assert_ne!(m["meeting"], "ES2004b", "{m}");
    }
    let out = run(lore(data).args(["memory", "delete", "ES2004b"]));
    assert!(!out.status.success(), "a second delete finds nothing");

    // Bad inputs: refused, nothing stored changes.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("empty.txt"), "").unwrap();
    std::fs::write(bad.join("nospeaker.txt"), "just words here\nAlice: hi").unwrap();
    std::fs::write(bad.join("notes.pdf"), "%PDF-1.4 words").unwrap();
    for f in ["empty.txt", "nospeaker.txt", "notes.pdf"] {
        let out = run(lore(data).args(["memory", "ingest"]).arg(bad.join(f)));
        assert!(!out.status.success(), "{f}");
    }
    assert_eq!(
        json(lore(data).arg("--json").args(["memory", "stats"])),
        after
    );
}

#[test]
fn webvtt_transcripts_keep_their_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let vtt = dir.path().join("standup.vtt");
    std::fs::write(
        &vtt,
        "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Alice>The release is blocked because the battery tests fail.\n\n\
         00:00:06.000 --> 00:00:09.000\n<v Bob>So we decided to ship on Friday after the fix.\n\n\
         00:00:10.000 --> 00:00:14.000\n<v Alice>I will send the test report today.\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = json(
        lore(&data)
            .arg("--json")
            .args([
                "memory",
                "ingest",
                "--date",
                "2026-11-30",
                "--series",
                "standups",
            ])
            .arg(&vtt),
    );
    assert_eq!(out["meetings"][0]["result"]["status"], "added", "{out}");
    let r = json(lore(&data).arg("--json").args([
        "memory",
        "query",
        "when do we ship?",
        "--series",
        "standups",
    ]));
    let m = &r["direct_results"]["L2"][0];
    assert_eq!(m["meeting"], "standup");
    assert_eq!(m["start_ms"], 1000, "{m}");
    assert_eq!(m["end_ms"], 14000, "{m}");
    assert!(
        m["features"]["deadline_proximity"].as_f64().unwrap() > 0.0,
        "{m}"
    );
    let r = json(lore(&data).arg("--json").args([
        "memory",
        "query",
        "when do we ship?",
        "--date-from",
        "2026-12-01",
    ]));
    assert_eq!(r["total_results"], 0, "the date filter holds: {r}");
}

fn meeting_body(id: &str, domain: &str, topic: &str) -> Value {
    let turns: Vec<Value> = (0..12)
        .map(|i| {
            let speaker = ["Ana", "Ben", "Chloe"][i % 3];
            json!({
                "speaker": speaker,
                "text": format!("About the {topic}: point {i}, we need to agree on the {topic} budget and the {topic} schedule before the review."),
            })
        })
        .collect();
    json!({"id": id, "title": format!("{topic} review"), "date": "2026-11-02", "domain": domain, "turns": turns})
}

#[test]
fn memory_over_http_honours_roles_domains_and_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = Server::start(data, &[]);
    let admin = server.client();
    let product_writer = client_with_key(&key(data, &["--role", "writer", "--domains", "product"]));
    let research_reader =
        client_with_key(&key(data, &["--role", "reader", "--domains", "research"]));
    let reader = client_with_key(&key(data, &["--role", "reader"]));
    let at = |p: &str| server.at(p);

    let (s, v) = post_json(
        &product_writer,
        &at("/v1/memory/meetings"),
        meeting_body("p1", "product", "battery"),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "added");
    let (s, v) = post_json(
        &admin,
        &at("/v1/memory/meetings"),
        meeting_body("r1", "research", "battery"),
    );
    assert_eq!(s, 201, "{v}");
    // Writing outside the key's domains, or as a reader: refused.
    let (s, v) = post_json(
        &product_writer,
        &at("/v1/memory/meetings"),
        meeting_body("r2", "research", "x"),
    );
    assert_error(s, &v, 403, "domain_forbidden");
    let (s, v) = post_json(
        &product_writer,
        &at("/v1/memory/meetings"),
        meeting_body("r1", "product", "x"),
    );
    assert_error(s, &v, 403, "domain_forbidden");
    let (s, v) = post_json(
        &reader,
        &at("/v1/memory/meetings"),
        meeting_body("z", "product", "x"),
    );
    assert_error(s, &v, 403, "insufficient_role");
    // Bad transcripts.
    let (s, v) = post_json(
        &admin,
        &at("/v1/memory/meetings"),
        json!({"id": "e", "turns": []}),
    );
    assert_error(s, &v, 400, "invalid_transcript");
    let (s, v) = post_json(
        &admin,
        &at("/v1/memory/meetings"),
        json!({"turns": [{"speaker": "", "text": "hi"}]}),
    );
    assert_error(s, &v, 400, "invalid_transcript");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("turn 1"),
        "{v}"
    );
    let many: Vec<Value> = (0..50_001)
        .map(|_| json!({"speaker": "a", "text": "b"}))
        .collect();
    let (s, v) = post_json(
        &admin,
        &at("/v1/memory/meetings"),
        json!({"id": "big", "turns": many}),
    );
    assert!(s == 413, "{s} {v}");

    // Out of range: 400 naming the field.
    for (body, field) in [
        (
            json!({"query": "battery", "limit_per_level": 0}),
            "limit_per_level",
        ),
        (
            json!({"query": "battery", "max_activations": 101}),
            "max_activations",
        ),
        (json!({"query": ""}), "query"),
        (
            json!({"query": "battery", "filters": {"date_to": "yesterday"}}),
            "filters.date_to",
        ),
    ] {
        let (s, v) = post_json(&reader, &at("/v1/memory/query"), body);
        assert_error(s, &v, 400, "invalid_request");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(field),
            "{v}"
        );
    }

    // The research reader sees research memories only, at every level and stage.
    let q = json!({"query": "what about the battery budget?"});
    let (s, all) = post_json(&reader, &at("/v1/memory/query"), q.clone());
    assert_eq!(s, 200, "{all}");
    let meetings = |r: &Value| -> Vec<String> {
        let d = &r["direct_results"];
        d["L2"]
            .as_array()
            .unwrap()
            .iter()
            .chain(d["L1"].as_array().unwrap())
            .chain(r["activated_memories"].as_array().unwrap())
            .chain(r["bridge_memories"].as_array().unwrap())
            .filter_map(|m| m["meeting"].as_str().map(String::from))
            .collect()
    };
    let seen = meetings(&all);
    assert!(
        seen.contains(&"p1".to_string()) && seen.contains(&"r1".to_string()),
        "{seen:?}"
    );
    let (_, restricted) = post_json(&research_reader, &at("/v1/memory/query"), q.clone());
    let seen = meetings(&restricted);
    assert!(
        !seen.is_empty() && seen.iter().all(|m| m == "r1"),
        "{seen:?}"
    );
    let (_, listed) = json_of(
        research_reader
            .get(at("/v1/memory/meetings"))
            .send()
            .unwrap(),
    );
    assert_eq!(listed["meetings"].as_array().unwrap().len(), 1, "{listed}");

    // Answers from memory over REST and the OpenAI endpoint cite the visible meeting only.
    let (s, ans) = post_json(
        &research_reader,
        &at("/v1/answer"),
        json!({"query": "what about the battery budget?", "source": "memory", "generator": "extractive"}),
    );
    assert_eq!(s, 200, "{ans}");
    assert!(
        ans["context"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["source"] == "r1"),
        "{ans}"
    );
    assert!(!ans["context"].as_array().unwrap().is_empty(), "{ans}");
    let (s, v) = post_json(
        &reader,
        &at("/v1/answer"),
        json!({"query": "battery", "source": "memory", "collection": "docs"}),
    );
    assert_error(s, &v, 400, "invalid_request");
    let (s, chat) = post_json(
        &reader,
        &at("/v1/chat/completions"),
        json!({"model": "memory", "messages": [{"role": "user", "content": "what about the battery schedule?"}], "generator": "extractive"}),
    );
    assert_eq!(s, 200, "{chat}");
    assert!(
        chat["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("turns"),
        "{chat}"
    );

    // Cached, and invalidated by a write to a meeting it involves.
    let (_, again) = post_json(&reader, &at("/v1/memory/query"), q.clone());
    assert_eq!(again["cached"], true);
    let (s, v) = json_of(
        research_reader
            .delete(at("/v1/memory/meetings/r1"))
            .send()
            .unwrap(),
    );
    assert_error(s, &v, 403, "insufficient_role");
    let (s, v) = json_of(
        product_writer
            .delete(at("/v1/memory/meetings/r1"))
            .send()
            .unwrap(),
    );
    assert_error(s, &v, 404, "meeting_not_found");
    let (s, v) = json_of(admin.delete(at("/v1/memory/meetings/r1")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    let (_, after) = post_json(&reader, &at("/v1/memory/query"), q);
    assert_eq!(
        after["cached"], false,
        "the delete dropped the cached result"
    );
    assert!(meetings(&after).iter().all(|m| m == "p1"), "{after}");
    let (s, stats) = json_of(reader.get(at("/v1/memory/stats")).send().unwrap());
    assert_eq!(s, 200);
    assert_eq!(stats["meetings"], 1, "{stats}");
    let (s, v) = json_of(reader.post(at("/v1/memory/consolidate")).send().unwrap());
    assert_error(s, &v, 403, "insufficient_role");
    let (s, v) = json_of(admin.post(at("/v1/memory/consolidate")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    let (s, health) = json_of(admin.get(at("/health/detailed")).send().unwrap());
    assert_eq!(s, 200, "{health}");
    assert_eq!(health["memory"]["status"], "ok", "{health}");
    assert!(
        health["memory"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("1 meetings"),
        "{health}"
    );
    let metrics = admin.get(at("/metrics")).send().unwrap().text().unwrap();
    assert!(
        metrics.contains("lore_memory_memories{level=\"L2\"}"),
        "{metrics}"
    );
}

fn upload(
    client: &reqwest::blocking::Client,
    url: &str,
    file: Option<(&str, Vec<u8>)>,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = multipart::Form::new();
    if let Some((name, bytes)) = file {
        form = form.part(
            "file",
            multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    json_of(client.post(url).multipart(form).send().unwrap())
}

#[test]
fn transcript_files_upload_over_http_as_the_cli_ingests_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = Server::start(data, &[]);
    let admin = server.client();
    let product_writer = client_with_key(&key(data, &["--role", "writer", "--domains", "product"]));
    let url = server.at("/v1/memory/transcripts");
    let es2004a = std::fs::read(qmsum("ES2004a")).unwrap();

    // A real QMSum file: the id from the file name, the series from the id, form fields
    // over the file's metadata.
    let (s, v) = upload(
        &product_writer,
        &url,
        Some(("ES2004a.json", es2004a.clone())),
        &[("domain", "product"), ("date", "2026-11-02")],
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], "ES2004a");
    assert!(v["episodic"].as_u64().unwrap() > 10, "{v}");
    let (s, v) = upload(
        &product_writer,
        &url,
        Some(("ES2004a.json", es2004a.clone())),
        &[("domain", "product"), ("date", "2026-11-02")],
    );
    assert_eq!((s, v["status"].as_str()), (200, Some("unchanged")), "{v}");
    let (_, listed) = json_of(admin.get(server.at("/v1/memory/meetings")).send().unwrap());
    let m = &listed["meetings"][0];
    assert_eq!(
        (
            m["series"].as_str(),
            m["date"].as_str(),
            m["domain"].as_str()
        ),
        (Some("ES2004"), Some("2026-11-02"), Some("product")),
        "{listed}"
    );

    // WebVTT with timestamps, id given by the form.
    let vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Alice>The battery tests fail.\n\n\
               00:00:05.000 --> 00:00:09.000\n<v Bob>So we decided to ship on Friday.\n";
    let (s, v) = upload(
        &admin,
        &url,
        Some(("standup.vtt", vtt.as_bytes().to_vec())),
        &[("id", "standup-1"), ("series", "standups")],
    );
    assert_eq!(s, 201, "{v}");
    let (_, r) = post_json(
        &admin,
        &server.at("/v1/memory/query"),
        json!({"query": "when do we ship?", "filters": {"meeting": "standup-1"}}),
    );
    assert_eq!(r["direct_results"]["L2"][0]["start_ms"], 1000, "{r}");

    // Refused, with a code, and nothing stored changes.
    let (s, v) = upload(
        &product_writer,
        &url,
        Some(("ES2004b.json", std::fs::read(qmsum("ES2004b")).unwrap())),
        &[("domain", "research")],
    );
    assert_error(s, &v, 403, "domain_forbidden");
    // A reader may not write: refused before the body is read (sent whole here, with a
    // length, so the early answer cannot cut the upload off mid-write).
    let reader = client_with_key(&key(data, &["--role", "reader"]));
    let body = format!(
        "--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"s.vtt\"\r\n\r\n{vtt}\r\n--b--\r\n"
    );
    let (s, v) = json_of(
        reader
            .post(&url)
            .header("content-type", "multipart/form-data; boundary=b")
            .body(body)
            .send()
            .unwrap(),
    );
    assert_error(s, &v, 403, "insufficient_role");
    let (s, v) = upload(&admin, &url, None, &[("series", "x")]);
    assert_error(s, &v, 400, "invalid_multipart");
    let (s, v) = upload(
        &admin,
        &url,
        Some(("a.vtt", vtt.as_bytes().to_vec())),
        &[("speaker", "x")],
    );
    assert_error(s, &v, 400, "invalid_multipart");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("speaker"),
        "{v}"
    );
    let (s, v) = upload(
        &admin,
        &url,
        Some(("slides.pptx", b"PK\x03\x04\0\0binary".to_vec())),
        &[],
    );
    assert_error(s, &v, 400, "invalid_transcript");
    let (s, v) = upload(&admin, &url, Some(("empty.txt", b"   \n".to_vec())), &[]);
    assert_error(s, &v, 400, "invalid_transcript");
    let (s, v) = upload(
        &admin,
        &url,
        Some(("x.vtt", vtt.as_bytes().to_vec())),
        &[("date", "last tuesday")],
    );
    assert_error(s, &v, 400, "invalid_transcript");
    // 100,000 levels of nesting: a per-file error, the server still answering.
    let deep = format!(
        "{{\"turns\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (s, v) = upload(&admin, &url, Some(("deep.json", deep.into_bytes())), &[]);
    assert_error(s, &v, 400, "invalid_transcript");
    let (_, stats) = json_of(admin.get(server.at("/v1/memory/stats")).send().unwrap());
    assert_eq!(stats["meetings"], 2, "{stats}");
    let (s, v) = json_of(
        admin
            .post(&url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .unwrap(),
    );
    assert_error(s, &v, 415, "unsupported_media_type");
}
