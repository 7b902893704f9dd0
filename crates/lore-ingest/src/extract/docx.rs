//! DOCX (Office Open XML) via `zip` + `quick-xml`: paragraphs of `word/document.xml` in
//! order, headings recognised from paragraph styles (`Heading N`, `Title`) or outline
//! levels, tables flattened row by row with ` | ` between cells.

use std::collections::HashMap;
use std::io::Cursor;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::document::{collapse_ws, push_section, HeadingPath, Section};
use crate::limits::InflateBudget;
use crate::{Extracted, Format, IngestError, Limits, Result};

pub(super) fn extract(stem: &str, bytes: &[u8], limits: &Limits) -> Result<Extracted> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    // The three entries read share one budget: the archive as a whole may not inflate
    // past the limits, whatever the entries' headers declare.
    let mut budget = InflateBudget::new(Format::Docx, limits, bytes.len() as u64);
    let document = read_entry(&mut zip, "word/document.xml", &mut budget)?
        .ok_or_else(|| corrupt("no word/document.xml in the archive"))?;
    let styles = read_entry(&mut zip, "word/styles.xml", &mut budget)?
        .map(|s| heading_styles(&s))
        .unwrap_or_default();
    let core_title =
        read_entry(&mut zip, "docProps/core.xml", &mut budget)?.and_then(|c| core_title(&c));
    let paragraphs = paragraphs(&document, &styles)?;

    let mut path = HeadingPath::default();
    let mut sections: Vec<Section> = Vec::new();
    let mut buf = String::new();
    let mut first_heading = None;
    for p in paragraphs {
        match p.heading_level {
            Some(level) if !p.text.trim().is_empty() => {
                push_section(&mut sections, path.current(), None, &buf);
                buf.clear();
                if first_heading.is_none() {
                    first_heading = Some(collapse_ws(&p.text));
                }
                path.enter(level, &p.text);
            }
            _ => {
                buf.push_str(&p.text);
                buf.push_str(if p.in_table { "\n" } else { "\n\n" });
            }
        }
    }
    push_section(&mut sections, path.current(), None, &buf);
    let title = core_title
        .or(first_heading)
        .unwrap_or_else(|| stem.to_string());
    Ok(Extracted { title, sections })
}

fn corrupt(e: impl ToString) -> IngestError {
    IngestError::Corrupt {
        format: Format::Docx,
        reason: e.to_string(),
    }
}

/// Inflates one entry, counting every byte against `budget` as it comes (an entry's
/// declared size is not trusted).
fn read_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    budget: &mut InflateBudget,
) -> Result<Option<String>> {
    let file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(corrupt(e)),
    };
    let bytes = budget.read_all(file)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| corrupt(format!("{name} is not UTF-8")))
}

struct Paragraph {
    text: String,
    heading_level: Option<u8>,
    in_table: bool,
}

fn attr(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Heading level for a style name: `heading 1`..`heading 9` → 1..9, `Title` → 1.
fn level_of_style_name(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if lower == "title" {
        return Some(1);
    }
    lower
        .strip_prefix("heading")
        .and_then(|n| n.trim().parse::<u8>().ok())
        .filter(|n| (1..=9).contains(n))
}

/// styleId → heading level, from `word/styles.xml`.
fn heading_styles(xml: &str) -> HashMap<String, u8> {
    let mut out = HashMap::new();
    let mut reader = Reader::from_str(xml);
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"style" => current = attr(&e, b"styleId"),
                b"name" => {
                    if let (Some(id), Some(name)) = (current.as_ref(), attr(&e, b"val")) {
                        if let Some(level) = level_of_style_name(&name) {
                            out.insert(id.clone(), level);
                        }
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

fn core_title(xml: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    let mut in_title = false;
    let mut title = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == b"title" => in_title = true,
            Ok(Event::End(e)) if e.local_name().as_ref() == b"title" => break,
            Ok(Event::Text(t)) if in_title => title.push_str(&t.decode().ok()?),
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    let title = collapse_ws(&title);
    (!title.is_empty()).then_some(title)
}

fn paragraphs(xml: &str, styles: &HashMap<String, u8>) -> Result<Vec<Paragraph>> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut table_depth = 0usize;
    let mut cur: Option<Paragraph> = None;
    let mut in_text = false;
    // Text of the current table row: cells joined with " | ".
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    loop {
        let event = reader.read_event().map_err(corrupt)?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                b"tbl" => table_depth += 1,
                b"tr" if table_depth > 0 => row.clear(),
                b"tc" if table_depth > 0 => cell.clear(),
                b"p" => {
                    cur = Some(Paragraph {
                        text: String::new(),
                        heading_level: None,
                        in_table: table_depth > 0,
                    })
                }
                b"t" => in_text = true,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                b"pStyle" => {
                    if let (Some(p), Some(id)) = (cur.as_mut(), attr(&e, b"val")) {
                        p.heading_level = styles
                            .get(&id)
                            .copied()
                            .or_else(|| level_of_style_name(&id));
                    }
                }
                b"outlineLvl" => {
                    if let (Some(p), Some(v)) = (cur.as_mut(), attr(&e, b"val")) {
                        if let Ok(n) = v.parse::<u8>() {
                            if n < 9 && p.heading_level.is_none() {
                                p.heading_level = Some(n + 1);
                            }
                        }
                    }
                }
                b"tab" => push_text(&mut cur, "\t"),
                b"br" | b"cr" => push_text(&mut cur, "\n"),
                b"p" if table_depth == 0 => out.push(Paragraph {
                    text: String::new(),
                    heading_level: None,
                    in_table: false,
                }),
                _ => {}
            },
            Event::Text(t) if in_text => {
                let s = t.decode().map_err(corrupt)?;
                push_text(&mut cur, &s);
            }
            Event::GeneralRef(r) if in_text => {
                let s = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match r.decode().map_err(corrupt)?.as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        _ => String::new(),
                    },
                };
                push_text(&mut cur, &s);
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => {
                    if let Some(p) = cur.take() {
                        if table_depth > 0 {
                            if !cell.is_empty() && !p.text.is_empty() {
                                cell.push(' ');
                            }
                            cell.push_str(p.text.trim());
                        } else {
                            out.push(p);
                        }
                    }
                }
                b"tc" if table_depth > 0 => row.push(std::mem::take(&mut cell)),
                b"tr" if table_depth > 0 => {
                    let text = row
                        .iter()
                        .map(|c| c.trim())
                        .filter(|c| !c.is_empty())
                        .collect::<Vec<_>>()
                        .join(" | ");
                    if !text.is_empty() {
                        out.push(Paragraph {
                            text,
                            heading_level: None,
                            in_table: true,
                        });
                    }
                    row.clear();
                }
                b"tbl" => {
                    table_depth = table_depth.saturating_sub(1);
                    if table_depth == 0 {
                        out.push(Paragraph {
                            text: String::new(),
                            heading_level: None,
                            in_table: false,
                        });
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn push_text(cur: &mut Option<Paragraph>, s: &str) {
    if let Some(p) = cur.as_mut() {
        p.text.push_str(s);
    }
}
