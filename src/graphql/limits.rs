//! The GraphQL limits as one async-graphql extension, so that every transport (GraphQL
//! over HTTP, both WebSocket protocols, graphql-sse and REST, which all execute on the
//! schema) gets them: the document's cost ([`super::cost`]) is checked before
//! async-graphql validates it, and the response is counted while it is built and
//! refused once it passes `max_response_bytes` (each subscription event on its own).
//!
//! The cost measured here is also what a GraphQL request is charged against its
//! organisation's rate limit: the GraphQL HTTP transports hand the request's [`Meter`]
//! over as data (REST does not: a REST call costs 1, whatever its stored document).
//! It is charged before validation and execution, so a refused document does no work.

use super::cost::{self, Refusal, MAX_RECURSIVE_DEPTH};
use crate::config::GraphqlConfig;
use crate::error::AppError;
use crate::http::rate_limit::Meter;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest, NextResolve,
    ResolveInfo,
};
use async_graphql::registry::Registry;
use async_graphql::{Pos, Request, Response, ServerError, ServerResult, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The extension enforcing `config.graphql`'s cost and response limits.
pub struct Limits {
    cost: cost::Caps,
    max_response_bytes: usize,
}

impl Limits {
    /// The limits `config` sets.
    pub fn new(config: &GraphqlConfig) -> Self {
        Self {
            cost: config.into(),
            max_response_bytes: config.max_response_bytes,
        }
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension {
            cost: self.cost,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

struct LimitsExtension {
    cost: cost::Caps,
    max_response_bytes: usize,
}

tokio::task_local! {
    /// The response budget of the execution being polled; field resolvers run inside
    /// the execution's future, so they find it here (subscription events each have one).
    static BUDGET: Arc<Budget>;
}

#[async_trait::async_trait]
impl Extension for LimitsExtension {
    /// Parses the document (or takes the one the transport parsed), so the check runs
    /// before async-graphql's own walks, which expand fragments without memo.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // Taken out for the check: the parsed document borrows the request mutably.
        let operation = request.operation_name.take();
        let variables = std::mem::take(&mut request.variables);
        // A document that does not parse is left for async-graphql to report.
        let verdict = request.parsed_query().ok().map(|doc| {
            cost::check(
                doc,
                &ctx.schema_env.registry,
                operation.as_deref(),
                &variables,
                &self.cost,
            )
        });
        request.operation_name = operation;
        request.variables = variables;
        match verdict {
            Some(Err(refusal)) => return Err(refused(refusal)),
            Some(Ok(cost)) => {
                // The request's own data: it reaches the context only after this step.
                let meter = request
                    .data
                    .get(&std::any::TypeId::of::<Meter>())
                    .and_then(|d| d.downcast_ref::<Meter>())
                    .cloned();
                if let Some(meter) = meter {
                    meter.charge_document(cost).await.map_err(from_app)?;
                }
            }
            None => {}
        }
        next.run(ctx, request).await
    }

    /// One budget per execution. A mutation whose answer is refused has still taken
    /// effect; its answer is at most a few objects, far under any sensible cap.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let budget = Arc::new(Budget::new(self.max_response_bytes));
        let response = BUDGET
            .scope(budget.clone(), next.run(ctx, operation_name))
            .await;
        if budget.exceeded() {
            return Response::from_errors(vec![too_large(self.max_response_bytes)]);
        }
        response
    }

    /// Charges each field's share of the response; past the cap, the fields still to
    /// run are not run, and `execute` replaces the whole response with one error.
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let Ok(budget) = BUDGET.try_with(Arc::clone) else {
            return next.run(ctx, info).await;
        };
        if budget.exceeded() {
            return Err(too_large(self.max_response_bytes));
        }
        // `"key":` and a separator; a composite value's fields are charged on their own.
        let key = info.alias.unwrap_or(info.name).len() + 4;
        let leaf = is_leaf(&ctx.schema_env.registry, info.return_type);
        let value = next.run(ctx, info).await?;
        let size = match &value {
            Some(v) if leaf => json_size(v, budget.left().saturating_add(1)),
            _ => 2,
        };
        if !budget.spend(key.saturating_add(size)) {
            return Err(too_large(self.max_response_bytes));
        }
        Ok(value)
    }
}

/// The error for a refused document: a cost cap is `query_too_complex`; nesting and
/// cycles are validation errors, as async-graphql would report them.
fn refused(refusal: Refusal) -> ServerError {
    match refusal {
        Refusal::TooComplex(why) => from_app(AppError::QueryTooComplex(why)),
        Refusal::TooDeep => ServerError::new(
            format!(
                "The recursion depth of the query cannot be greater than `{MAX_RECURSIVE_DEPTH}`"
            ),
            None,
        ),
        Refusal::FragmentCycle(message) => ServerError::new(message, None),
    }
}

fn too_large(limit: usize) -> ServerError {
    from_app(AppError::ResponseTooLarge(limit))
}

/// A request-level error carrying its [`AppError`] (for `extensions.code`).
fn from_app(err: AppError) -> ServerError {
    let mut err = async_graphql::Error::from(err).into_server_error(Pos::default());
    err.locations.clear();
    err
}

/// Scalars and enums are charged by their JSON; objects by their fields.
fn is_leaf(registry: &Registry, return_type: &str) -> bool {
    registry
        .concrete_type_by_name(return_type)
        .is_none_or(|ty| ty.is_leaf())
}

/// Bytes of a response still allowed.
struct Budget {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    fn new(limit: usize) -> Self {
        Self {
            used: AtomicUsize::new(0),
            limit,
        }
    }

    /// Charges `bytes`; false once the total passes the limit.
    fn spend(&self, bytes: usize) -> bool {
        let before = self.used.fetch_add(bytes, Ordering::Relaxed);
        before.saturating_add(bytes) <= self.limit
    }

    fn left(&self) -> usize {
        self.limit.saturating_sub(self.used.load(Ordering::Relaxed))
    }

    fn exceeded(&self) -> bool {
        self.used.load(Ordering::Relaxed) > self.limit
    }
}

/// The length of `value` as JSON, counted up to `cap` (a huge value stops early).
fn json_size(value: &Value, cap: usize) -> usize {
    struct Counter {
        bytes: usize,
        cap: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes = self.bytes.saturating_add(buf.len());
            if self.bytes > self.cap {
                return Err(std::io::Error::other("over the cap"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter { bytes: 0, cap };
    // An error only means the cap was passed; the count so far says by how much.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.bytes
}
