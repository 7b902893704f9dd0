//! Hostile files: each must end in a per-file result (text or a coded error), never in a
//! stack overflow, an abort or unbounded memory. Regression tests for issue 13's holes,
//! named after them, and one property test (proptest) per extractor over random and deeply
//! nested input, run for a bounded number of cases in CI.

use lore_ingest::samples;
use lore_ingest::{parse, parse_with, Format, IngestError, Limits};
use proptest::prelude::*;

const DEEP: usize = 100_000;

/// Parses and returns the error code (`ok` for success): the call must come back.
fn outcome(name: &str, bytes: &[u8]) -> &'static str {
    let started = std::time::Instant::now();
    let code = match parse(name, bytes) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    };
    eprintln!("{name}: {code} in {:?}", started.elapsed());
    code
}

#[test]
fn issue13_html_nested_10k_spans_does_not_overflow() {
    // The hostile test's reproduction: 130 KB, 10,000 `<span>` deep, killed the server.
    // Now a per-file error, in milliseconds; under the cap the walker needs no call stack
    // either (see `html_walker_needs_no_call_stack`).
    let err = parse("x.html", &samples::nested_html("span", 10_000)).unwrap_err();
    assert_eq!(err.code(), "file_too_deep");
    assert_eq!(
        outcome("x.html", &samples::nested_html("span", 10_000)),
        "file_too_deep"
    );
}

#[test]
fn html_walker_needs_no_call_stack() {
    // With the cap lifted, 10,000 levels extract on the walker's heap stack.
    let limits = Limits {
        max_depth: 20_000,
        ..Limits::default()
    };
    let (format, doc) =
        parse_with("x.html", &samples::nested_html("span", 10_000), &limits).expect("extracts");
    assert_eq!(format, Format::Html);
    assert_eq!(doc.sections[0].text, "intro\n\ndeep text");
}

#[test]
fn html_nested_100k_levels_of_every_kind() {
    // Refused before html5ever's tree builder (quadratic in depth: 95 s for `<div>`).
    for tag in ["span", "div", "b", "table", "blockquote", "a"] {
        assert_eq!(
            outcome(&format!("{tag}.html"), &samples::nested_html(tag, DEEP)),
            "file_too_deep"
        );
    }
    // Unclosed tags, 100,000 deep.
    let html = format!("<html><body>{}end", "<div><span>".repeat(DEEP));
    assert_eq!(outcome("unclosed.html", html.as_bytes()), "file_too_deep");
    // Siblings that close each other, voids and self-closing tags do not nest: 100,000 of
    // them read fine, as do 500 real levels.
    for (name, html) in [
        (
            "paragraphs.html",
            format!(
                "<body>{}",
                "<p>para<li>item<br><img src=x><td>c".repeat(DEEP / 4)
            ),
        ),
        (
            "svg.html",
            format!("<body><p>text</p><svg>{}</svg>", "<path/>".repeat(DEEP)),
        ),
        (
            "500.html",
            String::from_utf8(samples::nested_html("div", 500)).unwrap(),
        ),
        (
            "script.html",
            format!("<body><p>text</p><script>{}</script>", "<div>".repeat(DEEP)),
        ),
    ] {
        assert_eq!(outcome(name, html.as_bytes()), "ok", "{name}");
    }
}

#[test]
fn markdown_nested_100k_levels() {
    let cases = [
        (
            "blockquotes.md",
            String::from_utf8_lossy(&samples::nested_markdown(DEEP)).into_owned(),
        ),
        ("lists.md", format!("{}item", "- ".repeat(DEEP))),
        (
            "indented.md",
            (0..5_000)
                .map(|i| format!("{}- l{i}\n", "  ".repeat(i)))
                .collect(),
        ),
        (
            "emphasis.md",
            format!("{}x{}", "*".repeat(DEEP), "*".repeat(DEEP)),
        ),
        (
            "links.md",
            format!("{}x{}", "[".repeat(DEEP), "](u)".repeat(DEEP)),
        ),
        ("html.md", format!("{}x", "<div>".repeat(DEEP))),
    ];
    for (name, md) in cases {
        let got = outcome(name, md.as_bytes());
        assert!(matches!(got, "ok" | "no_text"), "{name}: {got}");
    }
}

#[test]
fn docx_nested_100k_levels() {
    assert_eq!(outcome("deep.docx", &samples::nested_docx(DEEP)), "ok");
}

#[test]
fn issue13_docx_decompression_bomb_is_a_per_file_error() {
    // 400 MiB of one repeated run: ~400 KB compressed (the hostile test's 408 KB DOCX).
    // Inflation stops at the cap (128 MiB by default) with a code.
    let bytes = samples::docx_bomb(400);
    assert!(bytes.len() < 4 << 20, "compressed to {} bytes", bytes.len());
    let err = parse("bomb.docx", &bytes).unwrap_err();
    assert!(matches!(err, IngestError::TooLarge(_)), "{err}");
    assert_eq!(err.code(), "file_too_large");
    // A tighter ratio refuses a smaller bomb too.
    let limits = Limits {
        max_inflate_ratio: 100,
        ratio_floor_bytes: 1 << 20,
        ..Limits::default()
    };
    let small = samples::docx_bomb(8);
    assert_eq!(
        parse_with("b.docx", &small, &limits).unwrap_err().code(),
        "file_too_large"
    );
    // ...and the default limits read it (8 MiB of text is a real, if odd, document).
    assert!(parse("b.docx", &small).is_ok());
}

#[test]
fn pdf_control_file_extracts() {
    let (_, doc) = parse("ok.pdf", &samples::pdf(samples::PDF_HELLO, |_, _| {})).expect("extracts");
    assert!(
        doc.sections[0].text.contains("hello from page one"),
        "{:?}",
        doc.sections
    );
    assert_eq!(doc.sections[0].page, Some(1));
}

#[test]
fn pdf_nested_100k_arrays() {
    // pdf-extract panics on the content lopdf refuses: caught, a per-file error.
    let got = outcome("deep.pdf", &samples::pdf_nested_arrays(DEEP));
    assert!(
        matches!(got, "ok" | "corrupt_file" | "no_text" | "parser_failed"),
        "{got}"
    );
    // 100,000 nested dictionaries in an object of their own.
    let mut raw = samples::pdf(samples::PDF_HELLO, |_, _| {});
    let deep_obj = format!(
        "99 0 obj {}{} endobj\n",
        "<< /A ".repeat(DEEP),
        ">>".repeat(DEEP)
    );
    let at = raw
        .windows(4)
        .position(|w| w == b"xref")
        .unwrap_or(raw.len());
    raw.splice(at..at, deep_obj.bytes());
    let got = outcome("deep-dict.pdf", &raw);
    assert!(
        matches!(got, "ok" | "corrupt_file" | "no_text" | "parser_failed"),
        "{got}"
    );
}

#[test]
fn issue13_pdf_form_xobject_drawing_itself_is_too_deep() {
    let err = parse("loop.pdf", &samples::pdf_self_drawing_form()).unwrap_err();
    assert_eq!(err.code(), "file_too_deep", "{err}");
}

#[test]
fn pdf_forms_doubling_per_level_are_refused() {
    let got = outcome("fork.pdf", &samples::pdf_doubling_forms(30));
    assert!(matches!(got, "file_too_large" | "file_too_deep"), "{got}");
}

#[test]
fn issue13_pdf_flate_bomb_is_a_per_file_error() {
    // 200 MiB of spaces deflated into one content stream (~200 KB).
    let bytes = samples::pdf_flate_bomb(200);
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let err = parse("bomb.pdf", &bytes).unwrap_err();
    assert_eq!(err.code(), "file_too_large", "{err}");
}

#[test]
fn pdf_page_tree_parent_cycle_is_refused() {
    let got = outcome("cycle.pdf", &samples::pdf_parent_cycle());
    assert!(
        matches!(got, "file_too_deep" | "corrupt_file" | "no_text"),
        "{got}"
    );
}

#[test]
fn extracted_text_over_the_cap_is_a_per_file_error() {
    let limits = Limits {
        max_text_bytes: 1000,
        ..Limits::default()
    };
    let text = "word ".repeat(1000);
    let err = parse_with("big.txt", text.as_bytes(), &limits).unwrap_err();
    assert_eq!(err.code(), "file_too_large");
}

fn nested(open: &'static str, close: &'static str) -> impl Strategy<Value = String> {
    (0usize..20_000, "[a-z ]{0,20}")
        .prop_map(move |(n, mid)| format!("{}{mid}{}", open.repeat(n), close.repeat(n / 2)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any bytes, any name: parse comes back with a result.
    #[test]
    fn fuzz_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096), ext in "(html|md|txt|pdf|docx)") {
        let _ = parse(&format!("f.{ext}"), &bytes);
    }

    #[test]
    fn fuzz_html_nesting(body in nested("<div><b>", "</b></div>")) {
        let _ = parse("f.html", format!("<html><body>{body}</body></html>").as_bytes());
    }

    #[test]
    fn fuzz_markdown_nesting(body in nested("> - *", "*")) {
        let _ = parse("f.md", body.as_bytes());
    }

    #[test]
    fn fuzz_pdf_mutations(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let mut bytes = samples::pdf(samples::PDF_HELLO, |_, _| {});
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        let _ = parse("f.pdf", &bytes);
    }

    #[test]
    fn fuzz_docx_xml(body in nested("<w:p><w:r><w:t>", "</w:t></w:r></w:p>")) {
        let bytes = samples::docx(|w| {
            let _ = w.write_all(b"<w:document xmlns:w=\"w\"><w:body>");
            let _ = w.write_all(body.as_bytes());
        });
        let _ = parse("f.docx", &bytes);
    }
}
