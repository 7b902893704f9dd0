//! Plain text: one section; the title is a short first line or the file name.

use crate::document::push_section;
use crate::{Extracted, Result};

pub(super) fn extract(stem: &str, bytes: &[u8]) -> Result<Extracted> {
    let text = super::utf8(bytes);
    let title = super::first_line_title(&text).unwrap_or_else(|| stem.to_string());
    let mut sections = Vec::new();
    push_section(&mut sections, None, None, &text);
    Ok(Extracted { title, sections })
}
