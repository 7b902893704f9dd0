//! Markdown via `pulldown-cmark`: sections split at headings, the text kept as written
//! (code blocks and lists stay readable), headings tracked as a path.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::document::{push_section, HeadingPath};
use crate::{Extracted, Result};

pub(super) fn extract(stem: &str, bytes: &[u8]) -> Result<Extracted> {
    let src = super::utf8(bytes);
    let src = src.as_ref();
    let mut path = HeadingPath::default();
    let mut sections = Vec::new();
    let mut title: Option<String> = None;
    // Byte offset where the current section's body starts.
    let mut body_start = 0;
    let mut in_heading: Option<(u8, usize, String)> = None;

    for (event, range) in Parser::new_ext(src, Options::all()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                push_section(
                    &mut sections,
                    path.current(),
                    None,
                    &src[body_start..range.start],
                );
                in_heading = Some((level_num(level), range.end, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, end, text)) = in_heading.take() {
                    if title.is_none() && !text.trim().is_empty() {
                        title = Some(crate::document::collapse_ws(&text));
                    }
                    path.enter(level, &text);
                    body_start = end.max(range.end);
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, text)) = in_heading.as_mut() {
                    text.push_str(&t);
                }
            }
            _ => {}
        }
    }
    push_section(
        &mut sections,
        path.current(),
        None,
        &src[body_start.min(src.len())..],
    );
    Ok(Extracted {
        title: title.unwrap_or_else(|| stem.to_string()),
        sections,
    })
}

fn level_num(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_follow_headings() {
        let md =
            "intro line\n\n# Guide\n\nfirst\n\n## Install\n\nsecond `code`\n\n# Other\nthird\n";
        let doc = extract("f", md.as_bytes()).unwrap();
        assert_eq!(doc.title, "Guide");
        assert_eq!(
            doc.outline(),
            vec![
                (None, "intro line"),
                (Some("Guide"), "first"),
                (Some("Guide > Install"), "second `code`"),
                (Some("Other"), "third"),
            ]
        );
    }
}
