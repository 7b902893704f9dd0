//! Engine configuration: the sections of the settings the engine reads. Each section's
//! defaults are written once, in its `Default`; `lore-settings` composes the sections into
//! the one `Settings` type and resolves them from `lore.toml`, `LORE_*` and flags.

use std::path::PathBuf;

use lore_cache::CacheConfig;
use lore_embed::Precision;
use lore_index::StoreOptions;
use lore_ingest::ChunkerConfig;
use serde::{Deserialize, Serialize};

use crate::LlmConfig;

/// `[embedding]`: the embedding model and how ingest batches it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingSettings {
    /// Models dir (embedding model, ONNX Runtime, GGUF files under `llm/`); none: the
    /// default cache dir (`~/.cache/lore/models`).
    pub models_dir: Option<PathBuf>,
    /// Weights: `f32` (default: measured faster here, docs/benchmarks.md) or `int8`.
    pub precision: Precision,
    /// Inference threads; none: all cores.
    pub threads: Option<usize>,
    /// Texts per inference call (sorted by length first so a batch pads little).
    pub batch_size: usize,
    /// Chunks embedded together during ingest, across documents.
    pub ingest_batch_chunks: usize,
}

impl Default for EmbeddingSettings {
    fn default() -> Self {
        EmbeddingSettings {
            models_dir: None,
            precision: Precision::default(),
            threads: None,
            batch_size: lore_embed::OnnxOptions::default().batch_size,
            ingest_batch_chunks: 256,
        }
    }
}

impl EmbeddingSettings {
    /// Inference threads: the setting, else every core.
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| lore_embed::OnnxOptions::default().threads)
            .max(1)
    }
}

/// Everything the engine needs to start.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Data dir (catalog and indexes).
    pub data_dir: PathBuf,
    /// `[embedding]`.
    pub embedding: EmbeddingSettings,
    /// `[chunking]`: the chunk size and overlap a new collection records (a collection
    /// keeps its own afterwards).
    pub chunking: ChunkerConfig,
    /// `[store]`.
    pub store: StoreOptions,
    /// `[llm]`: answer generation.
    pub llm: LlmConfig,
    /// `[cache]`: embedding, retrieval, exact and semantic answers; Redis.
    pub cache: CacheConfig,
    /// `[guard]`: PII masking, blocked topics.
    pub guard: crate::GuardConfig,
    /// `[ingest]`: per-file limits (nesting depth, decompression, extracted text).
    pub ingest: lore_ingest::Limits,
    /// `[memory]`: meeting memory (importance half-life, consolidation, query cache).
    pub memory: crate::MemoryConfig,
    /// `[[routes]]`: the route set lore.toml defines (empty: the last stored version).
    pub routes: Vec<lore_route::RouteSpec>,
    /// `[routing]`: out-of-scope behaviour and the gate's tuning.
    pub routing: lore_route::RoutingConfig,
    /// Folder route example files are relative to (lore.toml's; default the data dir).
    pub routes_base: Option<PathBuf>,
    /// `[[experiments]]`: A/B/n tests of prompts and model tiers on answers.
    pub experiments: Vec<lore_route::ExperimentSpec>,
}

impl EngineConfig {
    /// Defaults with the given data dir.
    pub fn new(data_dir: PathBuf) -> Self {
        EngineConfig {
            data_dir,
            embedding: EmbeddingSettings::default(),
            chunking: ChunkerConfig::default(),
            store: StoreOptions::default(),
            llm: LlmConfig::default(),
            cache: CacheConfig::default(),
            guard: crate::GuardConfig::default(),
            ingest: lore_ingest::Limits::default(),
            memory: crate::MemoryConfig::default(),
            routes: Vec::new(),
            routing: lore_route::RoutingConfig::default(),
            routes_base: None,
            experiments: Vec::new(),
        }
    }
}
