//! Issue 7 §3: agent instructions render off the async workers with fuel, an output cap
//! and a deadline, and a template that does not compile is refused when saved.

use crate::common::*;
use crate::run_support::*;
use serde_json::{json, Value};

/// Triggers a run of an agent with these instructions and returns its failed body.
async fn failed_run(api: &Api, instructions: &str) -> Value {
    let agent = agent(api, "mock/echo", json!({ "instructions": instructions })).await;
    let body = trigger(api, &agent, json!({ "input": "hi" }), 200).await;
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["error"]["code"], "template_error", "{body}");
    body
}

/// The largest memory the process has held, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn nested_range_loops_run_out_of_fuel_while_healthz_answers_quickly() {
    let s = TestServer::start().await;
    let api = s.api();
    let nested =
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}";
    let attack = futures::future::join_all((0..4).map(|_| failed_run(&api, nested)));
    let (bodies, health) = healthz_during(&s.base, attack).await;
    for body in bodies {
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("ran out of fuel") || message.contains("renders to more than"),
            "{body}"
        );
    }
    health.assert_responsive();
}

#[tokio::test]
async fn loops_that_only_compute_run_out_of_fuel() {
    let s = TestServer::start().await;
    let body = failed_run(
        &s.api(),
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("ran out of fuel"), "{body}");
}

#[tokio::test]
async fn huge_string_multiplication_in_a_loop_is_cut_at_the_output_cap() {
    let s = TestServer::start().await;
    let api = s.api();
    let attack = failed_run(
        &api,
        r#"{% for i in range(300) %}{{ "x" * 50000000 }}{% endfor %}"#,
    );
    let (body, health) = healthz_during(&s.base, attack).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("renders to more than 262144 bytes"),
        "{body}"
    );
    health.assert_responsive();
    // Unbounded, this template took a server to 14.8 GB.
    if let Some(peak) = peak_rss() {
        assert!(peak < 2 << 30, "the process peaked at {peak} bytes");
    }
}

#[tokio::test]
async fn instructions_that_do_not_compile_are_refused_when_saved() {
    let s = TestServer::start().await;
    let api = s.api();
    let bad = "You book for {{ user_id }}.\n{% if channel %}\nno end";
    let problem = api
        .post(
            "/v1/agents",
            json!({ "name": "x", "model": "mock/echo", "instructions": bad }),
            422,
        )
        .await;
    assert_eq!(pointers(&problem), ["/instructions"], "{problem}");
    let detail = problem["errors"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("not valid") && detail.contains("line "),
        "{detail}"
    );

    let id = agent(&api, "mock/echo", json!({})).await;
    let problem = api
        .patch(
            &format!("/v1/agents/{id}"),
            json!({ "instructions": "{{ x" }),
            422,
        )
        .await;
    assert_eq!(pointers(&problem), ["/instructions"], "{problem}");
}
