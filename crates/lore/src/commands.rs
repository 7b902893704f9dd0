//! One function per command; each builds the engine from the global flags and prints.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use lore_core::{default_data_dir, Metadata, SearchMode};
use lore_eval::{evaluate, BeirDataset, EvalOptions};
use lore_index::Store;
use lore_rag::{ConfigFile, Engine, EngineConfig, FileStatus, LlmConfig, SearchRequest};

use crate::cli::{
    BeirArgs, BenchCommand, BenchEmbedArgs, Cli, Command, ConfigCommand, DeleteArgs, EvalCommand,
    Global, IngestArgs, SearchArgs,
};
use crate::progress::Progress;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Ingest(a) => ingest(g, a),
        Command::Search(a) => search(g, a),
        Command::Config(ConfigCommand::Show) => config_show(g),
        Command::Ask(a) => crate::ask::ask(g, a),
        Command::Delete(a) => delete(g, a),
        Command::Collections(a) => collections(g, a.json),
        Command::Documents(a) => documents(g, &a.collection, a.json),
        Command::Verify(a) => verify(g, &a.collection, a.json),
        Command::Eval(EvalCommand::Beir(a)) => eval_beir(g, a),
        Command::Bench(BenchCommand::Embed(a)) => bench_embed(g, a),
        Command::Bench(BenchCommand::Answer(a)) => crate::answer_eval::bench_answer(g, a),
        Command::Eval(EvalCommand::Answers(a)) => crate::answer_eval::eval_answers(g, a),
        Command::Eval(EvalCommand::Grounding(a)) => crate::answer_eval::eval_grounding(g, a),
        Command::Serve(a) => crate::serve::serve(g, &a),
        Command::Cache(c) => crate::cache_cmd::run(c),
        Command::Keys(c) => crate::keys_cmd::run(g, c),
        Command::Analytics(a) => crate::keys_cmd::analytics(g, &a),
        Command::Bench(BenchCommand::Cache(a)) => crate::cache_bench::bench_cache(g, a),
        Command::Bench(BenchCommand::HostileFiles(a)) => hostile_files(a),
        Command::Openapi => {
            println!("{}", lore_server::openapi::spec_pretty());
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) fn data_dir(g: &Global) -> std::path::PathBuf {
    g.data_dir.clone().unwrap_or_else(default_data_dir)
}

pub(crate) fn engine(g: &Global) -> Result<Engine> {
    engine_with(g, config_file(g)?)
}

fn engine_with(g: &Global, file: ConfigFile) -> Result<Engine> {
    let mut config = EngineConfig::new(data_dir(g));
    config.models_dir = g.models_dir.clone();
    config.precision = g.precision;
    if let Some(t) = g.threads {
        config.embed_threads = t.max(1);
    }
    config.chunker.chunk_tokens = g.chunk_tokens;
    config.chunker.overlap_tokens = g.chunk_overlap;
    config.ingest_batch_chunks = g.ingest_batch.max(1);
    config.llm = file.llm;
    config.cache = file.cache;
    config.guard = file.guard;
    config.ingest = file.ingest;
    Ok(Engine::open(config)?)
}

/// An engine for measurements: caches off, so repeated queries are computed each time.
pub(crate) fn engine_uncached(g: &Global) -> Result<Engine> {
    let mut file = config_file(g)?;
    file.cache.enabled = false;
    engine_with(g, file)
}

/// The settings a command would run with. Secrets are redacted.
fn config_show(g: &Global) -> Result<ExitCode> {
    #[derive(serde::Serialize)]
    struct Shown {
        data_dir: String,
        models_dir: String,
        config_file: String,
        precision: String,
        threads: Option<usize>,
        chunk_tokens: usize,
        chunk_overlap: usize,
        ingest_batch: usize,
        llm: LlmConfig,
        cache: lore_cache::CacheConfig,
        guard: lore_rag::GuardConfig,
        auth: lore_server::config::AuthConfig,
        rate_limit: lore_server::config::RateLimitConfig,
        cors: lore_server::config::CorsConfig,
        log: lore_server::config::LogConfig,
        analytics: lore_server::config::AnalyticsConfig,
        metrics: lore_server::config::MetricsConfig,
        prices: std::collections::BTreeMap<String, lore_server::config::Price>,
    }
    let file = config_file(g)?;
    let security = security_config(g)?;
    let (models_dir, how) = lore_core::resolve_models_dir(g.models_dir.as_deref());
    let config_file = g
        .config
        .clone()
        .unwrap_or_else(|| data_dir(g).join("lore.toml"));
    let shown = Shown {
        data_dir: data_dir(g).display().to_string(),
        models_dir: format!("{} ({how:?})", models_dir.display()),
        config_file: format!(
            "{}{}",
            config_file.display(),
            if config_file.is_file() {
                ""
            } else {
                " (absent: defaults)"
            }
        ),
        precision: g.precision.as_str().to_string(),
        threads: g.threads,
        chunk_tokens: g.chunk_tokens,
        chunk_overlap: g.chunk_overlap,
        ingest_batch: g.ingest_batch,
        llm: file.llm.redacted(),
        cache: file.cache.redacted(),
        guard: file.guard,
        auth: security.auth,
        rate_limit: security.rate_limit,
        cors: security.cors,
        log: security.log,
        analytics: security.analytics,
        metrics: security.metrics,
        prices: security.prices,
    };
    print!("{}", toml::to_string(&shown)?);
    Ok(ExitCode::SUCCESS)
}

/// The config file (`--config`, else `<data dir>/lore.toml` if present), then the `LORE_LLM_*`,
/// `LORE_CACHE` and `LORE_REDIS_URL` variables.
fn config_file(g: &Global) -> Result<ConfigFile> {
    let mut file = match &g.config {
        Some(path) => ConfigFile::read(path, true)?,
        None => ConfigFile::read(&data_dir(g).join("lore.toml"), false)?,
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    file.llm.apply_env(env)?;
    file.cache.apply_env(env).map_err(anyhow::Error::msg)?;
    Ok(file)
}

/// The server's sections of the config file (`[auth]`, `[rate_limit]`, `[cors]`, `[log]`,
/// `[analytics]`, `[prices]`), then `LORE_AUTH` and `LORE_CORS_ORIGINS`.
pub(crate) fn security_config(g: &Global) -> Result<lore_server::SecurityConfig> {
    let (path, required) = match &g.config {
        Some(path) => (path.clone(), true),
        None => (data_dir(g).join("lore.toml"), false),
    };
    let mut config = match std::fs::read_to_string(&path) {
        Ok(text) => lore_server::SecurityConfig::from_toml(&text)
            .with_context(|| format!("config {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Default::default(),
        Err(e) => return Err(e).with_context(|| format!("config {}", path.display())),
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    config.apply_env(env).map_err(anyhow::Error::msg)?;
    Ok(config)
}

/// What logging needs before the rest starts: `[log]` and the PII patterns of `[guard]`.
pub(crate) fn log_settings(
    g: &Global,
) -> Result<(
    lore_server::config::LogConfig,
    Vec<lore_rag::guard::CustomPattern>,
)> {
    Ok((security_config(g)?.log, config_file(g)?.guard.patterns))
}

/// The store alone, for commands that need no model.
fn store(g: &Global) -> Result<Store> {
    Ok(Store::open(&data_dir(g), Default::default())?)
}

fn ingest(g: &Global, a: IngestArgs) -> Result<ExitCode> {
    let mut engine = engine(g)?;
    let metadata = Metadata {
        domain: a.domain,
        department: a.department,
        doc_type: a.doc_type,
        tags: a.tags,
    };
    let mut progress = Progress::new();
    let report = engine.ingest_paths(&a.collection, &a.paths, &metadata, &mut |e| {
        progress.event(e)
    })?;
    progress.finish();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let count =
            |f: fn(&FileStatus) -> bool| report.files.iter().filter(|r| f(&r.status)).count();
        let secs = report.total_ms / 1e3;
        println!(
            "{}: {} added, {} updated, {} unchanged, {} failed; {} chunks in {:.1} s ({:.1} chunks/s)",
            a.collection,
            count(|s| matches!(s, FileStatus::Added { .. })),
            count(|s| matches!(s, FileStatus::Updated { .. })),
            count(|s| matches!(s, FileStatus::Unchanged)),
            report.failed(),
            report.chunks,
            secs,
            report.chunks as f64 / secs.max(1e-3),
        );
        for f in &report.files {
            if let FileStatus::Failed { reason, .. } = &f.status {
                eprintln!("failed: {}: {reason}", f.source);
            }
        }
    }
    Ok(if report.failed() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn search(g: &Global, a: SearchArgs) -> Result<ExitCode> {
    let mut engine = engine(g)?;
    let req = SearchRequest {
        query: a.query,
        collection: a.collection,
        top_k: a.top_k,
        mode: a.mode,
        filters: a.filters,
        candidates: a.candidates,
        access: lore_core::Access::all(),
    };
    let resp = engine.search(&req)?;
    if a.json {
        println!("{}", serde_json::to_string(&resp)?);
        return Ok(ExitCode::SUCCESS);
    }
    if resp.hits.is_empty() {
        println!("no results");
    }
    for (i, h) in resp.hits.iter().enumerate() {
        let mut place = h.source.clone();
        if let Some(p) = h.page {
            place.push_str(&format!(" p.{p}"));
        }
        if let Some(hd) = &h.heading {
            place.push_str(&format!(" § {hd}"));
        }
        let snippet: String = h
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(240)
            .collect();
        println!("{:>2}. [{:.4}] {place}\n    {snippet}", i + 1, h.score);
    }
    let t = &resp.timings_ms;
    eprintln!(
        "{} hits in {:.1} ms (embed {:.1}, bm25 {:.1}, dense {:.1}, fuse {:.2})",
        resp.hits.len(),
        t.total,
        t.embed,
        t.bm25,
        t.dense,
        t.fuse
    );
    Ok(ExitCode::SUCCESS)
}

fn delete(g: &Global, a: DeleteArgs) -> Result<ExitCode> {
    let mut engine = engine(g)?;
    let mut missing = 0;
    for s in &a.sources {
        if engine.delete(&a.collection, s)? {
            println!("deleted {s}");
        } else {
            eprintln!("not found: {s} in {}", a.collection);
            missing += 1;
        }
    }
    Ok(if missing > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn collections(g: &Global, json: bool) -> Result<ExitCode> {
    let store = store(g)?;
    let mut rows = Vec::new();
    for c in store.collections()? {
        let (docs, chunks) = store.catalog().counts(c.id)?;
        rows.push(serde_json::json!({
            "name": c.name, "documents": docs, "chunks": chunks, "model": c.model_id, "version": c.version
        }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for r in &rows {
            println!(
                "{}\t{} documents\t{} chunks\t{}",
                r["name"].as_str().unwrap_or(""),
                r["documents"],
                r["chunks"],
                r["model"].as_str().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn documents(g: &Global, collection: &str, json: bool) -> Result<ExitCode> {
    let store = store(g)?;
    let info = store.collection(collection)?;
    let docs = store.documents(&info)?;
    if json {
        let rows: Vec<_> = docs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "document_id": d.id, "source": d.source, "title": d.title, "format": d.format,
                    "content_hash": d.content_hash, "bytes": d.bytes, "version": d.version,
                    "chunks": d.chunks, "metadata": d.metadata,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for d in docs {
            println!(
                "{}\t{}\t{} chunks\tv{}\t{}",
                d.source, d.format, d.chunks, d.version, d.title
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(g: &Global, collection: &str, json: bool) -> Result<ExitCode> {
    let mut store = store(g)?;
    let info = store.collection(collection)?;
    let integrity = store.catalog().integrity_check()?;
    let (chunks, bm25, vectors) = store.index_counts(&info)?;
    let ok = integrity == "ok" && chunks == bm25 && chunks == vectors;
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": ok, "catalog_integrity": integrity, "chunks": chunks, "bm25_docs": bm25, "vectors": vectors})
        );
    } else {
        println!("catalog integrity: {integrity}; chunks {chunks}, BM25 docs {bm25}, vectors {vectors}: {}", if ok { "consistent" } else { "INCONSISTENT" });
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn eval_beir(g: &Global, a: BeirArgs) -> Result<ExitCode> {
    let modes = match a.mode.as_str() {
        "all" => vec![SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid],
        m => vec![m.parse::<SearchMode>().map_err(anyhow::Error::msg)?],
    };
    let data = BeirDataset::load(&a.dir)
        .with_context(|| format!("loading BEIR data from {}", a.dir.display()))?;
    if data.queries.is_empty() {
        bail!(
            "{}: no query has relevance judgements in qrels/test.tsv",
            a.dir.display()
        );
    }
    let collection = a
        .collection
        .unwrap_or_else(|| format!("beir-{}", data.name));
    let mut engine = engine_uncached(g)?;
    let mut progress = Progress::new();
    let opts = EvalOptions {
        collection,
        modes,
        candidates: a.candidates.max(100),
    };
    let reports = evaluate(&mut engine, &data, &opts, &mut |e| progress.event(e))?;
    progress.finish();
    if a.json {
        if reports.len() == 1 {
            println!("{}", serde_json::to_string(&reports[0])?);
        } else {
            println!("{}", serde_json::to_string(&reports)?);
        }
    } else {
        println!(
            "{} ({} documents, {} queries)",
            data.name,
            data.corpus.len(),
            data.queries.len()
        );
        if let Some(r) = reports.first() {
            if r.ingested_chunks > 0 {
                println!(
                    "ingest: {} chunks in {:.1} s; embedding {:.1} passages/s",
                    r.ingested_chunks,
                    r.ingest_ms / 1e3,
                    r.embed_passages_per_s
                );
            }
        }
        println!(
            "{:<8} {:>8} {:>10} {:>8} {:>14} {:>14}",
            "mode", "nDCG@10", "Recall@100", "MRR@10", "p50 ms (ret)", "p95 ms (ret)"
        );
        for r in &reports {
            println!(
                "{:<8} {:>8.4} {:>10.4} {:>8.4} {:>14.2} {:>14.2}",
                r.mode.as_str(),
                r.ndcg_10,
                r.recall_100,
                r.mrr_10,
                r.latency_ms.p50,
                r.latency_ms.p95
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_embed(g: &Global, a: BenchEmbedArgs) -> Result<ExitCode> {
    use lore_embed::Embedder;
    use std::io::Write;
    let engine = engine_uncached(g)?;
    let mut texts = Vec::new();
    for doc in lore_eval::load_corpus(&a.corpus, Some(a.limit))? {
        texts.extend(
            engine
                .chunk(&doc.extracted())?
                .into_iter()
                .map(|c| (c.index_text, c.token_count)),
        );
    }
    if let Some(path) = &a.dump {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for (t, _) in &texts {
            writeln!(out, "{}", serde_json::to_string(t)?)?;
        }
    }
    let refs: Vec<&str> = texts.iter().map(|(t, _)| t.as_str()).collect();
    engine.embedder().embed(&refs[..refs.len().min(64)])?; // warm-up
    let start = std::time::Instant::now();
    engine.embedder().embed(&refs)?;
    let secs = start.elapsed().as_secs_f64();
    let tokens: u64 = texts.iter().map(|(_, n)| u64::from(*n)).sum();
    println!(
        "{}",
        serde_json::json!({
            "impl": "lore", "model": engine.embedder().model_id(), "threads": engine.config().embed_threads,
            "passages": texts.len(), "tokens": tokens, "seconds": secs,
            "passages_per_s": texts.len() as f64 / secs, "tokens_per_s": tokens as f64 / secs,
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// `lore bench hostile-files DIR`: writes every sample of `lore_ingest::samples`.
fn hostile_files(a: crate::cli::HostileFilesArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    for (name, bytes) in lore_ingest::samples::all() {
        let path = a.dir.join(name);
        std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("{}\t{} bytes", path.display(), bytes.len());
    }
    Ok(ExitCode::SUCCESS)
}
