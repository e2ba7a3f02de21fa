//! The Anthropic provider against a fake Messages API server.

use crate::fake::{collect, config, event, text, Fake, Part, Reply};
use orchstack::runtime::providers::{
    ChatRequest, Message, Provider, Providers, StreamEvent, ToolCall, ToolSpec,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

fn provider(fake: &Fake) -> Arc<dyn Provider> {
    let cfg = config("anthropic", &fake.url);
    let providers = Providers::new(&BTreeMap::from([("claude".to_string(), cfg)]));
    providers.resolve("claude/claude-test", false).unwrap().0
}

fn text_and_tool_use() -> Vec<Part> {
    vec![
        event(
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "content": [], "model": "claude-test", "stop_reason": null,
            "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        ),
        event(json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}})),
        event(json!({"type": "ping"})),
        event(json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "Hel"}})),
        event(json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "lo"}})),
        event(json!({"type": "content_block_stop", "index": 0})),
        event(
            json!({"type": "content_block_start", "index": 1, "content_block":
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        ),
        event(json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""}})),
        event(json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Pa"}})),
        event(json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "ris\", \"unit\""}})),
        event(json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ": \"c\"}"}})),
        event(json!({"type": "content_block_stop", "index": 1})),
        event(
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use",
            "stop_sequence": null}, "usage": {"output_tokens": 15}}),
        ),
        event(json!({"type": "message_stop"})),
    ]
}

#[tokio::test]
async fn text_and_tool_use_with_input_json_delta() {
    let fake = Fake::start(|_| Reply::Stream(text_and_tool_use())).await;
    let req = ChatRequest {
        model: "claude-test".into(),
        messages: vec![
            Message::System("Be brief.".into()),
            Message::User("Weather in Oslo and Rome?".into()),
            Message::Assistant {
                content: "Checking.".into(),
                tool_calls: vec![
                    ToolCall {
                        id: "toolu_a".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Oslo"}"#.into(),
                    },
                    ToolCall {
                        id: "toolu_b".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Rome"}"#.into(),
                    },
                ],
            },
            Message::Tool {
                call_id: "toolu_a".into(),
                name: "get_weather".into(),
                content: "rain".into(),
            },
            Message::Tool {
                call_id: "toolu_b".into(),
                name: "get_weather".into(),
                content: "sun".into(),
            },
        ],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Weather by city".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }],
        settings: json!({"temperature": 0.5, "token_delay_ms": 3}),
    };
    let (result, events) = collect(provider(&fake), req).await;
    result.unwrap();
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(text(&events), "Hello");
    let StreamEvent::ToolCall(call) = &events[2] else {
        panic!("expected a tool call, got {:?}", events[2]);
    };
    assert_eq!(
        (call.id.as_str(), call.name.as_str()),
        ("toolu_1", "get_weather")
    );
    let args: Value = serde_json::from_str(&call.arguments).unwrap();
    assert_eq!(args, json!({"city": "Paris", "unit": "c"}));
    assert_eq!(
        events[3],
        StreamEvent::Usage {
            input: 25,
            output: 15
        }
    );

    assert_eq!(fake.path(0), "/v1/messages");
    assert_eq!(fake.header(0, "x-api-key").as_deref(), Some("sk-test"));
    assert_eq!(
        fake.header(0, "anthropic-version").as_deref(),
        Some("2023-06-01")
    );
    let body = fake.body(0);
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["temperature"], 0.5);
    assert!(body.get("token_delay_ms").is_none());
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(
        body["tools"],
        json!([{"name": "get_weather", "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {"city": "Rome"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "rain"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": "sun"},
            ]},
        ])
    );
}

#[tokio::test]
async fn overloaded_error_event_before_content_is_retried() {
    let fake = Fake::start(|n| match n {
        0 => Reply::Stream(vec![event(json!({"type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"}}))]),
        _ => Reply::Stream(text_and_tool_use()),
    })
    .await;
    let req = ChatRequest {
        model: "claude-test".into(),
        messages: vec![Message::User("hi".into())],
        tools: vec![],
        settings: json!({"max_tokens": 64}),
    };
    let (result, events) = collect(provider(&fake), req).await;
    result.unwrap();
    assert_eq!(fake.hits(), 2);
    assert_eq!(text(&events), "Hello");
    assert_eq!(fake.body(1)["max_tokens"], 64);
}

#[tokio::test]
async fn http_529_overloaded_forever_is_a_provider_error() {
    let fake = Fake::start(|_| {
        Reply::Plain(
            529,
            vec![],
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
                .to_string(),
        )
    })
    .await;
    let req = ChatRequest {
        model: "claude-test".into(),
        messages: vec![Message::User("hi".into())],
        tools: vec![],
        settings: Value::Null,
    };
    let (result, _) = collect(provider(&fake), req).await;
    let err = result.unwrap_err();
    assert_eq!(err.code, "provider_error");
    assert!(
        err.message.contains("529") && err.message.contains("Overloaded"),
        "{}",
        err.message
    );
    assert_eq!(fake.hits(), 3);
}
