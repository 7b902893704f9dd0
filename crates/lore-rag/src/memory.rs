//! The engine's meeting memory: transcripts in (segment, embed, build, store in the
//! catalog), the in-process index rebuilt from the catalog after each write, cognitive
//! queries with a result cache, consolidation. Every method takes `&self`: writes are
//! serialised by an internal lock, queries read an immutable snapshot, so a server never
//! blocks searches while a meeting is ingested.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use lore_core::{Access, Meeting};
use lore_embed::Embedder;
use lore_index::memories::{MeetingSummary, MemoryStore};
use lore_memory::{
    build, consolidate, MemoryIndex, MemoryQuery, MemoryQueryResponse, Scope, SegmentConfig,
};
use serde::Serialize;

use crate::memory_llm::MemoryLlm;
use crate::{Engine, EngineError, GeneratorKind};

/// Memory settings (`[memory]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// Half-life of importance (humantime, e.g. `30d`).
    #[serde(with = "lore_core::duration::days", alias = "half_life_days")]
    pub half_life: Duration,
    /// How often serve mode consolidates (humantime; `0s` = never).
    #[serde(with = "lore_core::duration::secs", alias = "consolidate_every_secs")]
    pub consolidate_every: Duration,
    /// Query results cached (entries; 0 = no cache).
    pub cache_entries: u64,
    /// Which LLM types episodic memories and summarises clusters at ingest
    /// ([`crate::memory_llm`]): `auto` (the OpenAI-compatible server when `[llm] generator
    /// = "openai"`, else none), `none` (rules and extractive summaries), `openai` or
    /// `embedded`.
    pub llm: MemoryLlmChoice,
}

/// `[memory] llm`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryLlmChoice {
    /// The OpenAI-compatible server when it is the default generator, else none: the
    /// embedded models (135M-270M parameters) label too poorly to be on by default.
    #[default]
    Auto,
    /// Rules and extractive summaries only.
    None,
    /// The `[llm.openai]` server.
    #[serde(rename = "openai")]
    OpenAi,
    /// The embedded GGUF model (no constrained decoding: its output is validated and
    /// falls back to the rules when unusable).
    Embedded,
}

impl MemoryLlmChoice {
    /// The generator to use, given the default answer generator.
    pub fn resolve(self, default: GeneratorKind) -> Option<GeneratorKind> {
        match self {
            MemoryLlmChoice::Auto => {
                (default == GeneratorKind::OpenAi).then_some(GeneratorKind::OpenAi)
            }
            MemoryLlmChoice::None => None,
            MemoryLlmChoice::OpenAi => Some(GeneratorKind::OpenAi),
            MemoryLlmChoice::Embedded => Some(GeneratorKind::Embedded),
        }
    }
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            half_life: Duration::from_secs(30 * 24 * 3600),
            consolidate_every: Duration::from_secs(3600),
            cache_entries: 10_000,
            llm: MemoryLlmChoice::Auto,
        }
    }
}

/// What happened to one ingested meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// New.
    Added,
    /// Replaced a stored version with other content.
    Replaced,
    /// Same content hash as stored: nothing written.
    Unchanged,
}

/// The result of ingesting one meeting.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeetingIngest {
    /// Meeting id.
    pub id: String,
    /// Added, replaced or unchanged.
    pub status: MeetingStatus,
    /// Turns.
    pub turns: usize,
    /// Episodic memories (segments).
    pub episodic: usize,
    /// Memories written in all (L2, L1 and new concepts).
    pub memories: usize,
    /// Edges written.
    pub edges: usize,
    /// Wall time, ms.
    pub elapsed_ms: f64,
    /// What the LLM typed and summarised (absent without one: rules and extractive
    /// summaries throughout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<crate::memory_llm::MemoryLlmUse>,
}

/// Memory counts (metrics, `/health/detailed`, `lore memory stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemoryStats {
    /// Meetings.
    pub meetings: usize,
    /// L0 concepts.
    pub concepts: usize,
    /// L1 semantic memories.
    pub semantic: usize,
    /// L2 episodic memories.
    pub episodic: usize,
    /// Edges.
    pub edges: usize,
    /// Catalog write counter the index reflects.
    pub version: i64,
}

/// What a consolidation run did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConsolidationReport {
    /// Importance values changed.
    pub importance_updated: usize,
    /// Cross-meeting clusters created.
    pub promoted: usize,
    /// Stale or orphaned memories removed.
    pub removed: usize,
    /// Wall time, ms.
    pub elapsed_ms: f64,
}

#[derive(Clone)]
struct CachedQuery {
    response: Arc<MemoryQueryResponse>,
    /// The meeting filter of the query (`None`: every meeting).
    meeting: Option<String>,
}

/// The memory service the engine owns.
pub struct MemoryService {
    store: MemoryStore,
    index: RwLock<Arc<MemoryIndex>>,
    write: Mutex<()>,
    cache: Option<moka::sync::Cache<String, CachedQuery>>,
    access: Mutex<HashMap<i64, u32>>,
    config: MemoryConfig,
    segments: SegmentConfig,
    dim: usize,
}

impl MemoryService {
    /// Opens the memory tables of `catalog` and builds the index.
    ///
    /// # Errors
    /// [`EngineError::Index`] when the catalog cannot be read.
    pub fn open(
        catalog: &std::path::Path,
        config: MemoryConfig,
        dim: usize,
    ) -> Result<Self, EngineError> {
        let store = MemoryStore::open(catalog)?;
        let index = MemoryIndex::build(store.load()?, dim);
        let cache = (config.cache_entries > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(config.cache_entries)
                .support_invalidation_closures()
                .build()
        });
        Ok(MemoryService {
            store,
            index: RwLock::new(Arc::new(index)),
            write: Mutex::new(()),
            cache,
            access: Mutex::new(HashMap::new()),
            config,
            segments: SegmentConfig::default(),
            dim,
        })
    }

    /// The current snapshot.
    pub fn index(&self) -> Arc<MemoryIndex> {
        self.index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn reload(&self) -> Result<(), EngineError> {
        let index = MemoryIndex::build(self.store.load()?, self.dim);
        *self.index.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(index);
        Ok(())
    }

    /// Drops cached results a write to `meeting` can change: those filtered to it and
    /// those over every meeting (`None` drops all).
    fn invalidate(&self, meeting: Option<&str>) {
        if let Some(cache) = &self.cache {
            match meeting {
                None => cache.invalidate_all(),
                Some(m) => {
                    let m = m.to_string();
                    // Errors only when closures are unsupported, which the builder enabled.
                    let _ = cache.invalidate_entries_if(move |_, v| {
                        v.meeting.as_deref().is_none_or(|x| x == m)
                    });
                }
            }
        }
    }

    /// Stored meetings.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn meetings(&self) -> Result<Vec<MeetingSummary>, EngineError> {
        Ok(self.store.meetings()?)
    }

    /// A stored meeting's metadata and turns.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn meeting(
        &self,
        id: &str,
    ) -> Result<Option<(lore_core::MeetingInfo, Vec<lore_core::Turn>)>, EngineError> {
        Ok(self.store.meeting(id)?)
    }

    /// Counts.
    pub fn stats(&self) -> MemoryStats {
        let index = self.index();
        let [concepts, semantic, episodic] = index.counts();
        MemoryStats {
            meetings: index.meetings().len(),
            concepts,
            semantic,
            episodic,
            edges: index.edge_count(),
            version: self.store.version().unwrap_or(0),
        }
    }

    /// The settings.
    pub fn config(&self) -> &MemoryConfig {
        &self.config
    }

    /// Writes the accesses counted since the last flush.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn flush_access(&self, now_ms: i64) -> Result<(), EngineError> {
        let counts: Vec<(i64, u32)> = {
            let mut map = self.access.lock().unwrap_or_else(PoisonError::into_inner);
            map.drain().collect()
        };
        self.store.record_access(&counts, now_ms)?;
        Ok(())
    }
}

impl Engine {
    /// The meeting memory.
    pub fn memory(&self) -> &MemoryService {
        &self.memory
    }

    /// Ingests one meeting: segments, embeds (episodes over the model's 256 tokens are
    /// embedded from their start; BM25 reads them whole), builds memories and edges, and
    /// replaces the stored meeting in one transaction. An unchanged meeting (same content
    /// hash) is a no-op.
    ///
    /// # Errors
    /// [`EngineError::Embed`], [`EngineError::Index`]; nothing is stored then.
    pub fn memory_ingest(&self, meeting: Meeting) -> Result<MeetingIngest, EngineError> {
        let start = Instant::now();
        let svc = &self.memory;
        let _guard = svc.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut plan = build::plan(meeting, &svc.segments);
        let id = plan.meeting.info.id.clone();
        let turns = plan.meeting.turns.len();
        let stored = svc.store.meeting_hash(&id)?;
        if stored.as_deref() == Some(plan.content_hash.as_str()) {
            return Ok(MeetingIngest {
                id,
                status: MeetingStatus::Unchanged,
                turns,
                episodic: 0,
                memories: 0,
                edges: 0,
                elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
                llm: None,
            });
        }
        let vectors = self.embed_memory_texts(&plan.texts)?;
        let llm = self.memory_llm()?;
        let mut used = llm.as_ref().map(|l| l.label(&mut plan));
        let episodic = plan.segments.len();
        let index = svc.index();
        let now = lore_index::now_ms();
        let mut built = build::build(plan, vectors, &index, now);
        if let (Some(l), Some(u)) = (&llm, used.as_mut()) {
            l.summarize_clusters(&mut built, u);
        }
        let written = svc.store.replace_meeting(&built, now)?;
        svc.reload()?;
        svc.invalidate(Some(&id));
        Ok(MeetingIngest {
            id,
            status: if stored.is_some() {
                MeetingStatus::Replaced
            } else {
                MeetingStatus::Added
            },
            turns,
            episodic,
            memories: written.memories,
            edges: written.edges,
            elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
            llm: used,
        })
    }

    /// The LLM that types and summarises at ingest (`[memory] llm`), if any.
    ///
    /// # Errors
    /// [`EngineError::Llm`]: the chosen generator cannot be loaded (missing GGUF, bad
    /// endpoint settings); the ingest stops before anything is stored.
    fn memory_llm(&self) -> Result<Option<MemoryLlm>, EngineError> {
        match self.memory.config.llm.resolve(self.config.llm.generator) {
            Some(kind) => Ok(Some(MemoryLlm::new(self.generator(kind)?))),
            None => Ok(None),
        }
    }

    /// Embeds memory texts through the embedding cache: a segment already embedded (a
    /// re-ingest with new metadata, a copy of a meeting) is not embedded again.
    fn embed_memory_texts(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EngineError> {
        let model = self.embedder.model_id();
        let keys: Vec<_> = texts
            .iter()
            .map(|t| {
                self.caches
                    .embedding_key(&model, &format!("memory\u{1f}{t}"))
            })
            .collect();
        let mut out: Vec<Option<Vec<f32>>> = keys
            .iter()
            .map(|k| self.caches.embedding.get(k).map(|v| v.as_ref().clone()))
            .collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let batch: Vec<&str> = missing.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = lore_embed::embed_truncating(self.embedder.as_ref(), &batch)?;
            for (&i, v) in missing.iter().zip(vectors) {
                self.caches
                    .embedding
                    .insert(&keys[i], v.clone(), Vec::new());
                out[i] = Some(v);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Deletes a meeting with its memories, edges and index entries, and the cached
    /// results it could be in. `false` when no such meeting exists.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn memory_delete(&self, id: &str) -> Result<bool, EngineError> {
        let svc = &self.memory;
        let _guard = svc.write.lock().unwrap_or_else(PoisonError::into_inner);
        let deleted = svc.store.delete_meeting(id)?;
        if deleted {
            svc.reload()?;
            svc.invalidate(Some(id));
        }
        Ok(deleted)
    }

    /// Consolidates at `now_ms` (an injected clock: the same state and time give the same
    /// result): flushes counted accesses, updates importance, promotes recurring episodes
    /// into cross-meeting clusters, removes stale ones.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn memory_consolidate(&self, now_ms: i64) -> Result<ConsolidationReport, EngineError> {
        let start = Instant::now();
        let svc = &self.memory;
        let _guard = svc.write.lock().unwrap_or_else(PoisonError::into_inner);
        svc.flush_access(now_ms)?;
        svc.reload()?;
        let half_life = svc.config.half_life.as_millis() as i64;
        let plan = consolidate::plan(&svc.index(), now_ms, half_life);
        svc.store.apply_consolidation(&plan)?;
        svc.reload()?;
        svc.invalidate(None);
        Ok(ConsolidationReport {
            importance_updated: plan.importance.len(),
            promoted: plan.promoted.len(),
            removed: plan.removed.len(),
            elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// The passages of an answer from memory: the first `top_k` episodic memories of a
    /// cognitive query (direct hits, then activated ones, in API order) as hits whose
    /// source is the meeting and whose location names the turns and speakers, so a
    /// citation reads `ES2004a (turns 40-52; Marketing, Project Manager)`.
    ///
    /// # Errors
    /// As [`Engine::memory_query`].
    pub fn memory_hits(
        &self,
        question: &str,
        top_k: usize,
        access: &Access,
    ) -> Result<Vec<lore_core::Hit>, EngineError> {
        let mut req = MemoryQuery::new(question.chars().take(1000).collect::<String>());
        req.limit_per_level = top_k.clamp(1, 50);
        req.enable_bridges = false;
        let r = self.memory_query(&req, access)?;
        let index = self.memory.index();
        let scores: HashMap<i64, f32> = r
            .direct_results
            .episodic
            .iter()
            .map(|h| (h.memory.id, h.score))
            .chain(
                r.activated_memories
                    .iter()
                    .map(|a| (a.hit.memory.id, a.strength)),
            )
            .collect();
        Ok(r.ordered()
            .into_iter()
            .filter(|m| m.level == lore_core::MemoryLevel::Episodic)
            .take(top_k)
            .map(|m| {
                let meeting = m.meeting.clone().unwrap_or_default();
                let info = index.meetings().get(&meeting);
                lore_core::Hit {
                    document_id: 0,
                    chunk_id: m.id,
                    source: meeting.clone(),
                    title: info
                        .map(|i| i.title.clone())
                        .unwrap_or_else(|| meeting.clone()),
                    page: None,
                    heading: Some(format!(
                        "turns {}-{}; {}",
                        m.turn_start.unwrap_or(0),
                        m.turn_end.unwrap_or(0),
                        m.speakers.join(", ")
                    )),
                    domain: info.and_then(|i| i.domain.clone()),
                    score: scores.get(&m.id).copied().unwrap_or(0.0),
                    text: m.content.clone(),
                }
            })
            .collect())
    }

    /// The unified cognitive query for a caller with `access` (its domain restriction
    /// applies inside retrieval, activation and bridges).
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`] naming the field out of range; [`EngineError::Embed`].
    pub fn memory_query(
        &self,
        req: &MemoryQuery,
        access: &Access,
    ) -> Result<MemoryQueryResponse, EngineError> {
        req.validate()
            .map_err(|e| EngineError::InvalidRequest(e.to_string()))?;
        let svc = &self.memory;
        let key = format!(
            "{}\u{1f}{}",
            access.fingerprint(),
            serde_json::to_string(req).unwrap_or_default()
        );
        if let Some(hit) = svc.cache.as_ref().and_then(|c| c.get(&key)) {
            let mut r = (*hit.response).clone();
            r.cached = true;
            return Ok(r);
        }
        let t = Instant::now();
        let q = self.embed_query(&req.query)?;
        let embed_ms = t.elapsed().as_secs_f64() * 1000.0;
        let scope = Scope {
            domains: access.domains.clone(),
        };
        let response = svc.index().query(req, &q, &scope, embed_ms);
        {
            let mut acc = svc.access.lock().unwrap_or_else(PoisonError::into_inner);
            for m in response.ordered() {
                *acc.entry(m.id).or_insert(0) += 1;
            }
        }
        if let Some(c) = &svc.cache {
            c.insert(
                key,
                CachedQuery {
                    response: Arc::new(response.clone()),
                    meeting: req.filters.meeting.clone(),
                },
            );
        }
        Ok(response)
    }
}
