//! Errors that no handler produced: unknown routes and wrong methods still answer with
//! problem+json (and `Allow` on 405).

use crate::error::AppError;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};

/// Unknown route.
pub async fn not_found(req: Request) -> AppError {
    AppError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

/// Turns axum's bodiless 405 (which carries `Allow`) into problem+json.
pub async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    if res.status() != StatusCode::METHOD_NOT_ALLOWED
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let detail = match allow.as_ref().and_then(|a| a.to_str().ok()) {
        Some(a) => format!("this route accepts {a}"),
        None => format!(
            "this route does not accept {method}; the Allow header lists the methods it does"
        ),
    };
    let mut out = super::problem::response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &detail,
        &[],
    );
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out.into_response()
}
