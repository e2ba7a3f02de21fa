//! The in-process limiter: `governor`'s keyed GCRA, one keyed limiter per distinct quota
//! (a tier, or an organisation's override), keyed by organisation. An organisation whose
//! quota changes moves to the limiter of its new quota, with a full budget there.

use super::{Decision, Quota};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::RateLimiter;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

type Keyed =
    RateLimiter<String, DashMapStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Budgets kept in this process.
#[derive(Default)]
pub(super) struct Local {
    by_quota: RwLock<HashMap<Quota, Arc<Keyed>>>,
}

impl Local {
    /// Spends `cost` (1 ..= the quota's burst) of `key`'s budget under `quota`.
    pub(super) fn check(&self, key: &str, quota: Quota, cost: u32) -> Decision {
        let limiter = self.limiter(quota);
        let interval = quota.interval();
        let n = NonZeroU32::new(cost).unwrap_or(NonZeroU32::MIN);
        match limiter.check_key_n(&key.to_owned(), n) {
            Ok(Ok(state)) => {
                let remaining = state.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    quota,
                    remaining,
                    reset: interval * quota.burst.saturating_sub(remaining),
                    retry_after: std::time::Duration::ZERO,
                }
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                // What fits now: `cost` fits after `wait`, one more every interval.
                let fits = (interval * cost).saturating_sub(wait).as_nanos() / interval.as_nanos();
                Decision {
                    allowed: false,
                    quota,
                    remaining: u32::try_from(fits).unwrap_or(0),
                    // The budget is full `burst - cost` intervals after `cost` fits again.
                    reset: wait + interval * quota.burst.saturating_sub(cost),
                    retry_after: wait,
                }
            }
            // `Limiter::check` caps the cost at the burst, so this cannot happen; refuse
            // for one window rather than panic.
            Err(_) => Decision {
                allowed: false,
                quota,
                remaining: 0,
                reset: interval * quota.burst,
                retry_after: interval * quota.burst,
            },
        }
    }

    /// The keyed limiter of `quota`, made on first use.
    fn limiter(&self, quota: Quota) -> Arc<Keyed> {
        if let Some(limiter) = read(&self.by_quota).get(&quota) {
            return limiter.clone();
        }
        let mut all = self.by_quota.write().unwrap_or_else(|e| e.into_inner());
        all.entry(quota)
            .or_insert_with(|| {
                Arc::new(
                    RateLimiter::dashmap(governor_quota(quota))
                        .with_middleware::<StateInformationMiddleware>(),
                )
            })
            .clone()
    }

    /// Forgets the keys whose budget is full again.
    pub(super) fn sweep(&self) {
        for limiter in read(&self.by_quota).values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// `burst` at once, one more every `interval`.
fn governor_quota(quota: Quota) -> governor::Quota {
    let burst = NonZeroU32::new(quota.burst).unwrap_or(NonZeroU32::MIN);
    // `interval` is at least 600 µs (at most 100,000,000 a minute), never zero.
    governor::Quota::with_period(quota.interval())
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst)
}
