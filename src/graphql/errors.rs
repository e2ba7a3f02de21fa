//! Gives every GraphQL error its `extensions.code`, in one place for every transport.
//! Errors raised as [`AppError`] carry their code (upper case) and field errors;
//! internal errors are logged here and replaced by an opaque message with the request id.

use crate::error::{AppError, Code};
use crate::http::request_id::RequestId;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe,
};
use async_graphql::{Response, ServerError, Value};
use futures::stream::BoxStream;
use futures::StreamExt;
use std::sync::Arc;

/// The extension that decorates errors.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        // The HTTP task's id when there is one; the request's data otherwise (e.g. a
        // subscription running on a WebSocket task).
        let request_id = crate::http::request_id::current()
            .or_else(|| ctx.data_opt::<RequestId>().map(|r| r.0.clone()));
        for err in &mut response.errors {
            decorate(err, request_id.as_deref());
        }
        response
    }

    /// Subscriptions bypass `request`: their results are decorated one by one.
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let request_id = crate::http::request_id::current()
            .or_else(|| ctx.data_opt::<RequestId>().map(|r| r.0.clone()));
        next.run(ctx, stream)
            .map(move |mut response| {
                for err in &mut response.errors {
                    decorate(err, request_id.as_deref());
                }
                response
            })
            .boxed()
    }
}

/// Sets `extensions.code` (and `extensions.errors` for validation, and the error's own
/// members such as a plan limit's `limit` and `tier`) on one error.
pub fn decorate(err: &mut ServerError, request_id: Option<&str>) {
    if err
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
    {
        return;
    }
    let mut fields = Vec::new();
    let mut scope = None;
    let mut members = serde_json::Map::new();
    let mut internal = false;
    let code = match err.source::<AppError>() {
        Some(app) => {
            if let AppError::Internal(inner) = app {
                tracing::error!(error = ?inner, request_id, "internal error in a GraphQL resolver");
                internal = true;
            }
            fields = app
                .field_errors()
                .iter()
                .map(|f| {
                    let mut map = async_graphql::indexmap::IndexMap::new();
                    map.insert(
                        async_graphql::Name::new("pointer"),
                        Value::String(f.pointer.clone()),
                    );
                    map.insert(
                        async_graphql::Name::new("detail"),
                        Value::String(f.detail.clone()),
                    );
                    Value::Object(map)
                })
                .collect();
            if let AppError::InsufficientScope(s) = app {
                scope = Some(s.clone());
            }
            members = app.members();
            app.code().graphql()
        }
        None if err.path.is_empty() => Code::GraphqlValidationFailed.graphql(),
        None => Code::BadUserInput.graphql(),
    };
    if internal {
        err.message = format!(
            "internal error (request id {})",
            request_id.unwrap_or("unknown")
        );
    }
    let ext = err.extensions.get_or_insert_with(Default::default);
    ext.set("code", code);
    if !fields.is_empty() {
        ext.set("errors", Value::List(fields));
    }
    if let Some(scope) = scope {
        ext.set("scope", scope);
    }
    // The same members as the REST problem document (`AppError::members`).
    for (name, value) in members {
        if let Ok(value) = Value::from_json(value) {
            ext.set(name, value);
        }
    }
}
