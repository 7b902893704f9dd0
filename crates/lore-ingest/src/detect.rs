//! Format detection from content (magic bytes and text sniffing), not from the extension.

use std::fmt;

use crate::{IngestError, Result};

/// Formats lore extracts text from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// PDF (`%PDF-` magic).
    Pdf,
    /// Office Open XML word-processing document (a ZIP holding `word/document.xml`).
    Docx,
    /// HTML (a UTF-8 text whose start holds `<!doctype html`, `<html`, `<head` or `<body`).
    Html,
    /// CommonMark Markdown (UTF-8 text named `.md` / `.markdown` / `.mdx`).
    Markdown,
    /// Any other UTF-8 text.
    Text,
}

impl Format {
    /// Lowercase name, as stored in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Html => "html",
            Format::Markdown => "markdown",
            Format::Text => "text",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Detects the format of `bytes`; `name` only tells Markdown from plain text.
///
/// # Errors
/// [`IngestError::Empty`] for zero bytes, [`IngestError::Unsupported`] for binary content
/// (images, archives, executables, invalid UTF-8 or NUL bytes) whatever the file is named.
pub fn detect(name: &str, bytes: &[u8]) -> Result<Format> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty);
    }
    if bytes.starts_with(b"%PDF-") || infer::archive::is_pdf(bytes) {
        return Ok(Format::Pdf);
    }
    if infer::doc::is_docx(bytes) || is_zip_with_word_document(bytes) {
        return Ok(Format::Docx);
    }
    if let Some(kind) = infer::get(bytes) {
        // Text-like kinds that infer also recognises (e.g. XML, HTML, shell scripts) fall
        // through to the text path; everything else is binary.
        if kind.matcher_type() != infer::MatcherType::Text {
            return Err(IngestError::Unsupported(format!(
                "{} ({}) is not a supported document format",
                kind.mime_type(),
                kind.extension()
            )));
        }
    }
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Err(IngestError::Unsupported("binary data (NUL bytes)".into()));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(IngestError::Unsupported(
            "binary data (not valid UTF-8 text)".into(),
        ));
    }
    if looks_like_html(head) {
        return Ok(Format::Html);
    }
    let lower = name.to_ascii_lowercase();
    if [".md", ".markdown", ".mdx"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        return Ok(Format::Markdown);
    }
    Ok(Format::Text)
}

/// A ZIP whose central directory lists `word/document.xml`. infer's DOCX check reads the
/// first four local headers and wants `word/` third and fourth: DOCX files written in
/// another entry order (docProps first, or only three entries) read as plain ZIP.
fn is_zip_with_word_document(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        && zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .is_ok_and(|z| z.index_for_name("word/document.xml").is_some())
}

fn looks_like_html(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let start = text.trim_start_matches('\u{feff}').trim_start();
    start.starts_with("<!doctype html")
        || start.starts_with("<html")
        || (start.starts_with('<') && ["<html", "<head", "<body"].iter().any(|t| text.contains(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_content_not_extension() {
        assert_eq!(detect("x.txt", b"%PDF-1.7 ...").unwrap(), Format::Pdf);
        assert_eq!(
            detect("page.txt", b"<!DOCTYPE html><html><body>hi</body></html>").unwrap(),
            Format::Html
        );
        assert_eq!(
            detect("notes.md", b"# Title\n\ntext").unwrap(),
            Format::Markdown
        );
        assert_eq!(detect("notes", b"plain words").unwrap(), Format::Text);
        assert!(matches!(detect("a.txt", b""), Err(IngestError::Empty)));
        assert!(matches!(detect("a.txt", b" \n\t"), Err(IngestError::Empty)));
        // PNG magic named .txt
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        assert!(matches!(
            detect("a.txt", &png),
            Err(IngestError::Unsupported(_))
        ));
        assert!(matches!(
            detect("a.txt", &[b'a', 0, 0xff, 0xfe]),
            Err(IngestError::Unsupported(_))
        ));
    }
}
