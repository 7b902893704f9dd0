//! Shared types of lore: what flows between ingest, index, retrieval and the front ends.
//!
//! No I/O happens here. Every other crate depends on this one, and this one on none of them.
#![warn(missing_docs)]

pub mod access;
pub mod cancel;
pub mod duration;
pub mod filter;
pub mod hit;
pub mod memory;
pub mod metadata;
pub mod paths;
pub mod words;

pub use access::{Access, AccessError, Rate, Role};
pub use cancel::{Cancel, CancelOnDrop};
pub use filter::{Filter, FilterError, FilterField, FilterSet};
pub use hit::{location_label, source_file_name, Hit, SearchMode};
pub use memory::{
    CognitiveFeatures, EdgeKind, Meeting, MeetingInfo, Memory, MemoryEdge, MemoryLevel, MemoryType,
    Turn,
};
pub use metadata::{check_label, is_invisible, Metadata};
pub use paths::{default_data_dir, default_models_dir, resolve_models_dir, ModelsDirSource};
