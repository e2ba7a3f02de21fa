//! What a row of the REST route table says: the types of [`super::table::ROUTES`] and
//! the constructors its rows are written with.

use crate::auth::Principal;
use crate::error::AppResult;

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
    /// The body may also be `multipart/form-data` (each file part becomes one of
    /// `documents`), within `knowledge.max_request_bytes` instead of `body_limit_bytes`.
    pub uploads: bool,
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

// One argument per column keeps the table readable as a table.
#[allow(clippy::too_many_arguments)]
pub(super) const fn row(
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
        uploads: false,
    }
}

impl RouteDef {
    /// 202 while the result's `field` says the work is still going.
    pub(super) const fn accepted(mut self, field: &'static str, going: fn(&str) -> bool) -> Self {
        self.accepted = Some(Accepted { field, going });
        self
    }

    /// Takes file uploads (see [`RouteDef::uploads`]).
    pub(super) const fn uploads(mut self) -> Self {
        self.uploads = true;
        self
    }

    /// Streams on request (see [`StreamOnRequest`]).
    pub(super) const fn streams(mut self, stream: StreamOnRequest) -> Self {
        self.stream = Some(stream);
        self
    }
}
