//! IR metrics with the definitions of trec_eval / pytrec_eval, which BEIR reports.

use std::collections::HashMap;

/// Relevance judgements of one query: document id → graded relevance (> 0 is relevant).
pub type Qrels = HashMap<String, i32>;

/// nDCG@k (Järvelin & Kekäläinen 2002) with linear gain, as trec_eval's `ndcg_cut`:
/// DCG = Σ_{i=1..k} rel_i / log2(i + 1), normalised by the DCG of the ideal ranking.
/// `ranked` is best first and should hold each document once.
pub fn ndcg_at_k(ranked: &[String], qrels: &Qrels, k: usize) -> f64 {
    let gain = |rel: i32| f64::from(rel.max(0));
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| gain(*qrels.get(d).unwrap_or(&0)) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<i32> = qrels.values().copied().filter(|r| *r > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, r)| gain(*r) / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// Recall@k: relevant documents in the top k over all relevant documents (BEIR's definition).
pub fn recall_at_k(ranked: &[String], qrels: &Qrels, k: usize) -> f64 {
    let relevant = qrels.values().filter(|r| **r > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| qrels.get(*d).is_some_and(|r| *r > 0))
        .count();
    found as f64 / relevant as f64
}

/// MRR@k: reciprocal rank of the first relevant document in the top k (0 if none).
pub fn mrr_at_k(ranked: &[String], qrels: &Qrels, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|d| qrels.get(d).is_some_and(|r| *r > 0))
        .map(|p| 1.0 / (p + 1) as f64)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, i32)]) -> Qrels {
        pairs.iter().map(|(d, r)| (d.to_string(), *r)).collect()
    }

    fn r(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ndcg_values() {
        let qrels = q(&[("a", 1), ("b", 1)]);
        assert!((ndcg_at_k(&r(&["a", "b", "c"]), &qrels, 10) - 1.0).abs() < 1e-12);
        // one relevant at rank 2 of 2 relevant: (1/log2 3) / (1 + 1/log2 3)
        let expected = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at_k(&r(&["x", "a"]), &qrels, 10) - expected).abs() < 1e-12);
        assert_eq!(ndcg_at_k(&r(&["x", "y"]), &qrels, 10), 0.0);
        // graded: ideal order puts rel 2 first
        let graded = q(&[("a", 1), ("b", 2)]);
        let ideal = 2.0 + 1.0 / 3f64.log2();
        let got = 1.0 + 2.0 / 3f64.log2();
        assert!((ndcg_at_k(&r(&["a", "b"]), &graded, 10) - got / ideal).abs() < 1e-12);
    }

    #[test]
    fn recall_and_mrr() {
        let qrels = q(&[("a", 1), ("b", 1)]);
        assert_eq!(recall_at_k(&r(&["a", "x"]), &qrels, 100), 0.5);
        assert_eq!(recall_at_k(&r(&["x", "a"]), &qrels, 1), 0.0);
        assert_eq!(mrr_at_k(&r(&["x", "y", "b"]), &qrels, 10), 1.0 / 3.0);
        assert_eq!(mrr_at_k(&r(&["x"]), &qrels, 10), 0.0);
    }
}
