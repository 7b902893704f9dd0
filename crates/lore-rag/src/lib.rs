//! The engine: the one API the CLI (and later the HTTP server) calls.
//!
//! It runs ingest (read → detect → extract → chunk → embed → store), retrieval (BM25 ∥
//! dense → RRF fusion → hits) and answering (retrieve → prompt → generate → cite → ground).
//! Caches sit inside the flow (`cache.rs`): query embeddings, retrievals and answers are
//! reused only under keys that change with the data. Routing will join here, keeping the
//! flow one way: ingest → index → retrieve → answer.
#![warn(missing_docs)]

pub mod answer;
pub mod cache;
pub mod cite;
pub mod collections;
pub mod compress;
pub mod config;
pub mod engine;
pub mod experiments;
pub mod followup;
pub mod grounding;
pub mod guard;
pub mod ingest;
pub mod llm_config;
pub mod memory;
pub mod memory_llm;
pub mod prompt;
pub mod routing;
pub mod search;
pub mod self_query;
pub mod tier_choice;

pub use answer::{Answer, AnswerEvent, AnswerRequest, AnswerTimings, Citation};
pub use cache::{CacheHit, CacheStats, EngineCaches};
pub use collections::{CollectionSummary, DocumentRef, IndexCounts, Verification};
pub use config::{EmbeddingSettings, EngineConfig};
pub use engine::{Engine, EngineError};
pub use experiments::Chosen;
pub use grounding::{Grounding, GroundingAction, GroundingConfig};
pub use guard::{Guard, GuardConfig};
pub use ingest::{
    run_ingest, EngineCell, EngineLock, FileError, FileReport, FileStatus, IngestEvent, IngestItem,
    IngestOptions, IngestReport, Prepared, FILE_ERROR_CODES,
};
pub use llm_config::{GeneratorKind, LlmConfig};
pub use memory::{
    ConsolidationReport, MeetingIngest, MeetingStatus, MemoryConfig, MemoryService, MemoryStats,
};
pub use prompt::{PromptLibrary, PromptTemplate};
pub use routing::{RouteInfo, RouteVersion};
pub use search::{
    fuse_collections, CollectionHit, MultiSearchResponse, SearchRequest, SearchResponse, Timings,
    DEFAULT_CANDIDATES, DEFAULT_TOP_K,
};
pub use tier_choice::TierChoice;
