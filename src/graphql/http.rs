//! GraphQL over HTTP (the GraphQL-over-HTTP spec): POST and GET, both
//! `application/graphql-response+json` and `application/json`, the spec's status codes,
//! and no mutations over GET (405).

use super::params::{params_from_json, params_from_query_string, Params};
use super::AppSchema;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::error::{AppError, Code};
use crate::http::streams::Streams;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
};
use async_graphql::{Request as GqlRequest, Variables};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::sync::Arc;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// What the GraphQL handlers (HTTP, SSE, WebSocket) need, extracted from the
/// application's state by `FromRef`.
#[derive(Clone)]
pub struct GraphqlState {
    /// The executable schema.
    pub schema: AppSchema,
    /// Key verification (WebSockets authenticate in `connection_init`).
    pub auth: Authenticator,
    /// Open streams: caps, revocation and shutdown.
    pub streams: Streams,
    /// The configuration (body limit).
    pub config: Arc<Config>,
    /// Rate limits (a WebSocket is charged per message, not by the HTTP layer).
    pub rate_limits: crate::http::rate_limit::RateLimits,
}

/// The response media type the client accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponse => GRAPHQL_RESPONSE,
            Self::Json => JSON,
        }
    }
}

fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    if types.contains(&"application/graphql-response+json") {
        Some(Media::GraphqlResponse)
    } else if types
        .iter()
        .any(|t| matches!(*t, "application/json" | "*/*" | "application/*" | ""))
    {
        Some(Media::Json)
    } else {
        None
    }
}

/// A GraphQL-shaped error response for failures before execution.
pub fn error_response(req: &Request, status: StatusCode, err: &AppError) -> Response {
    let media = negotiate(req.headers()).unwrap_or(Media::Json);
    let body = json!({ "errors": [{ "message": err.public_message(), "extensions": { "code": err.code().graphql() } }] });
    (
        status,
        [(header::CONTENT_TYPE, media.content_type())],
        body.to_string(),
    )
        .into_response()
}

/// How the auth layer refuses a GraphQL request: a GraphQL error body, with the
/// `WWW-Authenticate` challenge the problem+json response would have carried.
pub fn refuse(req: &Request, err: AppError) -> Response {
    let mut res = error_response(req, err.status(), &err);
    if let Some(v) = err.into_response().headers().get(header::WWW_AUTHENTICATE) {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, v.clone());
    }
    res
}

pub(super) fn reply(media: Media, status: StatusCode, body: Value) -> Response {
    reply_raw(media, status, body.to_string())
}

/// [`reply`] with a body already serialized.
pub(super) fn reply_raw(media: Media, status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}

pub(super) fn request_error(
    media: Media,
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response {
    reply(
        media,
        status,
        json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }),
    )
}

/// `GET /graphql?query=...` (queries only).
pub async fn get(State(state): State<GraphqlState>, req: Request) -> Response {
    let Some(media) = negotiate(req.headers()) else {
        return not_acceptable();
    };
    let params = match params_from_query_string(req.uri().query().unwrap_or("")) {
        Ok(p) => p,
        Err(msg) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                &Code::BadRequest.graphql(),
                &msg,
            )
        }
    };
    execute(&state, req.extensions(), params, media, true)
        .await
        .into_response(media)
}

/// `POST /graphql` with an `application/json` body.
pub async fn post(State(state): State<GraphqlState>, req: Request) -> Response {
    let Some(media) = negotiate(req.headers()) else {
        return not_acceptable();
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    let charset_ok = parts.all(|p| {
        !p.to_ascii_lowercase().starts_with("charset=") || p.eq_ignore_ascii_case("charset=utf-8")
    });
    if essence != "application/json" || !charset_ok {
        return request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send GraphQL requests as Content-Type: application/json (UTF-8)",
        );
    }
    let (parts, body) = req.into_parts();
    let bytes = match crate::http::body::read(body, state.config.body_limit_bytes).await {
        Ok(b) => b,
        Err(e) => {
            return request_error(media, e.status(), &e.code().graphql(), &e.public_message())
        }
    };
    let value = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => v,
        Err(e) => {
            let msg = format!("the body is not valid JSON: {e}");
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                &Code::BadRequest.graphql(),
                &msg,
            );
        }
    };
    if let Value::Array(items) = value {
        return super::batch::post(&state, &parts.extensions, items, media).await;
    }
    match params_from_json(value) {
        Ok(params) => execute(&state, &parts.extensions, params, media, false)
            .await
            .into_response(media),
        Err(msg) => request_error(
            media,
            StatusCode::BAD_REQUEST,
            &Code::BadRequest.graphql(),
            &msg,
        ),
    }
}

fn not_acceptable() -> Response {
    reply(
        Media::Json,
        StatusCode::NOT_ACCEPTABLE,
        json!({ "errors": [{ "message": "accept application/graphql-response+json or application/json", "extensions": { "code": Code::NotAcceptable.graphql() } }] }),
    )
}

/// What one GraphQL request answers: the status it gets alone, and its body.
pub(super) struct Answer {
    /// The HTTP status (200 unless the request failed before execution).
    pub status: StatusCode,
    /// `{"data", "errors", "extensions"}`, serialized (straight from the execution's
    /// result: no intermediate JSON tree).
    pub body: Box<RawValue>,
    /// `Allow` on a 405.
    allow: Option<&'static str>,
}

impl Answer {
    /// The answer for a request that failed before execution.
    pub fn failed(status: StatusCode, code: &str, message: &str) -> Self {
        Self {
            status,
            body: raw(
                &json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }),
            ),
            allow: None,
        }
    }

    fn into_response(self, media: Media) -> Response {
        let mut res = reply_raw(
            media,
            self.status,
            String::from(Box::<str>::from(self.body)),
        );
        if let Some(allow) = self.allow {
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        res
    }
}

/// Executes one GraphQL request as the caller in `ext` (one operation of a batch, too).
pub(super) async fn execute(
    state: &GraphqlState,
    ext: &http::Extensions,
    params: Params,
    media: Media,
    is_get: bool,
) -> Answer {
    let doc = match async_graphql::parser::parse_query(&params.query) {
        Ok(doc) => doc,
        Err(err) => {
            let status = if media == Media::GraphqlResponse {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            return Answer::failed(
                status,
                &Code::GraphqlParseFailed.graphql(),
                &err.to_string(),
            );
        }
    };
    if let Some(name) = missing_variable(
        &doc,
        params.operation_name.as_deref(),
        params.variables.as_ref(),
    ) {
        let status = if media == Media::GraphqlResponse {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        let message = format!("variable `${name}` is required but was not provided");
        return Answer::failed(status, &Code::GraphqlValidationFailed.graphql(), &message);
    }
    if is_get {
        let op_type = selected(&doc, params.operation_name.as_deref()).map(|op| op.ty);
        if matches!(
            op_type,
            Some(OperationType::Mutation | OperationType::Subscription)
        ) {
            let mut answer = Answer::failed(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "mutations and subscriptions cannot be sent with GET; use POST",
            );
            answer.allow = Some("POST");
            return answer;
        }
    }
    let mut gql = super::with_caller(GqlRequest::new(params.query), ext);
    if let Some(name) = params.operation_name {
        gql = gql.operation_name(name);
    }
    if let Some(vars) = params.variables {
        gql = gql.variables(Variables::from_json(Value::Object(vars)));
    }
    gql.set_parsed_query(doc);
    let response = state.schema.execute(gql).await;
    let request_failed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let body = raw(&Body {
        data: (!request_failed).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    });
    let status = if request_failed && media == Media::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Answer {
        status,
        body,
        allow: None,
    }
}

/// A GraphQL response body as the spec shapes it: `data` left out when the request
/// failed before execution, `errors` and `extensions` only when there are some.
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// Serializes a body once; a value that cannot be serialized (never, for these types)
/// becomes `null` rather than a panic.
fn raw(body: &impl serde::Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(body)
        .unwrap_or_else(|_| serde_json::value::to_raw_value(&Value::Null).unwrap_or_default())
}

/// The operation a request selects (`None` when it cannot be told; execution reports it).
fn selected<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
    }
}

/// A required variable (non-null, no default) that the request leaves out: variable
/// coercion fails before execution, so the spec makes it a request error.
fn missing_variable(
    doc: &ExecutableDocument,
    name: Option<&str>,
    vars: Option<&Map<String, Value>>,
) -> Option<String> {
    selected(doc, name)?
        .variable_definitions
        .iter()
        .find_map(|v| {
            let v = &v.node;
            let given = vars
                .and_then(|m| m.get(v.name.node.as_str()))
                .is_some_and(|x| !x.is_null());
            (!v.var_type.node.nullable && v.default_value.is_none() && !given)
                .then(|| v.name.node.to_string())
        })
}
