//! Why a file could not be ingested.

use crate::Format;

/// A file-level ingest failure. The message names the reason; the caller adds the path.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file has zero bytes.
    #[error("empty file")]
    Empty,
    /// The content is binary (or of a type lore does not read), whatever its extension.
    #[error("unsupported content: {0}")]
    Unsupported(String),
    /// The file claims a format but its content is damaged.
    #[error("corrupt {format}: {reason}")]
    Corrupt {
        /// Detected format.
        format: Format,
        /// What the parser said.
        reason: String,
    },
    /// The PDF is encrypted and cannot be read without a password.
    #[error("encrypted PDF: cannot extract text without the password")]
    Encrypted,
    /// Parsing worked but produced no text (a scanned PDF, an empty page).
    #[error("no extractable text in {0} (scanned or image-only?)")]
    NoText(Format),
    /// The tokenizer failed on the text.
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
}

/// Result of ingest functions.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;
