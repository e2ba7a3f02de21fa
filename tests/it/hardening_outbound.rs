//! Issue 7 §1: a tool's URL reaches public addresses only (unless the operator allows
//! more), redirects are not followed, answers are cut at the size cap, and errors name
//! the rule instead of echoing what an internal service said.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use axum::body::{Body, Bytes};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const SECRET: &str = "internal-secret-5d1f0c";

/// An internal service that hands its secret to anyone who asks.
async fn secret_service() -> Recorder {
    Recorder::start(|_| Reply::Json(200, json!({ "secret": SECRET }))).await
}

fn tool(url: &str) -> Value {
    json!({ "type": "http", "name": "lookup", "url": url })
}

/// A `mock/tools` agent with these tools (it calls each once and answers with their
/// results).
async fn tool_agent(api: &Api, tools: Value) -> String {
    agent(api, "mock/tools", json!({ "tools": tools })).await
}

/// The run's output (the mock repeats what each tool returned).
async fn run_output(api: &Api, agent: &str) -> String {
    let body = trigger(api, agent, json!({ "input": "go" }), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    str_of(&body, "output").to_owned()
}

/// The problem detail at `pointer` of a 422.
fn detail_at(problem: &Value, pointer: &str) -> String {
    problem["errors"]
        .as_array()
        .and_then(|errs| errs.iter().find(|e| e["pointer"] == pointer))
        .and_then(|e| e["detail"].as_str())
        .unwrap_or_else(|| panic!("no error at {pointer}: {problem}"))
        .to_owned()
}

#[tokio::test]
async fn tool_urls_at_internal_addresses_are_refused_when_the_agent_is_saved() {
    let s = TestServer::start_with(|c| c.outbound.allow.clear()).await;
    let api = s.api();
    let cases = [
        ("http://127.0.0.1:8080/admin", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://10.0.0.5/", "private-network"),
        ("http://192.168.1.1/", "private-network"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://0.0.0.0:9000/", "unspecified"),
        ("http://[fd12::1]/", "unique-local"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("ftp://example.com/", "http:// or https://"),
        ("not a url", "http:// or https://"),
    ];
    for (url, rule) in cases {
        let body = json!({ "name": "x", "model": "mock/tools", "tools": [tool(url)] });
        let problem = api.post("/v1/agents", body, 422).await;
        let detail = detail_at(&problem, "/tools/0/url");
        assert!(detail.contains(rule), "{url}: {detail}");
    }
    // A public host name is checked when the tool is called, not when it is saved.
    tool_agent(&api, json!([tool("https://tools.example.com/lookup")])).await;
}

#[tokio::test]
async fn an_internal_tool_saved_before_the_rules_is_refused_at_call_time_and_its_secret_stays_inside(
) {
    let secret = secret_service().await;
    let s = TestServer::start_with(|c| c.outbound.allow.clear()).await;
    let api = s.api();
    let agent = tool_agent(&api, json!([tool("https://tools.example.com/lookup")])).await;
    let internal = json!([tool(&format!("{}/secret", secret.url))]);
    overwrite_snapshot(&s, &agent, "tools", internal).await;

    let output = run_output(&api, &agent).await;
    assert!(!output.contains(SECRET), "{output}");
    assert!(
        output.contains("the tool URL points to a loopback address, which is not allowed"),
        "{output}"
    );
    assert_eq!(secret.hits(), 0, "the internal service was contacted");
}

#[tokio::test]
async fn a_host_name_that_resolves_to_loopback_is_refused_at_call_time() {
    let secret = secret_service().await;
    let s = TestServer::start_with(|c| c.outbound.allow.clear()).await;
    let api = s.api();
    let url = secret.url.replace("127.0.0.1", "localhost");
    let agent = tool_agent(&api, json!([tool(&url)])).await;

    let output = run_output(&api, &agent).await;
    assert!(!output.contains(SECRET), "{output}");
    assert!(
        output.contains("the tool URL resolves to a loopback address, which is not allowed"),
        "{output}"
    );
    assert_eq!(secret.hits(), 0, "the internal service was contacted");
}

#[tokio::test]
async fn a_redirect_from_an_allowed_tool_is_not_followed() {
    // Both listen on 127.0.0.1, which the test configuration allows: only not
    // following the redirect keeps the target untouched.
    let target = secret_service().await;
    let location = format!("{}/secret", target.url);
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move {
            Response::builder()
                .status(303)
                .header("location", location)
                .body(Body::from("see other"))
                .expect("response")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let redirector = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let s = TestServer::start().await;
    let api = s.api();
    let agent = tool_agent(&api, json!([tool(&redirector)])).await;
    let output = run_output(&api, &agent).await;
    assert!(output.contains("the tool answered HTTP 303"), "{output}");
    assert!(!output.contains(SECRET), "{output}");
    assert_eq!(target.hits(), 0, "the redirect was followed");
}

#[tokio::test]
async fn a_huge_tool_answer_is_cut_at_the_cap_while_the_server_stays_responsive() {
    const TOTAL: usize = 300 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            let chunks = futures::stream::iter(0..TOTAL / CHUNK).map(move |_| {
                counter.fetch_add(CHUNK, Ordering::Relaxed);
                Ok::<_, Infallible>(Bytes::from(vec![b'x'; CHUNK]))
            });
            Response::new(Body::from_stream(chunks))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let s = TestServer::start().await;
    let api = s.api();
    let agent = tool_agent(&api, json!([tool(&url)])).await;
    let (output, health) = healthz_during(&s.base, run_output(&api, &agent)).await;
    assert!(
        output.contains("the tool's answer is larger than the limit of 1048576 bytes"),
        "{output}"
    );
    health.assert_responsive();
    // The answer was not read to its end (socket buffers hold a few MiB at most).
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < 32 * 1024 * 1024, "{sent} bytes were sent");
}

#[tokio::test]
async fn a_tool_error_answer_reaches_the_model_only_as_a_short_excerpt() {
    let long = "e".repeat(10_000);
    let tool_server = Recorder::start(move |_| Reply::Json(500, json!({ "error": long }))).await;
    let s = TestServer::start().await;
    let api = s.api();
    let agent = tool_agent(&api, json!([tool(&tool_server.url)])).await;
    let output = run_output(&api, &agent).await;
    assert!(output.contains("the tool answered HTTP 500"), "{output}");
    assert!(output.len() < 1_000, "{} bytes: {output}", output.len());
}

#[tokio::test]
async fn the_metadata_address_is_refused_even_when_its_range_is_allowed() {
    let s = TestServer::start_with(|c| c.outbound.allow = vec!["169.254.0.0/16".into()]).await;
    let api = s.api();
    for url in [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
    ] {
        let body = json!({ "name": "x", "model": "mock/tools", "tools": [tool(url)] });
        let problem = api.post("/v1/agents", body, 422).await;
        let detail = detail_at(&problem, "/tools/0/url");
        assert!(detail.contains("cloud metadata address"), "{url}: {detail}");
    }
    // The rest of the allowed range is open.
    tool_agent(&api, json!([tool("http://169.254.10.10/")])).await;
}
