//! `lore eval routes`: the route classifier on a labelled question set.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use lore_embed::Embedder;
use lore_eval::routes::{self, Labelled, RouteRow, RoutesReport};
use lore_route::{ClassifierOptions, GateRule};
use sha2::{Digest, Sha256};

use crate::cli::{EvalRoutesArgs, EvalTiersArgs, RoutesCommand};
use crate::context::Ctx;

pub fn run(g: &Ctx, c: RoutesCommand) -> Result<ExitCode> {
    let engine = g.engine()?;
    let router = engine.router();
    match c {
        RoutesCommand::Classify(a) => {
            let start = std::time::Instant::now();
            let Some(d) = engine.classify_route(&a.question)? else {
                bail!("no routes are defined ([[routes]] in lore.toml, or PUT /v1/admin/routes)");
            };
            let took_ms = start.elapsed().as_secs_f64() * 1e3;
            if g.json {
                println!("{}", serde_json::json!({"decision": d, "took_ms": took_ms}));
                return Ok(ExitCode::SUCCESS);
            }
            match &d.route {
                Some(r) => println!("route `{r}`, probability {:.3}", d.confidence),
                None => println!(
                    "out of scope ({}), best probability {:.3}",
                    d.out_of_scope_reason.as_deref().unwrap_or("-"),
                    d.confidence
                ),
            }
            for c in &d.candidates {
                println!("  {:.3}  {}", c.probability, c.name);
            }
            println!(
                "routes version {}, {took_ms:.1} ms (embedding included)",
                d.version
            );
        }
        RoutesCommand::Show => {
            let versions = engine.route_versions()?;
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "version": router.version(),
                        "routes": router.routes(),
                        "fit": router.summary(),
                        "versions": versions.iter().map(|v| serde_json::json!({
                            "version": v.version, "created_ms": v.created_ms, "source": v.source,
                        })).collect::<Vec<_>>(),
                    })
                );
                return Ok(ExitCode::SUCCESS);
            }
            if !router.is_active() {
                println!("no routes defined");
            }
            for r in router.routes() {
                println!(
                    "{}: {} examples -> {}{}{}{}",
                    r.name,
                    r.examples.len(),
                    if r.collections.is_empty() {
                        "(request's collection)".to_string()
                    } else {
                        r.collections.join(",")
                    },
                    r.filters
                        .iter()
                        .map(|(k, v)| format!(" {k}={v}"))
                        .collect::<String>(),
                    r.prompt
                        .as_ref()
                        .map(|p| format!(" prompt {p}"))
                        .unwrap_or_default(),
                    r.refusal.as_ref().map(|_| " (refuses)").unwrap_or_default(),
                );
            }
            if let Some(s) = router.summary() {
                println!(
                    "version {}: {} examples, gate threshold {:.3} tuned on {} (in-scope {:.1}%, out-of-scope recall {:.1}%), fitted in {:.0} ms",
                    router.version(), s.examples, s.threshold, s.tuned_on,
                    s.in_scope_accuracy * 100.0, s.oos_recall * 100.0, s.fit_ms
                );
            }
            for v in versions {
                println!(
                    "  version {} ({}, {} routes)",
                    v.version,
                    v.source,
                    v.set.routes.len()
                );
            }
        }
        RoutesCommand::TrainTier(a) => {
            let rows = lore_eval::tiers::read_tier_rows(&a.file)?;
            let emb = embed_texts(g, &engine, rows.iter().map(|r| r.text.as_str()))?;
            let t = std::time::Instant::now();
            let router = lore_eval::tiers::train_tier(&rows, &emb)?;
            let dir = g.data_dir.join("routes");
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("tier-router.json");
            let tmp = dir.join(".tier-router.json.tmp");
            std::fs::write(&tmp, serde_json::to_vec(&router)?)?;
            std::fs::rename(&tmp, &path)?;
            println!(
                "tier router fitted on {} questions in {:.0} ms, stored in {}",
                rows.len(),
                t.elapsed().as_secs_f64() * 1e3,
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn eval_tiers(g: &Ctx, a: EvalTiersArgs) -> Result<ExitCode> {
    let rows = lore_eval::tiers::read_tier_rows(&a.file)?;
    let engine = g.engine()?;
    let emb = embed_texts(g, &engine, rows.iter().map(|r| r.text.as_str()))?;
    let r = lore_eval::tiers::evaluate_tiers(&rows, &emb, a.folds)?;
    if g.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} questions, {}-fold cross-validation: small tier {:.1}%, large tier {:.1}% correct; router fitted in {:.0} ms per fold",
        r.router.questions,
        r.folds,
        r.router.small_accuracy * 100.0,
        r.router.large_accuracy * 100.0,
        r.fit_ms
    );
    for (name, t) in [
        ("learned router", &r.router),
        ("by length", &r.by_length),
        ("by complexity", &r.by_complexity),
    ] {
        println!(
            "{name:>15}: APGR {:.3}, CPT(50%) {:.1}%, CPT(80%) {:.1}%, large calls at 95% quality {:.1}% (cost saved {:.1}%)",
            t.apgr,
            t.cpt50 * 100.0,
            t.cpt80 * 100.0,
            t.large_share_at_95 * 100.0,
            t.cost_saved_at_95 * 100.0
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn eval_routes(g: &Ctx, a: EvalRoutesArgs) -> Result<ExitCode> {
    let eval_rows = routes::read_rows(&a.file)?;
    let Some(train_path) = &a.train else {
        bail!("--train FILE is required (the examples to fit the classifier on)");
    };
    let mut train_rows = routes::read_rows(train_path)?;
    if let Some(n) = a.few_shot {
        train_rows = routes::few_shot(&train_rows, n, a.seed);
    }
    let val_rows = a.val.as_deref().map(routes::read_rows).transpose()?;
    let domains_file = a.domains.clone().or_else(|| {
        let beside = a.file.with_file_name("domains.json");
        beside.exists().then_some(beside)
    });
    let domains = routes::domain_map(domains_file.as_deref(), &train_rows)?;
    let engine = g.engine()?;
    let embed = |rows: &[RouteRow]| embed_texts(g, &engine, rows.iter().map(|r| r.text.as_str()));
    let train_emb = embed(&train_rows)?;
    let eval_emb = embed(&eval_rows)?;
    let val_emb = val_rows.as_deref().map(embed).transpose()?;
    let opts = ClassifierOptions {
        lexical: !a.no_lexical,
        ..ClassifierOptions::default()
    };
    let rule = if a.paper_rule {
        GateRule::Accuracy
    } else {
        GateRule::OosRecall(a.oos_recall)
    };
    let val = match (&val_rows, &val_emb) {
        (Some(rows), Some(embeddings)) => Some(Labelled { rows, embeddings }),
        _ => None,
    };
    let mut report = routes::evaluate_routes(
        &Labelled {
            rows: &train_rows,
            embeddings: &train_emb,
        },
        val.as_ref(),
        &Labelled {
            rows: &eval_rows,
            embeddings: &eval_emb,
        },
        &opts,
        rule,
        &domains,
    )?;
    report.few_shot = a.few_shot;
    if g.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &RoutesReport) {
    let e = &r.eval;
    println!(
        "fitted on {} examples, {} labels{} in {:.0} ms; gate {:?} tuned on {}: threshold {:.3} (there: in-scope {:.1}%, out-of-scope recall {:.1}%)",
        r.train_examples,
        r.labels,
        r.few_shot.map(|n| format!(" ({n} per label)")).unwrap_or_default(),
        r.fit_ms,
        r.gate.rule,
        r.gate.tuned_on,
        r.gate.threshold,
        r.gate.at_tuning.in_scope_accuracy * 100.0,
        r.gate.at_tuning.oos_recall * 100.0,
    );
    println!(
        "{} questions ({} in scope, {} out of scope): in-scope accuracy {:.2}%, out-of-scope recall {:.1}%, precision {:.1}%, macro-F1 {:.3}{}",
        e.questions,
        e.in_scope,
        e.out_of_scope,
        e.in_scope_accuracy * 100.0,
        e.oos_recall * 100.0,
        e.oos_precision * 100.0,
        e.macro_f1,
        r.domain_accuracy
            .map(|d| format!(", domain accuracy {:.2}%", d * 100.0))
            .unwrap_or_default()
    );
    println!(
        "classification latency (embedding excluded): p50 {:.3} ms, p95 {:.3} ms",
        r.latency_ms.p50, r.latency_ms.p95
    );
    println!("most confused (gold -> predicted):");
    for c in r.eval.confused.iter().take(5) {
        println!("  {:>3}  {} -> {}", c.count, c.gold, c.predicted);
    }
    println!("worst labels by F1:");
    for s in r.eval.per_label.iter().take(5) {
        println!(
            "  {:.3}  {} (precision {:.2}, recall {:.2}, {} questions)",
            s.f1, s.label, s.precision, s.recall, s.support
        );
    }
}

/// Embeddings of the rows' normalized texts (as the query path embeds them), read back
/// from `cache_dir` when this model embedded these exact texts before: a file named by the
/// sha256 of the model id and the texts, `u32` count and dim then little-endian f32s.
fn embed_texts<'a>(
    g: &Ctx,
    engine: &lore_rag::Engine,
    texts: impl Iterator<Item = &'a str>,
) -> Result<Vec<Vec<f32>>> {
    let embedder: &dyn Embedder = engine.embedder();
    let cache_dir = g.data_dir.join("cache").join("eval-embeddings");
    let texts: Vec<String> = texts.map(lore_cache::normalize_text).collect();
    let mut h = Sha256::new();
    h.update(embedder.model_id().as_bytes());
    for t in &texts {
        h.update(b"\n");
        h.update(t.as_bytes());
    }
    let path: PathBuf = cache_dir.join(format!("{}.f32", hex::encode(h.finalize())));
    if let Some(v) = read_cached(&path, texts.len(), embedder.dim()) {
        return Ok(v);
    }
    let mut out = Vec::with_capacity(texts.len());
    for batch in texts.chunks(256) {
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        out.extend(lore_embed::embed_truncating(embedder, &refs).context("embedding")?);
    }
    let mut bytes = Vec::with_capacity(8 + out.len() * embedder.dim() * 4);
    bytes.extend((out.len() as u32).to_le_bytes());
    bytes.extend((embedder.dim() as u32).to_le_bytes());
    for v in &out {
        for x in v {
            bytes.extend(x.to_le_bytes());
        }
    }
    // A cache: failing to write it only costs the next run an embedding pass.
    if std::fs::create_dir_all(cache_dir).is_ok() {
        let _ = std::fs::write(&path, bytes);
    }
    Ok(out)
}

fn read_cached(path: &Path, n: usize, dim: usize) -> Option<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> { bytes.get(i..i + 4)?.try_into().ok() };
    if u32::from_le_bytes(word(0)?) as usize != n || u32::from_le_bytes(word(4)?) as usize != dim {
        return None;
    }
    if bytes.len() != 8 + n * dim * 4 {
        return None;
    }
    Some(
        bytes[8..]
            .chunks_exact(dim * 4)
            .map(|v| {
                v.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect(),
    )
}
