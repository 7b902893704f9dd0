//! Text extraction, one module per format. Each returns an [`Extracted`] whose sections
//! carry the structure the format has: pages for PDF, heading paths for Markdown, HTML
//! and DOCX.

mod docx;
mod html;
mod markdown;
mod pdf;
mod text;

use crate::{Extracted, Format, Limits, Result};

/// Extracts `bytes` of a known `format`; `stem` (file name without extension) is the
/// fallback title. No extractor recurses on its input's nesting: HTML, Markdown and DOCX
/// are walked iteratively; HTML element nesting and PDF structures are checked against
/// `limits.max_depth` first.
///
/// # Errors
/// As [`crate::parse_with`] (this does not catch panics; `parse_with` does).
pub fn extract(format: Format, stem: &str, bytes: &[u8], limits: &Limits) -> Result<Extracted> {
    match format {
        Format::Pdf => pdf::extract(stem, bytes, limits),
        Format::Docx => docx::extract(stem, bytes, limits),
        Format::Html => html::extract(stem, bytes, limits),
        Format::Markdown => markdown::extract(stem, bytes),
        Format::Text => text::extract(stem, bytes),
    }
}

/// Text of a UTF-8 document, without a byte-order mark.
fn utf8(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let s = String::from_utf8_lossy(bytes);
    match s {
        std::borrow::Cow::Borrowed(b) => {
            std::borrow::Cow::Borrowed(b.trim_start_matches('\u{feff}'))
        }
        std::borrow::Cow::Owned(o) => {
            std::borrow::Cow::Owned(o.trim_start_matches('\u{feff}').to_string())
        }
    }
}

/// A short first line, usable as a title; `None` when the first line is long prose.
fn first_line_title(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = crate::document::collapse_ws(line);
    (line.chars().count() <= 120).then_some(line)
}
