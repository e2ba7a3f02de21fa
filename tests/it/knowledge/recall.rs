//! Retrieval-quality metric.

use super::corpus::Question;

/// Recall@k: the fraction of `questions` whose `answer_doc` appears among
/// the first `k` names of the matching entry of `results` (`results[i]` is
/// the ranked list of document names retrieved for `questions[i]`).
///
/// A question with no entry in `results` (shorter slice) counts as a miss;
/// extra entries in `results` are ignored. Returns 0.0 when there are no
/// questions.
pub fn recall_at_k(results: &[Vec<String>], questions: &[Question], k: usize) -> f64 {
    if questions.is_empty() {
        return 0.0;
    }
    let hits = questions
        .iter()
        .enumerate()
        .filter(|(i, q)| {
            results
                .get(*i)
                .is_some_and(|ranked| ranked.iter().take(k).any(|name| name == q.answer_doc))
        })
        .count();
    hits as f64 / questions.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(answer_doc: &'static str) -> Question {
        Question {
            text: "?",
            answer_doc,
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn counts_hits_within_k() {
        let qs = [q("a"), q("b"), q("c"), q("d")];
        let results = vec![names(&["a", "x"]), names(&["x", "y", "b"]), names(&["x"])];
        assert_eq!(recall_at_k(&results, &qs, 1), 0.25);
        assert_eq!(recall_at_k(&results, &qs, 3), 0.5);
        assert_eq!(recall_at_k(&results, &qs, 0), 0.0);
        assert_eq!(recall_at_k(&[], &[], 5), 0.0);
    }
}
