//! The engine: the one API the CLI (and later the HTTP server) calls.
//!
//! Today it runs ingest (read → detect → extract → chunk → embed → store) and retrieval
//! (BM25 ∥ dense → RRF fusion → hits). Answering, caching and routing will join here,
//! keeping the flow one way: ingest → index → retrieve → answer.
#![warn(missing_docs)]

pub mod config;
pub mod engine;
pub mod ingest;
pub mod search;

pub use config::EngineConfig;
pub use engine::{Engine, EngineError};
pub use ingest::{FileReport, FileStatus, IngestEvent, IngestReport, Prepared};
pub use search::{SearchRequest, SearchResponse, Timings};
