//! Ingest jobs live in the catalog: a job interrupted by a crash resumes at the next start
//! and ends with every file stored; jobs are listed, newest first, filtered by status.

mod common;

use std::time::Duration;

use common::http::{docs_form, json_of, post_json};
use common::{eventually, Server};
use serde_json::Value;

#[test]
fn a_job_cut_by_a_crash_resumes_after_the_restart_and_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let c = server.client();
    let (s, v) = post_json(
        &c,
        &server.at("/v1/collections"),
        serde_json::json!({"name": "kb"}),
    );
    assert_eq!(s, 201, "{v}");
    let (form, names) = docs_form(12);
    let (s, job) = json_of(
        c.post(server.at("/v1/collections/kb/documents?wait_ms=0"))
            .multipart(form)
            .send()
            .unwrap(),
    );
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    // The process dies mid-job: no shutdown, no flush.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = Server::start(dir.path(), &[]);
    let c = server.client();
    let mut last = Value::Null;
    eventually(
        "the job ends after the restart",
        Duration::from_secs(600),
        || {
            let (s, j) = json_of(c.get(server.at(&format!("/v1/jobs/{id}"))).send().unwrap());
            assert_eq!(s, 200, "the job is not forgotten: {j}");
            last = j;
            last["status"] == "done" || last["status"] == "failed"
        },
    );
    assert_eq!(last["status"], "done", "{last}");
    assert_eq!(last["files_done"], names.len(), "{last}");
    for f in last["files"].as_array().unwrap() {
        assert!(
            ["added", "updated", "unchanged"].contains(&f["status"].as_str().unwrap()),
            "every file stored: {f}"
        );
    }
    let (_, stats) = json_of(c.get(server.at("/v1/collections/kb")).send().unwrap());
    assert_eq!(stats["documents"], names.len(), "{stats}");
    println!("resumed {} time(s)", last["resumed"]);

    let (s, page) = json_of(c.get(server.at("/v1/jobs?status=done")).send().unwrap());
    assert_eq!(s, 200, "{page}");
    assert!(
        page["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == id.as_str()),
        "{page}"
    );
    let (s, none) = json_of(c.get(server.at("/v1/jobs?status=queued")).send().unwrap());
    assert_eq!((s, none["total"].as_u64()), (200, Some(0)), "{none}");
    let (s, _) = json_of(c.get(server.at("/v1/jobs?limit=0")).send().unwrap());
    assert_eq!(s, 400);

    // The command line reads the same jobs from the data dir.
    let out = common::run(common::lore(dir.path()).args(["jobs", "show", &id, "--json"]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["status"].as_str()),
        (Some(id.as_str()), Some("done"))
    );
    let out = common::run(common::lore(dir.path()).args(["jobs", "list", "--json"]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["total"].as_u64().unwrap() >= 1, "{v}");
}
