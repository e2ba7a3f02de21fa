//! The server's one clock. A leaf module: every layer takes the time from here.

use chrono::{DateTime, SubsecRound, Utc};

/// The current time at millisecond precision: what JSON shows is exactly what is
/// stored, so timestamps in cursors compare equal to the database's.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}
