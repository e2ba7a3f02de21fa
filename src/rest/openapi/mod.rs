//! The OpenAPI 3.1 document, generated from the route table and the schema's types:
//! request bodies from the input types, responses from the stored selections, errors
//! from what each route can answer. Every schema is a named component.

mod batch;
mod examples;
pub mod problems;
mod schemas;
pub mod values;

use super::table::Shape;
use super::types::{named, snake};
use super::{CompiledRoute, RestApi, RestState};

use async_graphql::parser::types::BaseType;
use axum::extract::State;
use axum::response::IntoResponse;
use http::header;
use schemas::Gen;
use serde_json::{json, Map, Value};

/// The media type of error answers.
const PROBLEM_MEDIA: &str = crate::http::problem::CONTENT_TYPE;

/// `GET /openapi.json`.
pub async fn serve(State(state): State<RestState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.rest.openapi.clone(),
    )
}

fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// A comma-list query parameter (`a,b,c`) of values `items`.
fn comma_list(name: &str, items: Value, description: &str) -> Value {
    json!({
        "name": name, "in": "query", "style": "form", "explode": false,
        "description": description,
        "schema": { "type": "array", "items": items },
    })
}

fn parameters(gen: &Gen, route: &CompiledRoute) -> Vec<Value> {
    let mut params: Vec<Value> = route
        .def
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    params.push(json!({ "$ref": "#/components/parameters/X-Request-Id" }));
    if problems::is_write(route) {
        params.push(json!({ "$ref": "#/components/parameters/Idempotency-Key" }));
    }
    if route.def.shape == Shape::Stream {
        params.push(json!({ "$ref": "#/components/parameters/Last-Event-ID" }));
        // `fields` is read but has no effect on a stream: not offered.
        return params;
    }
    if !route.op.selectable.is_empty() {
        params.push(comma_list(
            "fields",
            json!({ "type": "string", "enum": route.op.selectable }),
            "The fields to return (comma list); the others are left out.",
        ));
    }
    if route.def.shape != Shape::List {
        return params;
    }
    params.push(json!({ "name": "limit", "in": "query", "description": "Page size.", "schema": { "type": "integer", "minimum": 1, "maximum": crate::service::pagination::MAX_LIMIT, "default": crate::service::pagination::DEFAULT_LIMIT } }));
    params.push(json!({ "name": "cursor", "in": "query", "description": "`next_cursor` of the previous page.", "schema": { "type": "string", "minLength": 1 } }));
    if let Some(order) = route.op.variable("orderBy") {
        let sortable: Vec<String> = gen
            .types
            .input_fields(named(order))
            .and_then(|fs| fs.iter().find(|f| f.node.name.node == "field"))
            .and_then(|f| values::rest_enum_values(gen.types, named(&f.node.ty.node)))
            .unwrap_or_default()
            .into_iter()
            .flat_map(|v| [v.clone(), format!("-{v}")])
            .collect();
        params.push(comma_list(
            "sort",
            json!({ "type": "string", "enum": sortable }),
            "Sort keys (comma list), `-` for descending. Default `-created_at`.",
        ));
    }
    let filter = route.op.variable("filter").map(named).unwrap_or_default();
    for f in gen.types.input_fields(filter).unwrap_or_default() {
        let (name, ty) = (snake(&f.node.name.node), &f.node.ty.node);
        let leaf = gen
            .leaf(named(ty), true)
            .unwrap_or_else(|| json!({ "type": "string" }));
        let description = f
            .node
            .description
            .as_ref()
            .map(|d| d.node.as_str())
            .unwrap_or_default();
        params.push(match ty.base {
            BaseType::List(_) => comma_list(&name, leaf, &format!("{description} Comma list.")),
            BaseType::Named(_) => {
                json!({ "name": name, "in": "query", "description": description, "schema": leaf })
            }
        });
    }
    params
}

fn json_content(schema: Value, example: Option<Value>) -> Value {
    let mut media = json!({ "schema": schema });
    if let Some(example) = example {
        media["example"] = example;
    }
    media
}

fn success(gen: &mut Gen, route: &CompiledRoute) -> Map<String, Value> {
    let def = &route.def;
    let mut headers = json!({ "X-Request-Id": { "$ref": "#/components/headers/X-Request-Id" } });
    if problems::is_write(route) {
        headers["Idempotent-Replayed"] =
            json!({ "$ref": "#/components/headers/Idempotent-Replayed" });
    }
    problems::rate_limit_headers(&mut headers);
    let body = gen.body(route);
    let mut content = Map::new();
    if def.shape == Shape::Stream {
        content.insert("text/event-stream".into(), json!({ "schema": body }));
    } else {
        let example = examples::response(def.operation, def.status);
        content.insert(
            "application/json".into(),
            json_content(body.clone(), example),
        );
        if route.stream_op.is_some() {
            let events = gen.event_stream(route);
            content.insert("text/event-stream".into(), json!({ "schema": events }));
        }
    }
    let description = match (def.status, route.stream_op.is_some()) {
        (201, _) => "Created.".to_owned(),
        (_, true) => "The run ended: its final state (JSON), or with `\"stream\": true` or `Accept: text/event-stream` its events as they happen (SSE).".to_owned(),
        _ if def.accepted.is_some() => "The run ended: its final state.".to_owned(),
        _ => "OK.".to_owned(),
    };
    let mut out = Map::new();
    out.insert(
        def.status.to_string(),
        json!({ "description": description, "headers": headers, "content": content }),
    );
    if def.accepted.is_some() {
        let description = if route.op.variable("input").is_some() {
            "The run has not ended: `\"mode\": \"async\"` answers at once (`queued`); otherwise the wait limit passed (`running`). Follow it with `GET /v1/runs/{id}` or its events."
        } else {
            "The run has not ended within the server's wait (`runs.cancel_wait`); it stops within moments. Follow it with `GET /v1/runs/{id}`."
        };
        let example = examples::response(def.operation, 202);
        out.insert(
            "202".into(),
            json!({ "description": description, "headers": headers, "content": { "application/json": json_content(body, example) } }),
        );
    }
    out
}

/// The whole OpenAPI document.
pub fn generate(api: &RestApi) -> Value {
    let mut gen = Gen::new(&api.types, &api.routes);
    let mut responses = Map::new();
    let mut paths = Map::new();
    for route in &api.routes {
        let mut answers = success(&mut gen, route);
        answers.extend(problems::for_route(route, &mut responses));
        let mut op = json!({
            "operationId": lower_camel(route.def.operation),
            "summary": route.def.summary,
            "tags": [route.def.tag],
            "parameters": parameters(&gen, route),
            "responses": answers,
        });
        if let Some(input) = route.op.variable("input") {
            // An optional input is an optional body (never a `null` one).
            let optional = input.nullable;
            let body_type = async_graphql::parser::types::Type {
                nullable: false,
                ..input.clone()
            };
            let schema = gen.input(&body_type);
            if route.stream_op.is_some() {
                // Read (and removed) by the REST layer before the input is coerced.
                if let Some(props) = gen.schemas[named(input)]["properties"].as_object_mut() {
                    props.insert("stream".into(), json!({ "type": "boolean", "default": false, "description": "Answer with the run's events as Server-Sent Events (as `Accept: text/event-stream` does) instead of its result." }));
                }
            }
            let media = json_content(schema, examples::request(route.def.operation));
            op["requestBody"] =
                json!({ "required": !optional, "content": { "application/json": media } });
            if route.def.uploads {
                // Each file part becomes one document (name and type from the part).
                op["requestBody"]["content"]["multipart/form-data"] = json!({
                    "schema": {
                        "type": "object",
                        "properties": { "file": {
                            "type": "array",
                            "items": { "type": "string", "format": "binary" },
                            "description": "One or more files: text, Markdown, HTML, CSV, JSON or PDF. Any part name; each part needs a filename."
                        } }
                    }
                });
            }
        }
        let entry = paths
            .entry(route.def.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.def.method.to_ascii_lowercase()] = op;
    }
    batch::add(&mut paths, &mut gen.schemas, &mut responses);
    let (name, response) = problems::method_not_allowed();
    responses.insert(name, response);
    gen.schemas
        .insert("Problem".into(), problems::problem_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "OrchStack API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "REST routes are translations of GraphQL operations on the same schema (POST /graphql). Every answer carries `X-Request-Id`; every error is `application/problem+json` with a stable `code`. A method a path does not list answers 405 (`#/components/responses/MethodNotAllowed`, with `Allow`). Every call spends its organisation's rate limit: answers report the budget (`RateLimit-Policy`, `RateLimit`, `X-RateLimit-*`), and past it the call is refused with 429 `rate_limited` and `Retry-After`.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "schemas": gen.schemas,
            "responses": responses,
            "parameters": problems::parameters(),
            "headers": problems::headers(),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "An API key (os_live_... or os_test_...)" } },
        },
    })
}
