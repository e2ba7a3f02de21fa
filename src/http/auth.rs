//! The auth layer: every `/v1` and `/graphql` request must carry a valid key. The
//! principal goes into the request's extensions; service functions check scopes.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;

/// Rejects unauthenticated requests with 401 (problem+json on REST, a GraphQL error
/// body on `/graphql`), otherwise records the principal.
pub async fn require_principal(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.auth.authenticate(header).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(err) if req.uri().path().starts_with("/graphql") => {
            let mut res = crate::graphql::http::error_response(&req, err.status(), &err);
            if let Some(v) = err.into_response().headers().get(header::WWW_AUTHENTICATE) {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, v.clone());
            }
            res
        }
        Err(err) => err.into_response(),
    }
}
