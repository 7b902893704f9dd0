//! Meeting memory: transcripts become memories at three levels (L0 concepts, L1 semantic
//! clusters, L2 episodic segments) joined by typed, weighted edges, recalled by a unified
//! query (direct hits per level, activation spreading, bridge discovery), consolidated
//! and decayed over time.
//!
//! Reading order: [`transcript`] (formats in) → [`segment`] → [`features`] (types and
//! cognitive features) → [`concepts`] → [`build`] (a meeting to memories and edges) →
//! [`graph`] (edge weights) → [`index`] (the in-process snapshot) → [`query`] →
//! [`activation`] → [`bridges`] → [`consolidate`]. Pure computation: storage is
//! `lore-index`'s catalog, embedding and caching `lore-rag`'s.
#![warn(missing_docs)]

pub mod activation;
pub mod bridges;
pub mod build;
pub mod concepts;
pub mod consolidate;
pub mod features;
pub mod graph;
pub mod index;
pub mod query;
pub mod segment;
pub mod text;
pub mod transcript;

pub use activation::{ActivationClass, ActivationConfig};
pub use build::{MeetingBuild, NewConcept, NewEdge, NodeRef, Plan};
pub use consolidate::Consolidation;
pub use index::{IndexInput, MemoryIndex};
pub use query::{
    ActivatedMemory, BridgeMemory, DirectResults, MemoryFilters, MemoryHit, MemoryQuery,
    MemoryQueryResponse, QueryError, Scope, StageTimes,
};
pub use segment::SegmentConfig;
pub use transcript::{MeetingHints, MeetingInput, TranscriptError};

/// sha256 of `bytes`, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
