//! GraphQL over WebSocket (`graphql-transport-ws`): a connection costs 1 at
//! `connection_init` and 1 per `subscribe`, from the same budget as HTTP. Over it, a
//! `subscribe` gets an `error` message (`RATE_LIMITED`) and the connection stays; a
//! `connection_init` closes the socket with 4429. The legacy `graphql-ws` protocol pays
//! the same (`start` for `subscribe`).

use super::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);
const SUBSCRIPTION: &str = "subscription { runUpdates { id status } }";

async fn connect(s: &TestServer) -> Socket {
    connect_with(s, "graphql-transport-ws").await
}

async fn connect_with(s: &TestServer, protocol: &'static str) -> Socket {
    let url = format!("{}/graphql/ws", s.base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().expect("ws request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
    tokio_tungstenite::connect_async(req)
        .await
        .expect("WebSocket upgrade")
        .0
}

async fn send(ws: &mut Socket, msg: Value) {
    ws.send(Message::text(msg.to_string()))
        .await
        .expect("WebSocket send");
}

/// The next message, or how the socket closed (`{"close": code, "reason": ...}`).
async fn next(ws: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time");
        match frame {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).expect("JSON message")
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                return json!({ "close": u16::from(frame.code), "reason": frame.reason.to_string() })
            }
            Some(Ok(Message::Close(None))) | None => return json!({ "close": null }),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("WebSocket error: {e}"),
        }
    }
}

async fn init(ws: &mut Socket, key: &str) -> Value {
    let payload = json!({ "authorization": format!("Bearer {key}") });
    send(ws, json!({ "type": "connection_init", "payload": payload })).await;
    next(ws).await
}

async fn subscribe(ws: &mut Socket, id: &str) {
    let payload = json!({ "query": SUBSCRIPTION });
    send(
        ws,
        json!({ "id": id, "type": "subscribe", "payload": payload }),
    )
    .await;
}

/// A ping answered: every message sent before it has been handled.
async fn round_trip(ws: &mut Socket) -> Vec<Value> {
    send(ws, json!({ "type": "ping" })).await;
    let mut before = Vec::new();
    loop {
        let msg = next(ws).await;
        if msg["type"] == "pong" {
            return before;
        }
        before.push(msg);
    }
}

#[tokio::test]
async fn a_websocket_costs_one_at_init_and_one_per_subscribe() {
    let s = start_real().await;
    let (org, key) = s.new_org("free").await;
    // Four at once, one more a minute.
    set_org(&s, &org, None, Some((1, 4))).await;
    let mut ws = connect(&s).await;
    assert_eq!(init(&mut ws, &key).await["type"], "connection_ack");
    subscribe(&mut ws, "a").await;
    subscribe(&mut ws, "b").await;
    assert_eq!(
        round_trip(&mut ws).await,
        Vec::<Value>::new(),
        "a and b run"
    );
    // 1 + 2 spent: one left, which an HTTP request sees.
    let api = s.api_with(Some(&key));
    let r = get(&api, "/v1/agents").await;
    assert_eq!(r.status, 200);
    assert_eq!(budget(&r).remaining, 0);
    subscribe(&mut ws, "c").await;
    let refused = next(&mut ws).await;
    assert_eq!(refused["id"], "c", "{refused}");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
    // The connection and its subscriptions go on.
    assert_eq!(round_trip(&mut ws).await, Vec::<Value>::new());
    // A second connection cannot even start.
    let mut other = connect(&s).await;
    let closed = init(&mut other, &key).await;
    assert_eq!(closed["close"], 4429, "{closed}");
    assert!(
        closed["reason"]
            .as_str()
            .is_some_and(|r| r.contains("retry in")),
        "{closed}"
    );
}

#[tokio::test]
async fn the_legacy_protocol_pays_the_same() {
    let s = start_real().await;
    let (org, key) = s.new_org("free").await;
    set_org(&s, &org, None, Some((1, 2))).await;
    let mut ws = connect_with(&s, "graphql-ws").await;
    assert_eq!(init(&mut ws, &key).await["type"], "connection_ack");
    let start =
        |id: &str| json!({ "id": id, "type": "start", "payload": { "query": SUBSCRIPTION } });
    send(&mut ws, start("a")).await;
    send(&mut ws, start("b")).await;
    // `a` runs (nothing to say yet); `b` is over the budget: its one answer is the error.
    let refused = next(&mut ws).await;
    assert_eq!(refused["id"], "b", "{refused}");
    let errors = refused["payload"]
        .get("errors")
        .unwrap_or(&refused["payload"]);
    assert_eq!(errors[0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    let mut other = connect_with(&s, "graphql-ws").await;
    let answer = init(&mut other, &key).await;
    assert_eq!(answer["type"], "connection_error", "{answer}");
}
