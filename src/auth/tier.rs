//! Plan tiers. Every principal carries its organisation's; they sit here, below the
//! service layer, because the authenticator builds principals (`service::orgs`
//! re-exports the type).

use crate::config::{RateLimitsConfig, TierLimit};
use crate::error::{AppError, AppResult};

/// A plan tier; it sets rate limits and how many agents an organisation may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// 100 requests/min in bursts of 20 (by default; `rate_limits.free`), 3 agents.
    Free,
    /// 1,000 requests/min in bursts of 100 (by default), 25 agents.
    Pro,
    /// 10,000 requests/min in bursts of 1,000 (by default), unlimited agents.
    Enterprise,
}

impl Tier {
    /// Parses `free`, `pro` or `enterprise`.
    pub fn parse(s: &str) -> AppResult<Self> {
        match s {
            "free" => Ok(Self::Free),
            "pro" => Ok(Self::Pro),
            "enterprise" => Ok(Self::Enterprise),
            other => Err(AppError::invalid(
                "/tier",
                format!("unknown tier `{other}`; use free, pro or enterprise"),
            )),
        }
    }

    /// The tier's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }

    /// The tier's rate limit in `config`.
    pub fn rate_limit(self, config: &RateLimitsConfig) -> TierLimit {
        match self {
            Self::Free => config.free,
            Self::Pro => config.pro,
            Self::Enterprise => config.enterprise,
        }
    }

    /// How many agents the tier allows (`None`: unlimited).
    pub fn agent_limit(self) -> Option<u64> {
        match self {
            Self::Free => Some(3),
            Self::Pro => Some(25),
            Self::Enterprise => None,
        }
    }
}
