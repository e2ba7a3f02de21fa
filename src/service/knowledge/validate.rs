//! The rules of knowledge bases and uploads, each broken rule a pointer.

use crate::error::{AppError, AppResult, FieldError};
use crate::runtime::providers::embeddings::Embedder;

/// Chunk size when none is given.
pub const DEFAULT_MAX_TOKENS: i32 = 400;
/// Overlap when none is given.
pub const DEFAULT_OVERLAP_TOKENS: i32 = 40;
/// Smallest and largest chunk.
const TOKENS: (i32, i32) = (32, 8192);
/// Longest name.
pub const MAX_NAME: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 2000;

/// Collects broken rules.
#[derive(Default)]
pub(super) struct Check(Vec<FieldError>);

impl Check {
    fn fail(&mut self, pointer: &str, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }

    pub fn not_null(&mut self, pointer: &str) {
        self.fail(pointer, "cannot be null");
    }

    pub fn name(&mut self, name: &str) {
        let n = name.trim().chars().count();
        if n == 0 || n > MAX_NAME || name.chars().any(char::is_control) {
            self.fail(
                "/name",
                format!("must be 1 to {MAX_NAME} characters without control characters"),
            );
        }
    }

    pub fn description(&mut self, d: Option<&str>) {
        if d.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            self.fail(
                "/description",
                format!("must be at most {MAX_DESCRIPTION} characters"),
            );
        }
    }

    pub fn chunking(&mut self, max: i32, overlap: i32) {
        if !(TOKENS.0..=TOKENS.1).contains(&max) {
            self.fail(
                "/chunking/max_tokens",
                format!("must be from {} to {}", TOKENS.0, TOKENS.1),
            );
        }
        if overlap < 0 || overlap > max / 2 {
            self.fail(
                "/chunking/overlap_tokens",
                "must be from 0 to half of max_tokens",
            );
        }
    }

    pub fn model(&mut self, embedder: &Embedder, model: &str) {
        if let Err(why) = embedder.check(model) {
            self.fail("/embedding_model", why);
        }
    }

    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(AppError::Validation {
            message: "the knowledge base is not valid".into(),
            errors: self.0,
        })
    }
}
