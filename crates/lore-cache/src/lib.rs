//! lore's cache machinery, independent of what is cached.
//!
//! - [`Layer`]: one cache layer: moka in process (bounded by bytes, with a TTL; DESIGN.md
//!   §8), Redis behind it when configured ([`Shared`]), entries tagged for invalidation by
//!   collection or document, hit/miss/eviction counters.
//! - [`SemanticIndex`]: reuse of an answer for a similar question, guarded by the context
//!   fingerprint, a similarity threshold and the [`lexical`] check.
//! - [`Key`]: `layer:sha256` keys; [`normalize_text`] for query text.
//!
//! The engine (`lore-rag`) decides what goes into each key; correctness comes from the
//! keys (collection revision, context fingerprint), not from invalidation.
#![warn(missing_docs)]

pub mod config;
pub mod key;
pub mod layer;
pub mod lexical;
pub mod semantic;
pub mod shared;

pub use config::{CacheConfig, LayerConfig, RedisConfig, SemanticConfig};
pub use key::{normalize_text, Key, KeyBuilder};
pub use layer::{hit_rate, Layer, LayerStats};
pub use semantic::{Candidate, Miss, Reuse, SemanticIndex, SemanticStats};
pub use shared::{Invalidation, Shared, SharedStats};

/// Cache errors (lookups never fail: a broken cache is a miss).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The Redis URL is missing or malformed.
    #[error("bad Redis URL: {0}")]
    RedisUrl(String),
    /// A key given for invalidation is not `<layer>:<64 hex digits>`.
    #[error("bad cache key `{0}`: expected <layer>:<64 lowercase hex digits>, as returned in `cache_key`")]
    BadKey(String),
}
