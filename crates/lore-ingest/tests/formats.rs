//! Extraction from the real files in ../shared/data/docs: a known sentence per format, with
//! its page (PDF) or heading path (Markdown, HTML, DOCX).

use std::path::PathBuf;

use lore_ingest::{parse, Extracted, Format, IngestError};

fn doc(name: &str) -> (Format, Extracted) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/docs")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn section_with<'a>(d: &'a Extracted, needle: &str) -> &'a lore_ingest::Section {
    d.sections
        .iter()
        .find(|s| s.text.contains(needle))
        .unwrap_or_else(|| panic!("no section contains {needle:?}"))
}

#[test]
fn pdf_keeps_page_numbers() {
    let (format, d) = doc("federal-register-2020-17221.pdf");
    assert_eq!(format, Format::Pdf);
    assert!(d.sections.iter().all(|s| s.page.is_some()));
    assert_eq!(
        section_with(&d, "The FAA must receive comments").page,
        Some(1)
    );
    let last = d.sections.iter().filter_map(|s| s.page).max().unwrap();
    assert!(last >= 3, "expected several pages, got {last}");
}

#[test]
fn markdown_keeps_heading_path() {
    let (format, d) = doc("rust-book-ch08-01-vectors.md");
    assert_eq!(format, Format::Markdown);
    assert_eq!(d.title, "Storing Lists of Values with Vectors");
    let s = section_with(&d, "we call the `Vec::new` function");
    assert_eq!(
        s.heading.as_deref(),
        Some("Storing Lists of Values with Vectors > Creating a New Vector")
    );
}

#[test]
fn html_keeps_heading_path_and_title() {
    let (format, d) = doc("httpd-vhosts-name-based.html");
    assert_eq!(format, Format::Html);
    assert_eq!(
        d.title,
        "Name-based Virtual Host Support - Apache HTTP Server Version 2.5"
    );
    let s = section_with(&d, "Any request that doesn't match an existing");
    assert_eq!(
        s.heading.as_deref(),
        Some("Name-based Virtual Host Support > Using Name-based Virtual Hosts > Main host goes away")
    );
    assert!(d.sections.iter().all(|s| !s.text.contains("<script")));
}

#[test]
fn docx_keeps_heading_path_and_tables() {
    let (format, d) = doc("docling-word-sample.docx");
    assert_eq!(format, Format::Docx);
    let s = section_with(&d, "I like to eat leaves");
    assert_eq!(s.heading.as_deref(), Some("Let’s swim! > Let’s eat"));
    assert!(
        s.text.contains("Food | Calories per portion"),
        "table rows flattened with cell separators"
    );
}

#[test]
fn text_title_from_first_line() {
    let (format, d) = doc("httpd-INSTALL.txt");
    assert_eq!(format, Format::Text);
    assert_eq!(d.title, "APACHE INSTALLATION OVERVIEW");
    assert!(section_with(&d, "Quick Start").heading.is_none());
}

#[test]
fn bad_input_gets_a_reason() {
    let corrupt =
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ngarbage without xref";
    assert!(matches!(
        parse("broken.pdf", corrupt),
        Err(IngestError::Corrupt { .. } | IngestError::NoText(_))
    ));
    let png = [
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];
    assert!(matches!(
        parse("photo.txt", &png),
        Err(IngestError::Unsupported(_))
    ));
    assert!(matches!(parse("empty.txt", b""), Err(IngestError::Empty)));
    let zip_not_docx = b"PK\x03\x04\x14\x00\x00\x00\x00\x00";
    assert!(parse("archive.docx", zip_not_docx).is_err());
}
