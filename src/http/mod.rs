//! The cross-cutting HTTP concerns, one module each, and the layers every route shares.
//! The routes themselves are assembled at the crate root, above the APIs they serve.

pub mod auth;
pub mod body;
pub mod fallback;
pub mod health;
pub mod idempotency;
pub mod problem;
pub mod rate_limit;
pub mod request_id;
pub mod shared;
pub mod streams;

use axum::{middleware, Router};
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

/// The most operations one batch may hold: `POST /v1/batch`, or a GraphQL request that
/// is a JSON array of operations.
pub const MAX_BATCH_OPERATIONS: usize = 100;

/// `router` with the fallback (404 problem+json) and the layers around every request:
/// request id, log span, CORS, and problem+json for bare errors.
pub fn layers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .fallback(fallback::not_found)
        .layer(shared::SharedLayer)
        .layer(middleware::from_fn(fallback::problem_for_bare_errors))
        .layer(shared::SharedLayer)
        .layer(CorsLayer::permissive().expose_headers([
            request_id::HEADER.clone(),
            http::HeaderName::from_static(idempotency::REPLAYED),
        ]))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .layer(shared::SharedLayer)
        .layer(middleware::from_fn(request_id::assign))
}
