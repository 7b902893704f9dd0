//! `lore bench cache`: replays a realistic query log through the engine twice, without and
//! with caches, and compares them request by request.
//!
//! The log: `requests` draws from a Zipf distribution over the BEIR queries in file order
//! (rank r with weight 1/r^s; user questions are Zipf-like, Breslau et al. 1999 for web
//! requests); a repeat of a query that has a paraphrase is asked in its paraphrase with
//! probability `paraphrase_rate`. At request `change_at` the top document of the most popular
//! query is replaced by an edited version (and restored after each run), so answers cached
//! before the change would be stale after it.
//!
//! Stale: a cached answer whose context is not what a fresh run retrieves for that request
//! (for exact hits: the same passages in the same order, and the same answer text, since the
//! uncached run generated it fresh from the same data).

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use lore_eval::{percentiles, BeirDataset, BeirDoc, Latency};
use lore_rag::{AnswerRequest, CacheHit, CacheStats, Engine, IngestEvent};
use serde::Serialize;

use crate::cli::BenchCacheArgs;
use crate::context::Ctx;

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator, enough for a test log.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone)]
struct Request {
    query_id: String,
    text: String,
    paraphrase: bool,
}

fn build_log(
    queries: &[(String, String)],
    paraphrases: &HashMap<String, String>,
    a: &BenchCacheArgs,
) -> Vec<Request> {
    let weights: Vec<f64> = (1..=queries.len())
        .map(|r| 1.0 / (r as f64).powf(a.zipf))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut rng = SplitMix(a.seed);
    let mut seen = HashSet::new();
    (0..a.requests)
        .map(|_| {
            let u = rng.next_f64();
            let i = cdf.partition_point(|c| *c < u).min(queries.len() - 1);
            let (id, text) = &queries[i];
            let repeat = !seen.insert(id.clone());
            match paraphrases.get(id) {
                Some(p) if repeat && rng.next_f64() < a.paraphrase_rate => Request {
                    query_id: id.clone(),
                    text: p.clone(),
                    paraphrase: true,
                },
                _ => Request {
                    query_id: id.clone(),
                    text: text.clone(),
                    paraphrase: false,
                },
            }
        })
        .collect()
}

/// One request's result.
struct Outcome {
    ms: f64,
    answer: String,
    /// Context passages (source, text), in passage order. Not chunk ids: each run writes
    /// the edited document anew, so its chunk ids differ between the runs.
    context: Vec<(String, String)>,
    cached: Option<CacheHit>,
}

/// The document edited mid-run, and its two versions.
struct Change {
    at: usize,
    original: BeirDoc,
    edited: BeirDoc,
}

fn write_doc(engine: &mut Engine, collection: &str, name: &str, doc: &BeirDoc) -> Result<()> {
    let prepared = lore_eval::prepare(engine, name, doc)?;
    engine.ingest_prepared(collection, vec![prepared], &mut |_: IngestEvent| {})?;
    Ok(())
}

fn run(
    engine: &mut Engine,
    log: &[Request],
    a: &BenchCacheArgs,
    name: &str,
    change: Option<&Change>,
) -> Result<Vec<Outcome>> {
    let mut out = Vec::with_capacity(log.len());
    for (i, r) in log.iter().enumerate() {
        if let Some(c) = change.filter(|c| c.at == i) {
            write_doc(engine, &a.collection, name, &c.edited)?;
        }
        let mut req = AnswerRequest::new(&a.collection, &r.text);
        req.generator = a.generator;
        let t = Instant::now();
        let answer = engine.answer(&req, &mut |_| {})?;
        out.push(Outcome {
            ms: t.elapsed().as_secs_f64() * 1e3,
            answer: answer.answer,
            context: answer
                .context
                .into_iter()
                .map(|c| (c.source, c.text))
                .collect(),
            cached: answer.cached,
        });
    }
    if let Some(c) = change {
        write_doc(engine, &a.collection, name, &c.original)?;
    }
    Ok(out)
}

#[derive(Serialize)]
struct Side {
    mean_ms: f64,
    latency_ms: Latency,
    total_s: f64,
}

fn side(outcomes: &[Outcome]) -> Side {
    let ms: Vec<f64> = outcomes.iter().map(|o| o.ms).collect();
    Side {
        mean_ms: ms.iter().sum::<f64>() / ms.len().max(1) as f64,
        total_s: ms.iter().sum::<f64>() / 1e3,
        latency_ms: percentiles(ms),
    }
}

#[derive(Serialize)]
struct Report {
    requests: usize,
    distinct_texts: usize,
    paraphrased_requests: usize,
    zipf: f64,
    seed: u64,
    change_at: Option<usize>,
    changed_document: Option<String>,
    without_cache: Side,
    with_cache: Side,
    exact_hits: usize,
    semantic_hits: usize,
    answer_hit_rate: f64,
    /// Cached answers whose context or text differ from the fresh run's.
    stale: usize,
    /// Semantic hits whose answer text differs from what was generated fresh for the
    /// paraphrase (same passages, other wording).
    semantic_text_differs: usize,
    /// Requests after the change whose fresh context includes the changed document.
    after_change_touching_document: usize,
    caches: CacheStats,
}

pub fn bench_cache(g: &Ctx, a: BenchCacheArgs) -> Result<ExitCode> {
    let data = BeirDataset::load(&a.beir)
        .with_context(|| format!("loading BEIR data from {}", a.beir.display()))?;
    if data.queries.is_empty() || a.requests == 0 {
        bail!("nothing to replay: no queries or --requests 0");
    }
    let paraphrases: HashMap<String, String> = match &a.paraphrases {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l)
                    .with_context(|| format!("{}: bad line {l}", path.display()))?;
                Ok((
                    v["_id"].as_str().unwrap_or_default().to_string(),
                    v["text"].as_str().unwrap_or_default().to_string(),
                ))
            })
            .collect::<Result<_>>()?,
        None => HashMap::new(),
    };
    let log = build_log(&data.queries, &paraphrases, &a);

    let mut uncached = g.engine_uncached()?;
    let change = if a.change_at > 0 && a.change_at < log.len() {
        let mut req = lore_rag::SearchRequest::new(&a.collection, &data.queries[0].1);
        req.top_k = 1;
        let top = uncached.search(&req)?;
        let source = top.hits.first().map(|h| h.source.clone());
        let id = source
            .as_deref()
            .and_then(|s| s.strip_prefix(&format!("{}/", data.name)));
        let original = data.corpus.iter().find(|d| Some(d.id.as_str()) == id);
        original.map(|o| {
            let mut edited = o.clone();
            // Another wording of the same abstract: new chunks, new text.
            edited.text = format!("Revised version. {}", o.text.replace(". ", ". Also, "));
            Change {
                at: a.change_at,
                original: o.clone(),
                edited,
            }
        })
    } else {
        None
    };
    eprintln!("replaying {} requests without caches…", log.len());
    let fresh = run(&mut uncached, &log, &a, &data.name, change.as_ref())?;
    drop(uncached);
    eprintln!("replaying them with caches…");
    let mut cached_engine = g.engine()?;
    let served = run(&mut cached_engine, &log, &a, &data.name, change.as_ref())?;
    let caches = cached_engine.caches().stats();

    let mut stale = 0;
    let mut semantic_text_differs = 0;
    let mut after_change_touching_document = 0;
    let changed_source = change
        .as_ref()
        .map(|c| format!("{}/{}", data.name, c.original.id));
    for (i, (f, s)) in fresh.iter().zip(&served).enumerate() {
        match s.cached {
            Some(CacheHit::Exact) if s.context != f.context || s.answer != f.answer => stale += 1,
            Some(CacheHit::Semantic) => {
                let (mut x, mut y) = (s.context.clone(), f.context.clone());
                x.sort_unstable();
                y.sort_unstable();
                if x != y {
                    stale += 1;
                }
                if s.answer != f.answer {
                    semantic_text_differs += 1;
                }
            }
            _ => {}
        }
        let after_change = change.as_ref().is_some_and(|c| i >= c.at);
        if after_change
            && f.context
                .iter()
                .any(|(src, _)| Some(src) == changed_source.as_ref())
        {
            after_change_touching_document += 1;
        }
    }
    let exact_hits = served
        .iter()
        .filter(|o| o.cached == Some(CacheHit::Exact))
        .count();
    let semantic_hits = served
        .iter()
        .filter(|o| o.cached == Some(CacheHit::Semantic))
        .count();
    let report = Report {
        requests: log.len(),
        distinct_texts: log.iter().map(|r| &r.text).collect::<HashSet<_>>().len(),
        paraphrased_requests: log.iter().filter(|r| r.paraphrase).count(),
        zipf: a.zipf,
        seed: a.seed,
        change_at: change.as_ref().map(|c| c.at),
        changed_document: change
            .as_ref()
            .map(|c| format!("{}/{}", data.name, c.original.id)),
        without_cache: side(&fresh),
        with_cache: side(&served),
        exact_hits,
        semantic_hits,
        answer_hit_rate: (exact_hits + semantic_hits) as f64 / log.len() as f64,
        stale,
        semantic_text_differs,
        after_change_touching_document,
        caches,
    };
    if g.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, &log);
    }
    Ok(if report.stale > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(r: &Report, log: &[Request]) {
    let queries: HashSet<&str> = log.iter().map(|q| q.query_id.as_str()).collect();
    println!(
        "{} requests over {} queries ({} distinct texts, {} in a paraphrase), Zipf s={}, seed {}",
        r.requests,
        queries.len(),
        r.distinct_texts,
        r.paraphrased_requests,
        r.zipf,
        r.seed
    );
    if let (Some(at), Some(doc)) = (r.change_at, &r.changed_document) {
        println!(
            "document {doc} edited at request {at} ({} later requests retrieve it)",
            r.after_change_touching_document
        );
    }
    println!(
        "{:<14} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "", "mean ms", "p50 ms", "p95 ms", "p99 ms", "total s"
    );
    for (name, s) in [
        ("without cache", &r.without_cache),
        ("with cache", &r.with_cache),
    ] {
        println!(
            "{name:<14} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>9.1}",
            s.mean_ms, s.latency_ms.p50, s.latency_ms.p95, s.latency_ms.p99, s.total_s
        );
    }
    let c = &r.caches;
    let rate = |h: u64, m: u64| {
        if h + m == 0 {
            0.0
        } else {
            100.0 * h as f64 / (h + m) as f64
        }
    };
    println!("hit rate per layer:");
    for (name, l) in [
        ("embedding", &c.embedding),
        ("retrieval", &c.retrieval),
        ("answer (exact)", &c.answer),
    ] {
        println!(
            "  {name:<16} {:>5.1}%  ({} hits, {} misses)",
            rate(l.hits, l.misses),
            l.hits,
            l.misses
        );
    }
    println!(
        "  {:<16} {:>5.1}%  ({} hits, {} misses; rejected: {} below cosine {}, {} by the lexical check)",
        "semantic",
        rate(c.semantic.hits, c.semantic.misses),
        c.semantic.hits,
        c.semantic.misses,
        c.semantic.rejected_similarity,
        c.semantic.min_similarity,
        c.semantic.rejected_lexical
    );
    println!(
        "answers from cache: {:.1}% of requests ({} exact + {} semantic); stale: {}; semantic hits worded differently from a fresh answer: {}",
        100.0 * r.answer_hit_rate,
        r.exact_hits,
        r.semantic_hits,
        r.stale,
        r.semantic_text_differs
    );
}
