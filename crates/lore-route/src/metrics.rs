//! Classification metrics as the CLINC150 paper (Larson et al., EMNLP 2019) reports them:
//! in-scope accuracy (an out-of-scope prediction counts as wrong), out-of-scope recall and
//! precision, and macro-F1 over the labels with out-of-scope as one more label.

use std::collections::BTreeMap;

use serde::Serialize;

/// Per-label figures.
#[derive(Debug, Clone, Serialize)]
pub struct LabelScore {
    /// The label (`"oos"` for out of scope).
    pub label: String,
    /// Precision (0..1).
    pub precision: f64,
    /// Recall (0..1).
    pub recall: f64,
    /// F1 (0..1).
    pub f1: f64,
    /// Gold questions of this label.
    pub support: usize,
}

/// A gold label often predicted as another.
#[derive(Debug, Clone, Serialize)]
pub struct Confusion {
    /// The gold label.
    pub gold: String,
    /// What was predicted.
    pub predicted: String,
    /// How many times.
    pub count: usize,
}

/// The report over a labelled set.
#[derive(Debug, Clone, Serialize)]
pub struct ClassificationReport {
    /// Questions scored.
    pub questions: usize,
    /// In-scope questions.
    pub in_scope: usize,
    /// Out-of-scope questions.
    pub out_of_scope: usize,
    /// Correct in-scope predictions over in-scope questions.
    pub in_scope_accuracy: f64,
    /// Refused out-of-scope questions over out-of-scope questions.
    pub oos_recall: f64,
    /// Out-of-scope questions among the refused ones.
    pub oos_precision: f64,
    /// Mean F1 over every label seen, out-of-scope included.
    pub macro_f1: f64,
    /// Per label, worst F1 first.
    pub per_label: Vec<LabelScore>,
    /// The most frequent (gold, predicted) errors, most frequent first (at most 10).
    pub confused: Vec<Confusion>,
}

/// Scores predictions: `None` is out of scope on both sides.
pub fn classification_report(pairs: &[(Option<&str>, Option<&str>)]) -> ClassificationReport {
    const OOS: &str = "oos";
    let name = |l: Option<&str>| l.unwrap_or(OOS).to_owned();
    let mut tp: BTreeMap<String, usize> = BTreeMap::new();
    let mut gold_n: BTreeMap<String, usize> = BTreeMap::new();
    let mut pred_n: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut ins, mut ins_ok, mut oos, mut oos_ok, mut refused) = (0, 0, 0, 0, 0);
    for &(gold, pred) in pairs {
        let (g, p) = (name(gold), name(pred));
        *gold_n.entry(g.clone()).or_default() += 1;
        *pred_n.entry(p.clone()).or_default() += 1;
        if pred.is_none() {
            refused += 1;
        }
        match gold {
            None => {
                oos += 1;
                oos_ok += usize::from(pred.is_none());
            }
            Some(_) => {
                ins += 1;
                ins_ok += usize::from(gold == pred);
            }
        }
        if g == p {
            *tp.entry(g).or_default() += 1;
        } else {
            *errors.entry((g, p)).or_default() += 1;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut per_label: Vec<LabelScore> = gold_n
        .keys()
        .chain(pred_n.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|l| {
            let t = tp.get(l).copied().unwrap_or(0);
            let precision = ratio(t, pred_n.get(l).copied().unwrap_or(0));
            let recall = ratio(t, gold_n.get(l).copied().unwrap_or(0));
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            LabelScore {
                label: l.clone(),
                precision,
                recall,
                f1,
                support: gold_n.get(l).copied().unwrap_or(0),
            }
        })
        .collect();
    let macro_f1 = per_label.iter().map(|s| s.f1).sum::<f64>() / per_label.len().max(1) as f64;
    per_label.sort_by(|a, b| a.f1.total_cmp(&b.f1).then(a.label.cmp(&b.label)));
    let mut confused: Vec<Confusion> = errors
        .into_iter()
        .map(|((gold, predicted), count)| Confusion {
            gold,
            predicted,
            count,
        })
        .collect();
    confused.sort_by(|a, b| b.count.cmp(&a.count).then(a.gold.cmp(&b.gold)));
    confused.truncate(10);
    ClassificationReport {
        questions: pairs.len(),
        in_scope: ins,
        out_of_scope: oos,
        in_scope_accuracy: ratio(ins_ok, ins),
        oos_recall: ratio(oos_ok, oos),
        oos_precision: ratio(oos_ok, refused),
        macro_f1,
        per_label,
        confused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_on_a_small_set() {
        let r = classification_report(&[
            (Some("a"), Some("a")),
            (Some("a"), Some("b")),
            (Some("b"), Some("b")),
            (Some("b"), None),
            (None, None),
            (None, Some("a")),
        ]);
        assert_eq!((r.in_scope, r.out_of_scope), (4, 2));
        assert!((r.in_scope_accuracy - 0.5).abs() < 1e-9);
        assert!((r.oos_recall - 0.5).abs() < 1e-9);
        assert!((r.oos_precision - 0.5).abs() < 1e-9);
        // a: p 1/2 r 1/2; b: p 1/2 r 1/2; oos: p 1/2 r 1/2 -> macro-F1 0.5.
        assert!((r.macro_f1 - 0.5).abs() < 1e-9);
        assert_eq!(r.confused.len(), 3);
    }
}
