//! Sentence splitting for the extractive answerer and the grounding check.

use unicode_segmentation::UnicodeSegmentation;

/// Splits `text` into trimmed, non-empty sentences by the Unicode sentence boundary rules
/// (UAX #29, via `unicode-segmentation`). Line breaks that end a list item or heading end a
/// sentence too, since documents often omit the final period there.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in unwrap_lines(text) {
        let line = line.as_str();
        // A list marker ("1.", "b)") that UAX #29 splits off belongs to what follows it.
        let mut marker = String::new();
        for s in code_aware_bounds(line) {
            let s = s.trim();
            if is_list_marker(s) {
                marker.push_str(s);
                marker.push(' ');
            } else if s.chars().any(char::is_alphanumeric) {
                out.push(format!("{marker}{s}"));
                marker.clear();
            }
        }
    }
    out
}

/// UAX #29 sentence pieces of `line`, re-joined where a boundary falls inside an inline
/// code span (`vec!` ends no sentence).
fn code_aware_bounds(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for piece in line.split_sentence_bounds() {
        end += piece.len();
        if line[start..end].matches('`').count().is_multiple_of(2) {
            out.push(&line[start..end]);
            start = end;
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// A line at least this long (bytes) that runs on into the next was hard-wrapped (prose is
/// wrapped at 72-100 columns); shorter ones stand alone.
const WRAPPED_MIN_BYTES: usize = 50;

/// Joins hard-wrapped lines (Markdown and plain text wrap paragraphs at ~80 columns) into
/// one line per paragraph, keeping a line break before a blank line, a list item, a heading
/// or a table row; drops fenced code blocks.
fn unwrap_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut open = false;
    let mut fenced = false;
    for raw in text.lines() {
        let line = raw.trim();
        // Fenced code blocks hold no sentences (and their lines must not join prose).
        if line.starts_with("```") || line.starts_with("~~~") {
            fenced = !fenced;
            open = false;
            continue;
        }
        if fenced {
            continue;
        }
        if line.is_empty() {
            open = false;
            continue;
        }
        let starts_block = line.starts_with(['-', '*', '+', '#', '|', '>'])
            || line
                .split_once(['.', ')'])
                .is_some_and(|(label, _)| is_list_marker(&format!("{label}.")));
        match lines.last_mut() {
            // Only a long line was wrapped; a short one is a heading, a menu entry, a title.
            Some(last) if open && !starts_block && last.len() >= WRAPPED_MIN_BYTES => {
                last.push(' ');
                last.push_str(line);
            }
            _ => lines.push(line.to_string()),
        }
        open = true;
    }
    lines
}

/// `1.`, `12)`, `a.`: an enumeration label, not a sentence.
fn is_list_marker(s: &str) -> bool {
    let Some(label) = s.strip_suffix('.').or_else(|| s.strip_suffix(')')) else {
        return false;
    };
    !label.is_empty()
        && label.len() <= 3
        && (label.chars().all(|c| c.is_ascii_digit())
            || (label.len() == 1 && label.chars().all(|c| c.is_ascii_lowercase())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_terminators_and_lines() {
        let s = split_sentences(
            "Rust has no null. It has Option instead!\n- a list item\n\nWhy? Because.",
        );
        assert_eq!(
            s,
            [
                "Rust has no null.",
                "It has Option instead!",
                "- a list item",
                "Why?",
                "Because."
            ]
        );
    }

    #[test]
    fn list_markers_stay_with_their_item() {
        let s = split_sentences("1. Install it. 2. Run it.\n3) Done");
        assert_eq!(s, ["1. Install it.", "2. Run it.", "3) Done"]);
    }

    #[test]
    fn wrapped_lines_join_but_list_items_do_not() {
        let s = split_sentences(
            "When a variable goes out of scope, Rust calls a special function\nfor us. It is drop.\n* item one\n* item two\n\nNew paragraph\nShort title\nNext",
        );
        assert_eq!(
            s,
            [
                "When a variable goes out of scope, Rust calls a special function for us.",
                "It is drop.",
                "* item one",
                "* item two",
                "New paragraph",
                "Short title",
                "Next"
            ]
        );
    }

    #[test]
    fn no_boundary_inside_code_spans() {
        let s = split_sentences("Rust provides the `vec!` macro, which makes a vector. Done!");
        assert_eq!(
            s,
            [
                "Rust provides the `vec!` macro, which makes a vector.",
                "Done!"
            ]
        );
    }

    #[test]
    fn fenced_code_is_not_prose() {
        let s = split_sentences("Make a vector:\n```rust\nlet v = vec![1, 2];\n```\nThen push.");
        assert_eq!(s, ["Make a vector:", "Then push."]);
    }

    #[test]
    fn drops_punctuation_only_pieces() {
        assert!(split_sentences(" ... \n --- ").is_empty());
    }
}
