//! A tenant's search text as a full-text query. The text is never passed through: it
//! is cut into words (letters and digits only), common English words are dropped, and
//! at most [`MAX_TERMS`] words of at most [`MAX_TERM_CHARS`] characters are kept; the
//! words are then OR-ed, so a question finds the chunks that share the most (and the
//! rarest) of its words, ranked by bm25 (SQLite) or `ts_rank` (PostgreSQL).

/// Words kept from a query, at most.
pub const MAX_TERMS: usize = 32;
/// Characters kept of one word, at most.
pub const MAX_TERM_CHARS: usize = 64;

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "in", "is", "it", "me", "my", "of", "on", "or", "our", "should", "that", "the", "their",
    "there", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why", "will",
    "with", "you", "your",
];

/// The words of `text` a search uses (lower case, deduplicated, in order).
pub fn terms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let word: String = word.to_lowercase().chars().take(MAX_TERM_CHARS).collect();
        if STOPWORDS.contains(&word.as_str()) || out.contains(&word) {
            continue;
        }
        out.push(word);
        if out.len() == MAX_TERMS {
            break;
        }
    }
    out
}

/// An FTS5 `MATCH` expression: every term quoted (so none is an operator), OR-ed,
/// within the chunks of `bases` (ids the server made: `kb_` and letters or digits).
/// `None` when the text has no searchable word.
pub fn fts5(text: &str, bases: &[String]) -> Option<String> {
    let terms = terms(text);
    if terms.is_empty() || bases.is_empty() {
        return None;
    }
    let words: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    let within: Vec<String> = bases
        .iter()
        .map(|b| {
            b.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .map(|b| format!("knowledge_id : \"{b}\""))
        .collect();
    Some(format!(
        "({}) AND ({})",
        within.join(" OR "),
        words.join(" OR ")
    ))
}

/// A `websearch_to_tsquery` text: the terms joined by `or`.
pub fn websearch(text: &str) -> Option<String> {
    let terms = terms(text);
    (!terms.is_empty()).then(|| terms.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_quotes_never_reach_the_index() {
        let kb = vec!["kb_01abc".to_owned()];
        assert_eq!(
            fts5("What is \"the\" NEAR(refund* OR x) -policy?", &kb).as_deref(),
            Some(
                "(knowledge_id : \"kb_01abc\") AND (\"near\" OR \"refund\" OR \"x\" OR \"policy\")"
            )
        );
        assert_eq!(fts5("??? the a", &kb), None);
        let hostile = vec!["kb_\" OR x".to_owned()];
        assert!(!fts5("a b", &hostile).unwrap().contains("\" OR x"));
        assert_eq!(
            websearch("refund policy").as_deref(),
            Some("refund or policy")
        );
        let long = "w ".repeat(100) + &"z".repeat(500);
        assert!(terms(&long).len() <= MAX_TERMS);
        assert!(terms(&"q".repeat(500))[0].len() == MAX_TERM_CHARS);
    }
}
