//! `POST /v1/batch`: up to [`crate::http::MAX_BATCH_OPERATIONS`] REST operations in one request.
//!
//! Each operation is sent in-process through the same router a lone request goes
//! through (auth, scopes, validation, limits, idempotency: every layer, no per-route
//! code), and answers what it would answer alone. The batch adds only the transaction:
//! - non-atomic: one transaction for the batch with a savepoint per operation; a failed
//!   operation's savepoint is rolled back, the others are kept, and one commit ends the
//!   batch (that, not the saved round trips alone, is what makes it fast). An operation
//!   that waits for work when sent alone (a synchronous run, a cancel) is sent alone,
//!   between two transactions, so that it can wait as it would.
//! - atomic: every operation on one transaction; the first failure rolls it back and
//!   the rest are not attempted. A run triggered there is queued when the batch commits
//!   (and answers 202 `queued` without waiting).
//!
//! A batch with an `Idempotency-Key` runs inside the unit of work the idempotency layer
//! began for it (its operations may not carry keys of their own): every operation is a
//! savepoint of that unit, nothing is sent between transactions, so nothing waits.

mod atomic;
mod dispatch;
mod parse;
mod txn;

use crate::error::AppResult;
use crate::rest::RestApi;
use crate::service::unit::Unit;
use crate::service::Services;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
pub use dispatch::ALLOWED_HEADERS;
use dispatch::{Dispatcher, Outcome};
use serde_json::{json, Value};
use std::sync::Arc;
use txn::BatchTxn;

/// The batch route's path.
pub const PATH: &str = "/v1/batch";

/// What the batch route needs: the router its operations go through (every route but
/// this one), the route table (to tell a stream or a waiting route), the services (to
/// begin a transaction) and the body limit.
#[derive(Clone)]
pub struct Batch {
    inner: Router,
    api: Arc<RestApi>,
    services: Services,
    body_limit: usize,
}

impl Batch {
    /// The batch route over `inner`, which must not contain it.
    pub fn new(inner: Router, api: Arc<RestApi>, services: Services, body_limit: usize) -> Self {
        Self {
            inner,
            api,
            services,
            body_limit,
        }
    }

    /// `POST /v1/batch`, for any router state.
    pub fn routes<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new().route(
            PATH,
            post(move |req: Request| {
                let batch = self.clone();
                async move {
                    match batch.run(req).await {
                        Ok(res) => res,
                        Err(err) => err.into_response(),
                    }
                }
            }),
        )
    }

    async fn run(&self, req: Request) -> AppResult<Response> {
        let (parts, body) = req.into_parts();
        let headers_only = Request::from_parts(parts.clone(), body);
        let value = super::exec::read_json_body(self.body_limit, headers_only, false).await?;
        let batch = parse::batch(value)?;
        let dispatcher = Dispatcher::new(&self.inner, &self.api, &parts);
        let txn = BatchTxn::new(&self.services, Unit::of(&parts.extensions));
        if batch.atomic {
            return atomic::run(&dispatcher, txn, &batch.operations).await;
        }
        let results = each(&dispatcher, txn, &batch.operations).await?;
        let results: Vec<Value> = results.iter().map(Outcome::to_json).collect();
        Ok(Json(json!({ "results": results })).into_response())
    }
}

/// A non-atomic batch: every operation, each kept or rolled back on its own.
async fn each(
    d: &Dispatcher<'_>,
    mut txn: BatchTxn<'_>,
    ops: &[parse::Operation],
) -> AppResult<Vec<Outcome>> {
    let mut results = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let prepared = match d.prepare(index, op) {
            Ok(p) => p,
            Err(err) => {
                results.push(Outcome::error(err).await);
                continue;
            }
        };
        if prepared.waits && txn.can_step_out() {
            // What was done so far is committed first: this operation may depend on it.
            txn.commit(&mut results).await;
            results.push(d.send(prepared.request, None).await);
            continue;
        }
        if !prepared.writes && !txn.is_open() {
            results.push(d.send(prepared.request, None).await);
            continue;
        }
        let outcome = match txn.savepoint().await {
            Ok(savepoint) => {
                let outcome = d.send(prepared.request, Some(&savepoint)).await;
                txn.settle(index, savepoint, outcome, &mut results).await
            }
            Err(err) => Outcome::error(err).await,
        };
        results.push(outcome);
    }
    txn.commit(&mut results).await;
    Ok(results)
}
