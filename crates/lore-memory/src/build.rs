//! A meeting to memories and edges: segments become L2 episodic memories (with type and
//! features), clusters of them L1 semantic memories, their key phrases and entities L0
//! concepts; edges within the meeting, and similar-edges to the memories already stored.
//!
//! Two phases, so the caller embeds in between: [`plan`] segments the meeting and gives the
//! texts to embed; [`build`] takes their embeddings and the current index.

use std::collections::{HashMap, HashSet};

use lore_core::{EdgeKind, Meeting, MeetingInfo, Memory, MemoryLevel, MemoryType, Turn};

use crate::concepts::{self, ConceptKey};
use crate::features::{self, SegmentContext};
use crate::graph::{self, *};
use crate::index::{dot, normalize, MemoryIndex};
use crate::segment::{self, Segment, SegmentConfig, TurnText};
use crate::text;

/// Average-linkage cosine above which two groups of a meeting's episodes form one
/// cluster.
pub const CLUSTER_THRESHOLD: f32 = 0.55;

/// A meeting segmented, before embedding.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The meeting.
    pub meeting: Meeting,
    /// sha256 of the meeting's metadata and turns: an unchanged re-ingest is a no-op.
    pub content_hash: String,
    /// Segments, in order.
    pub segments: Vec<Segment>,
    /// Each turn's text with markup removed ([`text::clean`]).
    pub cleaned: Vec<String>,
    /// Each segment's memory text (`Speaker: text` lines, markup removed): what is
    /// embedded and indexed.
    pub texts: Vec<String>,
    /// Types given by a classifier other than the rules (an LLM), by segment; `None` or a
    /// missing entry: the rules decide ([`features::classify`]).
    pub labels: Vec<Option<MemoryType>>,
}

/// Segments a meeting.
pub fn plan(meeting: Meeting, cfg: &SegmentConfig) -> Plan {
    let cleaned: Vec<String> = meeting.turns.iter().map(|t| text::clean(&t.text)).collect();
    let turn_texts: Vec<TurnText<'_>> = meeting
        .turns
        .iter()
        .zip(&cleaned)
        .map(|(t, c)| TurnText {
            speaker: &t.speaker,
            words: text::whitespace_tokens(c),
            terms: text::terms(c),
        })
        .collect();
    let segments = segment::segment(&turn_texts, cfg);
    let texts = segments
        .iter()
        .map(|s| {
            (s.start..=s.end)
                .filter(|&i| !cleaned[i].is_empty())
                .map(|i| format!("{}: {}", meeting.turns[i].speaker, cleaned[i]))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let content_hash = crate::content_hash(
        &serde_json::to_vec(&(&meeting.info, &meeting.turns)).unwrap_or_default(),
    );
    Plan {
        meeting,
        content_hash,
        segments,
        cleaned,
        texts,
        labels: Vec::new(),
    }
}

/// A node of a new edge: a memory of this build, one already stored, or a concept by key
/// (created if missing).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NodeRef {
    /// `memories[i]` of the build.
    New(usize),
    /// A stored memory's id.
    Existing(i64),
    /// A concept's storage key (`topic:kinet batteri`).
    Concept(String),
}

/// An edge to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEdge {
    /// From.
    pub src: NodeRef,
    /// To.
    pub dst: NodeRef,
    /// Kind.
    pub kind: EdgeKind,
    /// Weight in (0, 1].
    pub weight: f32,
}

/// A concept the meeting mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConcept {
    /// Storage key.
    pub key: String,
    /// Kind (person, product, date, number, topic).
    pub kind: MemoryType,
    /// Label (the memory's content).
    pub label: String,
}

/// What one meeting adds to the store.
#[derive(Debug, Clone)]
pub struct MeetingBuild {
    /// Metadata.
    pub info: MeetingInfo,
    /// Content hash.
    pub content_hash: String,
    /// Turns (kept, so answers and evaluation can quote them).
    pub turns: Vec<Turn>,
    /// L2 then L1 memories (ids 0 until stored), with the L2 embeddings.
    pub memories: Vec<(Memory, Option<Vec<f32>>)>,
    /// Concepts to link (created when new).
    pub concepts: Vec<NewConcept>,
    /// Edges.
    pub edges: Vec<NewEdge>,
}

impl MeetingBuild {
    /// The meeting's L1 clusters: each as its position in `memories` and its members'
    /// positions (L2, in spoken order), from the member-of edges.
    pub fn clusters(&self) -> Vec<(usize, Vec<usize>)> {
        let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
        for e in &self.edges {
            if let (EdgeKind::MemberOf, NodeRef::New(m), NodeRef::New(c)) = (e.kind, &e.src, &e.dst)
            {
                match out.iter_mut().find(|(x, _)| x == c) {
                    Some((_, members)) => members.push(*m),
                    None => out.push((*c, vec![*m])),
                }
            }
        }
        for (_, members) in &mut out {
            members.sort_unstable();
        }
        out
    }
}

/// Importance at creation, in [0, 1]: `0.2 + 0.3·t + 0.2·causal + 0.15·urgency +
/// 0.15·audience_relevance`, t = 1 for decisions, action items, commitments and risks,
/// 0.5 for ideas and questions, 0 for statements. What moves a team (decisions, who does
/// what, what worries them) should outlive small talk.
pub fn base_importance(t: MemoryType, f: &lore_core::CognitiveFeatures) -> f32 {
    let w = match t {
        MemoryType::Decision
        | MemoryType::ActionItem
        | MemoryType::Commitment
        | MemoryType::Risk => 1.0,
        MemoryType::Idea | MemoryType::Question => 0.5,
        _ => 0.0,
    };
    (0.2 + 0.3 * w + 0.2 * f.causal + 0.15 * f.urgency + 0.15 * f.audience_relevance)
        .clamp(0.0, 1.0)
}

fn lead_speaker(turns: &[Turn]) -> String {
    if let Some(t) = turns.iter().find(|t| {
        let s = t.speaker.to_lowercase();
        s.contains("manager") || s.contains("chair") || s.contains("lead")
    }) {
        return t.speaker.clone();
    }
    let mut words: HashMap<&str, usize> = HashMap::new();
    for t in turns {
        *words.entry(&t.speaker).or_insert(0) += t.text.split_whitespace().count();
    }
    let mut v: Vec<_> = words.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.first().map(|x| x.0.to_string()).unwrap_or_default()
}

/// The distinct speakers of `lists`, in first-seen order.
pub fn union_speakers<'a>(lists: impl IntoIterator<Item = &'a [String]>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for list in lists {
        for s in list {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
    }
    out
}

/// A new L1 cluster memory (`meeting` `None`: across meetings), stamped `now_ms`.
pub fn cluster_memory(
    meeting: Option<String>,
    content: String,
    speakers: Vec<String>,
    importance: f32,
    now_ms: i64,
) -> Memory {
    Memory {
        id: 0,
        level: MemoryLevel::Semantic,
        memory_type: MemoryType::Cluster,
        meeting,
        content,
        speakers,
        turn_start: None,
        turn_end: None,
        start_ms: None,
        end_ms: None,
        features: None,
        importance,
        access_count: 0,
        last_access_ms: now_ms,
        created_ms: now_ms,
    }
}

/// Agglomerative clustering (average linkage on cosine) of unit vectors; groups of 2+
/// whose average similarity stays ≥ `threshold`, each sorted.
pub fn cluster(vectors: &[&[f32]], threshold: f32) -> Vec<Vec<usize>> {
    let n = vectors.len();
    let mut sim = vec![vec![0.0f32; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let s = dot(vectors[i], vectors[j]);
            sim[i][j] = s;
            sim[j][i] = s;
        }
    }
    let mut groups: Vec<Option<Vec<usize>>> = (0..n).map(|i| Some(vec![i])).collect();
    loop {
        let mut best: Option<(usize, usize, f32)> = None;
        for a in 0..n {
            let Some(ga) = &groups[a] else { continue };
            for (b, gb) in groups.iter().enumerate().skip(a + 1) {
                let Some(gb) = gb else { continue };
                let mut s = 0.0;
                for &x in ga {
                    for &y in gb {
                        s += sim[x][y];
                    }
                }
                let avg = s / (ga.len() * gb.len()) as f32;
                if avg >= threshold && best.is_none_or(|bst| avg > bst.2) {
                    best = Some((a, b, avg));
                }
            }
        }
        let Some((a, b, _)) = best else { break };
        let gb = groups[b].take().unwrap_or_default();
        if let Some(ga) = groups[a].as_mut() {
            ga.extend(gb);
        }
    }
    let mut out: Vec<Vec<usize>> = groups
        .into_iter()
        .flatten()
        .filter(|g| g.len() >= 2)
        .map(|mut g| {
            g.sort_unstable();
            g
        })
        .collect();
    out.sort();
    out
}

/// An extractive summary of member texts: the words most particular to the group (by
/// frequency in it against the rest), then the sentence of the member closest to the
/// centroid that holds most of them, with its speaker.
pub fn summarize(
    member_texts: &[&str],
    centroid_order: &[usize],
    background: &HashMap<String, usize>,
) -> String {
    let mut tf: HashMap<String, usize> = HashMap::new();
    let mut surface: HashMap<String, String> = HashMap::new();
    for t in member_texts {
        for w in text::words(t) {
            if text::is_stop_word(&w) || w.len() < 3 || w.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let s = text::stem(&w);
            *tf.entry(s.clone()).or_insert(0) += 1;
            surface.entry(s).or_insert(w);
        }
    }
    let mut key: Vec<(f32, String)> = tf
        .iter()
        .map(|(s, &n)| {
            let bg = background.get(s).copied().unwrap_or(0) as f32;
            (n as f32 / (1.0 + bg).sqrt(), s.clone())
        })
        .collect();
    key.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let top: Vec<String> = key.iter().take(3).map(|(_, s)| s.clone()).collect();
    let mut best: Option<(usize, String)> = None;
    for &i in centroid_order.iter().take(3) {
        for line in member_texts[i].lines() {
            let (speaker, said) = line.split_once(": ").unwrap_or(("", line));
            for sentence in said.split_inclusive(['.', '?', '!']) {
                let sentence = sentence.trim();
                if sentence.split_whitespace().count() < 5 {
                    continue;
                }
                let stems: HashSet<String> = text::terms(sentence).into_iter().collect();
                let hits = top.iter().filter(|t| stems.contains(*t)).count();
                if best.as_ref().is_none_or(|b| hits > b.0) {
                    best = Some((hits, format!("{speaker}: {sentence}")));
                }
            }
        }
    }
    let labels: Vec<String> = top.iter().filter_map(|s| surface.get(s).cloned()).collect();
    match best {
        Some((_, s)) => format!("{}. {}", labels.join(", "), s),
        None => labels.join(", "),
    }
}

/// Builds memories and edges from a plan and the embeddings of `plan.texts` (same order,
/// unit length, `dim` each). `index` is the store as it is (similar-edges to other
/// meetings). `now_ms` stamps the memories.
pub fn build(
    plan: Plan,
    embeddings: Vec<Vec<f32>>,
    index: &MemoryIndex,
    now_ms: i64,
) -> MeetingBuild {
    let Plan {
        meeting,
        content_hash,
        segments,
        cleaned,
        texts,
        labels,
    } = plan;
    let info = meeting.info.clone();
    let turns = &meeting.turns;
    let n = segments.len();
    let lead = lead_speaker(turns);
    let total_words: usize = cleaned
        .iter()
        .map(|c| text::whitespace_tokens(c))
        .sum::<usize>()
        .max(1);
    let span_ms = turns
        .iter()
        .filter_map(|t| t.end_ms.or(t.start_ms))
        .max()
        .zip(turns.iter().filter_map(|t| t.start_ms).min())
        .map(|(e, s)| e.saturating_sub(s));

    let mut vectors = embeddings;
    for v in &mut vectors {
        normalize(v);
    }

    let mut memories: Vec<(Memory, Option<Vec<f32>>)> = Vec::with_capacity(n);
    let mut earlier: HashSet<String> = HashSet::new();
    let mut dominant: Vec<String> = Vec::with_capacity(n);
    for (i, seg) in segments.iter().enumerate() {
        let pairs: Vec<(&str, &str)> = (seg.start..=seg.end)
            .filter(|&t| !cleaned[t].is_empty())
            .map(|t| (turns[t].speaker.as_str(), cleaned[t].as_str()))
            .collect();
        let words: usize = pairs.iter().map(|(_, t)| text::whitespace_tokens(t)).sum();
        let start_ms = turns[seg.start].start_ms;
        let end_ms = turns[seg.end].end_ms.or(turns[seg.end].start_ms);
        let share = match (span_ms, start_ms, end_ms) {
            (Some(span), Some(a), Some(b)) if span > 0 => b.saturating_sub(a) as f32 / span as f32,
            _ => words as f32 / total_words as f32,
        };
        let f = features::features(&SegmentContext {
            turns: &pairs,
            index: i,
            count: n,
            share,
            lead: &lead,
            participants: info.participants.len(),
            earlier_terms: &earlier,
        });
        for (_, t) in &pairs {
            earlier.extend(text::terms(t));
        }
        let kind = labels
            .get(i)
            .copied()
            .flatten()
            .unwrap_or_else(|| features::classify(&pairs));
        let mut speakers: Vec<String> = Vec::new();
        let mut by_words: HashMap<&str, usize> = HashMap::new();
        for (s, t) in &pairs {
            if !speakers.iter().any(|x| x == s) {
                speakers.push(s.to_string());
            }
            *by_words.entry(s).or_insert(0) += text::whitespace_tokens(t);
        }
        let mut dom: Vec<_> = by_words.into_iter().collect();
        dom.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        dominant.push(dom.first().map(|d| d.0.to_string()).unwrap_or_default());
        let importance = base_importance(kind, &f);
        memories.push((
            Memory {
                id: 0,
                level: MemoryLevel::Episodic,
                memory_type: kind,
                meeting: Some(info.id.clone()),
                content: texts[i].clone(),
                speakers,
                turn_start: Some(seg.start as u32),
                turn_end: Some(seg.end as u32),
                start_ms,
                end_ms,
                features: Some(f),
                importance,
                access_count: 0,
                last_access_ms: now_ms,
                created_ms: now_ms,
            },
            vectors.get(i).cloned(),
        ));
    }

    let mut edges = Vec::new();
    let cos = |a: usize, b: usize| -> f32 {
        match (vectors.get(a), vectors.get(b)) {
            (Some(x), Some(y)) => dot(x, y),
            _ => 0.0,
        }
    };
    // Sequence, reply, causal.
    for i in 0..n {
        if i + 1 < n {
            edges.push(NewEdge {
                src: NodeRef::New(i),
                dst: NodeRef::New(i + 1),
                kind: EdgeKind::Sequence,
                weight: W_SEQUENCE,
            });
            let last = &turns[segments[i].end];
            let next = &turns[segments[i + 1].start];
            if cleaned[segments[i].end].trim_end().ends_with('?') && next.speaker != last.speaker {
                edges.push(NewEdge {
                    src: NodeRef::New(i + 1),
                    dst: NodeRef::New(i),
                    kind: EdgeKind::Reply,
                    weight: W_REPLY,
                });
            }
        }
        let causal = memories[i].0.features.map(|f| f.causal).unwrap_or(0.0);
        if causal >= 0.5 && i > 0 {
            let cause = (i.saturating_sub(3)..i)
                .map(|j| (j, cos(i, j)))
                .filter(|(_, c)| *c >= 0.4)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((j, _)) = cause {
                edges.push(NewEdge {
                    src: NodeRef::New(j),
                    dst: NodeRef::New(i),
                    kind: EdgeKind::Causal,
                    weight: W_CAUSAL,
                });
            }
        }
    }
    // Same speaker and topic, and similar, within the meeting (non-adjacent pairs).
    let mut per_node: Vec<Vec<(f32, usize, EdgeKind)>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 2..n {
            let c = cos(i, j);
            let kind = if dominant[i] == dominant[j] && c >= SAME_SPEAKER_TOPIC {
                EdgeKind::SameSpeakerTopic
            } else if c >= SIMILAR_SAME_SERIES {
                EdgeKind::Similar
            } else {
                continue;
            };
            per_node[i].push((c, j, kind));
        }
    }
    for (i, list) in per_node.iter_mut().enumerate() {
        list.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(c, j, kind) in list.iter().take(MAX_SIMILAR_PER_MEMORY) {
            let weight = match kind {
                EdgeKind::SameSpeakerTopic => graph::same_speaker_topic_weight(c),
                _ => c,
            };
            edges.push(NewEdge {
                src: NodeRef::New(i),
                dst: NodeRef::New(j),
                kind,
                weight,
            });
        }
    }
    // Similar to episodes of other meetings already stored.
    let series_of: HashMap<&str, Option<&str>> = index
        .meetings
        .iter()
        .map(|(id, m)| (id.as_str(), m.series.as_deref()))
        .collect();
    for (i, v) in vectors.iter().enumerate().take(n) {
        let threshold = |other: &str| {
            let same = info.series.is_some()
                && series_of.get(other).copied().flatten() == info.series.as_deref();
            if same {
                SIMILAR_SAME_SERIES
            } else {
                SIMILAR_OTHER_SERIES
            }
        };
        for (id, c) in index.similar_episodes(v, &info.id, threshold, MAX_SIMILAR_PER_MEMORY) {
            edges.push(NewEdge {
                src: NodeRef::New(i),
                dst: NodeRef::Existing(id),
                kind: EdgeKind::Similar,
                weight: c,
            });
        }
    }
    // L1 clusters of this meeting's episodes.
    let refs: Vec<&[f32]> = vectors.iter().map(Vec::as_slice).collect();
    let mut background: HashMap<String, usize> = HashMap::new();
    for t in &texts {
        for s in text::terms(t) {
            *background.entry(s).or_insert(0) += 1;
        }
    }
    if refs.len() == n {
        for group in cluster(&refs, CLUSTER_THRESHOLD) {
            let mut centroid = vec![0.0f32; refs.first().map(|v| v.len()).unwrap_or(0)];
            for &g in &group {
                for (c, x) in centroid.iter_mut().zip(refs[g]) {
                    *c += x;
                }
            }
            normalize(&mut centroid);
            let mut order: Vec<usize> = (0..group.len()).collect();
            order.sort_by(|&a, &b| {
                dot(refs[group[b]], &centroid).total_cmp(&dot(refs[group[a]], &centroid))
            });
            let member_texts: Vec<&str> = group.iter().map(|&g| texts[g].as_str()).collect();
            let summary = summarize(&member_texts, &order, &background);
            let speakers = union_speakers(group.iter().map(|&g| memories[g].0.speakers.as_slice()));
            let importance = group
                .iter()
                .map(|&g| memories[g].0.importance)
                .fold(0.0, f32::max);
            let l1 = memories.len();
            memories.push((
                cluster_memory(Some(info.id.clone()), summary, speakers, importance, now_ms),
                None,
            ));
            for &g in &group {
                edges.push(NewEdge {
                    src: NodeRef::New(g),
                    dst: NodeRef::New(l1),
                    kind: EdgeKind::MemberOf,
                    weight: W_MEMBER_OF,
                });
            }
        }
    }
    // L0 concepts.
    let seg_texts: Vec<String> = segments
        .iter()
        .map(|s| {
            (s.start..=s.end)
                .map(|t| cleaned[t].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let mut concept_list = Vec::new();
    for c in concepts::meeting_concepts(&seg_texts) {
        let ConceptKey { kind, .. } = c.key;
        let key = c.key.storage_key();
        for &s in &c.segments {
            edges.push(NewEdge {
                src: NodeRef::New(s),
                dst: NodeRef::Concept(key.clone()),
                kind: EdgeKind::Mentions,
                weight: W_MENTIONS,
            });
        }
        concept_list.push(NewConcept {
            key,
            kind,
            label: c.label,
        });
    }
    MeetingBuild {
        info,
        content_hash,
        turns: meeting.turns,
        memories,
        concepts: concept_list,
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_group_similar_vectors() {
        let a = [1.0f32, 0.0];
        let b = [0.96f32, 0.28];
        let c = [0.0f32, 1.0];
        let d = [0.28f32, 0.96];
        let e = [
            std::f32::consts::FRAC_1_SQRT_2,
            std::f32::consts::FRAC_1_SQRT_2,
        ];
        let got = cluster(&[&a, &b, &c, &d], 0.9);
        assert_eq!(got, vec![vec![0, 1], vec![2, 3]]);
        // The middle vector alone joins neither at 0.9 (average linkage ≈ 0.87).
        let got = cluster(&[&a, &b, &e], 0.9);
        assert_eq!(got, vec![vec![0, 1]]);
    }

    #[test]
    fn labels_override_the_rules_and_clusters_list_their_members() {
        use lore_core::memory::{Meeting, MeetingInfo, Turn};
        let turns: Vec<Turn> = (0..40)
            .map(|i| Turn {
                speaker: ["Ana", "Ben"][i % 2].to_string(),
                text: if i < 20 {
                    format!("The battery point {i}: we decided the kinetic battery is what we use.")
                } else {
                    format!("The case colour point {i}: maybe a yellow rubber case for the remote.")
                },
                start_ms: None,
                end_ms: None,
            })
            .collect();
        let meeting = Meeting {
            info: MeetingInfo {
                id: "m".into(),
                title: "m".into(),
                date: None,
                participants: vec!["Ana".into(), "Ben".into()],
                series: None,
                domain: None,
            },
            turns,
        };
        let mut p = plan(meeting, &SegmentConfig::default());
        let n = p.segments.len();
        assert!(n >= 2, "{n} segments");
        // Two topics, two directions: members of one cluster share a vector.
        let vectors: Vec<Vec<f32>> = p
            .segments
            .iter()
            .map(|s| {
                if s.start < 20 {
                    vec![1.0, 0.0]
                } else {
                    vec![0.0, 1.0]
                }
            })
            .collect();
        let ruled = build(p.clone(), vectors.clone(), &MemoryIndex::default(), 0);
        assert_eq!(ruled.memories[0].0.memory_type, MemoryType::Decision);
        p.labels = vec![Some(MemoryType::Risk)];
        let labelled = build(p, vectors, &MemoryIndex::default(), 0);
        assert_eq!(labelled.memories[0].0.memory_type, MemoryType::Risk);
        // Unlabelled segments keep the rules' type.
        for i in 1..n {
            assert_eq!(
                labelled.memories[i].0.memory_type,
                ruled.memories[i].0.memory_type
            );
        }
        let clusters = labelled.clusters();
        let members: usize = clusters.iter().map(|(_, m)| m.len()).sum();
        assert_eq!(members, n, "{clusters:?}");
        for (c, m) in &clusters {
            assert_eq!(labelled.memories[*c].0.level, MemoryLevel::Semantic);
            assert!(m.windows(2).all(|w| w[0] < w[1]) && m.iter().all(|&x| x < n));
        }
    }

    #[test]
    fn summary_quotes_the_central_member() {
        let texts = [
            "Marketing: The kinetic battery lasts long and the battery is cheap.",
            "Industrial Designer: A kinetic battery needs shaking to charge it.",
        ];
        let s = summarize(&texts, &[0, 1], &HashMap::new());
        assert!(s.starts_with("battery, kinetic, charge. "), "{s}");
        // The sentence holding all three key words wins over the central member's.
        assert!(
            s.ends_with("Industrial Designer: A kinetic battery needs shaking to charge it."),
            "{s}"
        );
    }
}
