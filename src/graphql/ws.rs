//! GraphQL over WebSocket at `/graphql/ws`. The `graphql-transport-ws` protocol is
//! implemented here, with the close codes the protocol requires (4400 bad message, 4401
//! subscribe before ack, 4403 rejected credentials, 4408 no `connection_init` in time,
//! 4409 duplicate subscription id, 4429 second `connection_init`); the legacy
//! `graphql-ws` (subscriptions-transport-ws) protocol is served by async-graphql inside
//! the guard of `ws_legacy`. The API key comes in the `connection_init` payload
//! (`{"authorization": "Bearer os_..."}`).
//!
//! Both protocols: messages over 1 MiB are refused before anything is read (close 1009);
//! the key is verified again (through the auth cache) for every operation, which is a
//! stream under the per-key caps (close 4429 beyond them); a revoked key's socket closes
//! with 4403, a shutdown closes every socket with 1001.
//!
//! Rate limits: a connection costs 1 request at `connection_init` and 1 per
//! `subscribe` (in both protocols). A `connection_init` over the limit closes the socket
//! with 4429 (the code this protocol already uses for "too many", with the seconds to
//! wait in the reason); a `subscribe` over the limit gets an `error` message for that
//! operation (`extensions.code` `RATE_LIMITED`) and the connection stays open.

use super::http::GraphqlState;
use crate::auth::{Authenticator, Principal};
use crate::error::AppError;
use crate::http::request_id::RequestId;
use crate::http::streams::{End, StreamGuard};
use async_graphql::{Request as GqlRequest, Variables};
use async_graphql_axum::GraphQLProtocol;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// How long a client has to send `connection_init`.
pub(super) const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest message (and frame) read from a client, authenticated or not.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Upgrades to a GraphQL WebSocket.
pub async fn handler(
    State(state): State<GraphqlState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        // Before authentication: an anonymous client cannot make the server buffer (or
        // echo) more than this.
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            let transport_ws = socket
                .protocol()
                .is_some_and(|p| p.as_bytes() == b"graphql-transport-ws");
            if transport_ws {
                Connection::new(state).serve(socket).await
            } else {
                super::ws_legacy::serve(state, socket, protocol).await
            }
        })
}

/// The `authorization` value of a `connection_init` payload.
pub(super) fn credentials(payload: &Value) -> Option<String> {
    payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

async fn authenticate(
    auth: &Authenticator,
    header: Option<&str>,
) -> crate::error::AppResult<Arc<Principal>> {
    auth.authenticate(header).await
}

/// Admits one operation: the connection's key verified again (a revoked key is refused
/// even before the revocation reaches this socket) and a place under the stream caps.
/// `Err` is the close code and reason.
pub(super) async fn admit(
    state: &GraphqlState,
    header: Option<&str>,
) -> Result<(Arc<Principal>, StreamGuard), (u16, String)> {
    let principal = authenticate(&state.auth, header)
        .await
        .map_err(|e| close_for(&e))?;
    let guard = state
        .streams
        .acquire(&principal)
        .map_err(|e| close_for(&e))?;
    Ok((principal, guard))
}

/// The close code and reason for an error that ends a connection.
pub(super) fn close_for(err: &AppError) -> (u16, String) {
    match err {
        AppError::Unauthenticated(_) | AppError::Forbidden(_) => (4403, "Forbidden".into()),
        AppError::TooManyStreams(msg) => (4429, msg.clone()),
        AppError::RateLimited(secs) => (4429, format!("Rate limit exceeded; retry in {secs} s")),
        AppError::Unavailable(_) => closed_by(End::ShuttingDown),
        _ => (1011, "Internal error".into()),
    }
}

/// The close code and reason when a connection must end early.
pub(super) fn closed_by(end: End) -> (u16, String) {
    match end {
        End::Revoked => (4403, "Forbidden: the API key was revoked".into()),
        End::ShuttingDown => (1001, "The server is shutting down".into()),
    }
}

/// The close code and reason for a socket that could not be read: 1009 for a message
/// over [`MAX_MESSAGE_BYTES`], 1002 otherwise.
pub(super) fn close_for_read_error(err: &axum::Error) -> (u16, String) {
    let too_big = std::error::Error::source(err)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)));
    if too_big {
        (
            1009,
            format!("Messages are limited to {MAX_MESSAGE_BYTES} bytes"),
        )
    } else {
        (1002, "Unreadable message".into())
    }
}

type Subscriptions = Arc<Mutex<HashMap<String, AbortHandle>>>;

/// What the socket writer sends.
enum Out {
    Text(String),
    Close(u16, String),
}

/// One `graphql-transport-ws` connection.
struct Connection {
    state: GraphqlState,
    principal: Option<Arc<Principal>>,
    /// The `connection_init` credentials, verified again for every operation.
    credentials: Option<String>,
    /// Tells the connection when it must close: at shutdown, and once authenticated,
    /// when its key is revoked.
    watch: StreamGuard,
    init_received: bool,
    /// Active subscriptions; a finished one removes itself before sending `complete`,
    /// so the client may reuse its id at once.
    subscriptions: Subscriptions,
    request_id: String,
}

impl Connection {
    fn new(state: GraphqlState) -> Self {
        Self {
            watch: state.streams.watch_anonymous(),
            state,
            principal: None,
            credentials: None,
            init_received: false,
            subscriptions: Subscriptions::default(),
            request_id: crate::ids::new_id("req"),
        }
    }

    async fn serve(mut self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let (tx, mut rx) = mpsc::channel::<Out>(256);
        let writer = tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                let (msg, last) = match out {
                    Out::Text(t) => (Message::Text(t.into()), false),
                    Out::Close(code, reason) => (
                        Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })),
                        true,
                    ),
                };
                if sink.send(msg).await.is_err() || last {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let deadline = tokio::time::sleep(INIT_TIMEOUT);
        tokio::pin!(deadline);
        loop {
            let msg = tokio::select! {
                msg = stream.next() => msg,
                end = self.watch.ended() => {
                    let (code, reason) = closed_by(end);
                    let _ = tx.send(Out::Close(code, reason)).await;
                    break;
                }
                _ = &mut deadline, if !self.init_received => {
                    let _ = tx.send(Out::Close(4408, "Connection initialisation timeout".into())).await;
                    break;
                }
            };
            let text = match msg {
                Some(Ok(Message::Text(t))) => t.to_string(),
                Some(Ok(Message::Binary(_))) => {
                    let _ = tx
                        .send(Out::Close(4400, "Binary messages are not supported".into()))
                        .await;
                    break;
                }
                Some(Err(err)) => {
                    let (code, reason) = close_for_read_error(&err);
                    let _ = tx.send(Out::Close(code, reason)).await;
                    break;
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => continue,
            };
            if let Err((code, reason)) = self.handle(&text, &tx).await {
                let _ = tx.send(Out::Close(code, reason)).await;
                break;
            }
        }
        for (_, task) in lock(&self.subscriptions).drain() {
            task.abort();
        }
        drop(tx);
        let _ = writer.await;
    }

    /// Handles one client message; `Err` closes the socket with that code and reason.
    async fn handle(&mut self, text: &str, tx: &mpsc::Sender<Out>) -> Result<(), (u16, String)> {
        let msg: Value = serde_json::from_str(text)
            .map_err(|_| (4400, "Invalid message: not JSON".to_string()))?;
        let kind = msg["type"]
            .as_str()
            .ok_or((4400, "Invalid message: no type".to_string()))?;
        match kind {
            "connection_init" => {
                if self.init_received {
                    return Err((4429, "Too many initialisation requests".into()));
                }
                self.init_received = true;
                let credentials = credentials(&msg["payload"]);
                let principal = authenticate(&self.state.auth, credentials.as_deref())
                    .await
                    .map_err(|e| close_for(&e))?;
                self.state
                    .rate_limits
                    .charge(&principal, 1)
                    .await
                    .map_err(|e| close_for(&e))?;
                self.watch = self
                    .state
                    .streams
                    .watch(&principal)
                    .map_err(|e| close_for(&e))?;
                self.principal = Some(principal);
                self.credentials = credentials;
                send(tx, json!({ "type": "connection_ack" })).await;
            }
            "ping" => {
                let mut pong = json!({ "type": "pong" });
                if msg.get("payload").is_some_and(|p| !p.is_null()) {
                    pong["payload"] = msg["payload"].clone();
                }
                send(tx, pong).await;
            }
            "pong" => {}
            "subscribe" => {
                if self.principal.is_none() {
                    return Err((4401, "Unauthorized".to_string()));
                }
                let id = msg["id"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .ok_or((4400, "Invalid message: subscribe needs an id".to_string()))?;
                let payload = &msg["payload"];
                let query = payload["query"].as_str().ok_or((
                    4400,
                    "Invalid message: subscribe needs payload.query".to_string(),
                ))?;
                if lock(&self.subscriptions).contains_key(id) {
                    return Err((4409, format!("Subscriber for {id} already exists")));
                }
                let (principal, guard) = admit(&self.state, self.credentials.as_deref()).await?;
                if let Err(err) = self.state.rate_limits.charge(&principal, 1).await {
                    let payload = json!([{ "message": err.public_message(), "extensions": { "code": err.code().graphql() } }]);
                    send(tx, json!({ "id": id, "type": "error", "payload": payload })).await;
                    return Ok(());
                }
                // Only finished subscriptions leave meanwhile; none can have taken the id.
                let mut active = lock(&self.subscriptions);
                let mut req = GqlRequest::new(query)
                    .data(principal)
                    .data(RequestId(self.request_id.clone()));
                if let Some(name) = payload["operationName"].as_str() {
                    req = req.operation_name(name);
                }
                if payload["variables"].is_object() {
                    req = req.variables(Variables::from_json(payload["variables"].clone()));
                }
                let subs = self.subscriptions.clone();
                let task = tokio::spawn(run_subscription(
                    self.state.schema.clone(),
                    req,
                    id.to_owned(),
                    tx.clone(),
                    subs,
                    guard,
                ));
                active.insert(id.to_owned(), task.abort_handle());
            }
            "complete" => {
                if let Some(task) = msg["id"]
                    .as_str()
                    .and_then(|id| lock(&self.subscriptions).remove(id))
                {
                    task.abort();
                }
            }
            other => return Err((4400, format!("Invalid message: unknown type `{other}`"))),
        }
        Ok(())
    }
}

async fn send(tx: &mpsc::Sender<Out>, value: Value) {
    let _ = tx.send(Out::Text(value.to_string())).await;
}

/// Streams one operation's results as `next` messages, then `complete`; an operation
/// that fails before executing (parse or validation errors) gets one `error` message.
/// `_guard` holds the operation's place under the stream caps until it ends.
async fn run_subscription(
    schema: super::AppSchema,
    req: GqlRequest,
    id: String,
    tx: mpsc::Sender<Out>,
    subs: Subscriptions,
    _guard: StreamGuard,
) {
    let mut results = schema.execute_stream(req);
    let mut first = true;
    while let Some(resp) = results.next().await {
        let request_failed = first
            && resp.data == async_graphql::Value::Null
            && !resp.errors.is_empty()
            && resp.errors.iter().all(|e| e.path.is_empty());
        if request_failed {
            lock(&subs).remove(&id);
            send(
                &tx,
                json!({ "id": id, "type": "error", "payload": resp.errors }),
            )
            .await;
            return;
        }
        first = false;
        send(&tx, json!({ "id": id, "type": "next", "payload": resp })).await;
    }
    lock(&subs).remove(&id);
    send(&tx, json!({ "id": id, "type": "complete" })).await;
}

fn lock(subs: &Subscriptions) -> std::sync::MutexGuard<'_, HashMap<String, AbortHandle>> {
    subs.lock().unwrap_or_else(|e| e.into_inner())
}
