//! `lore eval answers` and `lore eval grounding`: answer quality on a labelled question set,
//! and the calibration of the grounding check.
//!
//! Answer set (`eval/answers.jsonl`): one JSON object per line, `{"id", "question", "key":
//! [..], "files": [..]}`. An answer scores *fact* when it contains any of `key`
//! (case-insensitive), *cited* when one of its citations is one of `files` (by file name),
//! and *correct* when both hold.
//!
//! Grounding set (`eval/grounding.jsonl`): `{"question", "sentence", "supported"}`; the
//! context is the passages retrieved for the question, as an answer would get them.

use std::path::Path;

use lore_core::{source_file_name, SearchMode};
use lore_rag::grounding::{self, GroundingConfig};
use lore_rag::{AnswerRequest, Engine, EngineError, GeneratorKind, SearchRequest};
use serde::{Deserialize, Serialize};

use crate::run::{percentiles, Latency};

/// One labelled question.
#[derive(Debug, Clone, Deserialize)]
pub struct AnswerCase {
    /// Short name.
    pub id: String,
    /// The question.
    pub question: String,
    /// Any of these in the answer (case-insensitive) is the key fact.
    pub key: Vec<String>,
    /// File names (not paths) that hold the fact.
    pub files: Vec<String>,
}

/// One labelled sentence for grounding calibration.
#[derive(Debug, Clone, Deserialize)]
pub struct GroundingCase {
    /// Question whose retrieved passages are the context.
    pub question: String,
    /// A sentence an answer might contain.
    pub sentence: String,
    /// Whether the passages support it (labelled by hand).
    pub supported: bool,
}

/// Reads a JSON-lines file of `T`, naming the line of any error.
///
/// # Errors
/// [`EngineError::InvalidRequest`] for an unreadable file or a bad line.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, EngineError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EngineError::InvalidRequest(format!("{}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                EngineError::InvalidRequest(format!("{} line {}: {e}", path.display(), i + 1))
            })
        })
        .collect()
}

/// The outcome of one question.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Key fact present.
    pub fact: bool,
    /// A right file cited.
    pub cited: bool,
    /// A right file among the passages given to the model.
    pub retrieved: bool,
    /// Grounding score of the answer.
    pub grounding: Option<f32>,
    /// The answer text.
    pub answer: String,
}

/// Scores of one generator over the set.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerReport {
    /// Generator.
    pub generator: String,
    /// Model.
    pub model: String,
    /// Questions.
    pub questions: usize,
    /// Share with the key fact.
    pub fact: f64,
    /// Share citing a right file.
    pub cited: f64,
    /// Share with both.
    pub correct: f64,
    /// Share whose passages included a right file (the retrieval ceiling).
    pub retrieved: f64,
    /// Mean grounding score.
    pub grounding: f64,
    /// Time to first token, ms.
    pub ttft_ms: Latency,
    /// Whole answer, ms.
    pub total_ms: Latency,
    /// Completion tokens per second after the first token (LLM generators).
    pub tokens_per_s: f64,
    /// Per question.
    pub cases: Vec<CaseResult>,
}

/// Answers every case with `generator` from `collection` and scores the answers.
///
/// # Errors
/// Engine errors (unknown collection, a generator that cannot load). A generator failing on
/// one question fails the run: the set measures the generator, not the fallback.
pub fn evaluate_answers(
    engine: &mut Engine,
    collection: &str,
    cases: &[AnswerCase],
    generator: GeneratorKind,
    on_case: &mut dyn FnMut(&CaseResult),
) -> Result<AnswerReport, EngineError> {
    let fallback = engine.config().llm.extractive_fallback;
    engine.config_mut().llm.extractive_fallback = false;
    let mut results = Vec::new();
    let (mut ttft, mut total, mut tokens, mut decode_s) = (Vec::new(), Vec::new(), 0usize, 0f64);
    let (mut model, mut grounding_sum) = (String::new(), 0f64);
    let mut run = || -> Result<(), EngineError> {
        for case in cases {
            let mut req = AnswerRequest::new(collection, case.question.clone());
            req.generator = Some(generator);
            let a = engine.answer(&req, &mut |_| {})?;
            let lower = a.answer.to_lowercase();
            let in_files = |source: &str| case.files.iter().any(|f| f == source_file_name(source));
            let r = CaseResult {
                id: case.id.clone(),
                fact: case.key.iter().any(|k| lower.contains(&k.to_lowercase())),
                cited: a.citations.iter().any(|c| in_files(&c.source)),
                retrieved: a.context.iter().any(|c| in_files(&c.source)),
                grounding: a.grounding.as_ref().map(|g| g.score),
                answer: a.answer.clone(),
            };
            on_case(&r);
            grounding_sum += f64::from(r.grounding.unwrap_or(0.0));
            let t = &a.timings_ms;
            ttft.push(t.ttft);
            total.push(t.total);
            if let Some((n, secs)) = a.decode_sample() {
                tokens += n;
                decode_s += secs;
            }
            model = a.model;
            results.push(r);
        }
        Ok(())
    };
    let outcome = run();
    engine.config_mut().llm.extractive_fallback = fallback;
    outcome?;
    let n = results.len().max(1) as f64;
    let share = |f: fn(&CaseResult) -> bool| results.iter().filter(|r| f(r)).count() as f64 / n;
    Ok(AnswerReport {
        generator: generator.to_string(),
        model,
        questions: results.len(),
        fact: share(|r| r.fact),
        cited: share(|r| r.cited),
        correct: share(|r| r.fact && r.cited),
        retrieved: share(|r| r.retrieved),
        grounding: grounding_sum / n,
        ttft_ms: percentiles(ttft),
        total_ms: percentiles(total),
        tokens_per_s: if decode_s > 0.0 {
            tokens as f64 / decode_s
        } else {
            0.0
        },
        cases: results,
    })
}

/// One point of the grounding threshold sweep.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdPoint {
    /// `min_similarity`.
    pub min_similarity: f32,
    /// Share of sentences labelled correctly.
    pub accuracy: f64,
    /// Of the sentences flagged unsupported, the share labelled unsupported.
    pub precision_unsupported: f64,
    /// Of the sentences labelled unsupported, the share flagged.
    pub recall_unsupported: f64,
}

/// The calibration of the grounding check.
#[derive(Debug, Clone, Serialize)]
pub struct GroundingReport {
    /// Labelled sentences.
    pub sentences: usize,
    /// The sweep, by threshold.
    pub sweep: Vec<ThresholdPoint>,
    /// The threshold with the best accuracy (the highest of equals).
    pub best: ThresholdPoint,
    /// Per sentence: similarity, missing facts, label.
    pub cases: Vec<(f32, Vec<String>, bool, String)>,
}

/// Computes each labelled sentence's similarity and missing facts against the passages
/// retrieved for its question, then sweeps `min_similarity` from 0.30 to 0.90.
///
/// # Errors
/// Engine errors (unknown collection, embedding).
pub fn calibrate_grounding(
    engine: &mut Engine,
    collection: &str,
    cases: &[GroundingCase],
) -> Result<GroundingReport, EngineError> {
    let top_k = engine.config().llm.top_k;
    let mut measured = Vec::new();
    for case in cases {
        let mut req = SearchRequest::new(collection, case.question.clone());
        req.top_k = top_k;
        req.mode = SearchMode::Hybrid;
        let hits = engine.search(&req)?.hits;
        let passages: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
        let config = GroundingConfig {
            min_similarity: 0.0,
            ..Default::default()
        };
        let g = grounding::check(engine.embedder(), &case.sentence, &passages, &config)?;
        let similarity = g
            .sentences
            .iter()
            .map(|s| s.similarity)
            .fold(1.0f32, f32::min);
        let missing: Vec<String> = g.sentences.iter().flat_map(|s| s.missing.clone()).collect();
        measured.push((similarity, missing, case.supported, case.sentence.clone()));
    }
    let point = |t: f32| {
        let (mut right, mut flagged, mut flagged_right, mut unsupported) = (0, 0, 0, 0);
        for (sim, missing, label, _) in &measured {
            let predicted = *sim >= t && missing.is_empty();
            right += usize::from(predicted == *label);
            if !predicted {
                flagged += 1;
                flagged_right += usize::from(!*label);
            }
            unsupported += usize::from(!*label);
        }
        let n = measured.len().max(1) as f64;
        ThresholdPoint {
            min_similarity: t,
            accuracy: right as f64 / n,
            precision_unsupported: if flagged > 0 {
                flagged_right as f64 / flagged as f64
            } else {
                0.0
            },
            recall_unsupported: if unsupported > 0 {
                flagged_right as f64 / unsupported as f64
            } else {
                0.0
            },
        }
    };
    let sweep: Vec<ThresholdPoint> = (0..=12).map(|i| point(0.30 + 0.05 * i as f32)).collect();
    // Ties go to the higher threshold: it flags more, at the same accuracy.
    let best = sweep.iter().fold(sweep[0].clone(), |b, p| {
        if p.accuracy >= b.accuracy {
            p.clone()
        } else {
            b
        }
    });
    Ok(GroundingReport {
        sentences: measured.len(),
        sweep,
        best,
        cases: measured,
    })
}
