//! HTML via `scraper` (html5ever): visible text in document order, split into sections at
//! `h1`..`h6`, with the heading path tracked; scripts, styles and forms are skipped.

use scraper::{ElementRef, Html, Node, Selector};

use crate::document::{collapse_ws, push_section, HeadingPath, Section};
use crate::{Extracted, Result};

/// Elements whose content is never shown as text.
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "head", "svg", "form", "button", "select",
];
/// Elements that end a line of text.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "br",
    "tr",
    "table",
    "section",
    "article",
    "pre",
    "blockquote",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "figure",
    "figcaption",
    "hr",
    "address",
];

struct Walker {
    path: HeadingPath,
    sections: Vec<Section>,
    buf: String,
}

pub(super) fn extract(stem: &str, bytes: &[u8]) -> Result<Extracted> {
    let src = super::utf8(bytes);
    let html = Html::parse_document(&src);
    let title = Selector::parse("title")
        .ok()
        .and_then(|sel| html.select(&sel).next())
        .map(|t| collapse_ws(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let mut w = Walker {
        path: HeadingPath::default(),
        sections: Vec::new(),
        buf: String::new(),
    };
    let body = Selector::parse("body")
        .ok()
        .and_then(|sel| html.select(&sel).next());
    w.walk(body.unwrap_or_else(|| html.root_element()), false);
    let heading = w.path.current();
    push_section(&mut w.sections, heading, None, &w.buf);
    let title = title
        .or_else(|| w.sections.iter().find_map(|s| s.heading.clone()))
        .unwrap_or_else(|| stem.to_string());
    Ok(Extracted {
        title,
        sections: w.sections,
    })
}

impl Walker {
    fn walk(&mut self, el: ElementRef<'_>, in_pre: bool) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => {
                    if in_pre {
                        self.buf.push_str(t);
                    } else {
                        let collapsed = collapse_ws(t);
                        if !collapsed.is_empty() {
                            if t.starts_with(char::is_whitespace)
                                && !self.buf.ends_with(['\n', ' '])
                            {
                                self.buf.push(' ');
                            }
                            self.buf.push_str(&collapsed);
                            if t.ends_with(char::is_whitespace) {
                                self.buf.push(' ');
                            }
                        }
                    }
                }
                Node::Element(e) => {
                    let Some(child_el) = ElementRef::wrap(child) else {
                        continue;
                    };
                    let name = e.name();
                    if SKIP.contains(&name) {
                        continue;
                    }
                    if let Some(level) = heading_level(name) {
                        let heading_text = collapse_ws(&child_el.text().collect::<String>());
                        let current = self.path.current();
                        push_section(&mut self.sections, current, None, &self.buf);
                        self.buf.clear();
                        self.path.enter(level, &heading_text);
                        continue;
                    }
                    let block = BLOCK.contains(&name);
                    if block && !self.buf.ends_with('\n') {
                        self.buf.push('\n');
                    }
                    if matches!(name, "td" | "th") && !self.buf.ends_with(['\n', ' ']) {
                        self.buf.push_str(" | ");
                    }
                    self.walk(child_el, in_pre || name == "pre");
                    if block {
                        if !self.buf.ends_with('\n') {
                            self.buf.push('\n');
                        }
                        if matches!(name, "p" | "pre" | "table" | "ul" | "ol" | "blockquote") {
                            self.buf.push('\n');
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_and_visible_text() {
        let html = "<html><head><title>T</title><style>x{}</style></head><body><p>Intro</p>\
                    <h1>Main</h1><p>One <b>bold</b> word</p><script>var x;</script>\
                    <h2>Sub</h2><ul><li>a</li><li>b</li></ul></body></html>";
        let doc = extract("f", html.as_bytes()).unwrap();
        assert_eq!(doc.title, "T");
        let got: Vec<_> = doc
            .sections
            .iter()
            .map(|s| (s.heading.as_deref(), s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (None, "Intro"),
                (Some("Main"), "One bold word"),
                (Some("Main > Sub"), "a\nb")
            ]
        );
    }
}
