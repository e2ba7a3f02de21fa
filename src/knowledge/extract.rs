//! Turning an uploaded knowledge-base file into plain text for chunking and search.

use std::panic::{self, AssertUnwindSafe};

/// The formats a knowledge base accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain UTF-8 text.
    Text,
    /// Markdown, kept as Markdown so the chunker can split on its structure.
    Markdown,
    /// HTML, rendered to readable text.
    Html,
    /// CSV with a header row; each record becomes one `header: value; ...` line.
    Csv,
    /// JSON; each scalar becomes one `path.to.key: value` line.
    Json,
    /// PDF; its text layer.
    Pdf,
}

impl Format {
    /// Every format.
    pub const ALL: [Self; 6] = [
        Self::Text,
        Self::Markdown,
        Self::Html,
        Self::Csv,
        Self::Json,
        Self::Pdf,
    ];

    /// The format stored as `s` (see [`Format::as_str`]).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The stored name: "text", "markdown", "html", "csv", "json", "pdf".
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Pdf => "pdf",
        }
    }

    /// The canonical MIME type ("text/plain", "text/markdown", "text/html", "text/csv",
    /// "application/json", "application/pdf").
    pub fn mime(self) -> &'static str {
        match self {
            Format::Text => "text/plain",
            Format::Markdown => "text/markdown",
            Format::Html => "text/html",
            Format::Csv => "text/csv",
            Format::Json => "application/json",
            Format::Pdf => "application/pdf",
        }
    }
}

/// The format from a declared content type (parameters like `; charset=utf-8` ignored; also
/// accepts application/x-markdown, text/x-markdown, application/xhtml+xml, application/csv,
/// text/json, text/x-csv) when given and not `application/octet-stream`, otherwise from the file
/// name's extension (.txt .text .md .markdown .htm .html .csv .json .pdf, case-insensitive).
/// None: unsupported (the server answers 415).
pub fn format_of(name: &str, content_type: Option<&str>) -> Option<Format> {
    // `split` always yields at least one item, so the default is never used.
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let by_name = by_extension(name);
    match essence.as_str() {
        // Clients that don't know the type send octet-stream (curl -F does); the name
        // knows better.
        "" | "application/octet-stream" => by_name,
        // Generic types browsers send for files they don't know (`.md` as text/plain,
        // `.csv` as Excel's type on Windows): the extension, when it names a format.
        "text/plain" => by_name.or(Some(Format::Text)),
        "application/vnd.ms-excel" => by_name.filter(|f| *f == Format::Csv),
        "text/markdown" | "text/x-markdown" | "application/x-markdown" => Some(Format::Markdown),
        "text/html" | "application/xhtml+xml" => Some(Format::Html),
        "text/csv" | "application/csv" | "text/x-csv" => Some(Format::Csv),
        "application/json" | "text/json" => Some(Format::Json),
        "application/pdf" => Some(Format::Pdf),
        _ => None,
    }
}

fn by_extension(name: &str) -> Option<Format> {
    let (_, ext) = name.rsplit_once('.')?;
    match ext.to_ascii_lowercase().as_str() {
        "txt" | "text" => Some(Format::Text),
        "md" | "markdown" => Some(Format::Markdown),
        "htm" | "html" => Some(Format::Html),
        "csv" => Some(Format::Csv),
        "json" => Some(Format::Json),
        "pdf" => Some(Format::Pdf),
        _ => None,
    }
}

/// Why a file could not be turned into text. `code` is one of "empty_document",
/// "unsupported_content", "extraction_failed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractError {
    /// A stable machine-readable code for API clients.
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
}

impl std::fmt::Display for ExtractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ExtractError {}

fn not_text(why: impl std::fmt::Display) -> ExtractError {
    ExtractError {
        code: "unsupported_content",
        message: format!("the file is not text: {why}"),
    }
}

fn failed(why: impl std::fmt::Display) -> ExtractError {
    ExtractError {
        code: "extraction_failed",
        message: why.to_string(),
    }
}

/// The text of a file. Never panics (PDF parsing is wrapped in `catch_unwind`; a panic becomes
/// `extraction_failed`).
pub fn extract(format: Format, bytes: &[u8]) -> Result<String, ExtractError> {
    let text = match format {
        Format::Text | Format::Markdown => decode_text(bytes)?.to_owned(),
        Format::Html => html_to_text(decode_text(bytes)?)?,
        Format::Csv => csv_to_text(decode_text(bytes)?)?,
        Format::Json => json_to_text(decode_text(bytes)?)?,
        Format::Pdf => pdf_to_text(bytes)?,
    };
    if text.trim().is_empty() {
        return Err(ExtractError {
            code: "empty_document",
            message: "the document has no text".to_owned(),
        });
    }
    Ok(text)
}

/// Control characters that ordinary text files do contain.
fn is_benign_control(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t' | '\x0c')
}

/// Validates that `bytes` are text: UTF-8 (BOM stripped), no NUL, few control characters.
/// This is what rejects a binary file uploaded under a text name.
fn decode_text(bytes: &[u8]) -> Result<&str, ExtractError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| not_text(format!("invalid UTF-8 ({e})")))?;
    if text.contains('\0') {
        return Err(not_text("it contains NUL bytes"));
    }
    let (mut total, mut control) = (0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if c.is_control() && !is_benign_control(c) {
            control += 1;
        }
    }
    // Valid UTF-8 binaries are rare but exist; a tenth of control characters is not prose.
    if control * 10 > total {
        return Err(not_text(format!(
            "{control} of its {total} characters are control characters"
        )));
    }
    Ok(text)
}

/// Width HTML is wrapped at; wide so paragraphs stay on one line for the chunker.
const HTML_WIDTH: usize = 200;

fn html_to_text(html: &str) -> Result<String, ExtractError> {
    // The rich renderer carries links and emphasis as annotations instead of inline markers
    // (`[days][1]`, `*x*`), so joining its lines gives clean text for embedding. Headings keep
    // a `# ` prefix and list items `* `, which reads fine and helps the chunker.
    // html2text drops <script>, <style> and <head> content itself.
    let lines = html2text::config::rich()
        .no_table_borders()
        .lines_from_read(html.as_bytes(), HTML_WIDTH)
        .map_err(|e| failed(format!("could not read the HTML: {e}")))?;
    let mut out = String::new();
    for line in lines {
        out.push_str(line.chars().collect::<String>().trim_end());
        out.push('\n');
    }
    Ok(out)
}

fn csv_to_text(data: &str) -> Result<String, ExtractError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(data.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| failed(format!("malformed CSV: {e}")))?
        .iter()
        .enumerate()
        // A blank header would give `: value`; name it by position instead.
        .map(|(i, h)| match h {
            "" => format!("column{}", i + 1),
            h => h.to_owned(),
        })
        .collect();
    let mut out = String::new();
    for record in reader.records() {
        let record = record.map_err(|e| failed(format!("malformed CSV: {e}")))?;
        let fields: Vec<String> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| format!("{h}: {v}"))
            .collect();
        out.push_str(&fields.join("; "));
        out.push('\n');
    }
    Ok(out)
}

fn json_to_text(data: &str) -> Result<String, ExtractError> {
    let value: serde_json::Value =
        serde_json::from_str(data).map_err(|e| failed(format!("invalid JSON: {e}")))?;
    let mut out = String::new();
    // serde_json's parser caps nesting at 128, so this recursion is bounded.
    flatten_json(&value, &mut String::new(), &mut out);
    Ok(out)
}

/// Appends one `path: value` line per scalar under `value` to `out`.
fn flatten_json(value: &serde_json::Value, path: &mut String, out: &mut String) {
    use serde_json::Value;
    let restore = path.len();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                flatten_json(child, path, out);
                path.truncate(restore);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                flatten_json(child, path, out);
                path.truncate(restore);
            }
        }
        scalar => {
            if !path.is_empty() {
                out.push_str(path);
                out.push_str(": ");
            }
            match scalar {
                // Strings unquoted: the text is for search, not for parsing back.
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
            out.push('\n');
        }
    }
}

fn pdf_to_text(bytes: &[u8]) -> Result<String, ExtractError> {
    // pdf-extract panics (rather than erroring) on many malformed or unusual PDFs; an upload
    // must never take a worker down. AssertUnwindSafe: nothing shared is touched in there.
    // Note the default panic hook still prints the panic message to stderr.
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::extract_text_from_mem(bytes)
    }));
    match result {
        // Fonts with odd encodings can yield NULs and other control characters, which e.g.
        // Postgres text columns reject; keep only the whitespace ones.
        Ok(Ok(text)) => Ok(text
            .chars()
            .filter(|&c| !c.is_control() || is_benign_control(c))
            .collect()),
        Ok(Err(e)) => Err(failed(format!("could not read the PDF: {e}"))),
        Err(_) => Err(failed("could not read the PDF: the parser crashed on it")),
    }
}

#[cfg(test)]
mod tests;
