//! Consolidation and decay, computed from the index at an injected time `now`:
//!
//! - **importance** of an episodic memory: `min(1, base + 0.1·ln(1 + accesses) +
//!   0.1·recurrence) · 2^(−age / half_life)`, where `base` is [`crate::build::base_importance`],
//!   `recurrence` the number of other meetings it has similar-edges to (at most 3) / 3, and
//!   `age` the time since it was last returned by a query (or created). Exponential decay
//!   with a half-life is the forgetting curve's usual form (Ebbinghaus 1885; the half-life
//!   form of Wixted & Carpenter 2007 is close to it over weeks). A cluster's importance is
//!   its members' mean, a concept's `0.3 + 0.1·ln(1 + members)`, both decayed the same way.
//! - **promotion**: episodic memories of two or more meetings joined by similar-edges of
//!   cosine ≥ [`PROMOTE_COSINE`] recur; each connected group of them becomes a
//!   cross-meeting semantic memory (unless one with the same members exists).
//! - **clean-up**: concepts nothing mentions, clusters with fewer than two members, and
//!   clusters and concepts whose importance fell below [`STALE_IMPORTANCE`] are removed.
//!   Episodic memories are the record of what was said and are never removed by decay.

use std::collections::{BTreeSet, HashMap, HashSet};

use lore_core::{EdgeKind, Memory, MemoryLevel};

use crate::build::{base_importance, cluster_memory, summarize, union_speakers};
use crate::index::{normalize, MemoryIndex};

/// Cosine of similar-edges that makes episodes of different meetings a recurring topic.
pub const PROMOTE_COSINE: f32 = 0.7;
/// Below this importance a cluster or concept is stale.
pub const STALE_IMPORTANCE: f32 = 0.05;
/// Default half-life of importance: 30 days, in ms.
pub const DEFAULT_HALF_LIFE_MS: i64 = 30 * 24 * 3600 * 1000;

/// What a consolidation run changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Consolidation {
    /// New importance per memory id (only those that changed by more than 0.001).
    pub importance: Vec<(i64, f32)>,
    /// New cross-meeting clusters with their member ids.
    pub promoted: Vec<(Memory, Vec<i64>)>,
    /// Memories to delete (stale or orphaned clusters and concepts).
    pub removed: Vec<i64>,
}

fn decay(age_ms: i64, half_life_ms: i64) -> f32 {
    if half_life_ms <= 0 {
        return 1.0;
    }
    0.5f32.powf(age_ms.max(0) as f32 / half_life_ms as f32)
}

/// Plans a consolidation of `index` at `now_ms`.
pub fn plan(index: &MemoryIndex, now_ms: i64, half_life_ms: i64) -> Consolidation {
    let mems = index.memories();
    let mut out = Consolidation::default();
    // Recurrence: other meetings each episode is similar to.
    let mut recurring: HashMap<u32, HashSet<&str>> = HashMap::new();
    let mut strong: Vec<(u32, u32)> = Vec::new();
    for (p, m) in mems.iter().enumerate() {
        if m.level != MemoryLevel::Episodic {
            continue;
        }
        for l in index.adj.links(p as u32) {
            let o = &mems[l.to as usize];
            if l.kind == EdgeKind::Similar
                && o.level == MemoryLevel::Episodic
                && o.meeting != m.meeting
            {
                if let Some(om) = o.meeting.as_deref() {
                    recurring.entry(p as u32).or_default().insert(om);
                }
                if l.weight >= PROMOTE_COSINE && (p as u32) < l.to {
                    strong.push((p as u32, l.to));
                }
            }
        }
    }
    let mut new_importance: HashMap<u32, f32> = HashMap::new();
    for (p, m) in mems.iter().enumerate() {
        let p = p as u32;
        let age = now_ms - m.last_access_ms;
        let raw = match m.level {
            MemoryLevel::Episodic => {
                let base = m
                    .features
                    .map(|f| base_importance(m.memory_type, &f))
                    .unwrap_or(m.importance);
                let rec = recurring.get(&p).map(|s| s.len().min(3)).unwrap_or(0) as f32 / 3.0;
                base + 0.1 * (1.0 + m.access_count as f32).ln() + 0.1 * rec
            }
            MemoryLevel::Semantic => {
                let members = index.members.get(&p).map(Vec::as_slice).unwrap_or(&[]);
                if members.is_empty() {
                    0.0
                } else {
                    members
                        .iter()
                        .map(|&x| {
                            let mm = &mems[x as usize];
                            mm.features
                                .map(|f| base_importance(mm.memory_type, &f))
                                .unwrap_or(0.3)
                        })
                        .sum::<f32>()
                        / members.len() as f32
                        + 0.1 * (1.0 + m.access_count as f32).ln()
                }
            }
            MemoryLevel::Concept => {
                let n = index.members.get(&p).map(Vec::len).unwrap_or(0) as f32;
                0.3 + 0.1 * (1.0 + n).ln() + 0.1 * (1.0 + m.access_count as f32).ln()
            }
        };
        let imp = (raw.min(1.0) * decay(age, half_life_ms)).clamp(0.0, 1.0);
        new_importance.insert(p, imp);
        if (imp - m.importance).abs() > 0.001 {
            out.importance.push((m.id, imp));
        }
    }
    // Clean-up.
    for (p, m) in mems.iter().enumerate() {
        let p = p as u32;
        let members = index.members.get(&p).map(Vec::len).unwrap_or(0);
        let stale = new_importance.get(&p).copied().unwrap_or(1.0) < STALE_IMPORTANCE;
        let orphan = match m.level {
            MemoryLevel::Concept => members == 0,
            MemoryLevel::Semantic => members < 2,
            MemoryLevel::Episodic => false,
        };
        if m.level != MemoryLevel::Episodic && (orphan || stale) {
            out.removed.push(m.id);
        }
    }
    // Promotion: connected groups over strong cross-meeting similar-edges.
    let mut parent: HashMap<u32, u32> = HashMap::new();
    fn find(parent: &mut HashMap<u32, u32>, x: u32) -> u32 {
        let p = *parent.get(&x).unwrap_or(&x);
        if p == x {
            return x;
        }
        let r = find(parent, p);
        parent.insert(x, r);
        r
    }
    for &(a, b) in &strong {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent.insert(ra.max(rb), ra.min(rb));
        }
    }
    let mut groups: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    let nodes: Vec<u32> = strong.iter().flat_map(|&(a, b)| [a, b]).collect();
    for x in nodes {
        let r = find(&mut parent, x);
        groups.entry(r).or_default().insert(x);
    }
    let existing: HashSet<Vec<i64>> = mems
        .iter()
        .enumerate()
        .filter(|(_, m)| m.level == MemoryLevel::Semantic && m.meeting.is_none())
        .map(|(p, _)| {
            let mut ids: Vec<i64> = index
                .members
                .get(&(p as u32))
                .map(|v| v.iter().map(|&x| mems[x as usize].id).collect())
                .unwrap_or_default();
            ids.sort_unstable();
            ids
        })
        .collect();
    let mut group_list: Vec<BTreeSet<u32>> = groups.into_values().collect();
    group_list.sort();
    for g in group_list {
        let meetings: BTreeSet<&str> = g
            .iter()
            .filter_map(|&x| mems[x as usize].meeting.as_deref())
            .collect();
        if g.len() < 2 || meetings.len() < 2 {
            continue;
        }
        let mut ids: Vec<i64> = g.iter().map(|&x| mems[x as usize].id).collect();
        ids.sort_unstable();
        if existing.contains(&ids) {
            continue;
        }
        let members: Vec<u32> = g.iter().copied().collect();
        let mut centroid = vec![0.0f32; index.dim];
        for &x in &members {
            for (c, v) in centroid.iter_mut().zip(index.vector(x)) {
                *c += v;
            }
        }
        normalize(&mut centroid);
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by(|&a, &b| {
            crate::index::dot(index.vector(members[b]), &centroid)
                .total_cmp(&crate::index::dot(index.vector(members[a]), &centroid))
        });
        let texts: Vec<&str> = members
            .iter()
            .map(|&x| mems[x as usize].content.as_str())
            .collect();
        let speakers = union_speakers(
            members
                .iter()
                .map(|&x| mems[x as usize].speakers.as_slice()),
        );
        let summary = summarize(&texts, &order, &HashMap::new());
        let imp = members
            .iter()
            .map(|&x| new_importance.get(&x).copied().unwrap_or(0.3))
            .sum::<f32>()
            / members.len() as f32;
        let content = format!(
            "Recurs in {}: {summary}",
            meetings.iter().copied().collect::<Vec<_>>().join(", ")
        );
        out.promoted
            .push((cluster_memory(None, content, speakers, imp, now_ms), ids));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_halves_per_half_life() {
        assert_eq!(decay(0, 10), 1.0);
        assert!((decay(10, 10) - 0.5).abs() < 1e-6);
        assert!((decay(20, 10) - 0.25).abs() < 1e-6);
        assert_eq!(
            decay(-5, 10),
            1.0,
            "a clock behind the memory does not inflate it"
        );
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;
    use crate::index::{IndexInput, MemoryIndex};
    use lore_core::{CognitiveFeatures, MeetingInfo, MemoryEdge, MemoryType};

    fn episode(id: i64, meeting: &str, t: i64) -> (Memory, Option<Vec<f32>>) {
        (
            Memory {
                id,
                level: MemoryLevel::Episodic,
                memory_type: MemoryType::Decision,
                meeting: Some(meeting.into()),
                content: format!("A: we decided on the battery {id}."),
                speakers: vec!["A".into()],
                turn_start: Some(0),
                turn_end: Some(1),
                start_ms: None,
                end_ms: None,
                features: Some(CognitiveFeatures::default()),
                importance: 0.5,
                access_count: 0,
                last_access_ms: t,
                created_ms: t,
            },
            Some(vec![1.0, 0.0]),
        )
    }

    fn index(t: i64) -> MemoryIndex {
        let meetings = ["m1", "m2"]
            .iter()
            .map(|id| MeetingInfo {
                id: id.to_string(),
                title: id.to_string(),
                ..MeetingInfo::default()
            })
            .collect();
        MemoryIndex::build(
            IndexInput {
                meetings,
                memories: vec![
                    episode(1, "m1", t),
                    episode(2, "m2", t),
                    episode(3, "m2", t),
                ],
                edges: vec![MemoryEdge {
                    src: 1,
                    dst: 2,
                    kind: EdgeKind::Similar,
                    weight: 0.9,
                }],
            },
            2,
        )
    }

    #[test]
    fn importance_decays_by_half_lives_and_recurrence_is_promoted() {
        let t0 = 1_000_000;
        let day = 86_400_000;
        let idx = index(t0);
        let now = plan(&idx, t0, 30 * day);
        let later = plan(&idx, t0 + 30 * day, 30 * day);
        assert_eq!(
            plan(&idx, t0, 30 * day),
            now,
            "deterministic under the injected clock"
        );
        let imp = |c: &Consolidation, id: i64| c.importance.iter().find(|x| x.0 == id).map(|x| x.1);
        // Decision (t = 1): base 0.5; #1 and #2 recur in another meeting: + 0.1 · 1/3.
        let base = 0.2 + 0.3;
        let i1 = imp(&now, 1).unwrap();
        assert!((i1 - (base + 0.1 / 3.0)).abs() < 1e-5, "{i1}");
        assert!(
            (imp(&later, 1).unwrap() - i1 / 2.0).abs() < 1e-5,
            "one half-life halves it"
        );
        assert!(
            imp(&now, 3).is_none(),
            "unchanged importance (0.5) is not rewritten"
        );
        // #1 (m1) and #2 (m2) are similar at 0.9 ≥ 0.7: one cross-meeting cluster.
        assert_eq!(now.promoted.len(), 1);
        let (cluster, members) = &now.promoted[0];
        assert_eq!(members, &vec![1, 2]);
        assert_eq!(cluster.level, MemoryLevel::Semantic);
        assert!(cluster.meeting.is_none() && cluster.content.starts_with("Recurs in m1, m2"));
        assert!(now.removed.is_empty());
    }
}
