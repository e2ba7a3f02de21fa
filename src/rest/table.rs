//! The REST route table: each row maps a method and path onto a named operation in a
//! stored document (`schema/rest/*.graphql`). Adding a route means adding a row and a
//! document, never a handler.

use crate::auth::Principal;
use crate::error::AppResult;
use crate::service::runs;

/// How the GraphQL result becomes the REST body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The root field's object is the body.
    Object,
    /// A connection becomes `{object: "list", data, has_more, next_cursor}`.
    List,
    /// The root field is an id: `{id, object, deleted: true}`.
    Deleted(&'static str),
    /// A subscription streamed as Server-Sent Events: `id:` the item's `seq`, `event:`
    /// its `type`, `data:` its `data`. `Last-Event-ID` becomes the `$after` variable.
    Stream,
}

/// One REST route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDef {
    /// HTTP method.
    pub method: &'static str,
    /// Path with `{param}` segments; each param is a variable of the same name.
    pub path: &'static str,
    /// The stored document's source.
    pub document: &'static str,
    /// The operation in that document.
    pub operation: &'static str,
    /// Success status.
    pub status: u16,
    /// How the result is shaped.
    pub shape: Shape,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// OpenAPI tag.
    pub tag: &'static str,
    /// Answer 202 instead of `status` while the result says its work is still going.
    pub accepted: Option<Accepted>,
    /// A subscription in the same document to stream instead, when the client asks for
    /// `text/event-stream` (or sends `"stream": true`).
    pub stream: Option<StreamOnRequest>,
}

/// When a route answers 202 Accepted: the result's `field` names a state whose work is
/// still going (the service says which states those are).
#[derive(Debug, Clone, Copy)]
pub struct Accepted {
    /// The REST key of the state in the result.
    pub field: &'static str,
    /// Whether a value of that field means the work is still going.
    pub going: fn(&str) -> bool,
}

/// A route that streams what it starts, when the client asks for `text/event-stream`
/// or sends `"stream": true`: the mutation runs without waiting, then the subscription
/// streams the started work's events.
#[derive(Debug, Clone, Copy)]
pub struct StreamOnRequest {
    /// The subscription operation, in the route's document.
    pub operation: &'static str,
    /// The input field and the value that make the mutation answer without waiting.
    pub no_wait: (&'static str, &'static str),
    /// The REST key of the result that becomes the subscription's `$id`.
    pub id_field: &'static str,
    /// Checked before the mutation: a refused stream starts nothing.
    pub authorize: fn(&Principal) -> AppResult<()>,
}

const AGENTS: &str = include_str!("../../schema/rest/agents.graphql");
const API_KEYS: &str = include_str!("../../schema/rest/api_keys.graphql");
const RUNS: &str = include_str!("../../schema/rest/runs.graphql");
const WEBHOOKS: &str = include_str!("../../schema/rest/webhooks.graphql");
const GATES: &str = include_str!("../../schema/rest/gates.graphql");

// One argument per column keeps the table below readable as a table.
#[allow(clippy::too_many_arguments)]
const fn row(
    method: &'static str,
    path: &'static str,
    document: &'static str,
    operation: &'static str,
    status: u16,
    shape: Shape,
    summary: &'static str,
    tag: &'static str,
) -> RouteDef {
    RouteDef {
        method,
        path,
        document,
        operation,
        status,
        shape,
        summary,
        tag,
        accepted: None,
        stream: None,
    }
}

impl RouteDef {
    /// 202 while the result's `field` says the work is still going.
    const fn accepted(mut self, field: &'static str, going: fn(&str) -> bool) -> Self {
        self.accepted = Some(Accepted { field, going });
        self
    }

    /// Streams on request (see [`StreamOnRequest`]).
    const fn streams(mut self, stream: StreamOnRequest) -> Self {
        self.stream = Some(stream);
        self
    }
}

/// Every REST route.
pub const ROUTES: &[RouteDef] = &[
    row(
        "POST",
        "/v1/agents",
        AGENTS,
        "CreateAgent",
        201,
        Shape::Object,
        "Create a new agent",
        "agents",
    ),
    row(
        "GET",
        "/v1/agents",
        AGENTS,
        "ListAgents",
        200,
        Shape::List,
        "List all agents",
        "agents",
    ),
    row(
        "GET",
        "/v1/agents/{id}",
        AGENTS,
        "GetAgent",
        200,
        Shape::Object,
        "Get agent details",
        "agents",
    ),
    row(
        "PATCH",
        "/v1/agents/{id}",
        AGENTS,
        "UpdateAgent",
        200,
        Shape::Object,
        "Update an agent",
        "agents",
    ),
    row(
        "DELETE",
        "/v1/agents/{id}",
        AGENTS,
        "DeleteAgent",
        200,
        Shape::Deleted("agent"),
        "Delete an agent",
        "agents",
    ),
    row(
        "GET",
        "/v1/agents/{id}/versions",
        AGENTS,
        "ListAgentVersions",
        200,
        Shape::List,
        "List an agent's versions",
        "agents",
    ),
    row(
        "POST",
        "/v1/api-keys",
        API_KEYS,
        "CreateApiKey",
        201,
        Shape::Object,
        "Create an API key (its secret is shown once)",
        "api-keys",
    ),
    row(
        "GET",
        "/v1/api-keys",
        API_KEYS,
        "ListApiKeys",
        200,
        Shape::List,
        "List API keys",
        "api-keys",
    ),
    row(
        "GET",
        "/v1/api-keys/{id}",
        API_KEYS,
        "GetApiKey",
        200,
        Shape::Object,
        "Get an API key",
        "api-keys",
    ),
    row(
        "DELETE",
        "/v1/api-keys/{id}",
        API_KEYS,
        "RevokeApiKey",
        200,
        Shape::Object,
        "Revoke an API key",
        "api-keys",
    ),
    row(
        "POST",
        "/v1/agents/{id}/run",
        RUNS,
        "RunAgent",
        200,
        Shape::Object,
        "Trigger an agent run",
        "runs",
    )
    .accepted("status", runs::is_going)
    .streams(StreamOnRequest {
        operation: "RunAgentEvents",
        no_wait: ("mode", "async"),
        id_field: "run_id",
        authorize: runs::authorize_streamed,
    }),
    row(
        "GET",
        "/v1/runs",
        RUNS,
        "ListRuns",
        200,
        Shape::List,
        "List all runs with filters",
        "runs",
    ),
    row(
        "GET",
        "/v1/runs/{id}",
        RUNS,
        "GetRun",
        200,
        Shape::Object,
        "Get run details and trace",
        "runs",
    ),
    row(
        "POST",
        "/v1/runs/{id}/cancel",
        RUNS,
        "CancelRun",
        200,
        Shape::Object,
        "Cancel a run",
        "runs",
    )
    .accepted("status", runs::is_active),
    row(
        "GET",
        "/v1/runs/{id}/events",
        RUNS,
        "RunEvents",
        200,
        Shape::Stream,
        "Stream a run's events (SSE)",
        "runs",
    ),
    row(
        "POST",
        "/v1/webhooks",
        WEBHOOKS,
        "CreateWebhookEndpoint",
        201,
        Shape::Object,
        "Create a webhook endpoint (its secret is shown once)",
        "webhooks",
    ),
    row(
        "GET",
        "/v1/webhooks",
        WEBHOOKS,
        "ListWebhookEndpoints",
        200,
        Shape::List,
        "List webhook endpoints",
        "webhooks",
    ),
    row(
        "GET",
        "/v1/webhooks/{id}",
        WEBHOOKS,
        "GetWebhookEndpoint",
        200,
        Shape::Object,
        "Get a webhook endpoint",
        "webhooks",
    ),
    row(
        "PATCH",
        "/v1/webhooks/{id}",
        WEBHOOKS,
        "UpdateWebhookEndpoint",
        200,
        Shape::Object,
        "Update, disable or re-enable a webhook endpoint",
        "webhooks",
    ),
    row(
        "DELETE",
        "/v1/webhooks/{id}",
        WEBHOOKS,
        "DeleteWebhookEndpoint",
        200,
        Shape::Deleted("webhook_endpoint"),
        "Delete a webhook endpoint",
        "webhooks",
    ),
    row(
        "POST",
        "/v1/webhooks/{id}/rotate-secret",
        WEBHOOKS,
        "RotateWebhookSecret",
        200,
        Shape::Object,
        "Rotate a webhook endpoint's secret (the new one is shown once)",
        "webhooks",
    ),
    row(
        "POST",
        "/v1/webhooks/{id}/test",
        WEBHOOKS,
        "TestWebhookEndpoint",
        202,
        Shape::Object,
        "Send a webhook.test event to an endpoint",
        "webhooks",
    ),
    row(
        "GET",
        "/v1/webhooks/{id}/deliveries",
        WEBHOOKS,
        "ListWebhookDeliveries",
        200,
        Shape::List,
        "List an endpoint's deliveries with their events and attempts",
        "webhooks",
    ),
    row(
        "POST",
        "/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
        WEBHOOKS,
        "RetryWebhookDelivery",
        202,
        Shape::Object,
        "Retry a webhook delivery now",
        "webhooks",
    ),
    row(
        "GET",
        "/v1/gates",
        GATES,
        "ListGates",
        200,
        Shape::List,
        "List approval gates with filters",
        "gates",
    ),
    row(
        "GET",
        "/v1/gates/{id}",
        GATES,
        "GetGate",
        200,
        Shape::Object,
        "Get an approval gate",
        "gates",
    ),
    row(
        "POST",
        "/v1/gates/{id}/approve",
        GATES,
        "ApproveGate",
        200,
        Shape::Object,
        "Approve a pending gate (the run goes on and calls the tool)",
        "gates",
    ),
    row(
        "POST",
        "/v1/gates/{id}/reject",
        GATES,
        "RejectGate",
        200,
        Shape::Object,
        "Reject a pending gate (the model is told the call was refused)",
        "gates",
    ),
];
