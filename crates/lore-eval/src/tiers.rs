//! Tier routing on labelled questions (`lore eval tiers`): RouteLLM's MMLU labels
//! (`{"prompt", "weak_correct", "strong_correct"}`) or lore's own (`{"text", "small_ok",
//! "large_ok"}`, `large_ok` true when absent). The router is scored by k-fold
//! cross-validation: each question scored by a router fitted without its fold, then one
//! curve over all of them ([`lore_route::tier_report`]).

use std::path::Path;

use lore_route::{tier_report, TierExample, TierReport, TierRouter};
use serde::{Deserialize, Serialize};

use crate::meetings::EvalError;

/// One labelled question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRow {
    /// The question.
    pub text: String,
    /// The small tier answered it well enough.
    pub small_ok: bool,
    /// The large tier did.
    pub large_ok: bool,
}

#[derive(Deserialize)]
struct RawRow {
    #[serde(alias = "prompt", alias = "question")]
    text: String,
    #[serde(alias = "weak_correct")]
    small_ok: bool,
    #[serde(alias = "strong_correct", default = "yes")]
    large_ok: bool,
}

fn yes() -> bool {
    true
}

/// Reads a JSON-lines file of tier labels (blank lines skipped).
///
/// # Errors
/// [`EvalError::Io`]; [`EvalError::Format`] naming the line.
pub fn read_tier_rows(path: &Path) -> Result<Vec<TierRow>, EvalError> {
    Ok(crate::routes::read_json_lines::<RawRow>(path)?
        .into_iter()
        .map(|r| TierRow {
            text: r.text,
            small_ok: r.small_ok,
            large_ok: r.large_ok,
        })
        .collect())
}

/// The report of `lore eval tiers`.
#[derive(Debug, Clone, Serialize)]
pub struct TiersReport {
    /// Folds of the cross-validation.
    pub folds: usize,
    /// The learned router (embedding + n-grams, logistic regression).
    pub router: TierReport,
    /// Baseline: longer questions to the large tier first.
    pub by_length: TierReport,
    /// The complexity score (`[routing] tier_by = "complexity"`; no training).
    pub by_complexity: TierReport,
    /// Mean fitting time per fold, ms.
    pub fit_ms: f64,
}

fn examples<'a>(rows: &'a [TierRow], embeddings: &'a [Vec<f32>]) -> Vec<TierExample<'a>> {
    rows.iter()
        .zip(embeddings)
        .map(|(r, e)| TierExample {
            text: &r.text,
            embedding: e,
            small_ok: r.small_ok,
            large_ok: r.large_ok,
        })
        .collect()
}

/// Cross-validates the tier router on `rows` (folds interleaved by position).
///
/// # Errors
/// [`EvalError::Format`] when a fold cannot be fitted.
pub fn evaluate_tiers(
    rows: &[TierRow],
    embeddings: &[Vec<f32>],
    folds: usize,
) -> Result<TiersReport, EvalError> {
    let folds = folds.clamp(2, rows.len().max(2));
    let all = examples(rows, embeddings);
    let mut scores = vec![0.0f32; rows.len()];
    let start = std::time::Instant::now();
    for k in 0..folds {
        let train: Vec<TierExample> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != k)
            .map(|(_, e)| *e)
            .collect();
        let router = TierRouter::fit(&train).map_err(|e| EvalError::Format(e.to_string()))?;
        for (i, e) in all.iter().enumerate().skip(k).step_by(folds) {
            scores[i] = router.score(e.text, e.embedding);
        }
    }
    let fit_ms = start.elapsed().as_secs_f64() * 1e3 / folds as f64;
    let labels: Vec<(bool, bool)> = rows.iter().map(|r| (r.small_ok, r.large_ok)).collect();
    let lengths: Vec<f32> = rows.iter().map(|r| r.text.chars().count() as f32).collect();
    let complexities: Vec<f32> = rows
        .iter()
        .map(|r| lore_route::complexity(&r.text).score)
        .collect();
    Ok(TiersReport {
        folds,
        router: tier_report(&scores, &labels),
        by_length: tier_report(&lengths, &labels),
        by_complexity: tier_report(&complexities, &labels),
        fit_ms,
    })
}

/// Fits the router on every row (`lore routes train-tier`).
///
/// # Errors
/// [`EvalError::Format`] when it cannot be fitted.
pub fn train_tier(rows: &[TierRow], embeddings: &[Vec<f32>]) -> Result<TierRouter, EvalError> {
    TierRouter::fit(&examples(rows, embeddings)).map_err(|e| EvalError::Format(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_routellm_and_lore_rows() {
        let dir = std::env::temp_dir().join(format!("lore-tiers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.jsonl");
        std::fs::write(
            &f,
            "{\"prompt\": \"q1\", \"subject\": \"x\", \"weak_correct\": false, \"strong_correct\": true}\n{\"text\": \"q2\", \"small_ok\": true}\n",
        )
        .unwrap();
        let rows = read_tier_rows(&f).unwrap();
        assert_eq!(
            rows[0],
            TierRow {
                text: "q1".into(),
                small_ok: false,
                large_ok: true
            }
        );
        assert_eq!(
            rows[1],
            TierRow {
                text: "q2".into(),
                small_ok: true,
                large_ok: true
            }
        );
        std::fs::write(&f, "{\"text\": \"q\"}\n").unwrap();
        assert!(read_tier_rows(&f).unwrap_err().to_string().contains(":1:"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
