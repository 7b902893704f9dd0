//! The in-process index over every memory: BM25 postings and embeddings per level, the
//! graph's adjacency, and the meetings' metadata for filters. Built from the catalog (the
//! source of truth) at start-up and after each write; queries read an immutable snapshot.
//!
//! BM25 is Robertson & Zaragoza's (2009) with k1 = 1.2, b = 0.75 (Lucene's and lore's
//! chunk index defaults) over [`crate::text::terms`]; dense scores are cosines of
//! L2-normalised 384-d embeddings, scanned exactly (10K memories × 384 dims is ~4M
//! multiply-adds, ~1 ms: no ANN needed at this size).

use std::collections::{HashMap, HashSet};

use lore_core::{EdgeKind, MeetingInfo, Memory, MemoryEdge, MemoryLevel};

use crate::graph::Adjacency;

/// `meeting_of` / `series_of` value for "none".
pub const NO_MEETING: u32 = u32::MAX;

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// BM25 postings over one level's memories.
#[derive(Debug, Default)]
struct Bm25 {
    postings: HashMap<String, Vec<(u32, u16)>>,
    doc_len: HashMap<u32, u32>,
    avg_len: f32,
}

impl Bm25 {
    fn build(docs: &[(u32, Vec<String>)]) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u16)>> = HashMap::new();
        let mut doc_len = HashMap::new();
        let mut total = 0usize;
        for (pos, terms) in docs {
            let mut tf: HashMap<&str, u16> = HashMap::new();
            for t in terms {
                *tf.entry(t.as_str()).or_insert(0) += 1;
            }
            for (t, n) in tf {
                postings.entry(t.to_string()).or_default().push((*pos, n));
            }
            doc_len.insert(*pos, terms.len() as u32);
            total += terms.len();
        }
        let n = docs.len().max(1);
        Bm25 {
            postings,
            doc_len,
            avg_len: (total as f32 / n as f32).max(1.0),
        }
    }

    fn search(&self, terms: &[String], keep: &dyn Fn(u32) -> bool, k: usize) -> Vec<(u32, f32)> {
        let n = self.doc_len.len() as f32;
        let mut scores: HashMap<u32, f32> = HashMap::new();
        let mut seen = HashSet::new();
        for t in terms {
            if !seen.insert(t) {
                continue;
            }
            let Some(list) = self.postings.get(t) else {
                continue;
            };
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(pos, tf) in list {
                if !keep(pos) {
                    continue;
                }
                let len = self.doc_len.get(&pos).copied().unwrap_or(0) as f32;
                let tf = tf as f32;
                let s = idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / self.avg_len));
                *scores.entry(pos).or_insert(0.0) += s;
            }
        }
        top_k(scores.into_iter().collect(), k)
    }
}

fn top_k(mut v: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}

/// A read-only snapshot of every memory, searchable by level.
#[derive(Debug, Default)]
pub struct MemoryIndex {
    pub(crate) memories: Vec<Memory>,
    pub(crate) pos: HashMap<i64, u32>,
    pub(crate) dim: usize,
    /// `memories.len() × dim`, L2-normalised (zeros where a memory has no vector).
    pub(crate) vectors: Vec<f32>,
    pub(crate) adj: Adjacency,
    pub(crate) meetings: HashMap<String, MeetingInfo>,
    /// Meeting ids, numbered (the numbers of `meeting_of`).
    pub(crate) meeting_ids: Vec<String>,
    /// Per memory: its meeting's number, [`NO_MEETING`] for cross-meeting memories.
    pub(crate) meeting_of: Vec<u32>,
    /// Per meeting number: its series' number ([`NO_MEETING`] when it has none).
    pub(crate) series_of: Vec<u32>,
    /// L1 and L0: member L2 positions (by member-of and mentions edges).
    pub(crate) members: HashMap<u32, Vec<u32>>,
    bm25: [Bm25; 3],
    by_level: [Vec<u32>; 3],
}

/// What [`MemoryIndex::build`] reads from the catalog.
#[derive(Debug, Default)]
pub struct IndexInput {
    /// Every meeting.
    pub meetings: Vec<MeetingInfo>,
    /// Every memory with its embedding (L2; `None` for L1 and L0, which get the mean of
    /// their members').
    pub memories: Vec<(Memory, Option<Vec<f32>>)>,
    /// Every edge.
    pub edges: Vec<MemoryEdge>,
}

/// Unit-length copy (zeros stay zeros).
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Dot product.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl MemoryIndex {
    /// Builds the snapshot. `dim` is the embedding size (384 for all-MiniLM-L6-v2).
    pub fn build(input: IndexInput, dim: usize) -> Self {
        let n = input.memories.len();
        let mut memories = Vec::with_capacity(n);
        let mut vectors = vec![0.0f32; n * dim];
        let mut pos = HashMap::with_capacity(n);
        for (i, (m, v)) in input.memories.into_iter().enumerate() {
            if let Some(v) = v {
                if v.len() == dim {
                    vectors[i * dim..(i + 1) * dim].copy_from_slice(&v);
                    normalize(&mut vectors[i * dim..(i + 1) * dim]);
                }
            }
            pos.insert(m.id, i as u32);
            memories.push(m);
        }
        let mut adj = Adjacency::new(n);
        let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
        for e in &input.edges {
            let (Some(&a), Some(&b)) = (pos.get(&e.src), pos.get(&e.dst)) else {
                continue;
            };
            adj.add(a, b, e.kind, e.weight);
            if matches!(e.kind, EdgeKind::MemberOf | EdgeKind::Mentions) {
                members.entry(b).or_default().push(a);
            }
        }
        // L1 and L0 vectors: the normalised mean of their members'.
        for (&hub, list) in &members {
            let mut mean = vec![0.0f32; dim];
            for &m in list {
                for (x, y) in mean
                    .iter_mut()
                    .zip(&vectors[m as usize * dim..(m as usize + 1) * dim])
                {
                    *x += y;
                }
            }
            normalize(&mut mean);
            vectors[hub as usize * dim..(hub as usize + 1) * dim].copy_from_slice(&mean);
        }
        for list in members.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        let mut docs: [Vec<(u32, Vec<String>)>; 3] = Default::default();
        let mut by_level: [Vec<u32>; 3] = Default::default();
        for (i, m) in memories.iter().enumerate() {
            let l = m.level.number() as usize;
            let mut text = m.content.clone();
            if m.level == MemoryLevel::Semantic {
                // A cluster matches the words of its members, not only its summary's.
                for &x in members.get(&(i as u32)).map(Vec::as_slice).unwrap_or(&[]) {
                    text.push(' ');
                    text.push_str(&memories[x as usize].content);
                }
            }
            docs[l].push((i as u32, crate::text::terms(&text)));
            by_level[l].push(i as u32);
        }
        let bm25 = docs.map(|d| Bm25::build(&d));
        let mut meeting_ids: Vec<String> = input.meetings.iter().map(|m| m.id.clone()).collect();
        meeting_ids.sort();
        let number: HashMap<&str, u32> = meeting_ids
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i as u32))
            .collect();
        let meeting_of = memories
            .iter()
            .map(|m| {
                m.meeting
                    .as_deref()
                    .and_then(|id| number.get(id).copied())
                    .unwrap_or(NO_MEETING)
            })
            .collect();
        let mut series_names: Vec<&str> = input
            .meetings
            .iter()
            .filter_map(|m| m.series.as_deref())
            .collect();
        series_names.sort_unstable();
        series_names.dedup();
        let by_id: HashMap<&str, &MeetingInfo> =
            input.meetings.iter().map(|m| (m.id.as_str(), m)).collect();
        let series_of = meeting_ids
            .iter()
            .map(|id| {
                by_id
                    .get(id.as_str())
                    .and_then(|m| m.series.as_deref())
                    .and_then(|s| series_names.binary_search(&s).ok())
                    .map(|i| i as u32)
                    .unwrap_or(NO_MEETING)
            })
            .collect();
        MemoryIndex {
            meeting_ids,
            meeting_of,
            series_of,
            memories,
            pos,
            dim,
            vectors,
            adj,
            meetings: input
                .meetings
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect(),
            members,
            bm25,
            by_level,
        }
    }

    /// The series number of memory `p`'s meeting ([`NO_MEETING`] when none).
    pub(crate) fn series_at(&self, p: u32) -> u32 {
        match self.meeting_of[p as usize] {
            NO_MEETING => NO_MEETING,
            m => self.series_of[m as usize],
        }
    }

    /// Memories in the snapshot.
    pub fn len(&self) -> usize {
        self.memories.len()
    }

    /// No memories.
    pub fn is_empty(&self) -> bool {
        self.memories.is_empty()
    }

    /// Memories per level, `[L0, L1, L2]`.
    pub fn counts(&self) -> [usize; 3] {
        [
            self.by_level[0].len(),
            self.by_level[1].len(),
            self.by_level[2].len(),
        ]
    }

    /// Edges.
    pub fn edge_count(&self) -> usize {
        self.adj.edge_count()
    }

    /// The memory with `id`.
    pub fn get(&self, id: i64) -> Option<&Memory> {
        self.pos.get(&id).map(|&p| &self.memories[p as usize])
    }

    /// Every memory (for consolidation).
    pub fn memories(&self) -> &[Memory] {
        &self.memories
    }

    /// The meetings.
    pub fn meetings(&self) -> &HashMap<String, MeetingInfo> {
        &self.meetings
    }

    /// The embedding of a memory, by position.
    pub(crate) fn vector(&self, p: u32) -> &[f32] {
        &self.vectors[p as usize * self.dim..(p as usize + 1) * self.dim]
    }

    /// The embedding of the memory `id` (L2 stored, L1/L0 member means).
    pub fn vector_of(&self, id: i64) -> Option<&[f32]> {
        self.pos.get(&id).map(|&p| self.vector(p))
    }

    /// L2 memories of meetings other than `meeting` whose cosine with `v` is at least
    /// `threshold(other_meeting)`, best first, at most `k`: (id, meeting, cosine).
    pub fn similar_episodes(
        &self,
        v: &[f32],
        meeting: &str,
        threshold: impl Fn(&str) -> f32,
        k: usize,
    ) -> Vec<(i64, f32)> {
        let mut out = Vec::new();
        for &p in &self.by_level[MemoryLevel::Episodic.number() as usize] {
            let m = &self.memories[p as usize];
            let Some(mid) = m.meeting.as_deref() else {
                continue;
            };
            if mid == meeting {
                continue;
            }
            let c = dot(v, self.vector(p));
            if c >= threshold(mid) {
                out.push((m.id, c));
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }

    /// Positions of one level.
    pub(crate) fn level(&self, level: MemoryLevel) -> &[u32] {
        &self.by_level[level.number() as usize]
    }

    /// BM25 top `k` of a level among `keep`.
    pub(crate) fn bm25(
        &self,
        level: MemoryLevel,
        terms: &[String],
        keep: &dyn Fn(u32) -> bool,
        k: usize,
    ) -> Vec<(u32, f32)> {
        self.bm25[level.number() as usize].search(terms, keep, k)
    }

    /// Exact dense top `k` of a level among `keep`.
    pub(crate) fn dense(
        &self,
        level: MemoryLevel,
        q: &[f32],
        keep: &dyn Fn(u32) -> bool,
        k: usize,
    ) -> Vec<(u32, f32)> {
        let scored: Vec<(u32, f32)> = self
            .level(level)
            .iter()
            .filter(|&&p| keep(p))
            .map(|&p| (p, dot(q, self.vector(p))))
            .collect();
        top_k(scored, k)
    }
}
