//! Authentication and authorisation over HTTP: 401s with `WWW-Authenticate`, revoked
//! keys, scopes per route, tenancy (another organisation's resources are 404 / null),
//! and API keys (secret shown once, test keys, no escalation).

mod api_keys;
mod credentials;
mod scopes;
mod tenancy;

use crate::common::calls::{expect_header as header, Reply};
use crate::common::*;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::Value;

/// A REST 401: problem+json, `unauthenticated`, a Bearer challenge, a request id.
fn assert_unauthenticated(r: &Reply) {
    assert_eq!(r.status, 401, "body: {}", r.body);
    assert!(
        header(r, CONTENT_TYPE.as_str()).starts_with("application/problem+json"),
        "content type {:?}",
        r.headers.get(CONTENT_TYPE)
    );
    assert!(
        header(r, WWW_AUTHENTICATE.as_str()).starts_with("Bearer"),
        "challenge: {:?}",
        r.headers.get(WWW_AUTHENTICATE)
    );
    assert_eq!(r.body["code"], "unauthenticated", "{}", r.body);
    assert_eq!(r.body["status"], 401);
    let id = header(r, "x-request-id");
    assert_eq!(r.body["request_id"], id);
}

fn assert_insufficient_scope(r: &Reply, scope: &str) {
    assert_eq!(r.status, 403, "body: {}", r.body);
    assert!(header(r, CONTENT_TYPE.as_str()).starts_with("application/problem+json"));
    assert_eq!(r.body["code"], "insufficient_scope", "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains(scope),
        "detail should name {scope}: {}",
        r.body
    );
}

fn a_key_that_does_not_exist() -> String {
    format!("os_live_{}", "Zq7".repeat(11))
}

/// One scope-protected REST call.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    scope: &'static str,
    success: u16,
}

/// The organisation's agents and keys (without the `last_used_at` that use changes).
async fn org_state(admin: &Api) -> (Value, Value) {
    let agents = admin.get("/v1/agents?limit=100", 200).await["data"].clone();
    let mut keys = admin.get("/v1/api-keys?limit=100", 200).await["data"].clone();
    for k in keys.as_array_mut().unwrap() {
        k.as_object_mut().unwrap().remove("last_used_at");
    }
    (agents, keys)
}
