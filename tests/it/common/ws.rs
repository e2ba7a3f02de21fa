//! A `graphql-transport-ws` client for the tests that watch a subscription.

use super::TestServer;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// A `graphql-transport-ws` client, just enough for one subscription.
pub struct Ws(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Ws {
    /// Subscribes with the server's admin key.
    pub async fn subscribe(s: &TestServer, query: &str) -> Self {
        Self::subscribe_as(s, &s.admin_key, query).await
    }

    /// Subscribes with `key`.
    pub async fn subscribe_as(s: &TestServer, key: &str, query: &str) -> Self {
        let url = format!("{}/graphql/ws", s.base.replacen("http://", "ws://", 1));
        let mut req = url.into_client_request().expect("ws request");
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("upgrade");
        let mut ws = Self(ws);
        let auth = format!("Bearer {key}");
        ws.send(json!({ "type": "connection_init", "payload": { "authorization": auth } }))
            .await;
        assert_eq!(ws.recv().await["type"], "connection_ack");
        ws.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }))
            .await;
        ws
    }

    /// Sends a message.
    pub async fn send(&mut self, v: Value) {
        self.0
            .send(Message::text(v.to_string()))
            .await
            .expect("send");
    }

    /// The next text message.
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.0.next())
                .await
                .expect("a message within 5 s")
                .expect("the socket is open")
                .expect("a frame");
            if let Message::Text(t) = frame {
                return serde_json::from_str(t.as_str()).expect("JSON");
            }
        }
    }

    /// The next gate the subscription delivers.
    pub async fn next_gate(&mut self) -> Value {
        self.next_of("gateUpdates").await
    }

    /// The next item of the subscription's root field `field`.
    pub async fn next_of(&mut self, field: &str) -> Value {
        let msg = self.recv().await;
        assert_eq!(msg["type"], "next", "{msg}");
        msg["payload"]["data"][field].clone()
    }
}
