//! Unit tests for `extract`, kept beside it so extract.rs stays short.

use super::*;

fn code(r: Result<String, ExtractError>) -> &'static str {
    r.expect_err("expected an error").code
}

#[test]
fn format_from_content_type_then_extension() {
    assert_eq!(
        format_of("a.bin", Some("text/plain; charset=utf-8")),
        Some(Format::Text)
    );
    assert_eq!(
        format_of("a", Some("Text/X-Markdown")),
        Some(Format::Markdown)
    );
    assert_eq!(
        format_of("a", Some("application/xhtml+xml")),
        Some(Format::Html)
    );
    assert_eq!(format_of("a", Some("application/csv")), Some(Format::Csv));
    assert_eq!(format_of("a", Some("text/json")), Some(Format::Json));
    assert_eq!(format_of("a.txt", Some("image/png")), None);
    assert_eq!(
        format_of("R.PDF", Some("application/octet-stream")),
        Some(Format::Pdf)
    );
    assert_eq!(
        format_of("notes.Markdown", Some("")),
        Some(Format::Markdown)
    );
    assert_eq!(format_of("page.htm", None), Some(Format::Html));
    assert_eq!(format_of("x.text", None), Some(Format::Text));
    assert_eq!(format_of("x.docx", None), None);
    assert_eq!(format_of("README", None), None);
    for f in [
        Format::Text,
        Format::Markdown,
        Format::Html,
        Format::Csv,
        Format::Json,
        Format::Pdf,
    ] {
        assert_eq!(format_of("x", Some(f.mime())), Some(f));
        assert_eq!(format_of(&format!("x.{}", f.as_str()), None), Some(f));
    }
}

#[test]
fn text_and_markdown_pass_through() {
    assert_eq!(
        extract(Format::Text, b"\xEF\xBB\xBFhello\r\n\tworld\x0c").as_deref(),
        Ok("hello\r\n\tworld\x0c")
    );
    let md = "# Title\n\nSome *text*.\n";
    assert_eq!(extract(Format::Markdown, md.as_bytes()).as_deref(), Ok(md));
}

#[test]
fn binary_is_unsupported_content() {
    assert_eq!(
        code(extract(Format::Text, &[0xff, 0xfe, 0x00, 0x12])),
        "unsupported_content"
    );
    assert_eq!(
        code(extract(Format::Markdown, b"abc\0def")),
        "unsupported_content"
    );
    assert_eq!(
        code(extract(Format::Csv, b"a,b\n\x01\x02\x03,\x04")),
        "unsupported_content"
    );
    let err = extract(Format::Html, b"\x1b\x1b\x1babcdefg").expect_err("binary");
    assert!(
        err.message.starts_with("the file is not text: "),
        "{}",
        err.message
    );
}

#[test]
fn empty_is_empty_document() {
    assert_eq!(code(extract(Format::Text, b"")), "empty_document");
    assert_eq!(code(extract(Format::Markdown, b" \n\t ")), "empty_document");
    assert_eq!(
        code(extract(Format::Html, b"<html><body> </body></html>")),
        "empty_document"
    );
    assert_eq!(code(extract(Format::Json, b"{}")), "empty_document");
    assert_eq!(code(extract(Format::Csv, b"a,b\n")), "empty_document");
}

#[test]
fn html_is_readable_without_scripts_or_styles() {
    let html = "<html><head><title>T</title><style>body{color:red}</style></head><body>\
        <h1>Refunds</h1><p>Within <b>30</b> <a href=\"/x\">days</a>.</p>\
        <script>alert('leak')</script></body></html>";
    let text = extract(Format::Html, html.as_bytes()).expect("html");
    assert!(
        text.contains("Refunds") && text.contains("Within 30 days."),
        "{text}"
    );
    assert!(
        !text.contains("alert") && !text.contains("color") && !text.contains('<'),
        "{text}"
    );
}

#[test]
fn csv_records_become_lines() {
    let text = extract(Format::Csv, b"name, city\nAda,London\n\"Lin, B\",Paris\n").expect("csv");
    assert_eq!(text, "name: Ada; city: London\nname: Lin, B; city: Paris\n");
    let err = extract(Format::Csv, b"a,b\n1,2,3\n").expect_err("ragged");
    assert_eq!(err.code, "extraction_failed");
    assert!(err.message.contains("malformed CSV"), "{}", err.message);
}

#[test]
fn json_is_flattened_to_paths() {
    // Document order is kept (serde_json's preserve_order), so related keys stay together.
    let json =
        br#"{"name":"kb","tags":["a","b"],"items":[{"name":"x","n":1.5,"ok":true,"z":null}]}"#;
    let text = extract(Format::Json, json).expect("json");
    assert_eq!(
        text,
        "name: kb\ntags[0]: a\ntags[1]: b\nitems[0].name: x\nitems[0].n: 1.5\nitems[0].ok: true\nitems[0].z: null\n"
    );
    assert_eq!(
        extract(Format::Json, b"\"just a string\"").as_deref(),
        Ok("just a string\n")
    );
    assert_eq!(code(extract(Format::Json, b"{\"a\":")), "extraction_failed");
}

#[test]
fn corrupt_pdf_fails_without_panicking() {
    // Deterministic pseudo-random bytes (xorshift) after a PDF header.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20 {
        let mut bytes = b"%PDF-1.4\n".to_vec();
        for _ in 0..2048 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(state as u8);
        }
        assert_eq!(code(extract(Format::Pdf, &bytes)), "extraction_failed");
    }
    assert_eq!(
        code(extract(Format::Pdf, b"not a pdf")),
        "extraction_failed"
    );
}
