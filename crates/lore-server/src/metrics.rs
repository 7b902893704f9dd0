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

/// What a metric is.
#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric lore records: name, kind, unit, help text (`# HELP` in the exposition).
const METRICS: &[(&str, Kind, Option<metrics::Unit>, &str)] = {
    use metrics::Unit;
    &[
        (
            "lore_http_requests_total",
            Kind::Counter,
            None,
            "HTTP requests by method, route and status",
        ),
        (
            "lore_http_request_duration_seconds",
            Kind::Histogram,
            Some(Unit::Seconds),
            "Time to the response headers",
        ),
        (
            "lore_stage_duration_seconds",
            Kind::Histogram,
            Some(Unit::Seconds),
            "Search and answer stages: embed, bm25, ann, fuse, generate, ttft; memory queries: memory_embed, memory_direct, memory_activation, memory_bridges, memory_total",
        ),
        (
            "lore_memory_memories",
            Kind::Gauge,
            None,
            "Meeting memories by level (L0 concepts, L1 semantic, L2 episodic)",
        ),
        (
            "lore_memory_edges",
            Kind::Gauge,
            None,
            "Edges of the meeting-memory graph",
        ),
        (
            "lore_memory_meetings",
            Kind::Gauge,
            None,
            "Meetings in the meeting memory",
        ),
        (
            "lore_connections_refused_total",
            Kind::Counter,
            None,
            "Connections closed on accept because [connections] max_connections were open",
        ),
        (
            "lore_tokens_total",
            Kind::Counter,
            None,
            "LLM tokens by model and direction (in = prompt, out = completion)",
        ),
        (
            "lore_cost_usd",
            Kind::Gauge,
            None,
            "Estimated LLM cost in USD by model since start-up ([prices] in lore.toml)",
        ),
        (
            "lore_answer_cost_usd",
            Kind::Gauge,
            None,
            "Estimated answer cost in USD by route, model tier and model since start-up (tier prices, else [prices])",
        ),
        (
            "lore_routing_saved_usd",
            Kind::Gauge,
            None,
            "What the answers since start-up would have cost more on the most expensive tier, USD",
        ),
        (
            "lore_feedback_total",
            Kind::Counter,
            None,
            "Answer ratings received, by rating (up, down)",
        ),
        (
            "lore_drift_route_psi",
            Kind::Gauge,
            None,
            "Population stability index of route shares, today against the 7 days before (NaN: too few questions)",
        ),
        (
            "lore_drift_embedding_shift",
            Kind::Gauge,
            None,
            "1 - cosine of the mean query embedding, today against the 7 days before",
        ),
        (
            "lore_drift_out_of_scope_change",
            Kind::Gauge,
            None,
            "Out-of-scope rate today minus in the 7 days before",
        ),
        (
            "lore_drift_alert",
            Kind::Gauge,
            None,
            "1 while a drift threshold ([analytics] drift) is crossed",
        ),
        (
            "lore_answers_total",
            Kind::Counter,
            None,
            "Answers by how they were served: generated, exact or semantic cache hit",
        ),
        (
            "lore_ingest_documents_total",
            Kind::Counter,
            None,
            "Documents ingested by status: ok, unchanged, failed",
        ),
        (
            "lore_ingest_chunks_total",
            Kind::Counter,
            None,
            "Chunks written by ingest",
        ),
        (
            "lore_ingest_seconds",
            Kind::Gauge,
            Some(Unit::Seconds),
            "Time spent ingesting since start-up (chunks/s = rate of chunks / rate of seconds)",
        ),
        (
            "lore_rate_limited_total",
            Kind::Counter,
            None,
            "Requests refused with 429 by scope: key, ip, generation",
        ),
        (
            "lore_auth_failures_total",
            Kind::Counter,
            None,
            "Requests refused with 401/403 by reason",
        ),
        (
            "lore_cache_hits_total",
            Kind::Counter,
            None,
            "Cache hits by layer",
        ),
        (
            "lore_cache_misses_total",
            Kind::Counter,
            None,
            "Cache misses by layer",
        ),
        (
            "lore_cache_entries",
            Kind::Gauge,
            None,
            "Entries held in process by layer",
        ),
        (
            "lore_cache_bytes",
            Kind::Gauge,
            Some(Unit::Bytes),
            "Bytes held in process by layer",
        ),
        (
            "lore_redis_available",
            Kind::Gauge,
            None,
            "1 while Redis answers, by use (cache, rate_limit)",
        ),
        (
            "lore_redis_errors_total",
            Kind::Counter,
            None,
            "Failed Redis operations by use",
        ),
        (
            "lore_redis_outages_total",
            Kind::Counter,
            None,
            "Times Redis went down, by use",
        ),
        (
            "lore_collection_documents",
            Kind::Gauge,
            None,
            "Documents per collection",
        ),
        (
            "lore_collection_chunks",
            Kind::Gauge,
            None,
            "Chunks per collection",
        ),
        (
            "lore_generations_waiting",
            Kind::Gauge,
            None,
            "Answers waiting for a generation slot",
        ),
        (
            "lore_routed_total",
            Kind::Counter,
            None,
            "Routed answers by route (`out_of_scope` when none) and outcome (answered, refused)",
        ),
        (
            "lore_uptime_seconds",
            Kind::Gauge,
            Some(Unit::Seconds),
            "Seconds since the server started",
        ),
    ]
};

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    for &(name, kind, unit, help) in METRICS {
        match (kind, unit) {
            (Kind::Counter, _) => describe_counter!(name, help),
            (Kind::Gauge, Some(u)) => describe_gauge!(name, u, help),
            (Kind::Gauge, None) => describe_gauge!(name, help),
            (Kind::Histogram, Some(u)) => describe_histogram!(name, u, help),
            (Kind::Histogram, None) => describe_histogram!(name, help),
        }
    }
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
pub fn answer(a: &lore_rag::Answer, price: Option<&Price>, cost_usd: f64, cost_largest_usd: f64) {
    let how = match a.cached {
        Some(lore_rag::CacheHit::Exact) => "exact",
        Some(lore_rag::CacheHit::Semantic) => "semantic",
        None => "generated",
    };
    counter!("lore_answers_total", "served" => how).increment(1);
    if let Some(r) = &a.route {
        // Route names come from the route set (at most 1000, admin-written), never from
        // the request: a bounded label set.
        let name = r.name.clone().unwrap_or_else(|| "out_of_scope".into());
        let outcome = if r.refused { "refused" } else { "answered" };
        counter!("lore_routed_total", "route" => name, "outcome" => outcome).increment(1);
    }
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
        gauge!("lore_cost_usd", "model" => model.clone()).increment(p.cost(tin, tout));
    }
    if cost_usd > 0.0 || cost_largest_usd > 0.0 {
        // Route names are the admin's (at most 1000), tiers come from lore.toml: bounded.
        let route = a.route.as_ref().map_or("none".to_string(), |r| {
            r.name.clone().unwrap_or_else(|| "out_of_scope".into())
        });
        let tier = a.tier.clone().unwrap_or_else(|| "none".into());
        gauge!("lore_answer_cost_usd", "route" => route, "tier" => tier, "model" => model)
            .increment(cost_usd);
        gauge!("lore_routing_saved_usd").increment(cost_largest_usd - cost_usd);
    }
}

/// A rating stored.
pub fn feedback(up: bool) {
    counter!("lore_feedback_total", "rating" => if up { "up" } else { "down" }).increment(1);
}

/// The drift gauges (NaN while a window has too few questions).
pub fn drift(r: &lore_index::DriftReport) {
    gauge!("lore_drift_route_psi").set(r.psi.unwrap_or(f64::NAN));
    gauge!("lore_drift_embedding_shift").set(r.embedding_shift.unwrap_or(f64::NAN));
    gauge!("lore_drift_out_of_scope_change").set(r.out_of_scope_change.unwrap_or(f64::NAN));
    gauge!("lore_drift_alert").set(if r.drifted { 1.0 } else { 0.0 });
}

/// Memory counts (after each memory write, and at start-up).
pub fn memory(s: &lore_rag::MemoryStats) {
    gauge!("lore_memory_memories", "level" => "L0").set(s.concepts as f64);
    gauge!("lore_memory_memories", "level" => "L1").set(s.semantic as f64);
    gauge!("lore_memory_memories", "level" => "L2").set(s.episodic as f64);
    gauge!("lore_memory_edges").set(s.edges as f64);
    gauge!("lore_memory_meetings").set(s.meetings as f64);
}

/// A memory query's stages (not for cache hits), ms.
pub fn memory_query(t: &lore_memory::StageTimes, total_ms: f64) {
    stage("memory_embed", t.embed_ms);
    stage("memory_direct", t.direct_ms);
    stage("memory_activation", t.activation_ms);
    stage("memory_bridges", t.bridges_ms);
    stage("memory_total", total_ms);
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
