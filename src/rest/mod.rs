//! The REST translation module (DESIGN.md §3): each `/v1` route is a row of
//! [`table::ROUTES`] executed as its stored GraphQL operation on the same schema.

pub mod batch;
pub mod document;
pub mod enums;
pub mod exec;
pub mod openapi;
pub mod params;
pub mod route;
pub mod sse;
pub mod table;
pub mod types;
mod upload;

use crate::config::Config;
use crate::graphql::AppSchema;
use crate::http::streams::Streams;
use axum::extract::{FromRef, RawPathParams, Request, State};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use document::Operation;
use std::sync::Arc;
use table::RouteDef;
use types::Types;

/// What the REST handlers need (extracted from the application's state by `FromRef`).
#[derive(Clone)]
pub struct RestState {
    /// The schema the stored operations run on.
    pub schema: AppSchema,
    /// The compiled route table.
    pub rest: Arc<RestApi>,
    /// Open streams (an SSE response holds a slot).
    pub streams: Streams,
    /// The configuration (body limit).
    pub config: Arc<Config>,
}

/// A route with its compiled operation.
pub struct CompiledRoute {
    /// The table row.
    pub def: RouteDef,
    /// The parsed operation.
    pub op: Operation,
    /// The subscription streamed on request, if the route has one.
    pub stream_op: Option<Operation>,
    /// Where `op`'s result holds enum values (REST spells them its own way).
    pub enums: enums::EnumFields,
    /// The same for `stream_op`.
    pub stream_enums: enums::EnumFields,
}

/// Every REST route, compiled once at start-up, and the schema's types.
pub struct RestApi {
    /// Routes in table order.
    pub routes: Vec<CompiledRoute>,
    /// The schema's types, for coercion and OpenAPI.
    pub types: Types,
    /// The OpenAPI document, rendered once.
    pub openapi: String,
}

impl RestApi {
    /// Compiles the table against `schema`; a bad stored document stops start-up.
    pub fn new(schema: &AppSchema) -> anyhow::Result<Self> {
        let types = Types::from_sdl(&schema.sdl())?;
        let routes = table::ROUTES
            .iter()
            .map(|def| {
                let stream_op = match def.stream {
                    Some(stream) => Some(Operation::compile(&RouteDef {
                        operation: stream.operation,
                        shape: table::Shape::Stream,
                        ..*def
                    })?),
                    None => None,
                };
                let op = Operation::compile(def)?;
                Ok(CompiledRoute {
                    def: *def,
                    enums: enums::EnumFields::of(&op, &types),
                    stream_enums: stream_op
                        .as_ref()
                        .map(|s| enums::EnumFields::of(s, &types))
                        .unwrap_or_default(),
                    op,
                    stream_op,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut api = Self {
            routes,
            types,
            openapi: String::new(),
        };
        api.openapi = serde_json::to_string_pretty(&openapi::generate(&api))?;
        Ok(api)
    }
}

fn filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PATCH" => MethodFilter::PATCH,
        "PUT" => MethodFilter::PUT,
        _ => MethodFilter::DELETE,
    }
}

/// The axum routes of the table: one generic handler, parameterised by row.
pub fn routes<S>(api: &RestApi) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    RestState: FromRef<S>,
{
    let mut by_path: Vec<(&'static str, MethodRouter<S>)> = Vec::new();
    for (idx, route) in api.routes.iter().enumerate() {
        let handler = move |State(state): State<RestState>, params: RawPathParams, req: Request| async move {
            exec::handle(state, idx, params, req).await
        };
        let method_router = on(filter(route.def.method), handler);
        match by_path.iter_mut().find(|(p, _)| *p == route.def.path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(method_router),
            None => by_path.push((route.def.path, method_router)),
        }
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, mr)| router.route(path, mr))
}

/// The OpenAPI document as `orchstack openapi` prints it (no database needed).
pub fn openapi_document() -> anyhow::Result<String> {
    let schema = crate::graphql::schema_builder(&crate::config::Config::default()).finish();
    Ok(RestApi::new(&schema)?.openapi)
}
