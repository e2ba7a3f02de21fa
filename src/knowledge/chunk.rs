//! Splitting extracted text into token-sized chunks for embedding.

use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
use tiktoken_rs::CoreBPE;

/// One piece of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The chunk text (trimmed of surrounding whitespace).
    pub text: String,
    /// Its tokens (cl100k_base).
    pub tokens: u32,
    /// Byte offset of `text` in the source text.
    pub offset: usize,
}

/// The cl100k_base tokenizer. Building it parses a ~1.7 MB vocabulary, so it is built once:
/// tiktoken-rs's own `LazyLock` singleton, shared with any other code in the process that uses
/// it, rather than a second private copy.
fn tokenizer() -> &'static CoreBPE {
    tiktoken_rs::cl100k_base_singleton()
}

/// Splits text into chunks of at most `max_tokens` tokens with `overlap` tokens of overlap
/// (overlap < max_tokens; clamped if not), Markdown-aware (MarkdownSplitter) when `markdown`,
/// else TextSplitter. Empty chunks are never returned.
///
/// `max_tokens` is raised to 1 if 0. The bound holds except for a single grapheme that alone
/// tokenizes to more than `max_tokens` tokens, which text-splitter emits whole rather than
/// cutting it apart; that can only matter for tiny `max_tokens`.
pub fn chunk(text: &str, markdown: bool, max_tokens: usize, overlap: usize) -> Vec<Chunk> {
    let max_tokens = max_tokens.max(1);
    let overlap = overlap.min(max_tokens - 1);
    // Cannot fail after the clamp above (it only rejects overlap >= capacity); falling back to
    // no overlap keeps this panic-free even if that rule ever changes.
    let config = ChunkConfig::new(max_tokens)
        .with_overlap(overlap)
        .unwrap_or_else(|_| ChunkConfig::new(max_tokens))
        .with_sizer(tokenizer());
    let to_chunk = |(offset, piece): (usize, &str)| {
        // Trimming is on (the default), but be sure: a blank chunk is useless to embed.
        (!piece.trim().is_empty()).then(|| Chunk {
            text: piece.to_owned(),
            tokens: count_tokens(piece),
            offset,
        })
    };
    if markdown {
        MarkdownSplitter::new(config)
            .chunk_indices(text)
            .filter_map(to_chunk)
            .collect()
    } else {
        TextSplitter::new(config)
            .chunk_indices(text)
            .filter_map(to_chunk)
            .collect()
    }
}

/// Tokens in `text` (cl100k_base).
///
/// Special-token markers such as `<|endoftext|>` in user text count as ordinary text, matching
/// how text-splitter sizes chunks.
pub fn count_tokens(text: &str) -> u32 {
    let n = tokenizer().encode_ordinary(text).len();
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prose(sentences: usize) -> String {
        (0..sentences)
            .map(|i| format!("Sentence number {i} talks about refunds, shipping and returns. "))
            .collect()
    }

    #[test]
    fn counts_tokens() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("An apple a"), 3);
        assert_eq!(count_tokens("<|endoftext|>"), count_tokens("<|endoftext|>"));
        assert!(
            count_tokens("<|endoftext|>") > 1,
            "special tokens are counted as text"
        );
    }

    #[test]
    fn chunks_respect_the_token_bound_and_offsets() {
        let text = prose(200);
        for markdown in [false, true] {
            let chunks = chunk(&text, markdown, 50, 10);
            assert!(chunks.len() > 10, "{}", chunks.len());
            for c in &chunks {
                assert!(c.tokens as usize <= 50, "{} tokens", c.tokens);
                assert_eq!(c.tokens, count_tokens(&c.text));
                assert_eq!(&text[c.offset..c.offset + c.text.len()], c.text);
                assert!(!c.text.trim().is_empty());
            }
        }
    }

    #[test]
    fn consecutive_chunks_overlap() {
        let text = prose(100);
        let chunks = chunk(&text, false, 40, 15);
        for pair in chunks.windows(2) {
            let end_of_first = pair[0].offset + pair[0].text.len();
            assert!(pair[1].offset < end_of_first, "no overlap: {pair:?}");
        }
        // Without overlap the chunks tile the text instead.
        let plain = chunk(&text, false, 40, 0);
        for pair in plain.windows(2) {
            assert!(pair[1].offset >= pair[0].offset + pair[0].text.len());
        }
    }

    #[test]
    fn overlap_and_size_are_clamped() {
        let chunks = chunk(&prose(20), false, 30, 500);
        assert!(!chunks.is_empty());
        assert!(chunks.iter().all(|c| c.tokens <= 30));
        assert!(!chunk("hello world", false, 0, 0).is_empty());
    }

    #[test]
    fn markdown_headings_start_chunks() {
        let section = |title: &str| format!("## {title}\n\n{}\n\n", prose(6));
        let md = format!(
            "# Guide\n\n{}{}{}",
            section("Refunds"),
            section("Shipping"),
            section("Returns")
        );
        let chunks = chunk(&md, true, 120, 0);
        // The document title stays with the first section; every later section starts a chunk.
        assert!(
            chunks[0].text.starts_with("# Guide\n\n## Refunds"),
            "{chunks:#?}"
        );
        for title in ["## Shipping", "## Returns"] {
            assert!(
                chunks.iter().any(|c| c.text.starts_with(title)),
                "no chunk starts at {title}: {chunks:#?}"
            );
        }
        // No chunk runs from one section into the next.
        for c in &chunks {
            assert!(c.text.matches("## ").count() <= 1, "{c:#?}");
        }
    }

    #[test]
    fn empty_and_blank_text_give_no_chunks() {
        assert!(chunk("", false, 100, 10).is_empty());
        assert!(chunk(" \n\n\t ", true, 100, 10).is_empty());
    }

    #[test]
    fn short_text_is_one_chunk() {
        let chunks = chunk("  Hello, world.\n", false, 100, 10);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, "Hello, world.");
        assert_eq!(chunks[0].offset, 2);
    }
}
