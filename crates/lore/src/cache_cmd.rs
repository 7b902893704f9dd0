//! `lore cache stats|clear|warm`: a running server's caches over its HTTP API (the caches
//! live in the server process, and in Redis when it shares one).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::cli::{CacheClearArgs, CacheCommand, CacheServerArgs, CacheWarmArgs};

pub fn run(c: CacheCommand, json: bool) -> Result<ExitCode> {
    match c {
        CacheCommand::Stats(a) => stats(&a, json),
        CacheCommand::Clear(a) => clear(&a),
        CacheCommand::Warm(a) => warm(&a),
    }
}

/// A client that sends `LORE_API_KEY` (an admin key: the cache routes need one).
fn client() -> Result<reqwest::blocking::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = std::env::var("LORE_API_KEY").ok().filter(|k| !k.is_empty()) {
        let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
            .context("LORE_API_KEY is not a valid header value")?;
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    reqwest::blocking::Client::builder()
        .default_headers(headers)
        // A warm-up batch generates answers: allow it the server's own request timeout.
        .timeout(Duration::from_secs(600))
        .build()
        .context("building the HTTP client")
}

/// The JSON body of a response, or an error with the server's message.
fn body(resp: reqwest::blocking::Response, what: &str) -> Result<Value> {
    let status = resp.status();
    let v: Value = resp
        .json()
        .with_context(|| format!("{what}: the response is not JSON"))?;
    if !status.is_success() {
        let msg = v["error"]["message"].as_str().unwrap_or("no message");
        bail!("{what}: {status}: {msg}");
    }
    Ok(v)
}

fn url(server: &str, path: &str) -> String {
    format!("{}{path}", server.trim_end_matches('/'))
}

fn stats(a: &CacheServerArgs, json: bool) -> Result<ExitCode> {
    let resp = client()?
        .get(url(&a.server, "/v1/cache/stats"))
        .send()
        .with_context(|| {
            format!(
                "cannot reach lore at {} (is `lore serve` running?)",
                a.server
            )
        })?;
    let s = body(resp, "cache stats")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7}",
        "layer", "entries", "bytes", "hits", "misses", "hit rate", "shared", "evictions", "expired"
    );
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let row = |name: &str, l: &Value, hits: &Value, misses: &Value, rate: &Value| {
        println!(
            "{:<10} {:>8} {:>10} {:>8} {:>8} {:>7.1}% {:>8} {:>9} {:>7}",
            name,
            n(&l["entries"]),
            n(&l["bytes"]),
            n(hits),
            n(misses),
            rate.as_f64().unwrap_or(0.0) * 100.0,
            n(&l["shared_hits"]),
            n(&l["evictions"]),
            n(&l["expirations"]),
        );
    };
    for name in ["embedding", "retrieval", "answer"] {
        let l = &s[name];
        row(name, l, &l["hits"], &l["misses"], &l["hit_rate"]);
    }
    let sem = &s["semantic"];
    row(
        "semantic",
        &sem["lists"],
        &sem["hits"],
        &sem["misses"],
        &sem["hit_rate"],
    );
    println!(
        "answers served from cache: {:.1}% (exact + semantic); semantic rejections: {} below similarity {}, {} by the lexical check",
        s["answer_hit_rate"].as_f64().unwrap_or(0.0) * 100.0,
        sem["rejected_similarity"],
        sem["min_similarity"],
        sem["rejected_lexical"],
    );
    match &s["redis"] {
        Value::Null => println!("redis: not configured (in process only)"),
        r => println!(
            "redis: {} {}; errors {}, skipped while down {}, outages {}, invalidations received {}",
            r["url"].as_str().unwrap_or("?"),
            if r["available"].as_bool() == Some(true) {
                "available"
            } else {
                "DOWN"
            },
            r["errors"],
            r["skipped"],
            r["outages"],
            r["invalidations_received"],
        ),
    }
    if s["enabled"].as_bool() == Some(false) {
        println!("caching is off on this server (LORE_CACHE=off or [cache] enabled = false)");
    }
    Ok(ExitCode::SUCCESS)
}

fn clear(a: &CacheClearArgs) -> Result<ExitCode> {
    let path = match (&a.collection, a.document, &a.key, a.all) {
        (Some(c), Some(d), None, false) => format!("/v1/cache/collections/{c}/documents/{d}"),
        (Some(c), None, None, false) => format!("/v1/cache/collections/{c}"),
        (None, None, Some(k), false) => format!("/v1/cache/keys/{k}"),
        (None, None, None, true) => "/v1/cache".to_string(),
        _ => bail!("say what to invalidate: --all, --collection C [--document ID], or --key K"),
    };
    let resp = client()?
        .delete(url(&a.server, &path))
        .send()
        .with_context(|| format!("cannot reach lore at {}", a.server))?;
    let v = body(resp, "cache clear")?;
    println!("invalidated: {}", v["invalidated"]);
    Ok(ExitCode::SUCCESS)
}

fn warm(a: &CacheWarmArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("reading {}", a.file.display()))?;
    let questions: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if questions.is_empty() {
        bail!("{}: no questions (one per line)", a.file.display());
    }
    let client = client()?;
    let (mut generated, mut cached, mut not_cached, mut failed) = (0, 0, 0, 0);
    let started = std::time::Instant::now();
    for batch in questions.chunks(a.batch.clamp(1, 100)) {
        let mut req = json!({ "questions": batch, "filters": a.filters });
        if let Some(c) = &a.collection {
            req["collection"] = json!(c);
        }
        if let Some(g) = a.generator {
            req["generator"] = json!(g);
        }
        let resp = client
            .post(url(&a.server, "/v1/cache/warm"))
            .json(&req)
            .send()
            .with_context(|| format!("cannot reach lore at {}", a.server))?;
        let v = body(resp, "cache warm")?;
        generated += v["generated"].as_u64().unwrap_or(0);
        cached += v["already_cached"].as_u64().unwrap_or(0);
        not_cached += v["not_cached"].as_u64().unwrap_or(0);
        for f in v["failed"].as_array().into_iter().flatten() {
            failed += 1;
            eprintln!("failed: {}: {}", f["question"], f["error"]);
        }
        eprintln!(
            "{} / {} questions",
            generated + cached + not_cached + failed,
            questions.len()
        );
    }
    println!(
        "warmed {} questions in {:.1} s: {generated} answered and cached, {cached} already cached, {not_cached} answered but not cacheable, {failed} failed",
        questions.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
