//! GraphQL batch requests: a `POST /graphql` body that is a JSON array of requests is
//! answered with the array of their answers, in order. Each request is executed as if
//! it came alone (same caller, same limits, same unit of work if the HTTP request has
//! one), one after the other; at most [`MAX_BATCH_OPERATIONS`] of them.

use super::http::{execute, reply_raw, request_error, Answer, GraphqlState, Media};
use super::params::params_from_json;
use crate::error::{AppError, AppResult, Code};
use crate::http::MAX_BATCH_OPERATIONS;
use axum::response::Response;
use http::StatusCode;
use serde_json::Value;

/// Answers a batch of GraphQL requests.
pub(super) async fn post(
    state: &GraphqlState,
    ext: &http::Extensions,
    items: Vec<Value>,
    media: Media,
) -> Response {
    if items.is_empty() {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            &Code::BadRequest.graphql(),
            "a batch holds at least one request",
        );
    }
    let refused = match items.len() > MAX_BATCH_OPERATIONS {
        true => Err(AppError::BatchTooLarge(MAX_BATCH_OPERATIONS)),
        false => charge_rate_limit(ext, items.len()).await,
    };
    if let Err(err) = refused {
        return request_error(
            media,
            err.status(),
            &err.code().graphql(),
            &err.public_message(),
        );
    }
    let mut answers = Vec::with_capacity(items.len());
    for item in items {
        let answer = match params_from_json(item) {
            Ok(params) => execute(state, ext, params, media, false).await,
            Err(msg) => Answer::failed(StatusCode::BAD_REQUEST, &Code::BadRequest.graphql(), &msg),
        };
        answers.push(answer.body);
    }
    // Each answer is already serialized: the array is written around them.
    let body = serde_json::to_string(&answers).unwrap_or_else(|_| "[]".into());
    reply_raw(media, StatusCode::OK, body)
}

/// The one place a GraphQL batch is charged against the organisation's rate limit: one
/// request per item is paid before any runs (so a batch over the budget runs nothing);
/// each item's document is then priced as if it came alone and draws on that, so the
/// batch costs the sum of its parts.
async fn charge_rate_limit(ext: &http::Extensions, requests: usize) -> AppResult<()> {
    match ext.get::<crate::http::rate_limit::Meter>() {
        Some(meter) => {
            meter
                .prepay(u32::try_from(requests).unwrap_or(u32::MAX))
                .await
        }
        None => Ok(()),
    }
}
