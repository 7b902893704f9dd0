//! Citation markers: parsing `[n]`, `[n, m]`, `[n][m]` and `[n-m]` in generated text,
//! mapping them to the blocks that were in the prompt, and removing the ones that point at
//! no block (models invent numbers; an invented marker must never reach the user).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

/// `[1]`, `[1, 2]`, `[1,2,3]`, `[1-3]`, `[1–3]`; also `[Passage 1]` / `[passage 1]` which
/// small models write.
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?:[Pp]assage\s*)?(\d{1,4}(?:\s*[-–]\s*\d{1,4})?(?:\s*,\s*(?:[Pp]assage\s*)?\d{1,4}(?:\s*[-–]\s*\d{1,4})?)*)\]")
        .expect("valid regex")
});

/// Generated text with its markers checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CitedText {
    /// The text with invalid numbers removed from markers (and markers left empty removed),
    /// and valid markers normalised to `[n]` or `[n, m]`.
    pub text: String,
    /// Block numbers cited, ascending, each within `1..=blocks`.
    pub cited: Vec<usize>,
    /// Numbers the model wrote that point at no block.
    pub invented: Vec<usize>,
}

/// Parses and checks the markers in `text` against `blocks` context blocks (numbered 1..).
pub fn resolve(text: &str, blocks: usize) -> CitedText {
    let mut cited = BTreeSet::new();
    let mut invented = BTreeSet::new();
    let mut out = String::with_capacity(text.len());
    for (prose, segment) in code_segments(text) {
        if !prose {
            // `[1, 2, 3]` inside code is an array literal, not a citation.
            out.push_str(segment);
            continue;
        }
        out.push_str(&tidy(&resolve_prose(
            segment,
            blocks,
            &mut cited,
            &mut invented,
        )));
    }
    CitedText {
        text: out.trim().to_string(),
        cited: cited.into_iter().collect(),
        invented: invented.into_iter().collect(),
    }
}

/// Splits `text` into (is_prose, segment) pieces: fenced code blocks (```) and inline code
/// spans (`...`) are not prose.
fn code_segments(text: &str) -> Vec<(bool, &str)> {
    static CODE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)```.*?(```|$)|`[^`\n]*`").expect("valid regex"));
    let mut pieces = Vec::new();
    let mut at = 0;
    for m in CODE.find_iter(text) {
        if m.start() > at {
            pieces.push((true, &text[at..m.start()]));
        }
        pieces.push((false, m.as_str()));
        at = m.end();
    }
    if at < text.len() {
        pieces.push((true, &text[at..]));
    }
    pieces
}

fn resolve_prose(
    text: &str,
    blocks: usize,
    cited: &mut BTreeSet<usize>,
    invented: &mut BTreeSet<usize>,
) -> String {
    let out = MARKER.replace_all(text, |caps: &regex::Captures<'_>| {
        let mut valid = Vec::new();
        for part in caps[1].split(',') {
            let part = part
                .trim()
                .trim_start_matches(['P', 'p'])
                .trim_start_matches("assage")
                .trim();
            let (lo, hi) = match part.split_once(['-', '–']) {
                Some((a, b)) => (
                    a.trim().parse::<usize>().unwrap_or(0),
                    b.trim().parse::<usize>().unwrap_or(0),
                ),
                None => {
                    let n = part.parse::<usize>().unwrap_or(0);
                    (n, n)
                }
            };
            // A range wider than the context is invented as a whole.
            if hi < lo || hi - lo > blocks {
                invented.insert(lo);
                continue;
            }
            for n in lo..=hi {
                if (1..=blocks).contains(&n) {
                    if !valid.contains(&n) {
                        valid.push(n);
                    }
                    cited.insert(n);
                } else {
                    invented.insert(n);
                }
            }
        }
        if valid.is_empty() {
            String::new()
        } else {
            format!(
                "[{}]",
                valid
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    });
    out.into_owned()
}

/// Removes the spaces a dropped marker leaves before punctuation or between words (line
/// indentation is kept).
fn tidy(text: &str) -> String {
    static SPACE_BEFORE_PUNCT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(\S)[ \t]+([.,;:!?])").expect("valid regex"));
    static DOUBLE_SPACE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(\S)[ \t]{2,}").expect("valid regex"));
    let t = SPACE_BEFORE_PUNCT.replace_all(text, "$1$2");
    DOUBLE_SPACE.replace_all(&t, "$1 ").into_owned()
}

/// Removes every marker (for checking a sentence's words against the context).
pub fn strip_markers(text: &str) -> String {
    tidy(&MARKER.replace_all(text, "")).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_valid_markers_in_every_form() {
        let c = resolve(
            "Rust uses Option [2]. Vectors grow [1, 3][2]. Ranges work [1-2].",
            3,
        );
        assert_eq!(c.cited, [1, 2, 3]);
        assert!(c.invented.is_empty());
        assert_eq!(
            c.text,
            "Rust uses Option [2]. Vectors grow [1, 3][2]. Ranges work [1, 2]."
        );
    }

    #[test]
    fn invented_markers_never_reach_the_output() {
        let c = resolve(
            "Keep it 7 days [1]. Pay $5 [9]. Both [2, 7]. Odd [0]. Huge [4-900].",
            2,
        );
        assert_eq!(c.cited, [1, 2]);
        assert_eq!(c.invented, [0, 4, 7, 9]);
        assert_eq!(c.text, "Keep it 7 days [1]. Pay $5. Both [2]. Odd. Huge.");
    }

    #[test]
    fn brackets_inside_code_are_not_citations() {
        let c = resolve(
            "Use `let v = [1, 2, 3];` as in [2].\n```rust\nlet a = [9];\n```",
            3,
        );
        assert_eq!(c.cited, [2]);
        assert!(c.invented.is_empty());
        assert!(
            c.text.contains("`let v = [1, 2, 3];`") && c.text.contains("let a = [9];"),
            "{}",
            c.text
        );
    }

    #[test]
    fn passage_words_and_plain_brackets() {
        let c = resolve("See [Passage 2] and [passage 5]. Arrays [i] stay.", 3);
        assert_eq!(c.cited, [2]);
        assert_eq!(c.invented, [5]);
        assert_eq!(c.text, "See [2] and. Arrays [i] stay.");
        assert_eq!(strip_markers("A [1]. B [2, 3]."), "A. B.");
    }
}
