//! Hostile sample files, built in memory: deep nesting and decompression bombs of every
//! format lore reads. The regression tests (`tests/hostile.rs` here and in the `lore`
//! crate) and `lore bench hostile-files` (peak RSS per file) use them; nothing else does.

use std::io::{Cursor, Write};

use pdf_extract::{dictionary, Dictionary, Document, Object, ObjectId, Stream};

/// Text drawn on a sample PDF's page (Courier, 12 pt).
pub const PDF_HELLO: &[u8] = b"BT /F1 12 Tf 72 712 Td (hello from page one) Tj ET";

/// `<html><body>` with `<tag>` nested `depth` deep around "deep text" (the hostile test's
/// reproduction is `span`, 10,000).
pub fn nested_html(tag: &str, depth: usize) -> Vec<u8> {
    format!(
        "<html><body><p>intro</p>{}deep text{}</body></html>",
        format!("<{tag}>").repeat(depth),
        format!("</{tag}>").repeat(depth)
    )
    .into_bytes()
}

/// Markdown blockquotes nested `depth` deep.
pub fn nested_markdown(depth: usize) -> Vec<u8> {
    format!("{}quote", "> ".repeat(depth)).into_bytes()
}

/// A DOCX (a ZIP with `[Content_Types].xml` and `word/document.xml`) whose document is
/// written by `write_xml`, deflated at level 1.
///
/// # Panics
/// Only if writing to memory fails.
pub fn docx(write_xml: impl FnOnce(&mut dyn Write)) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let types = b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
    let rels = b"<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"/>";
    // Entries in Word's order: format sniffing looks for `word/` in the third one.
    let written = zip
        .start_file("[Content_Types].xml", opts)
        .and_then(|()| Ok(zip.write_all(types)?))
        .and_then(|()| zip.start_file("_rels/.rels", opts))
        .and_then(|()| Ok(zip.write_all(rels)?))
        .and_then(|()| zip.start_file("word/document.xml", opts));
    assert!(written.is_ok(), "zip in memory");
    write_xml(&mut zip);
    zip.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// A DOCX whose paragraphs and tables nest `depth` deep.
pub fn nested_docx(depth: usize) -> Vec<u8> {
    docx(|w| {
        let _ = w.write_all(b"<w:document xmlns:w=\"w\"><w:body>");
        let _ = w.write_all("<w:tbl><w:tr><w:tc>".repeat(depth / 3).as_bytes());
        let _ = w.write_all(b"<w:p><w:r><w:t>cell</w:t></w:r></w:p>");
        let _ = w.write_all("</w:tc></w:tr></w:tbl>".repeat(depth / 3).as_bytes());
        let _ = w.write_all("<w:p>".repeat(depth).as_bytes());
        let _ = w.write_all(b"<w:r><w:t>deep</w:t></w:r>");
        let _ = w.write_all("</w:p>".repeat(depth).as_bytes());
        let _ = w.write_all(b"</w:body></w:document>");
    })
}

/// A DOCX whose one text run inflates to `mib` MiB of `a` (400 MiB: ~400 KB on disk,
/// the hostile test's bomb).
pub fn docx_bomb(mib: usize) -> Vec<u8> {
    docx(|w| {
        let _ = w.write_all(b"<w:document xmlns:w=\"w\"><w:body><w:p><w:r><w:t>");
        let block = vec![b'a'; 1 << 20];
        for _ in 0..mib {
            let _ = w.write_all(&block);
        }
        let _ = w.write_all(b"</w:t></w:r></w:p></w:body></w:document>");
    })
}

/// A one-page PDF (lopdf writes the xref) whose page draws `content` with the resources
/// `build` fills in (a Courier font is `F1`); `build` may add objects.
pub fn pdf(content: &[u8], build: impl FnOnce(&mut Document, &mut Dictionary)) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier",
    });
    let mut resources = dictionary! { "Font" => dictionary! { "F1" => font_id } };
    build(&mut doc, &mut resources);
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.to_vec()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => resources, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    finish(doc, pages_id, vec![page_id])
}

fn finish(mut doc: Document, pages_id: ObjectId, kids: Vec<ObjectId>) -> Vec<u8> {
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids.into_iter().map(Object::from).collect::<Vec<_>>(), "Count" => count,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    let _ = doc.save_to(&mut out);
    out
}

/// A PDF whose page draws form `X`, and `X` draws itself (through the page's resources):
/// pdf-extract recursed until the stack overflowed.
pub fn pdf_self_drawing_form() -> Vec<u8> {
    pdf(b"BT /F1 12 Tf (x) Tj ET /X Do", |doc, resources| {
        let form = Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()] },
            b"/X Do".to_vec(),
        );
        let form_id = doc.add_object(form);
        resources.set("XObject", dictionary! { "X" => form_id });
    })
}

/// A PDF whose form `F0` draws `F1` twice, `F1` draws `F2` twice, ... `levels` deep:
/// 2^levels draws from a few hundred bytes.
pub fn pdf_doubling_forms(levels: usize) -> Vec<u8> {
    pdf(b"/F0 Do", |doc, resources| {
        let ids: Vec<_> = (0..levels).map(|_| doc.new_object_id()).collect();
        let mut xobjects = Dictionary::new();
        for (i, id) in ids.iter().enumerate() {
            xobjects.set(format!("F{i}"), *id);
            let content = if i + 1 < levels {
                format!("/F{n} Do /F{n} Do", n = i + 1)
            } else {
                "BT /F1 1 Tf (x) Tj ET".into()
            };
            doc.objects.insert(
                *id,
                Object::Stream(Stream::new(
                    dictionary! { "Type" => "XObject", "Subtype" => "Form" },
                    content.into_bytes(),
                )),
            );
        }
        resources.set("XObject", xobjects);
    })
}

/// A PDF whose content stream is [`PDF_HELLO`] followed by `mib` MiB of spaces, deflated
/// (200 MiB: ~200 KB on disk, the hostile test's Flate bomb).
pub fn pdf_flate_bomb(mib: usize) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = enc.write_all(PDF_HELLO);
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..mib {
        let _ = enc.write_all(&spaces);
    }
    let packed = enc.finish().unwrap_or_default();
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let stream =
        Stream::new(dictionary! { "Filter" => "FlateDecode" }, packed).with_compression(false);
    let content_id = doc.add_object(stream);
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    finish(doc, pages_id, vec![page_id])
}

/// A PDF whose page content nests arrays `depth` deep (lopdf's parser caps at 100).
pub fn pdf_nested_arrays(depth: usize) -> Vec<u8> {
    let mut content = PDF_HELLO.to_vec();
    content.extend(b" ");
    content.extend("[".repeat(depth).as_bytes());
    content.extend("]".repeat(depth).as_bytes());
    content.extend(b" TJ");
    pdf(&content, |_, _| {})
}

/// A PDF whose page's parents form a cycle with no resources anywhere (pdf-extract walks
/// up parents to inherit them).
pub fn pdf_parent_cycle() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mid_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(dictionary! {}, PDF_HELLO.to_vec()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => mid_id, "Contents" => content_id,
    });
    doc.objects.insert(
        mid_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Parent" => pages_id, "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Parent" => mid_id, "Kids" => vec![mid_id.into()], "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    let _ = doc.save_to(&mut out);
    out
}

/// Every sample, with a file name, for `lore bench hostile-files`.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("nested-10k-span.html", nested_html("span", 10_000)),
        ("nested-100k-span.html", nested_html("span", 100_000)),
        ("nested-100k-div.html", nested_html("div", 100_000)),
        ("nested-100k-quote.md", nested_markdown(100_000)),
        ("nested-100k.docx", nested_docx(100_000)),
        ("bomb-400mib.docx", docx_bomb(400)),
        ("bomb-200mib.pdf", pdf_flate_bomb(200)),
        ("self-drawing-form.pdf", pdf_self_drawing_form()),
        ("doubling-forms.pdf", pdf_doubling_forms(30)),
        ("nested-100k-arrays.pdf", pdf_nested_arrays(100_000)),
        ("parent-cycle.pdf", pdf_parent_cycle()),
    ]
}
