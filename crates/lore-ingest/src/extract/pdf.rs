//! PDF via `pdf-extract` (on `lopdf`): one section per page, numbered from 1.
//!
//! pdf-extract trusts its input: it inflates every stream without a bound, recurses into
//! form XObjects (`Do`) without a depth limit (a form that draws itself never ends) and
//! follows page `Parent` links recursively. So before it runs, lore checks what it would
//! do: every compressed stream is inflated once into a counter (the raw file before lopdf
//! parses it, the loaded streams after), the page tree's parent chains are followed with a
//! depth cap, and the form XObjects each page draws are expanded with a depth and count
//! cap. Only a file that passes is handed to pdf-extract, whose work is then bounded.

use std::io::Read;

use pdf_extract::{content::Content, Dictionary, Document, Object, ObjectId, Stream};

use crate::document::push_section;
use crate::limits::InflateBudget;
use crate::{Extracted, Format, IngestError, Limits, Result};

/// Form XObjects one file may draw in all (each `Do` counts, repeats included): a form
/// drawn by two forms drawn by two forms ... doubles per level.
const MAX_FORM_DRAWS: usize = 10_000;

pub(super) fn extract(stem: &str, bytes: &[u8], limits: &Limits) -> Result<Extracted> {
    // Object streams are inflated by lopdf while it loads the file: bound them first.
    raw_streams(
        bytes,
        &mut InflateBudget::new(Format::Pdf, limits, bytes.len() as u64),
    )?;
    let mut doc = Document::load_mem(bytes).map_err(|e| classify(e.to_string()))?;
    if doc.is_encrypted() {
        // Files "encrypted" with an empty user password open; others cannot be read.
        doc.decrypt("").map_err(|_| IngestError::Encrypted)?;
    }
    let mut budget = InflateBudget::new(Format::Pdf, limits, bytes.len() as u64);
    for object in doc.objects.values() {
        if let Object::Stream(s) = object {
            decoded(s, &mut budget)?;
        }
    }
    let pages = doc.get_pages();
    check_parents(&doc, pages.values().copied(), limits)?;
    check_forms(&doc, pages.values().copied(), limits, bytes.len() as u64)?;

    let mut sections = Vec::new();
    let mut text_bytes = 0u64;
    for &n in pages.keys() {
        let mut page = String::new();
        {
            let mut out = pdf_extract::PlainTextOutput::new(&mut page);
            if let Err(e) = pdf_extract::output_doc_page(&doc, &mut out, n) {
                // pdf-extract stops at the first page it cannot read, as before.
                if sections.is_empty() {
                    return Err(classify(e.to_string()));
                }
                break;
            }
        }
        text_bytes += page.len() as u64;
        crate::limits::check_text(Format::Pdf, limits, text_bytes)?;
        push_section(&mut sections, None, Some(n), &page);
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

/// Inflates every `stream ... endstream` of the raw file into `budget` (nothing is kept):
/// the object streams lopdf inflates while loading are bounded before it sees them.
fn raw_streams(bytes: &[u8], budget: &mut InflateBudget) -> Result<()> {
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(&bytes[at..], b"stream") {
        let mut start = at + found + b"stream".len();
        at = start;
        // `endstream` also contains `stream`: only a keyword followed by an EOL opens data.
        if bytes[..start - 6].ends_with(b"end") {
            continue;
        }
        match bytes.get(start..start + 2) {
            Some([b'\r', b'\n']) => start += 2,
            Some([b'\n', _]) | Some([b'\r', _]) => start += 1,
            _ => continue,
        }
        let end =
            memchr::memmem::find(&bytes[start..], b"endstream").map_or(bytes.len(), |e| start + e);
        flate(&bytes[start..end], budget, None)?;
        at = end;
    }
    Ok(())
}

/// Inflates `data` as lopdf does: zlib, or, when zlib yields nothing, raw deflate after
/// the 2-byte header; a decode error ends the stream with what came before it. Every byte
/// counts against `budget`; it is kept in `out` when given (the raw-file pass keeps
/// nothing, so a bomb costs no memory there).
fn flate(data: &[u8], budget: &mut InflateBudget, mut out: Option<&mut Vec<u8>>) -> Result<()> {
    let before = budget.inflated();
    pump(
        flate2::read::ZlibDecoder::new(data),
        budget,
        out.as_deref_mut(),
    )?;
    if budget.inflated() == before && data.len() > 2 {
        pump(flate2::read::DeflateDecoder::new(&data[2..]), budget, out)?;
    }
    Ok(())
}

/// Reads `reader` to its end or first error, adding each byte to `budget` (and to `out`).
fn pump(
    mut reader: impl Read,
    budget: &mut InflateBudget,
    mut out: Option<&mut Vec<u8>>,
) -> Result<()> {
    let mut buf = [0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => {
                budget.add(n as u64)?;
                if let Some(out) = out.as_deref_mut() {
                    out.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
}

/// The stream's content after its filters, as lopdf would decode it (FlateDecode,
/// LZWDecode and ASCII85Decode, in order), each step bounded by `budget`.
fn decoded(stream: &Stream, budget: &mut InflateBudget) -> Result<Vec<u8>> {
    let Ok(filters) = stream.filters() else {
        return Ok(stream.content.clone());
    };
    let mut data = stream.content.clone();
    for filter in filters {
        data = match filter {
            b"FlateDecode" => {
                let mut out = Vec::new();
                flate(&data, budget, Some(&mut out))?;
                out
            }
            b"LZWDecode" => lzw(&data, budget)?,
            b"ASCII85Decode" => ascii85(&data),
            // Filters lopdf does not decode: pdf-extract uses the bytes as they are.
            _ => return Ok(data),
        };
    }
    Ok(data)
}

/// LZW as PDF writes it (MSB first, early change), bounded by `budget`.
fn lzw(data: &[u8], budget: &mut InflateBudget) -> Result<Vec<u8>> {
    let mut decoder = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
    let mut out = Vec::new();
    let mut input = data;
    let mut buf = vec![0u8; 64 * 1024];
    while !input.is_empty() {
        let r = decoder.decode_bytes(input, &mut buf);
        budget.add(r.consumed_out as u64)?;
        out.extend_from_slice(&buf[..r.consumed_out]);
        input = &input[r.consumed_in..];
        match r.status {
            Ok(weezl::LzwStatus::Ok) if r.consumed_in > 0 || r.consumed_out > 0 => {}
            _ => break,
        }
    }
    Ok(out)
}

/// ASCII85 (never larger than its input).
fn ascii85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut group = [0u32; 5];
    let mut n = 0;
    let flush = |group: &[u32; 5], n: usize, out: &mut Vec<u8>| {
        let mut g = *group;
        for slot in g.iter_mut().skip(n) {
            *slot = 84;
        }
        let v = g
            .iter()
            .fold(0u32, |acc, d| acc.wrapping_mul(85).wrapping_add(*d));
        out.extend_from_slice(&v.to_be_bytes()[..n.saturating_sub(1)]);
    };
    for &b in data {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = u32::from(b - b'!');
                n += 1;
                if n == 5 {
                    flush(&group, 5, &mut out);
                    n = 0;
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        flush(&group, n, &mut out);
    }
    out
}

/// Refuses page-tree parent chains deeper than `limits.max_depth` or in a cycle
/// (pdf-extract follows them recursively to find inherited resources).
fn check_parents(
    doc: &Document,
    pages: impl Iterator<Item = ObjectId>,
    limits: &Limits,
) -> Result<()> {
    for page in pages {
        let mut id = page;
        let mut depth = 0;
        while let Some(parent) = doc
            .get_dictionary(id)
            .ok()
            .and_then(|d| d.get(b"Parent").ok())
            .and_then(|p| p.as_reference().ok())
        {
            depth += 1;
            if depth > limits.max_depth {
                return Err(IngestError::TooDeep(format!(
                    "page tree deeper than {} levels or in a cycle (ingest.max_depth)",
                    limits.max_depth
                )));
            }
            id = parent;
        }
    }
    Ok(())
}

/// A resource dictionary as pdf-extract finds it: the page's own or its ancestors'.
fn inherited_resources<'a>(
    doc: &'a Document,
    mut dict: &'a Dictionary,
    limits: &Limits,
) -> Option<Dictionary> {
    for _ in 0..=limits.max_depth {
        if let Ok(r) = dict.get(b"Resources") {
            return resolve(doc, r).and_then(|o| o.as_dict().ok()).cloned();
        }
        let parent = dict.get(b"Parent").ok()?.as_reference().ok()?;
        dict = doc.get_dictionary(parent).ok()?;
    }
    None
}

fn resolve<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Object> {
    match o {
        Object::Reference(id) => doc.get_object(*id).ok(),
        o => Some(o),
    }
}

/// Expands the XObjects each page draws, as pdf-extract would (`Do` of any XObject runs
/// its stream as content, with its own resources or the caller's), refusing nesting past
/// `limits.max_depth`, more than [`MAX_FORM_DRAWS`] draws, or more content decoded in all
/// than the inflation limits allow.
fn check_forms(
    doc: &Document,
    pages: impl Iterator<Item = ObjectId>,
    limits: &Limits,
    file_bytes: u64,
) -> Result<()> {
    let mut work = InflateBudget::new(Format::Pdf, limits, file_bytes);
    let mut draws = 0usize;
    for page in pages {
        let Ok(page_dict) = doc.get_dictionary(page) else {
            continue;
        };
        let resources = inherited_resources(doc, page_dict, limits).unwrap_or_default();
        // No XObject to draw: nothing to expand (most pages; skips decoding them twice).
        let has_xobjects = resources
            .get(b"XObject")
            .ok()
            .and_then(|x| resolve(doc, x))
            .and_then(|x| x.as_dict().ok())
            .is_some_and(|d| !d.is_empty());
        if !has_xobjects {
            continue;
        }
        let mut content = Vec::new();
        for id in doc.get_page_contents(page) {
            if let Ok(Object::Stream(s)) = doc.get_object(id) {
                content.extend(decoded(s, &mut work)?);
            }
        }
        // (content, its resources, depth)
        let mut stack = vec![(content, resources, 0usize)];
        while let Some((content, resources, depth)) = stack.pop() {
            let Ok(ops) = Content::decode(&content) else {
                continue;
            };
            let xobjects = resources
                .get(b"XObject")
                .ok()
                .and_then(|x| resolve(doc, x))
                .and_then(|x| x.as_dict().ok());
            for op in ops.operations.iter().filter(|op| op.operator == "Do") {
                let Some(stream) = op
                    .operands
                    .first()
                    .and_then(|n| n.as_name().ok())
                    .and_then(|n| xobjects?.get(n).ok())
                    .and_then(|o| resolve(doc, o))
                    .and_then(|o| o.as_stream().ok())
                else {
                    continue;
                };
                draws += 1;
                if depth + 1 > limits.max_depth {
                    return Err(IngestError::TooDeep(format!(
                        "form XObjects nested deeper than {} levels, or drawing themselves (ingest.max_depth)",
                        limits.max_depth
                    )));
                }
                if draws > MAX_FORM_DRAWS {
                    return Err(IngestError::TooLarge(format!(
                        "more than {MAX_FORM_DRAWS} form XObjects drawn"
                    )));
                }
                let own = stream
                    .dict
                    .get(b"Resources")
                    .ok()
                    .and_then(|r| resolve(doc, r))
                    .and_then(|r| r.as_dict().ok())
                    .cloned();
                let inner = decoded(stream, &mut work)?;
                stack.push((inner, own.unwrap_or_else(|| resources.clone()), depth + 1));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii85_decodes_the_spec_example() {
        // "Man " → 9jqo^ (Adobe's ASCII85 example).
        assert_eq!(ascii85(b"9jqo^~>"), b"Man ");
        assert_eq!(ascii85(b"z~>"), [0, 0, 0, 0]);
    }
}
