//! GraphQL over Server-Sent Events (graphql-sse, "distinct connections" mode) at
//! `/graphql/stream`: each POST carries one operation; results arrive as `next` events
//! and the stream ends with `complete`. A stream whose key is revoked, or whose server is
//! shutting down, gets a last `next` with the error (`extensions.code`) before `complete`.

use super::http::GraphqlState;
use crate::http::streams::End;
use async_graphql::{Request as GqlRequest, Variables};
use axum::extract::{Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;
use std::convert::Infallible;
use std::time::Duration;

/// Executes one operation and streams its results.
pub async fn handler(State(state): State<GraphqlState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match crate::http::body::read(body, state.config.body_limit_bytes).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let params: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return crate::error::AppError::BadRequest("send a JSON object with `query`".into())
                .into_response()
        }
    };
    let Some(query) = params["query"].as_str() else {
        return crate::error::AppError::BadRequest("the request has no `query` string".into())
            .into_response();
    };
    let guard = match state.streams.acquire_caller(&parts.extensions) {
        Ok(guard) => guard,
        Err(e) => return e.into_response(),
    };
    let mut gql = super::with_caller(GqlRequest::new(query), &parts.extensions);
    if let Some(name) = params["operationName"].as_str() {
        gql = gql.operation_name(name);
    }
    if params["variables"].is_object() {
        gql = gql.variables(Variables::from_json(params["variables"].clone()));
    }
    let events = guard
        .bound(state.schema.execute_stream(gql))
        .map(|item| {
            let resp = item.unwrap_or_else(ended);
            Ok::<_, Infallible>(
                Event::default()
                    .event("next")
                    .data(serde_json::to_string(&resp).unwrap_or_default()),
            )
        })
        .chain(futures::stream::once(async {
            Ok(Event::default().event("complete").data(""))
        }));
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The last result of a stream ended early: its error, with its code.
fn ended(end: End) -> async_graphql::Response {
    let app = end.error();
    let mut err = async_graphql::ServerError::new(app.public_message(), None);
    err.source = Some(std::sync::Arc::new(app));
    super::errors::decorate(&mut err, None);
    async_graphql::Response::from_errors(vec![err])
}
