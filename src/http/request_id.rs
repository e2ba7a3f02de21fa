//! Request ids: taken from a sane incoming `X-Request-Id` or made fresh, echoed on every
//! response, put on the request's log span, and kept in a task-local so any error
//! rendered while handling the request can cite it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use tracing::Span;

/// `x-request-id`.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the HTTP request being handled, in its extensions (for error messages: a
/// GraphQL request carries it into its data, so a subscription on a WebSocket task can
/// still cite it).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

fn acceptable(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_owned())
}

/// Assigns the id, runs the request inside its scope, and sets the response header.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(acceptable)
        .unwrap_or_else(|| crate::ids::new_id("req"));
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = CURRENT.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER.clone(), v);
    }
    res
}

/// The log span of a request: method, path and id; never headers or bodies (secrets).
pub fn span(req: &Request) -> Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.as_str())
        .unwrap_or("");
    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
}
