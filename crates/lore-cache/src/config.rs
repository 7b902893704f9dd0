//! Cache settings: `[cache]` of the settings (`LORE_CACHE` and `LORE_REDIS_URL` map onto
//! `cache.enabled` and `cache.redis.url`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

const MIB: u64 = 1024 * 1024;
const HOUR: u64 = 3600;

/// Size bound and lifetime of one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerConfig {
    /// Off: the layer neither stores nor serves.
    pub enabled: bool,
    /// In-process bound in bytes; an entry weighs its serialized (JSON) size. The least
    /// recently and frequently used entries are evicted past it (moka's TinyLFU).
    pub max_bytes: u64,
    /// Time to live of an entry, in process and in Redis (`24h`).
    #[serde(alias = "ttl_secs", with = "lore_core::duration::secs")]
    pub ttl: Duration,
}

impl LayerConfig {
    fn new(max_bytes: u64, ttl_secs: u64) -> Self {
        let ttl = Duration::from_secs(ttl_secs);
        LayerConfig {
            enabled: true,
            max_bytes,
            ttl,
        }
    }
}

/// The semantic answer layer: cached questions by context, and the reuse rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SemanticConfig {
    /// Off: no question is reused for another.
    pub enabled: bool,
    /// In-process bound of the per-context question lists, bytes.
    pub max_bytes: u64,
    /// Time to live of a question list (`24h`).
    #[serde(alias = "ttl_secs", with = "lore_core::duration::secs")]
    pub ttl: Duration,
    /// Least cosine similarity between a new question's embedding and a cached one's for
    /// the cached answer to be reused (conservative: paraphrases of all-MiniLM-L6-v2 score
    /// 0.85-0.99; docs/benchmarks.md has the replay figures).
    pub min_similarity: f32,
    /// Questions remembered per retrieved context.
    pub max_questions_per_context: usize,
}

/// Redis as a shared second level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port[/db]`; none: in process only. `LORE_REDIS_URL` wins.
    pub url: Option<String>,
    /// Prefix of every key lore writes (several deployments can share one Redis).
    pub prefix: String,
    /// Connect, read and write timeout of one operation (`250ms`).
    #[serde(alias = "timeout_ms", with = "lore_core::duration::millis")]
    pub timeout: Duration,
    /// After a failure, Redis is skipped for this long before it is tried again (`2s`).
    #[serde(alias = "retry_ms", with = "lore_core::duration::millis")]
    pub retry: Duration,
    /// Connections kept at most.
    pub pool_size: u32,
}

/// All cache settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Master switch (`LORE_CACHE=off` turns every layer off).
    pub enabled: bool,
    /// Query text + model → query embedding (384 f32).
    pub embedding: LayerConfig,
    /// Query, collection revision, filters, mode, top_k → hits.
    pub retrieval: LayerConfig,
    /// Question, prompt, generator, model, settings, context fingerprint → answer.
    pub answer: LayerConfig,
    /// Similar questions with the same context fingerprint → answer key.
    pub semantic: SemanticConfig,
    /// Route set version + question → the LLM second stage's classification.
    pub classification: LayerConfig,
    /// Shared second level.
    pub redis: RedisConfig,
}

impl SemanticConfig {
    /// The size and lifetime part.
    pub fn layer(&self) -> LayerConfig {
        LayerConfig {
            enabled: self.enabled,
            max_bytes: self.max_bytes,
            ttl: self.ttl,
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            prefix: "lore:".into(),
            timeout: Duration::from_millis(250),
            retry: Duration::from_secs(2),
            pool_size: 16,
        }
    }
}

impl Default for SemanticConfig {
    fn default() -> Self {
        SemanticConfig {
            enabled: true,
            max_bytes: 16 * MIB,
            ttl: Duration::from_secs(24 * HOUR),
            min_similarity: 0.95,
            max_questions_per_context: 16,
        }
    }
}

impl Default for LayerConfig {
    fn default() -> Self {
        LayerConfig::new(64 * MIB, 24 * HOUR)
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            // 384 f32 as JSON ≈ 4 KB: ~8,000 queries.
            embedding: LayerConfig::new(32 * MIB, 24 * HOUR),
            // Entries of an old collection revision are unreachable; the TTL only frees them.
            retrieval: LayerConfig::new(64 * MIB, HOUR),
            answer: LayerConfig::new(64 * MIB, 24 * HOUR),
            semantic: SemanticConfig::default(),
            // A classification is ~200 bytes of JSON: ~40,000 questions.
            classification: LayerConfig::new(8 * MIB, 24 * HOUR),
            redis: RedisConfig::default(),
        }
    }
}

impl CacheConfig {
    /// This config with a Redis password replaced by `<redacted>`, for printing.
    pub fn redacted(&self) -> Self {
        let mut c = self.clone();
        c.redis.url = c.redis.url.as_deref().map(redact_url);
        c
    }
}

/// `redis://:secret@host:6379` → `redis://:<redacted>@host:6379`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(u, _)| u);
            format!("{scheme}://{user}:<redacted>@{host}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        let mut c = CacheConfig::default();
        c.redis.url = Some("redis://:pw@127.0.0.1:6380/2".into());
        assert_eq!(
            c.redacted().redis.url.as_deref(),
            Some("redis://:<redacted>@127.0.0.1:6380/2")
        );
        assert_eq!(redact_url("redis://h:1"), "redis://h:1");
    }

    #[test]
    fn toml_layers() {
        let c: CacheConfig = toml_like(
            r#"{"answer": {"max_bytes": 1000, "ttl_secs": 5}, "semantic": {"min_similarity": 0.9, "ttl_secs": 7}}"#,
        );
        assert_eq!(c.answer.max_bytes, 1000);
        assert!(c.answer.enabled);
        assert_eq!(c.semantic.min_similarity, 0.9);
        assert_eq!(c.semantic.ttl, Duration::from_secs(7));
        assert!(serde_json::from_str::<CacheConfig>(r#"{"semantic": {"tll": "7s"}}"#).is_err());
        let c = toml_like(r#"{"semantic": {"ttl": "90m"}, "redis": {"timeout": "1s"}}"#);
        assert_eq!(c.semantic.ttl, Duration::from_secs(5400));
        assert_eq!(c.redis.timeout, Duration::from_secs(1));
        assert_eq!(c.retrieval, CacheConfig::default().retrieval);
    }

    fn toml_like(json: &str) -> CacheConfig {
        serde_json::from_str(json).unwrap()
    }
}
