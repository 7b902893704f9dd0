//! The structured text extracted from one document.

/// A document's text with its structure, before chunking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Document title: metadata title, first heading, or the file name, in that order.
    pub title: String,
    /// Text in reading order, split where the structure changes (page or heading).
    pub sections: Vec<Section>,
}

impl Extracted {
    /// Each section's heading path and text, in order (what tests compare).
    pub fn outline(&self) -> Vec<(Option<&str>, &str)> {
        self.sections
            .iter()
            .map(|s| (s.heading.as_deref(), s.text.as_str()))
            .collect()
    }
}

/// A run of text under one heading path on one page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// Heading path, outermost first, joined with ` > `; `None` before the first heading
    /// and for formats without headings.
    pub heading: Option<String>,
    /// 1-based page number (PDF only).
    pub page: Option<u32>,
    /// The text; paragraphs separated by blank lines.
    pub text: String,
}

/// Tracks the heading path while a format's extractor walks its headings.
#[derive(Debug, Default)]
pub(crate) struct HeadingPath {
    stack: Vec<(u8, String)>,
}

impl HeadingPath {
    /// Enters a heading of `level` (1 = outermost): drops headings at that level or deeper.
    pub(crate) fn enter(&mut self, level: u8, text: &str) {
        while self.stack.last().is_some_and(|(l, _)| *l >= level) {
            self.stack.pop();
        }
        // Permalink markers some generators append to headings (the httpd manual's `¶`).
        let text = collapse_ws(text.trim_end_matches(['¶', '#', ' ']));
        if !text.is_empty() {
            self.stack.push((level, text));
        }
    }

    /// The current path, `None` before any heading.
    pub(crate) fn current(&self) -> Option<String> {
        if self.stack.is_empty() {
            None
        } else {
            Some(
                self.stack
                    .iter()
                    .map(|(_, t)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(" > "),
            )
        }
    }
}

/// Collapses runs of whitespace to one space and trims.
pub(crate) fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims each line, drops trailing spaces and keeps at most one blank line between paragraphs.
pub(crate) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Pushes `text` as a section unless it is blank.
pub(crate) fn push_section(
    sections: &mut Vec<Section>,
    heading: Option<String>,
    page: Option<u32>,
    text: &str,
) {
    let text = tidy(text);
    if !text.trim().is_empty() {
        sections.push(Section {
            heading,
            page,
            text,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_path_pops_siblings() {
        let mut h = HeadingPath::default();
        h.enter(1, "Guide");
        h.enter(2, "Install");
        h.enter(3, "Linux");
        assert_eq!(h.current().as_deref(), Some("Guide > Install > Linux"));
        h.enter(2, "Configure");
        assert_eq!(h.current().as_deref(), Some("Guide > Configure"));
    }

    #[test]
    fn tidy_keeps_paragraphs() {
        assert_eq!(tidy("  a  \n b\n\n\n\nc \n"), "  a\n b\n\nc");
    }
}
