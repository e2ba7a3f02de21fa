//! Streaming REST routes: a subscription's results written as Server-Sent Events, each
//! with `id:` (the item's `seq`), `event:` (its `type`) and `data:` (its `data`), with
//! heartbeats while idle. An error before the first item is a problem+json answer. A
//! stream whose key is revoked, or whose server is shutting down, ends with an `error`
//! event carrying the `code` (`unauthenticated`, `unavailable`).

use super::enums::EnumFields;
use super::exec::graphql_error_to_problem;
use super::RestState;
use crate::http::streams::{End, StreamGuard};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;
use std::convert::Infallible;
use std::time::Duration;

/// How long to wait for a subscription's first result to tell an access error from a
/// quiet stream.
const FIRST_ITEM_WAIT: Duration = Duration::from_millis(100);
/// Heartbeat interval (an SSE comment) on idle streams.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

fn event_of(item: Result<async_graphql::Response, End>, field: &str, enums: &EnumFields) -> Event {
    let resp = match item {
        Ok(resp) => resp,
        Err(end) => {
            let err = end.error();
            return Event::default().event("error").data(
                serde_json::json!({ "code": err.code(), "message": err.public_message() })
                    .to_string(),
            );
        }
    };
    if let Some(err) = resp.errors.first() {
        return Event::default()
            .event("error")
            .data(serde_json::json!({ "message": err.message }).to_string());
    }
    let mut data = resp.data.into_json().unwrap_or(Value::Null);
    enums.to_rest(&mut data);
    let item = &data[field];
    let mut event = Event::default().data(item["data"].to_string());
    if let Some(kind) = item["type"].as_str() {
        event = event.event(kind);
    }
    if let Some(seq) = item["seq"].as_i64() {
        event = event.id(seq.to_string());
    }
    event
}

/// Runs the subscription and answers with its SSE stream, which holds `guard`; `field` is
/// its root field, `enums` where its items hold enum values (the event name is one).
pub async fn respond(
    state: &RestState,
    gql: async_graphql::Request,
    field: String,
    enums: EnumFields,
    guard: StreamGuard,
) -> Response {
    let mut stream = guard.bound(state.schema.execute_stream(gql)).boxed();
    let first = match tokio::time::timeout(FIRST_ITEM_WAIT, stream.next()).await {
        Ok(Some(Ok(resp))) if !resp.errors.is_empty() => {
            return graphql_error_to_problem(&resp.errors[0])
        }
        Ok(Some(resp)) => Some(resp),
        Ok(None) | Err(_) => None,
    };
    let (field2, enums2) = (field.clone(), enums.clone());
    let events = futures::stream::iter(first)
        .map(move |r| event_of(r, &field2, &enums2))
        .chain(stream.map(move |r| event_of(r, &field, &enums)))
        .map(Ok::<_, Infallible>);
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT))
        .into_response()
}
