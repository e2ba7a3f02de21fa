//! The one REST handler: request → variables → the stored operation on the shared
//! schema → the REST body (or problem+json with the same code GraphQL reports).

use super::table::Shape;
use super::types::Coerce;
use super::{params, CompiledRoute, RestState};
use crate::error::{status_for_code, AppError, FieldError};
use crate::http::problem;
use async_graphql::{Request as GqlRequest, Variables};
use axum::extract::{RawPathParams, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, StatusCode};
use serde_json::{json, Map, Value};

/// Handles a request to route `idx` of the table.
pub async fn handle(state: RestState, idx: usize, path: RawPathParams, req: Request) -> Response {
    match run(&state, &state.rest.routes[idx], path, req).await {
        Ok(res) => res,
        Err(err) => err.into_response(),
    }
}

async fn run(
    state: &RestState,
    route: &CompiledRoute,
    path: RawPathParams,
    req: Request,
) -> Result<Response, AppError> {
    let list = route.def.shape == Shape::List;
    let query = params::parse(
        req.uri().query().unwrap_or(""),
        &route.op,
        &state.rest.types,
        list,
    )?;
    let mut vars = query.variables;
    for (name, value) in &path {
        let value = percent_encoding::percent_decode_str(value)
            .decode_utf8_lossy()
            .into_owned();
        vars.insert(name.to_owned(), Value::String(value));
    }
    let extensions = req.extensions().clone();
    let gql = crate::graphql::with_caller(GqlRequest::new(""), &extensions);
    let accepts_sse = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    if route.def.shape == Shape::Stream {
        if let Some(after) = last_event_id(&req)? {
            vars.insert("after".into(), json!(after));
        }
        let guard = state.streams.acquire_caller(&extensions)?;
        let mut gql = gql.variables(Variables::from_json(Value::Object(vars)));
        gql.set_parsed_query(route.op.doc.clone());
        return Ok(super::sse::respond(
            state,
            gql,
            route.op.path[0].clone(),
            route.enums.clone(),
            guard,
        )
        .await);
    }
    let mut stream = None;
    if let Some(input_ty) = route.op.variable("input") {
        // An optional input (`approveGate(input: ...)`) may be left out: no body is `{}`.
        let mut input = if route.def.uploads {
            super::upload::read(&state.config.knowledge, req).await?
        } else {
            read_json_body(state.config.body_limit_bytes, req, input_ty.nullable).await?
        };
        if let Some(on_request) = &route.def.stream {
            // `"stream": true` (or Accept: text/event-stream) asks for the events of what
            // the route starts instead of its result; it then starts without waiting.
            let wants_stream = accepts_sse || input.get("stream") == Some(&Value::Bool(true));
            if input.get("stream").is_some_and(Value::is_boolean) {
                input.as_object_mut().map(|o| o.remove("stream"));
            }
            if wants_stream {
                // Before anything starts: a refused stream starts nothing (neither for a
                // missing scope nor over the stream caps).
                if let Some(p) = extensions.get::<std::sync::Arc<crate::auth::Principal>>() {
                    (on_request.authorize)(p)?;
                }
                stream = Some(state.streams.acquire_caller(&extensions)?);
                let (field, value) = on_request.no_wait;
                input[field] = json!(value);
            }
        }
        let mut coerce = Coerce::new(&state.rest.types, false);
        let value = coerce.value(&input, input_ty, "");
        AppError::from_field_errors(coerce.errors)?;
        vars.insert("input".into(), value);
    }
    let doc = match &query.fields {
        Some(keep) => route.op.pruned(keep, list),
        None => route.op.doc.clone(),
    };
    let mut gql = gql.variables(Variables::from_json(Value::Object(vars)));
    gql.set_parsed_query(doc);
    let response = state.schema.execute(gql).await;
    if let Some(err) = response.errors.first() {
        return Ok(graphql_error_to_problem(err));
    }
    let mut data_json = response.data.into_json().map_err(AppError::internal)?;
    route.enums.to_rest(&mut data_json);
    let pointer: String = route.op.path.iter().map(|key| format!("/{key}")).collect();
    let mut target = data_json
        .pointer_mut(&pointer)
        .map(Value::take)
        .unwrap_or(Value::Null);
    if let (Some(guard), Some(op), Some(on_request)) = (stream, &route.stream_op, &route.def.stream)
    {
        let id = target
            .get(on_request.id_field)
            .or_else(|| target.get("id"))
            .cloned()
            .unwrap_or(Value::Null);
        let sub = GqlRequest::new("").variables(Variables::from_json(json!({ "id": id })));
        let mut sub = crate::graphql::with_caller(sub, &extensions);
        sub.set_parsed_query(op.doc.clone());
        return Ok(super::sse::respond(
            state,
            sub,
            op.path[0].clone(),
            route.stream_enums.clone(),
            guard,
        )
        .await);
    }
    let body = match route.def.shape {
        Shape::Object | Shape::Stream => target,
        Shape::Deleted(object) => json!({ "id": target, "object": object, "deleted": true }),
        Shape::List => {
            let has_more = target["pageInfo"]["hasNextPage"].as_bool().unwrap_or(false);
            json!({
                "object": "list",
                "data": target["nodes"].take(),
                "has_more": has_more,
                "next_cursor": if has_more { target["pageInfo"]["endCursor"].take() } else { Value::Null },
            })
        }
    };
    let mut status = StatusCode::from_u16(route.def.status).unwrap_or(StatusCode::OK);
    if let Some(accepted) = &route.def.accepted {
        if body[accepted.field].as_str().is_some_and(accepted.going) {
            status = StatusCode::ACCEPTED;
        }
    }
    Ok((status, Json(body)).into_response())
}

/// `Last-Event-ID`: the last event the client saw; replay starts after it.
fn last_event_id(req: &Request) -> Result<Option<i64>, AppError> {
    match req
        .headers()
        .get("last-event-id")
        .map(|v| v.to_str().map(str::trim))
    {
        None => Ok(None),
        Some(Ok("")) => Ok(None),
        Some(Ok(v)) => v.parse::<i64>().map(Some).map_err(|_| {
            AppError::BadRequest(
                "Last-Event-ID must be the `id` of an event from this stream".into(),
            )
        }),
        Some(Err(_)) => Err(AppError::BadRequest(
            "Last-Event-ID is not valid text".into(),
        )),
    }
}

/// A JSON object body of at most `limit` bytes (`{}` when `optional` and empty).
pub(super) async fn read_json_body(
    limit: usize,
    req: Request,
    optional: bool,
) -> Result<Value, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = crate::http::body::read(req.into_body(), limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if optional {
            return Ok(json!({}));
        }
        return Err(AppError::BadRequest(
            "this route needs a JSON object body".into(),
        ));
    }
    let essence = content_type
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(AppError::UnsupportedMediaType(
            "send the body as Content-Type: application/json".into(),
        ));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(AppError::Validation {
            message: "the body must be a JSON object".into(),
            errors: vec![FieldError::new("/", "must be a JSON object")],
        });
    }
    Ok(value)
}

pub(super) fn graphql_error_to_problem(err: &async_graphql::ServerError) -> Response {
    let ext = err.extensions.as_ref();
    let code = ext
        .and_then(|e| e.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(s) => Some(s.to_ascii_lowercase()),
            _ => None,
        })
        .unwrap_or_else(|| "bad_request".into());
    let fields: Vec<FieldError> = ext
        .and_then(|e| e.get("errors"))
        .and_then(|v| v.clone().into_json().ok())
        .and_then(|v| serde_json::from_value::<Vec<Map<String, Value>>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let s = |k: &str| {
                m.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            FieldError::new(s("pointer"), s("detail"))
        })
        .collect();
    // A plan limit's `limit` and `tier`, say: the resolver's own error still rides along.
    let members = err
        .source::<AppError>()
        .map(AppError::members)
        .unwrap_or_default();
    problem::with_members(
        status_for_code(&code),
        &code,
        &err.message,
        &fields,
        members,
    )
}
