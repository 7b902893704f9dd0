//! Reciprocal rank fusion.

use std::collections::HashMap;

/// RRF constant k = 60, from Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms
/// Condorcet and individual Rank Learning Methods", SIGIR 2009.
pub const RRF_K: f32 = 60.0;

/// Fuses ranked lists of ids (best first) by RRF: `score(d) = Σ_lists 1 / (k + rank_d)`,
/// ranks from 1. Returns `(id, score)` best first; ties keep the order of first appearance
/// (earlier lists first), so the result is deterministic.
pub fn reciprocal_rank_fusion(lists: &[&[i64]], k: f32) -> Vec<(i64, f32)> {
    let mut scores: HashMap<i64, (f32, usize)> = HashMap::new();
    let mut seen = 0usize;
    for list in lists {
        for (rank, id) in list.iter().enumerate() {
            let entry = scores.entry(*id).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            entry.0 += 1.0 / (k + rank as f32 + 1.0);
        }
    }
    let mut out: Vec<(i64, f32, usize)> =
        scores.into_iter().map(|(id, (s, o))| (id, s, o)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(id, s, _)| (id, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_wins() {
        // 3 is second in both lists, 1 and 2 first in one list each.
        let fused = reciprocal_rank_fusion(&[&[1, 3, 4], &[2, 3, 5]], RRF_K);
        assert_eq!(fused[0].0, 3);
        assert!((fused[0].1 - 2.0 / 62.0).abs() < 1e-6);
        assert_eq!(fused[1].0, 1);
        assert_eq!(fused[2].0, 2);
        assert_eq!(fused.len(), 5);
    }

    #[test]
    fn single_list_keeps_order() {
        let fused = reciprocal_rank_fusion(&[&[7, 8, 9]], RRF_K);
        assert_eq!(fused.iter().map(|x| x.0).collect::<Vec<_>>(), vec![7, 8, 9]);
    }
}
