//! GraphQL over WebSocket (`graphql-transport-ws`, and the legacy `graphql-ws`) at
//! `/graphql/ws`. The API key comes in the `connection_init` payload
//! (`{"authorization": "Bearer os_..."}`), since browsers cannot set headers on sockets.

use crate::auth::Authenticator;
use crate::state::AppState;
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;

/// Upgrades to a GraphQL WebSocket.
pub async fn handler(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let auth = state.auth.clone();
            GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
                .on_connection_init(move |payload| init(auth, payload))
                .serve()
        })
}

async fn init(auth: Authenticator, payload: serde_json::Value) -> async_graphql::Result<Data> {
    let header = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|v| v.as_str());
    let principal = auth.authenticate(header).await?;
    let mut data = Data::default();
    data.insert(principal);
    Ok(data)
}
