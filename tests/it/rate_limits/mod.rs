//! Per-organisation rate limits (issue 10): the headers on every kind of response, the
//! 429s (problem+json and GraphQL), what GraphQL documents and WebSocket messages cost,
//! overrides from the organisations table, and the budget that instances share through
//! Redis (and keep, each on its own, when Redis goes away).
//!
//! Every server here runs with the real tier defaults (the rest of the suite runs with
//! roomy ones). GCRA refills continuously (Free: one request every 0.6 s), so tests that
//! count exactly either send their requests at once or use an organisation whose row
//! sets a slow refill.

mod budget;
mod graphql;
mod headers;
mod redis;
mod websocket;

use crate::common::calls::{call, expect_header, Reply};
use crate::common::*;
use orchstack::config::RateLimitsConfig;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// A server with the default rate limits (its own organisation is Enterprise).
async fn start_real() -> TestServer {
    TestServer::start_with(|c| c.rate_limits = RateLimitsConfig::default()).await
}

/// A new organisation of `tier` whose row overrides its rate limit (before any request,
/// so no cached principal has the tier's), and a client with its `*` key.
async fn org_with(server: &TestServer, tier: &str, per_minute: i32, burst: i32) -> Api {
    let (org, key) = server.new_org(tier).await;
    set_org(server, &org, None, Some((per_minute, burst))).await;
    server.api_with(Some(&key))
}

/// Updates an organisation's row as an operator would: its tier, and its override
/// (`requests_per_minute`, `burst_per_second`).
async fn set_org(server: &TestServer, org: &str, tier: Option<&str>, limit: Option<(i32, i32)>) {
    use entity::organizations::{Column, Entity};
    let mut update = Entity::update_many().filter(Column::Id.eq(org));
    if let Some(tier) = tier {
        update = update.col_expr(Column::Tier, Expr::value(tier));
    }
    if let Some((per_minute, burst)) = limit {
        update = update
            .col_expr(Column::RequestsPerMinute, Expr::value(per_minute))
            .col_expr(Column::BurstPerSecond, Expr::value(burst));
    }
    update
        .exec(&server.state.db)
        .await
        .expect("update the organisation");
}

/// `GET path` with the client's key, whatever the status.
async fn get(api: &Api, path: &str) -> Reply {
    call(api.request(reqwest::Method::GET, path)).await
}

/// `n` requests sent at once; their replies in order.
async fn at_once(api: &Api, path: &str, n: usize) -> Vec<Reply> {
    futures::future::join_all((0..n).map(|_| get(api, path))).await
}

/// The budget a response reports, from its five headers (each must be there).
#[derive(Debug, PartialEq, Eq)]
struct Budget {
    /// `RateLimit-Policy` `q`.
    quota: u64,
    /// `RateLimit-Policy` `w`.
    window: u64,
    /// `RateLimit` `r`.
    remaining: u64,
    /// `RateLimit` `t`.
    reset: u64,
}

/// Reads and cross-checks the headers: the IETF pair names the policy "default", and
/// the `X-RateLimit-*` trio says the same numbers.
fn budget(r: &Reply) -> Budget {
    let policy = expect_header(r, "ratelimit-policy");
    let state = expect_header(r, "ratelimit");
    let b = Budget {
        quota: param(policy, "q"),
        window: param(policy, "w"),
        remaining: param(state, "r"),
        reset: param(state, "t"),
    };
    assert!(
        policy.starts_with("\"default\";") && state.starts_with("\"default\";"),
        "structured-field items named \"default\": {policy} / {state}"
    );
    let number = |name: &str| -> u64 {
        expect_header(r, name)
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number"))
    };
    assert_eq!(number("x-ratelimit-limit"), b.quota, "X-RateLimit-Limit");
    assert_eq!(number("x-ratelimit-remaining"), b.remaining);
    assert_eq!(number("x-ratelimit-reset"), b.reset, "X-RateLimit-Reset");
    b
}

/// The integer parameter `name` of a one-item structured-field list
/// (`"default";q=20;w=12`).
fn param(field: &str, name: &str) -> u64 {
    field
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no integer `{name}` in {field:?}"))
}

/// `Retry-After` in seconds.
fn retry_after(r: &Reply) -> u64 {
    expect_header(r, "retry-after")
        .parse()
        .expect("Retry-After in whole seconds")
}

/// The statuses of `replies`.
fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}
