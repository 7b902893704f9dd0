//! The engine's caches: what each key is made of, which is what makes them correct.
//!
//! | layer | key | value |
//! |---|---|---|
//! | `embedding` | model id, normalized query | query embedding (384 f32) |
//! | `retrieval` | collection id and **revision**, normalized query, sorted filters, the caller's **access** (collections, domains), mode, top_k, candidates | hits |
//! | `answer` | collection, the caller's **access**, normalized question, prompt `name@version`, generator, model, answer settings (masking included), **context fingerprint** | answer with citations |
//! | `semantic` | the answer key without the question, passages as a set | questions answered from those passages |
//!
//! A collection's revision is replaced on every ingest, replace and delete, so a retrieval
//! entry can only be read back at the revision it was computed at. The context
//! fingerprint hashes the ordered passages (chunk and document ids, source, title, page,
//! heading, and a sha256 of the text), so an answer is only reused for the exact context it
//! was written from: a changed document changes its chunks' ids and text, hence every
//! fingerprint it is part of. Explicit invalidation (by collection, document, key, or
//! all) exists for what keys cannot see, e.g. a prompt file edited in place.

use std::sync::{Arc, Weak};

use lore_cache::{
    normalize_text, CacheConfig, CacheError, Candidate, Invalidation, Key, Layer, LayerStats,
    SemanticIndex, SemanticStats, Shared, SharedStats,
};
use lore_core::{Filter, Hit};
use serde::{Deserialize, Serialize};

use crate::{Answer, EngineError, GeneratorKind, LlmConfig, PromptTemplate, SearchRequest};

/// How a cached answer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheHit {
    /// The same normalized question with the same context.
    Exact,
    /// A similar question with the same context (see `lore_cache::semantic`).
    Semantic,
}

/// Figures of every layer, for `GET /v1/cache/stats` and `lore cache stats`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CacheStats {
    /// Whether caching is on at all.
    pub enabled: bool,
    /// Query embeddings.
    pub embedding: LayerStats,
    /// Search results.
    pub retrieval: LayerStats,
    /// Exact answers (its hits are exact hits).
    pub answer: LayerStats,
    /// Answers reused for similar questions.
    pub semantic: SemanticStats,
    /// The LLM second stage's route classifications.
    pub classification: LayerStats,
    /// Exact + semantic answer hits over answer lookups.
    pub answer_hit_rate: f64,
    /// The shared Redis level, when configured.
    pub redis: Option<SharedStats>,
}

/// What an answer's keys share besides the question and the passages.
pub(crate) struct AnswerScope<'a> {
    pub collection: &'a str,
    pub template: &'a PromptTemplate,
    pub kind: GeneratorKind,
    /// The generator's model id.
    pub model: &'a str,
    pub llm: &'a LlmConfig,
    /// [`lore_core::Access::fingerprint`] of the caller: a restricted caller is never
    /// served an entry made for a wider one, even from the same passages.
    pub access: String,
    /// Whether answers are PII-masked (a masked and an unmasked answer differ).
    pub masked: bool,
}

/// The keys of one answer.
pub(crate) struct AnswerKeys {
    /// The exact answer key.
    pub exact: Key,
    /// The semantic list key (the exact key's parts without the question).
    pub context: Key,
    /// `collection:<name>` and `document:<name>:<id>` of every passage.
    pub tags: Vec<String>,
}

/// The engine's cache layers.
pub struct EngineCaches {
    enabled: bool,
    pub(crate) embedding: Layer<Vec<f32>>,
    pub(crate) retrieval: Layer<Vec<Hit>>,
    pub(crate) answer: Layer<Answer>,
    pub(crate) semantic: SemanticIndex,
    pub(crate) classification: Layer<lore_route::LlmClassification>,
    shared: Option<Arc<Shared>>,
}

/// The tag of every entry derived from `collection`.
pub fn collection_tag(collection: &str) -> String {
    format!("collection:{collection}")
}

/// The tag of every entry derived from document `id` of `collection`.
pub fn document_tag(collection: &str, id: i64) -> String {
    format!("document:{collection}:{id}")
}

/// Invalidation tags of an entry made from `hits` of the collections in `scope` (one name,
/// or several comma-joined for a multi-collection answer; names never hold a comma): each
/// collection's, and each passage's document under each (document ids are unique across
/// the catalog, so the extra tags never match another document).
fn tags_of(scope: &str, hits: &[Hit]) -> Vec<String> {
    let mut tags = Vec::new();
    for collection in scope.split(',') {
        tags.push(collection_tag(collection));
        for h in hits {
            let t = document_tag(collection, h.document_id);
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
    }
    tags
}

impl EngineCaches {
    /// The layers `config` describes; with `redis.url`, Redis behind each and a listener
    /// for other servers' invalidations.
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`] for a malformed Redis URL.
    pub fn new(config: &CacheConfig) -> Result<Arc<Self>, EngineError> {
        let mut config = config.clone();
        if !config.enabled {
            for layer in [
                &mut config.embedding,
                &mut config.retrieval,
                &mut config.answer,
                &mut config.classification,
            ] {
                layer.enabled = false;
            }
            config.semantic.enabled = false;
        }
        let shared = match (&config.redis.url, config.enabled) {
            (Some(_), true) => Some(
                Shared::open(&config.redis)
                    .map_err(|e| EngineError::Config(format!("[cache.redis] {e}")))?,
            ),
            _ => None,
        };
        let caches = Arc::new(EngineCaches {
            enabled: config.enabled,
            embedding: Layer::new("embedding", &config.embedding, shared.clone()),
            retrieval: Layer::new("retrieval", &config.retrieval, shared.clone()),
            answer: Layer::new("answer", &config.answer, shared.clone()),
            semantic: SemanticIndex::new(&config.semantic, shared.clone()),
            classification: Layer::new("classification", &config.classification, shared.clone()),
            shared: shared.clone(),
        });
        if let Some(shared) = &shared {
            let weak: Weak<EngineCaches> = Arc::downgrade(&caches);
            shared.subscribe(move |inv| {
                if let Some(c) = weak.upgrade() {
                    c.apply_local(inv);
                }
            });
        }
        Ok(caches)
    }

    /// Whether caching is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Applies `invalidation` here, in Redis, and on the other servers (pub/sub).
    pub fn invalidate(&self, invalidation: &Invalidation) {
        self.apply_local(invalidation);
        if let Some(shared) = &self.shared {
            match invalidation {
                Invalidation::All => shared.clear(),
                Invalidation::Key { key } => {
                    if let Ok(k) = Key::parse(key) {
                        shared.delete(&k);
                    }
                }
                Invalidation::Tag { tag } => {
                    for layer in ["retrieval", "answer", "semantic"] {
                        shared.delete_tag(layer, tag);
                    }
                }
            }
            shared.publish(invalidation);
        }
    }

    /// An invalidation of one key, checked.
    ///
    /// # Errors
    /// [`CacheError::BadKey`] when `key` is not a key lore printed.
    pub fn key_invalidation(key: &str) -> Result<Invalidation, CacheError> {
        Key::parse(key).map(|k| Invalidation::Key { key: k.to_string() })
    }

    fn apply_local(&self, invalidation: &Invalidation) {
        match invalidation {
            Invalidation::All => {
                self.embedding.clear_local();
                self.retrieval.clear_local();
                self.answer.clear_local();
                self.semantic.lists().clear_local();
                self.classification.clear_local();
            }
            Invalidation::Key { key } => {
                if let Ok(k) = Key::parse(key) {
                    match k.layer() {
                        "embedding" => self.embedding.invalidate(&k, false),
                        "retrieval" => self.retrieval.invalidate(&k, false),
                        "answer" => self.answer.invalidate(&k, false),
                        "semantic" => self.semantic.lists().invalidate(&k, false),
                        "classification" => self.classification.invalidate(&k, false),
                        _ => {}
                    }
                }
            }
            Invalidation::Tag { tag } => {
                self.retrieval.invalidate_tag(tag, false);
                self.answer.invalidate_tag(tag, false);
                self.semantic.lists().invalidate_tag(tag, false);
            }
        }
    }

    /// Figures of every layer.
    pub fn stats(&self) -> CacheStats {
        let answer = self.answer.stats();
        let semantic = self.semantic.stats();
        // Every answer lookup is an exact lookup; a semantic hit turns an exact miss into a hit.
        let answer_hit_rate = lore_cache::hit_rate(
            answer.hits + semantic.hits,
            answer.misses - semantic.hits.min(answer.misses),
        );
        CacheStats {
            enabled: self.enabled,
            embedding: self.embedding.stats(),
            retrieval: self.retrieval.stats(),
            answer,
            semantic,
            classification: self.classification.stats(),
            answer_hit_rate,
            redis: self.shared.as_ref().map(|s| s.stats()),
        }
    }

    pub(crate) fn embedding_key(&self, model_id: &str, normalized: &str) -> Key {
        self.embedding
            .key()
            .text(model_id)
            .text(normalized)
            .finish()
    }

    pub(crate) fn retrieval_key(
        &self,
        info: &lore_index::CollectionInfo,
        req: &SearchRequest,
        leg_k: usize,
    ) -> Key {
        let mut filters: Vec<String> = req
            .filters
            .iter()
            .map(|Filter { field, value }| format!("{field}={value}"))
            .collect();
        // AND across fields, OR within one: order never matters.
        filters.sort();
        filters.dedup();
        self.retrieval
            .key()
            .num(info.id as u64)
            .text(&info.revision)
            .text(&normalize_text(&req.query))
            .text(&filters.join("\n"))
            .text(&req.access.fingerprint())
            .text(req.mode.as_str())
            .num(req.top_k as u64)
            .num(leg_k as u64)
            .finish()
    }

    pub(crate) fn retrieval_tags(collection: &str, hits: &[Hit]) -> Vec<String> {
        tags_of(collection, hits)
    }

    /// The keys of an answer to `question` from `hits`.
    pub(crate) fn answer_keys(
        &self,
        s: &AnswerScope<'_>,
        question: &str,
        hits: &[Hit],
    ) -> AnswerKeys {
        let settings = answer_settings(s.llm, s.kind);
        let scope = |b: lore_cache::KeyBuilder| {
            b.text(s.collection)
                .text(&s.access)
                .text(if s.masked { "masked" } else { "plain" })
                .text(&s.template.id())
                .text(&s.template.stop.join("\u{1f}"))
                .text(s.kind.as_str())
                .text(s.model)
                .text(&settings)
        };
        // The exact key sees the passages in order (the prompt numbers them); the semantic
        // list key sees them as a set: a paraphrase often ranks the same passages in
        // another order, and a reused answer comes with its own numbered context.
        // Each text is hashed once for both fingerprints (this runs on every cache hit).
        let mut hashed: Vec<(&Hit, Key)> = hits.iter().map(|h| (h, text_hash(h))).collect();
        let ordered = fingerprint(&hashed);
        hashed.sort_by_key(|(h, _)| h.chunk_id);
        let as_set = fingerprint(&hashed);
        AnswerKeys {
            exact: scope(self.answer.key())
                .text(&ordered)
                .text(&normalize_text(question))
                .finish(),
            context: scope(self.semantic.lists().key()).text(&as_set).finish(),
            tags: tags_of(s.collection, hits),
        }
    }

    /// Remembers `question` as answered from its context, for semantic reuse.
    pub(crate) fn remember_question(&self, keys: &AnswerKeys, question: &str, embedding: Vec<f32>) {
        self.semantic.remember(
            &keys.context,
            Candidate {
                question: question.to_string(),
                embedding,
                answer_key: keys.exact.to_string(),
            },
            keys.tags.clone(),
        );
    }
}

/// sha256 over the ordered passages: what the generator is shown, and how they are numbered.
pub fn context_fingerprint(hits: &[Hit]) -> String {
    let hashed: Vec<(&Hit, Key)> = hits.iter().map(|h| (h, text_hash(h))).collect();
    fingerprint(&hashed)
}

fn text_hash(h: &Hit) -> Key {
    Key::builder("text").text(&h.text).finish()
}

/// [`context_fingerprint`] of passages whose text hashes are computed.
fn fingerprint(passages: &[(&Hit, Key)]) -> String {
    let mut b = Key::builder("context").num(passages.len() as u64);
    for (h, text_hash) in passages {
        b = b
            .num(h.chunk_id as u64)
            .num(h.document_id as u64)
            .text(&h.source)
            .text(&h.title)
            .num(h.page.map_or(0, |p| u64::from(p) + 1))
            .text(h.heading.as_deref().unwrap_or(""))
            .text(text_hash.as_str());
    }
    b.finish().to_string()
}

/// The settings that change what a generator writes from a given context.
fn answer_settings(llm: &LlmConfig, kind: GeneratorKind) -> String {
    #[derive(Serialize)]
    struct Settings<'a> {
        max_answer_tokens: usize,
        temperature: f32,
        embedded_passage_tokens: usize,
        embedded_context: usize,
        grounding: &'a crate::GroundingConfig,
    }
    let embedded = kind == GeneratorKind::Embedded;
    serde_json::to_string(&Settings {
        max_answer_tokens: llm.max_answer_tokens,
        temperature: llm.temperature,
        embedded_passage_tokens: if embedded {
            llm.embedded_passage_tokens
        } else {
            0
        },
        embedded_context: if embedded { llm.embedded_context } else { 0 },
        grounding: &llm.grounding,
    })
    .unwrap_or_default()
}

/// `text` cut into at most `n` pieces at spaces, for streaming a cached answer like a
/// generated one.
pub(crate) fn pieces(text: &str, n: usize) -> Vec<&str> {
    let target = text.len().div_ceil(n.max(1)).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + target).min(text.len());
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        // Extend to the next space so words are not split.
        if let Some(space) = text[end..].find(' ') {
            end += space + 1;
        } else {
            end = text.len();
        }
        out.push(&text[start..end]);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(chunk_id: i64, text: &str) -> Hit {
        Hit {
            document_id: 1,
            chunk_id,
            source: "a.md".into(),
            title: "A".into(),
            page: None,
            heading: None,
            domain: None,
            score: 0.5,
            text: text.into(),
        }
    }

    #[test]
    fn fingerprint_follows_ids_text_and_order() {
        let a = [hit(1, "x"), hit(2, "y")];
        let fp = context_fingerprint(&a);
        assert_eq!(fp, context_fingerprint(&a));
        let mut scored = a.clone();
        scored[0].score = 0.9;
        assert_eq!(fp, context_fingerprint(&scored), "scores are not context");
        assert_ne!(fp, context_fingerprint(&[hit(2, "y"), hit(1, "x")]));
        assert_ne!(fp, context_fingerprint(&[hit(1, "x"), hit(2, "z")]));
        assert_ne!(fp, context_fingerprint(&[hit(1, "x"), hit(3, "y")]));
        assert_ne!(fp, context_fingerprint(&a[..1]));
    }

    #[test]
    fn pieces_keep_the_text() {
        let t = "The quick brown fox jumps over the lazy dog, twice: é à ü.";
        for n in 1..6 {
            let p = pieces(t, n);
            assert_eq!(p.concat(), t);
            assert!(p.len() <= n, "{n}: {p:?}");
        }
        assert!(pieces("", 3).is_empty());
    }
}
