//! Search results.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which retrieval legs a search runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Lexical only: BM25 (Robertson & Zaragoza 2009) over the chunk text.
    Bm25,
    /// Dense only: cosine similarity of embeddings.
    Dense,
    /// Both legs fused with reciprocal rank fusion (Cormack et al. 2009).
    #[default]
    Hybrid,
}

impl SearchMode {
    /// The lowercase name used on the CLI and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Bm25 => "bm25",
            SearchMode::Dense => "dense",
            SearchMode::Hybrid => "hybrid",
        }
    }
}

impl fmt::Display for SearchMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bm25" => Ok(SearchMode::Bm25),
            "dense" => Ok(SearchMode::Dense),
            "hybrid" => Ok(SearchMode::Hybrid),
            other => Err(format!(
                "unknown search mode `{other}`: expected bm25, dense or hybrid"
            )),
        }
    }
}

/// One retrieved chunk, as returned by search (and printed by `lore search --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hit {
    /// Catalog id of the document the chunk belongs to.
    pub document_id: i64,
    /// Catalog id of the chunk (stable until the document is re-ingested with changes).
    pub chunk_id: i64,
    /// The file path as given to ingest (or the BEIR id for evaluation corpora).
    pub source: String,
    /// Title of the document.
    pub title: String,
    /// 1-based page number (PDF only).
    pub page: Option<u32>,
    /// Heading path, outermost first, joined with ` > ` (Markdown, HTML, DOCX).
    pub heading: Option<String>,
    /// The document's domain, if it has one.
    #[serde(default)]
    pub domain: Option<String>,
    /// Score of the mode used: BM25 score, cosine similarity, or RRF score. Higher is better.
    pub score: f32,
    /// The chunk text.
    pub text: String,
}

/// The last component of a source path (`/docs/guide.md` → `guide.md`).
pub fn source_file_name(source: &str) -> &str {
    source.rsplit(['/', '\\']).next().unwrap_or(source)
}

/// Where in its document a passage sits, as shown after its source: ` (page 3)` for a PDF
/// page, ` (Install > Build)` for a heading path, or empty.
pub fn location_label(page: Option<u32>, heading: Option<&str>) -> String {
    match (page, heading) {
        (Some(page), _) => format!(" (page {page})"),
        (None, Some(heading)) if !heading.is_empty() => format!(" ({heading})"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn file_names_and_locations() {
        assert_eq!(source_file_name("/a/b/guide.md"), "guide.md");
        assert_eq!(source_file_name("guide.md"), "guide.md");
        assert_eq!(location_label(Some(3), Some("Intro")), " (page 3)");
        assert_eq!(
            location_label(None, Some("Install > Build")),
            " (Install > Build)"
        );
        assert_eq!(location_label(None, Some("")), "");
        assert_eq!(location_label(None, None), "");
    }
}
