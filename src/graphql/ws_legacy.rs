//! The legacy `graphql-ws` protocol (subscriptions-transport-ws), spoken by async-graphql
//! inside a guard that gives it what `graphql-transport-ws` has: a `connection_init`
//! deadline (close 4408), the key verified again for every `start` with a place under
//! the stream caps (close 4403, 4429), a socket closed when its key is revoked (4403) or
//! the server shuts down (1001), and a close frame for a message over the size cap
//! (1009). async-graphql reads and writes through channels; this task owns the socket.
//! Rate limits as in `ws`: 1 at `connection_init` (refused: `connection_error`), 1 per
//! `start` (refused: an error for that operation).

use super::http::GraphqlState;
use super::ws::{admit, close_for_read_error, closed_by, credentials, INIT_TIMEOUT};
use crate::http::streams::StreamGuard;
use async_graphql::{Data, Executor, Request, Response};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::PollSender;

/// What the protocol side tells the task that owns the socket.
enum Control {
    /// `connection_init` was accepted: watch this key from now on.
    Authenticated(StreamGuard),
    /// Close the socket with this code and reason.
    Close(u16, String),
}

/// What one connection's operations share.
struct Session {
    /// The `connection_init` credentials, verified again for every operation.
    credentials: Mutex<Option<String>>,
    control: mpsc::UnboundedSender<Control>,
}

impl Session {
    fn credentials(&self) -> Option<String> {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Serves one legacy `graphql-ws` connection.
pub async fn serve(state: GraphqlState, socket: WebSocket, protocol: GraphQLProtocol) {
    let (mut sink, mut incoming) = socket.split();
    let (control_tx, mut control) = mpsc::unbounded_channel();
    let session = Arc::new(Session {
        credentials: Mutex::new(None),
        control: control_tx.clone(),
    });
    // The reader runs apart, so that waiting for room in the protocol's inbox never
    // stops this task from driving the protocol (which empties the inbox).
    let (in_tx, in_rx) = mpsc::channel(8);
    let reader = tokio::spawn(async move {
        while let Some(msg) = incoming.next().await {
            match msg {
                Ok(msg) => {
                    if in_tx.send(Ok(msg)).await.is_err() {
                        return;
                    }
                }
                Err(err) => {
                    let (code, reason) = close_for_read_error(&err);
                    let _ = control_tx.send(Control::Close(code, reason));
                    return;
                }
            }
        }
    });
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
    let operations = Operations {
        state: state.clone(),
        session: session.clone(),
    };
    let on_init = {
        let (state, session) = (state.clone(), session.clone());
        move |payload: serde_json::Value| async move {
            let creds = credentials(&payload);
            let principal = state.auth.authenticate(creds.as_deref()).await?;
            state.rate_limits.charge(&principal, 1).await?;
            let watch = state.streams.watch(&principal)?;
            *session
                .credentials
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = creds;
            let _ = session.control.send(Control::Authenticated(watch));
            let mut data = Data::default();
            data.insert(principal);
            Ok(data)
        }
    };
    let protocol_side = GraphQLWebSocket::new_with_pair(
        PollSender::new(out_tx),
        ReceiverStream::new(in_rx),
        operations,
        protocol,
    )
    .on_connection_init(on_init)
    .serve();
    tokio::pin!(protocol_side);
    let mut watch = state.streams.watch_anonymous();
    let mut initialised = false;
    let deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(deadline);
    let mut sent_close = false;
    let close = loop {
        tokio::select! {
            // Control first: the reader reports a read error before the protocol side
            // sees its input end.
            biased;
            Some(ctl) = control.recv() => match ctl {
                Control::Authenticated(key_watch) => {
                    watch = key_watch;
                    initialised = true;
                }
                Control::Close(code, reason) => break Some((code, reason)),
            },
            end = watch.ended() => break Some(closed_by(end)),
            () = &mut deadline, if !initialised => {
                break Some((4408, "Connection initialisation timeout".into()));
            }
            Some(msg) = out_rx.recv() => {
                sent_close |= matches!(msg, Message::Close(_));
                if sink.send(msg).await.is_err() {
                    break None;
                }
            }
            () = &mut protocol_side => break None,
        }
    };
    // What the protocol said last (a `connection_error`, a close) goes out first.
    while let Ok(msg) = out_rx.try_recv() {
        sent_close |= matches!(msg, Message::Close(_));
        if sink.send(msg).await.is_err() {
            break;
        }
    }
    if let (Some((code, reason)), false) = (close, sent_close) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
    let _ = sink.close().await;
    reader.abort();
}

/// Executes the connection's operations on the schema, each admitted first.
#[derive(Clone)]
struct Operations {
    state: GraphqlState,
    session: Arc<Session>,
}

impl Executor for Operations {
    fn execute(&self, request: Request) -> impl Future<Output = Response> + Send {
        let schema = self.state.schema.clone();
        async move { schema.execute(request).await }
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        async_stream::stream! {
            let creds = this.session.credentials();
            match admit(&this.state, creds.as_deref()).await {
                Ok((principal, guard)) => {
                    if let Err(err) = this.state.rate_limits.charge(&principal, 1).await {
                        let mut error = async_graphql::ServerError::new(err.public_message(), None);
                        error.source = Some(Arc::new(err));
                        super::errors::decorate(&mut error, None);
                        yield Response::from_errors(vec![error]);
                        return;
                    }
                    // The principal verified just now, not the one of `connection_init`.
                    let request = request.data(principal);
                    let results = match session_data {
                        Some(data) => this.state.schema.execute_stream_with_session_data(request, data),
                        None => this.state.schema.execute_stream(request),
                    };
                    let _guard = guard;
                    for await result in results {
                        yield result;
                    }
                }
                Err((code, reason)) => {
                    let _ = this.session.control.send(Control::Close(code, reason));
                }
            }
        }
        .boxed()
    }
}
