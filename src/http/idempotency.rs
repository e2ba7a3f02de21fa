//! The idempotency layer: `Idempotency-Key` on any POST, PATCH or DELETE under `/v1`
//! and on GraphQL mutations. The rules are `service::idempotency`'s; this layer reads
//! the key and the body, claims the key, runs the request on a unit of work, and stores
//! the answer in that unit's transaction (or lets the key go when the request failed,
//! which changed nothing).

use super::auth::Refusal;
use crate::auth::Principal;
use crate::error::AppError;
use crate::service::idempotency::{self as keys, Claim, Lock, Stored};
use crate::service::unit::Unit;
use crate::service::Services;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use futures::future::BoxFuture;
use http::{header, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The header clients send.
pub const KEY: &str = "idempotency-key";
/// The header a replayed answer carries.
pub const REPLAYED: &str = "idempotent-replayed";
/// Largest answer stored (larger ones are answered but not kept: their key lets go).
const MAX_STORED: usize = 8 << 20;

/// Which API a layer guards: REST keys every write; GraphQL keys mutations only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/v1/...`.
    Rest,
    /// `POST /graphql`.
    Graphql,
}

/// The layer's state. One `Arc`: axum clones a layer's state for every request, and
/// most requests (reads, writes without a key) only look for the header.
#[derive(Clone)]
pub struct Idempotency(Arc<Inner>);

/// What the layer holds.
pub struct Inner {
    services: Services,
    api: Api,
    refuse: Refusal,
}

impl std::ops::Deref for Idempotency {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Idempotency {
    /// Whether keys are honoured (`idempotency.enabled`).
    pub fn enabled(&self) -> bool {
        self.services.config.idempotency.enabled
    }

    /// A layer for `api`, refusing in that API's shape.
    pub fn new(services: Services, api: Api, refuse: Refusal) -> Self {
        Self(Arc::new(Inner {
            services,
            api,
            refuse,
        }))
    }
}

/// The layer: `routes.route_layer(IdempotencyLayer::new(keys))`. A hand-written tower
/// layer rather than `from_fn`, so a request without the header goes straight to the
/// route (no boxing, no clone of the stack): reads pay nothing for it.
#[derive(Clone)]
pub struct IdempotencyLayer(Idempotency);

impl IdempotencyLayer {
    /// The layer for these keys.
    pub fn new(keys: Idempotency) -> Self {
        Self(keys)
    }
}

impl<S> tower::Layer<S> for IdempotencyLayer {
    type Service = KeyedService<S>;

    fn layer(&self, inner: S) -> KeyedService<S> {
        KeyedService {
            st: self.0.clone(),
            inner,
        }
    }
}

/// The layer's service around a route.
#[derive(Clone)]
pub struct KeyedService<S> {
    st: Idempotency,
    inner: S,
}

impl<S> tower::Service<Request> for KeyedService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future =
        futures::future::Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if !req.headers().contains_key(KEY) {
            return futures::future::Either::Left(self.inner.call(req));
        }
        // The ready service goes with the request; a fresh clone stays for the next.
        let fresh = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, fresh);
        let st = self.st.clone();
        futures::future::Either::Right(Box::pin(async move { Ok(guard(st, req, ready).await) }))
    }
}

/// Sends `req` on to the route (a service that is ready).
async fn forward<S>(mut next: S, req: Request) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    match next.call(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// Claims the request's key, then replays, refuses or runs it (see the module doc).
async fn guard<S>(st: Idempotency, req: Request, next: S) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let Some(raw) = req.headers().get(KEY).cloned() else {
        return forward(next, req).await;
    };
    let writes = matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE);
    let graphql_post = st.api == Api::Graphql && req.uri().path() == "/graphql";
    if !writes || (st.api == Api::Graphql && !graphql_post) {
        return forward(next, req).await;
    }
    let key = match keys::check_key(raw.as_bytes()) {
        Ok(key) => key,
        Err(err) => return (st.refuse)(&req, err),
    };
    let Some(p) = req.extensions().get::<Arc<Principal>>().cloned() else {
        return forward(next, req).await;
    };
    if Unit::of(req.extensions()).is_some() {
        let err = AppError::BadRequest(
            "an operation of a batch cannot carry its own Idempotency-Key; put the key on the batch request".into(),
        );
        return (st.refuse)(&req, err);
    }
    let (parts, body) = req.into_parts();
    let limit = st.services.config.body_limit_bytes;
    let bytes = match super::body::read(body, limit).await {
        Ok(bytes) => bytes,
        Err(err) => return (st.refuse)(&Request::from_parts(parts, Body::empty()), err),
    };
    let route = match st.api {
        Api::Rest => parts.uri.path().to_owned(),
        Api::Graphql => match mutation_name(&bytes) {
            Some(name) => format!("graphql {name}"),
            // Queries change nothing: nothing to make idempotent.
            None => return forward(next, Request::from_parts(parts, Body::from(bytes))).await,
        },
    };
    let fp = keys::fingerprint(parts.method.as_str(), &route, &bytes);
    let req = Request::from_parts(parts, Body::from(bytes));
    let pool = st.services.db.pool();
    let claim = keys::claim(pool, &st.services.config.idempotency, &p.org_id, &key, &fp).await;
    match claim {
        Err(err) => (st.refuse)(&req, err),
        Ok(Claim::Replay(stored)) => replay(stored),
        Ok(Claim::InUse) => (st.refuse)(
            &req,
            AppError::IdempotencyKeyInUse(
                "a request with this Idempotency-Key is still in progress; retry shortly for its answer".into(),
            ),
        ),
        Ok(Claim::Reused) => (st.refuse)(
            &req,
            AppError::IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request (method, route or body); use a new key".into(),
            ),
        ),
        Ok(Claim::Held(lock)) => run(&st, lock, req, next).await,
    }
}

/// The name of the mutation a GraphQL body asks for (`None`: not a mutation, or not a
/// document this layer can read; execution reports those). A batch (JSON array) that
/// holds a mutation is keyed as a whole.
fn mutation_name(body: &[u8]) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let ops = match &json {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let names: Vec<String> = ops
        .into_iter()
        .filter_map(|op| {
            let query = op.get("query")?.as_str()?;
            let wanted = op.get("operationName").and_then(Value::as_str);
            let doc = async_graphql::parser::parse_query(query).ok()?;
            let (name, ty) = match &doc.operations {
                DocumentOperations::Single(op) => (None, op.node.ty),
                DocumentOperations::Multiple(ops) => {
                    let (name, op) = match wanted {
                        Some(w) => ops.iter().find(|(n, _)| n.as_str() == w)?,
                        None if ops.len() == 1 => ops.iter().next()?,
                        None => return None,
                    };
                    (Some(name.to_string()), op.node.ty)
                }
            };
            (ty == OperationType::Mutation)
                .then(|| wanted.map(str::to_owned).or(name).unwrap_or_default())
        })
        .collect();
    (!names.is_empty()).then(|| names.join(","))
}

fn replay(stored: Stored) -> Response {
    let mut res = Response::new(Body::from(stored.body));
    *res.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    for (name, value) in stored.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            res.headers_mut().insert(n, v);
        }
    }
    res.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

/// Runs a request that holds its key on a unit of work and keeps its answer.
async fn run<S>(st: &Idempotency, lock: Lock, mut req: Request, next: S) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let pool = st.services.db.pool().clone();
    let unit = match Unit::begin(&st.services).await {
        Ok(unit) => unit,
        Err(err) => {
            let _ = keys::release(&pool, &lock).await;
            return (st.refuse)(&req, err);
        }
    };
    let marker = lock.clone();
    unit.allow_flush(
        Box::new(move |txn| Box::pin(async move { keys::mark_committed(txn, &marker).await })),
        lock.run_id.clone(),
    );
    req.extensions_mut().insert(unit.clone());
    // What a refusal after the request ran is shaped from (its Accept header).
    let mut refused = Request::new(Body::empty());
    *refused.headers_mut() = req.headers().clone();
    let res = forward(next, req).await;
    let (parts, body) = res.into_parts();
    let streamed = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if streamed {
        // A stream cannot be stored: its replay is the run's own event stream, which
        // replays from the start.
        let location = lock
            .run_id
            .as_ref()
            .map(|id| format!("/v1/runs/{id}/events"))
            .unwrap_or_default();
        let stored = Stored {
            status: StatusCode::SEE_OTHER.as_u16(),
            headers: vec![("location".into(), location)],
            body: String::new(),
        };
        return keep(
            &unit,
            &lock,
            stored,
            Response::from_parts(parts, body),
            st,
            refused,
        )
        .await;
    }
    let bytes = match axum::body::to_bytes(body, MAX_STORED).await {
        Ok(bytes) => bytes,
        Err(err) => {
            let _ = unit.rollback().await;
            let _ = keys::release(&pool, &lock).await;
            return (st.refuse)(&refused, AppError::internal(anyhow::anyhow!("{err}")));
        }
    };
    if !succeeded(st.api, parts.status, &bytes) {
        // Nothing it did is kept, so nothing is stored: a retry runs again.
        let _ = unit.rollback().await;
        let _ = keys::release(&pool, &lock).await;
        return Response::from_parts(parts, Body::from(bytes));
    }
    let headers = [header::CONTENT_TYPE, header::LOCATION]
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    let stored = Stored {
        status: parts.status.as_u16(),
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    let res = Response::from_parts(parts, Body::from(bytes));
    keep(&unit, &lock, stored, res, st, refused).await
}

/// Stores the answer in the unit's transaction and commits both.
async fn keep(
    unit: &Unit,
    lock: &Lock,
    stored: Stored,
    res: Response,
    st: &Idempotency,
    refused: Request,
) -> Response {
    let db = unit.services().db;
    if let Err(err) = keys::record(&db, lock, &stored).await {
        let _ = unit.clone().rollback().await;
        return (st.refuse)(&refused, err);
    }
    match unit.clone().commit().await {
        Ok(()) => res,
        Err(err) => {
            let _ = keys::release(st.services.db.pool(), lock).await;
            (st.refuse)(&refused, err)
        }
    }
}

/// Whether an answer is a success to keep: a 2xx, and for GraphQL one without errors.
fn succeeded(api: Api, status: StatusCode, body: &Bytes) -> bool {
    if !status.is_success() {
        return false;
    }
    match api {
        Api::Rest => true,
        Api::Graphql => serde_json::from_slice::<Value>(body).is_ok_and(|v| match v {
            Value::Array(items) => items.iter().all(|i| i.get("errors").is_none()),
            other => other.get("errors").is_none(),
        }),
    }
}
