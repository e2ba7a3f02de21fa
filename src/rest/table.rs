//! The REST route table: each row maps a method and path onto a named operation in a
//! stored document (`schema/rest/*.graphql`). Adding a route means adding a row and a
//! document, never a handler.

/// How the GraphQL result becomes the REST body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The root field's object is the body.
    Object,
    /// A connection becomes `{object: "list", data, has_more, next_cursor}`.
    List,
    /// The root field is an id: `{id, object, deleted: true}`.
    Deleted(&'static str),
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
}

const AGENTS: &str = include_str!("../../schema/rest/agents.graphql");
const API_KEYS: &str = include_str!("../../schema/rest/api_keys.graphql");

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
];
