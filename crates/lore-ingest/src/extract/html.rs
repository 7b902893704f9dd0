//! HTML via `scraper` (html5ever): visible text in document order, split into sections at
//! `h1`..`h6`, with the heading path tracked; scripts, styles and forms are skipped.

use std::cell::RefCell;

use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use scraper::{ElementRef, Html, Node, Selector};

use crate::document::{collapse_ws, push_section, HeadingPath, Section};
use crate::{Extracted, IngestError, Limits, Result};

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

pub(super) fn extract(stem: &str, bytes: &[u8], limits: &Limits) -> Result<Extracted> {
    let src = super::utf8(bytes);
    check_depth(&src, limits.max_depth)?;
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
    w.walk(body.unwrap_or_else(|| html.root_element()));
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
    /// Walks `root`'s subtree in document order with an explicit stack: a document nested
    /// 100,000 deep costs heap, not call stack (the hostile test's `<span>`×10,000 used to
    /// overflow the thread's stack).
    fn walk(&mut self, root: ElementRef<'_>) {
        enum Step<'a> {
            /// Visit a node (`in_pre`: inside a `<pre>`).
            Enter(ego_tree::NodeRef<'a, Node>, bool),
            /// Close an element: the line breaks a block adds after its content.
            Leave(&'a str),
        }
        let mut stack: Vec<Step<'_>> = root
            .children()
            .rev()
            .map(|c| Step::Enter(c, false))
            .collect();
        while let Some(step) = stack.pop() {
            let (node, in_pre) = match step {
                Step::Leave(name) => {
                    if !self.buf.ends_with('\n') {
                        self.buf.push('\n');
                    }
                    if matches!(name, "p" | "pre" | "table" | "ul" | "ol" | "blockquote") {
                        self.buf.push('\n');
                    }
                    continue;
                }
                Step::Enter(node, in_pre) => (node, in_pre),
            };
            match node.value() {
                Node::Text(t) => self.text(t, in_pre),
                Node::Element(e) => {
                    let Some(el) = ElementRef::wrap(node) else {
                        continue;
                    };
                    let name = e.name();
                    if SKIP.contains(&name) {
                        continue;
                    }
                    if let Some(level) = heading_level(name) {
                        let heading_text = collapse_ws(&el.text().collect::<String>());
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
                    if block {
                        stack.push(Step::Leave(name));
                    }
                    let in_pre = in_pre || name == "pre";
                    stack.extend(node.children().rev().map(|c| Step::Enter(c, in_pre)));
                }
                _ => {}
            }
        }
    }

    fn text(&mut self, t: &str, in_pre: bool) {
        if in_pre {
            self.buf.push_str(t);
            return;
        }
        let collapsed = collapse_ws(t);
        if !collapsed.is_empty() {
            if t.starts_with(char::is_whitespace) && !self.buf.ends_with(['\n', ' ']) {
                self.buf.push(' ');
            }
            self.buf.push_str(&collapsed);
            if t.ends_with(char::is_whitespace) {
                self.buf.push(' ');
            }
        }
    }
}

/// Elements without an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "basefont", "bgsound", "frame",
];
/// Elements a following sibling of the same kind closes (`<p>a<p>b`, `<li>`, table cells).
const SELF_CLOSING_SIBLINGS: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "rt", "rp", "thead", "tbody",
    "tfoot",
];

/// Refuses HTML whose elements nest deeper than `max` before html5ever builds its tree:
/// html5ever's tree builder scans its stack of open elements for every tag, so nesting
/// costs quadratic time (100,000 nested `<div>`s, 1.3 MB, took 95 s; unclosed ones 237 s).
/// A linear pass with html5ever's own tokenizer models the depth: void elements never
/// open, a `<p>`, `<li>`, cell or row closes an open sibling of its kind among the four
/// innermost elements, an end tag closes up to its element; script and style contents are
/// raw text. Real pages nest a few dozen levels.
///
/// # Errors
/// [`IngestError::TooDeep`].
fn check_depth(src: &str, max: usize) -> Result<()> {
    struct Depth {
        open: RefCell<Vec<html5ever::LocalName>>,
        max: usize,
        too_deep: std::cell::Cell<bool>,
    }
    impl TokenSink for Depth {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            let Token::TagToken(tag) = token else {
                return TokenSinkResult::Continue;
            };
            let mut open = self.open.borrow_mut();
            let name: &str = &tag.name;
            match tag.kind {
                TagKind::EndTag => {
                    if let Some(at) = open.iter().rposition(|n| n == &tag.name) {
                        open.truncate(at);
                    }
                }
                TagKind::StartTag => {
                    if VOID.contains(&name) || tag.self_closing {
                        return TokenSinkResult::Continue;
                    }
                    if SELF_CLOSING_SIBLINGS.contains(&name) {
                        let from = open.len().saturating_sub(4);
                        if let Some(at) = open[from..].iter().rposition(|n| n == &tag.name) {
                            open.truncate(from + at);
                        }
                    }
                    open.push(tag.name.clone());
                    if open.len() > self.max {
                        self.too_deep.set(true);
                        // Stop tokenizing: the answer is known.
                        return TokenSinkResult::Script(());
                    }
                    let raw = match name {
                        "script" => Some(RawKind::ScriptData),
                        "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                            Some(RawKind::Rawtext)
                        }
                        "textarea" | "title" => Some(RawKind::Rcdata),
                        _ => None,
                    };
                    if let Some(kind) = raw {
                        // Its content is text up to its end tag, which closes it.
                        return TokenSinkResult::RawData(kind);
                    }
                }
            }
            TokenSinkResult::Continue
        }
    }
    let sink = Depth {
        open: RefCell::new(Vec::new()),
        max,
        too_deep: std::cell::Cell::new(false),
    };
    let input = BufferQueue::default();
    input.push_back(src.into());
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let _ = tokenizer.feed(&input);
    let too_deep = tokenizer.sink.too_deep.get();
    if !too_deep {
        tokenizer.end();
    }
    if too_deep {
        return Err(IngestError::TooDeep(format!(
            "HTML elements nested deeper than {max} levels (ingest.max_depth)"
        )));
    }
    Ok(())
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
        let doc = extract("f", html.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(doc.title, "T");
        assert_eq!(
            doc.outline(),
            vec![
                (None, "Intro"),
                (Some("Main"), "One bold word"),
                (Some("Main > Sub"), "a\nb")
            ]
        );
    }

    #[test]
    fn blocks_and_tables_keep_their_breaks() {
        let html = "<body><div>a<p>b</p>c</div><pre>  x\n  y</pre><table><tr><td>1</td><td>2</td></tr></table>d</body>";
        let doc = extract("f", html.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(doc.sections[0].text, "a\nb\n\nc\n  x\n  y\n\n1 | 2\n\nd");
    }
}
