//! `lore eval answers`, `lore eval grounding` and `lore bench answer`.

use std::process::ExitCode;

use anyhow::{bail, Result};
use lore_eval::{
    calibrate_grounding, evaluate_answers, percentiles, read_jsonl, AnswerCase, GroundingCase,
};
use lore_rag::AnswerRequest;
use serde::Deserialize;

use crate::cli::{BenchAnswerArgs, EvalAnswersArgs, EvalGroundingArgs};
use crate::context::Ctx;
use crate::progress::Progress;

pub fn eval_answers(g: &Ctx, a: EvalAnswersArgs) -> Result<ExitCode> {
    let cases: Vec<AnswerCase> = read_jsonl(&a.set)?;
    let mut engine = g.engine_uncached()?;
    if let Some(model) = a.llm_model {
        engine.config_mut().llm.embedded_model = model;
    }
    if let Some(docs) = &a.docs {
        let mut progress = Progress::new();
        let report = engine.ingest_paths(
            &a.collection,
            std::slice::from_ref(docs),
            &lore_rag::IngestOptions::default(),
            &mut |e| progress.event(e),
        )?;
        progress.finish();
        eprintln!(
            "{}: {} chunks ingested, {} files failed",
            a.collection,
            report.chunks,
            report.failed()
        );
    }
    let mut reports = Vec::new();
    for kind in &a.generators {
        let show = a.show;
        let report = evaluate_answers(&mut engine, &a.collection, &cases, *kind, &mut |r| {
            if show {
                eprintln!(
                    "[{kind}] {} fact={} cited={} retrieved={}: {}",
                    r.id,
                    r.fact,
                    r.cited,
                    r.retrieved,
                    r.answer.replace('\n', " ")
                );
            }
        })?;
        if !g.json {
            println!(
                "{:<10} {:<34} n={}  fact {:>5.1}%  cited {:>5.1}%  correct {:>5.1}%  (retrieved {:>5.1}%)  grounding {:.2}  ttft p50 {:.0} ms  {:.1} tok/s  total p50 {:.0} ms",
                report.generator,
                report.model,
                report.questions,
                report.fact * 100.0,
                report.cited * 100.0,
                report.correct * 100.0,
                report.retrieved * 100.0,
                report.grounding,
                report.ttft_ms.p50,
                report.tokens_per_s,
                report.total_ms.p50
            );
        }
        reports.push(report);
    }
    if g.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn eval_grounding(g: &Ctx, a: EvalGroundingArgs) -> Result<ExitCode> {
    let cases: Vec<GroundingCase> = read_jsonl(&a.set)?;
    let mut engine = g.engine_uncached()?;
    let report = calibrate_grounding(&mut engine, &a.collection, &cases)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} labelled sentences; unsupported = similarity below the threshold or a number/name absent from the passages", report.sentences);
    println!("threshold  accuracy  precision(unsupported)  recall(unsupported)");
    for p in &report.sweep {
        println!(
            "{:>9.2}  {:>8.3}  {:>22.3}  {:>19.3}",
            p.min_similarity, p.accuracy, p.precision_unsupported, p.recall_unsupported
        );
    }
    println!(
        "best: {:.2} (accuracy {:.3})",
        report.best.min_similarity, report.best.accuracy
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Deserialize)]
struct QuestionLine {
    #[serde(alias = "text")]
    question: String,
}

pub fn bench_answer(g: &Ctx, a: BenchAnswerArgs) -> Result<ExitCode> {
    let questions: Vec<QuestionLine> = read_jsonl(&a.queries)?;
    if questions.is_empty() {
        bail!("{}: no questions", a.queries.display());
    }
    let mut engine = g.engine_uncached()?;
    {
        let llm = &mut engine.config_mut().llm;
        llm.max_answer_tokens = a.max_tokens;
        llm.extractive_fallback = false;
        if let Some(m) = a.llm_model {
            llm.embedded_model = m;
        }
    }
    let mut stages: [Vec<f64>; 8] = Default::default();
    let (mut tokens, mut decode_s, mut generator, mut model) =
        (0usize, 0f64, String::new(), String::new());
    for q in questions.iter().take(a.limit) {
        let mut req = AnswerRequest::new(a.collection.clone(), q.question.clone());
        req.top_k = Some(a.top_k);
        req.generator = a.generator;
        let ans = engine.answer(&req, &mut |_| {})?;
        let t = &ans.timings_ms;
        for (v, x) in stages.iter_mut().zip([
            t.overhead(),
            t.retrieve,
            t.prompt,
            t.cite,
            t.ttft,
            t.generate,
            t.grounding,
            t.total,
        ]) {
            v.push(x);
        }
        if let Some((n, secs)) = ans.decode_sample() {
            tokens += n;
            decode_s += secs;
        }
        generator = ans.generator;
        model = ans.model;
    }
    let names = [
        "overhead",
        "retrieve",
        "prompt",
        "cite",
        "ttft",
        "generate",
        "grounding",
        "total",
    ];
    let mut out = serde_json::Map::new();
    println!(
        "{generator} {model}: {} questions, top_k {}, max_tokens {}",
        stages[0].len(),
        a.top_k,
        a.max_tokens
    );
    for (name, v) in names.iter().zip(stages) {
        let p = percentiles(v);
        if !g.json {
            println!(
                "  {name:<10} p50 {:>9.2} ms  p95 {:>9.2} ms  p99 {:>9.2} ms",
                p.p50, p.p95, p.p99
            );
        }
        out.insert(name.to_string(), serde_json::to_value(&p)?);
    }
    let tps = if decode_s > 0.0 {
        tokens as f64 / decode_s
    } else {
        0.0
    };
    if g.json {
        out.insert("tokens_per_s".into(), tps.into());
        println!("{}", serde_json::Value::Object(out));
    } else {
        println!("  generation {tps:.1} tokens/s after the first token");
    }
    Ok(ExitCode::SUCCESS)
}
