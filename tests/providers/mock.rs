//! The offline mock provider's documented rules.

use crate::fake::{collect, text};
use orchstack::runtime::providers::{
    count_tokens, ChatRequest, Message, Provider, Providers, StreamEvent, ToolCall, ToolSpec,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn mock(model: &str) -> (Arc<dyn Provider>, String) {
    Providers::new(&BTreeMap::new())
        .resolve(model, false)
        .unwrap()
}

fn request(
    model: &str,
    messages: Vec<Message>,
    tools: Vec<ToolSpec>,
    settings: Value,
) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages,
        tools,
        settings,
    }
}

#[tokio::test]
async fn echo_streams_the_last_user_message_token_by_token() {
    let input = "Hello  big\nworld, again ";
    let (provider, model) = mock("mock/echo");
    assert_eq!(model, "echo");
    let messages = vec![
        Message::System("sys".into()),
        Message::User("earlier".into()),
        Message::Assistant {
            content: "reply".into(),
            tool_calls: vec![],
        },
        Message::User(input.into()),
    ];
    let (result, events) = collect(provider, request(&model, messages, vec![], json!({}))).await;
    result.unwrap();
    let tokens: Vec<&StreamEvent> = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Token(_)))
        .collect();
    assert_eq!(
        tokens,
        ["Hello  ", "big\n", "world, ", "again "]
            .map(|t| StreamEvent::Token(t.into()))
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(text(&events), input);
    let input_tokens = ["sys", "earlier", "reply", input]
        .iter()
        .map(|t| count_tokens(t))
        .sum();
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Usage {
            input: input_tokens,
            output: count_tokens(input)
        })
    );
}

#[tokio::test]
async fn token_delay_is_respected() {
    let (provider, model) = mock("mock/echo");
    let req = request(
        &model,
        vec![Message::User("a b c d".into())],
        vec![],
        json!({"token_delay_ms": 40}),
    );
    let started = Instant::now();
    let (result, events) = collect(provider, req).await;
    result.unwrap();
    assert_eq!(events.len(), 5);
    // Four tokens, three gaps between them.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(120), "{waited:?}");
    assert!(waited < Duration::from_millis(1_000), "{waited:?}");
}

#[tokio::test]
async fn cancelling_a_slow_mock_returns_promptly() {
    let (provider, model) = mock("mock/echo");
    let req = request(
        &model,
        vec![Message::User("a b c d".into())],
        vec![],
        json!({"token_delay_ms": 5_000}),
    );
    let (tx, mut rx) = mpsc::channel(8);
    let task = tokio::spawn(async move { provider.stream(req, tx).await });
    assert_eq!(rx.recv().await, Some(StreamEvent::Token("a ".into())));
    drop(rx);
    let done = tokio::time::timeout(Duration::from_millis(500), task).await;
    done.expect("returns promptly").unwrap().unwrap();
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "search".into(),
            description: "Search".into(),
            parameters: json!({"type": "object", "properties": {
                "query": {"type": "string"}, "limit": {"type": "integer"},
                "score": {"type": "number"}, "exact": {"type": "boolean"},
                "mode": {"type": "string", "enum": ["fast", "deep"]},
                "tags": {"type": "array"}, "note": {"type": ["string", "null"]},
            }}),
        },
        ToolSpec {
            name: "clock".into(),
            description: "Now".into(),
            parameters: json!({}),
        },
    ]
}

#[tokio::test]
async fn tools_calls_every_tool_then_answers_from_the_results() {
    let (provider, model) = mock("mock/tools");
    let user = Message::User("rust sse".into());
    let (result, events) = collect(
        provider.clone(),
        request(&model, vec![user.clone()], tools(), json!({})),
    )
    .await;
    result.unwrap();
    let calls: Vec<ToolCall> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCall(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2, "{events:?}");
    assert_eq!(
        (calls[0].id.as_str(), calls[0].name.as_str()),
        ("call_1", "search")
    );
    let args: Value = serde_json::from_str(&calls[0].arguments).unwrap();
    assert_eq!(
        args,
        json!({"query": "rust sse", "limit": 1, "score": 1, "exact": true, "mode": "fast",
            "tags": [], "note": "rust sse"})
    );
    assert_eq!(
        calls[1],
        ToolCall {
            id: "call_2".into(),
            name: "clock".into(),
            arguments: "{}".into()
        }
    );
    assert!(text(&events).is_empty());
    assert!(matches!(events.last(), Some(StreamEvent::Usage { .. })));

    let conversation = vec![
        user,
        Message::Assistant {
            content: String::new(),
            tool_calls: calls,
        },
        Message::Tool {
            call_id: "call_1".into(),
            name: "search".into(),
            content: "3 hits".into(),
        },
        Message::Tool {
            call_id: "call_2".into(),
            name: "clock".into(),
            content: "12:00".into(),
        },
    ];
    let (result, events) =
        collect(provider, request(&model, conversation, tools(), json!({}))).await;
    result.unwrap();
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::ToolCall(_))));
    assert_eq!(text(&events), "Tool results: search: 3 hits; clock: 12:00");
    assert!(events.len() > 3, "streamed token by token: {events:?}");
    let Some(StreamEvent::Usage { output, .. }) = events.last() else {
        panic!("usage comes last: {events:?}");
    };
    assert_eq!(
        *output,
        count_tokens("Tool results: search: 3 hits; clock: 12:00")
    );
}

#[tokio::test]
async fn tools_without_tools_offered_answers_and_other_names_echo() {
    let (provider, model) = mock("mock/tools");
    let (result, events) = collect(
        provider,
        request(&model, vec![Message::User("hi".into())], vec![], json!({})),
    )
    .await;
    result.unwrap();
    assert_eq!(text(&events), "Tool results: ");

    let (provider, model) = mock("mock/anything-else");
    assert_eq!(model, "anything-else");
    let (result, events) = collect(
        provider,
        request(
            &model,
            vec![Message::User("same back".into())],
            tools(),
            json!({}),
        ),
    )
    .await;
    result.unwrap();
    assert_eq!(text(&events), "same back");
}
