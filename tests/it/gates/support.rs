//! What the gate tests share: a server with the fake model and the recording tool, an
//! agent whose `refund` tool needs approval, and shortcuts to reach a run's gate.

use crate::common::run_support::*;
use crate::common::*;
use serde_json::{json, Value};

/// The model's arguments for the refund.
pub(crate) const MODEL_ARGS: &str = r#"{"order_id": "ord_1", "amount": 80}"#;

/// The refund tool's parameter schema.
pub(crate) fn refund_schema() -> Value {
    json!({
        "type": "object",
        "properties": { "order_id": { "type": "string" }, "amount": { "type": "integer" } },
        "required": ["order_id", "amount"],
        "additionalProperties": false,
    })
}

/// A server whose agent has a `refund` tool that needs approval.
pub(crate) struct Gated {
    pub(crate) s: TestServer,
    pub(crate) api: Api,
    /// The tool: records every call, answers `{"refunded": true}`.
    pub(crate) tool: Recorder,
    /// The model: answers request `n` with the script.
    pub(crate) model: Recorder,
    pub(crate) agent: String,
}

/// The model asks for the refund, and once it has the tool's answer (a `tool` message
/// in the request) answers "Refunded.". Per request body, so every run of a test gets
/// the same conversation.
pub(crate) fn refund_then_done(body: &Value) -> Reply {
    if answered(body) {
        says(&["Refunded."])
    } else {
        calls(&[("call_1", "refund", &[MODEL_ARGS])])
    }
}

/// Whether the model's request carries a tool answer.
pub(crate) fn answered(body: &Value) -> bool {
    body["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"))
}

/// A model server (OpenAI format) that answers each request with `script(body)` and
/// records every request, like [`Recorder`] but scripted on what it is asked.
pub(crate) async fn model_server(
    script: impl Fn(&Value) -> Reply + Send + Sync + 'static,
) -> Recorder {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let script = Arc::new(script);
    let app = axum::Router::new().fallback({
        let seen = seen.clone();
        move |uri: axum::http::Uri, body: axum::body::Bytes| {
            let (seen, script) = (seen.clone(), script.clone());
            async move {
                let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let reply = script(&json);
                seen.lock().unwrap().push((uri.path().to_owned(), json));
                respond(reply).await
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Recorder { url, seen }
}

/// The refund tool as the agent declares it (`approval` as given).
pub(crate) fn refund_tool(url: &str, approval: Option<Value>) -> Value {
    let mut tool = json!({
        "type": "http", "name": "refund", "description": "Refunds an order",
        "url": format!("{url}/refund"), "parameters": refund_schema(),
        "requires_approval": true,
    });
    if let Some(a) = approval {
        tool["approval"] = a;
    }
    tool
}

/// Starts the model, the tool and a server (gates swept every 100 ms) with the agent.
pub(crate) async fn gated(
    script: impl Fn(&Value) -> Reply + Send + Sync + 'static,
    approval: Option<Value>,
) -> Gated {
    let tool = Recorder::start(|_| Reply::Json(200, json!({ "refunded": true }))).await;
    let model = model_server(script).await;
    let url = model.url.clone();
    let s = TestServer::start_with(move |c| {
        c.providers.insert("fake".into(), fake_provider(&url));
        c.gates.sweep_interval = std::time::Duration::from_millis(100);
    })
    .await;
    let api = s.api();
    let tools = json!([refund_tool(&tool.url, approval)]);
    let agent = agent(&api, "fake/gpt-test", json!({ "tools": tools })).await;
    Gated {
        s,
        api,
        tool,
        model,
        agent,
    }
}

/// Triggers a run without waiting; its id.
pub(crate) async fn start(api: &Api, agent: &str) -> String {
    crate::common::calls::trigger_async(api, agent, "Refund order ord_1").await
}

/// Waits until the run waits at a gate; returns the pending gate (REST object).
pub(crate) async fn pending_gate(api: &Api, run_id: &str) -> Value {
    wait_until(api, run_id, "waiting_for_approval", |r| {
        r["status"] == "waiting_for_approval"
    })
    .await;
    let list = api
        .get(&format!("/v1/gates?run_id={run_id}&status=pending"), 200)
        .await;
    let data = list["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "one pending gate: {list}");
    data[0].clone()
}

/// `POST /v1/gates/{id}/{action}` with `body`, asserting `status`.
pub(crate) async fn resolve(
    api: &Api,
    gate: &str,
    action: &str,
    body: Value,
    status: u16,
) -> Value {
    api.post(&format!("/v1/gates/{gate}/{action}"), body, status)
        .await
}

/// The kinds of every event of an ended run, in order (its SSE replay).
pub(crate) async fn log_kinds(api: &Api, run_id: &str) -> Vec<String> {
    let mut events = open(events_req(api, run_id)).await;
    rest(&mut events)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// Whether `want` appears in `all` in this order (other kinds may come between).
pub(crate) fn in_order(all: &[String], want: &[&str]) -> bool {
    let mut it = all.iter();
    want.iter().all(|w| it.any(|k| k == w))
}
