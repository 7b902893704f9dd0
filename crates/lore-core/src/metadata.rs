//! Document metadata given at ingest time and used by filters.

use serde::{Deserialize, Serialize};

/// Metadata attached to a document and inherited by all of its chunks.
///
/// Every field is optional; filters on a missing field never match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Metadata {
    /// Knowledge domain, e.g. `hr`, `engineering`.
    pub domain: Option<String>,
    /// Owning department.
    pub department: Option<String>,
    /// Kind of document, e.g. `manual`, `policy`, `transcript`.
    pub doc_type: Option<String>,
    /// Free-form tags (any number).
    pub tags: Vec<String>,
}
