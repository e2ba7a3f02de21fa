//! The OpenAI-compatible provider against a fake Chat Completions server.

use crate::fake::{collect, config, data, text, Fake, Part, Reply};
use orchstack::runtime::providers::{
    count_tokens, ChatRequest, Message, Provider, ProviderConfig, Providers, StreamEvent, ToolCall,
    ToolSpec,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The provider named `fake` (kind openai) at the fake server's `/v1`.
pub(crate) fn provider(fake: &Fake, tweak: impl FnOnce(&mut ProviderConfig)) -> Arc<dyn Provider> {
    let mut cfg = config("openai", &format!("{}/v1", fake.url));
    tweak(&mut cfg);
    let providers = Providers::new(&BTreeMap::from([("fake".to_string(), cfg)]));
    let (provider, model) = providers.resolve("fake/gpt-test", false).unwrap();
    assert_eq!(model, "gpt-test");
    provider
}

pub(crate) fn request(user: &str) -> ChatRequest {
    ChatRequest {
        model: "gpt-test".into(),
        messages: vec![Message::User(user.into())],
        tools: vec![],
        settings: json!({}),
    }
}

pub(crate) fn token(t: &str) -> Part {
    data(json!({"id": "c1", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": null}]}))
}

pub(crate) fn finish(reason: &str) -> Part {
    data(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}))
}

pub(crate) fn usage(prompt: u64, completion: u64) -> Part {
    data(
        json!({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion}}),
    )
}

pub(crate) fn done() -> Part {
    Part::Raw("data: [DONE]\n\n".into())
}

pub(crate) fn answer(words: &[&str]) -> Reply {
    let mut parts: Vec<Part> = words.iter().map(|w| token(w)).collect();
    parts.extend([finish("stop"), usage(12, 3), done()]);
    Reply::Stream(parts)
}

#[tokio::test]
async fn text_stream_with_usage_and_request_shape() {
    let fake = Fake::start(|_| answer(&["Hel", "lo", " world"])).await;
    let req = ChatRequest {
        model: "gpt-test".into(),
        messages: vec![
            Message::System("Be brief.".into()),
            Message::User("Weather?".into()),
            Message::Assistant {
                content: String::new(),
                tool_calls: vec![ToolCall {
                    id: "call_9".into(),
                    name: "weather".into(),
                    arguments: r#"{"city":"Oslo"}"#.into(),
                }],
            },
            Message::Tool {
                call_id: "call_9".into(),
                name: "weather".into(),
                content: "sunny".into(),
            },
        ],
        tools: vec![ToolSpec {
            name: "weather".into(),
            description: "Current weather".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }],
        settings: json!({"temperature": 0.2, "max_tokens": 50, "token_delay_ms": 5}),
    };
    let (result, events) = collect(provider(&fake, |_| {}), req).await;
    result.unwrap();
    assert_eq!(
        events,
        vec![
            StreamEvent::Token("Hel".into()),
            StreamEvent::Token("lo".into()),
            StreamEvent::Token(" world".into()),
            StreamEvent::Usage {
                input: 12,
                output: 3
            },
        ]
    );
    assert_eq!(fake.path(0), "/v1/chat/completions");
    assert_eq!(
        fake.header(0, "authorization").as_deref(),
        Some("Bearer sk-test")
    );
    let body = fake.body(0);
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(body["max_tokens"], 50);
    assert!(body.get("token_delay_ms").is_none());
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_9", "type": "function",
                "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_9", "content": "sunny"},
        ])
    );
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {"name": "weather", "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
    );
}

#[tokio::test]
async fn usage_is_counted_when_the_server_reports_none() {
    let fake = Fake::start(|_| {
        Reply::Stream(vec![
            token("Hello"),
            token(" world"),
            finish("stop"),
            done(),
        ])
    })
    .await;
    let (result, events) = collect(provider(&fake, |_| {}), request("Say hello")).await;
    result.unwrap();
    assert_eq!(text(&events), "Hello world");
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Usage {
            input: count_tokens("Say hello"),
            output: count_tokens("Hello world")
        })
    );
}

#[tokio::test]
async fn tool_call_arguments_split_across_chunks_are_assembled() {
    let call = |index: u64, id: Option<&str>, name: Option<&str>, args: &str| {
        let mut function = json!({"arguments": args});
        if let Some(name) = name {
            function["name"] = json!(name);
        }
        let mut piece = json!({"index": index, "function": function});
        if let Some(id) = id {
            piece["id"] = json!(id);
            piece["type"] = json!("function");
        }
        data(
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": null}]}),
        )
    };
    let fake = Fake::start(move |_| {
        Reply::Stream(vec![
            token("Checking."),
            call(0, Some("call_a"), Some("search"), ""),
            call(0, None, None, "{\"que"),
            call(0, None, None, "ry\": \"rust "),
            call(0, None, None, "sse\", \"limit\""),
            call(0, None, None, ": 5}"),
            call(1, Some("call_b"), Some("clock"), "{"),
            call(1, None, None, "}"),
            finish("tool_calls"),
            usage(40, 20),
            done(),
        ])
    })
    .await;
    let (result, events) = collect(provider(&fake, |_| {}), request("find")).await;
    result.unwrap();
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[0], StreamEvent::Token("Checking.".into()));
    let StreamEvent::ToolCall(first) = &events[1] else {
        panic!("expected a tool call, got {:?}", events[1]);
    };
    assert_eq!(
        (first.id.as_str(), first.name.as_str()),
        ("call_a", "search")
    );
    let args: Value = serde_json::from_str(&first.arguments).unwrap();
    assert_eq!(args, json!({"query": "rust sse", "limit": 5}));
    assert_eq!(
        events[2],
        StreamEvent::ToolCall(ToolCall {
            id: "call_b".into(),
            name: "clock".into(),
            arguments: "{}".into()
        })
    );
    assert_eq!(
        events[3],
        StreamEvent::Usage {
            input: 40,
            output: 20
        }
    );
}
