//! The out-of-scope gate: a question is out of scope when the best in-scope label's
//! probability is under a threshold (the baseline of Hendrycks & Gimpel, "A Baseline for
//! Detecting Misclassified and Out-of-Distribution Examples", ICLR 2017, which Larson et
//! al. use on CLINC150), or when a trained out-of-scope class wins. The threshold is tuned
//! on a validation set.

use serde::{Deserialize, Serialize};

/// The gate: questions whose best in-scope probability is below `threshold` are out of
/// scope.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Gate {
    /// Minimum probability (0..1) of the best label.
    pub threshold: f32,
}

impl Default for Gate {
    /// 0.0: nothing is out of scope by probability alone (only a trained out-of-scope
    /// class can refuse) until a gate is tuned.
    fn default() -> Self {
        Self { threshold: 0.0 }
    }
}

/// How the threshold is picked on a validation set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "value")]
pub enum GateRule {
    /// The highest in-scope accuracy whose out-of-scope recall is at least this share
    /// (0..1). Needs out-of-scope examples in the validation set.
    OosRecall(f32),
    /// The best accuracy over all labels, out-of-scope counted as one label (Larson et
    /// al.'s rule; it favours in-scope accuracy when out-of-scope examples are few).
    Accuracy,
    /// Without out-of-scope examples: the threshold that keeps this share (0..1) of the
    /// in-scope validation questions in scope.
    KeepInScope(f32),
}

/// One validation question as the ungated classifier saw it.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    /// The best in-scope probability.
    pub confidence: f32,
    /// The question is out of scope (gold).
    pub gold_oos: bool,
    /// The best in-scope label is the gold label (false for out-of-scope questions).
    pub top_correct: bool,
    /// The trained out-of-scope class won, whatever the threshold.
    pub oos_class: bool,
}

/// Figures at one threshold.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct GatePoint {
    /// The threshold.
    pub threshold: f32,
    /// Correct in-scope predictions over in-scope questions.
    pub in_scope_accuracy: f64,
    /// Out-of-scope questions refused over out-of-scope questions (0 when there are none).
    pub oos_recall: f64,
    /// Correct predictions over all questions, out-of-scope as one label.
    pub accuracy: f64,
}

/// The figures at `threshold`.
pub fn evaluate(scored: &[Scored], threshold: f32) -> GatePoint {
    let (mut ins, mut ins_ok, mut oos, mut oos_ok) = (0usize, 0usize, 0usize, 0usize);
    for s in scored {
        let refused = s.oos_class || s.confidence < threshold;
        if s.gold_oos {
            oos += 1;
            oos_ok += usize::from(refused);
        } else {
            ins += 1;
            ins_ok += usize::from(!refused && s.top_correct);
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    GatePoint {
        threshold,
        in_scope_accuracy: ratio(ins_ok, ins),
        oos_recall: ratio(oos_ok, oos),
        accuracy: ratio(ins_ok + oos_ok, ins + oos),
    }
}

/// The candidate thresholds: every distinct confidence (a question is refused strictly
/// below it), plus 0.
fn candidates(scored: &[Scored]) -> Vec<f32> {
    let mut t: Vec<f32> = scored.iter().map(|s| s.confidence).collect();
    t.push(0.0);
    t.sort_by(f32::total_cmp);
    t.dedup();
    t
}

/// Figures over the candidate thresholds, ascending (for curves in reports).
pub fn sweep(scored: &[Scored]) -> Vec<GatePoint> {
    candidates(scored)
        .into_iter()
        .map(|t| evaluate(scored, t))
        .collect()
}

/// Picks the gate by `rule` on the validation questions; of equally good thresholds, the
/// lowest. `OosRecall` falls back to
/// `KeepInScope(0.97)` when there are no out-of-scope questions, and to the highest
/// recall reached when the target cannot be.
pub fn tune(scored: &[Scored], rule: GateRule) -> Gate {
    let has_oos = scored.iter().any(|s| s.gold_oos);
    let rule = match rule {
        GateRule::OosRecall(_) | GateRule::Accuracy if !has_oos => GateRule::KeepInScope(0.97),
        r => r,
    };
    let threshold = match rule {
        GateRule::KeepInScope(keep) => {
            let mut c: Vec<f32> = scored
                .iter()
                .filter(|s| !s.gold_oos)
                .map(|s| s.confidence)
                .collect();
            c.sort_by(f32::total_cmp);
            let drop =
                ((1.0 - f64::from(keep.clamp(0.0, 1.0))) * c.len() as f64 + 1e-4).floor() as usize;
            c.get(drop).copied().unwrap_or(0.0)
        }
        GateRule::Accuracy => best_by(scored, |p| (p.accuracy, p.in_scope_accuracy)),
        GateRule::OosRecall(target) => {
            let points = sweep(scored);
            // Ties go to the lowest threshold (max_by keeps the last maximum; the sweep is
            // walked from the top), which refuses no more than the target needs.
            let ok = points
                .iter()
                .rev()
                .filter(|p| p.oos_recall + 1e-12 >= f64::from(target))
                .max_by(|a, b| a.in_scope_accuracy.total_cmp(&b.in_scope_accuracy));
            match ok {
                Some(p) => p.threshold,
                None => best_by(scored, |p| (p.oos_recall, p.in_scope_accuracy)),
            }
        }
    };
    Gate { threshold }
}

fn best_by(scored: &[Scored], key: impl Fn(&GatePoint) -> (f64, f64)) -> f32 {
    sweep(scored)
        .into_iter()
        .rev()
        .max_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        })
        .map_or(0.0, |p| p.threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(confidence: f32, gold_oos: bool, top_correct: bool) -> Scored {
        Scored {
            confidence,
            gold_oos,
            top_correct,
            oos_class: false,
        }
    }

    #[test]
    fn recall_rule_takes_the_lowest_threshold_reaching_the_target() {
        let v = [
            s(0.9, false, true),
            s(0.8, false, true),
            s(0.5, false, true),
            s(0.4, false, false),
            s(0.3, true, false),
            s(0.6, true, false),
        ];
        // 50% recall needs refusing below 0.31 at least (0.3 refused): threshold 0.4 keeps
        // 0.5 in scope and refuses the 0.3 OOS and the wrong 0.4.
        let g = tune(&v, GateRule::OosRecall(0.5));
        let p = evaluate(&v, g.threshold);
        assert!(p.oos_recall >= 0.5);
        assert!((p.in_scope_accuracy - 0.75).abs() < 1e-9, "{p:?}");
        // 100% recall costs the 0.5 question too.
        let g = tune(&v, GateRule::OosRecall(1.0));
        assert_eq!(g.threshold, 0.8);
    }

    #[test]
    fn without_oos_examples_keeps_the_share_asked() {
        let v: Vec<Scored> = (0..100).map(|i| s(i as f32 / 100.0, false, true)).collect();
        let g = tune(&v, GateRule::OosRecall(0.7));
        let p = evaluate(&v, g.threshold);
        assert!((p.in_scope_accuracy - 0.97).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn a_trained_oos_class_refuses_whatever_the_threshold() {
        let v = [Scored {
            confidence: 0.99,
            gold_oos: true,
            top_correct: false,
            oos_class: true,
        }];
        assert_eq!(evaluate(&v, 0.0).oos_recall, 1.0);
    }
}
