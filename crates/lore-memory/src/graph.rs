//! The memory graph's edge weights and thresholds, with the reason for each, and the
//! adjacency that activation and bridges walk.
//!
//! | edge | weight | why |
//! |---|---|---|
//! | sequence (L2 → next L2) | 0.9 | neighbouring segments continue one discussion: a gold answer span averages ~920 tokens, several segments, in QMSum |
//! | reply (question → answer) | 0.8 | the answer is what a question's reader needs next |
//! | causal (cause → decision) | 0.7 | "so we decided" points back at its reason |
//! | same speaker and topic | 0.5 + 0.4·(cos − 0.5)/0.5 | one person returning to a topic later in the meeting |
//! | similar | cos | embedding cosine ≥ [`SIMILAR_SAME_SERIES`] in a series, ≥ [`SIMILAR_OTHER_SERIES`] across series |
//! | member of (L2 → L1) | 0.8 | a cluster stands for its members |
//! | mentions (L2 → L0) | 0.5 | a shared concept is weaker evidence than shared wording |
//!
//! Edges are stored once (`src → dst`) and walked both ways: context before a hit matters
//! as much as after it. Activation leaving a hub (a concept or cluster with many members) is
//! divided by √(degree), the fan effect of ACT-R (Anderson 1974; Anderson & Reder 1999):
//! the more a concept is linked to, the less any one link says.

use lore_core::EdgeKind;

/// Weight of a sequence edge.
pub const W_SEQUENCE: f32 = 0.9;
/// Weight of a reply edge.
pub const W_REPLY: f32 = 0.8;
/// Weight of a causal edge.
pub const W_CAUSAL: f32 = 0.7;
/// Weight of a member-of edge.
pub const W_MEMBER_OF: f32 = 0.8;
/// Weight of a mentions edge.
pub const W_MENTIONS: f32 = 0.5;
/// Cosine above which two memories of one series (or one meeting) are linked as similar.
pub const SIMILAR_SAME_SERIES: f32 = 0.6;
/// Cosine above which memories of different series are linked: different teams need
/// stronger evidence that they talk about the same thing.
pub const SIMILAR_OTHER_SERIES: f32 = 0.8;
/// Most similar-edges made per new memory (strongest first).
pub const MAX_SIMILAR_PER_MEMORY: usize = 3;
/// Cosine for a same-speaker-and-topic edge.
pub const SAME_SPEAKER_TOPIC: f32 = 0.5;

/// Weight of a same-speaker-and-topic edge at cosine `cos` (≥ [`SAME_SPEAKER_TOPIC`]).
pub fn same_speaker_topic_weight(cos: f32) -> f32 {
    (0.5 + 0.4 * (cos - SAME_SPEAKER_TOPIC) / (1.0 - SAME_SPEAKER_TOPIC)).clamp(0.5, 0.9)
}

/// How an edge kind reads in a bridge's explanation.
pub fn describe(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Sequence => "follows on from",
        EdgeKind::SameSpeakerTopic => "raised by the same speaker on the same topic as",
        EdgeKind::Similar => "discusses the same thing as",
        EdgeKind::Reply => "answers a question in",
        EdgeKind::Causal => "gives the reason for",
        EdgeKind::MemberOf => "belongs to the same cluster as",
        EdgeKind::Mentions => "mentions a concept of",
    }
}

/// One side of an edge as seen from a node: the neighbour's position, the kind and weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Neighbour (position in the index).
    pub to: u32,
    /// Kind.
    pub kind: EdgeKind,
    /// Weight in (0, 1].
    pub weight: f32,
}

/// Adjacency lists over positions `0..n`, both directions of every edge.
#[derive(Debug, Clone, Default)]
pub struct Adjacency {
    links: Vec<Vec<Link>>,
}

impl Adjacency {
    /// Empty lists for `n` nodes.
    pub fn new(n: usize) -> Self {
        Adjacency {
            links: vec![Vec::new(); n],
        }
    }

    /// Adds `a ↔ b`.
    pub fn add(&mut self, a: u32, b: u32, kind: EdgeKind, weight: f32) {
        if a == b {
            return;
        }
        self.links[a as usize].push(Link {
            to: b,
            kind,
            weight,
        });
        self.links[b as usize].push(Link {
            to: a,
            kind,
            weight,
        });
    }

    /// The links of node `a`.
    pub fn links(&self, a: u32) -> &[Link] {
        self.links.get(a as usize).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Nodes.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// No nodes.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Edges (each counted once).
    pub fn edge_count(&self) -> usize {
        self.links.iter().map(Vec::len).sum::<usize>() / 2
    }
}
