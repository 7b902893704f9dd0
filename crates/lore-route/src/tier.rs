//! The learned tier router: scores how likely a question needs the large model tier
//! (the small one would fail where the large one succeeds), from the query embedding and
//! the question's n-grams, and the metrics RouteLLM reports for it (Ong et al., "RouteLLM:
//! Learning to Route LLMs with Preference Data", 2024, `evaluate.py`): the quality reached
//! for each share of large-model calls, APGR (average performance gap recovered), CPT(x%)
//! (the share of large-model calls needed to recover x% of the gap) and the share needed
//! to reach 95% of the large model's accuracy.

use serde::{Deserialize, Serialize};

use crate::lexical::{Featurizer, Sparse};
use crate::softmax::{FitOptions, Input, Softmax};
use crate::RouteError;

/// One labelled question.
#[derive(Debug, Clone, Copy)]
pub struct TierExample<'a> {
    /// The question.
    pub text: &'a str,
    /// Its embedding (unit length, 384-d for all-MiniLM-L6-v2).
    pub embedding: &'a [f32],
    /// The small tier answered it well enough.
    pub small_ok: bool,
    /// The large tier answered it well enough (true when only the small tier was judged).
    pub large_ok: bool,
}

/// A fitted tier router: `score` is the probability that a question needs the large tier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TierRouter {
    featurizer: Featurizer,
    model: Softmax,
    /// Questions scoring at or above this go to the large tier.
    pub threshold: f32,
}

impl TierRouter {
    /// Fits on `examples`: the positive class is "only the large tier was good enough".
    ///
    /// # Errors
    /// [`RouteError::Training`] without examples of both outcomes.
    pub fn fit(examples: &[TierExample<'_>]) -> Result<Self, RouteError> {
        let labels: Vec<usize> = examples
            .iter()
            .map(|e| usize::from(e.large_ok && !e.small_ok))
            .collect();
        if !labels.contains(&0) || !labels.contains(&1) {
            return Err(RouteError::Training(
                "tier labels need questions the small tier fails and the large one answers, and others".into(),
            ));
        }
        let dim = examples[0].embedding.len();
        if examples.iter().any(|e| e.embedding.len() != dim) {
            return Err(RouteError::Training(
                "embeddings of different dimensions".into(),
            ));
        }
        let mut featurizer = Featurizer::new(16);
        featurizer.fit_idf(examples.iter().map(|e| e.text));
        let sparse: Vec<Sparse> = examples
            .iter()
            .map(|e| featurizer.transform(e.text))
            .collect();
        let inputs: Vec<Input> = examples
            .iter()
            .zip(&sparse)
            .map(|(e, s)| Input {
                dense: e.embedding,
                sparse: s,
            })
            .collect();
        // Strong decay: the label is noisy (one sample of each model's answer).
        let opts = FitOptions {
            epochs: 4,
            min_steps: 1500,
            learning_rate: 0.003,
            weight_decay: 1.0,
            ..FitOptions::default()
        };
        let model = Softmax::fit(&inputs, &labels, 2, dim, featurizer.dim(), &opts);
        Ok(Self {
            featurizer,
            model,
            threshold: 0.5,
        })
    }

    /// Probability (0..1) that the question needs the large tier.
    pub fn score(&self, text: &str, embedding: &[f32]) -> f32 {
        let sparse = self.featurizer.transform(text);
        self.model.predict(Input {
            dense: embedding,
            sparse: &sparse,
        })[1]
    }
}

/// One point of the quality curve.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct TierPoint {
    /// Share of questions sent to the large tier (0..1).
    pub large_share: f64,
    /// Share answered well by the tier each went to (0..1).
    pub quality: f64,
}

/// RouteLLM's figures for a router's scores on labelled questions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TierReport {
    /// Questions scored.
    pub questions: usize,
    /// Accuracy (0..1) with every question on the small tier.
    pub small_accuracy: f64,
    /// Accuracy (0..1) with every question on the large tier.
    pub large_accuracy: f64,
    /// Average performance gap recovered over large-call shares 0..1 (0..1; random ≈ 0.5).
    pub apgr: f64,
    /// Large-call share needed to recover 50% of the gap.
    pub cpt50: f64,
    /// Large-call share needed to recover 80% of the gap.
    pub cpt80: f64,
    /// Large-call share needed to reach 95% of the large tier's accuracy.
    pub large_share_at_95: f64,
    /// 1 − `large_share_at_95`: the share of large-model cost saved at 95% quality.
    pub cost_saved_at_95: f64,
    /// The curve at every 5% of large calls.
    pub curve: Vec<TierPoint>,
}

/// Scores `scores` (higher: more in need of the large tier) against the labels
/// `(small_ok, large_ok)`: the questions with the highest scores go to the large tier
/// first, one at a time, as RouteLLM's threshold sweep does.
pub fn tier_report(scores: &[f32], labels: &[(bool, bool)]) -> TierReport {
    let n = scores.len().min(labels.len());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let small = labels.iter().take(n).filter(|l| l.0).count() as f64;
    let large = labels.iter().take(n).filter(|l| l.1).count() as f64;
    let nf = n.max(1) as f64;
    // quality[k]: the k highest-scored questions on the large tier.
    let mut quality = Vec::with_capacity(n + 1);
    let mut correct = small;
    quality.push(correct / nf);
    for &i in &order {
        correct += f64::from(u8::from(labels[i].1)) - f64::from(u8::from(labels[i].0));
        quality.push(correct / nf);
    }
    let (small_acc, large_acc) = (small / nf, large / nf);
    let gap = large_acc - small_acc;
    let pgr = |q: f64| {
        if gap.abs() < 1e-12 {
            0.0
        } else {
            (q - small_acc) / gap
        }
    };
    // APGR: mean PGR over evenly spaced large-call shares (trapezoid over every k).
    let apgr = if n == 0 {
        0.0
    } else {
        quality
            .windows(2)
            .map(|w| (pgr(w[0]) + pgr(w[1])) / 2.0)
            .sum::<f64>()
            / n as f64
    };
    let share_reaching = |target: f64| {
        quality
            .iter()
            .position(|&q| q + 1e-12 >= target)
            .map_or(1.0, |k| k as f64 / nf)
    };
    let at95 = share_reaching(0.95 * large_acc);
    let curve = (0..=20)
        .map(|i| {
            let share = f64::from(i) / 20.0;
            let k = ((share * nf).round() as usize).min(n);
            TierPoint {
                large_share: share,
                quality: quality[k],
            }
        })
        .collect();
    TierReport {
        questions: n,
        small_accuracy: small_acc,
        large_accuracy: large_acc,
        apgr,
        cpt50: share_reaching(small_acc + 0.5 * gap),
        cpt80: share_reaching(small_acc + 0.8 * gap),
        large_share_at_95: at95,
        cost_saved_at_95: 1.0 - at95,
        curve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_router_beats_a_random_one() {
        // 10 questions: small right on 0..6, large right on 0..9.
        let labels: Vec<(bool, bool)> = (0..10).map(|i| (i < 6, i < 9)).collect();
        // Perfect: the ones only the large model answers (6, 7, 8) first.
        let perfect: Vec<f32> = (0..10)
            .map(|i| if (6..9).contains(&i) { 1.0 } else { 0.0 })
            .collect();
        let r = tier_report(&perfect, &labels);
        assert!((r.small_accuracy - 0.6).abs() < 1e-9 && (r.large_accuracy - 0.9).abs() < 1e-9);
        // 95% of 0.9 = 0.855 needs 3 large calls of 10 with the perfect order.
        assert!((r.large_share_at_95 - 0.3).abs() < 1e-9, "{r:?}");
        assert!(r.apgr > 0.8, "{r:?}");
        // Worst order: the ones the small model answers first.
        let worst: Vec<f32> = (0..10).map(|i| if i < 6 { 1.0 } else { 0.0 }).collect();
        let w = tier_report(&worst, &labels);
        assert!(
            w.apgr < r.apgr && w.large_share_at_95 > r.large_share_at_95,
            "{w:?}"
        );
    }

    #[test]
    fn fit_needs_both_outcomes() {
        let e = [0.0f32, 1.0];
        let all_fine = [TierExample {
            text: "a",
            embedding: &e,
            small_ok: true,
            large_ok: true,
        }];
        assert!(TierRouter::fit(&all_fine).is_err());
    }
}
