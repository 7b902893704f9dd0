//! `lore memory ingest|query|delete|list|consolidate|stats` and `lore eval meetings`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use lore_core::{Access, Memory};
use lore_eval::meetings::{self, MeetingQuery, Returned};
use lore_memory::{MeetingHints, MemoryFilters, MemoryQuery, MemoryQueryResponse};

use crate::cli::{EvalMeetingsArgs, MemoryCommand, MemoryIngestArgs, MemoryQueryArgs};
use crate::context::Ctx;

pub fn run(g: &Ctx, c: MemoryCommand) -> Result<ExitCode> {
    match c {
        MemoryCommand::Ingest(a) => ingest(g, a),
        MemoryCommand::Query(a) => query(g, a),
        MemoryCommand::Delete(a) => {
            let engine = g.engine()?;
            let deleted = engine.memory_delete(&a.id)?;
            if g.json {
                println!("{}", serde_json::json!({"id": a.id, "deleted": deleted}));
            } else if deleted {
                println!("deleted meeting {} with its memories and edges", a.id);
            }
            if !deleted {
                bail!("meeting `{}` not found", a.id);
            }
            Ok(ExitCode::SUCCESS)
        }
        MemoryCommand::List => {
            let engine = g.engine()?;
            let list = engine.memory().meetings()?;
            if g.json {
                println!("{}", serde_json::json!({ "meetings": list }));
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<16} {:<10} {:<10} {:>6} {:>8}  title",
                "id", "series", "date", "turns", "memories"
            );
            for m in &list {
                println!(
                    "{:<16} {:<10} {:<10} {:>6} {:>8}  {}",
                    m.info.id,
                    m.info.series.as_deref().unwrap_or("-"),
                    m.info.date.as_deref().unwrap_or("-"),
                    m.turns,
                    m.memories,
                    m.info.title
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        MemoryCommand::Consolidate(a) => {
            let engine = g.engine()?;
            let now = match a.now {
                Some(t) => humantime::parse_rfc3339_weak(&t)
                    .with_context(|| format!("--now `{t}`: expected e.g. 2026-12-01T00:00:00"))?
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0),
                None => lore_index::now_ms(),
            };
            let r = engine.memory_consolidate(now)?;
            if g.json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "importance updated for {} memories, {} cross-meeting clusters promoted, {} stale memories removed ({:.0} ms)",
                    r.importance_updated, r.promoted, r.removed, r.elapsed_ms
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        MemoryCommand::Bench(a) => bench(g, a),
        MemoryCommand::Stats => {
            let engine = g.engine()?;
            let s = engine.memory().stats();
            if g.json {
                println!("{}", serde_json::to_string(&s)?);
            } else {
                println!(
                    "{} meetings; memories: {} L2 episodic, {} L1 semantic, {} L0 concepts; {} edges",
                    s.meetings, s.episodic, s.semantic, s.concepts, s.edges
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn ingest(g: &Ctx, a: MemoryIngestArgs) -> Result<ExitCode> {
    if a.meeting_id.is_some() && a.files.len() > 1 {
        bail!("--meeting-id names one meeting: give one FILE with it");
    }
    let engine = g.engine()?;
    let mut failed = 0;
    let mut results = Vec::new();
    for f in &a.files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let hints = MeetingHints {
            id: a.meeting_id.clone(),
            title: a.title.clone(),
            date: a.date.clone(),
            series: a.series.clone(),
            domain: a.domain.clone(),
        };
        let parsed = lore_memory::transcript::parse(&f.to_string_lossy(), &bytes, &hints);
        match parsed
            .map_err(anyhow::Error::from)
            .and_then(|m| Ok(engine.memory_ingest(m)?))
        {
            Ok(r) => {
                if !g.json {
                    println!(
                        "{}: {} — {} turns, {} episodic memories, {} memories and {} edges written ({:.0} ms, {:.0} turns/s)",
                        r.id,
                        format!("{:?}", r.status).to_lowercase(),
                        r.turns,
                        r.episodic,
                        r.memories,
                        r.edges,
                        r.elapsed_ms,
                        r.turns as f64 / (r.elapsed_ms / 1000.0).max(1e-9)
                    );
                    if let Some(l) = &r.llm {
                        println!(
                            "  {}: {} of {} episodic memories typed, {} clusters summarised, {} calls fell back to the rules",
                            l.model, l.typed, r.episodic, l.summarized, l.failed_calls
                        );
                    }
                }
                results.push(serde_json::json!({"file": f, "result": r}));
            }
            Err(e) => {
                failed += 1;
                if !g.json {
                    eprintln!("{}: {e:#}", f.display());
                }
                results.push(serde_json::json!({"file": f, "error": format!("{e:#}")}));
            }
        }
    }
    if g.json {
        println!("{}", serde_json::json!({ "meetings": results }));
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn filters(a: &MemoryQueryArgs) -> Result<MemoryFilters> {
    Ok(MemoryFilters {
        meeting: a.meeting.clone(),
        series: a.series.clone(),
        participant: a.participant.clone(),
        date_from: a.date_from.clone(),
        date_to: a.date_to.clone(),
        memory_type: a
            .r#type
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| anyhow::anyhow!("--type: {e}"))?,
        domain: a.domain.clone(),
    })
}

fn query(g: &Ctx, a: MemoryQueryArgs) -> Result<ExitCode> {
    let engine = g.engine()?;
    let req = MemoryQuery {
        query: a.query.clone(),
        limit_per_level: a.limit,
        enable_activation: !a.no_activation,
        enable_bridges: !a.no_bridges,
        max_activations: a.max_activations,
        filters: filters(&a)?,
    };
    let r = engine.memory_query(&req, &Access::all())?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_tree(&r);
    }
    Ok(ExitCode::SUCCESS)
}

fn where_of(m: &Memory) -> String {
    match (&m.meeting, m.turn_start, m.turn_end) {
        (Some(id), Some(a), Some(b)) => format!("{id} turns {a}-{b}"),
        (Some(id), _, _) => id.clone(),
        _ => "across meetings".into(),
    }
}

fn excerpt(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > n {
        format!("{}…", one.chars().take(n).collect::<String>())
    } else {
        one
    }
}

fn print_tree(r: &MemoryQueryResponse) {
    println!("query: {}", r.query);
    let d = &r.direct_results;
    for (name, hits) in [
        ("L2 episodic", &d.episodic),
        ("L1 semantic", &d.semantic),
        ("L0 concepts", &d.concepts),
    ] {
        if hits.is_empty() {
            continue;
        }
        println!("├─ direct {name}");
        for h in hits {
            let m = &h.memory;
            println!(
                "│  ├─ #{} {} [{}] score {:.4} ({})",
                m.id,
                where_of(m),
                m.memory_type,
                h.score,
                m.speakers.join(", ")
            );
            println!("│  │    {}", excerpt(&m.content, 150));
        }
    }
    if !r.activated_memories.is_empty() {
        println!("├─ activated");
        for a in &r.activated_memories {
            let m = &a.hit.memory;
            let path: Vec<String> = a.path.iter().map(|x| format!("#{x}")).collect();
            println!(
                "│  ├─ #{} {} [{}] {:?} {:.2}, depth {}, path {}",
                m.id,
                where_of(m),
                m.memory_type,
                a.class,
                a.strength,
                a.depth,
                path.join(" → ")
            );
            println!("│  │    {}", excerpt(&m.content, 120));
        }
    }
    if !r.bridge_memories.is_empty() {
        println!("├─ bridges");
        for b in &r.bridge_memories {
            let m = &b.hit.memory;
            println!(
                "│  ├─ #{} {} novelty {:.2}, connection {:.2}",
                m.id,
                where_of(m),
                b.novelty,
                b.connection
            );
            println!("│  │    {}", b.explanation);
        }
    }
    println!(
        "└─ {} results in {:.1} ms (embed {:.1}, direct {:.1}, activation {:.1}, bridges {:.1})",
        r.total_results,
        r.processing_time_ms,
        r.stages.embed_ms,
        r.stages.direct_ms,
        r.stages.activation_ms,
        r.stages.bridges_ms
    );
}

/// The QMSum files of a folder, sorted.
fn qmsum_files(dir: &PathBuf) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no QMSum .json files in {}", dir.display());
    }
    Ok(files)
}

fn returned(r: &MemoryQueryResponse) -> Vec<Returned> {
    r.ordered()
        .into_iter()
        .map(|m| Returned {
            meeting: m.meeting.clone(),
            turns: m.turn_start.zip(m.turn_end),
        })
        .collect()
}

/// `lore eval meetings DIR`: ingests every file (unchanged ones are skipped), consolidates
/// at a fixed time, then scores each setting × activation × budget.
pub fn eval_meetings(g: &Ctx, a: EvalMeetingsArgs) -> Result<ExitCode> {
    let engine = g.engine()?;
    let files = qmsum_files(&a.dir)?;
    let mut queries: Vec<MeetingQuery> = Vec::new();
    let mut tokens: HashMap<String, Vec<usize>> = HashMap::new();
    let t = Instant::now();
    let mut turns = 0usize;
    for f in &files {
        let (qs, tk) = meetings::load(f)?;
        let bytes = std::fs::read(f)?;
        let meeting =
            lore_memory::transcript::parse(&f.to_string_lossy(), &bytes, &MeetingHints::default())
                .with_context(|| format!("{}", f.display()))?;
        turns += meeting.turns.len();
        let r = engine.memory_ingest(meeting)?;
        if !g.json && r.status != lore_rag::MeetingStatus::Unchanged {
            eprintln!(
                "ingested {} ({} turns, {} episodic memories, {:.0} ms)",
                r.id, r.turns, r.episodic, r.elapsed_ms
            );
        }
        tokens.insert(
            f.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tk,
        );
        queries.extend(qs);
    }
    let ingest_s = t.elapsed().as_secs_f64();
    // A fixed clock: the same data gives the same consolidation, run after run.
    engine.memory_consolidate(a.consolidate_at_ms)?;
    let stats = engine.memory().stats();
    if !g.json {
        eprintln!(
            "{} meetings ({turns} turns) in {ingest_s:.1} s; {} L2, {} L1, {} L0 memories, {} edges; {} queries",
            files.len(),
            stats.episodic,
            stats.semantic,
            stats.concepts,
            stats.edges,
            queries.len()
        );
    }
    // Relevant memories per query (the nDCG ideal): L2 memories overlapping the gold.
    let index = engine.memory().index();
    let relevant: Vec<usize> = queries
        .iter()
        .map(|q| {
            index
                .memories()
                .iter()
                .filter(|m| {
                    m.meeting.as_deref() == Some(q.meeting.as_str())
                        && m.turn_start
                            .zip(m.turn_end)
                            .is_some_and(|(s, e)| (s..=e).any(|t| q.gold.contains(&t)))
                })
                .count()
        })
        .collect();
    let mut rows = Vec::new();
    for setting in &a.setting {
        for &activation in &a.activation {
            let mut cov = vec![0.0; a.budget.len()];
            let mut succ = vec![0.0; a.budget.len()];
            let mut ndcg = 0.0;
            let mut bridges = 0usize;
            let mut bridges_same_series = 0usize;
            let (mut ami, mut ami_top_same) = (0usize, 0usize);
            let mut latencies = Vec::new();
            for (qi, q) in queries.iter().enumerate() {
                let mut req = MemoryQuery::new(q.query.clone());
                req.limit_per_level = a.limit_per_level;
                req.enable_activation = activation;
                req.enable_bridges = activation;
                if setting == "own" {
                    req.filters.meeting = Some(q.meeting.clone());
                }
                let r = engine.memory_query(&req, &Access::all())?;
                latencies.push(r.processing_time_ms - r.stages.embed_ms);
                let list = returned(&r);
                for (i, &b) in a.budget.iter().enumerate() {
                    let (c, s) = meetings::coverage(&list, q, &tokens, b);
                    cov[i] += c;
                    succ[i] += s;
                }
                ndcg += meetings::ndcg10(&list, q, relevant[qi]);
                let series = lore_memory::transcript::default_series(&q.meeting);
                if ["ES2004", "IS1003", "TS3004"].contains(&series.as_deref().unwrap_or("")) {
                    ami += 1;
                    let top = r
                        .direct_results
                        .episodic
                        .first()
                        .and_then(|h| h.memory.meeting.as_deref());
                    if top.and_then(lore_memory::transcript::default_series) == series {
                        ami_top_same += 1;
                    }
                }
                for b in &r.bridge_memories {
                    if let Some(m) = &b.hit.memory.meeting {
                        if ["ES2004", "IS1003", "TS3004"].contains(&series.as_deref().unwrap_or(""))
                        {
                            bridges += 1;
                            if lore_memory::transcript::default_series(m) == series {
                                bridges_same_series += 1;
                            }
                        }
                    }
                }
            }
            let n = queries.len().max(1) as f64;
            latencies.sort_by(f64::total_cmp);
            let p = |x: f64| {
                latencies
                    .get(((latencies.len() as f64 - 1.0) * x).round() as usize)
                    .copied()
                    .unwrap_or(0.0)
            };
            let row = serde_json::json!({
                "setting": setting,
                "activation": activation,
                "limit_per_level": a.limit_per_level,
                "queries": queries.len(),
                "budgets": a.budget,
                "cov": cov.iter().map(|c| c / n).collect::<Vec<_>>(),
                "succ": succ.iter().map(|s| s / n).collect::<Vec<_>>(),
                "ndcg@10": ndcg / n,
                "bridges_ami": bridges,
                "bridges_ami_same_series": if bridges > 0 { bridges_same_series as f64 / bridges as f64 } else { 0.0 },
                "ami_top_hit_same_series": ami_top_same as f64 / ami.max(1) as f64,
                "query_ms_p50_excl_embed": p(0.5),
                "query_ms_p95_excl_embed": p(0.95),
            });
            if !g.json {
                let cells: Vec<String> = a
                    .budget
                    .iter()
                    .enumerate()
                    .map(|(i, b)| format!("cov@{b} {:.3} succ@{b} {:.3}", cov[i] / n, succ[i] / n))
                    .collect();
                println!(
                    "{setting:<4} activation {:<3} | {} | nDCG@10 {:.3} | AMI bridges {} ({:.0}% same series; top hit same series {:.0}%) | p50 {:.2} ms p95 {:.2} ms",
                    if activation { "on" } else { "off" },
                    cells.join(" | "),
                    ndcg / n,
                    bridges,
                    if bridges > 0 { 100.0 * bridges_same_series as f64 / bridges as f64 } else { 0.0 },
                    100.0 * ami_top_same as f64 / ami.max(1) as f64,
                    p(0.5),
                    p(0.95)
                );
            }
            rows.push(row);
        }
    }
    if g.json {
        println!(
            "{}",
            serde_json::json!({ "stats": stats, "ingest_s": ingest_s, "results": rows })
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

/// `lore memory bench DIR --copies N`: ingest speed per meeting (the originals are
/// embedded; copies reuse the embedding cache, so their time is everything but inference),
/// then every specific query `rounds` times against the in-process index with the query
/// embedding computed once (latency excluding the embedding, per stage).
fn bench(g: &Ctx, a: crate::cli::MemoryBenchArgs) -> Result<ExitCode> {
    let engine = g.engine()?;
    let files = qmsum_files(&a.dir)?;
    let mut queries = Vec::new();
    println!("ingest (originals: segmentation, embedding, graph, catalog write, index rebuild)");
    for f in &files {
        let (qs, _) = meetings::load(f)?;
        queries.extend(qs);
        let bytes = std::fs::read(f)?;
        let m =
            lore_memory::transcript::parse(&f.to_string_lossy(), &bytes, &MeetingHints::default())?;
        let r = engine.memory_ingest(m)?;
        println!(
            "  {:<12} {:>5} turns {:>4} episodic {:>7.0} ms {:>6.0} turns/s{}",
            r.id,
            r.turns,
            r.episodic,
            r.elapsed_ms,
            r.turns as f64 / (r.elapsed_ms / 1000.0).max(1e-9),
            if r.status == lore_rag::MeetingStatus::Unchanged {
                " (unchanged)"
            } else {
                ""
            }
        );
    }
    let t = Instant::now();
    let mut copy_ms = Vec::new();
    for c in 1..=a.copies {
        for f in &files {
            let bytes = std::fs::read(f)?;
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let series =
                lore_memory::transcript::default_series(&stem).unwrap_or_else(|| stem.clone());
            let hints = MeetingHints {
                id: Some(format!("{stem}-c{c}")),
                series: Some(format!("{series}-c{c}")),
                ..MeetingHints::default()
            };
            let m = lore_memory::transcript::parse(&f.to_string_lossy(), &bytes, &hints)?;
            copy_ms.push(engine.memory_ingest(m)?.elapsed_ms);
        }
    }
    copy_ms.sort_by(f64::total_cmp);
    let consolidation = engine.memory_consolidate(lore_index::now_ms())?;
    let stats = engine.memory().stats();
    println!(
        "{} copies in {:.1} s (per meeting p50 {:.0} ms, p95 {:.0} ms, embeddings from the cache); consolidation {:.0} ms",
        a.copies,
        t.elapsed().as_secs_f64(),
        pct(&copy_ms, 0.5),
        pct(&copy_ms, 0.95),
        consolidation.elapsed_ms
    );
    println!(
        "memories: {} L2, {} L1, {} L0; {} edges; {} meetings",
        stats.episodic, stats.semantic, stats.concepts, stats.edges, stats.meetings
    );
    let index = engine.memory().index();
    let scope = lore_memory::Scope::default();
    let mut total = Vec::new();
    let mut stages: [Vec<f64>; 3] = Default::default();
    for q in &queries {
        let v = engine.embed_query(&q.query)?;
        let req = MemoryQuery::new(q.query.clone());
        let _ = index.query(&req, &v, &scope, 0.0);
        for _ in 0..a.rounds {
            let r = index.query(&req, &v, &scope, 0.0);
            total.push(r.processing_time_ms);
            stages[0].push(r.stages.direct_ms);
            stages[1].push(r.stages.activation_ms);
            stages[2].push(r.stages.bridges_ms);
        }
    }
    total.sort_by(f64::total_cmp);
    for s in &mut stages {
        s.sort_by(f64::total_cmp);
    }
    println!(
        "cognitive query (activation and bridges on, no filter, {} runs), excluding the query embedding: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms; p95 by stage: direct {:.2}, activation {:.2}, bridges {:.2} ms",
        total.len(),
        pct(&total, 0.5),
        pct(&total, 0.95),
        pct(&total, 0.99),
        pct(&stages[0], 0.95),
        pct(&stages[1], 0.95),
        pct(&stages[2], 0.95)
    );
    Ok(ExitCode::SUCCESS)
}
