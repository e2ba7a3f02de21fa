//! `POST /v1/batch` in the OpenAPI document. It is no row of the route table (it sends
//! other rows' requests), so it is described here, with the same error answers.

use super::problems;
use super::schemas::reference;
use crate::http::MAX_BATCH_OPERATIONS;
use crate::rest::batch::{ALLOWED_HEADERS, PATH};
use serde_json::{json, Map, Value};

fn components() -> [(&'static str, Value); 4] {
    [
        (
            "BatchRequest",
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["operations"],
                "properties": {
                    "operations": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH_OPERATIONS,
                        "items": reference("BatchOperation"),
                        "description": format!("The operations, sent in order; at most {MAX_BATCH_OPERATIONS} (more: 400 `batch_too_large`)."),
                    },
                    "atomic": {
                        "type": "boolean",
                        "default": false,
                        "description": "Keep every operation's changes or none: the first operation that fails (status 400 or more) rolls the batch back, the rest are not attempted, and the answer is 422 `batch_rolled_back`. Runs triggered in an atomic batch are queued when it commits (202 `queued`, never waited for).",
                    },
                },
            }),
        ),
        (
            "BatchOperation",
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["method", "path"],
                "properties": {
                    "method": { "type": "string", "minLength": 1, "description": "The HTTP method (case-insensitive). One the path does not have answers 405 for this operation." },
                    "path": { "type": "string", "minLength": 1, "description": "A REST path under `/v1/`, with its query string. Unknown: 404 for this operation. `/v1/batch` and streaming routes (`/v1/runs/{id}/events`, `\"stream\": true`, `Accept: text/event-stream`): 400 for this operation." },
                    "body": { "description": "The JSON body, sent as `application/json`; none when absent or null." },
                    "headers": {
                        "type": "object",
                        "additionalProperties": { "type": "string" },
                        "description": format!("The operation's own headers; only {} (another: 400 for this operation). Credentials are the batch's; the request id is the batch's with `.<index>`. An `Idempotency-Key` goes on the batch request: it keys the whole batch.", ALLOWED_HEADERS.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")),
                    },
                },
            }),
        ),
        (
            "BatchResult",
            json!({
                "type": "object",
                "required": ["status", "body"],
                "properties": {
                    "status": { "type": "integer", "description": "The status the operation answered, as it would alone." },
                    "body": { "description": "Its JSON body (a problem document for an error; null when empty)." },
                    "rolled_back": { "type": "boolean", "description": "In a `batch_rolled_back` answer: the operation succeeded, but its changes were rolled back with the batch." },
                },
            }),
        ),
        (
            "BatchResponse",
            json!({
                "type": "object",
                "required": ["results"],
                "properties": {
                    "results": { "type": "array", "items": reference("BatchResult"), "description": "One result per operation, in order." },
                },
            }),
        ),
    ]
}

fn request_example() -> Value {
    json!({
        "operations": [
            { "method": "POST", "path": "/v1/agents", "body": { "name": "Booker", "model": "openai/gpt-4o-mini" } },
            { "method": "GET", "path": "/v1/agents/agt_01jd8x3k6m9q2w5e7r4t1y0u3p" },
        ],
        "atomic": false,
    })
}

fn response_example() -> Value {
    json!({
        "results": [
            { "status": 201, "body": { "id": "agt_01jd8x3k6m9q2w5e7r4t1y0u3q", "name": "Booker", "model": "openai/gpt-4o-mini", "version": 1 } },
            { "status": 404, "body": { "type": "about:blank", "title": "Not Found", "status": 404, "detail": "agent agt_01jd8x3k6m9q2w5e7r4t1y0u3p not found", "code": "not_found", "request_id": "req_01jd8x3k6m9q2w5e7r4t1y0u3p.1" } },
        ],
    })
}

/// The error answers of the batch route: `(status, codes)`.
const ERRORS: &[(u16, &[&str])] = &[
    (400, &["bad_request", "batch_too_large"]),
    (401, &["unauthenticated"]),
    (413, &["payload_too_large"]),
    (409, &["idempotency_key_in_use"]),
    (415, &["unsupported_media_type"]),
    (
        422,
        &[
            "validation_failed",
            "batch_rolled_back",
            "idempotency_key_reused",
        ],
    ),
    (500, &["internal"]),
];

/// Adds `POST /v1/batch` to `paths`, its schemas and error answers to the components.
pub fn add(
    paths: &mut Map<String, Value>,
    schemas: &mut Map<String, Value>,
    responses: &mut Map<String, Value>,
) {
    for (name, schema) in components() {
        schemas.insert(name.into(), schema);
    }
    let headers = json!({
        "X-Request-Id": { "$ref": "#/components/headers/X-Request-Id" },
        "Idempotent-Replayed": { "$ref": "#/components/headers/Idempotent-Replayed" },
    });
    let mut answers = Map::new();
    answers.insert(
        "200".into(),
        json!({
            "description": "Every operation was sent (an atomic batch: every one succeeded and its changes were committed). Each result is what the operation answered.",
            "headers": headers,
            "content": { "application/json": { "schema": reference("BatchResponse"), "example": response_example() } },
        }),
    );
    for (status, codes) in ERRORS {
        let (name, mut response) = problems::response(*status, codes);
        if codes.contains(&"batch_rolled_back") {
            let rolled_back = json!({
                "type": "object",
                "properties": {
                    "failed_operation": { "type": "integer", "description": "With `batch_rolled_back`: the index of the operation that failed." },
                    "results": { "type": "array", "items": reference("BatchResult"), "description": "With `batch_rolled_back`: the operations up to the failed one (last), with their answers." },
                },
            });
            if let Some(all_of) = response
                .pointer_mut("/content/application~1problem+json/schema/allOf")
                .and_then(Value::as_array_mut)
            {
                all_of.push(rolled_back);
            }
        }
        responses.insert(name.clone(), response);
        answers.insert(
            status.to_string(),
            json!({ "$ref": format!("#/components/responses/{name}") }),
        );
    }
    let operation = json!({
        "operationId": "batch",
        "summary": format!("Send up to {MAX_BATCH_OPERATIONS} operations in one request"),
        "description": "Each operation goes through the same authentication, scope checks, validation and limits as if it were sent alone, and its result is what it would answer alone. Without `atomic`, each operation's changes are kept or rolled back on its own and the batch answers 200. An `Idempotency-Key` on the batch request keys the whole batch (its answer is kept with the changes of its operations, and nothing waits: a run triggered in it answers 202 `queued`).",
        "tags": ["batch"],
        "parameters": [
            { "$ref": "#/components/parameters/X-Request-Id" },
            { "$ref": "#/components/parameters/Idempotency-Key" },
        ],
        "requestBody": {
            "required": true,
            "content": { "application/json": { "schema": reference("BatchRequest"), "example": request_example() } },
        },
        "responses": answers,
    });
    paths.insert(PATH.into(), json!({ "post": operation }));
}
