//! A tiny PDF writer for tests: real one-page PDFs with a text layer, so PDF extraction can be
//! tested without checking binary fixtures into the repository.

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream, StringFormat};

/// Writes a one-page A4 PDF showing `lines` top to bottom in 12pt Helvetica, one `Tj` per line.
///
/// The font uses WinAnsiEncoding, so Latin-1 characters survive; anything outside it is written
/// as `?`. An empty `lines` gives a page with no text layer (like a scanned document).
pub fn make_pdf(lines: &[&str]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });

    let mut operations = Vec::new();
    if !lines.is_empty() {
        operations.push(Operation::new("BT", vec![]));
        operations.push(Operation::new("Tf", vec!["F1".into(), 12.into()]));
        // TL sets the leading that T* moves down by, so each line is visibly a new line and
        // extractors emit a line break between them.
        operations.push(Operation::new("TL", vec![16.into()]));
        operations.push(Operation::new("Td", vec![72.into(), 770.into()]));
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                operations.push(Operation::new("T*", vec![]));
            }
            let bytes = win_ansi(line);
            let literal = Object::String(bytes, StringFormat::Literal);
            operations.push(Operation::new("Tj", vec![literal]));
        }
        operations.push(Operation::new("ET", vec![]));
    }
    let content = Content { operations };
    // Encoding only fails for operand types a content stream cannot hold; ours are plain.
    let encoded = content
        .encode()
        .expect("a content stream of text operators always encodes");
    let content_id = doc.add_object(Stream::new(dictionary! {}, encoded));

    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    doc.trailer.set("Root", catalog_id);

    let mut out = Vec::new();
    // Writing into a Vec performs no I/O that could fail.
    doc.save_to(&mut out)
        .expect("writing a PDF into memory cannot fail");
    out
}

/// Latin-1 characters as their WinAnsi bytes (they coincide outside 0x80..=0x9F); others `?`.
fn win_ansi(line: &str) -> Vec<u8> {
    line.chars()
        .map(|c| match u8::try_from(u32::from(c)) {
            Ok(b) if !(0x80..=0x9f).contains(&b) => b,
            _ => b'?',
        })
        .collect()
}
