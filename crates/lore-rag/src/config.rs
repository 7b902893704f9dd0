//! Engine configuration.

use std::path::PathBuf;

use lore_cache::CacheConfig;
use lore_embed::Precision;
use lore_index::StoreOptions;
use lore_ingest::ChunkerConfig;

use crate::LlmConfig;

/// Everything the engine needs to start.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Data dir (catalog and indexes).
    pub data_dir: PathBuf,
    /// Models dir; `None` resolves `LORE_MODELS_DIR`, then the default cache dir.
    pub models_dir: Option<PathBuf>,
    /// Embedding model precision (default f32: see docs/benchmarks.md for the measurement).
    pub precision: Precision,
    /// Threads for embedding inference (default: all cores).
    pub embed_threads: usize,
    /// Texts per inference batch (default 32).
    pub embed_batch: usize,
    /// Chunking.
    pub chunker: ChunkerConfig,
    /// Store tuning.
    pub store: StoreOptions,
    /// Chunks embedded together during ingest (across documents; default 256).
    pub ingest_batch_chunks: usize,
    /// Persist the indexes after this many chunks written (default 20,000) and at the end.
    pub flush_every_chunks: usize,
    /// Answer generation.
    pub llm: LlmConfig,
    /// Caches (embedding, retrieval, exact and semantic answers; Redis).
    pub cache: CacheConfig,
    /// Guardrails: PII masking, blocked topics.
    pub guard: crate::GuardConfig,
    /// Per-file ingest limits: nesting depth, decompression, extracted text.
    pub ingest: lore_ingest::Limits,
}

impl EngineConfig {
    /// Defaults with the given data dir.
    pub fn new(data_dir: PathBuf) -> Self {
        let defaults = lore_embed::OnnxOptions::default();
        EngineConfig {
            data_dir,
            models_dir: None,
            precision: Precision::default(),
            embed_threads: defaults.threads,
            embed_batch: defaults.batch_size,
            chunker: ChunkerConfig::default(),
            store: StoreOptions::default(),
            ingest_batch_chunks: 256,
            flush_every_chunks: 20_000,
            llm: LlmConfig::default(),
            cache: CacheConfig::default(),
            guard: crate::GuardConfig::default(),
            ingest: lore_ingest::Limits::default(),
        }
    }
}
