//! RFC 9457 `application/problem+json` for every REST error.

use crate::error::{AppError, FieldError};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

/// The media type of problem documents.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem document for `status` with a machine `code`.
pub fn response(status: StatusCode, code: &str, detail: &str, errors: &[FieldError]) -> Response {
    with_members(status, code, detail, errors, Map::new())
}

/// A problem document with extension members of the error (RFC 9457 §3.2), e.g. a
/// plan limit's `limit` and `tier` (see [`AppError::members`]). They never replace a
/// standard member.
pub fn with_members(
    status: StatusCode,
    code: &str,
    detail: &str,
    errors: &[FieldError],
    members: Map<String, Value>,
) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
        "request_id": super::request_id::current(),
    });
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    if let Value::Object(fields) = &mut body {
        for (name, value) in members {
            fields.entry(name).or_insert(value);
        }
    }
    let mut res = (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response();
    match code {
        "unauthenticated" => {
            let v = if detail == crate::auth::authenticator::MISSING_CREDENTIALS {
                "Bearer realm=\"orchstack\"".to_owned()
            } else {
                format!(
                    "Bearer realm=\"orchstack\", error=\"invalid_token\", error_description=\"{}\"",
                    detail.replace('"', "'")
                )
            };
            if let Ok(v) = HeaderValue::from_str(&v) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        "insufficient_scope" => {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"orchstack\", error=\"insufficient_scope\"",
                ),
            );
        }
        _ => {}
    }
    res
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(err) = &self {
            tracing::error!(error = ?err, "internal error");
        }
        let mut res = with_members(
            self.status(),
            self.code().as_str(),
            &self.public_message(),
            self.field_errors(),
            self.members(),
        );
        if let AppError::RateLimited(secs) = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
