//! One cache layer: moka in process (size-bounded by bytes, TTL), Redis behind it when
//! configured, tags for invalidation, and its own counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::notification::RemovalCause;
use moka::sync::Cache;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Key, LayerConfig, Shared};

/// A layer's figures, for `/v1/cache/stats`.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct LayerStats {
    /// Whether the layer stores and serves.
    pub enabled: bool,
    /// Entries in process.
    pub entries: u64,
    /// Their weight, bytes (serialized size).
    pub bytes: u64,
    /// The in-process bound, bytes.
    pub max_bytes: u64,
    /// Time to live, seconds.
    pub ttl_secs: u64,
    /// Lookups answered (in process or from Redis).
    pub hits: u64,
    /// Lookups not answered.
    pub misses: u64,
    /// hits / (hits + misses); 0 before any lookup.
    pub hit_rate: f64,
    /// Hits served by Redis (another server's entry, or one evicted here).
    pub shared_hits: u64,
    /// Entries stored.
    pub inserts: u64,
    /// Entries evicted by the size bound.
    pub evictions: u64,
    /// Entries expired by the TTL.
    pub expirations: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    shared_hits: AtomicU64,
    inserts: AtomicU64,
    evictions: AtomicU64,
    expirations: AtomicU64,
}

struct Entry<V> {
    value: Arc<V>,
    tags: Arc<[String]>,
    bytes: u32,
}

// By hand: a derive would ask `V: Clone`, and only the `Arc` is cloned.
impl<V> Clone for Entry<V> {
    fn clone(&self) -> Self {
        Entry {
            value: self.value.clone(),
            tags: self.tags.clone(),
            bytes: self.bytes,
        }
    }
}

/// What goes to Redis: the value and its tags (so a server that reads it can invalidate
/// it by tag too).
#[derive(Serialize)]
struct Envelope<'a, V> {
    tags: &'a [String],
    value: &'a V,
}

#[derive(Deserialize)]
struct OwnedEnvelope<V> {
    tags: Vec<String>,
    value: V,
}

/// A cache layer of values `V`.
pub struct Layer<V> {
    name: &'static str,
    config: LayerConfig,
    l1: Cache<Key, Entry<V>>,
    l2: Option<Arc<Shared>>,
    counters: Arc<Counters>,
}

impl<V> Layer<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A layer named `name` (the first part of its keys) with `config`'s bounds, backed by
    /// `shared` when given.
    pub fn new(name: &'static str, config: &LayerConfig, shared: Option<Arc<Shared>>) -> Self {
        let counters = Arc::new(Counters::default());
        let listener = counters.clone();
        let l1 = Cache::builder()
            .name(name)
            .max_capacity(config.max_bytes)
            .weigher(|_k: &Key, e: &Entry<V>| e.bytes)
            .time_to_live(config.ttl.max(Duration::from_secs(1)))
            .support_invalidation_closures()
            .eviction_listener(move |_k, _v, cause| match cause {
                RemovalCause::Size => {
                    listener.evictions.fetch_add(1, Ordering::Relaxed);
                }
                RemovalCause::Expired => {
                    listener.expirations.fetch_add(1, Ordering::Relaxed);
                }
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            })
            .build();
        Layer {
            name,
            config: config.clone(),
            l1,
            l2: shared,
            counters,
        }
    }

    /// Whether the layer stores and serves.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// The layer's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A key of this layer from its parts.
    pub fn key(&self) -> crate::KeyBuilder {
        Key::builder(self.name)
    }

    /// Looks `key` up in process, then in Redis (a Redis hit is kept in process too), and
    /// counts a hit or a miss.
    pub fn get(&self, key: &Key) -> Option<Arc<V>> {
        let found = self.lookup(key);
        self.record(found.is_some());
        found
    }

    /// Counts a hit or a miss of a [`Layer::lookup`] whose result was used.
    pub fn record(&self, hit: bool) {
        let counter = if hit {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        if self.config.enabled {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// [`Layer::get`] without counting (a lookup on another layer's behalf, or a probe
    /// whose miss is counted by the caller's next step).
    pub fn lookup(&self, key: &Key) -> Option<Arc<V>> {
        if !self.config.enabled {
            return None;
        }
        if let Some(e) = self.l1.get(key) {
            return Some(e.value);
        }
        let bytes = self.l2.as_ref()?.get(key)?;
        let envelope: OwnedEnvelope<V> = serde_json::from_slice(&bytes).ok()?;
        self.counters.shared_hits.fetch_add(1, Ordering::Relaxed);
        let value = Arc::new(envelope.value);
        self.l1.insert(
            key.clone(),
            Entry {
                value: value.clone(),
                tags: envelope.tags.into(),
                bytes: weight(bytes.len()),
            },
        );
        Some(value)
    }

    /// Stores `value` under `key` with `tags` (for [`Layer::invalidate_tag`]), in process
    /// and in Redis. Returns the stored value.
    pub fn insert(&self, key: &Key, value: V, tags: Vec<String>) -> Arc<V> {
        let value = Arc::new(value);
        if !self.config.enabled {
            return value;
        }
        let Ok(bytes) = serde_json::to_vec(&Envelope {
            tags: &tags,
            value: value.as_ref(),
        }) else {
            return value;
        };
        if let Some(l2) = &self.l2 {
            l2.set(
                key,
                &bytes,
                self.config.ttl.max(Duration::from_secs(1)),
                &tags,
            );
        }
        self.l1.insert(
            key.clone(),
            Entry {
                value: value.clone(),
                tags: tags.into(),
                bytes: weight(bytes.len()),
            },
        );
        self.counters.inserts.fetch_add(1, Ordering::Relaxed);
        value
    }

    /// Removes one entry here; `shared` also from Redis.
    pub fn invalidate(&self, key: &Key, shared: bool) {
        self.l1.invalidate(key);
        if shared {
            if let Some(l2) = &self.l2 {
                l2.delete(key);
            }
        }
    }

    /// Removes every entry carrying `tag` here; `shared` also from Redis.
    pub fn invalidate_tag(&self, tag: &str, shared: bool) {
        let owned = tag.to_string();
        // Fails only when closures are not enabled, and they are (see `new`).
        let _ = self
            .l1
            .invalidate_entries_if(move |_k, e| e.tags.contains(&owned));
        if shared {
            if let Some(l2) = &self.l2 {
                l2.delete_tag(self.name, tag);
            }
        }
    }

    /// Removes every in-process entry (Redis is cleared by [`Shared::clear`]).
    pub fn clear_local(&self) {
        self.l1.invalidate_all();
    }

    /// The layer's figures (pending evictions are applied first, so counts are current).
    pub fn stats(&self) -> LayerStats {
        self.l1.run_pending_tasks();
        let c = &self.counters;
        let hits = c.hits.load(Ordering::Relaxed);
        let misses = c.misses.load(Ordering::Relaxed);
        LayerStats {
            enabled: self.config.enabled,
            entries: self.l1.entry_count(),
            bytes: self.l1.weighted_size(),
            max_bytes: self.config.max_bytes,
            ttl_secs: self.config.ttl.as_secs(),
            hits,
            misses,
            hit_rate: hit_rate(hits, misses),
            shared_hits: c.shared_hits.load(Ordering::Relaxed),
            inserts: c.inserts.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            expirations: c.expirations.load(Ordering::Relaxed),
        }
    }
}

/// hits / (hits + misses), 0 before any lookup.
pub fn hit_rate(hits: u64, misses: u64) -> f64 {
    if hits + misses == 0 {
        0.0
    } else {
        hits as f64 / (hits + misses) as f64
    }
}

fn weight(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(max_bytes: u64, ttl_secs: u64) -> Layer<String> {
        Layer::new(
            "test",
            &LayerConfig {
                enabled: true,
                max_bytes,
                ttl: Duration::from_secs(ttl_secs),
            },
            None,
        )
    }

    fn key(s: &str) -> Key {
        Key::builder("test").text(s).finish()
    }

    #[test]
    fn hits_misses_and_tags() {
        let l = layer(1 << 20, 60);
        assert!(l.get(&key("a")).is_none());
        l.insert(&key("a"), "A".into(), vec!["collection:x".into()]);
        l.insert(&key("b"), "B".into(), vec!["collection:y".into()]);
        assert_eq!(l.get(&key("a")).as_deref().map(String::as_str), Some("A"));
        let s = l.stats();
        assert_eq!((s.hits, s.misses, s.inserts, s.entries), (1, 1, 2, 2));
        assert_eq!(s.hit_rate, 0.5);
        l.invalidate_tag("collection:x", true);
        assert!(l.get(&key("a")).is_none(), "tagged entry invalidated");
        assert!(l.get(&key("b")).is_some(), "other tag kept");
        l.invalidate(&key("b"), true);
        assert!(l.get(&key("b")).is_none());
    }

    #[test]
    fn size_bound_evicts() {
        // Each entry weighs ~1 KB as JSON; the bound holds ~10.
        let l = layer(10_000, 60);
        let big = "x".repeat(1000);
        for i in 0..100 {
            l.insert(&key(&i.to_string()), big.clone(), Vec::new());
        }
        let s = l.stats();
        assert!(s.bytes <= 10_000, "{s:?}");
        assert!(s.entries <= 10, "{s:?}");
        assert!(s.evictions >= 80, "{s:?}");
    }

    #[test]
    fn ttl_expires() {
        let l = layer(1 << 20, 1);
        l.insert(&key("a"), "A".into(), Vec::new());
        assert!(l.get(&key("a")).is_some());
        // moka reads the real clock: poll until the 1 s TTL has passed (deadline 10 s).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while l.get(&key("a")).is_some() {
            assert!(std::time::Instant::now() < deadline, "never expired");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(l.stats().expirations, 1);
    }

    #[test]
    fn disabled_layer_stores_nothing() {
        let l: Layer<String> = Layer::new(
            "test",
            &LayerConfig {
                enabled: false,
                ..LayerConfig::default()
            },
            None,
        );
        l.insert(&key("a"), "A".into(), Vec::new());
        assert!(l.get(&key("a")).is_none());
        let s = l.stats();
        assert_eq!((s.entries, s.hits, s.misses), (0, 0, 0));
    }
}
