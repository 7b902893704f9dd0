//! PDF via `pdf-extract` (on `lopdf`): one section per page, numbered from 1.

use crate::document::push_section;
use crate::{Extracted, Format, IngestError, Result};

pub(super) fn extract(stem: &str, bytes: &[u8]) -> Result<Extracted> {
    // pdf-extract can panic on malformed content streams; a bad file must not take the
    // whole ingest down, so a panic becomes a per-file error.
    let pages = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes))
        .map_err(|panic| IngestError::Corrupt {
            format: Format::Pdf,
            reason: panic_message(&panic),
        })?
        .map_err(|e| classify(e.to_string()))?;
    let mut sections = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        push_section(&mut sections, None, Some(i as u32 + 1), page);
    }
    let title = sections
        .first()
        .and_then(|s| super::first_line_title(&s.text))
        .unwrap_or_else(|| stem.to_string());
    Ok(Extracted { title, sections })
}

fn classify(reason: String) -> IngestError {
    let lower = reason.to_ascii_lowercase();
    if lower.contains("encrypt") || lower.contains("decrypt") || lower.contains("password") {
        IngestError::Encrypted
    } else {
        IngestError::Corrupt {
            format: Format::Pdf,
            reason,
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let msg = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("parser panicked");
    format!("unreadable content ({msg})")
}
