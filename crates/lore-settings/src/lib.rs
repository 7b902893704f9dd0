//! lore's settings, defined once.
//!
//! [`Settings`] is every section lore reads, each defined (with its defaults) in the crate
//! that uses it and composed here. They are resolved once at start-up, later layers
//! winning:
//!
//! ```text
//! defaults  ←  lore.toml  ←  LORE_* environment ([`ENV`])  ←  command-line flags ([`FLAGS`])
//! ```
//!
//! Every value remembers where it came from ([`Origin`]), for `lore config show`. Unknown
//! sections and keys are rejected with their dotted path and the file's line, as are
//! values of the wrong type: a misspelt `[gaurd]` must not leave answer masking off.
#![warn(missing_docs)]

pub mod layers;
pub mod server;
pub mod sources;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lore_cache::CacheConfig;
use lore_index::StoreOptions;
use lore_ingest::{ChunkerConfig, Limits};
use lore_rag::{EmbeddingSettings, EngineConfig, GuardConfig, LlmConfig, MemoryConfig};
use lore_route::{ExperimentSpec, RouteSpec, RoutingConfig};
use serde::{Deserialize, Serialize};

pub use layers::{Origin, Override, Resolved};
pub use server::{
    AnalyticsConfig, AuthConfig, ConnectionConfig, CorsConfig, LogConfig, LogFormat, MetricsConfig,
    Price, RateLimitConfig, ServerSettings,
};
pub use sources::{Kind, Setting, ENV, FLAGS};

/// Every setting of lore, one field per `lore.toml` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `[store]`: index tuning and flushing.
    pub store: StoreOptions,
    /// `[chunking]`: chunk size and overlap a new collection records, tokens.
    pub chunking: ChunkerConfig,
    /// `[embedding]`: models dir, precision, threads, batches.
    pub embedding: EmbeddingSettings,
    /// `[ingest]`: per-file limits (nesting depth, decompression, extracted text).
    pub ingest: Limits,
    /// `[llm]`: answer generation.
    pub llm: LlmConfig,
    /// `[cache]`: cache layers and Redis.
    pub cache: CacheConfig,
    /// `[guard]`: PII masking and blocked topics.
    pub guard: GuardConfig,
    /// `[memory]`: meeting memory (importance half-life, consolidation, query cache).
    pub memory: MemoryConfig,
    /// `[server]`: address, default collection, timeouts, body size.
    pub server: ServerSettings,
    /// `[connections]`: header read timeout and connection cap.
    pub connections: ConnectionConfig,
    /// `[auth]`: API keys.
    pub auth: AuthConfig,
    /// `[rate_limit]`: quotas and the generation limit.
    pub rate_limit: RateLimitConfig,
    /// `[cors]`: origins allowed from browsers.
    pub cors: CorsConfig,
    /// `[log]`: level and format.
    pub log: LogConfig,
    /// `[analytics]`: the query log.
    pub analytics: AnalyticsConfig,
    /// `[metrics]`: `/metrics`.
    pub metrics: MetricsConfig,
    /// `[prices]`: model id → price per million tokens, for the cost estimate.
    pub prices: BTreeMap<String, Price>,
    /// `[routing]`: out-of-scope behaviour and the route classifier's gate.
    pub routing: RoutingConfig,
    /// `[[routes]]`: where each kind of question goes.
    pub routes: Vec<RouteSpec>,
    /// `[[experiments]]`: A/B/n tests of prompt versions and model tiers.
    pub experiments: Vec<ExperimentSpec>,
}

/// A settings error: where the bad value came from and what was wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("settings file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML (toml's message carries the line and column).
    #[error("settings file {}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// toml's message.
        message: String,
    },
    /// A key of the file is unknown or its value has the wrong type.
    #[error("{}:{line}:{column}: `{key}`: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key or value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Dotted path of the key (`guard.mask_answers`; `gaurd` for an unknown section).
        key: String,
        /// What was wrong.
        message: String,
    },
    /// An environment variable or flag holds a value its setting does not accept.
    #[error("{origin} (setting `{key}`): {message}")]
    Value {
        /// `LORE_CHUNK_TOKENS` or `--chunk-tokens`.
        origin: String,
        /// Dotted path of the setting.
        key: String,
        /// What was wrong.
        message: String,
    },
}

impl Settings {
    /// Reads and validates a settings file alone (no environment, no flags): what `lore
    /// config check FILE` runs.
    ///
    /// # Errors
    /// [`SettingsError::Io`], [`SettingsError::Syntax`], or [`SettingsError::Invalid`]
    /// naming the first unknown or ill-typed key with its line.
    pub fn check_file(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(layers::parse_file(path, &text)?.0)
    }

    /// The engine's part, for a data dir.
    pub fn engine_config(&self, data_dir: PathBuf) -> EngineConfig {
        EngineConfig {
            data_dir,
            embedding: self.embedding.clone(),
            chunking: self.chunking,
            store: self.store,
            llm: self.llm.clone(),
            cache: self.cache.clone(),
            guard: self.guard.clone(),
            ingest: self.ingest,
            memory: self.memory.clone(),
            routes: self.routes.clone(),
            routing: self.routing.clone(),
            routes_base: None,
            experiments: self.experiments.clone(),
        }
    }

    /// These settings with secrets replaced by `<redacted>` (LLM API keys, the Redis
    /// password), for printing.
    pub fn redacted(&self) -> Settings {
        Settings {
            llm: self.llm.redacted(),
            cache: self.cache.redacted(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests;
