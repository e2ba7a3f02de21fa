//! A boundary in a stack of layers that makes everything below it cheap to clone.
//!
//! Why: axum's `from_fn` middleware (and tower's usual pattern) clones the service below
//! it on every request, and a clone of a stack clones every layer under it, each boxed
//! route with an allocation. With several such layers per route, a request paid for
//! the same clones over and over (about a tenth of the CPU of a `GET /v1/agents/{id}`
//! in a profile). Below a [`SharedLayer`] the stack sits behind an `Arc`: a layer above
//! clones a pointer, and the stack below is cloned once, when the request reaches it.

use std::sync::Arc;
use std::task::{Context, Poll};
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt};

/// Puts the service below behind an `Arc` (see the module doc).
#[derive(Clone, Copy, Default)]
pub struct SharedLayer;

impl<S> Layer<S> for SharedLayer {
    type Service = Shared<S>;

    fn layer(&self, inner: S) -> Shared<S> {
        Shared(Arc::new(inner))
    }
}

/// A service shared by pointer; each call runs on its own clone of the inner service.
pub struct Shared<S>(Arc<S>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S, R> Service<R> for Shared<S>
where
    S: Service<R> + Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Oneshot<S, R>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is the clone's, checked when the call runs.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: R) -> Self::Future {
        (*self.0).clone().oneshot(req)
    }
}
