//! The error answers of each route (RFC 9457 problem+json) and the headers every answer
//! carries. Each route lists only the errors it can give; each (status, codes) pair
//! becomes one `components.responses` entry the operations `$ref`.

use super::schemas::pascal;
use crate::error::status_for_code;
use crate::rest::table::Shape;
use crate::rest::CompiledRoute;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Errors the service's rules give on some routes only (the generator cannot see them
/// in the route table): operation → codes. Every other error follows from the route's
/// shape (see [`codes`]).
const RULES: &[(&str, &[&str])] = &[
    // The tier's agent count (service::agents::create).
    ("CreateAgent", &["plan_limit_exceeded"]),
    // A concurrent change of the same agent (service::agents::update).
    ("UpdateAgent", &["conflict"]),
    // Granting scopes or a mode the creator lacks (service::api_keys::create).
    ("CreateApiKey", &["forbidden"]),
    // Revoking a key with scopes the caller lacks (service::api_keys::revoke).
    ("RevokeApiKey", &["forbidden"]),
    // `multitask: reject` on a busy conversation; the run journal out of reach.
    ("RunAgent", &["conflict", "unavailable"]),
    // The run already ended (service::runs::cancel).
    ("CancelRun", &["conflict"]),
    // The endpoint is disabled (service::webhooks::deliveries::send_test).
    ("TestWebhookEndpoint", &["conflict"]),
    // The delivery is being sent, or its endpoint is disabled (deliveries::retry).
    ("RetryWebhookDelivery", &["conflict"]),
    // The gate was already resolved (runtime::gates::resolve).
    ("ApproveGate", &["gate_not_pending"]),
    ("RejectGate", &["gate_not_pending"]),
];

/// The operations [`RULES`] names (checked against the route table by the tests).
pub fn rule_operations() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|(op, _)| *op)
}

/// The error codes `route` can answer with, by HTTP status.
pub fn codes(route: &CompiledRoute) -> BTreeMap<u16, Vec<&'static str>> {
    let mut out: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    let mut add = |code: &'static str| {
        let list = out.entry(status_for_code(code).as_u16()).or_default();
        if !list.contains(&code) {
            list.push(code);
        }
    };
    let streams = route.def.shape == Shape::Stream || route.stream_op.is_some();
    // Query parameters (and `Last-Event-ID`) are checked on every route.
    add("bad_request");
    if route.def.shape != Shape::Stream {
        add("response_too_large");
    }
    add("unauthenticated");
    add("insufficient_scope");
    // Every call spends its organisation's budget (the rate-limit layer).
    add("rate_limited");
    if route.def.path.contains('{') {
        add("not_found");
    }
    if route.op.variable("input").is_some() {
        add("validation_failed");
        add("payload_too_large");
        add("unsupported_media_type");
    }
    if streams {
        add("too_many_streams");
        // Streams end (or are refused) while the server shuts down.
        add("unavailable");
    }
    for (_, rule) in RULES.iter().filter(|(op, _)| *op == route.def.operation) {
        rule.iter().copied().for_each(&mut add);
    }
    if is_write(route) {
        // `Idempotency-Key` (http::idempotency): malformed (400), in flight, reused.
        add("idempotency_key_in_use");
        add("idempotency_key_reused");
    }
    add("internal");
    out
}

/// Whether `route` reads `Idempotency-Key` (POST, PATCH and DELETE do).
pub fn is_write(route: &CompiledRoute) -> bool {
    matches!(route.def.method, "POST" | "PATCH" | "DELETE")
}

/// What each code means, for the responses' descriptions.
fn meaning(code: &str) -> &'static str {
    match code {
        "bad_request" => "the query string, body or a header is malformed",
        "response_too_large" => "the answer would be larger than the server sends; ask for fewer fields or a smaller page",
        "unauthenticated" => "no credentials, or unknown, expired or revoked ones",
        "insufficient_scope" => "the credentials lack the scope the operation needs",
        "forbidden" => "the caller may not do this at all",
        "plan_limit_exceeded" => "the organisation's plan does not allow more; `limit`, `tier` and `resource` say which limit",
        "not_found" => "no such resource in the caller's organisation",
        "conflict" => "the request conflicts with the resource's current state",
        "validation_failed" => "the body breaks a rule; `errors` points at each problem",
        "payload_too_large" => "the body is larger than the server's limit",
        "unsupported_media_type" => "the body is not sent as application/json",
        "rate_limited" => "the organisation's rate limit is spent; retry after `Retry-After` seconds",
        "too_many_streams" => "the key or organisation already holds as many open streams as it may",
        "unavailable" => "the server cannot serve this now (shutting down, or its storage is out of reach); retry shortly",
        "idempotency_key_in_use" => "the first request with this `Idempotency-Key` is still in flight; retry shortly for its answer",
        "idempotency_key_reused" => "this `Idempotency-Key` was used for a different request (method, route or body)",
        "method_not_allowed" => "the path exists, but not for this method; `Allow` lists its methods",
        "batch_too_large" => "the batch holds more operations than a batch may (100)",
        "batch_rolled_back" => "an operation of an atomic batch failed (`failed_operation`; its answer is the last of `results`), so none of the batch's changes were kept",
        _ => "an unexpected error, logged under the request id",
    }
}

/// The `components.responses` entry for `status` answered with any of `codes`:
/// `(name, response)`.
pub fn response(status: u16, codes: &[&str]) -> (String, Value) {
    let name = codes
        .iter()
        .map(|c| pascal(c))
        .collect::<Vec<_>>()
        .join("Or");
    let description = codes
        .iter()
        .map(|c| format!("`{c}`: {}", meaning(c)))
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers = json!({ "X-Request-Id": { "$ref": "#/components/headers/X-Request-Id" } });
    if codes.contains(&"unauthenticated") || codes.contains(&"insufficient_scope") {
        headers["WWW-Authenticate"] = json!({ "$ref": "#/components/headers/WWW-Authenticate" });
    }
    if codes.contains(&"rate_limited") {
        rate_limit_headers(&mut headers);
        headers["Retry-After"] = json!({ "$ref": "#/components/headers/Retry-After" });
    }
    if codes.contains(&"method_not_allowed") {
        headers["Allow"] =
            json!({ "description": "The methods the path has.", "schema": { "type": "string" } });
    }
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut example = json!({
        "type": "about:blank",
        "title": reason,
        "status": status,
        "detail": meaning(codes[0]),
        "code": codes[0],
        "request_id": "req_01jd8x3k6m9q2w5e7r4t1y0u3p",
    });
    if codes[0] == "validation_failed" {
        example["detail"] = json!("/input: must not be empty");
        example["errors"] = json!([{ "pointer": "/input", "detail": "must not be empty" }]);
    }
    let response = json!({
        "description": format!("{reason}: {description}."),
        "headers": headers,
        "content": { super::PROBLEM_MEDIA: {
            "schema": { "allOf": [
                { "$ref": "#/components/schemas/Problem" },
                { "type": "object", "properties": { "code": { "enum": codes } } },
            ] },
            "example": example,
        } },
    });
    (name, response)
}

/// The error answer no operation lists: a method a path does not have (405).
pub fn method_not_allowed() -> (String, Value) {
    response(405, &["method_not_allowed"])
}

/// The RFC 9457 problem document every error answer is.
pub fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "An RFC 9457 problem document: every REST error. GraphQL reports the same `code` (upper case) in `extensions.code`, and the same extension members (`limit`, `tier`, `resource`) in `extensions`.",
        "properties": {
            "type": { "type": "string", "description": "Always `about:blank`: `code` says what happened." },
            "title": { "type": "string", "description": "The HTTP status's reason phrase." },
            "status": { "type": "integer", "description": "The HTTP status." },
            "detail": { "type": "string", "description": "What went wrong, for people." },
            "code": { "type": "string", "description": "Stable machine code; each response lists the codes it can carry." },
            "request_id": { "type": ["string", "null"], "description": "The request's id (also in `X-Request-Id`), for support and logs." },
            "errors": {
                "type": "array",
                "description": "With `validation_failed`: one entry per problem.",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": { "type": "string", "description": "JSON pointer (RFC 6901) into the request body or query." },
                        "detail": { "type": "string", "description": "What is wrong there." },
                    },
                    "required": ["pointer", "detail"],
                },
            },
            "limit": { "type": "integer", "minimum": 0, "description": "With `plan_limit_exceeded`: how many `resource` the `tier` allows." },
            "tier": { "type": "string", "enum": ["free", "pro", "enterprise"], "description": "With `plan_limit_exceeded`: the organisation's plan tier." },
            "resource": { "type": "string", "enum": ["agents"], "description": "With `plan_limit_exceeded`: what the limit counts." },
        },
        "required": ["type", "title", "status", "detail", "code", "request_id"],
    })
}

/// `components.headers`: headers of answers.
pub fn headers() -> Value {
    json!({
        "X-Request-Id": {
            "description": "The request's id: the client's own `X-Request-Id` when it sent a usable one, else a fresh `req_...`. Every answer carries it.",
            "schema": { "type": "string" },
        },
        "Idempotent-Replayed": {
            "description": "`true` on an answer replayed for a repeated `Idempotency-Key` (the work was not done again).",
            "schema": { "type": "string", "enum": ["true"] },
        },
        "WWW-Authenticate": {
            "description": "The Bearer challenge (RFC 6750), with `error=\"invalid_token\"` or `error=\"insufficient_scope\"` when that is the reason.",
            "schema": { "type": "string" },
        },
        "RateLimit-Policy": {
            "description": "The organisation's budget (IETF httpapi ratelimit-headers, structured fields): `\"default\";q=<requests at once>;w=<seconds an empty budget takes to fill>`, e.g. `\"default\";q=20;w=12` (Free: 20 at once, 100 a minute).",
            "schema": { "type": "string" },
        },
        "RateLimit": {
            "description": "What is left of it: `\"default\";r=<requests that may be made now>;t=<seconds until the budget is full; on a 429, until the retry>`.",
            "schema": { "type": "string" },
        },
        "X-RateLimit-Limit": {
            "description": "`q` of `RateLimit-Policy`: requests that may be made at once.",
            "schema": { "type": "integer" },
        },
        "X-RateLimit-Remaining": {
            "description": "`r` of `RateLimit`.",
            "schema": { "type": "integer" },
        },
        "X-RateLimit-Reset": {
            "description": "`t` of `RateLimit`, in seconds from now.",
            "schema": { "type": "integer" },
        },
        "Retry-After": {
            "description": "Seconds (rounded up) until the refused request would be allowed.",
            "schema": { "type": "integer" },
        },
    })
}

/// The organisation's budget, which every answer to an authenticated call carries.
pub fn rate_limit_headers(headers: &mut Value) {
    for name in RATE_LIMIT_HEADERS {
        headers[name] = json!({ "$ref": format!("#/components/headers/{name}") });
    }
}

const RATE_LIMIT_HEADERS: [&str; 5] = [
    "RateLimit-Policy",
    "RateLimit",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
];

/// `components.parameters`: request headers some or all operations read.
pub fn parameters() -> Value {
    json!({
        "X-Request-Id": {
            "name": "X-Request-Id",
            "in": "header",
            "description": "An id for this request (1 to 128 visible ASCII characters), echoed in `X-Request-Id` and in problem documents; a fresh one replaces a missing or unusable one.",
            "schema": { "type": "string" },
        },
        "Idempotency-Key": {
            "name": "Idempotency-Key",
            "in": "header",
            "description": "1 to 255 printable ASCII characters. Repeating a request with the same key (per organisation, for 24 h) replays its first answer with `Idempotent-Replayed: true` instead of doing the work again; the same key with a different request is `idempotency_key_reused` (422), and while the first is in flight `idempotency_key_in_use` (409). Answers that failed are not kept.",
            "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$" },
        },
        "Last-Event-ID": {
            "name": "Last-Event-ID",
            "in": "header",
            "description": "The `id` of the last event the client saw: the stream resumes after it (empty or missing: from the start).",
            "schema": { "type": "integer", "minimum": 0 },
        },
    })
}

/// The `responses` map entries of `route`'s errors, as `$ref`s, adding each response
/// to `components`.
pub fn for_route(route: &CompiledRoute, components: &mut Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (status, codes) in codes(route) {
        let (name, response) = response(status, &codes);
        components.insert(name.clone(), response);
        out.insert(
            status.to_string(),
            json!({ "$ref": format!("#/components/responses/{name}") }),
        );
    }
    out
}
