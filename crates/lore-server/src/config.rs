//! The server's sections of `lore.toml`: `[auth]`, `[rate_limit]`, `[cors]`, `[log]`,
//! `[analytics]` and `[prices]` (the engine reads `[llm]`, `[cache]` and `[guard]`).

use std::collections::BTreeMap;

use lore_core::Rate;
use serde::{Deserialize, Serialize};

/// Security and observability settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityConfig {
    /// API keys.
    pub auth: AuthConfig,
    /// Request quotas and the generation limit.
    pub rate_limit: RateLimitConfig,
    /// Cross-origin requests.
    pub cors: CorsConfig,
    /// Logging.
    pub log: LogConfig,
    /// The query log behind `/v1/admin/analytics`.
    pub analytics: AnalyticsConfig,
    /// `/metrics`.
    pub metrics: MetricsConfig,
    /// Prices per model, for the estimated cost in `/metrics`: model id → price.
    pub prices: BTreeMap<String, Price>,
    /// Connection limits: header read timeout (idle keep-alive included), open
    /// connections.
    pub connections: ConnectionConfig,
}

/// `[connections]`: what one client may hold open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Seconds a connection may take to send a request's complete headers, counted from
    /// its opening or from the end of the previous response: it closes connections that
    /// send nothing, dribble their headers, or sit idle between keep-alive requests.
    /// Default 10 (slow bodies and slow answers are bounded by the request timeout).
    pub header_read_timeout_secs: u64,
    /// Open connections at most; one more is closed as soon as it is accepted (counted in
    /// `lore_connections_refused_total`). Default 1024.
    pub max_connections: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            header_read_timeout_secs: 10,
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
    /// Days of rows kept (older rows are deleted at start-up).
    pub retention_days: u32,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            enabled: true,
            retention_days: 90,
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

impl SecurityConfig {
    /// Parses the server's sections out of a whole `lore.toml` (other sections ignored).
    ///
    /// # Errors
    /// The TOML error, naming the bad key or value.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies `LORE_AUTH=off|on` and `LORE_CORS_ORIGINS=a,b`.
    ///
    /// # Errors
    /// A message naming the variable with a bad value.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if let Some(v) = get("LORE_AUTH") {
            self.auth.enabled = match v.as_str() {
                "off" | "false" | "0" => false,
                "on" | "true" | "1" => true,
                other => return Err(format!("LORE_AUTH: expected on or off, got `{other}`")),
            };
        }
        if let Some(v) = get("LORE_CORS_ORIGINS") {
            self.cors.allowed_origins = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_parse_beside_the_engine_ones() {
        let c = SecurityConfig::from_toml(
            r#"
            [llm]
            generator = "extractive"
            [auth]
            public_metrics = true
            [rate_limit]
            per_key = "5/min"
            [cors]
            allowed_origins = ["https://chat.example.com"]
            [prices."gpt-4o-mini"]
            input_per_million = 0.15
            output_per_million = 0.6
            "#,
        )
        .unwrap();
        assert!(c.auth.enabled && c.auth.public_metrics);
        assert_eq!(c.rate_limit.per_key.per_minute, Some(5));
        assert_eq!(c.rate_limit.per_key.per_hour, None);
        assert_eq!(c.cors.allowed_origins.len(), 1);
        let cost = c.prices["gpt-4o-mini"].cost(1_000_000, 1_000_000);
        assert!((cost - 0.75).abs() < 1e-9);
        assert!(SecurityConfig::from_toml("[auth]\nenabled = \"yes\"").is_err());
        let mut c = SecurityConfig::default();
        c.apply_env(|k| (k == "LORE_AUTH").then(|| "off".to_string()))
            .unwrap();
        assert!(!c.auth.enabled);
        assert!(c.apply_env(|_| Some("maybe".into())).is_err());
    }
}
