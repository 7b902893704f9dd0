//! Activation spreading (Collins & Loftus 1975; ACT-R's spreading activation, Anderson
//! 1983): from the direct hits, breadth-first over the graph, each hop passing on
//!
//! `a(v) = a(u) · weight(u, v) · transmission(kind) · hop_decay · fan(u) · factor(v)`
//!
//! where `fan(u)` = 1/√(degree of u) when u is a hub (a concept or cluster, the fan effect)
//! and 1 otherwise, and `factor(v)` lets the caller weigh a node (importance). A node fires
//! (passes activation on, and is reported) when `a(v)` ≥ the firing threshold; it keeps
//! the strongest activation any path gave it, with that path. Depth ≤ 3 and at most
//! `max_activations` nodes are reported, strongest first.

use std::collections::HashMap;

use lore_core::EdgeKind;

use crate::graph::Adjacency;

/// Spreading parameters.
#[derive(Debug, Clone, Copy)]
pub struct ActivationConfig {
    /// Multiplier per hop.
    pub hop_decay: f32,
    /// Least activation that fires: 0.25 lets three sequence hops from the best hit
    /// (0.9·0.85 = 0.765 each: 0.45 after three) and one concept hop (0.5·0.7·0.85 ≈ 0.30)
    /// fire, and stops a concept from passing activation on to its members.
    pub threshold: f32,
    /// Most hops from a direct hit (≤ 3).
    pub max_depth: u8,
    /// Most activated memories reported.
    pub max_activations: usize,
}

impl Default for ActivationConfig {
    fn default() -> Self {
        ActivationConfig {
            hop_decay: 0.85,
            threshold: 0.25,
            max_depth: 3,
            max_activations: 50,
        }
    }
}

/// How much of a node's activation an edge kind passes on: structural links within a
/// discussion (sequence, reply, causal) pass it all; associative ones (similar wording,
/// shared speaker and topic) a little less; links through hubs less again (their fan
/// divides them further).
pub fn transmission(kind: EdgeKind) -> f32 {
    match kind {
        EdgeKind::Sequence | EdgeKind::Reply | EdgeKind::Causal => 1.0,
        EdgeKind::SameSpeakerTopic | EdgeKind::Similar => 0.9,
        EdgeKind::MemberOf => 0.8,
        EdgeKind::Mentions => 0.7,
    }
}

/// How strongly a memory was activated: core (≥ 0.7), contextual (≥ 0.5), peripheral
/// (below 0.5, above the firing threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivationClass {
    /// Strength ≥ 0.7.
    Core,
    /// Strength in [0.5, 0.7).
    Contextual,
    /// Strength below 0.5.
    Peripheral,
}

impl ActivationClass {
    /// The class of `strength`.
    pub fn of(strength: f32) -> Self {
        if strength >= 0.7 {
            ActivationClass::Core
        } else if strength >= 0.5 {
            ActivationClass::Contextual
        } else {
            ActivationClass::Peripheral
        }
    }
}

/// An activated node.
#[derive(Debug, Clone, PartialEq)]
pub struct Activated {
    /// Position.
    pub node: u32,
    /// Activation in (0, 1].
    pub strength: f32,
    /// Hops from the seed.
    pub depth: u8,
    /// Positions from the seed to this node, both included.
    pub path: Vec<u32>,
}

/// The seed strength of the direct hit ranked `rank` (0-based): 1/√(1 + rank), so the
/// best hit's neighbourhood comes first and lower hits still spread.
pub fn seed_strength(rank: usize) -> f32 {
    1.0 / ((1 + rank) as f32).sqrt()
}

/// Spreads from `seeds` (position, activation). `passable(v)` says whether activation may
/// reach `v` (access); `reportable(v)` whether `v` is reported (filters); `is_hub(v)`
/// applies the fan effect; `factor(v)` in (0, 1] weighs what `v` receives. Seeds are
/// never reported. Deterministic: ties break by position.
pub fn spread(
    adj: &Adjacency,
    seeds: &[(u32, f32)],
    cfg: &ActivationConfig,
    passable: impl Fn(u32) -> bool,
    reportable: impl Fn(u32) -> bool,
    is_hub: impl Fn(u32) -> bool,
    factor: impl Fn(u32) -> f32,
) -> Vec<Activated> {
    // node -> (strength, depth, parent)
    let mut best: HashMap<u32, (f32, u8, Option<u32>)> = HashMap::new();
    for &(s, a) in seeds {
        best.entry(s).or_insert((a, 0, None));
    }
    let mut frontier: Vec<u32> = seeds.iter().map(|s| s.0).collect();
    for depth in 1..=cfg.max_depth.min(3) {
        frontier.sort_by(|a, b| best[b].0.total_cmp(&best[a].0).then(a.cmp(b)));
        frontier.dedup();
        let mut next = Vec::new();
        for &u in &frontier {
            let a_u = best[&u].0;
            let links = adj.links(u);
            let fan = if is_hub(u) {
                1.0 / (links.len().max(1) as f32).sqrt()
            } else {
                1.0
            };
            // Weights and transmissions are ≤ 1: when even the best link cannot fire, none
            // can (this skips walking the thousand links of a common concept).
            if a_u * fan * cfg.hop_decay < cfg.threshold {
                continue;
            }
            for l in links {
                if !passable(l.to) {
                    continue;
                }
                let a = a_u * l.weight * transmission(l.kind) * cfg.hop_decay * fan * factor(l.to);
                if a < cfg.threshold {
                    continue;
                }
                match best.get(&l.to) {
                    Some(&(have, _, _)) if have >= a => {}
                    Some(&(_, 0, _)) => {} // a seed stays a seed
                    _ => {
                        best.insert(l.to, (a, depth, Some(u)));
                        next.push(l.to);
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    let mut out: Vec<Activated> = best
        .iter()
        .filter(|(n, (_, d, _))| *d > 0 && reportable(**n))
        .map(|(&node, &(strength, depth, _))| {
            let mut path = vec![node];
            let mut cur = node;
            while let Some(&(_, _, Some(p))) = best.get(&cur) {
                path.push(p);
                cur = p;
                if path.len() > 4 {
                    break;
                }
            }
            path.reverse();
            Activated {
                node,
                strength,
                depth,
                path,
            }
        })
        .collect();
    out.sort_by(|a, b| b.strength.total_cmp(&a.strength).then(a.node.cmp(&b.node)));
    out.truncate(cfg.max_activations);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0 -seq- 1 -seq- 2 -seq- 3 -seq- 4 and 0 -mentions- 5 (a concept) -mentions- 6, 7.
    fn graph() -> Adjacency {
        let mut g = Adjacency::new(8);
        for i in 0..4 {
            g.add(i, i + 1, EdgeKind::Sequence, 0.9);
        }
        g.add(0, 5, EdgeKind::Mentions, 0.6);
        g.add(6, 5, EdgeKind::Mentions, 0.6);
        g.add(7, 5, EdgeKind::Mentions, 0.6);
        g
    }

    #[test]
    fn strengths_depths_and_paths_on_a_hand_built_graph() {
        let cfg = ActivationConfig::default();
        let g = graph();
        let out = spread(
            &g,
            &[(0, 1.0)],
            &cfg,
            |_| true,
            |_| true,
            |n| n == 5,
            |_| 1.0,
        );
        let by: HashMap<u32, &Activated> = out.iter().map(|a| (a.node, a)).collect();
        let s1 = 0.9 * 0.85;
        assert!((by[&1].strength - s1).abs() < 1e-6);
        assert_eq!(by[&1].path, vec![0, 1]);
        assert!((by[&2].strength - s1 * s1).abs() < 1e-6);
        assert!((by[&3].strength - s1 * s1 * s1).abs() < 1e-6);
        assert_eq!(by[&3].depth, 3);
        assert_eq!(by[&3].path, vec![0, 1, 2, 3]);
        assert!(!by.contains_key(&4), "depth 4 is past max_depth");
        let s5 = 0.6 * 0.7 * 0.85;
        assert!((by[&5].strength - s5).abs() < 1e-6);
        // Leaving the concept (3 links) divides by √3; 0.36·0.6·0.7·0.85/√3 < threshold.
        assert!(!by.contains_key(&6));
        assert_eq!(ActivationClass::of(by[&1].strength), ActivationClass::Core);
        assert_eq!(
            ActivationClass::of(by[&2].strength),
            ActivationClass::Contextual
        );
        assert_eq!(
            ActivationClass::of(by[&3].strength),
            ActivationClass::Peripheral
        );
        assert_eq!(out[0].node, 1, "strongest first");
    }

    #[test]
    fn threshold_limit_and_access_are_respected() {
        let g = graph();
        let cfg = ActivationConfig {
            max_activations: 2,
            ..ActivationConfig::default()
        };
        let out = spread(
            &g,
            &[(0, 1.0)],
            &cfg,
            |_| true,
            |_| true,
            |_| false,
            |_| 1.0,
        );
        assert_eq!(out.iter().map(|a| a.node).collect::<Vec<_>>(), vec![1, 2]);
        // Node 1 not passable: nothing beyond it on the chain.
        let out = spread(
            &g,
            &[(0, 1.0)],
            &ActivationConfig::default(),
            |n| n != 1,
            |_| true,
            |_| false,
            |_| 1.0,
        );
        assert!(out.iter().all(|a| a.node != 1 && a.node != 2));
        // A weak seed fires nothing.
        let out = spread(
            &g,
            &[(0, 0.25)],
            &ActivationConfig::default(),
            |_| true,
            |_| true,
            |_| false,
            |_| 1.0,
        );
        assert!(out.is_empty());
        // Reportable hides without blocking the walk.
        let out = spread(
            &g,
            &[(0, 1.0)],
            &ActivationConfig::default(),
            |_| true,
            |n| n != 1,
            |_| false,
            |_| 1.0,
        );
        assert!(out.iter().any(|a| a.node == 2) && out.iter().all(|a| a.node != 1));
    }
}
