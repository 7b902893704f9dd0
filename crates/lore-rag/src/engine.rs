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
    /// Query embedding, retrieval and answer caches.
    pub(crate) caches: Arc<EngineCaches>,
    /// PII masking and blocked topics.
    pub(crate) guard: crate::Guard,
}

impl Engine {
    /// Opens the data dir and loads the embedding model.
    ///
    /// # Errors
    /// [`EngineError::Embed`] when the models are missing (the message names the set-up
    /// command) or fail to load; [`EngineError::Index`] when the data dir cannot be opened;
    /// [`EngineError::InvalidRequest`] for a malformed Redis URL.
    pub fn open(config: EngineConfig) -> Result<Self, EngineError> {
        let (models_dir, how) = resolve_models_dir(config.models_dir.as_deref());
        let files = ModelFiles::locate(&models_dir, how, config.precision)?;
        let embedder = OnnxEmbedder::load(
            files,
            OnnxOptions {
                threads: config.embed_threads,
                batch_size: config.embed_batch,
            },
        )?;
        let chunker = Chunker::new(
            embedder.tokenizer(),
            lore_ingest::ChunkerConfig {
                max_seq_tokens: embedder.max_tokens(),
                ..config.chunker
            },
        )?;
        let prompts = PromptLibrary::load(&config.data_dir.join("prompts"))?;
        let store = Store::open(&config.data_dir, config.store)?;
        let caches = EngineCaches::new(&config.cache)?;
        let guard = crate::Guard::new(config.guard.clone())
            .map_err(|e| EngineError::InvalidRequest(format!("[guard] {e}")))?;
        Ok(Engine {
            store,
            embedder: Arc::new(embedder),
            chunker,
            config,
            models_dir,
            prompts,
            query_batcher: lore_embed::Batcher::new(),
            generators: Mutex::new(HashMap::new()),
            caches,
            guard,
        })
    }

    /// The store (collections, documents, consistency checks).
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The store, read-only (listing collections and documents while others search).
    pub fn store_ref(&self) -> &Store {
        &self.store
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

    /// Deletes the document with `source` from a collection (catalog and both indexes).
    /// Returns whether it existed.
    ///
    /// # Errors
    /// [`EngineError::Index`] (unknown collection, store failure).
    pub fn delete(&mut self, collection: &str, source: &str) -> Result<bool, EngineError> {
        let info = self.store.collection(collection)?;
        let source = lore_ingest::normalize_source(std::path::Path::new(source));
        let deleted = self.store.delete_document(&info, &source)?.is_some();
        self.store.flush()?;
        Ok(deleted)
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
