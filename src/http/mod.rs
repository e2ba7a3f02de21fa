//! Router assembly and the cross-cutting HTTP concerns, one module each.

pub mod auth;
pub mod body;
pub mod fallback;
pub mod health;
pub mod problem;
pub mod request_id;
pub mod streams;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::{middleware, Router};
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

/// Every route of the server, with its layers.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/graphql",
            get(crate::graphql::http::get).post(crate::graphql::http::post),
        )
        .route("/graphql/stream", post(crate::graphql::sse::handler))
        .merge(crate::rest::routes(&state))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_principal,
        ));
    Router::new()
        .merge(api)
        // Authenticated in `connection_init`, not by header.
        .route("/graphql/ws", get(crate::graphql::ws::handler))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(crate::rest::openapi::serve))
        .fallback(fallback::not_found)
        .layer(middleware::from_fn(fallback::problem_for_bare_errors))
        .layer(CorsLayer::permissive().expose_headers([request_id::HEADER.clone()]))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}
