//! Ingest: turn file bytes into titled, structured, token-bounded chunks.
//!
//! Pure functions over bytes; nothing here touches the store. The flow is
//! [`detect`] the format from content → [`extract`] text with its structure (pages,
//! heading paths, title) → [`chunk`] it to the embedding model's token budget.
#![warn(missing_docs)]

pub mod chunk;
pub mod detect;
pub mod document;
pub mod error;
pub mod extract;
pub mod walk;

pub use chunk::{ChunkDraft, Chunker, ChunkerConfig};
pub use detect::{detect, Format};
pub use document::{Extracted, Section};
pub use error::{IngestError, Result};
pub use walk::{normalize_source, walk_paths};

use sha2::{Digest, Sha256};

/// Lowercase hex sha256 of `bytes`: the document's content hash (64 chars).
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Detects the format of `bytes` and extracts its text and structure.
///
/// `name` (the file name) is used only for the fallback title and to tell Markdown from
/// plain text; the format itself comes from the content.
///
/// # Errors
/// [`IngestError`] when the bytes are empty, binary, of an unsupported type, or the
/// document is corrupt, encrypted or holds no text.
pub fn parse(name: &str, bytes: &[u8]) -> Result<(Format, Extracted)> {
    let format = detect(name, bytes)?;
    let stem = std::path::Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name);
    let doc = extract::extract(format, stem, bytes)?;
    if doc.sections.iter().all(|s| s.text.trim().is_empty()) {
        return Err(IngestError::NoText(format));
    }
    Ok((format, doc))
}
