//! Model tiers over several OpenAI-compatible endpoints (`[llm.tiers.<name>]`): each
//! request goes to the live endpoint with the fewest outstanding requests per unit of
//! weight (least outstanding requests, as Envoy's and NGINX's `least_conn` balancers do),
//! under a per-endpoint concurrency cap; an endpoint that fails (refused, 5xx, broken
//! stream) is ejected for a cooldown (passive health checking, Envoy's outlier detection)
//! and the request fails over to another endpoint of the tier (restarted there, with a
//! notice, when the stream broke after some text); a background prober asks ejected endpoints for `GET /models` and takes them
//! back as soon as they answer (active health checking). When every endpoint has failed the
//! error goes back to the engine, which falls back to the extractive answerer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::openai::{Endpoint, OpenAiConfig};
use crate::{GenerateRequest, Generation, Generator, LlmError, TokenSink};

/// One endpoint of a tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierEndpoint {
    /// Base URL up to and including `/v1`.
    pub base_url: String,
    /// Model name sent in requests.
    pub model: String,
    /// Bearer token, if the server wants one.
    pub api_key: Option<String>,
    /// Share of the load relative to the tier's other endpoints (≥ 1).
    pub weight: u32,
    /// Requests in flight at most; more wait for a slot.
    pub max_concurrent: usize,
}

impl Default for TierEndpoint {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            model: String::new(),
            api_key: None,
            weight: 1,
            max_concurrent: 16,
        }
    }
}

/// `[llm.tiers.<name>]`: the endpoints of one model tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierConfig {
    /// The endpoints (at least one).
    pub endpoints: Vec<TierEndpoint>,
    /// How long a failed endpoint is left out unless a probe finds it back first (`30s`).
    #[serde(with = "lore_core::duration::millis")]
    pub cooldown: Duration,
    /// How often ejected endpoints are probed (`1s`).
    #[serde(with = "lore_core::duration::millis")]
    pub probe_interval: Duration,
    /// Price per million prompt tokens, USD (for cost by tier).
    pub price_in: f64,
    /// Price per million completion tokens, USD.
    pub price_out: f64,
    /// Another tier to answer with when every endpoint of this one fails (then the
    /// extractive answerer, with `[llm] extractive_fallback`); each step is a notice.
    pub fallback: Option<String>,
}

impl Default for TierConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            cooldown: Duration::from_secs(30),
            probe_interval: Duration::from_secs(1),
            price_in: 0.0,
            price_out: 0.0,
            fallback: None,
        }
    }
}

/// Figures of one endpoint (for `/health/detailed` and tests).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EndpointStats {
    /// Its base URL.
    pub base_url: String,
    /// Requests in flight.
    pub outstanding: usize,
    /// Requests it answered.
    pub served: u64,
    /// Requests it failed.
    pub failed: u64,
    /// Out of rotation now.
    pub ejected: bool,
}

struct Member {
    endpoint: Endpoint,
    weight: u32,
    cap: usize,
    outstanding: AtomicUsize,
    served: AtomicU64,
    failed: AtomicU64,
    ejected_until: Mutex<Option<Instant>>,
}

impl Member {
    fn ejected(&self, now: Instant) -> bool {
        self.ejected_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|t| now < t)
    }

    fn set_ejected(&self, until: Option<Instant>) {
        *self
            .ejected_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = until;
    }
}

struct Shared {
    name: String,
    members: Vec<Member>,
    cooldown: Duration,
    /// Signalled when a request finishes (a slot frees up).
    slots: (Mutex<()>, Condvar),
}

/// A model tier: a [`Generator`] that spreads requests over its endpoints.
pub struct TierPool {
    shared: Arc<Shared>,
}

/// Decrements an endpoint's outstanding count when the request ends, however it ends.
struct InFlight<'a>(&'a Shared, usize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        // Under the lock `pick` checks the counts under, so a waiter cannot miss the wake-up.
        let _slots = self
            .0
            .slots
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.0.members[self.1]
            .outstanding
            .fetch_sub(1, Ordering::SeqCst);
        self.0.slots.1.notify_all();
    }
}

impl TierPool {
    /// Builds the tier `name` from `config`; each endpoint takes its timeouts from `base`
    /// (`[llm.openai]`), without retries: another endpoint is the retry. Starts the prober.
    ///
    /// # Errors
    /// [`LlmError::Config`] for a tier without endpoints or a bad endpoint.
    pub fn new(name: &str, config: &TierConfig, base: &OpenAiConfig) -> Result<Self, LlmError> {
        if config.endpoints.is_empty() {
            return Err(LlmError::Config(format!("tier `{name}` has no endpoints")));
        }
        let members = config
            .endpoints
            .iter()
            .map(|e| {
                let endpoint = Endpoint::new(OpenAiConfig {
                    base_url: e.base_url.clone(),
                    model: e.model.clone(),
                    api_key: e.api_key.clone(),
                    max_retries: 0,
                    ..base.clone()
                })
                .map_err(|err| LlmError::Config(format!("tier `{name}`: {err}")))?;
                Ok(Member {
                    endpoint,
                    weight: e.weight.max(1),
                    cap: e.max_concurrent.max(1),
                    outstanding: AtomicUsize::new(0),
                    served: AtomicU64::new(0),
                    failed: AtomicU64::new(0),
                    ejected_until: Mutex::new(None),
                })
            })
            .collect::<Result<Vec<_>, LlmError>>()?;
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            members,
            cooldown: config.cooldown,
            slots: (Mutex::new(()), Condvar::new()),
        });
        spawn_prober(
            Arc::downgrade(&shared),
            config.probe_interval.max(Duration::from_millis(50)),
        );
        Ok(Self { shared })
    }

    /// Per-endpoint figures, in configuration order.
    pub fn stats(&self) -> Vec<EndpointStats> {
        let now = Instant::now();
        self.shared
            .members
            .iter()
            .map(|m| EndpointStats {
                base_url: m.endpoint.config.base_url.clone(),
                outstanding: m.outstanding.load(Ordering::SeqCst),
                served: m.served.load(Ordering::SeqCst),
                failed: m.failed.load(Ordering::SeqCst),
                ejected: m.ejected(now),
            })
            .collect()
    }

    /// The endpoint to try next: live, not yet tried, with a free slot, fewest outstanding
    /// per weight (then fewest served, so idle endpoints take turns). Waits for a slot
    /// while every live endpoint is at its cap; `None` when no live endpoint is left.
    fn pick(&self, tried: &[bool], wait_until: Instant) -> Option<usize> {
        let s = &self.shared;
        let mut guard = s
            .slots
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            let now = Instant::now();
            let live: Vec<usize> = (0..s.members.len())
                .filter(|&i| !tried[i] && !s.members[i].ejected(now))
                .collect();
            if live.is_empty() {
                return None;
            }
            let best = live
                .iter()
                .copied()
                .filter(|&i| s.members[i].outstanding.load(Ordering::SeqCst) < s.members[i].cap)
                .min_by(|&a, &b| {
                    let load = |i: usize| {
                        let m = &s.members[i];
                        (m.outstanding.load(Ordering::SeqCst) as f64 + 1.0) / f64::from(m.weight)
                    };
                    load(a).total_cmp(&load(b)).then(
                        s.members[a]
                            .served
                            .load(Ordering::SeqCst)
                            .cmp(&s.members[b].served.load(Ordering::SeqCst)),
                    )
                });
            if let Some(i) = best {
                s.members[i].outstanding.fetch_add(1, Ordering::SeqCst);
                return Some(i);
            }
            if now >= wait_until {
                return None;
            }
            guard = s
                .slots
                .1
                .wait_timeout(guard, wait_until - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

fn spawn_prober(shared: Weak<Shared>, every: Duration) {
    let spawned = std::thread::Builder::new()
        .name("lore-tier-probe".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            // The pool is gone: stop probing.
            let Some(s) = shared.upgrade() else { return };
            let now = Instant::now();
            for m in &s.members {
                if m.ejected(now) && m.endpoint.probe().is_ok() {
                    let _slots = s.slots.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    m.set_ejected(None);
                    tracing::info!(tier = %s.name, endpoint = %m.endpoint.config.base_url, "endpoint answers again: back in rotation");
                    s.slots.1.notify_all();
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the tier prober: ejected endpoints return after their cooldown");
    }
}

impl Generator for TierPool {
    fn kind(&self) -> crate::GeneratorKind {
        crate::GeneratorKind::OpenAi
    }

    fn model(&self) -> String {
        self.shared.members[0].endpoint.config.model.clone()
    }

    fn context_window(&self) -> usize {
        self.shared
            .members
            .iter()
            .map(|m| m.endpoint.config.context_window)
            .min()
            .unwrap_or(0)
    }

    fn probe(&self) -> Result<String, LlmError> {
        let mut last = None;
        for m in &self.shared.members {
            match m.endpoint.probe() {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| LlmError::Config("no endpoints".into())))
    }

    fn count_tokens(&self, text: &str) -> usize {
        text.len().div_ceil(3)
    }

    fn generate(
        &self,
        request: &GenerateRequest,
        on_token: TokenSink<'_>,
    ) -> Result<Generation, LlmError> {
        let s = &self.shared;
        let mut tried = vec![false; s.members.len()];
        let mut notices: Vec<String> = Vec::new();
        let mut last_error: Option<LlmError> = None;
        let wait_until = Instant::now() + s.members[0].endpoint.config.read_timeout;
        while let Some(i) = self.pick(&tried, wait_until) {
            let _in_flight = InFlight(s, i);
            tried[i] = true;
            let m = &s.members[i];
            let mut emitted = false;
            match m.endpoint.generate(request, &mut *on_token, &mut emitted) {
                Ok(mut g) => {
                    m.served.fetch_add(1, Ordering::SeqCst);
                    g.endpoint = Some(m.endpoint.config.base_url.clone());
                    if !notices.is_empty() {
                        g.notice = Some(notices.join("; "));
                    }
                    return Ok(g);
                }
                // A stream that broke after some text was passed on is restarted too: the
                // answer's final text is the new endpoint's alone, and the notice tells a
                // streaming client to discard what it got so far.
                Err(e) if endpoint_fault(&e) => {
                    m.failed.fetch_add(1, Ordering::SeqCst);
                    m.set_ejected(Some(Instant::now() + s.cooldown));
                    tracing::warn!(tier = %s.name, endpoint = %m.endpoint.config.base_url, error = %e, "endpoint failed: ejected, failing over");
                    notices.push(format!(
                        "tier `{}`: endpoint {} failed ({e}) and was ejected for {}s{}",
                        s.name,
                        m.endpoint.config.base_url,
                        s.cooldown.as_secs(),
                        if emitted {
                            "; its partial answer was discarded and the answer restarted"
                        } else {
                            ""
                        }
                    ));
                    last_error = Some(e);
                }
                Err(e) => {
                    m.failed.fetch_add(1, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| LlmError::Unreachable {
            url: format!("tier `{}`", s.name),
            message: "every endpoint is ejected or at its concurrency cap".into(),
        }))
    }
}

/// Whether `e` says the endpoint is unwell (unreachable, 429 or 5xx, a broken or
/// malformed stream) rather than the request being wrong (another 4xx would fail on every
/// endpoint alike: it is returned, nothing ejected).
fn endpoint_fault(e: &LlmError) -> bool {
    match e {
        LlmError::Status { status, .. } => *status >= 500 || *status == 429,
        other => other.is_unavailable(),
    }
}

/// `[llm.tiers]`: tier name → its endpoints.
pub type Tiers = BTreeMap<String, TierConfig>;

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(weights: &[u32], cap: usize) -> TierPool {
        let config = TierConfig {
            endpoints: weights
                .iter()
                .map(|&w| TierEndpoint {
                    // A port nothing listens on (bound, then released).
                    base_url: format!(
                        "http://127.0.0.1:{}/v1",
                        std::net::TcpListener::bind("127.0.0.1:0")
                            .unwrap()
                            .local_addr()
                            .unwrap()
                            .port()
                    ),
                    model: "m".into(),
                    weight: w,
                    max_concurrent: cap,
                    ..TierEndpoint::default()
                })
                .collect(),
            ..TierConfig::default()
        };
        TierPool::new("t", &config, &OpenAiConfig::default()).unwrap()
    }

    #[test]
    fn picks_the_fewest_outstanding_per_weight_and_skips_ejected_and_tried() {
        let p = pool(&[1, 1, 2], 8);
        let far = Instant::now() + Duration::from_millis(50);
        let m = &p.shared.members;
        m[0].outstanding.store(1, Ordering::SeqCst);
        m[1].outstanding.store(2, Ordering::SeqCst);
        m[2].outstanding.store(2, Ordering::SeqCst);
        // Loads after one more: 2/1, 3/1, 3/2 -> the weight-2 endpoint.
        assert_eq!(p.pick(&[false; 3], far), Some(2));
        // Then 2/1 = 2 ties with 4/2 = 2: fewer served wins, both 0, so the first.
        assert_eq!(p.pick(&[false; 3], far), Some(0));
        m[0].set_ejected(Some(Instant::now() + Duration::from_secs(60)));
        assert_eq!(p.pick(&[false, true, false], far), Some(2));
        assert_eq!(p.pick(&[false, true, true], far), None);
    }

    #[test]
    fn waits_for_a_slot_when_every_endpoint_is_at_its_cap() {
        let p = pool(&[1], 1);
        let soon = Instant::now() + Duration::from_millis(30);
        assert_eq!(p.pick(&[false], soon), Some(0));
        assert_eq!(
            p.pick(&[false], soon),
            None,
            "capped: waits, then gives up at the deadline"
        );
        drop(InFlight(&p.shared, 0));
        assert_eq!(
            p.pick(&[false], Instant::now() + Duration::from_secs(5)),
            Some(0)
        );
    }

    #[test]
    fn a_dead_endpoint_is_ejected_and_the_request_reports_every_step() {
        // Nothing listens on these ports (the fault injected: connection refused).
        let p = pool(&[1, 1], 4);
        let request = GenerateRequest {
            messages: Vec::new(),
            question: "q".into(),
            passages: Vec::new(),
            max_tokens: 4,
            temperature: 0.0,
            stop: Vec::new(),
            cancel: lore_core::Cancel::never(),
            json_schema: None,
        };
        let err = p.generate(&request, &mut |_| {}).unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        let stats = p.stats();
        assert!(
            stats
                .iter()
                .all(|s| s.ejected && s.failed == 1 && s.outstanding == 0),
            "{stats:?}"
        );
        assert!(endpoint_fault(&LlmError::Status {
            url: "u".into(),
            status: 503,
            body: String::new()
        }));
        assert!(!endpoint_fault(&LlmError::Status {
            url: "u".into(),
            status: 400,
            body: String::new()
        }));
    }
}
