//! The authenticated caller that every service function acts for.

use super::scopes::Scope;
use super::tier::Tier;
use crate::config::{RateLimitsConfig, TierLimit};
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
    /// The organisation's own rate limit, where its row overrides the tier's.
    pub rate_override: RateOverride,
}

/// An organisation's rate limit where it differs from its tier's (the
/// `requests_per_minute` and `burst_per_second` columns; unset: the tier's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateOverride {
    /// Sustained requests per minute.
    pub per_minute: Option<u32>,
    /// Requests at once.
    pub burst: Option<u32>,
}

impl RateOverride {
    /// From the row's columns; a value below 1 is no override (the tier's applies).
    pub fn from_columns(per_minute: Option<i32>, burst: Option<i32>) -> Self {
        let positive = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0);
        Self {
            per_minute: positive(per_minute),
            burst: positive(burst),
        }
    }
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

    /// The organisation's rate limit: its tier's in `config`, with its own override.
    pub fn rate_limit(&self, config: &RateLimitsConfig) -> TierLimit {
        let tier = self.tier.rate_limit(config);
        TierLimit {
            per_minute: self.rate_override.per_minute.unwrap_or(tier.per_minute),
            burst: self.rate_override.burst.unwrap_or(tier.burst),
        }
    }

    /// Whether the principal may grant `scopes` to a new key (no escalation).
    pub fn can_grant(&self, scopes: &[String]) -> bool {
        self.scopes.iter().any(|s| s == "*") || scopes.iter().all(|s| self.scopes.contains(s))
    }
}
