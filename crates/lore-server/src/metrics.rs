//! Prometheus metrics at `/metrics` (text exposition format 0.0.4) through the `metrics`
//! facade and `metrics-exporter-prometheus`.
//!
//! Counted as they happen: HTTP requests and latency per route and status, stage latencies
//! (embed, bm25, ann, fuse, generate, ttft), tokens and estimated cost per model, ingest
//! documents/chunks/seconds, rate-limit rejections, auth failures. Read at scrape time:
//! cache hits/misses/entries/bytes per layer, Redis health, documents and chunks per
//! collection. Latencies are histograms in seconds (Prometheus naming conventions).

use std::sync::OnceLock;
use std::time::Instant;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::Price;

/// Request latency buckets, seconds: 100 µs (a cache hit) to 60 s (a long generation).
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0, 60.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle). `None`
/// when another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "lore_http_requests_total",
        "HTTP requests by method, route and status"
    );
    describe_histogram!(
        "lore_http_request_duration_seconds",
        Unit::Seconds,
        "Time to the response headers"
    );
    describe_histogram!(
        "lore_stage_duration_seconds",
        Unit::Seconds,
        "Search and answer stages: embed, bm25, ann, fuse, generate, ttft"
    );
    describe_counter!(
        "lore_connections_refused_total",
        "Connections closed on accept because [connections] max_connections were open"
    );
    describe_counter!(
        "lore_tokens_total",
        "LLM tokens by model and direction (in = prompt, out = completion)"
    );
    describe_gauge!(
        "lore_cost_usd",
        "Estimated LLM cost in USD by model since start-up ([prices] in lore.toml)"
    );
    describe_counter!(
        "lore_answers_total",
        "Answers by how they were served: generated, exact or semantic cache hit"
    );
    describe_counter!(
        "lore_ingest_documents_total",
        "Documents ingested by status: ok, unchanged, failed"
    );
    describe_counter!("lore_ingest_chunks_total", "Chunks written by ingest");
    describe_gauge!(
        "lore_ingest_seconds",
        Unit::Seconds,
        "Time spent ingesting since start-up (chunks/s = rate of chunks / rate of seconds)"
    );
    describe_counter!(
        "lore_rate_limited_total",
        "Requests refused with 429 by scope: key, ip, generation"
    );
    describe_counter!(
        "lore_auth_failures_total",
        "Requests refused with 401/403 by reason"
    );
    describe_counter!("lore_cache_hits_total", "Cache hits by layer");
    describe_counter!("lore_cache_misses_total", "Cache misses by layer");
    describe_gauge!("lore_cache_entries", "Entries held in process by layer");
    describe_gauge!(
        "lore_cache_bytes",
        Unit::Bytes,
        "Bytes held in process by layer"
    );
    describe_gauge!(
        "lore_redis_available",
        "1 while Redis answers, by use (cache, rate_limit)"
    );
    describe_counter!("lore_redis_errors_total", "Failed Redis operations by use");
    describe_counter!("lore_redis_outages_total", "Times Redis went down, by use");
    describe_gauge!("lore_collection_documents", "Documents per collection");
    describe_gauge!("lore_collection_chunks", "Chunks per collection");
    describe_gauge!(
        "lore_generations_waiting",
        "Answers waiting for a generation slot"
    );
    describe_gauge!(
        "lore_uptime_seconds",
        Unit::Seconds,
        "Seconds since the server started"
    );
}

/// Counts one HTTP request.
pub fn http_request(method: &str, route: &str, status: u16, started: Instant) {
    let labels = [
        ("method", method.to_string()),
        ("route", route.to_string()),
        ("status", status.to_string()),
    ];
    counter!("lore_http_requests_total", &labels).increment(1);
    histogram!("lore_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
}

/// One stage's duration, ms as the engine reports them.
pub fn stage(name: &'static str, ms: f64) {
    if ms > 0.0 {
        histogram!("lore_stage_duration_seconds", "stage" => name).record(ms / 1e3);
    }
}

/// A search's stages (not for cache hits: nothing ran).
pub fn search(t: &lore_rag::Timings) {
    stage("embed", t.embed);
    stage("bm25", t.bm25);
    stage("ann", t.dense);
    stage("fuse", t.fuse);
}

/// An answer's stages, tokens and cost.
pub fn answer(a: &lore_rag::Answer, price: Option<&Price>) {
    let how = match a.cached {
        Some(lore_rag::CacheHit::Exact) => "exact",
        Some(lore_rag::CacheHit::Semantic) => "semantic",
        None => "generated",
    };
    counter!("lore_answers_total", "served" => how).increment(1);
    stage("ttft", a.timings_ms.ttft);
    if a.cached.is_some() {
        return;
    }
    stage("generate", a.timings_ms.generate);
    let (tin, tout) = (
        a.usage.prompt_tokens as u64,
        a.usage.completion_tokens as u64,
    );
    let model = a.model.clone();
    counter!("lore_tokens_total", "model" => model.clone(), "direction" => "in").increment(tin);
    counter!("lore_tokens_total", "model" => model.clone(), "direction" => "out").increment(tout);
    if let Some(p) = price {
        // `metrics` counters are integers; a running total in dollars is a gauge that only
        // grows (PromQL's rate() works on it all the same).
        gauge!("lore_cost_usd", "model" => model).increment(p.cost(tin, tout));
    }
}

/// A connection closed at once because `[connections] max_connections` were open.
pub fn connection_refused() {
    counter!("lore_connections_refused_total").increment(1);
}

/// A 401 or 403.
pub fn auth_failure(reason: &'static str) {
    counter!("lore_auth_failures_total", "reason" => reason).increment(1);
}

/// A 429.
pub fn rate_limited(scope: &'static str) {
    counter!("lore_rate_limited_total", "scope" => scope).increment(1);
}

/// One ingest job's outcome.
pub fn ingest(ok: u64, unchanged: u64, failed: u64, chunks: u64, seconds: f64) {
    counter!("lore_ingest_documents_total", "status" => "ok").increment(ok);
    counter!("lore_ingest_documents_total", "status" => "unchanged").increment(unchanged);
    counter!("lore_ingest_documents_total", "status" => "failed").increment(failed);
    counter!("lore_ingest_chunks_total").increment(chunks);
    // A float running total: a gauge that only grows (as for cost).
    gauge!("lore_ingest_seconds").increment(seconds);
}

/// Sets the values read at scrape time.
pub fn snapshot(
    caches: &lore_rag::CacheStats,
    rate_redis: Option<&lore_cache::SharedStats>,
    collections: &[(String, u64, u64)],
    waiting: usize,
    uptime_s: f64,
) {
    let layers = [
        ("embedding", &caches.embedding),
        ("retrieval", &caches.retrieval),
        ("answer", &caches.answer),
    ];
    for (name, l) in layers {
        counter!("lore_cache_hits_total", "layer" => name).absolute(l.hits);
        counter!("lore_cache_misses_total", "layer" => name).absolute(l.misses);
        gauge!("lore_cache_entries", "layer" => name).set(l.entries as f64);
        gauge!("lore_cache_bytes", "layer" => name).set(l.bytes as f64);
    }
    let s = &caches.semantic;
    counter!("lore_cache_hits_total", "layer" => "semantic").absolute(s.hits);
    counter!("lore_cache_misses_total", "layer" => "semantic").absolute(s.misses);
    gauge!("lore_cache_entries", "layer" => "semantic").set(s.lists.entries as f64);
    gauge!("lore_cache_bytes", "layer" => "semantic").set(s.lists.bytes as f64);
    for (usage, r) in [("cache", caches.redis.as_ref()), ("rate_limit", rate_redis)] {
        if let Some(r) = r {
            gauge!("lore_redis_available", "use" => usage).set(if r.available { 1.0 } else { 0.0 });
            counter!("lore_redis_errors_total", "use" => usage).absolute(r.errors);
            counter!("lore_redis_outages_total", "use" => usage).absolute(r.outages);
        }
    }
    for (name, docs, chunks) in collections {
        gauge!("lore_collection_documents", "collection" => name.clone()).set(*docs as f64);
        gauge!("lore_collection_chunks", "collection" => name.clone()).set(*chunks as f64);
    }
    gauge!("lore_generations_waiting").set(waiting as f64);
    gauge!("lore_uptime_seconds").set(uptime_s);
}
