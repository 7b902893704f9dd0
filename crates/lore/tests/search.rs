//! Ingest real documents and find known facts in each mode; filters restrict inside the
//! legs and still fill top_k.

mod common;

use common::*;

/// `lore ingest` of `files` into collection `c` with `domain` and the tag `sample`; the
/// JSON report.
fn ingest_sample(
    data: &std::path::Path,
    domain: &str,
    files: &[std::path::PathBuf],
) -> serde_json::Value {
    json(
        lore(data)
            .args(["ingest", "--collection", "c", "--domain", domain])
            .args(["--tag", "sample", "--json"])
            .args(files),
    )
}

#[test]
fn ingest_then_search_each_mode_with_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let files = copy_subset(&tmp.path().join("docs"));
    let data = tmp.path().join("data");
    let by_ext = |exts: &[&str]| -> Vec<std::path::PathBuf> {
        files
            .iter()
            .filter(|f| exts.iter().any(|e| f.to_string_lossy().ends_with(e)))
            .cloned()
            .collect()
    };
    for (domain, exts) in [
        ("rust", &[".md"][..]),
        ("httpd", &[".html", ".txt"][..]),
        ("gov", &[".pdf", ".docx"][..]),
    ] {
        let report = ingest_sample(&data, domain, &by_ext(exts));
        for f in report["files"].as_array().unwrap() {
            assert_eq!(f["status"], "added", "{f}");
        }
    }

    // Known facts, each in a specific file; every mode finds them in the top 3.
    let facts = [
        (
            "How do I create a new empty vector?",
            "rust-book-ch08-01-vectors.md",
            None,
        ),
        (
            "name-based virtual hosts share one IP address",
            "httpd-vhosts-name-based.html",
            None,
        ),
        (
            "When must the FAA receive comments on this proposed AD?",
            "federal-register-2020-17221.pdf",
            Some(1),
        ),
    ];
    for mode in ["bm25", "dense", "hybrid"] {
        for (query, file, page) in facts {
            let hits = search(&data, "c", query, &["--mode", mode, "--top-k", "3"]);
            let hit = hits
                .iter()
                .find(|h| h["source"].as_str().unwrap().ends_with(file))
                .unwrap_or_else(|| panic!("{mode}: {query:?} did not find {file} in {hits:?}"));
            if let Some(p) = page {
                assert!(
                    hits.iter().any(|h| h["page"] == p),
                    "{mode}: page {p} expected"
                );
            }
            for key in [
                "document_id",
                "chunk_id",
                "source",
                "title",
                "page",
                "heading",
                "score",
                "text",
            ] {
                assert!(hit.get(key).is_some(), "hit lacks {key}: {hit}");
            }
        }
    }
    let md = search(
        &data,
        "c",
        "HashMap insert",
        &["--mode", "hybrid", "--top-k", "1"],
    );
    assert!(
        md[0]["heading"].as_str().is_some(),
        "markdown hits carry a heading"
    );

    // A filter applies inside both legs: a query mostly about Rust restricted to the httpd domain
    // still returns top_k httpd chunks (there are ~40), never a Rust one.
    for mode in ["bm25", "dense", "hybrid"] {
        let hits = search(
            &data,
            "c",
            "Rust ownership rules and borrowing on the server",
            &["--mode", mode, "--top-k", "10", "--filter", "domain=httpd"],
        );
        assert_eq!(
            hits.len(),
            10,
            "{mode}: filtered query must still fill top_k"
        );
        for h in &hits {
            let s = h["source"].as_str().unwrap();
            assert!(
                s.ends_with(".html") || s.ends_with(".txt"),
                "{mode}: {s} leaked through domain=httpd"
            );
        }
    }
    // A selective filter (one document) takes the exact-scan path.
    let vectors = files[0].to_string_lossy().to_string();
    let hits = search(
        &data,
        "c",
        "web server",
        &[
            "--mode",
            "dense",
            "-k",
            "5",
            "--filter",
            &format!("source={vectors}"),
        ],
    );
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h["source"] == vectors.as_str()));
    // Filters on tags, and on a value nothing has.
    assert_eq!(
        search(&data, "c", "vector", &["-k", "3", "--filter", "tag=sample"]).len(),
        3
    );
    assert!(search(&data, "c", "vector", &["--filter", "domain=nope"]).is_empty());

    // Unchanged files are not re-ingested.
    let again = ingest_sample(&data, "rust", &by_ext(&[".md"]));
    assert!(
        again["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "unchanged"),
        "{again}"
    );
    assert_consistent(&data, "c");

    // Bad search input is a clear error, not a crash.
    let out = run(lore(&data).args(["search", "x", "--collection", "c", "--filter", "colour=red"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown filter key"));
    let out = run(lore(&data).args(["search", "x", "--collection", "missing"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("collection `missing` not found"));
}
