//! `lore eval beir`: ingest a BEIR corpus into a collection, run every query, score.
//!
//! Chunks are retrieved and mapped to their document; a document ranks at its best chunk.
//! Each leg fetches `candidates` chunks so that at least 100 distinct documents remain for
//! Recall@100.

use std::collections::HashSet;

use lore_core::SearchMode;
use lore_index::NewDocument;
use lore_ingest::content_hash;
use lore_rag::{Engine, EngineError, IngestEvent, Prepared, SearchRequest};
use serde::Serialize;

use crate::{mrr_at_k, ndcg_at_k, recall_at_k, BeirDataset, BeirDoc};

/// Evaluation settings.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Collection to (re)use; unchanged documents are not re-embedded.
    pub collection: String,
    /// Modes to score.
    pub modes: Vec<SearchMode>,
    /// Chunks fetched per leg and fused (default 300).
    pub candidates: usize,
}

/// Percentiles of a latency sample, ms.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Scores of one mode (printed by `--json` as one object).
#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    /// Mode.
    pub mode: SearchMode,
    /// Mean nDCG@10.
    #[serde(rename = "ndcg@10")]
    pub ndcg_10: f64,
    /// Mean Recall@100.
    #[serde(rename = "recall@100")]
    pub recall_100: f64,
    /// Mean MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr_10: f64,
    /// Queries scored.
    pub queries: usize,
    /// Corpus documents.
    pub documents: usize,
    /// Chunks embedded during this run's ingest (0 when the collection was reused).
    pub ingested_chunks: usize,
    /// Ingest wall time (ms).
    pub ingest_ms: f64,
    /// Embedding throughput of the ingest, passages (chunks) per second.
    pub embed_passages_per_s: f64,
    /// Retrieval latency per query at top_k = 10 and 100 candidates per leg, excluding the
    /// query embedding (ms).
    pub latency_ms: Latency,
    /// Same, including the query embedding (ms).
    pub latency_with_embed_ms: Latency,
    /// Query embedding latency (ms).
    pub embed_query_ms: Latency,
}

/// p50, p95 and p99 of a sample (nearest rank).
pub fn percentiles(mut xs: Vec<f64>) -> Latency {
    if xs.is_empty() {
        return Latency::default();
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| xs[((p * (xs.len() - 1) as f64).round() as usize).min(xs.len() - 1)];
    Latency {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
    }
}

/// `doc` of the dataset `name` as lore ingests it: source `<name>/<id>`, chunked by the
/// engine (whether it replaces a stored document is decided at write time).
///
/// # Errors
/// [`EngineError::Ingest`] if the tokenizer fails.
pub fn prepare(engine: &Engine, name: &str, d: &BeirDoc) -> Result<Prepared, EngineError> {
    Ok(Prepared {
        doc: NewDocument {
            source: format!("{name}/{}", d.id),
            title: d.title.clone(),
            format: "beir".into(),
            content_hash: content_hash(format!("{}\n{}", d.title, d.text).as_bytes()),
            bytes: (d.title.len() + d.text.len()) as u64,
            metadata: Default::default(),
        },
        chunks: engine.chunk(&d.extracted())?,
        replaces: false,
    })
}

/// Ingests `data` into `opts.collection` and scores each mode.
///
/// # Errors
/// Engine errors (store, model).
pub fn evaluate(
    engine: &mut Engine,
    data: &BeirDataset,
    opts: &EvalOptions,
    progress: &mut dyn FnMut(IngestEvent),
) -> Result<Vec<ModeReport>, EngineError> {
    let prefix = format!("{}/", data.name);
    let mut prepared = Vec::with_capacity(data.corpus.len());
    for d in &data.corpus {
        prepared.push(prepare(engine, &data.name, d)?);
    }
    let ingest = engine.ingest_prepared(&opts.collection, prepared, progress)?;
    let passages_per_s = if ingest.embed_ms > 0.0 {
        ingest.chunks as f64 / (ingest.embed_ms / 1e3)
    } else {
        0.0
    };

    let mut reports = Vec::new();
    for &mode in &opts.modes {
        let (mut ndcg, mut recall, mut mrr) = (0.0, 0.0, 0.0);
        let (mut lat, mut lat_all, mut lat_embed) = (Vec::new(), Vec::new(), Vec::new());
        for (qid, text) in &data.queries {
            let Some(qrels) = data.qrels.get(qid) else {
                continue;
            };
            let mut req = SearchRequest::new(&opts.collection, text);
            req.mode = mode;
            req.top_k = opts.candidates;
            req.candidates = opts.candidates;
            let resp = engine.search(&req)?;
            let mut seen = HashSet::new();
            let ranked: Vec<String> = resp
                .hits
                .iter()
                .map(|h| {
                    h.source
                        .strip_prefix(&prefix)
                        .unwrap_or(&h.source)
                        .to_string()
                })
                .filter(|id| seen.insert(id.clone()))
                .take(100)
                .collect();
            ndcg += ndcg_at_k(&ranked, qrels, 10);
            recall += recall_at_k(&ranked, qrels, 100);
            mrr += mrr_at_k(&ranked, qrels, 10);
            // Latency as a user sees it: top 10 with the default 100 candidates per leg.
            let mut small = SearchRequest::new(&opts.collection, text);
            small.mode = mode;
            let r = engine.search(&small)?;
            lat.push(r.timings_ms.retrieval());
            lat_all.push(r.timings_ms.total);
            lat_embed.push(r.timings_ms.embed);
        }
        let n = data.queries.len().max(1) as f64;
        reports.push(ModeReport {
            mode,
            ndcg_10: ndcg / n,
            recall_100: recall / n,
            mrr_10: mrr / n,
            queries: data.queries.len(),
            documents: data.corpus.len(),
            ingested_chunks: ingest.chunks,
            ingest_ms: ingest.total_ms,
            embed_passages_per_s: passages_per_s,
            latency_ms: percentiles(lat),
            latency_with_embed_ms: percentiles(lat_all),
            embed_query_ms: percentiles(lat_embed),
        });
    }
    Ok(reports)
}
