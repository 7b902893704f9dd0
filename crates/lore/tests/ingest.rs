//! Ingest edge cases: bad files are reported and skipped without touching stored data;
//! changed files replace their chunks in every index; deletes remove them everywhere.

mod common;

use common::*;

#[test]
fn bad_files_are_reported_and_the_store_is_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = copy_subset(&tmp.path().join("good"));
    let first = json(
        lore(&data)
            .args(["ingest", "--collection", "c", "--json"])
            .arg(&good[0]),
    );
    assert_eq!(first["files"][0]["status"], "added");

    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("corrupt.pdf"),
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nno xref, truncated",
    )
    .unwrap();
    std::fs::write(
        bad.join("photo.txt"),
        [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
        ],
    )
    .unwrap();
    std::fs::write(bad.join("empty.txt"), b"").unwrap();
    std::fs::copy(&good[6], bad.join("install.txt")).unwrap();
    let missing = tmp.path().join("does-not-exist.md");

    let out = run(lore(&data)
        .args(["ingest", "--collection", "c", "--json"])
        .arg(&bad)
        .arg(&missing));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed file makes the exit code non-zero"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |name: &str| {
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["source"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not reported: {report}"))
            .clone()
    };
    assert_eq!(status("install.txt")["status"], "added");
    for (name, reason) in [
        ("corrupt.pdf", "pdf"),
        ("photo.txt", "image/png"),
        ("empty.txt", "empty file"),
        ("does-not-exist.md", "cannot read"),
    ] {
        let f = status(name);
        assert_eq!(f["status"], "failed", "{f}");
        assert!(
            f["reason"].as_str().unwrap().contains(reason),
            "{name}: {f}"
        );
    }
    // What was stored before is untouched and still found.
    let docs = json(lore(&data).args(["documents", "list", "--collection", "c", "--json"]));
    assert_eq!(docs.as_array().unwrap().len(), 2);
    assert!(!search(
        &data,
        "c",
        "empty vector Vec::new",
        &["--mode", "bm25", "-k", "1"]
    )
    .is_empty());
    assert_consistent(&data, "c");
}

#[test]
fn changed_file_replaces_chunks_and_delete_removes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("notes.md");
    std::fs::write(
        &file,
        "# Notes\n\nThe zorblax calibration runs every Tuesday at noon.\n",
    )
    .unwrap();
    let r = json(lore(&data).args(["ingest", "-c", "n", "--json"]).arg(&file));
    assert_eq!(r["files"][0]["status"], "added");
    let old = search(&data, "n", "zorblax calibration", &["--mode", "bm25"]);
    assert_eq!(old.len(), 1);
    let old_chunk = old[0]["chunk_id"].clone();

    std::fs::write(
        &file,
        "# Notes\n\nThe quuxfrob inspection moved to Friday mornings.\n",
    )
    .unwrap();
    let r = json(lore(&data).args(["ingest", "-c", "n", "--json"]).arg(&file));
    assert_eq!(r["files"][0]["status"], "updated");
    assert!(
        search(&data, "n", "zorblax", &["--mode", "bm25"]).is_empty(),
        "old chunk still in BM25"
    );
    let dense = search(
        &data,
        "n",
        "The zorblax calibration runs every Tuesday at noon.",
        &["--mode", "dense"],
    );
    assert!(
        dense.iter().all(|h| h["chunk_id"] != old_chunk),
        "old chunk still in the vector index"
    );
    assert!(dense[0]["text"].as_str().unwrap().contains("quuxfrob"));
    let docs = json(lore(&data).args(["documents", "list", "-c", "n", "--json"]));
    assert_eq!(docs[0]["version"], 2);
    assert_consistent(&data, "n");

    let out = run(lore(&data)
        .args(["documents", "delete", "-c", "n"])
        .arg(&file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(search(&data, "n", "quuxfrob", &["--mode", "bm25"]).is_empty());
    assert!(search(&data, "n", "quuxfrob inspection", &["--mode", "dense"]).is_empty());
    assert_consistent(&data, "n");
    let out = run(lore(&data)
        .args(["documents", "delete", "-c", "n"])
        .arg(&file));
    assert_eq!(
        out.status.code(),
        Some(1),
        "deleting a missing document is reported"
    );
}

#[test]
fn a_collection_keeps_its_chunking_and_refuses_to_mix_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let a = tmp.path().join("a.md");
    let b = tmp.path().join("b.md");
    std::fs::write(
        &a,
        "# Alpha\n\nThe zorblax calibration runs every Tuesday at noon.\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "# Beta\n\nThe zorblax inspection moved to Friday mornings.\n",
    )
    .unwrap();
    let chunking = |c: &str| {
        let v = json(lore(&data).args(["collections", "show", c, "--json"]));
        (
            v["chunking"]["chunk_tokens"].clone(),
            v["chunking"]["overlap_tokens"].clone(),
        )
    };

    // Created with the run's chunking, recorded.
    let r = json(
        lore(&data)
            .args([
                "--chunk-tokens",
                "128",
                "--chunk-overlap",
                "16",
                "ingest",
                "-c",
                "small",
                "--json",
            ])
            .arg(&a),
    );
    assert_eq!(r["files"][0]["status"], "added", "{r}");
    assert_eq!(chunking("small"), (128.into(), 16.into()));
    // A later run without chunking flags uses the collection's.
    let r = json(
        lore(&data)
            .args(["ingest", "-c", "small", "--json"])
            .arg(&b),
    );
    assert_eq!(r["files"][0]["status"], "added", "{r}");
    assert_eq!(chunking("small"), (128.into(), 16.into()));
    // A run asking for another chunking is refused, and nothing changes.
    let out = run(lore(&data)
        .args(["--chunk-tokens", "200", "ingest", "-c", "small"])
        .arg(&a));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chunked at 128 tokens") && err.contains("--rechunk"),
        "{err}"
    );
    assert_eq!(chunking("small"), (128.into(), 16.into()));
    let docs = json(lore(&data).args(["documents", "list", "-c", "small", "--json"]));
    assert_eq!(docs.as_array().unwrap().len(), 2);
    // --rechunk re-chunks explicitly: the collection holds this run's documents.
    let r = json(
        lore(&data)
            .args([
                "--chunk-tokens",
                "200",
                "ingest",
                "-c",
                "small",
                "--rechunk",
                "--json",
            ])
            .arg(&a),
    );
    assert_eq!(r["files"][0]["status"], "added", "{r}");
    assert_eq!(
        chunking("small"),
        (200.into(), 32.into()),
        "the run's chunking, overlap by default"
    );
    let docs = json(lore(&data).args(["documents", "list", "-c", "small", "--json"]));
    assert_eq!(docs.as_array().unwrap().len(), 1);
    assert_consistent(&data, "small");

    // Several collections in one search, fused.
    json(
        lore(&data)
            .args(["ingest", "-c", "other", "--json"])
            .arg(&b),
    );
    let hits = search(&data, "small,other", "zorblax", &["--mode", "bm25"]);
    let from: std::collections::BTreeSet<&str> = hits
        .iter()
        .map(|h| h["collection"].as_str().unwrap())
        .collect();
    assert_eq!(
        from.into_iter().collect::<Vec<_>>(),
        ["other", "small"],
        "{hits:?}"
    );
    // ... and one answer from both, fused the same way.
    let answer = json(lore(&data).args([
        "ask",
        "When do the zorblax calibration and inspection happen?",
        "-c",
        "small,other",
        "--json",
    ]));
    let context = answer["context"].as_array().unwrap();
    for file in ["/a.md", "/b.md"] {
        assert!(
            context
                .iter()
                .any(|c| c["source"].as_str().unwrap().ends_with(file)),
            "{file} in the context of {answer}"
        );
    }
    // A document by id or by source.
    let id = docs[0]["id"].as_i64().unwrap().to_string();
    let by_id = json(lore(&data).args(["documents", "show", &id, "-c", "small", "--json"]));
    let source = by_id["source"].as_str().unwrap().to_string();
    let by_source = json(lore(&data).args(["documents", "show", &source, "-c", "small", "--json"]));
    assert_eq!(by_id, by_source);
}
