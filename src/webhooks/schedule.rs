//! When a delivery's next attempt is due: the first attempt at once, then after each
//! failed one the next wait of `webhooks.schedule`, varied by ±`jitter` at random; past
//! the last wait the delivery has failed. A receiver that answers 429 or 503 with
//! `Retry-After` (seconds or an HTTP date) is asked again after that long instead
//! (capped by `max_retry_after`), still within the same schedule's count of attempts.

use crate::config::WebhooksConfig;
use chrono::{DateTime, Utc};
use rand::Rng;
use std::time::Duration;

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// The schedule is spent: the delivery has failed.
    GiveUp,
}

/// The next step after failed attempt number `attempt` (1 for the first), made at `now`.
/// `retry_after` is what the receiver asked for (only honoured on 429 and 503; the
/// caller passes `None` otherwise).
pub fn after_failure(
    config: &WebhooksConfig,
    attempt: u32,
    now: DateTime<Utc>,
    retry_after: Option<Duration>,
) -> Next {
    let index = attempt.saturating_sub(1) as usize;
    let Some(wait) = config.schedule.get(index).copied() else {
        return Next::GiveUp;
    };
    let wait = match retry_after {
        // The receiver's word, within the operator's cap; never negative (a date in the
        // past means now).
        Some(asked) => asked.min(config.max_retry_after),
        None => jittered(wait, config.jitter),
    };
    let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    Next::RetryAt(
        now.checked_add_signed(wait)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

/// `wait` varied uniformly within ±`jitter` (a fraction), so receivers that failed
/// together are not all retried at the same instant.
pub fn jittered(wait: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 || wait.is_zero() {
        return wait;
    }
    let factor = 1.0 + rand::rng().random_range(-jitter..=jitter);
    wait.mul_f64(factor.max(0.0))
}

/// The wait a `Retry-After` header value asks for at `now`: delay-seconds or an HTTP
/// date (a date in the past asks for no wait). `None` when it is neither.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) is RFC 2822 with the zone `GMT`.
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(jitter: f64) -> WebhooksConfig {
        WebhooksConfig {
            schedule: vec![
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(1800),
            ],
            jitter,
            max_retry_after: Duration::from_secs(600),
            ..WebhooksConfig::default()
        }
    }

    fn at(n: Next) -> DateTime<Utc> {
        match n {
            Next::RetryAt(t) => t,
            Next::GiveUp => panic!("gave up"),
        }
    }

    #[test]
    fn each_failure_waits_the_next_step_then_gives_up() {
        let c = config(0.0);
        let now = Utc::now();
        assert_eq!(
            at(after_failure(&c, 1, now, None)) - now,
            chrono::Duration::seconds(5)
        );
        assert_eq!(
            at(after_failure(&c, 2, now, None)) - now,
            chrono::Duration::seconds(300)
        );
        assert_eq!(
            at(after_failure(&c, 3, now, None)) - now,
            chrono::Duration::seconds(1800)
        );
        assert_eq!(after_failure(&c, 4, now, None), Next::GiveUp);
        assert_eq!(
            after_failure(&c, 4, now, Some(Duration::from_secs(1))),
            Next::GiveUp
        );
    }

    #[test]
    fn the_default_schedule_is_the_documented_one() {
        let c = WebhooksConfig::default();
        let secs: Vec<u64> = c.schedule.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [5, 300, 1800, 7200, 18000, 36000, 36000]);
        // Eight attempts in all: the first, then one per wait.
        assert!(matches!(
            after_failure(&c, 7, Utc::now(), None),
            Next::RetryAt(_)
        ));
        assert_eq!(after_failure(&c, 8, Utc::now(), None), Next::GiveUp);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let c = config(0.2);
        let now = Utc::now();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let ms = (at(after_failure(&c, 2, now, None)) - now).num_milliseconds();
            assert!((240_000..=360_000).contains(&ms), "{ms}");
            seen.insert(ms);
        }
        assert!(seen.len() > 10, "the waits do not vary");
    }

    #[test]
    fn retry_after_replaces_the_wait_within_the_cap() {
        let c = config(0.2);
        let now = Utc::now();
        let t = at(after_failure(&c, 1, now, Some(Duration::from_secs(1))));
        assert_eq!(t - now, chrono::Duration::seconds(1));
        let t = at(after_failure(&c, 1, now, Some(Duration::from_secs(86_400))));
        assert_eq!(t - now, chrono::Duration::seconds(600));
        let t = at(after_failure(&c, 1, now, Some(Duration::ZERO)));
        assert_eq!(t, now);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date in the past: no wait.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
