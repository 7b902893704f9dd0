//! The commands that work on the data dir directly: ingest, search, collections,
//! documents, settings, evaluation and benchmarks. Each takes the resolved context
//! ([`Ctx`]) and calls the engine.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use lore_core::{Access, Metadata, SearchMode};
use lore_eval::{evaluate, BeirDataset, EvalOptions};
use lore_index::Chunking;
use lore_rag::{DocumentRef, FileStatus, IngestOptions, SearchRequest};
use lore_settings::{Origin, Settings};

use crate::cli::{
    BeirArgs, BenchEmbedArgs, CollectionsCommand, DocumentsCommand, IngestArgs, SearchArgs,
};
use crate::context::Ctx;
use crate::progress::Progress;

/// The effective settings with their origins.
pub fn config_show(g: &Ctx) -> Result<ExitCode> {
    if g.json {
        println!("{}", serde_json::to_string_pretty(&g.resolved.show_json())?);
    } else {
        println!(
            "# settings file: {}\n# data dir: {}",
            g.resolved
                .file
                .as_ref()
                .map_or("none (defaults)".to_string(), |p| p.display().to_string()),
            g.data_dir.display()
        );
        print!("{}", g.resolved.show_toml());
    }
    Ok(ExitCode::SUCCESS)
}

/// Validates a settings file alone.
pub fn config_check(file: &Path) -> Result<ExitCode> {
    let settings = Settings::check_file(file)?;
    // Routes too: names, sizes and example files (relative to the file), not fitted.
    let base = file.parent().unwrap_or(Path::new("."));
    lore_route::RouteSet::resolve(&settings.routes, &settings.routing, base)
        .with_context(|| format!("{}", file.display()))?;
    println!("{}: ok", file.display());
    Ok(ExitCode::SUCCESS)
}

/// The chunking this run asks for: the settings' when a file, variable or flag set it,
/// else none (a collection keeps its own).
fn requested_chunking(g: &Ctx) -> Option<Chunking> {
    let asked = ["chunking.chunk_tokens", "chunking.overlap_tokens"]
        .iter()
        .any(|p| g.resolved.origin(p) != Origin::Default);
    let c = &g.settings().chunking;
    asked.then_some(Chunking {
        chunk_tokens: c.chunk_tokens,
        overlap_tokens: c.overlap_tokens,
    })
}

pub fn ingest(g: &Ctx, a: IngestArgs) -> Result<ExitCode> {
    let mut engine = g.engine()?;
    let options = IngestOptions {
        metadata: Metadata {
            domain: a.domain,
            department: a.department,
            doc_type: a.doc_type,
            tags: a.tags,
        },
        access: Access::all(),
        chunking: requested_chunking(g),
        rechunk: a.rechunk,
    };
    let mut progress = Progress::new();
    let report = engine.ingest_paths(&a.collection, &a.paths, &options, &mut |e| {
        progress.event(e)
    })?;
    progress.finish();
    if g.json {
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

pub fn search(g: &Ctx, a: SearchArgs) -> Result<ExitCode> {
    let mut engine = g.engine()?;
    let req = SearchRequest {
        query: a.query,
        collection: String::new(),
        top_k: a.top_k,
        mode: a.mode,
        filters: a.filters,
        candidates: a.candidates,
        access: Access::all(),
    };
    let resp = engine.search_collections(&a.collection, &req)?;
    let several = a.collection.len() > 1;
    if g.json {
        println!("{}", serde_json::to_string(&resp)?);
        return Ok(ExitCode::SUCCESS);
    }
    if resp.hits.is_empty() {
        println!("no results");
    }
    for (i, h) in resp.hits.iter().enumerate() {
        let (c, h) = (&h.collection, &h.hit);
        let mut place = if several {
            format!("{c}: {}", h.source)
        } else {
            h.source.clone()
        };
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

/// `lore collections …`.
pub fn collections(g: &Ctx, c: CollectionsCommand) -> Result<ExitCode> {
    let mut engine = g.engine()?;
    let all = Access::all();
    let print = |c: &lore_rag::CollectionSummary| {
        let chunking = c
            .chunking
            .map_or("chunking not recorded".to_string(), |k| k.to_string());
        println!(
            "{}\t{} documents\t{} chunks\t{}\t{chunking}",
            c.name, c.documents, c.chunks, c.model
        );
    };
    match c {
        CollectionsCommand::List => {
            let rows = engine.collections(&all)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                rows.iter().for_each(print);
            }
        }
        CollectionsCommand::Show(a) => {
            let c = engine.collection(&a.name, &all)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print(&c);
            }
        }
        CollectionsCommand::Create(a) => {
            let c = engine.create_collection(&a.name, None)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                println!("created {}", c.name);
            }
        }
        CollectionsCommand::Delete(a) => {
            engine.delete_collection(&a.name)?;
            println!("deleted {}", a.name);
        }
        CollectionsCommand::Verify(a) => {
            let v = engine.verify_collection(&a.name)?;
            if g.json {
                println!("{}", serde_json::to_string(&v)?);
            } else {
                println!(
                    "catalog integrity: {}; chunks {}, BM25 docs {}, vectors {}: {}",
                    v.catalog_integrity,
                    v.chunks,
                    v.bm25_docs,
                    v.vectors,
                    if v.ok { "consistent" } else { "INCONSISTENT" }
                );
            }
            if !v.ok {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lore documents …`.
pub fn documents(g: &Ctx, c: DocumentsCommand) -> Result<ExitCode> {
    let mut engine = g.engine()?;
    let all = Access::all();
    match c {
        DocumentsCommand::List(a) => {
            let docs = engine.documents(&a.collection, &all)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in docs {
                    println!(
                        "{}\t{}\t{}\t{} chunks\tv{}\t{}",
                        d.id, d.source, d.format, d.chunks, d.version, d.title
                    );
                }
            }
        }
        DocumentsCommand::Show(a) => {
            let d = engine.document(&a.collection, &DocumentRef::parse(&a.document), &all)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                println!(
                    "{} ({})\nid {}  format {}  {} bytes  {} chunks  v{}\nsha256 {}\n{}",
                    d.source,
                    d.title,
                    d.id,
                    d.format,
                    d.bytes,
                    d.chunks,
                    d.version,
                    d.content_hash,
                    serde_json::to_string(&d.metadata)?
                );
            }
        }
        DocumentsCommand::Delete(a) => {
            let mut missing = 0;
            for doc in &a.documents {
                match engine.delete_document(&a.collection, &DocumentRef::parse(doc), &all) {
                    Ok(d) => println!("deleted {} (id {})", d.source, d.id),
                    Err(lore_rag::EngineError::DocumentNotFound { .. }) => {
                        eprintln!("not found: {doc} in {}", a.collection);
                        missing += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if missing > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn eval_beir(g: &Ctx, a: BeirArgs) -> Result<ExitCode> {
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
    let mut engine = g.engine_uncached()?;
    let mut progress = Progress::new();
    let opts = EvalOptions {
        collection,
        modes,
        candidates: a.candidates.max(100),
    };
    let reports = evaluate(&mut engine, &data, &opts, &mut |e| progress.event(e))?;
    progress.finish();
    if g.json {
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

pub fn bench_embed(g: &Ctx, a: BenchEmbedArgs) -> Result<ExitCode> {
    use lore_embed::Embedder;
    use std::io::Write;
    let engine = g.engine_uncached()?;
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
            "impl": "lore", "model": engine.embedder().model_id(), "threads": engine.config().embedding.threads(),
            "passages": texts.len(), "tokens": tokens, "seconds": secs,
            "passages_per_s": texts.len() as f64 / secs, "tokens_per_s": tokens as f64 / secs,
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// `lore bench hostile-files DIR`: writes every sample of `lore_ingest::samples`.
pub fn hostile_files(a: crate::cli::HostileFilesArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    for (name, bytes) in lore_ingest::samples::all() {
        let path = a.dir.join(name);
        std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("{}\t{} bytes", path.display(), bytes.len());
    }
    Ok(ExitCode::SUCCESS)
}
