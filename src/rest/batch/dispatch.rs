//! One batch operation as a request of its own: judged as the batch's rules say (a REST
//! path, no nested batch, no stream, allowed headers only), then sent in-process through
//! the same router, layers and all, that a lone request goes through.

use super::parse::Operation;
use crate::error::{AppError, AppResult};
use crate::http::request_id::{self, RequestId};
use crate::rest::table::Shape;
use crate::rest::{CompiledRoute, RestApi};
use crate::service::unit::Unit;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::request::Parts;
use http::{header, HeaderName, HeaderValue, Method, Request};
use serde_json::{json, Value};
use tower::ServiceExt;

/// The headers an operation may set itself (case-insensitive). Credentials and the
/// request id come from the batch; a body is always JSON; an `Idempotency-Key` goes on
/// the batch request (it keys the whole batch).
pub const ALLOWED_HEADERS: &[&str] = &[
    "accept",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
];

/// What an operation answered: its status and its body (JSON, `null` when empty).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
}

impl Outcome {
    /// Whether the operation succeeded (kept in a batch; atomic batches go on).
    pub fn ok(&self) -> bool {
        self.status < 400
    }

    /// The outcome of an operation the batch answered itself.
    pub async fn error(err: AppError) -> Self {
        collect(err.into_response()).await
    }

    /// `{"status", "body"}`.
    pub fn to_json(&self) -> Value {
        json!({ "status": self.status, "body": self.body })
    }
}

/// An operation ready to send.
pub struct Prepared {
    /// The request.
    pub request: Request<Body>,
    /// Whether it waits for work to end when sent alone (a synchronous run, a cancel):
    /// inside a transaction it would answer at once instead.
    pub waits: bool,
    /// Whether it may change anything (any method but GET and HEAD).
    pub writes: bool,
}

/// Sends a batch's operations through the inner router, as the batch's caller.
pub struct Dispatcher<'a> {
    inner: &'a Router,
    api: &'a RestApi,
    authorization: Option<HeaderValue>,
    request_id: String,
}

impl<'a> Dispatcher<'a> {
    /// A dispatcher for the batch request `parts`.
    pub fn new(inner: &'a Router, api: &'a RestApi, parts: &Parts) -> Self {
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .or_else(request_id::current)
            .unwrap_or_default();
        Self {
            inner,
            api,
            authorization: parts.headers.get(header::AUTHORIZATION).cloned(),
            request_id,
        }
    }

    /// The request of operation `index`, or why the batch refuses it (400 for that
    /// operation; an unknown route or method is left to the router: 404, 405).
    pub fn prepare(&self, index: usize, op: &Operation) -> AppResult<Prepared> {
        let method = Method::from_bytes(op.method.as_bytes())
            .map_err(|_| refuse(format!("`{}` is not an HTTP method", op.method)))?;
        let path_only = op.path.split(['?', '#']).next().unwrap_or("");
        if !path_only.starts_with("/v1/") {
            return Err(refuse(
                "a batch operation's path is a REST route under /v1/".into(),
            ));
        }
        if path_only.trim_end_matches('/') == super::PATH || path_only.starts_with("/v1/batch/") {
            return Err(refuse("a batch cannot contain /v1/batch".into()));
        }
        let mut request = Request::builder()
            .method(method.clone())
            .uri(op.path.as_str());
        if let Some(auth) = &self.authorization {
            request = request.header(header::AUTHORIZATION, auth);
        }
        request = request.header(&request_id::HEADER, self.request_id_of(index));
        for (name, value) in &op.headers {
            if name.eq_ignore_ascii_case(crate::http::idempotency::KEY) {
                return Err(refuse(
                    "an operation of a batch cannot carry its own Idempotency-Key; put the key on the batch request".into(),
                ));
            }
            let name = HeaderName::from_bytes(name.as_bytes())
                .ok()
                .filter(|n| ALLOWED_HEADERS.contains(&n.as_str()))
                .ok_or_else(|| {
                    refuse(format!(
                        "header `{name}` cannot be set on a batch operation (allowed: {})",
                        ALLOWED_HEADERS.join(", ")
                    ))
                })?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| refuse(format!("header `{name}` is not valid header text")))?;
            if name == header::ACCEPT && value.to_str().is_ok_and(streams) {
                return Err(no_streams());
            }
            request = request.header(name, value);
        }
        let route = route_of(self.api, &method, path_only);
        let mut waits = false;
        if let Some(route) = route {
            if route.def.shape == Shape::Stream {
                return Err(no_streams());
            }
            let body = op.body.as_ref().unwrap_or(&Value::Null);
            if route.def.stream.is_some() && body.get("stream") == Some(&Value::Bool(true)) {
                return Err(no_streams());
            }
            let no_wait = route.def.stream.is_some_and(|s| {
                body.get(s.no_wait.0).and_then(Value::as_str) == Some(s.no_wait.1)
            });
            waits = route.def.accepted.is_some() && !no_wait;
        }
        let body = match &op.body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(body).map_err(AppError::internal)?)
            }
            None => Body::empty(),
        };
        let request = request
            .body(body)
            .map_err(|_| refuse(format!("`{}` is not a valid path", op.path)))?;
        Ok(Prepared {
            request,
            waits,
            writes: !matches!(method, Method::GET | Method::HEAD),
        })
    }

    /// Sends a prepared operation, on `unit` when given (its changes become part of the
    /// unit's transaction).
    pub async fn send(&self, mut request: Request<Body>, unit: Option<&Unit>) -> Outcome {
        if let Some(unit) = unit {
            request.extensions_mut().insert(unit.clone());
        }
        match self.inner.clone().oneshot(request).await {
            Ok(res) => collect(res).await,
            Err(never) => match never {},
        }
    }

    /// The operation's request id: the batch's, with the operation's index (a fresh one
    /// replaces it past the length a request id may have).
    fn request_id_of(&self, index: usize) -> String {
        let suffix = format!(".{index}");
        let mut base = self.request_id.clone();
        base.truncate(128 - suffix.len());
        base + &suffix
    }
}

fn refuse(detail: String) -> AppError {
    AppError::BadRequest(detail)
}

fn no_streams() -> AppError {
    refuse(
        "a batch cannot stream: send streaming requests (Server-Sent Events) on their own".into(),
    )
}

fn streams(accept: &str) -> bool {
    accept.to_ascii_lowercase().contains("text/event-stream")
}

/// The table row that serves `method path`, if any (`{param}` matches one segment).
fn route_of<'a>(api: &'a RestApi, method: &Method, path: &str) -> Option<&'a CompiledRoute> {
    let segments: Vec<&str> = path.split('/').collect();
    api.routes.iter().find(|route| {
        route.def.method == method.as_str() && {
            let pattern: Vec<&str> = route.def.path.split('/').collect();
            pattern.len() == segments.len()
                && pattern.iter().zip(&segments).all(|(p, s)| {
                    (p.starts_with('{') && p.ends_with('}') && !s.is_empty()) || p == s
                })
        }
    })
}

/// An answer's status and body. Bodies are JSON (REST answers and problem documents);
/// anything else is kept as text.
async fn collect(res: Response) -> Outcome {
    let status = res.status().as_u16();
    let body = match axum::body::to_bytes(res.into_body(), usize::MAX).await {
        Ok(bytes) if bytes.is_empty() => Value::Null,
        Ok(bytes) => serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        Err(err) => {
            tracing::warn!(error = %err, "could not read a batch operation's answer");
            Value::Null
        }
    };
    Outcome { status, body }
}
