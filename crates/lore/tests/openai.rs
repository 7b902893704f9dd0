//! The openai generator end to end: against a real OpenAI-compatible server (llama.cpp's
//! `llama-server`, built by scripts/setup-llama-server.sh, serving the same GGUF as the
//! embedded default), streaming and not; and against local TCP listeners that inject faults
//! (no answer, 500 then 200, 429 with Retry-After, a stream cut off, malformed SSE).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_streamed_with_sources, free_port, lore, run, stdout_ok};
use serde_json::Value;

const QUESTION: &str = "Which hashing function does Rust's HashMap use by default?";
/// llama-server's context window: smaller than 5 passages of 256 tokens plus the prompt, so
/// lore must trim the context for the server to accept the request.
const SERVER_CONTEXT: usize = 1024;

fn data() -> &'static Path {
    common::ingested_subset()
}

/// Writes a lore.toml pointing the openai generator at `base_url`, plus `extra` TOML lines
/// for `[llm.openai]`, and returns its path.
fn config(dir: &Path, base_url: &str, extra: &str, extractive_fallback: bool) -> PathBuf {
    let path = dir.join("lore.toml");
    // Short timeouts so injected faults resolve quickly, unless `extra` sets its own.
    let read_timeout = if extra.contains("read_timeout_ms") {
        ""
    } else {
        "read_timeout_ms = 1500\n"
    };
    std::fs::write(
        &path,
        format!(
            "[llm]\ngenerator = 'openai'\nextractive_fallback = {extractive_fallback}\nmax_answer_tokens = 48\n[llm.openai]\nbase_url = '{base_url}'\nmodel = 'smollm2'\nconnect_timeout_ms = 1000\n{read_timeout}backoff_ms = 50\n{extra}\n"
        ),
    )
    .unwrap();
    path
}

fn ask_with(config: &Path) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let out = run(lore(data())
        .args([
            "ask",
            QUESTION,
            "--collection",
            "docs",
            "--json",
            "--config",
        ])
        .arg(config));
    (out, started.elapsed())
}

fn answer_json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout_ok(out)).expect("JSON answer")
}

// ---- a real server -------------------------------------------------------------------------

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tools_dir() -> PathBuf {
    std::env::var_os("LORE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache")
                });
            cache.join("lore/tools")
        })
}

fn models_dir() -> PathBuf {
    std::env::var_os("LORE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().parent().unwrap().join("models"))
}

/// Starts llama-server on the SmolLM2 GGUF on a free port and waits for /health.
fn llama_server() -> (Server, String) {
    llama_server_on(free_port())
}

/// Starts llama-server on `port` and waits for /health.
fn llama_server_on(port: u16) -> (Server, String) {
    let bin = tools_dir().join("llama-server");
    assert!(
        bin.is_file(),
        "{} missing: run scripts/setup-llama-server.sh",
        bin.display()
    );
    let gguf = models_dir().join("llm/SmolLM2-135M-Instruct.Q4_1.gguf");
    let child = Command::new(bin)
        .arg("-m")
        .arg(&gguf)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "-c",
            &SERVER_CONTEXT.to_string(),
            "-np",
            "1",
            "-t",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start llama-server");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            if resp.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "llama-server did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (server, format!("http://127.0.0.1:{port}/v1"))
}

#[test]
fn real_server_streaming_and_not() {
    let (_server, url) = llama_server();
    let dir = tempfile::tempdir().unwrap();
    for stream in [true, false] {
        let extra = format!(
            "stream = {stream}\nread_timeout_ms = 60000\ncontext_window = {SERVER_CONTEXT}"
        );
        let (out, _) = ask_with(&config(dir.path(), &url, &extra, false));
        let v = answer_json(&out);
        assert_eq!(v["generator"], "openai", "{v}");
        assert_eq!(v["model"], "smollm2");
        let answer = v["answer"].as_str().unwrap();
        assert!(!answer.is_empty(), "stream={stream}: {v}");
        let prompt_tokens = v["usage"]["prompt_tokens"].as_u64().unwrap() as usize;
        assert!(
            prompt_tokens > 100 && prompt_tokens < SERVER_CONTEXT,
            "server-reported usage: {v}"
        );
        assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);
        // The window holds fewer than the 5 retrieved passages: trimmed by rank, said so.
        let given = v["context"].as_array().unwrap().len();
        assert!((1..5).contains(&given), "{v}");
        assert!(
            v["notices"][0].as_str().unwrap().contains("did not fit"),
            "{v}"
        );
    }
    // The terminal streams the text, then the sources.
    let cfg = config(
        dir.path(),
        &url,
        &format!("read_timeout_ms = 60000\ncontext_window = {SERVER_CONTEXT}"),
        false,
    );
    let out = run(lore(data())
        .args(["ask", QUESTION, "-c", "docs", "--config"])
        .arg(&cfg));
    assert_streamed_with_sources(&out);
}

// ---- injected faults ----------------------------------------------------------------------

/// Reads one HTTP request (head and Content-Length body).
fn read_request(stream: &mut TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut len = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
}

/// A listener whose n-th connection gets `responses[n]` (raw bytes); `None` = never answer.
fn fake(responses: Vec<Option<String>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for response in responses {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            read_request(&mut s);
            match response {
                Some(r) => {
                    let _ = s.write_all(r.as_bytes());
                }
                None => held.push(s),
            }
        }
        std::thread::sleep(Duration::from_secs(60));
    });
    url
}

fn sse(pieces: &[&str], done: bool) -> String {
    let mut r = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
    );
    for p in pieces {
        r.push_str(&format!(
            "data: {}\n\n",
            serde_json::json!({"choices": [{"index": 0, "delta": {"content": p}}]})
        ));
    }
    if done {
        r.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":321,\"completion_tokens\":9}}\n\ndata: [DONE]\n\n");
    }
    r
}

fn status(code: u16, extra_header: &str) -> String {
    format!("HTTP/1.1 {code} Oops\r\nContent-Type: application/json\r\nContent-Length: 17\r\n{extra_header}Connection: close\r\n\r\n{{\"error\":\"oops\"}}")
}

#[test]
fn timeout_falls_back_to_extractive_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let url = fake(vec![None]);
    let (out, took) = ask_with(&config(dir.path(), &url, "", true));
    let v = answer_json(&out);
    assert_eq!(v["generator"], "extractive", "{v}");
    let notice = v["notices"][0].as_str().unwrap();
    assert!(
        notice.contains("answering extractively") && notice.contains("unreachable"),
        "{notice}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    // Without the fallback: a clear error and a non-zero exit, not a hang.
    let (out, _) = ask_with(&config(dir.path(), &fake(vec![None]), "", false));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));
}

#[test]
fn server_error_is_retried_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let ok = sse(
        &["SipHash is the default", " hasher [1]. See also", " [7]."],
        true,
    );
    let url = fake(vec![Some(status(500, "")), Some(ok)]);
    let (out, _) = ask_with(&config(dir.path(), &url, "", false));
    let v = answer_json(&out);
    assert_eq!(v["generator"], "openai", "{v}");
    let answer = v["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("SipHash is the default hasher [1]."),
        "{answer}"
    );
    // The invented marker [7] never reaches the output.
    assert!(!answer.contains("[7]"), "{answer}");
    assert_eq!(v["invented_citations"], serde_json::json!([7]));
    assert_eq!(v["citations"].as_array().unwrap().len(), 1);
    assert_eq!(v["usage"]["prompt_tokens"], 321);
}

#[test]
fn an_invented_next_turn_is_cut_off() {
    // The default template's stop sequence "\nQuestion:" ends the answer even when the
    // server ignores the `stop` parameter.
    let dir = tempfile::tempdir().unwrap();
    let url = fake(vec![Some(sse(
        &[
            "SipHash [1].",
            "\nQues",
            "tion: and BTreeMap?",
            " It uses Ord.",
        ],
        true,
    ))]);
    let (out, _) = ask_with(&config(dir.path(), &url, "", false));
    assert_eq!(answer_json(&out)["answer"], "SipHash [1].");
}

#[test]
fn retry_after_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let url = fake(vec![
        Some(status(429, "Retry-After: 1\r\n")),
        Some(sse(&["SipHash [1]."], true)),
    ]);
    let (out, took) = ask_with(&config(dir.path(), &url, "", false));
    let v = answer_json(&out);
    assert_eq!(v["answer"], "SipHash [1].");
    assert!(
        took >= Duration::from_secs(1),
        "Retry-After: 1 was not waited for ({took:?})"
    );
    // Errors past the retry budget are reported with the status.
    let url = fake(vec![
        Some(status(503, "")),
        Some(status(503, "")),
        Some(status(503, "")),
    ]);
    let (out, _) = ask_with(&config(dir.path(), &url, "", false));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 503"));
}

#[test]
fn stream_cut_off_or_malformed_degrades_to_extractive() {
    let dir = tempfile::tempdir().unwrap();
    for (response, expect) in [
        (sse(&["SipHash is"], false), "closed before [DONE]"),
        (
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: {not json\n\n"
                .to_string(),
            "not JSON",
        ),
    ] {
        let url = fake(vec![Some(response)]);
        let (out, _) = ask_with(&config(dir.path(), &url, "", true));
        let v = answer_json(&out);
        assert_eq!(v["generator"], "extractive", "{v}");
        let notice = v["notices"][0].as_str().unwrap();
        assert!(notice.contains(expect), "{notice}");
    }
    // A refused connection (nothing listening) degrades the same way.
    let port = free_port();
    let (out, _) = ask_with(&config(
        dir.path(),
        &format!("http://127.0.0.1:{port}/v1"),
        "max_retries = 1",
        true,
    ));
    assert_eq!(answer_json(&out)["generator"], "extractive");
}

#[test]
fn fallback_provider_answers_when_the_primary_fails() {
    let dir = tempfile::tempdir().unwrap();
    let primary = fake(vec![
        Some(status(500, "")),
        Some(status(500, "")),
        Some(status(500, "")),
    ]);
    let fallback = fake(vec![Some(sse(&["SipHash [1]."], true))]);
    let cfg = config(
        dir.path(),
        &primary,
        &format!("[llm.fallback]\nbase_url = '{fallback}'\nmodel = 'backup'\nbackoff_ms = 50"),
        false,
    );
    let (out, _) = ask_with(&cfg);
    let v = answer_json(&out);
    assert_eq!(v["generator"], "openai");
    assert_eq!(v["answer"], "SipHash [1].");
    assert!(
        v["notices"][0]
            .as_str()
            .unwrap()
            .contains("fallback model backup"),
        "{v}"
    );
}

// ---- meeting memory: types and summaries from the LLM ---------------------------------------

/// The first `n` turns of a real QMSum meeting as lore's meeting JSON, written under `dir`.
fn meeting_head(dir: &Path, n: usize) -> PathBuf {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/meetings/ES2004a.json");
    let qmsum: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let turns: Vec<Value> = qmsum["meeting_transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .take(n)
        .map(|t| serde_json::json!({"speaker": t["speaker"], "text": t["content"]}))
        .collect();
    let path = dir.join("ES2004a-head.json");
    std::fs::write(
        &path,
        serde_json::json!({"id": "ES2004a-head", "series": "ES2004", "turns": turns}).to_string(),
    )
    .unwrap();
    path
}

fn memory_ingest(data: &Path, transcript: &Path, config: &Path) -> Value {
    let out = run(lore(data)
        .args(["--json", "memory", "ingest"])
        .arg(transcript)
        .arg("--config")
        .arg(config));
    let v: Value = serde_json::from_str(&stdout_ok(&out)).expect("JSON report");
    v["meetings"][0]["result"].clone()
}

fn l1_summaries(data: &Path, config: &Path) -> Vec<String> {
    let out = run(lore(data)
        .args(["--json", "memory", "query", "what did the team discuss?"])
        .args([
            "--limit",
            "50",
            "--no-activation",
            "--no-bridges",
            "--config",
        ])
        .arg(config));
    let v: Value = serde_json::from_str(&stdout_ok(&out)).expect("JSON response");
    v["direct_results"]["L1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn meeting_memory_is_typed_and_summarised_by_a_real_server() {
    let (_server, url) = llama_server();
    let dir = tempfile::tempdir().unwrap();
    let transcript = meeting_head(dir.path(), 60);
    // `[memory] llm = "auto"` uses the OpenAI-compatible server the answers use.
    let cfg = config(
        dir.path(),
        &url,
        &format!("read_timeout_ms = 60000\ncontext_window = {SERVER_CONTEXT}"),
        false,
    );
    let mut toml = std::fs::read_to_string(&cfg).unwrap();
    toml.push_str("[memory]\nllm = 'auto'\n");
    std::fs::write(&cfg, &toml).unwrap();
    let data = dir.path().join("llm");
    let r = memory_ingest(&data, &transcript, &cfg);
    assert_eq!(r["status"], "added", "{r}");
    let llm = &r["llm"];
    assert_eq!(llm["model"], "smollm2", "{r}");
    // Constrained decoding: every batch parses, every segment is typed by the model.
    assert_eq!(llm["typed"], r["episodic"], "{r}");

    // The same meeting without an LLM: extractive summaries. Each cluster got one call;
    // a summary the 135M model loops in or echoes the prompt in is refused and the
    // extractive one stays, so calls that failed plus summaries written = clusters.
    let plain = dir.path().join("lore-none.toml");
    std::fs::write(&plain, toml.replace("llm = 'auto'", "llm = 'none'")).unwrap();
    let rules = dir.path().join("rules");
    let r = memory_ingest(&rules, &transcript, &plain);
    assert!(r.get("llm").is_none(), "{r}");
    let (with_llm, extractive) = (l1_summaries(&data, &cfg), l1_summaries(&rules, &plain));
    assert!(!with_llm.is_empty() && with_llm.len() == extractive.len());
    let written = llm["summarized"].as_u64().unwrap() as usize;
    assert_eq!(
        written + llm["failed_calls"].as_u64().unwrap() as usize,
        with_llm.len(),
        "{llm}"
    );
    let replaced = with_llm.iter().filter(|s| !extractive.contains(s)).count();
    assert_eq!(replaced, written, "{with_llm:?} vs {extractive:?}");
}

#[test]
fn meeting_memory_falls_back_to_rules_when_the_llm_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = meeting_head(dir.path(), 60);
    // Nothing listens on this port: every call is refused.
    let url = format!("http://127.0.0.1:{}/v1", common::free_port());
    let cfg = config(dir.path(), &url, "max_retries = 0", false);
    let mut toml = std::fs::read_to_string(&cfg).unwrap();
    toml.push_str("[memory]\nllm = 'openai'\n");
    std::fs::write(&cfg, &toml).unwrap();
    let r = memory_ingest(&dir.path().join("d"), &transcript, &cfg);
    assert_eq!(r["status"], "added", "the meeting is stored anyway: {r}");
    assert_eq!(r["llm"]["typed"], 0, "{r}");
    assert_eq!(r["llm"]["summarized"], 0, "{r}");
    // One failed call for the types and one for the summaries: the rest skip the LLM.
    assert_eq!(r["llm"]["failed_calls"], 2, "{r}");
}

/// A model tier of two real llama-servers: answers are spread over both, one killed is
/// ejected at its first failure and its requests fail over with nothing failed, and once
/// restarted the prober takes it back.
#[test]
fn a_tier_spreads_answers_over_two_servers_and_survives_one_dying() {
    let (a, url_a) = llama_server();
    let (_b, url_b) = llama_server();
    let port_a: u16 = url_a
        .trim_end_matches("/v1")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = common::copy_data_dir(
        data(),
        dir.path(),
        &format!(
            "[cache]\nenabled = false\n[llm]\nextractive_fallback = false\n[llm.openai]\nconnect_timeout_ms = 1000\nread_timeout_ms = 30000\n[llm.tiers.small]\ncooldown = 60000\nprobe_interval = 200\nprice_in = 0.1\nprice_out = 0.2\nendpoints = [{{base_url = '{url_a}', model = 'smollm2'}}, {{base_url = '{url_b}', model = 'smollm2'}}]\n[llm.tiers.large]\nprice_in = 3.0\nprice_out = 15.0\nendpoints = [{{base_url = '{url_b}', model = 'smollm2'}}]\n[llm.tiers.solo]\nfallback = 'large'\nendpoints = [{{base_url = '{url_a}', model = 'smollm2'}}]\n[routing]\ntier_by = 'complexity'\nsmall_tier = 'small'\nlarge_tier = 'large'\n"
        ),
    );
    let server = common::Server::start(&data, &[]);
    let ask = |q: &str| -> Value {
        let (s, v) = common::http::post_json(
            &server.client(),
            &server.at("/v1/answer"),
            serde_json::json!({"query": q, "collection": "docs", "tier": "small", "top_k": 1, "max_tokens": 8}),
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["generator"], "openai", "{v}");
        assert_eq!(v["tier"], "small", "{v}");
        v
    };
    // Both endpoints serve while both are up.
    let endpoints: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| s.spawn(move || ask(&format!("What does a vector store? ({i})"))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap()["endpoint"].as_str().unwrap().to_string())
            .collect()
    });
    assert!(
        endpoints.contains(&url_a) && endpoints.contains(&url_b),
        "{endpoints:?}"
    );

    // Without a tier, the question's complexity picks one: a lookup the small tier, a
    // multi-part reasoning question the large one.
    let unnamed = |q: &str| -> Value {
        let (s, v) = common::http::post_json(
            &server.client(),
            &server.at("/v1/answer"),
            serde_json::json!({"query": q, "collection": "docs", "top_k": 1, "max_tokens": 8}),
        );
        assert_eq!(s, 200, "{v}");
        v
    };
    let v = unnamed("What is a vector?");
    assert_eq!(
        (v["tier"].as_str(), v["tier_choice"]["by"].as_str()),
        (Some("small"), Some("complexity")),
        "{v}"
    );
    let v = unnamed("Why does Rust move a Vec on assignment, and how should I compare cloning versus borrowing? Explain step by step.");
    assert_eq!(v["tier"], "large", "{v}");
    assert_eq!(v["endpoint"], url_b.as_str(), "{v}");
    assert!(v["tier_choice"]["score"].as_f64().unwrap() >= 0.5, "{v}");

    // One dies: every answer still succeeds, from the other, and the dead one is ejected.
    drop(a);
    // A tier whose only endpoint is the dead one hands over to its fallback tier.
    let (s, v) = common::http::post_json(
        &server.client(),
        &server.at("/v1/answer"),
        serde_json::json!({"query": "What is a crate?", "collection": "docs", "tier": "solo", "top_k": 1, "max_tokens": 8}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["tier"].as_str(), v["endpoint"].as_str()),
        (Some("large"), Some(url_b.as_str())),
        "{v}"
    );
    assert!(
        v["notices"]
            .to_string()
            .contains("model tier `solo` failed"),
        "{v}"
    );
    // (The dead one is tried once the load evens out: least served goes first among idle
    // endpoints; that request fails over at once and reports the ejection.)
    let mut ejected = false;
    for i in 0..10 {
        let v = ask(&format!("How do I bind Apache to a port? ({i})"));
        assert_eq!(v["endpoint"], url_b.as_str(), "{v}");
        let notices = v["notices"].to_string();
        if notices.contains("ejected") && notices.contains(&url_a) {
            ejected = true;
            break;
        }
    }
    assert!(ejected, "the dead endpoint was never tried and ejected");
    // Ejected: the next answers do not try it again.
    for i in 0..2 {
        let v = ask(&format!("Where is httpd.conf? ({i})"));
        assert_eq!(v["endpoint"], url_b.as_str(), "{v}");
        assert!(!v["notices"].to_string().contains("ejected"), "{v}");
    }

    // Restarted on the same port, the prober takes it back.
    let (_a2, _) = llama_server_on(port_a);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut i = 0;
    loop {
        i += 1;
        if ask(&format!("What is ownership in Rust? ({i})"))["endpoint"] == url_a.as_str() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted endpoint was never taken back"
        );
    }

    // Every answer was costed at the small tier's price, and what the large tier would
    // have cost is reported as saved.
    let (s, a) = common::http::json_of(
        server
            .client()
            .get(server.at("/v1/admin/analytics"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{a}");
    let (cost, largest) = (
        a["cost_usd"].as_f64().unwrap(),
        a["cost_largest_usd"].as_f64().unwrap(),
    );
    assert!(cost > 0.0 && largest > 2.0 * cost, "{a}");
    assert!(
        (a["saved_usd"].as_f64().unwrap() - (largest - cost)).abs() < 1e-12,
        "{a}"
    );
    let small = a["cost_by"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tier"] == "small")
        .unwrap_or_else(|| panic!("{a}"));
    assert_eq!(small["model"], "smollm2", "{a}");
    // 6 while both are up, 1 by complexity, at least 1 until the ejection, 2 after it, at
    // least 1 back.
    assert!(small["answers"].as_u64().unwrap() >= 11, "{a}");
    assert!(
        a["cost_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["tier"] == "large"),
        "{a}"
    );
}

/// Routes for the second-stage test: two routes over the demo documents.
const SECOND_STAGE_ROUTES: &str = r#"
[routing]
out_of_scope_examples = ["tell me a joke", "what is the weather tomorrow", "who won the game",
                         "recommend a pizza place"]
[[routes]]
name = "rust"
description = "The Rust programming language"
examples = ["what is ownership in rust", "how does borrowing work", "how do I add to a vector",
            "what is a string slice", "how do I iterate over a hash map"]
[[routes]]
name = "apache"
description = "The Apache HTTP server"
examples = ["how do I configure a virtual host", "which port does apache listen on",
            "how do I restrict access by ip", "where is httpd.conf", "how to install httpd"]
"#;

/// The route classifier's LLM second stage: asked when the first stage is unsure (here
/// always), a real llama-server's reply (strict JSON, grammar-constrained by the schema)
/// decides the route and carries entities, complexity and risk; the same question again is
/// a classification-cache hit; a server that never replies leaves the first stage's
/// decision once the timeout passes.
#[test]
fn the_second_stage_classifies_through_a_real_server_and_times_out_to_the_first() {
    let (_llama, url) = llama_server();
    let dir = tempfile::tempdir().unwrap();
    let settings = |tier_url: &str, timeout: &str| {
        format!(
            "[llm]\ngenerator = 'extractive'\n[llm.tiers.cls]\nendpoints = [{{base_url = '{tier_url}', model = 'smollm2'}}]\n{SECOND_STAGE_ROUTES}\n[routing.second_stage]\nenabled = true\ntier = 'cls'\nbelow_confidence = 1.01\ntimeout = '{timeout}'\n"
        )
    };
    let data = common::copy_data_dir(data(), dir.path(), &settings(&url, "120s"));
    let server = common::Server::start(&data, &[]);
    let ask = |q: &str| -> Value {
        let (s, v) = common::http::post_json(
            &server.client(),
            &server.at("/v1/answer"),
            serde_json::json!({"query": q, "collection": "docs", "route": true, "generator": "extractive"}),
        );
        assert_eq!(s, 200, "{v}");
        v
    };
    let q = "How do I set up name-based virtual hosts in Apache httpd?";
    let a = ask(q);
    let r = &a["route"];
    assert_eq!(r["stage"], "llm", "{a}");
    let intent = r["llm"]["intent"].as_str().unwrap();
    assert!(["rust", "apache", "out_of_scope"].contains(&intent), "{a}");
    assert!(
        ["low", "medium", "high"].contains(&r["llm"]["complexity"].as_str().unwrap()),
        "{a}"
    );
    assert!(
        ["low", "medium", "high"].contains(&r["llm"]["risk"].as_str().unwrap()),
        "{a}"
    );
    assert!(r["llm"]["entities"].is_array(), "{a}");
    // The LLM's intent is the route taken.
    if intent == "out_of_scope" {
        assert_eq!(r["name"], Value::Null, "{a}");
    } else {
        assert_eq!(r["name"], intent, "{a}");
    }
    let again = ask(q);
    assert_eq!(again["route"]["llm"], r["llm"], "{again}");
    let (_, stats) = common::http::json_of(
        server
            .client()
            .get(server.at("/v1/cache/stats"))
            .send()
            .unwrap(),
    );
    assert_eq!(stats["classification"]["hits"], 1, "{stats}");
    assert_eq!(stats["classification"]["inserts"], 1, "{stats}");
    drop(server);

    // A server that never replies: the first stage decides, and the answer says why.
    let silent = fake(vec![None]);
    std::fs::write(data.join("lore.toml"), settings(&silent, "500ms")).unwrap();
    let started = Instant::now();
    let v = common::json(lore(&data).args([
        "--json",
        "ask",
        "--route",
        "-c",
        "docs",
        "--generator",
        "extractive",
        q,
    ]));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(v["route"]["stage"], "embedding", "{v}");
    assert_eq!(v["route"]["name"], "apache", "{v}");
    assert!(
        v["route"]["second_stage_error"]
            .as_str()
            .unwrap()
            .contains("no reply within 500 ms"),
        "{v}"
    );
}
