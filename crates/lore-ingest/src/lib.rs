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
pub mod limits;
pub mod samples;
pub mod walk;

pub use chunk::{ChunkDraft, Chunker, ChunkerConfig};
pub use detect::{detect, Format};
pub use document::{Extracted, Section};
pub use error::{IngestError, Result};
pub use limits::Limits;
pub use walk::{normalize_source, walk_paths};

use sha2::{Digest, Sha256};

/// Lowercase hex sha256 of `bytes`: the document's content hash (64 chars).
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Stack of the thread each file is extracted on. Every extractor walks its input without
/// recursion or with a depth cap ([`Limits::max_depth`]); the large stack is a margin for
/// the parsers' own bounded recursion (lopdf nests 100 levels at most), reserved, not used.
const EXTRACT_STACK_BYTES: usize = 64 << 20;

/// Detects the format of `bytes` and extracts its text and structure under the default
/// [`Limits`]. See [`parse_with`].
///
/// # Errors
/// As [`parse_with`].
pub fn parse(name: &str, bytes: &[u8]) -> Result<(Format, Extracted)> {
    parse_with(name, bytes, &Limits::default())
}

/// Detects the format of `bytes` and extracts its text and structure.
///
/// `name` (the file name) is used only for the fallback title and to tell Markdown from
/// plain text; the format itself comes from the content. Extraction runs on a thread of its
/// own with a panic boundary, so a parser bug on one file is that file's error
/// ([`IngestError::ParserPanic`]), never the process's.
///
/// # Errors
/// [`IngestError`] when the bytes are empty, binary, of an unsupported type, the document
/// is corrupt, encrypted, holds no text, nests too deep or inflates past `limits`.
pub fn parse_with(name: &str, bytes: &[u8], limits: &Limits) -> Result<(Format, Extracted)> {
    let format = detect(name, bytes)?;
    let stem = std::path::Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name);
    let doc = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("lore-extract".into())
            .stack_size(EXTRACT_STACK_BYTES)
            .spawn_scoped(scope, || {
                std::panic::catch_unwind(|| extract::extract(format, stem, bytes, limits))
            });
        match worker {
            // Spawning failed (out of threads): extract here, still behind the panic
            // boundary.
            Err(_) => std::panic::catch_unwind(|| extract::extract(format, stem, bytes, limits)),
            Ok(handle) => handle.join().unwrap_or_else(Err),
        }
    })
    .map_err(|panic| IngestError::ParserPanic {
        format,
        reason: panic_message(panic.as_ref()),
    })??;
    if doc.sections.iter().all(|s| s.text.trim().is_empty()) {
        return Err(IngestError::NoText(format));
    }
    let text: u64 = doc.sections.iter().map(|s| s.text.len() as u64).sum();
    limits::check_text(format, limits, text)?;
    Ok((format, doc))
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("parser panicked")
        .chars()
        .take(200)
        .collect()
}
