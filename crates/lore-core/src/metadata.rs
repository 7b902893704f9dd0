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

/// Longest metadata value or scope name, characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// Whether `c` is invisible or reorders text: bidirectional controls (U+061C, U+200E,
/// U+200F, U+202A-U+202E, U+2066-U+2069: Unicode UAX #9, the "Trojan Source" characters),
/// zero-width characters (U+200B-U+200D, U+2060, U+FEFF) and the soft hyphen (U+00AD).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

/// Checks a label a person reads and a filter matches: a domain, department, document
/// type, tag, or a collection or domain in a key's scope. It must hold a visible
/// character, at most [`MAX_LABEL_CHARS`] characters, and no control or invisible character
/// ([`is_invisible`]), so two labels that look alike are alike.
///
/// # Errors
/// What is wrong with it, for a message that names the field.
pub fn check_label(s: &str) -> Result<(), &'static str> {
    if s.trim().is_empty() {
        return Err("is empty");
    }
    if s.chars().count() > MAX_LABEL_CHARS {
        return Err("is over 128 characters");
    }
    if s.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err("holds a control, invisible or bidirectional-control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_refuse_invisible_and_reordering_characters() {
        assert!(check_label("hr").is_ok());
        assert!(check_label("Ressources humaines").is_ok());
        for bad in [
            "",
            "   ",
            "\u{200B}",
            "hr\u{202E}",
            "a\u{2066}b",
            "x\ny",
            &"a".repeat(129),
        ] {
            assert!(check_label(bad).is_err(), "{bad:?}");
        }
    }
}
