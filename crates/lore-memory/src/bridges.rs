//! Bridge discovery: memories outside the activated set that the activated set reaches
//! through associative links (similar wording, the same speaker on the same topic, a
//! reply, a cause, a shared cluster or concept), not through the sequence of one
//! discussion, which is activation's job. A bridge is worth showing when it is connected
//! and yet unlike the query, so
//!
//! `score = connection × novelty`, `novelty = 1 − cos(query, bridge)`,
//! `connection = min(1, Σ a(u) · w)` over the activated memories `u` linked to it, where
//! `w` is the edge weight, or `w1 · w2 / √(degree of the hub)` through a concept or
//! cluster (the fan effect, as in activation), times [`CROSS_SERIES`] when the bridge lies
//! outside the query's focus, the series (project) holding most of the direct hits: a word
//! two teams both use ("remote control", "budget") is weak evidence that their
//! discussions connect, while within one project it is how a topic travels from meeting
//! to meeting. No bridges when the direct hits do not agree on a focus
//! ([`FOCUS_MIN_SHARE`]).

use std::collections::{HashMap, HashSet};

use lore_core::{EdgeKind, Memory, MemoryLevel};

use crate::graph;
use crate::index::{dot, MemoryIndex, NO_MEETING};
use crate::query::{BridgeMemory, Visibility};

/// Least contribution a route through a hub may add (routes through a hub of degree d
/// add at most `a · w / √d`: from the best hit, hubs above ~600 links are skipped).
pub const MIN_ROUTE: f32 = 0.02;

/// Factor on a route through a concept or cluster into another series.
pub const CROSS_SERIES: f32 = 0.2;

/// Least share of the direct hits' seed strength ([`crate::activation::seed_strength`])
/// that the focus series must hold for bridges to be discovered. When a query's hits are
/// split between projects (three teams designing the same product, a question that names
/// none), which project's distant memories would be its bridges is a guess; under a
/// filter to a meeting or series the share is 1. Measured on the QMSum AMI queries with no
/// filter (docs/benchmarks.md): the focus is the query's series for 55% of the queries
/// overall and for 84% of the bridges of queries at a share ≥ 0.7.
pub const FOCUS_MIN_SHARE: f32 = 0.7;

#[derive(Default)]
struct Candidate {
    connection: f32,
    /// activated memory -> its contribution
    from: HashMap<u32, f32>,
    /// strongest route: (activated memory, edge kind, hub)
    best: Option<(u32, EdgeKind, Option<u32>, f32)>,
}

/// `ES2004b turns 12-18` or the memory's first words.
pub fn label(m: &Memory) -> String {
    match (&m.meeting, m.turn_start, m.turn_end) {
        (Some(meeting), Some(a), Some(b)) => format!("{meeting} turns {a}-{b}"),
        _ => {
            let head: String = m.content.chars().take(40).collect();
            format!("'{head}'")
        }
    }
}

/// Up to `max` bridges from the activated set `active` (position → activation; it holds
/// the `seeds`, the direct hits with their seed strengths, too).
pub(crate) fn discover(
    index: &MemoryIndex,
    q: &[f32],
    active: &HashMap<u32, f32>,
    seeds: &[(u32, f32)],
    vis: &Visibility<'_>,
    max: usize,
) -> Vec<BridgeMemory> {
    let mut cands: HashMap<u32, Candidate> = HashMap::new();
    let is_hub = |p: u32| index.memories[p as usize].level != MemoryLevel::Episodic;
    let mut consider = |v: u32, u: u32, kind: EdgeKind, hub: Option<u32>, c: f32| {
        if active.contains_key(&v) || index.memories[v as usize].level != MemoryLevel::Episodic {
            return;
        }
        if !vis.reportable(v) {
            return;
        }
        let e = cands.entry(v).or_default();
        e.connection += c;
        *e.from.entry(u).or_insert(0.0) += c;
        if e.best.is_none_or(|b| b.3 < c) {
            e.best = Some((u, kind, hub, c));
        }
    };
    // A memory's project: its meeting's series, or the meeting itself when it has none;
    // `None` for memories of no meeting (promoted clusters, concepts).
    let project = |p: u32| -> Option<(bool, u32)> {
        match (index.series_at(p), index.meeting_of[p as usize]) {
            (_, NO_MEETING) => None,
            (NO_MEETING, m) => Some((false, m)),
            (s, _) => Some((true, s)),
        }
    };
    // The focus: the series holding most of the direct hits' seed strength (memories of
    // no meeting, promoted clusters, vote for none). Bridges need the hits to agree on it.
    let mut weight_of: HashMap<(bool, u32), f32> = HashMap::new();
    for &(p, a) in seeds {
        if let Some(s) = project(p) {
            *weight_of.entry(s).or_insert(0.0) += a;
        }
    }
    let total: f32 = weight_of.values().sum();
    let focus = weight_of
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
    if let Some((_, w)) = focus {
        if w < FOCUS_MIN_SHARE * total {
            return Vec::new();
        }
    }
    let focus = focus.map(|(s, _)| s);
    let affinity = |v: u32| {
        if focus.is_some() && project(v) == focus {
            1.0
        } else {
            CROSS_SERIES
        }
    };
    let mut order: Vec<(&u32, &f32)> = active.iter().collect();
    order.sort_by(|a, b| a.0.cmp(b.0));
    for (&u, &a_u) in order {
        if is_hub(u) {
            continue;
        }
        for l in index.adj.links(u) {
            if l.kind == EdgeKind::Sequence || !vis.visible(l.to) {
                continue;
            }
            if is_hub(l.to) {
                let hub_links = index.adj.links(l.to);
                let fan = 1.0 / (hub_links.len().max(1) as f32).sqrt();
                // A route that can add at most MIN_ROUTE is not walked: a concept with
                // hundreds of mentions links everything to everything.
                if a_u * l.weight * fan < MIN_ROUTE {
                    continue;
                }
                for l2 in hub_links {
                    if l2.to != u {
                        let c = a_u * l.weight * l2.weight * fan * affinity(l2.to);
                        consider(l2.to, u, l2.kind, Some(l.to), c);
                    }
                }
            } else {
                consider(l.to, u, l.kind, None, a_u * l.weight * affinity(l.to));
            }
        }
    }
    let mut scored: Vec<(u32, f32, f32, Candidate)> = cands
        .into_iter()
        .map(|(v, c)| {
            let novelty = (1.0 - dot(q, index.vector(v))).clamp(0.0, 1.0);
            let connection = c.connection.min(1.0);
            (v, connection * novelty, novelty, c)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(max);
    scored
        .into_iter()
        .map(|(v, score, novelty, c)| {
            let mut from: Vec<(u32, f32)> = c.from.into_iter().collect();
            from.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let explanation = explain(index, v, c.best);
            BridgeMemory {
                hit: index.hit(v, score),
                novelty,
                connection: c.connection.min(1.0),
                connects: from
                    .iter()
                    .take(5)
                    .map(|(p, _)| index.memories[*p as usize].id)
                    .collect(),
                explanation,
            }
        })
        .collect()
}

/// One sentence from the strongest route: what the bridge does, in which meeting, linked
/// to which activated memory, through which concept or cluster, and a shared speaker.
fn explain(index: &MemoryIndex, v: u32, best: Option<(u32, EdgeKind, Option<u32>, f32)>) -> String {
    let m = &index.memories[v as usize];
    let Some((u, kind, hub, _)) = best else {
        return format!("{} is linked to the activated memories", label(m));
    };
    let other = &index.memories[u as usize];
    let shared: HashSet<&String> = m.speakers.iter().collect();
    let speaker = other.speakers.iter().find(|s| shared.contains(s));
    let mut s = match hub {
        Some(h) => {
            let hub_m = &index.memories[h as usize];
            let via = if hub_m.level == MemoryLevel::Concept {
                format!("through the concept '{}'", hub_m.content)
            } else {
                "as members of one cluster".to_string()
            };
            format!("{} is linked to {} {via}", label(m), label(other))
        }
        None => format!("{} {} {}", label(m), graph::describe(kind), label(other)),
    };
    if let Some(sp) = speaker {
        s.push_str(&format!(", raised by {sp} in both"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexInput;
    use crate::query::{MemoryQuery, Scope};
    use lore_core::{MeetingInfo, MemoryEdge, MemoryType};

    fn m(id: i64, level: MemoryLevel, meeting: Option<&str>, content: &str) -> Memory {
        Memory {
            id,
            level,
            memory_type: if level == MemoryLevel::Concept {
                MemoryType::Topic
            } else {
                MemoryType::Statement
            },
            meeting: meeting.map(String::from),
            content: content.into(),
            speakers: vec!["Marketing".into()],
            turn_start: meeting.map(|_| id as u32 * 10),
            turn_end: meeting.map(|_| id as u32 * 10 + 9),
            start_ms: None,
            end_ms: None,
            features: None,
            importance: 0.5,
            access_count: 0,
            last_access_ms: 0,
            created_ms: 0,
        }
    }

    /// a1 -seq- a2 in meeting A (series S); b1 in meeting B (series S) mentions the
    /// concept "battery" like a1; c1 in meeting C (series T) mentions it too.
    #[test]
    fn bridges_follow_associative_links_and_prefer_the_query_series() {
        let edge = |src, dst, kind, weight| MemoryEdge {
            src,
            dst,
            kind,
            weight,
        };
        let meeting = |id: &str, series: &str| MeetingInfo {
            id: id.into(),
            title: id.into(),
            series: Some(series.into()),
            ..MeetingInfo::default()
        };
        let input = IndexInput {
            meetings: vec![meeting("A", "S"), meeting("B", "S"), meeting("C", "T")],
            memories: vec![
                (
                    m(
                        1,
                        MemoryLevel::Episodic,
                        Some("A"),
                        "Marketing: the kinetic battery lasts",
                    ),
                    Some(vec![1.0, 0.0]),
                ),
                (
                    m(
                        2,
                        MemoryLevel::Episodic,
                        Some("A"),
                        "Marketing: the price of the case",
                    ),
                    Some(vec![0.9, 0.1]),
                ),
                (
                    m(
                        3,
                        MemoryLevel::Episodic,
                        Some("B"),
                        "Marketing: solar cells on the case",
                    ),
                    Some(vec![0.0, 1.0]),
                ),
                (
                    m(
                        4,
                        MemoryLevel::Episodic,
                        Some("C"),
                        "Marketing: cells for a lamp",
                    ),
                    Some(vec![0.0, 1.0]),
                ),
                (m(5, MemoryLevel::Concept, None, "battery"), None),
            ],
            edges: vec![
                edge(1, 2, EdgeKind::Sequence, 0.9),
                edge(1, 5, EdgeKind::Mentions, 0.5),
                edge(3, 5, EdgeKind::Mentions, 0.5),
                edge(4, 5, EdgeKind::Mentions, 0.5),
            ],
        };
        let index = MemoryIndex::build(input, 2);
        let mut req = MemoryQuery::new("kinetic battery");
        req.limit_per_level = 1;
        let r = index.query(&req, &[1.0, 0.0], &Scope::default(), 0.0);
        assert_eq!(r.direct_results.episodic[0].memory.id, 1);
        let b: Vec<i64> = r.bridge_memories.iter().map(|b| b.hit.memory.id).collect();
        assert_eq!(
            b,
            vec![3, 4],
            "same series first (affinity), other series discounted"
        );
        let top = &r.bridge_memories[0];
        assert!((top.novelty - 1.0).abs() < 1e-6, "orthogonal to the query");
        assert_eq!(top.connects, vec![1]);
        assert_eq!(
            top.explanation,
            "B turns 30-39 is linked to A turns 10-19 through the concept 'battery', raised by Marketing in both"
        );
        assert!(r.bridge_memories[1].hit.score < top.hit.score * CROSS_SERIES + 1e-6);
        assert!(
            !b.contains(&2),
            "a sequence neighbour is activation's, not a bridge"
        );

        // Two direct hits, one per series, of near-equal seed strength (1 and 1/√2): the
        // focus holds 59% < FOCUS_MIN_SHARE of it, so no bridge is a guess at the project.
        // (Activation off: the activated set is the hits alone, and A stays a candidate.)
        let mut req = MemoryQuery::new("cells");
        req.limit_per_level = 2;
        req.enable_activation = false;
        let r = index.query(&req, &[0.0, 1.0], &Scope::default(), 0.0);
        let hits: Vec<&str> = r
            .direct_results
            .episodic
            .iter()
            .filter_map(|h| h.memory.meeting.as_deref())
            .collect();
        assert_eq!(hits.len(), 2);
        assert!(hits.contains(&"B") && hits.contains(&"C"), "{hits:?}");
        assert!(r.bridge_memories.is_empty(), "{:?}", r.bridge_memories);
        // Filtered to the series, the hits agree again and the bridge is back.
        req.filters.series = Some("S".into());
        let r = index.query(&req, &[0.0, 1.0], &Scope::default(), 0.0);
        let b: Vec<i64> = r.bridge_memories.iter().map(|b| b.hit.memory.id).collect();
        assert_eq!(b, vec![1], "B reaches A through 'battery'");
    }
}
