//! Retrieval: BM25 ∥ dense → RRF → hits.

use std::time::Instant;

use lore_core::{Access, Filter, FilterSet, Hit, SearchMode};
use lore_embed::Embedder;
use lore_index::{reciprocal_rank_fusion, DenseStrategy, SearchParams};
use serde::Serialize;

use crate::{Engine, EngineCaches, EngineError};

/// Most results a search may ask for.
pub const MAX_TOP_K: usize = 1000;

/// Results a search returns when the request names no `top_k` (CLI, HTTP and SDKs alike).
pub const DEFAULT_TOP_K: usize = 10;

/// Candidates each leg contributes to hybrid fusion by default.
pub const DEFAULT_CANDIDATES: usize = 100;

/// A search.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Query text.
    pub query: String,
    /// Collection to search.
    pub collection: String,
    /// Results wanted (1..=1000; default [`DEFAULT_TOP_K`]).
    pub top_k: usize,
    /// Legs to run.
    pub mode: SearchMode,
    /// Metadata filters (applied inside both legs).
    pub filters: Vec<Filter>,
    /// Candidates each leg contributes to fusion (default 100; raised to `top_k` if lower).
    pub candidates: usize,
    /// What the caller may read: a collection outside it is refused, its domains are ANDed
    /// into the filters of both legs and into the cache key (default: everything).
    pub access: Access,
}

impl SearchRequest {
    /// A hybrid top-10 search with default candidates.
    pub fn new(collection: impl Into<String>, query: impl Into<String>) -> Self {
        SearchRequest {
            query: query.into(),
            collection: collection.into(),
            top_k: DEFAULT_TOP_K,
            mode: SearchMode::Hybrid,
            filters: Vec::new(),
            candidates: DEFAULT_CANDIDATES,
            access: Access::all(),
        }
    }
}

/// Stage timings of one search, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Timings {
    /// Query embedding.
    pub embed: f64,
    /// BM25 leg.
    pub bm25: f64,
    /// Dense leg (ANN or exact scan).
    pub dense: f64,
    /// Fusion.
    pub fuse: f64,
    /// Loading hit text and metadata from the catalog.
    pub hydrate: f64,
    /// Whole search.
    pub total: f64,
}

impl Timings {
    /// Retrieval time excluding the query embedding (ms).
    pub fn retrieval(&self) -> f64 {
        self.total - self.embed
    }
}

/// Search results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    /// Hits, best first.
    pub hits: Vec<Hit>,
    /// Stage timings.
    pub timings_ms: Timings,
    /// How the dense leg ran (absent for BM25 mode and cached results).
    #[serde(skip)]
    pub dense_strategy: Option<DenseStrategy>,
    /// `exact` when served from the retrieval cache (the timings are then the lookup's);
    /// null when computed. The same field, of the same type, as an answer's.
    pub cached: Option<crate::CacheHit>,
}

impl Engine {
    /// Runs a search.
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`] for an empty query or `top_k` out of range;
    /// [`EngineError::Index`] for an unknown collection.
    pub fn search(&mut self, req: &SearchRequest) -> Result<SearchResponse, EngineError> {
        self.load(&req.collection)?;
        self.search_loaded(req)
    }

    /// Opens the indexes of `collection` so that [`Engine::search_loaded`] and
    /// [`Engine::answer_loaded`] (`&self`, callable from many threads) can serve it.
    ///
    /// # Errors
    /// [`EngineError::Index`]: unknown collection, unreadable indexes.
    pub fn load(&mut self, collection: &str) -> Result<lore_index::CollectionInfo, EngineError> {
        let info = self.store.collection(collection)?;
        self.store.load(&info)?;
        Ok(info)
    }

    /// [`Engine::search`] for a collection already [`Engine::load`]ed; concurrent callers
    /// share the engine.
    ///
    /// # Errors
    /// As [`Engine::search`]; `IndexError::NotLoaded` before [`Engine::load`].
    pub fn search_loaded(&self, req: &SearchRequest) -> Result<SearchResponse, EngineError> {
        let Probe {
            start,
            info,
            key,
            leg_k,
            hit,
        } = self.probe(req)?;
        self.caches.retrieval.record(hit.is_some());
        if let Some(resp) = hit {
            return Ok(resp);
        }
        let mut t = Timings::default();
        // The caller's domains narrow the filters inside both legs (never afterwards).
        let filters = FilterSet::new(&req.filters).restricted(&req.access);
        let params = SearchParams { filters, k: leg_k };

        let bm25 = if req.mode != SearchMode::Dense {
            let s = Instant::now();
            let r = self.store.search_bm25(&info, &req.query, &params)?;
            t.bm25 = ms(s);
            r
        } else {
            Vec::new()
        };
        let mut dense_strategy = None;
        let dense = if req.mode != SearchMode::Bm25 {
            let s = Instant::now();
            let v = self.embed_query(&req.query)?;
            t.embed = ms(s);
            let s = Instant::now();
            let (r, strategy) = self.store.search_dense(&info, &v, &params)?;
            t.dense = ms(s);
            dense_strategy = Some(strategy);
            r
        } else {
            Vec::new()
        };
        let s = Instant::now();
        let mut scored = match req.mode {
            SearchMode::Bm25 => bm25,
            SearchMode::Dense => dense,
            SearchMode::Hybrid => {
                let a: Vec<i64> = bm25.iter().map(|x| x.0).collect();
                let b: Vec<i64> = dense.iter().map(|x| x.0).collect();
                reciprocal_rank_fusion(&[&a, &b], lore_index::fusion::RRF_K)
            }
        };
        scored.truncate(req.top_k);
        t.fuse = ms(s);
        let s = Instant::now();
        let hits = self.store.hits(&scored)?;
        t.hydrate = ms(s);
        let tags = EngineCaches::retrieval_tags(&req.collection, &hits);
        let hits = self.caches.retrieval.insert(&key, hits, tags);
        t.total = ms(start);
        Ok(SearchResponse {
            hits: self.shown(hits.as_ref().clone()),
            timings_ms: t,
            dense_strategy,
            cached: None,
        })
    }

    /// The search's hits from the retrieval cache only: `Ok(None)` when they would have to
    /// be computed (then [`Engine::search_loaded`] does, and counts the miss). Tens of
    /// microseconds; needs no loaded index (a server answers cache hits without a
    /// blocking thread).
    ///
    /// # Errors
    /// As [`Engine::search`] (validation, unknown collection).
    pub fn search_cached(
        &self,
        req: &SearchRequest,
    ) -> Result<Option<SearchResponse>, EngineError> {
        let hit = self.probe(req)?.hit;
        if hit.is_some() {
            self.caches.retrieval.record(true);
        }
        Ok(hit)
    }

    /// Hits as sent to the client: passage text masked when `[guard] mask_answers` is on
    /// (the caches keep the text as stored, which prompts need).
    fn shown(&self, mut hits: Vec<Hit>) -> Vec<Hit> {
        if self.guard.config.mask_answers {
            for h in &mut hits {
                if let std::borrow::Cow::Owned(t) = self.guard.masker.mask(&h.text) {
                    h.text = t;
                }
            }
        }
        hits
    }

    /// Validates `req` and looks it up in the retrieval cache (uncounted).
    fn probe(&self, req: &SearchRequest) -> Result<Probe, EngineError> {
        let start = Instant::now();
        if req.query.trim().is_empty() {
            return Err(EngineError::InvalidRequest("query is empty".into()));
        }
        let chars = req.query.chars().count();
        let max = self.config.llm.max_question_chars;
        if chars > max {
            return Err(EngineError::InvalidRequest(format!(
                "query is {chars} characters, over the limit of {max} (max_question_chars)"
            )));
        }
        if req.top_k == 0 || req.top_k > MAX_TOP_K {
            return Err(EngineError::InvalidRequest(format!(
                "top_k must be between 1 and {MAX_TOP_K}, got {}",
                req.top_k
            )));
        }
        if !req.access.allows_collection(&req.collection) {
            // Outside the caller's scope reads exactly like a collection that does not
            // exist, so a scoped key cannot probe for other collections' names.
            return Err(lore_index::IndexError::CollectionNotFound(req.collection.clone()).into());
        }
        let info = self.store.collection(&req.collection)?;
        let leg_k = match req.mode {
            SearchMode::Hybrid => req.candidates.max(req.top_k),
            _ => req.top_k,
        };
        let key = self.caches.retrieval_key(&info, req, leg_k);
        let hit = self
            .caches
            .retrieval
            .lookup(&key)
            .map(|hits| SearchResponse {
                hits: self.shown(hits.as_ref().clone()),
                timings_ms: Timings {
                    total: ms(start),
                    ..Timings::default()
                },
                dense_strategy: None,
                cached: Some(crate::CacheHit::Exact),
            });
        Ok(Probe {
            start,
            info,
            key,
            leg_k,
            hit,
        })
    }

    /// Embeds a query (384-d, unit length), through the embedding cache. The normalized
    /// text is embedded (the model is uncased, so the vector is the original's), which
    /// makes the cached vector exactly what a fresh inference returns. A query over the
    /// model's 256 tokens is embedded from its start (the BM25 leg still reads all of it).
    /// Queries embedded at the same time from several threads share one inference
    /// ([`lore_embed::Batcher`]).
    ///
    /// # Errors
    /// [`EngineError::Embed`] (runtime failures).
    pub fn embed_query(&self, query: &str) -> Result<Vec<f32>, EngineError> {
        let normalized = lore_cache::normalize_text(query);
        let key = self
            .caches
            .embedding_key(&self.embedder.model_id(), &normalized);
        if let Some(v) = self.caches.embedding.get(&key) {
            return Ok(v.as_ref().clone());
        }
        let v = self
            .query_batcher
            .embed(self.embedder.as_ref(), &normalized)?;
        Ok(self
            .caches
            .embedding
            .insert(&key, v, Vec::new())
            .as_ref()
            .clone())
    }
}

/// A validated search, its retrieval cache key, and the cached response if any.
struct Probe {
    start: Instant,
    info: lore_index::CollectionInfo,
    key: lore_cache::Key,
    /// Candidates each leg fetches.
    leg_k: usize,
    hit: Option<SearchResponse>,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// A hit of a search over several collections: the collection it came from and the hit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CollectionHit {
    /// The collection holding the chunk.
    pub collection: String,
    /// The hit (its `score` is the fused RRF score when several collections were searched).
    #[serde(flatten)]
    pub hit: Hit,
}

/// Results of a search over one or more collections.
#[derive(Debug, Clone, Serialize)]
pub struct MultiSearchResponse {
    /// Hits, best first.
    pub hits: Vec<CollectionHit>,
    /// Stage timings of the first collection's search.
    pub timings_ms: Timings,
    /// `exact` when every collection's results came from the retrieval cache.
    pub cached: Option<crate::CacheHit>,
}

/// One collection's hits as they are; several fused by reciprocal rank (Cormack et al. 2009,
/// k = [`lore_index::fusion::RRF_K`]) since their scores are not comparable. Chunk ids are
/// unique across the catalog, so the fusion runs on them; at most `top_k` hits.
pub fn fuse_collections(lists: Vec<(String, Vec<Hit>)>, top_k: usize) -> Vec<CollectionHit> {
    if lists.len() == 1 {
        let (collection, hits) = lists.into_iter().next().unwrap_or_default();
        return hits
            .into_iter()
            .take(top_k)
            .map(|hit| CollectionHit {
                collection: collection.clone(),
                hit,
            })
            .collect();
    }
    let ids: Vec<Vec<i64>> = lists
        .iter()
        .map(|(_, hits)| hits.iter().map(|h| h.chunk_id).collect())
        .collect();
    let refs: Vec<&[i64]> = ids.iter().map(Vec::as_slice).collect();
    let fused = reciprocal_rank_fusion(&refs, lore_index::fusion::RRF_K);
    let mut by_id: std::collections::HashMap<i64, CollectionHit> = lists
        .into_iter()
        .flat_map(|(collection, hits)| {
            hits.into_iter().map(move |hit| {
                (
                    hit.chunk_id,
                    CollectionHit {
                        collection: collection.clone(),
                        hit,
                    },
                )
            })
        })
        .collect();
    fused
        .into_iter()
        .take(top_k)
        .filter_map(|(id, score)| {
            let mut h = by_id.remove(&id)?;
            h.hit.score = score;
            Some(h)
        })
        .collect()
}

impl Engine {
    /// Searches each collection of `collections` with `req` (its `collection` ignored) and
    /// fuses the results ([`fuse_collections`]).
    ///
    /// # Errors
    /// As [`Engine::search`], for the first collection that fails.
    pub fn search_collections(
        &mut self,
        collections: &[String],
        req: &SearchRequest,
    ) -> Result<MultiSearchResponse, EngineError> {
        for c in collections {
            self.load(c)?;
        }
        self.search_collections_loaded(collections, req)
    }

    /// [`Engine::search_collections`] over collections already [`Engine::load`]ed.
    ///
    /// # Errors
    /// As [`Engine::search_loaded`].
    pub fn search_collections_loaded(
        &self,
        collections: &[String],
        req: &SearchRequest,
    ) -> Result<MultiSearchResponse, EngineError> {
        let mut lists = Vec::with_capacity(collections.len());
        let mut timings = None;
        let mut cached = Some(crate::CacheHit::Exact);
        for c in collections {
            let one = SearchRequest {
                collection: c.clone(),
                ..req.clone()
            };
            let resp = self.search_loaded(&one)?;
            timings.get_or_insert(resp.timings_ms);
            cached = cached.and(resp.cached);
            lists.push((c.clone(), resp.hits));
        }
        Ok(MultiSearchResponse {
            hits: fuse_collections(lists, req.top_k),
            timings_ms: timings.unwrap_or_default(),
            cached,
        })
    }
}

#[cfg(test)]
mod fusion_tests {
    use super::*;

    fn hit(chunk_id: i64, score: f32) -> Hit {
        Hit {
            document_id: chunk_id,
            chunk_id,
            source: format!("doc-{chunk_id}"),
            title: String::new(),
            page: None,
            heading: None,
            domain: None,
            score,
            text: String::new(),
        }
    }

    #[test]
    fn one_collection_keeps_its_scores_and_several_are_fused_by_rank() {
        let one = fuse_collections(vec![("a".into(), vec![hit(1, 9.0), hit(2, 3.0)])], 1);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].hit.score, 9.0);
        let fused = fuse_collections(
            vec![
                ("a".into(), vec![hit(1, 9.0), hit(2, 3.0)]),
                ("b".into(), vec![hit(7, 0.1), hit(8, 0.05)]),
            ],
            3,
        );
        let order: Vec<(&str, i64)> = fused
            .iter()
            .map(|h| (h.collection.as_str(), h.hit.chunk_id))
            .collect();
        // Equal ranks tie; the earlier collection goes first.
        assert_eq!(order, [("a", 1), ("b", 7), ("a", 2)]);
        assert!((fused[0].hit.score - 1.0 / 61.0).abs() < 1e-6);
    }
}
