//! Redis as the shared second level: several lore servers read and write the same entries,
//! and hear each other's explicit invalidations over pub/sub.
//!
//! Redis is an optimisation, never a dependency of a request: every operation has a
//! timeout, a failure marks Redis down (one warning per outage, counted), and while it is
//! down operations are skipped until one probe per `retry_ms` finds it back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::{Commands, ConnectionLike, RedisResult};
use serde::{Deserialize, Serialize};

use crate::{CacheError, Key, RedisConfig};

/// An explicit invalidation, applied locally and broadcast to the other servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Invalidation {
    /// One entry.
    Key {
        /// The key as printed (`answer:…`).
        key: String,
    },
    /// Every entry carrying a tag (`collection:docs`, `document:docs:42`).
    Tag {
        /// The tag.
        tag: String,
    },
    /// Everything.
    All,
}

#[derive(Serialize, Deserialize)]
struct Broadcast {
    origin: String,
    #[serde(flatten)]
    invalidation: Invalidation,
}

/// The Redis level's health, for `/v1/cache/stats`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SharedStats {
    /// The URL, password redacted.
    pub url: String,
    /// Whether the last operation succeeded.
    pub available: bool,
    /// Failed operations (timeouts, refused connections, errors).
    pub errors: u64,
    /// Operations skipped because Redis was down.
    pub skipped: u64,
    /// Times Redis went from available to down.
    pub outages: u64,
    /// Invalidations received from other servers.
    pub invalidations_received: u64,
}

/// Opens connections with the configured timeouts (`redis::Client`'s own r2d2 adapter
/// connects without one).
struct Manager {
    client: redis::Client,
    timeout: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = redis::Connection;
    type Error = redis::RedisError;

    fn connect(&self) -> RedisResult<redis::Connection> {
        let con = self.client.get_connection_with_timeout(self.timeout)?;
        con.set_read_timeout(Some(self.timeout))?;
        con.set_write_timeout(Some(self.timeout))?;
        Ok(con)
    }

    fn is_valid(&self, con: &mut redis::Connection) -> RedisResult<()> {
        redis::cmd("PING").query::<String>(con).map(|_| ())
    }

    fn has_broken(&self, con: &mut redis::Connection) -> bool {
        !con.is_open()
    }
}

/// The shared level: a connection pool and the health state.
pub struct Shared {
    pool: r2d2::Pool<Manager>,
    client: redis::Client,
    prefix: String,
    url: String,
    /// Identifies this process's broadcasts (it ignores its own).
    origin: String,
    timeout: Duration,
    retry_ms: u64,
    epoch: Instant,
    available: AtomicBool,
    /// While down: ms since `epoch` before which Redis is not tried.
    retry_at_ms: AtomicU64,
    errors: AtomicU64,
    skipped: AtomicU64,
    outages: AtomicU64,
    received: AtomicU64,
}

impl Shared {
    /// A pool for `config.url`. Connects lazily: a Redis that is down at start-up is a
    /// warning on first use, not an error.
    ///
    /// # Errors
    /// [`CacheError::RedisUrl`] when there is no URL or it does not parse.
    pub fn open(config: &RedisConfig) -> Result<Arc<Shared>, CacheError> {
        let url = config
            .url
            .clone()
            .ok_or_else(|| CacheError::RedisUrl("no URL configured".into()))?;
        let shown = crate::config::redact_url(&url);
        let client = redis::Client::open(url.as_str())
            .map_err(|e| CacheError::RedisUrl(format!("{shown}: {e}")))?;
        let timeout = config.timeout.max(Duration::from_millis(1));
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(Manager {
                client: client.clone(),
                timeout,
            });
        Ok(Arc::new(Shared {
            pool,
            client,
            prefix: config.prefix.clone(),
            url: shown,
            origin: uuid::Uuid::new_v4().to_string(),
            timeout,
            retry_ms: config.retry.as_millis() as u64,
            epoch: Instant::now(),
            available: AtomicBool::new(true),
            retry_at_ms: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            outages: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }))
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The key prefix (`lore:`); other users of the pool (rate limits) put their keys
    /// under it too.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Runs `f` on a pooled connection, or skips it while Redis is down (one caller per
    /// `retry_ms` probes). `None` when skipped or failed (counted in [`Shared::stats`]).
    pub fn run<T>(&self, f: impl FnOnce(&mut redis::Connection) -> RedisResult<T>) -> Option<T> {
        if !self.available.load(Ordering::Acquire) {
            let now = self.now_ms();
            let at = self.retry_at_ms.load(Ordering::Acquire);
            // Only the caller that moves the retry time forward probes.
            if now < at
                || self
                    .retry_at_ms
                    .compare_exchange(at, now + self.retry_ms, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        }
        let result = match self.pool.get() {
            Ok(mut con) => f(&mut con).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(v) => {
                if !self.available.swap(true, Ordering::AcqRel) {
                    tracing::info!(url = %self.url, "Redis reachable again: shared cache and rate limits back");
                }
                Some(v)
            }
            Err(error) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.retry_at_ms
                    .store(self.now_ms() + self.retry_ms, Ordering::Release);
                if self.available.swap(false, Ordering::AcqRel) {
                    self.outages.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(url = %self.url, %error,
                        "Redis unavailable: caching and rate limiting in process only until it returns");
                }
                None
            }
        }
    }

    fn entry_key(&self, key: &Key) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    fn tag_key(&self, layer: &str, tag: &str) -> String {
        format!("{}tag:{layer}:{tag}", self.prefix)
    }

    fn channel(&self) -> String {
        format!("{}invalidate", self.prefix)
    }

    /// The stored bytes of `key`, if present and Redis is reachable.
    pub fn get(&self, key: &Key) -> Option<Vec<u8>> {
        let k = self.entry_key(key);
        self.run(|con| con.get::<_, Option<Vec<u8>>>(&k)).flatten()
    }

    /// Stores `bytes` under `key` for `ttl`, and records the key under each tag (for
    /// invalidation by tag). Best effort.
    pub fn set(&self, key: &Key, bytes: &[u8], ttl: Duration, tags: &[String]) {
        let k = self.entry_key(key);
        let ttl_ms = ttl.as_millis().max(1) as u64;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(&k)
            .arg(bytes)
            .arg("PX")
            .arg(ttl_ms)
            .ignore();
        for tag in tags {
            let t = self.tag_key(key.layer(), tag);
            pipe.cmd("SADD").arg(&t).arg(&k).ignore();
            pipe.cmd("PEXPIRE").arg(&t).arg(ttl_ms).ignore();
        }
        self.run(|con| pipe.exec(con));
    }

    /// Deletes one entry.
    pub fn delete(&self, key: &Key) {
        let k = self.entry_key(key);
        self.run(|con| con.del::<_, ()>(&k));
    }

    /// Deletes every entry of `layer` carrying `tag`.
    pub fn delete_tag(&self, layer: &str, tag: &str) {
        let t = self.tag_key(layer, tag);
        self.run(|con| {
            let members: Vec<String> = con.smembers(&t)?;
            for batch in members.chunks(500) {
                redis::cmd("UNLINK").arg(batch).exec(con)?;
            }
            con.del::<_, ()>(&t)
        });
    }

    /// Deletes every key under the prefix (SCAN, so Redis is never blocked).
    pub fn clear(&self) {
        let pattern = format!("{}*", escape_glob(&self.prefix));
        self.run(|con| {
            let keys: Vec<String> = con
                .scan_match::<_, String>(&pattern)?
                .collect::<RedisResult<_>>()?;
            for batch in keys.chunks(500) {
                redis::cmd("UNLINK").arg(batch).exec(con)?;
            }
            Ok(())
        });
    }

    /// Tells the other servers to apply `invalidation` to their in-process level.
    pub fn publish(&self, invalidation: &Invalidation) {
        let msg = Broadcast {
            origin: self.origin.clone(),
            invalidation: invalidation.clone(),
        };
        let Ok(payload) = serde_json::to_string(&msg) else {
            return;
        };
        let channel = self.channel();
        self.run(|con| con.publish::<_, _, ()>(&channel, &payload));
    }

    /// Listens for the other servers' invalidations on a background thread and passes each
    /// to `apply`. After a lost subscription (messages may have been missed) `apply` gets
    /// [`Invalidation::All`]. The thread ends once the `Shared` is dropped.
    pub fn subscribe(self: &Arc<Self>, apply: impl Fn(&Invalidation) + Send + 'static) {
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("lore-cache-sub".into())
            .spawn(move || listen(&weak, &apply));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the cache invalidation listener");
        }
    }

    /// Health and counters.
    pub fn stats(&self) -> SharedStats {
        SharedStats {
            url: self.url.clone(),
            available: self.available.load(Ordering::Acquire),
            errors: self.errors.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            outages: self.outages.load(Ordering::Relaxed),
            invalidations_received: self.received.load(Ordering::Relaxed),
        }
    }
}

fn listen(weak: &Weak<Shared>, apply: &dyn Fn(&Invalidation)) {
    let mut subscribed_before = false;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let (client, channel, origin) = (
            shared.client.clone(),
            shared.channel(),
            shared.origin.clone(),
        );
        let (timeout, retry) = (
            shared.timeout,
            Duration::from_millis(shared.retry_ms.max(100)),
        );
        drop(shared);
        let con = client.get_connection_with_timeout(timeout).and_then(|c| {
            c.set_read_timeout(Some(Duration::from_secs(1)))?;
            Ok(c)
        });
        let Ok(mut con) = con else {
            std::thread::sleep(retry);
            continue;
        };
        let mut pubsub = con.as_pubsub();
        if pubsub.subscribe(&channel).is_err() {
            std::thread::sleep(retry);
            continue;
        }
        if subscribed_before {
            tracing::info!("cache invalidation channel re-subscribed: clearing the in-process level (invalidations may have been missed)");
            apply(&Invalidation::All);
        }
        subscribed_before = true;
        loop {
            match pubsub.get_message() {
                Ok(msg) => {
                    let Ok(b) = serde_json::from_slice::<Broadcast>(msg.get_payload_bytes()) else {
                        continue;
                    };
                    if b.origin != origin {
                        if let Some(s) = weak.upgrade() {
                            s.received.fetch_add(1, Ordering::Relaxed);
                        }
                        apply(&b.invalidation);
                    }
                }
                Err(e) if e.is_timeout() => {
                    if weak.strong_count() == 0 {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
    }
}

fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
