//! kill -9 in the middle of an ingest: the store reopens consistent (indexes repaired from
//! the catalog), and re-running the ingest gives what a clean ingest gives.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn documents_written(data: &Path) -> i64 {
    let path = data.join("catalog.sqlite");
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0))
        .unwrap_or(0)
}

/// What must match between two stores: per document its hash and chunk count, and the
/// texts a few searches return.
fn fingerprint(data: &Path) -> (Vec<Value>, Vec<Vec<Value>>) {
    let docs = json(lore(data).args(["documents", "list", "-c", "k", "--json"]));
    let docs = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::json!([d["source"], d["content_hash"], d["chunks"]]))
        .collect();
    let searches = [
        "empty vector",
        "virtual host ServerName",
        "airworthiness directive comments",
    ]
    .iter()
    .map(|q| {
        search(data, "k", q, &["-k", "5"])
            .iter()
            .map(|h| serde_json::json!([h["source"], h["text"]]))
            .collect()
    })
    .collect();
    (docs, searches)
}

#[test]
fn sigkill_mid_ingest_recovers_to_a_clean_result() {
    let tmp = tempfile::tempdir().unwrap();
    let docs_dir = tmp.path().join("docs");
    copy_subset(&docs_dir);
    let clean = tmp.path().join("clean");
    let crashed = tmp.path().join("crashed");
    // Small embedding batches so documents are committed one after another.
    let ingest = |data: &Path| {
        let mut c = lore(data);
        c.current_dir(tmp.path())
            .args(["--ingest-batch", "8", "ingest", "docs", "-c", "k"]);
        c
    };

    assert!(run(&mut ingest(&clean)).status.success());

    let mut child = ingest(&crashed).spawn().unwrap();
    let start = Instant::now();
    loop {
        let n = documents_written(&crashed);
        if n >= 2 || start.elapsed() > Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "ingest finished before it could be killed"
    );
    let written = documents_written(&crashed);
    assert!(
        written < 9,
        "kill came too late: {written} documents written"
    );

    // Reopening repairs the indexes from the catalog; nothing half-written is visible.
    assert_consistent(&crashed, "k");
    for d in json(lore(&crashed).args(["documents", "list", "-c", "k", "--json"]))
        .as_array()
        .unwrap()
    {
        assert!(
            d["chunks"].as_u64().unwrap() > 0,
            "a document without chunks survived: {d}"
        );
    }

    assert!(run(&mut ingest(&crashed)).status.success());
    assert_consistent(&crashed, "k");
    assert_eq!(fingerprint(&crashed), fingerprint(&clean));
}
