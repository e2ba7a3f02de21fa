//! The scopes an API key or token can carry.

use crate::error::{AppError, FieldError};

/// Every scope, as written in API.md.
pub const ALL: &[&str] = &[
    "agents:read",
    "agents:write",
    "runs:read",
    "runs:write",
    "knowledge:read",
    "knowledge:write",
    "workflows:read",
    "workflows:write",
    "workflows:execute",
    "webhooks:read",
    "webhooks:write",
    "gates:write",
    "keys:write",
    "*",
];

/// A permission an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read agents and their versions.
    AgentsRead,
    /// Create, change and delete agents.
    AgentsWrite,
    /// Create, list and revoke API keys.
    KeysWrite,
    /// Read runs, their traces and events.
    RunsRead,
    /// Trigger and cancel runs.
    RunsWrite,
    /// Read webhook endpoints and their deliveries.
    WebhooksRead,
    /// Create, change, delete and test webhook endpoints; retry deliveries.
    WebhooksWrite,
    /// Approve and reject approval gates.
    GatesWrite,
    /// Read knowledge bases and their documents, and search them.
    KnowledgeRead,
    /// Create, change and delete knowledge bases; upload, re-index and delete documents.
    KnowledgeWrite,
}

impl Scope {
    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AgentsRead => "agents:read",
            Self::AgentsWrite => "agents:write",
            Self::KeysWrite => "keys:write",
            Self::RunsRead => "runs:read",
            Self::RunsWrite => "runs:write",
            Self::WebhooksRead => "webhooks:read",
            Self::WebhooksWrite => "webhooks:write",
            Self::GatesWrite => "gates:write",
            Self::KnowledgeRead => "knowledge:read",
            Self::KnowledgeWrite => "knowledge:write",
        }
    }
}

/// Checks a requested scope list: known names, no duplicates, at least one.
pub fn validate(scopes: &[String], pointer: &str) -> Result<Vec<String>, AppError> {
    let mut errors = Vec::new();
    if scopes.is_empty() {
        errors.push(FieldError::new(pointer, "at least one scope is required"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, s) in scopes.iter().enumerate() {
        if !ALL.contains(&s.as_str()) {
            errors.push(FieldError::new(
                format!("{pointer}/{i}"),
                format!("unknown scope `{s}`; known scopes: {}", ALL.join(", ")),
            ));
        } else if !out.contains(s) {
            out.push(s.clone());
        }
    }
    AppError::from_field_errors(errors)?;
    Ok(out)
}
