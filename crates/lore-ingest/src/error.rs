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
    /// The file inflates or extracts past a [`crate::Limits`] cap (a decompression bomb,
    /// an oversized text).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The file nests structures deeper than [`crate::Limits::max_depth`], or in a cycle.
    #[error("nested too deep: {0}")]
    TooDeep(String),
    /// The parser panicked on this file; the file is reported, the process goes on.
    #[error("the {format} parser failed on this file: {reason}")]
    ParserPanic {
        /// Detected format.
        format: Format,
        /// The panic message.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
}

impl IngestError {
    /// A stable code for reports and the HTTP API (`file_too_large`, `file_too_deep`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Empty => "empty_file",
            IngestError::Unsupported(_) => "unsupported_format",
            IngestError::Corrupt { .. } => "corrupt_file",
            IngestError::Encrypted => "encrypted_file",
            IngestError::NoText(_) => "no_text",
            IngestError::Tokenizer(_) => "tokenizer_failed",
            IngestError::TooLarge(_) => "file_too_large",
            IngestError::TooDeep(_) => "file_too_deep",
            IngestError::ParserPanic { .. } => "parser_failed",
            IngestError::Io(_) => "unreadable_file",
        }
    }
}

/// Result of ingest functions.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;
