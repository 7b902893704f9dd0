//! Rate limits per API key and per client IP (GCRA: the quota as a burst, then one request
//! per period/quota), and the limit on concurrent generations.
//!
//! In process the limiters are `governor`'s. With Redis configured (`LORE_REDIS_URL`) the
//! same GCRA runs in Redis as one Lua script per request, so every server behind a load
//! balancer shares the counts; while Redis is unreachable each server falls back to its
//! own limiters (a client may then get up to N servers × the quota), never to no limit.
//! GCRA: J. Turner's "Generic Cell Rate Algorithm" (ITU-T I.371), as in governor and
//! redis-cell.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
// `DefaultClock` is named by the limiter type; a clock is never built per request (quanta
// calibrates with CPUID on construction: 11% of a cached answer's CPU when it was).
use governor::middleware::StateInformationMiddleware;
use governor::{Quota, RateLimiter};
use lore_cache::Shared;
use lore_core::Rate;

use crate::codes::ErrorCode;
use crate::config::RateLimitConfig;
use crate::error::ApiError;

type Direct = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One quota's limiters (a minute and an hour window).
struct Windows {
    minute: Option<(u32, Direct)>,
    hour: Option<(u32, Direct)>,
    /// Last check, seconds since the limiter's epoch.
    seen: AtomicU64,
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Allowed.
    pub allowed: bool,
    /// The quota of the tightest window (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests left in it (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// Seconds until it is full again (`X-RateLimit-Reset`).
    pub reset_s: u64,
    /// When refused: seconds until a request is allowed (`Retry-After`).
    pub retry_after_s: u64,
}

fn quota(n: u32, per: Duration) -> Option<(u32, Direct)> {
    let burst = NonZeroU32::new(n)?;
    let q = Quota::with_period(per / n)?.allow_burst(burst);
    Some((
        n,
        RateLimiter::direct(q).with_middleware::<StateInformationMiddleware>(),
    ))
}

impl Windows {
    fn new(rate: Rate) -> Self {
        Windows {
            minute: rate
                .per_minute
                .and_then(|n| quota(n, Duration::from_secs(60))),
            hour: rate
                .per_hour
                .and_then(|n| quota(n, Duration::from_secs(3600))),
            seen: AtomicU64::new(0),
        }
    }

    fn check(&self) -> Option<Decision> {
        let mut out: Option<Decision> = None;
        for (window, period) in [(&self.minute, 60u64), (&self.hour, 3600)] {
            let Some((n, lim)) = window else { continue };
            let d = match lim.check() {
                Ok(snap) => {
                    let remaining = snap.remaining_burst_capacity();
                    Decision {
                        allowed: true,
                        limit: *n,
                        remaining,
                        reset_s: ((n - remaining) as u64 * period).div_ceil(*n as u64),
                        retry_after_s: 0,
                    }
                }
                Err(not_until) => {
                    let wait = not_until
                        .wait_time_from(lim.clock().now())
                        .as_secs_f64()
                        .ceil() as u64;
                    Decision {
                        allowed: false,
                        limit: *n,
                        remaining: 0,
                        reset_s: period,
                        retry_after_s: wait.max(1),
                    }
                }
            };
            out = Some(match out {
                None => d,
                Some(prev) => tighter(prev, d),
            });
        }
        out
    }
}

/// The decision to report of two windows: a refusal over an allowance, else the one with
/// less left.
fn tighter(a: Decision, b: Decision) -> Decision {
    match (a.allowed, b.allowed) {
        (false, true) => a,
        (true, false) => b,
        (false, false) => {
            if a.retry_after_s >= b.retry_after_s {
                a
            } else {
                b
            }
        }
        (true, true) => {
            if a.remaining <= b.remaining {
                a
            } else {
                b
            }
        }
    }
}

/// GCRA over two windows in Redis, atomically: KEYS = minute and hour keys; ARGV =
/// minute quota, hour quota (0 = none). Returns {allowed, limit, remaining, reset_ms,
/// retry_ms}. A refused request consumes nothing.
const GCRA_LUA: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local periods = {60000, 3600000}
local best = nil
local new_tats = {}
for i = 1, 2 do
  local n = tonumber(ARGV[i])
  if n > 0 then
    local emission = periods[i] / n
    local tat = tonumber(redis.call('GET', KEYS[i]) or now)
    if tat < now then tat = now end
    local new_tat = tat + emission
    local allow_at = new_tat - periods[i]
    local d
    if allow_at > now then
      d = {0, n, 0, math.ceil(tat - now), math.ceil(allow_at - now)}
    else
      local remaining = math.floor((periods[i] - (new_tat - now)) / emission)
      d = {1, n, remaining, math.ceil(new_tat - now), 0}
      new_tats[i] = new_tat
    end
    if best == nil or (d[1] < best[1]) or (d[1] == best[1] and d[1] == 1 and d[3] < best[3])
       or (d[1] == best[1] and d[1] == 0 and d[5] > best[5]) then
      best = d
    end
  end
end
if best == nil then return {1, 0, 0, 0, 0} end
if best[1] == 1 then
  for i = 1, 2 do
    if new_tats[i] then
      redis.call('SET', KEYS[i], new_tats[i], 'PX', math.ceil(new_tats[i] - now) + 1000)
    end
  end
end
return best
"#;

/// The server's rate limiters.
pub struct Limiter {
    pub(crate) config: RateLimitConfig,
    keys: RwLock<HashMap<String, Arc<Windows>>>,
    ips: RwLock<HashMap<IpAddr, Arc<Windows>>>,
    shared: Option<Arc<Shared>>,
    script: redis::Script,
    epoch: Instant,
}

/// What was limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// An API key.
    Key,
    /// A client IP.
    Ip,
}

impl Scope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scope::Key => "key",
            Scope::Ip => "ip",
        }
    }
}

impl Limiter {
    /// Limiters for `config`, shared through `shared` (Redis) when given.
    pub fn new(config: RateLimitConfig, shared: Option<Arc<Shared>>) -> Self {
        Limiter {
            config,
            keys: RwLock::new(HashMap::new()),
            ips: RwLock::new(HashMap::new()),
            shared,
            script: redis::Script::new(GCRA_LUA),
            epoch: Instant::now(),
        }
    }

    /// Settings.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Health of the Redis pool of the rate limits, when shared.
    pub fn redis_stats(&self) -> Option<lore_cache::SharedStats> {
        self.shared.as_ref().map(|s| s.stats())
    }

    /// Checks (and counts) one request of `client` under `rate`; `None` when unlimited.
    pub(crate) fn check(&self, client: Client<'_>, rate: Rate) -> Option<Decision> {
        if rate.is_unlimited() {
            return None;
        }
        let scope = client.scope();
        if let Some(shared) = &self.shared {
            let id = client.to_string();
            let keys = [
                format!("{}rl:{}:{id}:m", shared.prefix(), scope.as_str()),
                format!("{}rl:{}:{id}:h", shared.prefix(), scope.as_str()),
            ];
            let mut inv = self.script.prepare_invoke();
            inv.key(&keys[0])
                .key(&keys[1])
                .arg(rate.per_minute.unwrap_or(0))
                .arg(rate.per_hour.unwrap_or(0));
            if let Some(v) = shared.run(|con| inv.invoke::<Vec<i64>>(con)) {
                if let [allowed, limit, remaining, reset_ms, retry_ms] = v[..] {
                    return Some(Decision {
                        allowed: allowed == 1,
                        limit: limit as u32,
                        remaining: remaining.max(0) as u32,
                        reset_s: (reset_ms.max(0) as u64).div_ceil(1000),
                        retry_after_s: (retry_ms.max(0) as u64)
                            .div_ceil(1000)
                            .max(u64::from(allowed == 0)),
                    });
                }
            }
            // Redis down or a bad reply: this server's own limiters.
        }
        let w = match client {
            Client::Key(id) => windows(&self.keys, id, rate),
            Client::Ip(ip) => windows(&self.ips, &ip, rate),
        };
        w.seen
            .store(self.epoch.elapsed().as_secs(), Ordering::Relaxed);
        w.check()
    }

    /// Forgets the in-process state of clients idle for an hour: both windows have
    /// refilled by then, so a fresh limiter is the same (bounds memory under many IPs).
    pub fn forget_idle(&self) {
        let now = self.epoch.elapsed().as_secs();
        let idle = |w: &Arc<Windows>| now.saturating_sub(w.seen.load(Ordering::Relaxed)) < 3600;
        self.ips
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, w| idle(w));
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, w| idle(w));
    }
}

/// Who a limit applies to.
#[derive(Clone, Copy)]
pub(crate) enum Client<'a> {
    Key(&'a str),
    Ip(IpAddr),
}

impl Client<'_> {
    fn scope(&self) -> Scope {
        match self {
            Client::Key(_) => Scope::Key,
            Client::Ip(_) => Scope::Ip,
        }
    }
}

impl std::fmt::Display for Client<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Client::Key(k) => f.write_str(k),
            Client::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

fn windows<K, Q>(map: &RwLock<HashMap<K, Arc<Windows>>>, k: &Q, rate: Rate) -> Arc<Windows>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    if let Some(w) = map.read().unwrap_or_else(PoisonError::into_inner).get(k) {
        return w.clone();
    }
    map.write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(k.to_owned())
        .or_insert_with(|| Arc::new(Windows::new(rate)))
        .clone()
}

/// Bounds concurrent generations; waiting requests are futures, not threads.
pub struct Generations {
    slots: Arc<tokio::sync::Semaphore>,
    max_queued: usize,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Generations {
    /// `concurrent` slots, at most `max_queued` waiting.
    pub fn new(concurrent: usize, max_queued: usize) -> Self {
        Generations {
            slots: Arc::new(tokio::sync::Semaphore::new(concurrent.max(1))),
            max_queued,
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// A slot, waiting for one if needed.
    ///
    /// # Errors
    /// 429 `too_many_generations` when the queue is full.
    pub async fn acquire(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            crate::metrics::rate_limited("generation");
            return Err(ApiError::new(
                ErrorCode::TooManyGenerations,
                format!(
                    "{} answers are waiting to be generated; retry in a few seconds",
                    self.max_queued
                ),
            ));
        }
        let permit = self.slots.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        permit.map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_then_refusals_with_retry_after() {
        let w = Windows::new("5/min".parse().unwrap());
        for i in 0..5 {
            let d = w.check().unwrap();
            assert!(d.allowed, "request {i}");
            assert_eq!((d.limit, d.remaining), (5, 4 - i));
        }
        let d = w.check().unwrap();
        assert!(!d.allowed);
        assert!((1..=12).contains(&d.retry_after_s), "{d:?}");
    }

    #[test]
    fn the_tighter_window_is_reported() {
        let w = Windows::new("100/min,3/h".parse().unwrap());
        for _ in 0..3 {
            assert!(w.check().unwrap().allowed);
        }
        let d = w.check().unwrap();
        assert!(!d.allowed && d.limit == 3 && d.retry_after_s > 60, "{d:?}");
    }
}
