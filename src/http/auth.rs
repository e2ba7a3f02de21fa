//! The auth layer: every `/v1` and `/graphql` request must carry a valid key. The
//! principal goes into the request's extensions; service functions check scopes.

use crate::auth::Authenticator;
use crate::error::AppError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;

/// Shapes the response to a refused request. The layer knows nothing of the API behind
/// it: the router says, per group of routes, which shape their clients expect.
pub type Refusal = fn(&Request, AppError) -> Response;

/// The auth layer's state: the verifier, and how refusals look on the routes it guards.
#[derive(Clone)]
pub struct Gate {
    auth: Authenticator,
    refuse: Refusal,
}

impl Gate {
    /// A gate that refuses with problem+json (the error's own response).
    pub fn new(auth: Authenticator) -> Self {
        Self {
            auth,
            refuse: |_, err| err.into_response(),
        }
    }

    /// The same gate, refusing in another shape (e.g. a GraphQL error body).
    pub fn refusing_with(self, refuse: Refusal) -> Self {
        Self { refuse, ..self }
    }
}

/// Rejects unauthenticated requests with 401 (in the gate's shape), otherwise records
/// the principal.
pub async fn require_principal(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match gate.auth.authenticate(header).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(err) => (gate.refuse)(&req, err),
    }
}
