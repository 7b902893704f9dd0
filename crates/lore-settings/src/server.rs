//! The server's sections: `[server]`, `[connections]`, `[auth]`, `[rate_limit]`, `[cors]`,
//! `[log]`, `[analytics]`, `[metrics]` and `[prices]` (the engine's are in `lore-rag`).

use std::time::Duration;

use lore_core::Rate;
use serde::{Deserialize, Serialize};

/// `[server]`: where `lore serve` listens and how long it waits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on (port 0: a free port, printed at start-up). Default
    /// `127.0.0.1:8080`.
    pub bind: std::net::SocketAddr,
    /// Collection used when a request names none, and by the model id `lore`.
    pub default_collection: String,
    /// Longest time to a response's headers (streams may run on). Default `2m`.
    #[serde(with = "lore_core::duration::secs")]
    pub request_timeout: Duration,
    /// Largest request body (uploads included), MiB. Default 64.
    pub max_body_mb: usize,
    /// How long an upload waits for its ingest job before answering 202 with the job.
    /// Default `10s`.
    #[serde(with = "lore_core::duration::millis")]
    pub upload_wait: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            default_collection: "default".into(),
            request_timeout: Duration::from_secs(120),
            max_body_mb: 64,
            upload_wait: Duration::from_secs(10),
        }
    }
}

/// `[connections]`: what one client may hold open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Time a connection may take to send a request's complete headers, counted from
    /// its opening or from the end of the previous response: it closes connections that
    /// send nothing, dribble their headers, or sit idle between keep-alive requests.
    /// Default `10s` (slow bodies and slow answers are bounded by the request timeout).
    #[serde(alias = "header_read_timeout_secs", with = "lore_core::duration::secs")]
    pub header_read_timeout: Duration,
    /// Open connections at most; one more is closed as soon as it is accepted (counted in
    /// `lore_connections_refused_total`). Default 1024.
    pub max_connections: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Require an API key on every route but `/health`, `/`, the web UI's assets,
    /// `/openapi.json` and `/docs`. Default on; turning it off (`enabled = false`,
    /// `LORE_AUTH=off` or `lore serve --no-auth`) is for a machine used by one person, and
    /// `lore serve` warns about it on every start.
    pub enabled: bool,
    /// Serve `/metrics` without a key (for a Prometheus scraper on a private network).
    /// Default off: `/metrics` then needs an admin key (`authorization` in the scrape
    /// config).
    pub public_metrics: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: true,
            public_metrics: false,
        }
    }
}

/// `[rate_limit]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Enforce the quotas. Default on.
    pub enabled: bool,
    /// Default quota of a key created without `--rate`.
    pub per_key: Rate,
    /// Quota of each client IP (authenticated or not).
    pub per_ip: Rate,
    /// Take the client IP from the first `X-Forwarded-For` address (only behind a proxy
    /// that sets it; otherwise clients could pick their own IP).
    pub trust_forwarded_for: bool,
    /// Answers generated at once (cache misses); more wait in a queue.
    pub max_concurrent_generations: usize,
    /// Answers waiting for a generation slot at most; beyond, 429 `too_many_generations`.
    pub max_queued_generations: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            per_key: Rate {
                per_minute: Some(600),
                per_hour: Some(20_000),
            },
            per_ip: Rate {
                per_minute: Some(1_200),
                per_hour: Some(50_000),
            },
            trust_forwarded_for: false,
            max_concurrent_generations: 8,
            max_queued_generations: 256,
        }
    }
}

/// `[cors]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call the API from a browser (`https://chat.example.com`); none
    /// by default. Credentials (cookies, `Authorization`) are allowed for these only.
    pub allowed_origins: Vec<String>,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug`, `trace`, or a `tracing` filter
    /// (`info,lore_rag=debug`). `LORE_LOG` overrides it.
    pub level: String,
    /// `json` (one object per line; the default of `lore serve`) or `text`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Json,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

/// `[analytics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// Record each search and answer in the catalog's query log. Default on.
    pub enabled: bool,
    /// How long rows are kept (older ones are deleted at start-up; `90d`).
    #[serde(alias = "retention_days", with = "lore_core::duration::days")]
    pub retention: Duration,
    /// `[analytics.drift]`: the question mix of today against the week before.
    pub drift: lore_index::DriftConfig,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            enabled: true,
            retention: Duration::from_secs(90 * 86_400),
            drift: lore_index::DriftConfig::default(),
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Record metrics and serve `/metrics`. Default on.
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: true }
    }
}

/// A model's price in US dollars per million tokens (the unit providers publish).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Price {
    /// Per million prompt tokens.
    pub input_per_million: f64,
    /// Per million completion tokens.
    pub output_per_million: f64,
}

impl Price {
    /// The cost of one call, USD.
    pub fn cost(&self, tokens_in: u64, tokens_out: u64) -> f64 {
        (tokens_in as f64 * self.input_per_million + tokens_out as f64 * self.output_per_million)
            / 1e6
    }
}
