//! The rate-limit layer: after auth, every `/v1` and `/graphql` request spends one
//! request of its organisation's budget (`ratelimit`) before it runs, and its response
//! carries the budget left:
//!
//! - `RateLimit-Policy: "default";q=<burst>;w=<seconds an empty budget takes to fill>`
//!   and `RateLimit: "default";r=<remaining>;t=<seconds until full>` (IETF httpapi
//!   ratelimit-headers, draft 11, structured fields). GCRA is a bucket of `burst`
//!   requests refilled continuously, so the policy is the bucket: `q` requests per `w`
//!   seconds is the sustained rate, and `q` is also how many may come at once.
//! - `X-RateLimit-Limit` (= `q`), `X-RateLimit-Remaining` (= `r`), `X-RateLimit-Reset`
//!   (= `t`, in seconds from now).
//!
//! Over the limit: 429 with `Retry-After` (whole seconds, rounded up; `t` then says the
//! same), in the shape the routes' clients expect (problem+json `rate_limited`, or a
//! GraphQL error `RATE_LIMITED`).
//!
//! A request may cost more than one: the layer puts a [`Meter`] in the request's
//! extensions, through which the handler charges the rest (a GraphQL document priced by
//! its complexity, the operations of a batch). When such a charge is refused, the
//! response becomes a 429 here, whatever the handler answered (a stream whose head has
//! gone out already, graphql-sse, reports the refusal as its one error instead).
//! Requests without a principal (refused by auth) spend nothing and report no budget.

use super::auth::Refusal;
use crate::auth::Principal;
use crate::config::RateLimitsConfig;
use crate::error::{AppError, AppResult};
use crate::ratelimit::{Decision, Limiter, Quota};
use axum::extract::{Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::header::{HeaderName, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// The limiter and the numbers it applies; what the layer and the WebSocket transport
/// (which charges per message) share.
#[derive(Clone)]
pub struct RateLimits {
    limiter: Arc<Limiter>,
    config: Arc<RateLimitsConfig>,
}

impl RateLimits {
    /// `config`'s limits enforced by `limiter`.
    pub fn new(limiter: Arc<Limiter>, config: &RateLimitsConfig) -> Self {
        Self {
            limiter,
            config: Arc::new(config.clone()),
        }
    }

    /// The limiter (its state: shared or not, outages).
    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.limiter
    }

    /// The principal's organisation's budget.
    pub fn quota(&self, principal: &Principal) -> Quota {
        principal.rate_limit(&self.config).into()
    }

    /// Spends `cost` requests of the principal's organisation's budget; `rate_limited`
    /// when it has not got them. Always allowed when rate limits are off.
    pub async fn charge(&self, principal: &Principal, cost: u32) -> AppResult<()> {
        if !self.config.enabled {
            return Ok(());
        }
        let decision = self
            .limiter
            .check(&principal.org_id, self.quota(principal), cost)
            .await;
        refusal(&decision)
    }
}

/// The layer's state: the limits, and how a refusal looks on the routes it guards.
#[derive(Clone)]
pub struct RateGate {
    limits: RateLimits,
    refuse: Refusal,
    /// Whether the routes' requests are GraphQL documents, priced by their complexity.
    priced: bool,
}

impl RateGate {
    /// A gate refusing with problem+json, charging one request per request.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            refuse: |_, err| err.into_response(),
            priced: false,
        }
    }

    /// The same gate, refusing in another shape (e.g. a GraphQL error body).
    pub fn refusing_with(self, refuse: Refusal) -> Self {
        Self { refuse, ..self }
    }

    /// The same gate for GraphQL routes: a document costs its complexity over
    /// `graphql_cost_unit` (charged through the [`Meter`] once the document is measured).
    pub fn pricing_documents(self) -> Self {
        Self {
            priced: true,
            ..self
        }
    }

    /// `router` behind this gate (unchanged when rate limits are off). Apply it before
    /// the auth layer (so that it runs after it): the budget is the principal's.
    pub fn guard<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        if self.limits.config.enabled {
            router
                .route_layer(super::shared::SharedLayer)
                .route_layer(from_fn_with_state(self, limit_rate))
        } else {
            router
        }
    }
}

/// Charges the request's first unit, refuses it over the limit, and writes the budget's
/// headers on whatever the handler answered.
pub async fn limit_rate(State(gate): State<RateGate>, mut req: Request, next: Next) -> Response {
    // Routes behind this layer are behind the auth layer too; without a principal there
    // is no budget to charge.
    let Some(principal) = req.extensions().get::<Arc<Principal>>().cloned() else {
        return next.run(req).await;
    };
    let quota = gate.limits.quota(&principal);
    let decision = gate.limits.limiter.check(&principal.org_id, quota, 1).await;
    if !decision.allowed {
        let secs = decision.retry_after_secs();
        let mut res = (gate.refuse)(&req, AppError::RateLimited(secs));
        write_headers(res.headers_mut(), &decision);
        return res;
    }
    let unit = gate.priced.then_some(gate.limits.config.graphql_cost_unit);
    let meter = Meter(Arc::new(MeterInner {
        limits: gate.limits,
        principal,
        quota,
        unit,
        prepaid: AtomicU32::new(1),
        state: Mutex::new(MeterState {
            last: decision,
            refused: None,
        }),
    }));
    req.extensions_mut().insert(meter.clone());
    let mut res = next.run(req).await;
    let state = meter.state();
    if let Some(refused) = state.refused {
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        write_headers(res.headers_mut(), &refused);
    } else {
        write_headers(res.headers_mut(), &state.last);
    }
    res
}

/// One request's account with its organisation's budget: what the layer charged up
/// front, and what the handler charges on top. Cheap to clone (it is also handed to the
/// GraphQL request as data).
#[derive(Clone)]
pub struct Meter(Arc<MeterInner>);

struct MeterInner {
    limits: RateLimits,
    /// Whose budget it is (its organisation's).
    principal: Arc<Principal>,
    quota: Quota,
    /// `graphql_cost_unit` where documents are priced by complexity.
    unit: Option<u32>,
    /// Units charged by the layer and not yet claimed by a charge.
    prepaid: AtomicU32,
    state: Mutex<MeterState>,
}

#[derive(Clone, Copy)]
struct MeterState {
    /// The latest decision (the headers show it).
    last: Decision,
    /// The first refused charge, if any.
    refused: Option<Decision>,
}

impl Meter {
    /// Charges `units` requests for what this request carries; units paid ahead (the
    /// one the layer charged up front, or a [`Meter::prepay`]) pay for them first. At
    /// most the burst is charged (more could never fit). `rate_limited` when the budget
    /// has not got them; the response is then a 429 whatever the handler answers.
    pub async fn charge(&self, units: u32) -> AppResult<()> {
        let units = units.clamp(1, self.0.quota.burst);
        let taken = self
            .0
            .prepaid
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p - p.min(units))
            })
            .map_or(0, |before| before.min(units));
        self.spend(units - taken).await
    }

    /// Pays ahead for `units` requests (a GraphQL batch: one per request in it, before
    /// any runs), so a batch over the budget is refused whole; each request's own
    /// charge then draws on what was paid.
    pub async fn prepay(&self, units: u32) -> AppResult<()> {
        let units = units.clamp(1, self.0.quota.burst);
        let have = self.0.prepaid.load(Ordering::Relaxed);
        let extra = units.saturating_sub(have);
        self.spend(extra).await?;
        self.0.prepaid.fetch_add(extra, Ordering::Relaxed);
        Ok(())
    }

    async fn spend(&self, extra: u32) -> AppResult<()> {
        if extra == 0 {
            return Ok(());
        }
        let decision = self
            .0
            .limits
            .limiter
            .check(&self.0.principal.org_id, self.0.quota, extra)
            .await;
        {
            let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
            state.last = decision;
            if !decision.allowed && state.refused.is_none() {
                state.refused = Some(decision);
            }
        }
        refusal(&decision)
    }

    /// Charges a GraphQL document of this complexity: complexity over
    /// `graphql_cost_unit`, at least 1. Nothing more where requests are not priced by
    /// their documents (REST's stored operations cost one request each).
    pub async fn charge_document(&self, complexity: u64) -> AppResult<()> {
        let Some(unit) = self.0.unit else {
            return Ok(());
        };
        let units = complexity / u64::from(unit.max(1));
        self.charge(u32::try_from(units).unwrap_or(u32::MAX).max(1))
            .await
    }

    /// Whether documents are priced by their complexity here (GraphQL routes).
    pub fn prices_documents(&self) -> bool {
        self.0.unit.is_some()
    }

    fn state(&self) -> MeterState {
        *self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn refusal(decision: &Decision) -> AppResult<()> {
    if decision.allowed {
        Ok(())
    } else {
        Err(AppError::RateLimited(decision.retry_after_secs()))
    }
}

static POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The budget's headers (and `Retry-After` on a refusal).
fn write_headers(headers: &mut HeaderMap, d: &Decision) {
    let limit = d.quota.burst;
    // Refused: until the request may be retried (the draft: `Retry-After` must not
    // name a time before the end of `t`). Allowed: until the budget is full again.
    let t = if d.allowed {
        d.reset_secs()
    } else {
        d.retry_after_secs()
    };
    let policy = format!("\"default\";q={limit};w={}", d.quota.window_secs());
    let state = format!("\"default\";r={};t={t}", d.remaining);
    headers.reserve(6);
    for (name, value) in [(&POLICY, policy), (&RATELIMIT, state)] {
        // From the `String` itself, without a copy.
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.insert(name.clone(), v);
        }
    }
    headers.insert(LIMIT.clone(), HeaderValue::from(limit));
    headers.insert(REMAINING.clone(), HeaderValue::from(d.remaining));
    headers.insert(RESET.clone(), HeaderValue::from(t));
    if !d.allowed {
        headers.insert(RETRY_AFTER, HeaderValue::from(d.retry_after_secs()));
    }
}
