//! Engine construction and errors.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lore_core::resolve_models_dir;
use lore_embed::{Embedder, ModelFiles, OnnxEmbedder, OnnxOptions};
use lore_index::Store;
use lore_ingest::Chunker;

use crate::{EngineCaches, EngineConfig, GeneratorKind, PromptLibrary};

/// Errors of engine operations (file-level ingest failures are reported per file instead).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Bad input from the user (unknown mode, empty query, ...).
    #[error("{0}")]
    InvalidRequest(String),
    /// Store failure.
    #[error(transparent)]
    Index(#[from] lore_index::IndexError),
    /// Embedding failure (including missing models).
    #[error(transparent)]
    Embed(#[from] lore_embed::EmbedError),
    /// Chunker set-up failure.
    #[error(transparent)]
    Ingest(#[from] lore_ingest::IngestError),
    /// Answer generation failure.
    #[error(transparent)]
    Llm(#[from] lore_llm::LlmError),
    /// A setting the engine was started with is unusable (a bad `[guard]` pattern, a
    /// malformed Redis URL, a missing prompt file): the operator's problem, never the
    /// caller's (a 5xx at the API edge).
    #[error("configuration: {0}")]
    Config(String),
    /// A route set that is invalid or cannot be fitted.
    #[error(transparent)]
    Routes(#[from] lore_route::RouteError),
    /// The run asked for another chunking than the collection was built with.
    #[error("collection `{collection}` is chunked at {have}; this run asks for {want}: ingest with the collection's chunking (drop the chunking flags), or re-chunk it (`--rechunk`: its documents are replaced by this run's)")]
    ChunkingMismatch {
        /// The collection.
        collection: String,
        /// Its recorded chunking.
        have: lore_index::Chunking,
        /// The run's.
        want: lore_index::Chunking,
    },
    /// A collection of this name exists already.
    #[error("collection `{0}` already exists")]
    CollectionExists(String),
    /// No such document in the collection, or none the caller may see.
    #[error("document `{document}` not found in collection `{collection}`")]
    DocumentNotFound {
        /// The collection.
        collection: String,
        /// The id or source asked for.
        document: String,
    },
    /// The question touches a blocked topic (`[guard.blocked_topics]`).
    #[error("questions about `{topic}` are not answered from collection `{collection}`")]
    TopicBlocked {
        /// The blocked phrase found.
        topic: String,
        /// The collection asked.
        collection: String,
    },
}

/// The engine: store, embedding model and chunker. `Sync`: a server shares it behind a
/// read-write lock, searching and answering under the read side ([`Engine::search_loaded`],
/// [`Engine::answer_loaded`]) and writing under the write side.
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) embedder: Arc<OnnxEmbedder>,
    pub(crate) chunker: Chunker,
    pub(crate) config: EngineConfig,
    /// The models dir as resolved at open (flag → `LORE_MODELS_DIR` → default).
    pub(crate) models_dir: PathBuf,
    pub(crate) prompts: PromptLibrary,
    /// Concurrent query embeddings share inferences (a server's searches).
    pub(crate) query_batcher: lore_embed::Batcher,
    /// Generators loaded so far (a GGUF model loads on first use).
    pub(crate) generators: Mutex<HashMap<GeneratorKind, Arc<dyn lore_llm::Generator>>>,
    /// Model tiers built so far (`[llm.tiers]`), by name.
    pub(crate) tiers: Mutex<HashMap<String, Arc<lore_llm::TierPool>>>,
    /// Query embedding, retrieval and answer caches.
    pub(crate) caches: Arc<EngineCaches>,
    /// PII masking and blocked topics.
    pub(crate) guard: crate::Guard,
    /// Meeting memory.
    pub(crate) memory: crate::MemoryService,
    /// The route set in use and its stored versions.
    pub(crate) routes: crate::routing::RouteState,
    /// Metadata values per collection, for self-query.
    pub(crate) facet_cache: crate::self_query::FacetCache,
    /// The learned tier router, with `[routing] tier_by = "learned"`.
    pub(crate) tier_router: Option<std::sync::Arc<lore_route::TierRouter>>,
}

impl Engine {
    /// Opens the data dir and loads the embedding model.
    ///
    /// # Errors
    /// [`EngineError::Embed`] when the models are missing (the message names the set-up
    /// command) or fail to load; [`EngineError::Index`] when the data dir cannot be opened;
    /// [`EngineError::Config`] for a malformed Redis URL, `[guard]` pattern or prompt
    /// template file.
    pub fn open(config: EngineConfig) -> Result<Self, EngineError> {
        let (models_dir, how) = resolve_models_dir(config.embedding.models_dir.as_deref());
        let files = ModelFiles::locate(&models_dir, how, config.embedding.precision)?;
        let embedder = OnnxEmbedder::load(
            files,
            OnnxOptions {
                threads: config.embedding.threads(),
                batch_size: config.embedding.batch_size.max(1),
            },
        )?;
        let chunker = Chunker::new(
            embedder.tokenizer(),
            lore_ingest::ChunkerConfig {
                max_seq_tokens: embedder.max_tokens(),
                ..config.chunking
            },
        )?;
        let prompts = PromptLibrary::load(&config.data_dir.join("prompts"))?;
        let store = Store::open(&config.data_dir, config.store)?;
        let memory = crate::MemoryService::open(
            &config.data_dir.join("catalog.sqlite"),
            config.memory.clone(),
            embedder.dim(),
        )?;
        let caches = EngineCaches::new(&config.cache)?;
        let routes = Engine::open_routes(&config.data_dir, &config, &mut |t| {
            crate::routing::embed_normalized(&embedder, t)
        })?;
        let tier_router = crate::tier_choice::open_tier_router(
            &config.data_dir,
            &config.routing,
            &config.llm.tiers,
        )?;
        let guard = crate::Guard::new(config.guard.clone())
            .map_err(|e| EngineError::Config(format!("[guard] {e}")))?;
        let engine = Engine {
            store,
            embedder: Arc::new(embedder),
            chunker,
            config,
            models_dir,
            prompts,
            query_batcher: lore_embed::Batcher::new(),
            generators: Mutex::new(HashMap::new()),
            tiers: Mutex::new(HashMap::new()),
            caches,
            guard,
            memory,
            routes,
            tier_router,
            facet_cache: Default::default(),
        };
        engine.check_experiments()?;
        Ok(engine)
    }

    /// The embedding model.
    pub fn embedder(&self) -> &OnnxEmbedder {
        &self.embedder
    }

    /// The caches (statistics, explicit invalidation).
    pub fn caches(&self) -> &EngineCaches {
        &self.caches
    }

    /// The guardrails (PII masker, blocked topics).
    pub fn guard(&self) -> &crate::Guard {
        &self.guard
    }

    /// The prompt templates (built-in and `<data_dir>/prompts/*.toml`).
    pub fn prompts(&self) -> &PromptLibrary {
        &self.prompts
    }

    /// The configuration, to change answer settings before the first answer (a generator
    /// already loaded keeps the settings it was loaded with).
    pub fn config_mut(&mut self) -> &mut EngineConfig {
        &mut self.config
    }

    /// The configuration in use.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn engine_is_send_and_sync() {
        fn assert_sync<T: Send + Sync>() {}
        assert_sync::<super::Engine>();
    }
}
