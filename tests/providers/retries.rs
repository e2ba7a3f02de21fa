//! Retries, timeouts and cancellation, against a fake Chat Completions server (the
//! same code path serves the Anthropic provider).

use crate::fake::{collect, config, data, eventually, text, Fake, Part, Reply};
use crate::openai::{answer, done, finish, provider, request, token};
use orchstack::runtime::providers::{Providers, StreamEvent};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_then_succeeds() {
    let fake = Fake::start(|n| match n {
        0 => Reply::Plain(
            429,
            vec![("retry-after", "5")],
            json!({"error": {"message": "Rate limit reached", "type": "requests"}}).to_string(),
        ),
        _ => answer(&["ok", "!"]),
    })
    .await;
    let started = Instant::now();
    let (result, events) = collect(provider(&fake, |_| {}), request("hi")).await;
    result.unwrap();
    assert_eq!(fake.hits(), 2);
    assert_eq!(text(&events), "ok!");
    // Retry-After (5 s) was honoured, cut to max_retry_after_ms (150), not the 1 ms backoff.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(waited < Duration::from_millis(2_000), "{waited:?}");
}

#[tokio::test]
async fn server_error_forever_fails_after_max_retries() {
    let fake = Fake::start(|_| {
        Reply::Plain(
            500,
            vec![],
            json!({"error": {"message": "boom: upstream exploded"}}).to_string(),
        )
    })
    .await;
    let (result, events) = collect(provider(&fake, |c| c.max_retries = 2), request("hi")).await;
    let err = result.unwrap_err();
    assert_eq!(err.code, "provider_error");
    assert!(err.message.contains("500"), "{}", err.message);
    assert!(
        err.message.contains("boom: upstream exploded"),
        "{}",
        err.message
    );
    assert!(err.message.contains("after 3 attempts"), "{}", err.message);
    assert_eq!(fake.hits(), 3);
    assert!(events.is_empty());
}

#[tokio::test]
async fn rate_limited_forever_is_rate_limited() {
    let fake = Fake::start(|_| {
        Reply::Plain(
            429,
            vec![],
            json!({"error": {"message": "slow down"}}).to_string(),
        )
    })
    .await;
    let (result, _) = collect(provider(&fake, |c| c.max_retries = 1), request("hi")).await;
    let err = result.unwrap_err();
    assert_eq!(err.code, "rate_limited");
    assert!(err.message.contains("slow down"), "{}", err.message);
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let fake = Fake::start(|_| {
        Reply::Plain(
            401,
            vec![],
            json!({"error": {"message": "Incorrect API key"}}).to_string(),
        )
    })
    .await;
    let (result, _) = collect(provider(&fake, |_| {}), request("hi")).await;
    let err = result.unwrap_err();
    assert_eq!(err.code, "provider_error");
    assert!(
        err.message.contains("401") && err.message.contains("Incorrect API key"),
        "{}",
        err.message
    );
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn stalled_stream_times_out() {
    let fake = Fake::start(|_| Reply::Stream(vec![token("first"), Part::Hang])).await;
    let started = Instant::now();
    let (result, events) = collect(
        provider(&fake, |c| c.idle_timeout = Duration::from_millis(300)),
        request("hi"),
    )
    .await;
    let waited = started.elapsed();
    assert_eq!(result.unwrap_err().code, "timeout");
    assert_eq!(events, vec![StreamEvent::Token("first".into())]);
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_millis(1_500), "{waited:?}");
    assert_eq!(
        fake.hits(),
        1,
        "a stream that already sent tokens is not retried"
    );
}

#[tokio::test]
async fn a_slow_but_steady_stream_does_not_time_out() {
    // Each gap is under the idle timeout though the whole answer takes longer; SSE
    // keep-alive comments count as life too.
    let fake = Fake::start(|_| {
        Reply::Stream(vec![
            token("a"),
            Part::Sleep(150),
            Part::Raw(": keep-alive\n\n".into()),
            Part::Sleep(150),
            token("b"),
            Part::Sleep(150),
            Part::Raw(": keep-alive\n\n".into()),
            Part::Sleep(150),
            token("c"),
            finish("stop"),
            done(),
        ])
    })
    .await;
    let (result, events) = collect(
        provider(&fake, |c| c.idle_timeout = Duration::from_millis(250)),
        request("hi"),
    )
    .await;
    result.unwrap();
    assert_eq!(text(&events), "abc");
}

#[tokio::test]
async fn no_response_headers_times_out() {
    let fake = Fake::start(|_| Reply::Silence).await;
    let started = Instant::now();
    let (result, _) = collect(
        provider(&fake, |c| {
            c.idle_timeout = Duration::from_millis(200);
            c.connect_timeout = Duration::from_millis(100);
        }),
        request("hi"),
    )
    .await;
    assert_eq!(result.unwrap_err().code, "timeout");
    assert!(started.elapsed() < Duration::from_millis(1_000));
}

#[tokio::test]
async fn dropping_the_receiver_stops_the_stream_and_closes_the_connection() {
    let fake = Fake::start(|_| Reply::Stream(vec![token("one"), Part::PingEvery(20)])).await;
    let provider = provider(&fake, |c| c.idle_timeout = Duration::from_millis(10_000));
    let (tx, mut rx) = mpsc::channel(8);
    let task = tokio::spawn(async move { provider.stream(request("hi"), tx).await });
    assert_eq!(rx.recv().await, Some(StreamEvent::Token("one".into())));
    drop(rx);
    let result = tokio::time::timeout(Duration::from_millis(500), task).await;
    result.expect("stream() returns promptly").unwrap().unwrap();
    let seen = fake.seen.clone();
    assert!(
        eventually(Duration::from_secs(2), || seen
            .stream_dropped
            .load(Ordering::SeqCst))
        .await,
        "the server saw the connection close"
    );
}

#[tokio::test]
async fn error_chunk_before_any_token_is_retried_but_not_after() {
    let error = || data(json!({"error": {"message": "model overloaded", "type": "server_error"}}));
    let fake = Fake::start(move |n| match n {
        0 => Reply::Stream(vec![error()]),
        1 => Reply::Stream(vec![token("partial"), error()]),
        _ => answer(&["never"]),
    })
    .await;
    let (result, events) = collect(provider(&fake, |_| {}), request("hi")).await;
    let err = result.unwrap_err();
    assert_eq!(err.code, "provider_error");
    assert!(err.message.contains("model overloaded"), "{}", err.message);
    assert_eq!(events, vec![StreamEvent::Token("partial".into())]);
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn malformed_chunk_is_an_invalid_response() {
    let fake = Fake::start(|_| Reply::Stream(vec![Part::Raw("data: {not json\n\n".into())])).await;
    let (result, _) = collect(provider(&fake, |_| {}), request("hi")).await;
    assert_eq!(result.unwrap_err().code, "invalid_response");
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn connection_refused_is_retried_then_a_provider_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let mut cfg = config("openai", &base);
    cfg.max_retries = 1;
    let providers = Providers::new(&BTreeMap::from([("local".to_string(), cfg)]));
    let (provider, _) = providers.resolve("local/m", false).unwrap();
    let (result, _) = collect(provider, request("hi")).await;
    let err = result.unwrap_err();
    assert_eq!(err.code, "provider_error");
    assert!(err.message.contains("after 2 attempts"), "{}", err.message);
    assert!(err.message.contains("request to"), "{}", err.message);
}
