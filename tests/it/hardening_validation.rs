//! Issue 7 §7: tool timeouts, tool parameter schemas and `max_steps` are checked when an
//! agent is saved, and runs hold agents saved before to the limits.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use serde_json::{json, Value};

async fn refused_at(api: &Api, fields: Value, pointer: &str) -> String {
    let mut body = json!({ "name": "x", "model": "mock/echo" });
    for (k, v) in fields.as_object().expect("fields") {
        body[k] = v.clone();
    }
    let problem = api.post("/v1/agents", body.clone(), 422).await;
    assert_eq!(pointers(&problem), [pointer], "{body}: {problem}");
    problem["errors"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn tool_with(extra: Value) -> Value {
    let mut tool =
        json!({ "type": "http", "name": "lookup", "url": "https://tools.example.com/x" });
    for (k, v) in extra.as_object().expect("extra") {
        tool[k] = v.clone();
    }
    json!({ "tools": [tool] })
}

#[tokio::test]
async fn tool_timeouts_outside_one_ms_to_the_cap_are_refused() {
    let s = TestServer::start().await;
    let api = s.api();
    for ms in [
        json!(-1),
        json!(0),
        json!(60_001),
        json!(600_000),
        json!(1.5),
        json!("10"),
    ] {
        let detail = refused_at(
            &api,
            tool_with(json!({ "timeout_ms": ms })),
            "/tools/0/timeout_ms",
        )
        .await;
        assert!(detail.contains("1 to 60000"), "{ms}: {detail}");
    }
    agent(
        &api,
        "mock/echo",
        tool_with(json!({ "timeout_ms": 60_000 })),
    )
    .await;
}

#[tokio::test]
async fn tool_parameters_must_be_a_valid_json_schema() {
    let s = TestServer::start().await;
    let api = s.api();
    for schema in [
        json!({ "type": "nope" }),
        json!({ "type": "object", "properties": { "n": { "type": "integer", "minimum": "one" } } }),
        json!({ "type": "object", "required": "date" }),
    ] {
        let detail = refused_at(
            &api,
            tool_with(json!({ "parameters": schema })),
            "/tools/0/parameters",
        )
        .await;
        assert!(
            detail.contains("not a valid JSON Schema"),
            "{schema}: {detail}"
        );
    }
    let good = json!({ "type": "object", "properties": { "date": { "type": "string" } }, "required": ["date"] });
    agent(&api, "mock/echo", tool_with(json!({ "parameters": good }))).await;
}

#[tokio::test]
async fn max_steps_outside_one_to_the_limit_is_refused() {
    let s = TestServer::start().await;
    let api = s.api();
    for steps in [
        json!(0),
        json!(65),
        json!(1_000_000),
        json!(-3),
        json!("8"),
        json!(2.5),
    ] {
        let fields = json!({ "model_settings": { "max_steps": steps } });
        let detail = refused_at(&api, fields, "/model_settings/max_steps").await;
        assert!(detail.contains("1 to 64"), "{steps}: {detail}");
    }
    agent(
        &api,
        "mock/echo",
        json!({ "model_settings": { "max_steps": 64 } }),
    )
    .await;
}

#[tokio::test]
async fn an_agent_saved_with_more_steps_than_the_limit_is_held_to_the_limit() {
    let tool = Recorder::start(|_| Reply::Json(200, json!({ "ok": true }))).await;
    // A model that never stops calling the tool.
    let fake = Recorder::start(|_| calls(&[("call_1", "lookup", &["{}"])])).await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
        c.runs.max_steps = 2;
        c.runs.max_steps_limit = 3;
    })
    .await;
    let api = s.api();
    let tools = json!([{ "type": "http", "name": "lookup", "url": tool.url }]);
    let id = agent(&api, "fake/gpt-test", json!({ "tools": tools })).await;
    overwrite_snapshot(&s, &id, "model_settings", json!({ "max_steps": 1_000_000 })).await;

    let body = trigger(&api, &id, json!({ "input": "loop" }), 200).await;
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["error"]["code"], "max_steps_exceeded", "{body}");
    assert_eq!(fake.hits(), 3, "{body}");
    assert_eq!(tool.hits(), 3);
}
