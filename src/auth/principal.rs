//! The authenticated caller that every service function acts for.

use super::scopes::Scope;
use super::tier::Tier;
use crate::error::{AppError, AppResult};

/// Who is calling, for which organisation, with which scopes.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The organisation every query is confined to.
    pub org_id: String,
    /// The API key that authenticated the call.
    pub key_id: String,
    /// Granted scopes (`*` grants all).
    pub scopes: Vec<String>,
    /// An `os_test_` key: runs use the mock provider.
    pub test_mode: bool,
    /// The organisation's plan.
    pub tier: Tier,
}

impl Principal {
    /// Whether the principal holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.iter().any(|s| s == "*" || s == scope.as_str())
    }

    /// Fails with `insufficient_scope` unless the principal holds `scope`.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(AppError::InsufficientScope(scope.as_str().into()))
        }
    }

    /// Whether the principal may grant `scopes` to a new key (no escalation).
    pub fn can_grant(&self, scopes: &[String]) -> bool {
        self.scopes.iter().any(|s| s == "*") || scopes.iter().all(|s| self.scopes.contains(s))
    }
}
