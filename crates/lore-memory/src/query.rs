//! The unified cognitive query: direct hits per level (BM25 and dense fused by RRF), then
//! activation spreading from them, then bridge discovery, under the caller's filters and
//! access scope.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use lore_core::{Memory, MemoryLevel, MemoryType};
use serde::{Deserialize, Serialize};

use crate::activation::{self, ActivationClass, ActivationConfig};
use crate::bridges;
use crate::index::MemoryIndex;

/// RRF's constant (Cormack, Clarke & Büttcher 2009).
pub const RRF_K: f32 = 60.0;
/// Candidates each leg (BM25, dense) hands to fusion.
pub const CANDIDATES: usize = 100;
/// Most bridges returned.
pub const MAX_BRIDGES: usize = 5;

/// Filters of a memory query; every field optional, all must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryFilters {
    /// Meeting id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting: Option<String>,
    /// Series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// A speaker of the memory (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// Meetings on or after this date (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_from: Option<String>,
    /// Meetings on or before this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_to: Option<String>,
    /// Memory type (`decision`, `action_item`, … `cluster`, `topic`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub memory_type: Option<MemoryType>,
    /// Meeting domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

fn default_limit() -> usize {
    10
}
fn yes() -> bool {
    true
}
fn default_max_activations() -> usize {
    50
}

/// `POST /v1/memory/query`'s body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryQuery {
    /// The question, 1-1000 characters.
    pub query: String,
    /// Direct results per level, 1-50.
    #[serde(default = "default_limit")]
    pub limit_per_level: usize,
    /// Spread activation from the direct hits.
    #[serde(default = "yes")]
    pub enable_activation: bool,
    /// Look for bridge memories.
    #[serde(default = "yes")]
    pub enable_bridges: bool,
    /// Most activated memories, 10-100.
    #[serde(default = "default_max_activations")]
    pub max_activations: usize,
    /// Filters.
    #[serde(default)]
    pub filters: MemoryFilters,
}

impl MemoryQuery {
    /// A query with the defaults.
    pub fn new(query: impl Into<String>) -> Self {
        MemoryQuery {
            query: query.into(),
            limit_per_level: default_limit(),
            enable_activation: true,
            enable_bridges: true,
            max_activations: default_max_activations(),
            filters: MemoryFilters::default(),
        }
    }

    /// Checks ranges.
    ///
    /// # Errors
    /// [`QueryError`] naming the field out of range.
    pub fn validate(&self) -> Result<(), QueryError> {
        let chars = self.query.trim().chars().count();
        if !(1..=1000).contains(&chars) {
            return Err(QueryError::new(
                "query",
                format!("must be 1-1000 characters (got {chars})"),
            ));
        }
        if !(1..=50).contains(&self.limit_per_level) {
            return Err(QueryError::new(
                "limit_per_level",
                format!("must be 1-50 (got {})", self.limit_per_level),
            ));
        }
        if !(10..=100).contains(&self.max_activations) {
            return Err(QueryError::new(
                "max_activations",
                format!("must be 10-100 (got {})", self.max_activations),
            ));
        }
        for (field, d) in [
            ("filters.date_from", &self.filters.date_from),
            ("filters.date_to", &self.filters.date_to),
        ] {
            if let Some(d) = d {
                let ok = d.len() == 10
                    && d.bytes().enumerate().all(|(i, c)| {
                        if i == 4 || i == 7 {
                            c == b'-'
                        } else {
                            c.is_ascii_digit()
                        }
                    });
                if !ok {
                    return Err(QueryError::new(field, format!("`{d}` is not YYYY-MM-DD")));
                }
            }
        }
        Ok(())
    }
}

/// A query field out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    /// The field (`limit_per_level`, `filters.date_from`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl QueryError {
    fn new(field: &'static str, message: String) -> Self {
        QueryError { field, message }
    }
}

/// A memory in a result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemoryHit {
    /// The memory.
    #[serde(flatten)]
    pub memory: Memory,
    /// Relevance: the RRF score for direct hits, the activation for activated memories,
    /// the bridge score for bridges.
    pub score: f32,
    /// Members (L1: its episodic memories; L0: the memories mentioning it), at most 20.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<i64>,
}

/// An activated memory.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActivatedMemory {
    /// The memory; `score` = strength.
    #[serde(flatten)]
    pub hit: MemoryHit,
    /// Activation in (0, 1].
    pub strength: f32,
    /// Hops from a direct hit (1-3).
    pub depth: u8,
    /// Memory ids from the direct hit to this one.
    pub path: Vec<i64>,
    /// Core, contextual or peripheral.
    pub class: ActivationClass,
}

/// A bridge memory.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BridgeMemory {
    /// The memory; `score` = novelty × connection.
    #[serde(flatten)]
    pub hit: MemoryHit,
    /// 1 − cosine to the query.
    pub novelty: f32,
    /// Activation flowing into it from the activated set.
    pub connection: f32,
    /// The activated memories it connects to.
    pub connects: Vec<i64>,
    /// Why it is a bridge, from its edges.
    pub explanation: String,
}

/// Direct hits by level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DirectResults {
    /// Episodic memories (segments of turns).
    #[serde(rename = "L2")]
    pub episodic: Vec<MemoryHit>,
    /// Semantic memories (clusters).
    #[serde(rename = "L1")]
    pub semantic: Vec<MemoryHit>,
    /// Concepts.
    #[serde(rename = "L0")]
    pub concepts: Vec<MemoryHit>,
}

/// Time per stage, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StageTimes {
    /// Query embedding (0 when cached).
    pub embed_ms: f64,
    /// Direct retrieval.
    pub direct_ms: f64,
    /// Activation spreading.
    pub activation_ms: f64,
    /// Bridge discovery.
    pub bridges_ms: f64,
}

/// `POST /v1/memory/query`'s answer. Memories are listed episodic first in each part,
/// since they carry the turns.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemoryQueryResponse {
    /// The query.
    pub query: String,
    /// Direct hits by level.
    pub direct_results: DirectResults,
    /// Memories reached by spreading, episodic first then by strength.
    pub activated_memories: Vec<ActivatedMemory>,
    /// Bridges, best first.
    pub bridge_memories: Vec<BridgeMemory>,
    /// Total time, ms.
    pub processing_time_ms: f64,
    /// Per stage, ms.
    pub stages: StageTimes,
    /// Memories returned in all.
    pub total_results: usize,
    /// Served from the cache.
    #[serde(default)]
    pub cached: bool,
}

impl MemoryQueryResponse {
    /// Every memory in the order the API lists them: direct (L2, L1, L0), activated,
    /// bridges.
    pub fn ordered(&self) -> Vec<&Memory> {
        let d = &self.direct_results;
        d.episodic
            .iter()
            .chain(&d.semantic)
            .chain(&d.concepts)
            .map(|h| &h.memory)
            .chain(self.activated_memories.iter().map(|a| &a.hit.memory))
            .chain(self.bridge_memories.iter().map(|b| &b.hit.memory))
            .collect()
    }
}

/// Who asks: the domains a key may read (`None`: all).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Allowed meeting domains; a meeting without a domain is readable only when
    /// unrestricted.
    pub domains: Option<Vec<String>>,
}

/// Per-node predicates for one query: meeting-level answers precomputed once, hub answers
/// (concepts and cross-meeting clusters, which depend on their members) memoised.
pub(crate) struct Visibility<'a> {
    index: &'a MemoryIndex,
    meeting_visible: Vec<bool>,
    meeting_passes: Vec<bool>,
    filters: &'a MemoryFilters,
    /// Per memory: 0 not computed, 1 no, 2 visible only, 3 visible and reportable.
    memo: std::cell::RefCell<Vec<u8>>,
}

impl<'a> Visibility<'a> {
    pub(crate) fn new(index: &'a MemoryIndex, filters: &'a MemoryFilters, scope: &Scope) -> Self {
        let mut meeting_visible = Vec::with_capacity(index.meeting_ids.len());
        let mut meeting_passes = Vec::with_capacity(index.meeting_ids.len());
        for id in &index.meeting_ids {
            let Some(m) = index.meetings.get(id) else {
                meeting_visible.push(false);
                meeting_passes.push(false);
                continue;
            };
            let visible = match &scope.domains {
                None => true,
                Some(allowed) => m.domain.as_ref().is_some_and(|d| allowed.contains(d)),
            };
            let f = filters;
            let passes = f.meeting.as_ref().is_none_or(|x| x == id)
                && f.series
                    .as_ref()
                    .is_none_or(|s| m.series.as_ref() == Some(s))
                && f.domain
                    .as_ref()
                    .is_none_or(|s| m.domain.as_ref() == Some(s))
                && f.date_from
                    .as_ref()
                    .is_none_or(|d| m.date.as_ref().is_some_and(|md| md >= d))
                && f.date_to
                    .as_ref()
                    .is_none_or(|d| m.date.as_ref().is_some_and(|md| md <= d));
            meeting_visible.push(visible);
            meeting_passes.push(passes);
        }
        Visibility {
            index,
            meeting_visible,
            meeting_passes,
            filters,
            memo: std::cell::RefCell::new(vec![0; index.memories.len()]),
        }
    }

    fn episode_visible(&self, p: u32) -> bool {
        match self.index.meeting_of[p as usize] {
            crate::index::NO_MEETING => false,
            m => self.meeting_visible[m as usize],
        }
    }

    fn episode_passes(&self, p: u32) -> bool {
        let meeting_ok = match self.index.meeting_of[p as usize] {
            crate::index::NO_MEETING => false,
            m => self.meeting_passes[m as usize],
        };
        meeting_ok
            && self.filters.participant.as_ref().is_none_or(|who| {
                self.index.memories[p as usize]
                    .speakers
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(who))
            })
    }

    fn state(&self, p: u32) -> u8 {
        let cached = self.memo.borrow()[p as usize];
        if cached != 0 {
            return cached;
        }
        let m = &self.index.memories[p as usize];
        let type_ok = self.filters.memory_type.is_none_or(|t| t == m.memory_type);
        let (visible, passes) = if m.meeting.is_some() {
            let v = self.episode_visible(p);
            let pass = if m.level == MemoryLevel::Episodic {
                self.episode_passes(p)
            } else {
                self.members(p).iter().any(|&x| self.episode_passes(x))
            };
            (v, pass)
        } else {
            let members = self.members(p);
            // A cross-meeting cluster quotes its members: visible only if all are. A
            // concept is a phrase: visible if any member is (never only through hidden ones).
            let v = match m.level {
                MemoryLevel::Semantic => {
                    !members.is_empty() && members.iter().all(|&x| self.episode_visible(x))
                }
                _ => members.iter().any(|&x| self.episode_visible(x)),
            };
            (
                v,
                members
                    .iter()
                    .any(|&x| self.episode_passes(x) && self.episode_visible(x)),
            )
        };
        let s = match (visible, visible && passes && type_ok) {
            (false, _) => 1,
            (true, false) => 2,
            (true, true) => 3,
        };
        self.memo.borrow_mut()[p as usize] = s;
        s
    }

    fn members(&self, p: u32) -> &'a [u32] {
        self.index.members.get(&p).map(Vec::as_slice).unwrap_or(&[])
    }

    /// May the caller see memory `p` (access only)? Episodic and per-meeting memories by
    /// their meeting's domain; a cross-meeting cluster only when every member is visible
    /// (its summary quotes them); a concept when any member is.
    pub(crate) fn visible(&self, p: u32) -> bool {
        self.state(p) >= 2
    }

    /// Does memory `p` pass the filters (and access)?
    pub(crate) fn reportable(&self, p: u32) -> bool {
        self.state(p) == 3
    }
}

impl MemoryIndex {
    pub(crate) fn hit(&self, p: u32, score: f32) -> MemoryHit {
        let members = self
            .members
            .get(&p)
            .map(|v| {
                v.iter()
                    .take(20)
                    .map(|&x| self.memories[x as usize].id)
                    .collect()
            })
            .unwrap_or_default();
        MemoryHit {
            memory: self.memories[p as usize].clone(),
            score,
            members,
        }
    }

    /// Direct hits of one level: BM25 and dense (exact) fused by RRF, top `limit`.
    pub(crate) fn direct(
        &self,
        level: MemoryLevel,
        terms: &[String],
        q: &[f32],
        vis: &Visibility<'_>,
        limit: usize,
    ) -> Vec<(u32, f32)> {
        let keep = |p: u32| vis.reportable(p);
        let lexical = self.bm25(level, terms, &keep, CANDIDATES);
        let dense = self.dense(level, q, &keep, CANDIDATES);
        let mut fused: HashMap<u32, f32> = HashMap::new();
        for list in [&lexical, &dense] {
            for (rank, (p, _)) in list.iter().enumerate() {
                *fused.entry(*p).or_insert(0.0) += 1.0 / (RRF_K + rank as f32 + 1.0);
            }
        }
        let mut v: Vec<(u32, f32)> = fused.into_iter().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(limit);
        v
    }

    /// Runs `req` with the query embedding `q` (384-d, normalised) for the caller `scope`.
    /// `embed_ms` is reported as given. The request must be valid ([`MemoryQuery::validate`]).
    pub fn query(
        &self,
        req: &MemoryQuery,
        q: &[f32],
        scope: &Scope,
        embed_ms: f64,
    ) -> MemoryQueryResponse {
        let t0 = Instant::now();
        let vis = Visibility::new(self, &req.filters, scope);
        let terms = crate::text::terms(&req.query);
        let limit = req.limit_per_level;
        let l2 = self.direct(MemoryLevel::Episodic, &terms, q, &vis, limit);
        let l1 = self.direct(MemoryLevel::Semantic, &terms, q, &vis, limit);
        let l0 = self.direct(MemoryLevel::Concept, &terms, q, &vis, limit);
        let direct_ms = ms(t0);

        let t1 = Instant::now();
        let mut seeds: Vec<(u32, f32)> = l2
            .iter()
            .enumerate()
            .map(|(r, (p, _))| (*p, activation::seed_strength(r)))
            .collect();
        // Clusters seed too, a little weaker: they stand for several segments at once.
        seeds.extend(
            l1.iter()
                .enumerate()
                .map(|(r, (p, _))| (*p, 0.8 * activation::seed_strength(r))),
        );
        let direct_set: HashSet<u32> = l2.iter().chain(&l1).chain(&l0).map(|x| x.0).collect();
        let mut activated = Vec::new();
        if req.enable_activation && !seeds.is_empty() {
            let cfg = ActivationConfig {
                max_activations: req.max_activations,
                ..ActivationConfig::default()
            };
            let found = activation::spread(
                &self.adj,
                &seeds,
                &cfg,
                |p| vis.visible(p),
                |p| vis.reportable(p) && !direct_set.contains(&p),
                |p| self.memories[p as usize].level != MemoryLevel::Episodic,
                |p| 0.8 + 0.2 * self.memories[p as usize].importance.clamp(0.0, 1.0),
            );
            activated = found;
            // Episodic first (they carry the turns), each level by strength.
            activated.sort_by(|a, b| {
                let la = self.memories[a.node as usize].level;
                let lb = self.memories[b.node as usize].level;
                lb.cmp(&la)
                    .then(b.strength.total_cmp(&a.strength))
                    .then(a.node.cmp(&b.node))
            });
        }
        let activation_ms = ms(t1);

        let t2 = Instant::now();
        let mut bridge_list = Vec::new();
        if req.enable_bridges && !seeds.is_empty() {
            let mut active: HashMap<u32, f32> = seeds.iter().copied().collect();
            for a in &activated {
                active.insert(a.node, a.strength);
            }
            bridge_list = bridges::discover(self, q, &active, &seeds, &vis, MAX_BRIDGES);
        }
        let bridges_ms = ms(t2);

        let direct_results = DirectResults {
            episodic: l2.iter().map(|&(p, s)| self.hit(p, s)).collect(),
            semantic: l1.iter().map(|&(p, s)| self.hit(p, s)).collect(),
            concepts: l0.iter().map(|&(p, s)| self.hit(p, s)).collect(),
        };
        let activated_memories: Vec<ActivatedMemory> = activated
            .iter()
            .map(|a| ActivatedMemory {
                hit: self.hit(a.node, a.strength),
                strength: a.strength,
                depth: a.depth,
                path: a
                    .path
                    .iter()
                    .map(|&p| self.memories[p as usize].id)
                    .collect(),
                class: ActivationClass::of(a.strength),
            })
            .collect();
        let total_results = direct_results.episodic.len()
            + direct_results.semantic.len()
            + direct_results.concepts.len()
            + activated_memories.len()
            + bridge_list.len();
        MemoryQueryResponse {
            query: req.query.clone(),
            direct_results,
            activated_memories,
            bridge_memories: bridge_list,
            processing_time_ms: embed_ms + ms(t0),
            stages: StageTimes {
                embed_ms,
                direct_ms,
                activation_ms,
                bridges_ms,
            },
            total_results,
            cached: false,
        }
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_fields_are_named() {
        let mut q = MemoryQuery::new("what did we decide?");
        assert!(q.validate().is_ok());
        q.limit_per_level = 51;
        assert_eq!(q.validate().unwrap_err().field, "limit_per_level");
        q.limit_per_level = 10;
        q.max_activations = 9;
        assert_eq!(q.validate().unwrap_err().field, "max_activations");
        q.max_activations = 50;
        q.query = " ".into();
        assert_eq!(q.validate().unwrap_err().field, "query");
        q.query = "x".repeat(1001);
        assert_eq!(q.validate().unwrap_err().field, "query");
        q.query = "ok".into();
        q.filters.date_from = Some("2024/01/01".into());
        assert_eq!(q.validate().unwrap_err().field, "filters.date_from");
        let bad: Result<MemoryQuery, _> = serde_json::from_str(r#"{"query":"x","limit":3}"#);
        assert!(bad.unwrap_err().to_string().contains("limit"));
    }
}
